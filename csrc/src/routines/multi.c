/* The multi path: A redistributed into the cyclic layout and solved by the backend's multi-device
 * solvers (cuSOLVERMg; LAPACK over the gathered tiles on the host). The column-major view of a
 * row-major Hermitian A is conj(A), and the solvers read and write only its lower triangle (A's
 * upper one in row-major terms), so A's strict lower triangle survives everything but potri and
 * syevd with vectors: with the diagonal saved first, A can be rebuilt after a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "core/redistribute.h"
#include "routines/routines.h"

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

/* Element (j, j) of the cyclic layout, for the FACTOR_NAN fault. */
static bunmg_status poison_diagonal(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t j) {
  if (j < 0 || j >= a->rows) return BUNMG_OK;
  int32_t d;
  int64_t local;
  bunmg_cyclic_locate(j, a->tile, mesh->ndev, &d, &local);
  size_t esize = bunmg_dtype_size(a->dtype);
  double nan[2] = {0.0 / 0.0, 0.0};
  float nanf[4] = {0.0f / 0.0f, 0.0f, 0.0f, 0.0f};
  const void *value = bunmg_dtype_real_size(a->dtype) == 4 ? (const void *)nanf : (const void *)nan;
  char *dst = (char *)a->shards[d] + ((size_t)local * (size_t)a->rows + (size_t)j) * esize;
  return mesh->ops->copy(mesh, BUNMG_COPY_H2D, d, dst, -1, value, esize);
}

/* Back to row layout, with the upper triangle (what the solvers overwrote) rebuilt from the
 * strict lower one and the saved diagonal; without a diagonal (A was overwritten whole) only the
 * layout. */
bunmg_status bunmg_multi_restore(bunmg_mesh *mesh, bunmg_matrix *a, const void *saved) {
  bunmg_status st = bunmg_redistribute(mesh, a, BUNMG_LAYOUT_ROWS, 0);
  if (st == BUNMG_OK && saved) st = bunmg_row_diagonal(mesh, a, (void *)saved, 1);
  if (st == BUNMG_OK && saved) st = mesh->ops->fixup(mesh, a, BUNMG_FIX_MIRROR_LOWER_TO_UPPER);
  return st;
}

/* Reports `failure` (already the current error) after restoring A; a restore that fails turns it
 * into LAYOUT_LOST. */
static bunmg_status fail_restored(bunmg_mesh *mesh, bunmg_matrix *a, const void *saved, bunmg_status failure) {
  char cause[512];
  int64_t index;
  int32_t device;
  snprintf(cause, sizeof cause, "%s", bunmg_last_error());
  bunmg_last_error_detail(&index, &device);
  if (bunmg_multi_restore(mesh, a, saved) != BUNMG_OK) {
    bunmg_error_prefix("%s; restoring A failed too: ", cause);
    return BUNMG_LAYOUT_LOST;
  }
  return bunmg_fail_at(failure, index, device,
                       saved ? "%s; A is unchanged and in row layout"
                             : "%s; A is in row layout, its contents overwritten by the solver (undefined)",
                       cause);
}

/* A scanned for NaN and Inf, its diagonal saved (the one part of A that restore cannot rebuild
 * from the triangle the solvers leave alone; the caller frees it), then moved into the cyclic
 * layout. */
static bunmg_status enter_cyclic(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, void **saved) {
  bunmg_status st = bunmg_check_finite_matrix(mesh, a);
  if (st != BUNMG_OK) return st;
  *saved = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!*saved) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for A's diagonal");
  st = bunmg_row_diagonal(mesh, a, *saved, 0);
  if (st == BUNMG_OK) a->generation++;
  return st != BUNMG_OK ? st : bunmg_redistribute(mesh, a, BUNMG_LAYOUT_CYCLIC, tile);
}

/* potrf on A in the cyclic layout, judged by the factor's diagonal. */
static bunmg_status factor(bunmg_mesh *mesh, bunmg_matrix *a) {
  int64_t info = 0;
  bunmg_status st = bunmg_solver_ran(mesh, mesh->ops->potrf(mesh, a, &info), "potrf");
  int64_t poison = bunmg_fault_take(mesh, BUNMG_FAULT_FACTOR_NAN);
  if (st == BUNMG_OK && poison >= 0) st = poison_diagonal(mesh, a, poison);
  /* cuSOLVERMg reports some failures as a status rather than info > 0: the diagonal tells. */
  if (st != BUNMG_OK && st != BUNMG_SOLVER_ERROR) return st;
  void *diagonal = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the factor's diagonal");
  bunmg_status read = cyclic_diagonal(mesh, a, diagonal);
  if (read == BUNMG_OK) {
    bunmg_status verdict = bunmg_verify_factor(a->dtype, diagonal, a->rows, bunmg_falsified_info(mesh, info));
    /* A solver failure stays one unless the diagonal names a minor. */
    if (st == BUNMG_OK || verdict == BUNMG_NOT_POSITIVE_DEFINITE) st = verdict;
  } else if (st == BUNMG_OK) {
    st = read;
  }
  free(diagonal);
  return st;
}

bunmg_status bunmg_multi_cholesky(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, void **saved) {
  void *diagonal = NULL;
  bunmg_status st = enter_cyclic(mesh, a, tile, &diagonal);
  if (st == BUNMG_OK && (st = factor(mesh, a)) != BUNMG_OK) st = fail_restored(mesh, a, diagonal, st);
  if (st == BUNMG_OK && saved) *saved = diagonal;
  else free(diagonal);
  return st;
}

typedef struct multi_solve {
  bunmg_mesh *mesh;
  const bunmg_matrix *factor;
  int64_t nrhs;
} multi_solve;

/* The backend solves in place: X starts as a copy of B. */
static bunmg_status run_potrs(void *context, const void *b, void *x, int64_t *info) {
  multi_solve *c = context;
  memcpy(x, b, (size_t)c->factor->rows * (size_t)c->nrhs * bunmg_dtype_size(c->factor->dtype));
  return bunmg_solver_ran(c->mesh, c->mesh->ops->potrs(c->mesh, c->factor, x, c->nrhs, info), "potrs");
}

bunmg_status bunmg_multi_solve(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs) {
  multi_solve context = {mesh, a, nrhs};
  return bunmg_solve_row_major(a->dtype, a->rows, b, nrhs, run_potrs, &context);
}

bunmg_status bunmg_multi_logdet(bunmg_mesh *mesh, const bunmg_matrix *a, double *out) {
  void *diagonal = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  bunmg_status st = cyclic_diagonal(mesh, a, diagonal);
  if (st == BUNMG_OK) *out = bunmg_logdet_of_diagonal(a->dtype, diagonal, a->rows);
  free(diagonal);
  return st;
}

/* potri on the factor, in place in the cyclic layout. */
static bunmg_status invert(bunmg_mesh *mesh, bunmg_matrix *a) {
  int64_t info = 0;
  bunmg_status st = bunmg_solver_ran(mesh, mesh->ops->potri(mesh, a, &info), "potri");
  return st != BUNMG_OK ? st : bunmg_info_status(BUNMG_INFO_POTRI, info);
}

/* The inverse's way home: row layout, the full Hermitian matrix from its upper triangle, checked
 * by its diagonal. If the copy back fails, A stays block-cyclic holding potri's output, which
 * bunmg_to_rows brings home. */
static bunmg_status bring_home(bunmg_mesh *mesh, bunmg_matrix *a) {
  bunmg_status st = bunmg_redistribute(mesh, a, BUNMG_LAYOUT_ROWS, 0);
  if (st == BUNMG_OK) st = bunmg_complete_inverse(mesh, a);
  if (st != BUNMG_OK) return st;
  void *diagonal = malloc((size_t)a->rows * bunmg_dtype_size(a->dtype));
  if (!diagonal) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the inverse's diagonal");
  st = bunmg_row_diagonal(mesh, a, diagonal, 0);
  if (st == BUNMG_OK) st = bunmg_verify_inverse(a->dtype, diagonal, a->rows);
  free(diagonal);
  return st;
}

bunmg_status bunmg_multi_inverse(bunmg_mesh *mesh, bunmg_matrix *a) {
  a->generation++;
  bunmg_status st = invert(mesh, a);
  /* Row layout in every case, so a failed potri does not leave the matrix block-cyclic. */
  return st == BUNMG_OK ? bring_home(mesh, a) : fail_restored(mesh, a, NULL, st);
}

/* potrf only writes A's upper triangle, so a failure up to potri can be undone. */
bunmg_status bunmg_multi_potri(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile) {
  void *diagonal = NULL;
  bunmg_status st = bunmg_multi_cholesky(mesh, a, tile, &diagonal);
  if (st != BUNMG_OK) return st;
  /* cuSOLVERMg's potri writes all of A; out of memory comes from its workspace, before it ran. */
  if ((st = invert(mesh, a)) != BUNMG_OK) st = fail_restored(mesh, a, st == BUNMG_OUT_OF_MEMORY ? diagonal : NULL, st);
  else st = bring_home(mesh, a);
  free(diagonal);
  return st;
}

bunmg_status bunmg_multi_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, int32_t flags, void *w) {
  int vectors = (flags & BUNMG_EIG_VECTORS) != 0;
  void *diagonal = NULL;
  bunmg_status st = enter_cyclic(mesh, a, tile, &diagonal);
  if (st == BUNMG_OK) {
    int64_t info = 0;
    st = bunmg_solver_ran(mesh, mesh->ops->syevd(mesh, a, vectors, w, &info), "syevd");
    if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_SYEVD, info);
    if (st == BUNMG_OK) st = bunmg_verify_eigenvalues(a->dtype, w, a->rows);
    /* Without vectors the solver leaves the upper triangle alone, so A can be given back whole;
     * with them it works in place on all of A, so a failure once it ran cannot be undone
     * (OUT_OF_MEMORY comes from its workspace, before it ran). */
    int overwritten = vectors && st != BUNMG_OUT_OF_MEMORY;
    if (st != BUNMG_OK) st = fail_restored(mesh, a, overwritten ? NULL : diagonal, st);
    else if (!vectors) st = bunmg_multi_restore(mesh, a, diagonal);
    else {
      st = bunmg_redistribute(mesh, a, BUNMG_LAYOUT_ROWS, 0);
      if (st == BUNMG_OK) st = bunmg_fix_eigenvectors(mesh, a, flags);
    }
  }
  free(diagonal);
  return st;
}
