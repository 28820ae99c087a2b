/* The single-device path: the whole matrix in one dense buffer on one mesh position, solved
 * there by the backend's dense solvers (cuSOLVERDn, or LAPACK on the host).
 *
 * The row-major N x N buffer `full` is the concatenation of the row shards: shard d's rows
 * [d*s, ...) sit at element offset d*s*N, so gathering and scattering take one copy per shard
 * (peer to peer, on the shard's own lane, all shards at once). Read column-major, `full` is
 * conj(A), exactly what the cuSOLVERMg path hands its solver, so the conventions of
 * conventions.h apply unchanged: the dense routines give the same results as the sharded ones.
 * A itself is only read until a routine has succeeded: a failure leaves it unchanged. */
#include <stdlib.h>

#include "core/conventions.h"
#include "core/finite.h"

static bunmg_status leave(bunmg_mesh *mesh, bunmg_status st, const char *call) {
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", call);
  bunmg_mesh_leave(mesh);
  return st;
}

/* `full` on position dev holds an N x N matrix of dtype. */
static bunmg_status check_full(const bunmg_mesh *mesh, int32_t dev, const void *full, int64_t n, int32_t dtype) {
  bunmg_status st = bunmg_check_position(mesh, dev, "the dense matrix's position");
  if (st != BUNMG_OK) return st;
  size_t esize = bunmg_dtype_size(dtype), bytes;
  if (!esize) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (n < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "N must be >= 1, got %lld", (long long)n);
  if (__builtin_mul_overflow((size_t)n, (size_t)n, &bytes) || __builtin_mul_overflow(bytes, esize, &bytes))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "an N = %lld matrix overflows the address space", (long long)n);
  if (!full) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the dense matrix is NULL");
  return bunmg_mesh_check_range(mesh, dev, full, bytes, "the dense matrix (N * N elements)");
}

/* A square matrix in row layout, and a dense buffer on dev that holds it. */
static bunmg_status check_pair(const bunmg_mesh *mesh, const bunmg_matrix *a, int32_t dev, const void *full) {
  bunmg_status st = bunmg_check_matrix(mesh, a, 1);
  if (st == BUNMG_OK && a->layout != BUNMG_LAYOUT_ROWS)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "A must be in row layout, but it is block-cyclic (a Cholesky factor?)");
  return st != BUNMG_OK ? st : check_full(mesh, dev, full, a->rows, a->dtype);
}

/* One copy per shard between a's row shards and full, then waits for all of them. */
static bunmg_status move_shards(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t dev, void *full, int gather) {
  size_t row = (size_t)a->cols * bunmg_dtype_size(a->dtype);
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev);
  bunmg_status st = BUNMG_OK;
  for (int32_t d = 0; d < mesh->ndev && st == BUNMG_OK; d++) {
    int64_t count = bunmg_shard_count(a->rows, mesh->ndev, d);
    if (count <= 0) continue;
    char *part = (char *)full + (size_t)(d * s) * row;
    int32_t lane = d * mesh->ops->lanes_per_device;
    st = gather ? mesh->ops->copy_async(mesh, lane, dev, part, d, a->shards[d], (size_t)count * row)
                : mesh->ops->copy_async(mesh, lane, d, a->shards[d], dev, part, (size_t)count * row);
  }
  bunmg_status waited = mesh->ops->sync(mesh); /* nothing may still be in flight on return */
  return st != BUNMG_OK ? st : waited;
}

static bunmg_status gather(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t dev, void *full) {
  bunmg_status st = check_pair(mesh, a, dev, full);
  return st != BUNMG_OK ? st : move_shards(mesh, a, dev, full, 1);
}

bunmg_status bunmg_gather(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t dev, void *full) {
  bunmg_status st = bunmg_mesh_enter(mesh, "gather");
  return st != BUNMG_OK ? st : leave(mesh, gather(mesh, a, dev, full), "gather");
}

static bunmg_status scatter(bunmg_mesh *mesh, bunmg_matrix *a, int32_t dev, const void *full) {
  bunmg_status st = check_pair(mesh, a, dev, full);
  return st != BUNMG_OK ? st : move_shards(mesh, a, dev, (void *)full, 0);
}

bunmg_status bunmg_scatter(bunmg_mesh *mesh, bunmg_matrix *a, int32_t dev, const void *full) {
  bunmg_status st = bunmg_mesh_enter(mesh, "scatter");
  return st != BUNMG_OK ? st : leave(mesh, scatter(mesh, a, dev, full), "scatter");
}

static bunmg_status cholesky(bunmg_mesh *mesh, int32_t dev, void *full, int64_t n, int32_t dtype) {
  int64_t info = 0;
  bunmg_status st = check_full(mesh, dev, full, n, dtype);
  if (st == BUNMG_OK) st = bunmg_check_finite_dense(mesh, dev, full, n, dtype);
  if (st == BUNMG_OK) st = bunmg_solver_ran(mesh, mesh->ops->dense_potrf(mesh, dev, full, n, dtype, &info), "potrf");
  return st != BUNMG_OK ? st : bunmg_info_status(BUNMG_INFO_POTRF, info);
}

bunmg_status bunmg_dense_cholesky(bunmg_mesh *mesh, int32_t dev, void *full, int64_t n, int32_t dtype) {
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_cholesky");
  return st != BUNMG_OK ? st : leave(mesh, cholesky(mesh, dev, full, n, dtype), "dense_cholesky");
}

typedef struct dense_solve {
  bunmg_mesh *mesh;
  int32_t dev, dtype;
  const void *factor;
  int64_t n, nrhs;
} dense_solve;

static bunmg_status run_potrs(void *context, void *b, int64_t *info) {
  dense_solve *c = context;
  return bunmg_solver_ran(c->mesh, c->mesh->ops->dense_potrs(c->mesh, c->dev, c->factor, c->n, c->dtype, b, c->nrhs, info),
                          "potrs");
}

static bunmg_status cholesky_solve(dense_solve *c, void *b) {
  bunmg_status st = check_full(c->mesh, c->dev, c->factor, c->n, c->dtype);
  return st != BUNMG_OK ? st : bunmg_solve_row_major(c->dtype, c->n, b, c->nrhs, run_potrs, c);
}

bunmg_status bunmg_dense_cholesky_solve(bunmg_mesh *mesh, int32_t dev, const void *factor, int64_t n, int32_t dtype,
                                        void *b, int64_t nrhs) {
  dense_solve c = {mesh, dev, dtype, factor, n, nrhs};
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_cholesky_solve");
  return st != BUNMG_OK ? st : leave(mesh, cholesky_solve(&c, b), "dense_cholesky_solve");
}

/* The factor's diagonal is every (N + 1)-th element of the dense buffer. */
static bunmg_status logdet(bunmg_mesh *mesh, int32_t dev, const void *factor, int64_t n, int32_t dtype, double *out) {
  bunmg_status st = check_full(mesh, dev, factor, n, dtype);
  if (st != BUNMG_OK) return st;
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  size_t esize = bunmg_dtype_size(dtype);
  void *diagonal = malloc((size_t)n * esize);
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  st = mesh->ops->gather_strided(mesh, dev, diagonal, factor, esize, ((size_t)n + 1) * esize, (size_t)n);
  if (st == BUNMG_OK) *out = bunmg_logdet_of_diagonal(dtype, diagonal, n);
  free(diagonal);
  return st;
}

bunmg_status bunmg_dense_cholesky_logdet(bunmg_mesh *mesh, int32_t dev, const void *factor, int64_t n, int32_t dtype,
                                         double *out) {
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_cholesky_logdet");
  return st != BUNMG_OK ? st : leave(mesh, logdet(mesh, dev, factor, n, dtype, out), "dense_cholesky_logdet");
}

/* potri writes the inverse's lower triangle of the column-major view: its upper one in a's rows,
 * which scatter brings home and bunmg_complete_inverse mirrors. */
static bunmg_status inverse(bunmg_mesh *mesh, int32_t dev, void *factor, bunmg_matrix *a) {
  int64_t info = 0;
  bunmg_status st = check_pair(mesh, a, dev, factor);
  if (st == BUNMG_OK) st = bunmg_solver_ran(mesh, mesh->ops->dense_potri(mesh, dev, factor, a->rows, a->dtype, &info), "potri");
  if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_POTRI, info);
  if (st == BUNMG_OK) st = move_shards(mesh, a, dev, factor, 0);
  if (st == BUNMG_OK) st = bunmg_complete_inverse(mesh, a);
  return st;
}

bunmg_status bunmg_dense_cholesky_inverse(bunmg_mesh *mesh, int32_t dev, void *factor, bunmg_matrix *a) {
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_cholesky_inverse");
  return st != BUNMG_OK ? st : leave(mesh, inverse(mesh, dev, factor, a), "dense_cholesky_inverse");
}

static bunmg_status syevd(bunmg_mesh *mesh, int32_t dev, void *full, bunmg_matrix *a, int32_t flags, void *w) {
  int64_t info = 0;
  int vectors = (flags & BUNMG_EIG_VECTORS) != 0;
  bunmg_status st = check_pair(mesh, a, dev, full);
  if (st == BUNMG_OK) st = bunmg_check_eigen_args(flags, w);
  if (st == BUNMG_OK) st = move_shards(mesh, a, dev, full, 1);
  if (st == BUNMG_OK) st = bunmg_check_finite_dense(mesh, dev, full, a->rows, a->dtype);
  if (st == BUNMG_OK)
    st = bunmg_solver_ran(mesh, mesh->ops->dense_syevd(mesh, dev, full, a->rows, a->dtype, vectors, w, &info), "syevd");
  if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_SYEVD, info);
  if (st == BUNMG_OK) st = bunmg_check_eigenvalues(a->dtype, w, a->rows);
  /* Without vectors only `full` was written: a is unchanged. */
  if (st == BUNMG_OK && vectors) st = move_shards(mesh, a, dev, full, 0);
  if (st == BUNMG_OK && vectors) st = bunmg_fix_eigenvectors(mesh, a, flags);
  return st;
}

bunmg_status bunmg_dense_syevd(bunmg_mesh *mesh, int32_t dev, void *full, bunmg_matrix *a, int32_t flags, void *w) {
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_syevd");
  return st != BUNMG_OK ? st : leave(mesh, syevd(mesh, dev, full, a, flags, w), "dense_syevd");
}

static bunmg_status workspace(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                              uint64_t *bytes) {
  bunmg_status st = bunmg_check_position(mesh, dev, "workspace position");
  if (st != BUNMG_OK) return st;
  if (!bunmg_dtype_size(dtype)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (routine < BUNMG_ROUTINE_POTRS || routine > BUNMG_ROUTINE_SYEVD)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  if (n < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "N must be >= 1, got %lld", (long long)n);
  if (routine == BUNMG_ROUTINE_POTRS && nrhs < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be >= 1");
  if (!bytes) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  return mesh->ops->dense_workspace(mesh, dev, routine, n, dtype, nrhs, bytes);
}

bunmg_status bunmg_dense_workspace(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype,
                                   int64_t nrhs, uint64_t *bytes) {
  bunmg_status st = bunmg_mesh_enter(mesh, "dense_workspace");
  return st != BUNMG_OK ? st : leave(mesh, workspace(mesh, dev, routine, n, dtype, nrhs, bytes), "dense_workspace");
}
