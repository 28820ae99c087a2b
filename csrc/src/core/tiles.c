/* Default tile sizes (rows per tile of the cyclic layout), from the tile sweeps (bench/NOTES.md):
 * Cholesky-based routines gain from wide tiles once N is large (potri c128 N = 16384 on
 * 2 x H200: T = 2048 0.70 s, 1024 0.77 s, 256 2.45 s; potrs f64 N = 32768 on an H100: 2048
 * 0.307 s, 1024 0.322 s, 256 0.780 s), while syevd is fastest at T = 256 (f64 N = 16384 on
 * 2 x H200: 5.52 s, vs 5.81 s at 512 and 6.20 s at 1024) and accepts at most 1024. Small matrices
 * keep tiles small so every device holds some. The measurements did not separate the dtypes. */
#include "core/tiles.h"

#include <limits.h>

int64_t bunmg_max_tile_of(int32_t routine) { return routine == BUNMG_ROUTINE_SYEVD ? 1024 : INT32_MAX; }

int64_t bunmg_default_tile_of(int32_t routine, int64_t n) {
  int64_t tile = 256;
  if (routine != BUNMG_ROUTINE_SYEVD) tile = n >= 16384 ? 2048 : n >= 8192 ? 1024 : n >= 4096 ? 512 : 256;
  return n < tile ? (n > 0 ? n : 1) : tile; /* a matrix smaller than a tile is one tile */
}

int64_t bunmg_default_max_tile_of(int64_t n) {
  int64_t most = 1;
  for (int32_t r = BUNMG_ROUTINE_POTRS; r <= BUNMG_ROUTINE_SYEVD; r++) {
    int64_t t = bunmg_default_tile_of(r, n);
    if (t > most) most = t;
  }
  return most;
}

static bunmg_status check_problem(int32_t dtype, int64_t n, const int64_t *out) {
  if (!bunmg_dtype_size(dtype)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (n < 1 || n > BUNMG_MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "n must be in 1..2^40, got %lld", (long long)n);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile output is NULL");
  return BUNMG_OK;
}

bunmg_status bunmg_default_tile(int32_t routine, int32_t dtype, int64_t n, int64_t *tile) {
  bunmg_clear_error();
  if (routine < BUNMG_ROUTINE_POTRS || routine > BUNMG_ROUTINE_SYEVD)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  bunmg_status st = check_problem(dtype, n, tile);
  if (st == BUNMG_OK) *tile = bunmg_default_tile_of(routine, n);
  return st;
}

bunmg_status bunmg_default_max_tile(int32_t dtype, int64_t n, int64_t *tile) {
  bunmg_clear_error();
  bunmg_status st = check_problem(dtype, n, tile);
  if (st == BUNMG_OK) *tile = bunmg_default_max_tile_of(n);
  return st;
}
