/* Matrix descriptors checked against a mesh: shape, dtype, layout, capacity and the shards' ranges. */
#include <stdio.h>

#include "core/internal.h"

bunmg_status bunmg_check_matrix(const bunmg_mesh *mesh, const bunmg_matrix *m, int square) {
  if (!m) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix is NULL");
  if (m->rows < 1 || m->cols < 1 || m->rows > BUNMG_MAX_EXTENT || m->cols > BUNMG_MAX_EXTENT)
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
    if (m->tile < 1 || m->tile > BUNMG_MAX_EXTENT)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cyclic matrix with tile %lld", (long long)m->tile);
    need = bunmg_cyclic_capacity(m->rows, m->tile, mesh->ndev);
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
