/* Arithmetic of the two layouts: row shards and cuSOLVERMg's 1D column block-cyclic one. */
#include "core/internal.h"
#include "core/tiles.h"

void bunmg_cyclic_locate(int64_t j, int64_t tile, int32_t ndev, int32_t *dev, int64_t *local) {
  int64_t k = j / tile;
  *dev = (int32_t)(k % ndev);
  *local = (k / ndev) * tile + j % tile;
}

/* Whole tiles per device, so a solver that touches a short last tile stays in bounds. */
int64_t bunmg_cyclic_capacity(int64_t rows, int64_t tile, int32_t ndev) {
  return bunmg_ceil_div(bunmg_ceil_div(rows, tile), ndev) * tile;
}


static bunmg_status check_shape(int64_t rows, int64_t tile, int32_t ndev) {
  if (rows < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rows must be >= 1, got %lld", (long long)rows);
  if (rows > BUNMG_MAX_EXTENT) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rows must be <= 2^40, got %lld", (long long)rows);
  if (tile < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be >= 1, got %lld", (long long)tile);
  if (tile > BUNMG_MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be <= 2^40, got %lld", (long long)tile);
  if (ndev < 1 || ndev > BUNMG_MAX_DEVICES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "device count must be in 1..%d, got %d",
                      BUNMG_MAX_DEVICES, ndev);
  return BUNMG_OK;
}

int64_t bunmg_shard_count(int64_t rows, int32_t ndev, int32_t dev) {
  int64_t s = bunmg_shard_rows(rows, ndev), left = rows - dev * s;
  return left < 0 ? 0 : left < s ? left : s;
}

int64_t bunmg_shard_offset(int64_t rows, int64_t tile, int32_t ndev, int32_t dev) {
  return bunmg_shard_count(rows, ndev, dev) > 0 ? (dev * bunmg_shard_rows(rows, ndev)) % tile : 0;
}

bunmg_status bunmg_shard_capacity(int64_t rows, int64_t tile, int32_t ndev, int64_t *capacity) {
  bunmg_status st = check_shape(rows, tile, ndev);
  if (st != BUNMG_OK) return st;
  if (!capacity) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "capacity output is NULL");
  int64_t need = bunmg_cyclic_capacity(rows, tile, ndev);
  for (int32_t d = 0; d < ndev; d++) {
    int64_t shifted = bunmg_shard_count(rows, ndev, d) + bunmg_shard_offset(rows, tile, ndev, d);
    if (shifted > need) need = shifted;
  }
  *capacity = need;
  return BUNMG_OK;
}

bunmg_status bunmg_row_range(int64_t rows, int32_t ndev, int32_t pos, int64_t *start, int64_t *end) {
  bunmg_clear_error();
  bunmg_status st = check_shape(rows, 1, ndev);
  if (st != BUNMG_OK) return st;
  if (pos < 0 || pos >= ndev)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mesh position %d is out of range for %d devices", pos, ndev);
  if (!start || !end) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "row range output is NULL");
  int64_t s = bunmg_shard_rows(rows, ndev);
  *start = pos * s < rows ? pos * s : rows;
  *end = *start + bunmg_shard_count(rows, ndev, pos);
  return BUNMG_OK;
}

bunmg_status bunmg_tile_location(int64_t rows, int64_t tile, int32_t ndev, int64_t k, int32_t *pos, int64_t *local_row) {
  bunmg_clear_error();
  bunmg_status st = check_shape(rows, tile, ndev);
  if (st != BUNMG_OK) return st;
  int64_t tiles = bunmg_ceil_div(rows, tile);
  if (k < 0 || k >= tiles)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile %lld is out of range: %lld rows in tiles of %lld make %lld tiles",
                      (long long)k, (long long)rows, (long long)tile, (long long)tiles);
  if (!pos || !local_row) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile location output is NULL");
  bunmg_cyclic_locate(k * tile, tile, ndev, pos, local_row);
  return BUNMG_OK;
}

bunmg_status bunmg_shard_capacity_upto(int64_t rows, int64_t max_tile, int32_t ndev, int32_t dtype, int64_t *capacity) {
  bunmg_clear_error();
  if (!bunmg_dtype_size(dtype)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (max_tile == 0) max_tile = bunmg_default_max_tile_of(rows);
  bunmg_status st = check_shape(rows, max_tile, ndev);
  if (st != BUNMG_OK) return st;
  if (!capacity) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "capacity output is NULL");
  /* Capacity is not monotonic in the tile (whole tiles per device), so take the maximum; tiles
   * above `rows` are left out: one tile covers the matrix already, a larger one only pads. */
  int64_t need = 0, top = max_tile < rows ? max_tile : rows;
  for (int64_t t = 1; t <= top; t++) {
    int64_t c;
    bunmg_shard_capacity(rows, t, ndev, &c);
    if (c > need) need = c;
  }
  *capacity = need;
  return BUNMG_OK;
}
