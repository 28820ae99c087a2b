/* Host solvers: gather the cyclic column tiles into one dense buffer, run LAPACK, scatter. */
#include "host/solver.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "host/lapack.h"

/* Bytes of a dense N x N matrix; fails when N is beyond LAPACK's ints or the size overflows. */
static bunmg_status dense_bytes(const char *what, int64_t n, int32_t dtype, uint64_t *bytes) {
  if (n < 0 || n > INT_MAX)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "%s: N = %lld is outside [0, %d] (LAPACK takes 32-bit ints)", what,
                      (long long)n, INT_MAX);
  if (__builtin_mul_overflow((uint64_t)n * (uint64_t)n, bunmg_dtype_size(dtype), bytes))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: a %s matrix of N = %lld does not fit in memory",
                      what, bunmg_dtype_name(dtype), (long long)n);
  return BUNMG_OK;
}

static bunmg_status check(const char *what, const bunmg_mesh *mesh, const bunmg_matrix *a,
                          uint64_t *bytes) {
  if (!mesh || !a) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: mesh or matrix is NULL", what);
  if (bunmg_dtype_size(a->dtype) == 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: dtype %d is not a bunmg_dtype", what,
                      (int)a->dtype);
  if (mesh->ndev < 1 || mesh->ndev > BUNMG_MAX_DEVICES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: mesh has %d devices", what, (int)mesh->ndev);
  if (a->rows != a->cols)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: A must be square, got %lld x %lld", what,
                      (long long)a->rows, (long long)a->cols);
  if (a->layout != BUNMG_LAYOUT_CYCLIC || a->tile < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "%s: A must be in the cyclic layout with tile >= 1 (layout %d, tile %lld)",
                      what, (int)a->layout, (long long)a->tile);
  int64_t tiles = a->rows > 0 ? (a->rows - 1) / a->tile + 1 : 0;
  for (int32_t d = 0; d < mesh->ndev && d < tiles; d++)
    if (!a->shards[d])
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, d, "%s: shard %d of A is NULL", what, d);
  return dense_bytes(what, a->rows, a->dtype, bytes);
}

/* Copies A's column tiles between the shards and the dense buffer. */
static void move_tiles(const bunmg_mesh *mesh, const bunmg_matrix *a, char *dense, int gather) {
  size_t column = (size_t)a->rows * bunmg_dtype_size(a->dtype);
  for (int64_t j = 0; j < a->rows; j += a->tile) {
    int32_t d;
    int64_t local;
    bunmg_cyclic_locate(j, a->tile, mesh->ndev, &d, &local);
    size_t len = (size_t)(a->rows - j < a->tile ? a->rows - j : a->tile) * column;
    char *shard = (char *)a->shards[d] + (size_t)local * column;
    char *col = dense + (size_t)j * column;
    memcpy(gather ? col : shard, gather ? shard : col, len);
  }
}

/* Loads LAPACK, checks A and copies it into a new dense buffer (NULL when N = 0). */
static bunmg_status gather(const char *what, bunmg_mesh *mesh, const bunmg_matrix *a,
                           void **dense) {
  uint64_t bytes = 0;
  *dense = NULL;
  bunmg_status st = bunmg_lapack_load();
  if (st != BUNMG_OK) {
    bunmg_error_prefix("%s: ", what);
    return st;
  }
  if ((st = check(what, mesh, a, &bytes)) != BUNMG_OK || bytes == 0) return st;
  if (bunmg_fault_fires(mesh, BUNMG_FAULT_ALLOC)) return bunmg_injected_out_of_memory(mesh, 0, bytes);
  if (!(*dense = malloc(bytes)))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY,
                      "%s: out of host memory allocating %llu bytes for the %s matrix of N = %lld",
                      what, (unsigned long long)bytes, bunmg_dtype_name(a->dtype),
                      (long long)a->rows);
  move_tiles(mesh, a, *dense, 1);
  return BUNMG_OK;
}

static int64_t ld(int64_t n) { return n > 1 ? n : 1; }

typedef bunmg_status triangle_fn(int32_t dtype, char uplo, int64_t n, void *a, int64_t lda,
                                 int64_t *info);

/* potrf and potri: one in-place LAPACK call on the lower triangle, scattered back always. */
static bunmg_status in_place(const char *what, triangle_fn *lapack, bunmg_mesh *mesh,
                             const bunmg_matrix *a, int64_t *info) {
  void *dense;
  bunmg_status st = gather(what, mesh, a, &dense);
  if (st != BUNMG_OK) return st;
  st = lapack(a->dtype, 'L', a->rows, dense, ld(a->rows), info);
  if (st == BUNMG_OK) move_tiles(mesh, a, dense, 0);
  free(dense);
  return st;
}

bunmg_status bunmg_host_potrf(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info) {
  return in_place("potrf", bunmg_lapack_potrf, mesh, a, info);
}

bunmg_status bunmg_host_potri(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info) {
  return in_place("potri", bunmg_lapack_potri, mesh, a, info);
}

bunmg_status bunmg_host_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs,
                              int64_t *info) {
  void *dense;
  bunmg_status st = gather("potrs", mesh, a, &dense);
  if (st != BUNMG_OK) return st;
  st = bunmg_lapack_potrs(a->dtype, 'L', a->rows, nrhs, dense, ld(a->rows), b, ld(a->rows),
                          info);
  free(dense);
  return st;
}

bunmg_status bunmg_host_syevd(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t vectors, void *w,
                              int64_t *info) {
  void *dense;
  bunmg_status st = gather("syevd", mesh, a, &dense);
  if (st != BUNMG_OK) return st;
  st = bunmg_lapack_syevd(a->dtype, vectors ? 'V' : 'N', 'L', a->rows, dense, ld(a->rows), w,
                          info);
  /* Only a converged result goes back: on failure the shards keep A, which the caller restores. */
  if (st == BUNMG_OK && vectors && *info == 0) move_tiles(mesh, a, dense, 0);
  free(dense);
  return st;
}

bunmg_status bunmg_host_workspace_bytes(bunmg_mesh *mesh, int32_t routine, int64_t n,
                                        int32_t dtype, int64_t tile, int64_t nrhs,
                                        uint64_t *bytes) {
  (void)mesh, (void)tile, (void)nrhs; /* one host buffer, whatever the mesh, tile or B */
  uint64_t dense = 0, extra = 0;
  if (!bytes) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "workspace_bytes: bytes is NULL");
  if (bunmg_dtype_size(dtype) == 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "workspace_bytes: dtype %d is not a bunmg_dtype",
                      (int)dtype);
  if (routine != BUNMG_ROUTINE_POTRS && routine != BUNMG_ROUTINE_POTRI &&
      routine != BUNMG_ROUTINE_SYEVD)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "workspace_bytes: routine %d is not a bunmg_routine",
                      (int)routine);
  bunmg_status st = dense_bytes("workspace_bytes", n, dtype, &dense);
  if (st == BUNMG_OK && routine == BUNMG_ROUTINE_SYEVD)
    st = bunmg_lapack_syevd_workspace(dtype, 'V', n, &extra);
  if (st == BUNMG_OK && __builtin_add_overflow(dense, extra, bytes))
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "workspace_bytes: N = %lld overflows 64 bits",
                    (long long)n);
  return st;
}
