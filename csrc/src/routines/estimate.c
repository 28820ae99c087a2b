/* bunmg_estimate_memory: closed-form bounds, O(devices) in time and memory. */
#include "core/tiles.h"
#include "routines/routines.h"

/* The redistribution stages at most one piece per lane, and pieces never cross a tile
 * boundary (core/plan.c), so a device needs at most lanes x min(tile, n) rows of staging. */
static uint64_t staging_rows(const bunmg_mesh *mesh, int64_t n, int64_t tile) {
  if (mesh->ndev == 1) return 0; /* one position: both layouts are the same rows */
  return (uint64_t)mesh->ops->lanes_per_device * (uint64_t)(tile < n ? tile : n);
}

static bunmg_status estimate(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t tile, int64_t nrhs,
                             int32_t path, uint64_t out[3]) {
  size_t esize = bunmg_dtype_size(dtype);
  if (!esize) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (routine < BUNMG_ROUTINE_POTRS || routine > BUNMG_ROUTINE_SYEVD)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  if (routine == BUNMG_ROUTINE_POTRS && nrhs < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be >= 1");
  if (n < 1 || n > BUNMG_MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rows must be in 1..2^40, got %lld", (long long)n);
  if (tile < 0 || tile > bunmg_max_tile_of(routine))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be in 1..%lld (0: the default), got %lld",
                      (long long)bunmg_max_tile_of(routine), (long long)tile);
  if (path < BUNMG_PATH_AUTO || path > BUNMG_PATH_MULTI)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown path %d (AUTO 0, SINGLE 1, MULTI 2)", path);
  if (path == BUNMG_PATH_AUTO) {
    char reason[8];
    bunmg_status st = bunmg_path_for(mesh, routine, n, dtype, nrhs, path, &path, reason, sizeof reason);
    if (st != BUNMG_OK) return st;
  }
  if (tile == 0) tile = bunmg_default_tile_of(routine, n);
  int64_t capacity;
  bunmg_status st = bunmg_shard_capacity(n, tile, mesh->ndev, &capacity);
  if (st != BUNMG_OK) return st;
  double row = (double)n * (double)esize;
  if ((double)capacity * row > 1.8e19)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "an N = %lld %s matrix needs more than 2^64 bytes per device", (long long)n,
                      bunmg_dtype_name(dtype));
  if (path == BUNMG_PATH_SINGLE) {
    out[0] = (uint64_t)n * (uint64_t)n * esize;
    out[1] = 0;
    return bunmg_dense_workspace_of(mesh, routine, n, dtype, nrhs, &out[2]);
  }
  out[0] = (uint64_t)capacity * (uint64_t)n * esize;
  out[1] = staging_rows(mesh, n, tile) * (uint64_t)n * esize;
  return mesh->ops->workspace_bytes(mesh, routine, n, dtype, tile, nrhs, &out[2]);
}

bunmg_status bunmg_estimate_memory(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t tile,
                                   int64_t nrhs, int32_t path, uint64_t out[3]) {
  bunmg_status st = bunmg_mesh_enter(mesh, "estimate_memory");
  if (st != BUNMG_OK) return st;
  if ((st = estimate(mesh, routine, n, dtype, tile, nrhs, path, out)) != BUNMG_OK) bunmg_error_prefix("estimate_memory: ");
  bunmg_mesh_leave(mesh);
  return st;
}
