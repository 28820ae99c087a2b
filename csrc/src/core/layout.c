/* Arithmetic of the two layouts: row shards and cuSOLVERMg's 1D column block-cyclic one. */
#include <stdio.h>

#include "core/internal.h"

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
