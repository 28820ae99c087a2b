/* The CPU engine (mp_engine.h): ScaLAPACK on the host, the call's matrix is its work buffer. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

static bunmg_status begin(mp_call *c) {
  bunmg_status st = bunmg_blacs_grid(c->mp, c->grid.prows, c->grid.pcols, c->grid.order, &c->blacs);
  return st == BUNMG_OK ? bunmg_scalapack_desc(&c->desc, c->blacs, c->cols, c->n, c->block, c->block, c->lld) : st;
}

static void free_matrix(mp_call *c, void *m) { free(m); }

static bunmg_status diagonal(mp_call *c, const void *matrix, void *diagonal) {
  for (int64_t lj = 0; lj < c->local_cols; lj++) {
    int64_t j = bunmg_mp_call_col(c, lj);
    if (j >= c->cols || bunmg_g2p(j, c->block, c->grid.prows) != c->blacs->prow) continue;
    int64_t li = bunmg_g2l(j, c->block, c->grid.prows);
    memcpy((char *)diagonal + (size_t)j * c->esize, (const char *)matrix + (size_t)(lj * c->lld + li) * c->esize, c->esize);
  }
  return BUNMG_OK;
}

static bunmg_status task_potrf(void *p) {
  mp_call *c = p;
  return bunmg_pxpotrf(c->dtype, c->a, &c->desc, &c->info);
}

static bunmg_status task_potrs(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxpotrs(c->dtype, c->a, &c->desc, c->b, &c->desc_b, &c->info);
  if (st == BUNMG_OK && c->info != 0) st = bunmg_info_status(BUNMG_INFO_POTRS, c->info);
  return st;
}

/* The full Hermitian inverse: its lower triangle from p?potri, the strict upper one from the
 * conjugate transpose in z, the diagonal made real. */
static bunmg_status task_potri(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxpotri(c->dtype, c->a, &c->desc, &c->info);
  if (st == BUNMG_OK && c->info != 0) return bunmg_info_status(BUNMG_INFO_POTRI, c->info);
  if (st == BUNMG_OK) st = bunmg_pxtranc(c->dtype, c->a, &c->desc, c->z, &c->desc);
  if (st != BUNMG_OK) return st;
  int cplx = bunmg_dtype_is_complex(c->dtype);
  char *a = c->a, *z = c->z;
  for (int64_t lj = 0; lj < c->local_cols; lj++) {
    int64_t j = bunmg_mp_call_col(c, lj);
    for (int64_t li = 0; li < c->local_rows; li++) {
      int64_t i = bunmg_mp_call_row(c, li);
      size_t at = (size_t)(lj * c->lld + li) * c->esize;
      if (i < j) memcpy(a + at, z + at, c->esize);
      else if (i == j && cplx) memset(a + at + c->esize / 2, 0, c->esize / 2); /* Hermitian: real */
    }
  }
  return BUNMG_OK;
}

/* p?syevd / p?heevd compute vectors always: ScaLAPACK has no values-only divide and conquer. */
static bunmg_status task_syevd(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxsyevd(c->dtype, c->a, &c->desc, c->w, c->z, &c->desc, &c->info);
  return st == BUNMG_OK ? bunmg_info_status(BUNMG_INFO_SYEVD, c->info) : st;
}

static bunmg_status task_convention(void *p) {
  mp_call *c = p;
  if (!(c->flags & BUNMG_EIG_ROWS)) return bunmg_pxtranc(c->dtype, c->z, &c->desc, c->a, &c->desc);
  size_t count = (size_t)(c->lld * c->local_cols);
  memcpy(c->a, c->z, count * c->esize);
  bunmg_mp_conjugate(c->dtype, c->a, count);
  return BUNMG_OK;
}

static void skew_vectors(mp_call *c, double by) {
  bunmg_mp_scale_reals(c->dtype, c->z, (size_t)(c->lld * c->local_cols), by);
}

static size_t matrix_bytes(const mp_call *c) { return (size_t)(c->lld * c->local_cols) * c->esize; }

/* Elements of this rank's part of the right-hand sides (call->b, desc_b). */
static size_t b_count(const mp_call *c) {
  const bunmg_desc *db = &c->desc_b;
  return (size_t)db->v[8] * (size_t)bunmg_numroc(db->v[3], db->v[5], c->blacs->pcol, 0, c->grid.pcols);
}

/* The right-hand sides' copy for a check (call->b0). */
static bunmg_status keep_b(mp_call *c) {
  size_t bytes = b_count(c) * c->esize;
  if (!(c->b0 = malloc(bytes ? bytes : 1))) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a copy of B");
  memcpy(c->b0, c->b, bytes);
  return BUNMG_OK;
}

/* A's copy for the residual, then the LU. */
static bunmg_status task_getrf(void *p) {
  mp_call *c = p;
  memcpy(c->a0, c->a, matrix_bytes(c));
  return bunmg_pxgetrf(c->dtype, c->a, &c->desc, c->ipiv, &c->info);
}

static bunmg_status task_getrs(void *p) {
  mp_call *c = p;
  bunmg_status st = keep_b(c);
  if (st == BUNMG_OK) st = bunmg_pxgetrs(c->dtype, c->a, &c->desc, c->ipiv, c->b, &c->desc_b, &c->info);
  if (st == BUNMG_OK && c->info != 0)
    st = bunmg_fail_at(BUNMG_SOLVER_ERROR, c->info, -1, "p?getrs returned info %lld", (long long)c->info);
  return st;
}

/* sygvd's copies of A and B for the probes, then B's factor. */
static bunmg_status task_potrf_second(void *p) {
  mp_call *c = p;
  memcpy(c->a0, c->a, matrix_bytes(c));
  memcpy(c->b0, c->second_matrix, matrix_bytes(c));
  return bunmg_pxpotrf(c->dtype, c->second_matrix, &c->desc, &c->info);
}

static bunmg_status task_sygst(void *p) {
  mp_call *c = p;
  c->scale = 1;
  return bunmg_pxsygst(c->dtype, c->a, &c->desc, c->second_matrix, &c->desc, &c->scale, &c->info);
}

static bunmg_status task_trsm(void *p) {
  mp_call *c = p;
  return bunmg_pxtrsm_lower_adjoint(c->dtype, c->second_matrix, &c->desc, c->z, &c->desc);
}

static void subtract(int32_t t, void *r, const void *c, size_t reals) {
  for (size_t k = 0; k < reals; k++)
    if (bunmg_dtype_real_size(t) == 4) ((float *)r)[k] -= ((const float *)c)[k];
    else ((double *)r)[k] -= ((const double *)c)[k];
}

/* Two of b's size (zeroed), or OUT_OF_MEMORY naming the check. */
static bunmg_status scratch(const mp_call *c, char **r, char **s, const char *what) {
  size_t count = b_count(c);
  *r = calloc(count ? count : 1, c->esize);
  *s = calloc(count ? count : 1, c->esize);
  return *r && *s ? BUNMG_OK : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %s", what);
}

/* ||G (G^H Y - C)|| / (||G|| (||G|| ||Y|| + ||C||)) with Y = X (the first N rows of call->b)
 * and C = the right-hand sides (c, call->b's layout). */
static bunmg_status normal_residual(mp_call *call, const char *c, double *out) {
  const bunmg_desc *db = &call->desc_b;
  int32_t t = call->dtype;
  bunmg_desc dy = *db;
  dy.v[2] = (int)call->cols; /* X: the first N rows, the same local storage */
  char *r, *s;
  bunmg_status st = scratch(call, &r, &s, "the normal equations' check");
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'C', call->a0, &call->desc, call->b, &dy, r, db); /* r = G^H Y */
  if (st == BUNMG_OK) {
    subtract(t, r, c, b_count(call) * (bunmg_dtype_is_complex(t) ? 2 : 1));
    st = bunmg_pxgemm(t, 'N', call->a0, &call->desc, r, db, s, &dy); /* s = G r */
  }
  if (st == BUNMG_OK) {
    double ng = bunmg_pxnorm(t, call->a0, &call->desc), ny = bunmg_pxnorm(t, call->b, &dy), nc = bunmg_pxnorm(t, c, db);
    double scale = ng * (ng * ny + nc);
    *out = bunmg_pxnorm(t, s, &dy) / (scale > 0 ? scale : 1);
  }
  free(r);
  free(s);
  return st;
}

/* getrs's ||A X - B|| / (||A|| ||X|| + ||B||): A X = G^T X = conj(G^H conj(X)), so with Y =
 * conj(X) and C = conj(B) it is ||G^H Y - C||, conjugation keeping every norm. */
static bunmg_status task_getrs_residual(void *p) {
  mp_call *call = p;
  int32_t t = call->dtype;
  const bunmg_desc *db = &call->desc_b;
  char *y, *r;
  bunmg_status st = scratch(call, &y, &r, "the residual's check");
  if (st == BUNMG_OK) {
    memcpy(y, call->b, b_count(call) * call->esize);
    bunmg_mp_conjugate(t, y, b_count(call));
    bunmg_mp_conjugate(t, call->b0, b_count(call));
    st = bunmg_pxgemm(t, 'C', call->a0, &call->desc, y, db, r, db); /* r = G^H Y */
  }
  if (st == BUNMG_OK) {
    subtract(t, r, call->b0, b_count(call) * (bunmg_dtype_is_complex(t) ? 2 : 1));
    double scale = bunmg_pxnorm(t, call->a0, &call->desc) * bunmg_pxnorm(t, y, db) + bunmg_pxnorm(t, call->b0, db);
    call->residual = bunmg_pxnorm(t, r, db) / (scale > 0 ? scale : 1);
  }
  free(y);
  free(r);
  return st;
}

/* p?gels, A's copy and the right-hand sides' kept (call->a0, call->b0) for the check. */
static bunmg_status task_gels(void *p) {
  mp_call *call = p;
  memcpy(call->a0, call->a, matrix_bytes(call));
  bunmg_status st = keep_b(call);
  return st == BUNMG_OK ? bunmg_pxgels(call->dtype, call->a, &call->desc, call->b, &call->desc_b, &call->info) : st;
}

static bunmg_status task_residual(void *p) {
  mp_call *call = p;
  return normal_residual(call, call->b0, &call->residual);
}

/* A's copy for the probes, then p?gesvd: U_G into z, VT_G into vt. */
static bunmg_status task_gesvd(void *p) {
  mp_call *c = p;
  memcpy(c->a0, c->a, matrix_bytes(c));
  bunmg_status st = bunmg_pxgesvd(c->dtype, c->a, &c->desc, c->w, c->z, &c->desc_u, c->vt, &c->desc, &c->info);
  if (st == BUNMG_OK && c->info > 0)
    st = bunmg_fail_at(BUNMG_NO_CONVERGENCE, c->info, -1, "p?gesvd did not converge (info %lld)", (long long)c->info);
  return st;
}

static bunmg_status task_svd_v(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxtranc(c->dtype, c->z, &c->desc_u, c->v, &c->desc_u);
  if (st == BUNMG_OK) memcpy(c->a, c->vt, matrix_bytes(c));
  return st;
}

static void release(mp_call *c) {
  free(c->probes.p);
  free(c->probes.gp);
  free(c->probes.t1);
  free(c->probes.t2);
}

static void factor_free(bunmg_mp_factor *f) { free(f->l); }

const mp_engine bunmg_scalapack_engine = {
    .name = "ScaLAPACK",
    .default_block = 64,
    .load = bunmg_scalapack_load,
    .leave = bunmg_blacs_release,
    .begin = begin,
    .matrix = bunmg_mp_call_matrix,
    .free_matrix = free_matrix,
    .diagonal = diagonal,
    .potrf = task_potrf,
    .potrs = task_potrs,
    .potri = task_potri,
    .syevd = task_syevd,
    .probes_create = bunmg_mp_probes_create,
    .probes_image = bunmg_mp_probes_image,
    .probes_check = bunmg_mp_probes_check,
    .convention = task_convention,
    .skew_vectors = skew_vectors,
    .getrf = task_getrf,
    .getrs = task_getrs,
    .getrs_residual = task_getrs_residual,
    .potrf_second = task_potrf_second,
    .sygst = task_sygst,
    .trsm = task_trsm,
    .probes_generalized = bunmg_mp_probes_check_generalized,
    .gels = task_gels,
    .gels_residual = task_residual,
    .gesvd = task_gesvd,
    .svd_v = task_svd_v,
    .probes_svd = bunmg_mp_probes_check_svd,
    .release = release,
    .factor_free = factor_free,
    .names = {.potrf = "p?potrf", .potrs = "p?potrs", .potri = "p?potri", .syevd = "p?syevd",
              .image = "p?hemm (the probes' image)", .check = "the eigenvectors' probes",
              .convention = "p?tranc (the eigenvectors' convention)", .getrf = "p?getrf", .getrs = "p?getrs", .getrs_residual = "the residual's check (p?gemm)",
              .potrf_second = "p?potrf (B)", .sygst = "p?sygst", .trsm = "p?trsm (the back-transformation)",
              .probes_generalized = "the eigenvectors' probes", .gels = "p?gels",
              .gels_residual = "the normal equations' check", .gesvd = "p?gesvd", .svd_v = "p?tranc (V)",
              .probes_svd = "the singular vectors' probes"},
};
