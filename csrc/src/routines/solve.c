/* The solver routines: layout changes, the Hermitian conventions of the row-major view, and
 * restoring A when a routine fails. The column-major view of a row-major Hermitian A is conj(A),
 * and cuSOLVERMg reads and writes only its lower triangle (A's upper one in row-major terms). */
#include <stdio.h>
#include <stdlib.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "core/plan.h"
#include "core/redistribute.h"

static bunmg_status enter_square(bunmg_mesh *mesh, const bunmg_matrix *a, const char *call, int32_t layout) {
  bunmg_status st = bunmg_mesh_enter(mesh, call);
  if (st != BUNMG_OK) return st;
  st = bunmg_check_matrix(mesh, a, 1);
  if (st == BUNMG_OK && a->layout != layout)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT,
                    layout == BUNMG_LAYOUT_ROWS ? "A must be in row layout, but it is block-cyclic (a Cholesky factor?)"
                                                : "A is not a Cholesky factor (it is in row layout)");
  if (st != BUNMG_OK) {
    bunmg_error_prefix("%s: ", call);
    bunmg_mesh_leave(mesh);
  }
  return st;
}

static bunmg_status leave(bunmg_mesh *mesh, bunmg_status st, const char *call) {
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", call);
  bunmg_mesh_leave(mesh);
  return st;
}

static bunmg_status check_tile(int64_t tile, int64_t most) {
  if (tile < 1 || tile > most)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be in 1..%lld, got %lld", (long long)most,
                      (long long)tile);
  return BUNMG_OK;
}

/* The diagonal in cyclic layout, one strided copy per tile. */
static bunmg_status cyclic_diagonal(bunmg_mesh *mesh, const bunmg_matrix *a, void *host) {
  size_t esize = bunmg_dtype_size(a->dtype), n = (size_t)a->rows;
  for (int64_t j0 = 0; j0 < a->rows; j0 += a->tile) {
    int32_t d;
    int64_t local;
    bunmg_cyclic_locate(j0, a->tile, mesh->ndev, &d, &local);
    int64_t width = a->rows - j0 < a->tile ? a->rows - j0 : a->tile;
    const char *src = (const char *)a->shards[d] + ((size_t)local * n + (size_t)j0) * esize;
    bunmg_status st = mesh->ops->gather_strided(mesh, d, (char *)host + (size_t)j0 * esize, src, esize,
                                                (n + 1) * esize, (size_t)width);
    if (st != BUNMG_OK) return st;
  }
  return BUNMG_OK;
}

/* Brings A back to row layout and rebuilds its upper triangle (what the solvers overwrote) from
 * the untouched strict lower triangle and the saved diagonal; without a diagonal (A was
 * overwritten whole) only the layout. */
static bunmg_status restore(bunmg_mesh *mesh, bunmg_matrix *a, const void *diagonal) {
  bunmg_status st = bunmg_redistribute(mesh, a, BUNMG_LAYOUT_ROWS, 0);
  if (st == BUNMG_OK && diagonal) st = bunmg_row_diagonal(mesh, a, (void *)diagonal, 1);
  if (st == BUNMG_OK && diagonal) st = mesh->ops->fixup(mesh, a, BUNMG_FIX_MIRROR_LOWER_TO_UPPER);
  return st;
}

/* Reports `failure` (already set as the current error) after restore(); a restore that fails
 * turns it into LAYOUT_LOST. */
static bunmg_status fail_restored(bunmg_mesh *mesh, bunmg_matrix *a, const void *diagonal, bunmg_status failure) {
  char cause[512];
  int64_t index;
  int32_t device;
  snprintf(cause, sizeof cause, "%s", bunmg_error_message());
  bunmg_last_error_detail(&index, &device);
  if (restore(mesh, a, diagonal) != BUNMG_OK) {
    bunmg_error_prefix("%s; restoring A failed too: ", cause);
    return BUNMG_LAYOUT_LOST;
  }
  return bunmg_fail_at(failure, index, device,
                       diagonal ? "%s; A is unchanged and in row layout"
                                : "%s; A is in row layout, its contents overwritten by the solver (undefined)",
                       cause);
}

/* cuSOLVERMg reports some non-positive-definite inputs as a failed status rather than info > 0.
 * The partial factor tells which minor failed: its diagonal is positive up to the failing pivot,
 * which is left non-positive or NaN. Returns 0 when no such pivot is found. */
static int64_t failed_minor(bunmg_mesh *mesh, const bunmg_matrix *a) {
  size_t esize = bunmg_dtype_size(a->dtype), step = esize / bunmg_dtype_real_size(a->dtype);
  void *diagonal = malloc((size_t)a->rows * esize);
  int64_t minor = 0;
  if (diagonal && cyclic_diagonal(mesh, a, diagonal) == BUNMG_OK)
    for (int64_t i = 0; i < a->rows && !minor; i++) {
      size_t k = (size_t)i * step;
      double d = bunmg_dtype_real_size(a->dtype) == 4 ? ((float *)diagonal)[k] : ((double *)diagonal)[k];
      if (!(d > 0)) minor = i + 1;
    }
  free(diagonal);
  return minor;
}

/* The start of a routine that overwrites A in the cyclic layout: saves A's diagonal (the one part
 * of A that restore() cannot rebuild from the triangle the solvers leave alone) into *diagonal,
 * which the caller frees, and moves A into the cyclic layout. */
static bunmg_status enter_cyclic(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, void **diagonal) {
  bunmg_status st = bunmg_check_finite_matrix(mesh, a);
  if (st != BUNMG_OK) return st;
  *diagonal = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!*diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for A's diagonal");
  st = bunmg_row_diagonal(mesh, a, *diagonal, 0);
  return st != BUNMG_OK ? st : bunmg_redistribute(mesh, a, BUNMG_LAYOUT_CYCLIC, tile);
}

/* potrf on A in the cyclic layout. */
static bunmg_status factor(bunmg_mesh *mesh, bunmg_matrix *a) {
  int64_t info = 0;
  bunmg_status st = bunmg_solver_ran(mesh, mesh->ops->potrf(mesh, a, &info), "potrf");
  if (st == BUNMG_SOLVER_ERROR && (info = failed_minor(mesh, a)) > 0) return bunmg_not_positive_definite(info);
  return st != BUNMG_OK ? st : bunmg_info_status(BUNMG_INFO_POTRF, info);
}

/* potri on a factor in the cyclic layout. */
static bunmg_status invert(bunmg_mesh *mesh, bunmg_matrix *f) {
  int64_t info = 0;
  bunmg_status st = bunmg_solver_ran(mesh, mesh->ops->potri(mesh, f, &info), "potri");
  return st != BUNMG_OK ? st : bunmg_info_status(BUNMG_INFO_POTRI, info);
}

/* The inverse's way home: row layout, then the full Hermitian matrix from its upper triangle. */
static bunmg_status complete_inverse(bunmg_mesh *mesh, bunmg_matrix *f) {
  bunmg_status st = bunmg_redistribute(mesh, f, BUNMG_LAYOUT_ROWS, 0);
  return st != BUNMG_OK ? st : bunmg_complete_inverse(mesh, f);
}

static bunmg_status cholesky(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile) {
  bunmg_status st = check_tile(tile, INT32_MAX);
  if (st != BUNMG_OK) return st;
  void *diagonal = NULL;
  st = enter_cyclic(mesh, a, tile, &diagonal);
  if (st == BUNMG_OK && (st = factor(mesh, a)) != BUNMG_OK) st = fail_restored(mesh, a, diagonal, st);
  free(diagonal);
  return st;
}

bunmg_status bunmg_cholesky(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile) {
  bunmg_status st = enter_square(mesh, a, "cholesky", BUNMG_LAYOUT_ROWS);
  return st != BUNMG_OK ? st : leave(mesh, cholesky(mesh, a, tile), "cholesky");
}

typedef struct mg_solve {
  bunmg_mesh *mesh;
  const bunmg_matrix *factor;
  int64_t nrhs;
} mg_solve;

static bunmg_status run_potrs(void *context, void *b, int64_t *info) {
  mg_solve *c = context;
  return bunmg_solver_ran(c->mesh, c->mesh->ops->potrs(c->mesh, c->factor, b, c->nrhs, info), "potrs");
}

static bunmg_status cholesky_solve(bunmg_mesh *mesh, const bunmg_matrix *f, void *b, int64_t nrhs) {
  mg_solve context = {mesh, f, nrhs};
  return bunmg_solve_row_major(f->dtype, f->rows, b, nrhs, run_potrs, &context);
}

bunmg_status bunmg_cholesky_solve(bunmg_mesh *mesh, const bunmg_matrix *factor, void *b, int64_t nrhs) {
  bunmg_status st = enter_square(mesh, factor, "cholesky_solve", BUNMG_LAYOUT_CYCLIC);
  return st != BUNMG_OK ? st : leave(mesh, cholesky_solve(mesh, factor, b, nrhs), "cholesky_solve");
}

static bunmg_status logdet(bunmg_mesh *mesh, const bunmg_matrix *f, double *out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  void *diagonal = malloc((size_t)f->rows * bunmg_dtype_size(f->dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  bunmg_status st = cyclic_diagonal(mesh, f, diagonal);
  if (st == BUNMG_OK) *out = bunmg_logdet_of_diagonal(f->dtype, diagonal, f->rows);
  free(diagonal);
  return st;
}

bunmg_status bunmg_cholesky_logdet(bunmg_mesh *mesh, const bunmg_matrix *factor, double *out) {
  bunmg_status st = enter_square(mesh, factor, "cholesky_logdet", BUNMG_LAYOUT_CYCLIC);
  return st != BUNMG_OK ? st : leave(mesh, logdet(mesh, factor, out), "cholesky_logdet");
}

static bunmg_status inverse(bunmg_mesh *mesh, bunmg_matrix *f) {
  bunmg_status st = invert(mesh, f);
  /* Row layout in every case, so a failed potri does not leave the matrix block-cyclic. */
  return st == BUNMG_OK ? complete_inverse(mesh, f) : fail_restored(mesh, f, NULL, st);
}

bunmg_status bunmg_cholesky_inverse(bunmg_mesh *mesh, bunmg_matrix *factor) {
  bunmg_status st = enter_square(mesh, factor, "cholesky_inverse", BUNMG_LAYOUT_CYCLIC);
  return st != BUNMG_OK ? st : leave(mesh, inverse(mesh, factor), "cholesky_inverse");
}

/* potrf only writes A's upper triangle, so a failure up to potri can be undone. */
static bunmg_status potri(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile) {
  bunmg_status st = check_tile(tile, INT32_MAX);
  if (st != BUNMG_OK) return st;
  void *diagonal = NULL;
  st = enter_cyclic(mesh, a, tile, &diagonal);
  if (st == BUNMG_OK) {
    int overwritten = 0;
    if ((st = factor(mesh, a)) == BUNMG_OK) {
      st = invert(mesh, a);
      overwritten = st != BUNMG_OUT_OF_MEMORY; /* cuSOLVERMg's potri writes all of A */
    }
    st = st == BUNMG_OK ? complete_inverse(mesh, a) : fail_restored(mesh, a, overwritten ? NULL : diagonal, st);
  }
  free(diagonal);
  return st;
}

bunmg_status bunmg_potri(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile) {
  bunmg_status st = enter_square(mesh, a, "potri", BUNMG_LAYOUT_ROWS);
  return st != BUNMG_OK ? st : leave(mesh, potri(mesh, a, tile), "potri");
}

static bunmg_status syevd(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, int32_t flags, void *w) {
  bunmg_status st = check_tile(tile, 1024);
  if (st == BUNMG_OK) st = bunmg_check_eigen_args(flags, w);
  if (st != BUNMG_OK) return st;
  int vectors = (flags & BUNMG_EIG_VECTORS) != 0;
  void *diagonal = NULL;
  st = enter_cyclic(mesh, a, tile, &diagonal);
  if (st == BUNMG_OK) {
    int64_t info = 0;
    st = bunmg_solver_ran(mesh, mesh->ops->syevd(mesh, a, vectors, w, &info), "syevd");
    if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_SYEVD, info);
    if (st == BUNMG_OK) st = bunmg_check_eigenvalues(a->dtype, w, a->rows);
    /* Without vectors the solver leaves the upper triangle alone, so A can be given back whole;
     * with them it works in place on all of A, so a failure once it ran cannot be undone
     * (OUT_OF_MEMORY comes from its workspace, before it ran). */
    int overwritten = vectors && st != BUNMG_OUT_OF_MEMORY;
    if (st != BUNMG_OK) st = fail_restored(mesh, a, overwritten ? NULL : diagonal, st);
    else if (!vectors) st = restore(mesh, a, diagonal);
    else {
      st = bunmg_redistribute(mesh, a, BUNMG_LAYOUT_ROWS, 0);
      if (st == BUNMG_OK) st = bunmg_fix_eigenvectors(mesh, a, flags);
    }
  }
  free(diagonal);
  return st;
}

bunmg_status bunmg_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, int32_t flags, void *w) {
  bunmg_status st = enter_square(mesh, a, "syevd", BUNMG_LAYOUT_ROWS);
  return st != BUNMG_OK ? st : leave(mesh, syevd(mesh, a, tile, flags, w), "syevd");
}

static bunmg_status estimate(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t tile,
                             int64_t nrhs, uint64_t out[3]) {
  size_t esize = bunmg_dtype_size(dtype);
  if (!esize) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  if (routine < BUNMG_ROUTINE_POTRS || routine > BUNMG_ROUTINE_SYEVD)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  if (routine == BUNMG_ROUTINE_POTRS && nrhs < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be >= 1");
  bunmg_plan *plan;
  bunmg_status st = bunmg_plan_build(n, tile, mesh->ndev, mesh->ops->lanes_per_device, &plan);
  if (st != BUNMG_OK) return st;
  out[0] = (uint64_t)plan->summary.capacity * (uint64_t)n * esize;
  out[1] = (uint64_t)plan->summary.staging_rows * (uint64_t)n * esize;
  bunmg_plan_destroy(plan);
  return mesh->ops->workspace_bytes(mesh, routine, n, dtype, tile, nrhs, &out[2]);
}

bunmg_status bunmg_estimate_memory(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t tile,
                                   int64_t nrhs, uint64_t out[3]) {
  bunmg_status st = bunmg_mesh_enter(mesh, "estimate_memory");
  return st != BUNMG_OK ? st : leave(mesh, estimate(mesh, routine, n, dtype, tile, nrhs, out), "estimate_memory");
}
