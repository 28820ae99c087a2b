/* The single path: the whole matrix in one dense buffer on mesh position 0, solved there by the
 * backend's dense solvers (cuSOLVERDn; LAPACK on the host).
 *
 * The row-major N x N buffer is the concatenation of the row shards: shard d's rows [d*s, ...)
 * sit at element offset d*s*N, so gathering and scattering take one copy per shard (peer to
 * peer, on the shard's own lane, all at once). Read column-major, the buffer is conj(A), exactly
 * what the multi path hands its solver, so the conventions of core/conventions.h apply
 * unchanged. The dense calls queue on position 0 and report when dense_wait returns: a call does
 * its checks after one wait. A itself is only read until a routine has succeeded. */
#include <stdlib.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "routines/routines.h"

#define POS BUNMG_SINGLE_POSITION
static size_t dense_bytes(int64_t n, int32_t dtype) { return (size_t)n * (size_t)n * bunmg_dtype_size(dtype); }

/* The mesh's reusable buffer (own = 0) or a new one of the caller's (own = 1). */
static bunmg_status dense_buffer(bunmg_mesh *mesh, size_t bytes, int own, void **out) {
  if (!own && mesh->dense && mesh->dense_bytes >= bytes) {
    *out = mesh->dense;
    return BUNMG_OK;
  }
  if (!own) bunmg_single_done(mesh);
  if (!own && mesh->dense) { /* kept but too small: room for the new one first */
    bunmg_mesh_release(mesh, POS, mesh->dense);
    mesh->dense = NULL;
    mesh->dense_bytes = 0;
  }
  bunmg_status st = bunmg_mesh_alloc(mesh, POS, bytes, out);
  if (st == BUNMG_OK && !own) {
    mesh->dense = *out;
    mesh->dense_bytes = bytes;
  }
  if (st != BUNMG_OK) bunmg_error_prefix("the single path's %zu-byte matrix: ", bytes);
  return st;
}

void bunmg_single_done(bunmg_mesh *mesh) {
  /* kept up to the backend's size, so small solves allocate nothing */
  if (!mesh->dense || mesh->dense_bytes <= mesh->ops->keep_dense_bytes) return;
  bunmg_mesh_release(mesh, POS, mesh->dense);
  mesh->dense = NULL;
  mesh->dense_bytes = 0;
}

/* One copy per shard between a's row shards and the dense buffer (gather = 1: into it). The
 * copies are queued; later work on any lane waits for them. */
static bunmg_status move_shards(bunmg_mesh *mesh, const bunmg_matrix *a, void *dense, int gather) {
  size_t row = (size_t)a->cols * bunmg_dtype_size(a->dtype);
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev);
  bunmg_status st = BUNMG_OK;
  for (int32_t d = 0; d < mesh->ndev && st == BUNMG_OK; d++) {
    int64_t count = bunmg_shard_count(a->rows, mesh->ndev, d);
    if (count <= 0) continue;
    char *part = (char *)dense + (size_t)(d * s) * row;
    int32_t lane = d * mesh->ops->lanes_per_device;
    st = gather ? mesh->ops->copy_async(mesh, lane, POS, part, d, a->shards[d], (size_t)count * row)
                : mesh->ops->copy_async(mesh, lane, d, a->shards[d], POS, part, (size_t)count * row);
  }
  bunmg_status ordered = mesh->ops->barrier(mesh);
  return st != BUNMG_OK ? st : ordered;
}

/* Results of the dense calls of one pass, read after its wait. */
typedef struct pass {
  int64_t found, info;
  void *diagonal; /* n elements */
} pass;

static bunmg_status open_pass(pass *p, int64_t n, int32_t dtype) {
  *p = (pass){-1, 0, malloc((size_t)n * bunmg_dtype_size(dtype))};
  return p->diagonal ? BUNMG_OK : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a diagonal");
}

/* The FACTOR_NAN fault: NaN at diagonal element j of the dense factor (queued after potrf). */
static bunmg_status poison_diagonal(bunmg_mesh *mesh, void *dense, int64_t n, int32_t dtype, int64_t j) {
  if (j < 0 || j >= n) return BUNMG_OK;
  double nan[2] = {0.0 / 0.0, 0.0};
  float nanf[4] = {0.0f / 0.0f, 0.0f, 0.0f, 0.0f};
  const void *value = bunmg_dtype_real_size(dtype) == 4 ? (const void *)nanf : (const void *)nan;
  size_t esize = bunmg_dtype_size(dtype);
  return mesh->ops->copy(mesh, BUNMG_COPY_H2D, POS, (char *)dense + (size_t)j * (size_t)(n + 1) * esize, -1, value,
                         esize);
}

/* Queues gather, scan and potrf with the factor's diagonal; the verdicts come after the wait. */
static bunmg_status queue_factor(bunmg_mesh *mesh, const bunmg_matrix *a, void *dense, pass *p) {
  int64_t n = a->rows;
  int32_t dtype = a->dtype;
  bunmg_status st = move_shards(mesh, a, dense, 1);
  if (st == BUNMG_OK) st = mesh->ops->dense_scan(mesh, POS, dense, n, dtype, &p->found);
  if (st == BUNMG_OK) st = bunmg_solver_ran(mesh, mesh->ops->dense_potrf(mesh, POS, dense, n, dtype, &p->info), "potrf");
  int64_t poison = bunmg_fault_take(mesh, BUNMG_FAULT_FACTOR_NAN);
  if (st == BUNMG_OK && poison >= 0) st = poison_diagonal(mesh, dense, n, dtype, poison);
  if (st == BUNMG_OK) st = mesh->ops->dense_diagonal(mesh, POS, dense, n, n, dtype, p->diagonal);
  return st;
}

/* The scan of the dense copy found a NaN or Inf: named from A itself, which the solver did not
 * touch (the copy's element may be overwritten by now). */
static bunmg_status refuse_input(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t found) {
  if (found < 0) return BUNMG_OK;
  bunmg_status st = bunmg_check_finite_matrix(mesh, a);
  return st != BUNMG_OK ? st
                        : bunmg_fail_at(BUNMG_INVALID_ARGUMENT, found, -1, "A[%lld][%lld] is not finite: A must be finite",
                                        (long long)(found / a->rows), (long long)(found % a->rows));
}

/* After the wait: A's scan first (bad input is what the caller must hear about), then the factor. */
static bunmg_status judge_factor(bunmg_mesh *mesh, const bunmg_matrix *a, const pass *p) {
  bunmg_status st = refuse_input(mesh, a, p->found);
  return st != BUNMG_OK ? st : bunmg_verify_factor(a->dtype, p->diagonal, a->rows, bunmg_falsified_info(mesh, p->info));
}

/* Waits for position 0, keeping the first failure. */
static bunmg_status settle(bunmg_mesh *mesh, bunmg_status st) {
  bunmg_status waited = mesh->ops->dense_wait(mesh, POS);
  return st != BUNMG_OK ? st : waited;
}

bunmg_status bunmg_single_cholesky(bunmg_mesh *mesh, const bunmg_matrix *a, int own, void **out) {
  void *dense = NULL;
  pass p;
  bunmg_status st = open_pass(&p, a->rows, a->dtype);
  if (st == BUNMG_OK) st = dense_buffer(mesh, dense_bytes(a->rows, a->dtype), own, &dense);
  if (st == BUNMG_OK) st = settle(mesh, queue_factor(mesh, a, dense, &p));
  if (st == BUNMG_OK) st = judge_factor(mesh, a, &p);
  free(p.diagonal);
  if (st == BUNMG_OK) *out = dense;
  else if (own && dense) bunmg_mesh_release(mesh, POS, dense);
  return st;
}

typedef struct single_solve {
  bunmg_mesh *mesh;
  const void *dense;
  int64_t n, nrhs;
  int32_t dtype;
} single_solve;

static bunmg_status run_potrs(void *context, const void *b, void *x, int64_t *info) {
  single_solve *c = context;
  bunmg_status st = bunmg_solver_ran(
      c->mesh, c->mesh->ops->dense_potrs(c->mesh, POS, c->dense, c->n, c->dtype, b, x, c->nrhs, info), "potrs");
  return settle(c->mesh, st);
}

bunmg_status bunmg_single_solve(bunmg_mesh *mesh, const void *dense, int64_t n, int32_t dtype, void *b, int64_t nrhs) {
  single_solve context = {mesh, dense, n, nrhs, dtype};
  return bunmg_solve_row_major(dtype, n, b, nrhs, run_potrs, &context);
}

/* potrs in one pass: gather, scan, factor, diagonal and solve queue together, and are judged
 * after a single wait (X is used only when the factor passed). */
typedef struct fused {
  bunmg_mesh *mesh;
  const bunmg_matrix *a;
  void *dense;
  pass *p;
  int64_t nrhs;
} fused;

static bunmg_status run_fused(void *context, const void *b, void *x, int64_t *info) {
  fused *c = context;
  const bunmg_matrix *a = c->a;
  bunmg_status st = queue_factor(c->mesh, a, c->dense, c->p);
  if (st == BUNMG_OK)
    st = bunmg_solver_ran(c->mesh, c->mesh->ops->dense_potrs(c->mesh, POS, c->dense, a->rows, a->dtype, b, x, c->nrhs, info),
                          "potrs");
  st = settle(c->mesh, st);
  return st != BUNMG_OK ? st : judge_factor(c->mesh, a, c->p);
}

bunmg_status bunmg_single_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs) {
  pass p;
  fused context = {mesh, a, NULL, &p, nrhs};
  bunmg_status st = open_pass(&p, a->rows, a->dtype);
  if (st == BUNMG_OK) st = dense_buffer(mesh, dense_bytes(a->rows, a->dtype), 0, &context.dense);
  if (st == BUNMG_OK) st = bunmg_solve_row_major(a->dtype, a->rows, b, nrhs, run_fused, &context);
  free(p.diagonal);
  return st;
}

bunmg_status bunmg_single_logdet(bunmg_mesh *mesh, const void *dense, int64_t n, int32_t dtype, double *out) {
  void *diagonal = malloc((size_t)n * bunmg_dtype_size(dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  bunmg_status st = settle(mesh, mesh->ops->dense_diagonal(mesh, POS, dense, n, n, dtype, diagonal));
  if (st == BUNMG_OK) *out = bunmg_logdet_of_diagonal(dtype, diagonal, n);
  free(diagonal);
  return st;
}

/* Every shard in position 0's memory: the inverse's columns can be solved straight into them. */
static int shards_beside(const bunmg_mesh *mesh, const bunmg_matrix *a) {
  for (int32_t d = 0; d < mesh->ndev; d++)
    if (bunmg_shard_count(a->rows, mesh->ndev, d) > 0 && !mesh->ops->same_memory(mesh, POS, d)) return 0;
  return 1;
}

/* Solves on the identity beat cuSOLVERDn's potri for the real types at every size measured, and
 * for the complex ones below N = 8192 (one H200: c128 N = 4096 20.4 ms vs 23.3 ms; N = 16384
 * 0.886 s vs 0.566 s). */
static int by_solves(const bunmg_mesh *mesh, const bunmg_matrix *a) {
  return shards_beside(mesh, a) && (!bunmg_dtype_is_complex(a->dtype) || a->rows < 8192);
}

/* A's rows [d*s, ...) are A^-1's columns (Hermitian), which the solves on the identity's
 * columns give: the full inverse, written into the shards, its diagonal read in the same pass. */
static bunmg_status inverse_by_solves(bunmg_mesh *mesh, const void *dense, bunmg_matrix *a, char *diagonal) {
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev), info[BUNMG_MAX_DEVICES] = {0};
  size_t esize = bunmg_dtype_size(a->dtype);
  bunmg_status st = BUNMG_OK;
  for (int32_t d = 0; d < mesh->ndev && st == BUNMG_OK; d++) {
    int64_t count = bunmg_shard_count(a->rows, mesh->ndev, d), first = d * s;
    if (count <= 0) continue;
    st = bunmg_solver_ran(mesh, mesh->ops->dense_solve_identity(mesh, POS, dense, a->rows, a->dtype, a->shards[d], first,
                                                                count, &info[d]),
                          "potrs");
    if (st == BUNMG_OK)
      st = mesh->ops->dense_diagonal(mesh, POS, (char *)a->shards[d] + (size_t)first * esize, a->rows, count, a->dtype,
                                     diagonal + (size_t)first * esize);
  }
  st = settle(mesh, st);
  for (int32_t d = 0; d < mesh->ndev && st == BUNMG_OK; d++)
    if (info[d] != 0) st = bunmg_fail_at(BUNMG_SOLVER_ERROR, info[d], -1, "potrs returned info %lld", (long long)info[d]);
  return st != BUNMG_OK ? st : bunmg_complete_inverse(mesh, a);
}

/* potri on the dense factor, scattered into the shards: its upper triangle (row-major) holds the
 * inverse's. */
static bunmg_status inverse_by_potri(bunmg_mesh *mesh, void *dense, bunmg_matrix *a, void *diagonal) {
  int64_t info = 0;
  bunmg_status st = settle(mesh, bunmg_solver_ran(mesh, mesh->ops->dense_potri(mesh, POS, dense, a->rows, a->dtype, &info),
                                                  "potri"));
  if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_POTRI, info);
  if (st == BUNMG_OK) st = move_shards(mesh, a, dense, 0);
  if (st == BUNMG_OK) st = mesh->ops->sync(mesh);
  if (st == BUNMG_OK) st = bunmg_complete_inverse(mesh, a);
  return st != BUNMG_OK ? st : bunmg_row_diagonal(mesh, a, diagonal, 0);
}

bunmg_status bunmg_single_inverse(bunmg_mesh *mesh, void *dense, bunmg_matrix *a) {
  char *diagonal = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the inverse's diagonal");
  a->generation++;
  /* Exactly Hermitian with a real diagonal either way (bunmg_complete_inverse), checked by it. */
  bunmg_status st = by_solves(mesh, a) ? inverse_by_solves(mesh, dense, a, diagonal) : inverse_by_potri(mesh, dense, a, diagonal);
  if (st == BUNMG_OK) st = bunmg_verify_inverse(a->dtype, diagonal, a->rows);
  free(diagonal);
  return st;
}

bunmg_status bunmg_single_potri(bunmg_mesh *mesh, bunmg_matrix *a) {
  void *dense = NULL;
  bunmg_status st = bunmg_single_cholesky(mesh, a, 0, &dense);
  if (st != BUNMG_OK) return st;
  if ((st = bunmg_single_inverse(mesh, dense, a)) != BUNMG_OK)
    bunmg_error_suffix("; A is in row layout, its contents overwritten by the solver (undefined)");
  return st;
}

/* With vectors the eigenvectors go into A in the same pass as the solver, unless A's scan failed
 * (then A stays unchanged); the backends that cannot write every shard from position 0 take the
 * longer way after the wait. Once the solver ran, a failure leaves A's contents undefined. */
bunmg_status bunmg_single_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int32_t flags, void *w) {
  int vectors = (flags & BUNMG_EIG_VECTORS) != 0;
  int64_t n = a->rows, found = -1, info = 0;
  int32_t mode = bunmg_eigenvector_fixup(a->dtype, flags);
  void *dense = NULL;
  int scattered = 0;
  bunmg_status st = dense_buffer(mesh, dense_bytes(n, a->dtype), 0, &dense);
  if (st == BUNMG_OK) st = move_shards(mesh, a, dense, 1);
  if (st == BUNMG_OK) st = mesh->ops->dense_scan(mesh, POS, dense, n, a->dtype, &found);
  if (st == BUNMG_OK)
    st = bunmg_solver_ran(mesh, mesh->ops->dense_syevd(mesh, POS, dense, n, a->dtype, vectors, w, &info), "syevd");
  if (st == BUNMG_OK && vectors) {
    bunmg_status queued = mesh->ops->dense_scatter(mesh, POS, dense, a, mode, &found);
    if (queued == BUNMG_OK) scattered = 1;
    else if (queued == BUNMG_UNSUPPORTED) bunmg_clear_error();
    else st = queued;
  }
  if (scattered) a->generation++;
  if (dense) st = settle(mesh, st);
  if (st == BUNMG_OK) st = refuse_input(mesh, a, found);
  if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_SYEVD, info);
  if (st == BUNMG_OK) st = bunmg_verify_eigenvalues(a->dtype, w, n);
  if (st == BUNMG_OK && vectors && !scattered) {
    a->generation++;
    st = move_shards(mesh, a, dense, 0);
    if (st == BUNMG_OK) st = mesh->ops->sync(mesh);
    if (st == BUNMG_OK) st = bunmg_fix_eigenvectors(mesh, a, flags);
    scattered = 1;
  }
  if (st != BUNMG_OK && scattered && found < 0)
    bunmg_error_suffix("; A is in row layout, its contents overwritten by the solver (undefined)");
  return st;
}
