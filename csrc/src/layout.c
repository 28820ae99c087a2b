/* Arithmetic of the two layouts: row shards and cuSOLVERMg's 1D column block-cyclic one. */
#include <stdio.h>

#include "internal.h"

int64_t bunmg_cyclic_rows_on(int64_t rows, int64_t tile, int32_t ndev, int32_t dev) {
  int64_t tiles = bunmg_ceil_div(rows, tile);
  if (dev >= tiles) return 0;
  int64_t count = (tiles - 1 - dev) / ndev + 1; /* tiles dev, dev + ndev, ... */
  int64_t held = count * tile;
  if (dev + (count - 1) * ndev == tiles - 1) held -= tiles * tile - rows; /* last tile is short */
  return held;
}

void bunmg_cyclic_locate(int64_t j, int64_t tile, int32_t ndev, int32_t *dev, int64_t *local) {
  int64_t k = j / tile;
  *dev = (int32_t)(k % ndev);
  *local = (k / ndev) * tile + j % tile;
}

/* Whole tiles per device, so a solver that touches a short last tile stays in bounds. */
static int64_t cyclic_capacity(int64_t rows, int64_t tile, int32_t ndev) {
  return bunmg_ceil_div(bunmg_ceil_div(rows, tile), ndev) * tile;
}

/* Rows, columns and tile sizes beyond 2^40 describe no matrix that fits in memory; refusing them
 * keeps the layout arithmetic (rows + tile, capacity * ndev, capacity * cols * element) far from
 * int64 and size_t overflow. */
#define MAX_EXTENT ((int64_t)1 << 40)

static bunmg_status check_shape(int64_t rows, int64_t tile, int32_t ndev) {
  if (rows < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rows must be >= 1, got %lld", (long long)rows);
  if (rows > MAX_EXTENT) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rows must be <= 2^40, got %lld", (long long)rows);
  if (tile < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be >= 1, got %lld", (long long)tile);
  if (tile > MAX_EXTENT)
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
  int64_t need = cyclic_capacity(rows, tile, ndev);
  for (int32_t d = 0; d < ndev; d++) {
    int64_t shifted = bunmg_shard_count(rows, ndev, d) + bunmg_shard_offset(rows, tile, ndev, d);
    if (shifted > need) need = shifted;
  }
  *capacity = need;
  return BUNMG_OK;
}

bunmg_status bunmg_check_matrix(const bunmg_mesh *mesh, const bunmg_matrix *m, int square) {
  if (!m) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix is NULL");
  if (m->rows < 1 || m->cols < 1 || m->rows > MAX_EXTENT || m->cols > MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix shape %lld x %lld: both must be in 1..2^40",
                      (long long)m->rows, (long long)m->cols);
  if (square && m->rows != m->cols)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix must be square, got %lld x %lld",
                      (long long)m->rows, (long long)m->cols);
  size_t esize = bunmg_dtype_size(m->dtype);
  if (!esize) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", m->dtype);
  if (m->layout != BUNMG_LAYOUT_ROWS && m->layout != BUNMG_LAYOUT_CYCLIC)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown layout %d", m->layout);
  int64_t need = bunmg_shard_rows(m->rows, mesh->ndev);
  if (m->layout == BUNMG_LAYOUT_CYCLIC) {
    if (m->tile < 1 || m->tile > MAX_EXTENT)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cyclic matrix with tile %lld", (long long)m->tile);
    need = cyclic_capacity(m->rows, m->tile, mesh->ndev);
  }
  if (m->capacity < need)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shard capacity %lld rows is below the %lld rows the layout needs",
                      (long long)m->capacity, (long long)need);
  size_t shard_bytes;
  if (__builtin_mul_overflow((uint64_t)m->capacity, (uint64_t)m->cols, &shard_bytes) ||
      __builtin_mul_overflow(shard_bytes, esize, &shard_bytes))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shard capacity %lld rows of %lld columns overflows the address space",
                      (long long)m->capacity, (long long)m->cols);
  for (int32_t d = 0; d < mesh->ndev; d++) {
    char what[64];
    snprintf(what, sizeof what, "shard %d", d);
    bunmg_status st = bunmg_mesh_check_range(mesh, d, m->shards[d], shard_bytes, what);
    if (st != BUNMG_OK) return st;
    /* the solvers' and kernels' element types (cuDoubleComplex: 16 bytes) need aligned shards */
    if ((uintptr_t)m->shards[d] % esize != 0)
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, d, "shard %d at %p is not aligned to its %zu-byte elements", d,
                           m->shards[d], esize);
  }
  return BUNMG_OK;
}
