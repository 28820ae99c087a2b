/* The eigenvectors' check (docs/mp-engine.md, section 7): for random probe vectors p, with V the
 * eigenvectors (Z, of the engine's view G) and w the eigenvalues,
 *   orthogonality ||V^H (V p) - p|| / ||p||
 *   residual      ||V (diag(w) (V^H p)) - G p|| / (max |w| ||p||)   (max |w| = ||G||_2)
 * estimate ||V^H V - I||_F / sqrt(N) and the eigen-residual; the worst of MP_PROBES probes must
 * stay within 30 N eps. G p is taken before the eigensolver overwrites G. Costs a few N^2 per
 * probe, on the worker (PBLAS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mp/mp_call.h"
#include "mp/mp_probes.h"

/* A deterministic value in [-1, 1) for element (i, k), part re/im: every rank fills its own. */
static double probe_value(int64_t i, int64_t k, int part) {
  uint64_t x = ((uint64_t)i * 2 * MP_PROBES + (uint64_t)k * 2 + (uint64_t)part) + 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (double)(x >> 11) * 0x1p-52 - 1.0;
}

static int64_t probe_cols(const mp_call *c) { return bunmg_numroc(MP_PROBES, c->block, c->blacs->pcol, 0, c->grid.pcols); }

size_t bunmg_mp_probes_reals(const mp_call *c) {
  int64_t cols = probe_cols(c);
  return (size_t)(c->lld * (cols > 0 ? cols : 1)) * (bunmg_dtype_is_complex(c->dtype) ? 2 : 1);
}

static void set_real(int32_t dtype, void *p, size_t k, double v) {
  if (bunmg_dtype_real_size(dtype) == 4) ((float *)p)[k] = (float)v;
  else ((double *)p)[k] = v;
}

static double get_real(int32_t dtype, const void *p, size_t k) {
  return bunmg_dtype_real_size(dtype) == 4 ? (double)((const float *)p)[k] : ((const double *)p)[k];
}

bunmg_status bunmg_mp_probes_alloc(mp_call *c) {
  mp_probes *pr = &c->probes;
  size_t reals = bunmg_mp_probes_reals(c), rsize = bunmg_dtype_real_size(c->dtype);
  pr->p = calloc(reals, rsize);
  pr->gp = calloc(reals, rsize);
  pr->t1 = calloc(reals, rsize);
  pr->t2 = calloc(reals, rsize);
  if (!pr->p || !pr->gp || !pr->t1 || !pr->t2)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the eigenvectors' probes");
  int parts = bunmg_dtype_is_complex(c->dtype) ? 2 : 1;
  for (int64_t lj = 0; lj < probe_cols(c); lj++) {
    int64_t k = bunmg_mp_call_col(c, lj);
    for (int64_t li = 0; li < c->local_rows; li++)
      for (int part = 0; part < parts; part++)
        set_real(c->dtype, pr->p, (size_t)(lj * c->lld + li) * (size_t)parts + (size_t)part,
                 probe_value(bunmg_mp_call_row(c, li), k, part));
  }
  return BUNMG_OK;
}

bunmg_status bunmg_mp_probes_create(mp_call *c) {
  bunmg_status st = bunmg_mp_probes_alloc(c);
  return st == BUNMG_OK ? bunmg_scalapack_desc(&c->probes.desc, c->blacs, c->cols, MP_PROBES, c->block, c->block, c->lld)
                        : st;
}

bunmg_status bunmg_mp_probes_image(void *p) {
  mp_call *c = p;
  return bunmg_pxhemm(c->dtype, c->a, &c->desc, c->probes.p, &c->probes.desc, c->probes.gp, &c->probes.desc);
}

void bunmg_mp_probes_scale(const mp_call *c, void *t1) {
  int32_t t = c->dtype;
  int parts = bunmg_dtype_is_complex(t) ? 2 : 1;
  for (int64_t lj = 0; lj < probe_cols(c); lj++)
    for (int64_t li = 0; li < c->local_rows; li++) {
      double wi = get_real(t, c->w, (size_t)bunmg_mp_call_row(c, li));
      for (int part = 0; part < parts; part++) {
        size_t k = (size_t)(lj * c->lld + li) * (size_t)parts + (size_t)part;
        set_real(t, t1, k, get_real(t, t1, k) * wi);
      }
    }
}

/* t = diag(w) p: the probes with their rows scaled by w. */
static void scaled_probes(const mp_call *c, void *t) {
  memcpy(t, c->probes.p, bunmg_mp_probes_reals(c) * bunmg_dtype_real_size(c->dtype));
  bunmg_mp_probes_scale(c, t);
}

double bunmg_mp_probes_scale_of(const mp_call *c) {
  double scale = 0;
  for (int64_t i = 0; i < c->n; i++) scale = fmax(scale, fabs(get_real(c->dtype, c->w, (size_t)i)));
  return scale > 0 ? scale : 1.0;
}

/* t2 -= base, elementwise over the local blocks. */
void bunmg_mp_probes_subtract(const mp_call *c, void *t2, const void *base) {
  size_t reals = bunmg_mp_probes_reals(c);
  for (size_t k = 0; k < reals; k++) set_real(c->dtype, t2, k, get_real(c->dtype, t2, k) - get_real(c->dtype, base, k));
}

/* The worst probe's ||t2_k|| / (scale ||p_k||). */
static double worst(const mp_call *c, const char *t2, double scale) {
  double w = 0;
  for (int64_t k = 0; k < MP_PROBES; k++) {
    double r = bunmg_pxnorm_column(c->dtype, t2, &c->probes.desc, k);
    double p = bunmg_pxnorm_column(c->dtype, c->probes.p, &c->probes.desc, k);
    double ratio = r / (scale * p);
    if (!(ratio <= w)) w = ratio; /* NaN sticks */
  }
  return w;
}

bunmg_status bunmg_mp_probes_check(void *p) {
  mp_call *c = p;
  mp_probes *pr = &c->probes;
  int32_t t = c->dtype;
  /* residual: Z (diag(w) (Z^H p)) - G p */
  bunmg_status st = bunmg_pxgemm(t, 'C', c->z, &c->desc, pr->p, &pr->desc, pr->t1, &pr->desc);
  if (st == BUNMG_OK) bunmg_mp_probes_scale(c, pr->t1);
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'N', c->z, &c->desc, pr->t1, &pr->desc, pr->t2, &pr->desc);
  if (st != BUNMG_OK) return st;
  bunmg_mp_probes_subtract(c, pr->t2, pr->gp);
  c->residual = worst(c, pr->t2, bunmg_mp_probes_scale_of(c));
  /* orthogonality: Z^H (Z p) - p */
  st = bunmg_pxgemm(t, 'N', c->z, &c->desc, pr->p, &pr->desc, pr->t1, &pr->desc);
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'C', c->z, &c->desc, pr->t1, &pr->desc, pr->t2, &pr->desc);
  if (st != BUNMG_OK) return st;
  bunmg_mp_probes_subtract(c, pr->t2, pr->p);
  c->orthogonality = worst(c, pr->t2, 1.0);
  return BUNMG_OK;
}

/* sygvd's, on A and B kept before the solver (a0, b0):
 *   B-orthogonality ||V^H B (V p) - p|| / (||p|| max(1, ||B|| ||V||^2 / N))
 *   residual        ||A (V p) - B (V (diag(w) p))|| / ((||A|| + max |w| ||B||) ||V|| ||p||)
 * with Frobenius norms (||V||_F^2 / N: V's mean squared column norm, about ||B^-1||). */
bunmg_status bunmg_mp_probes_check_generalized(void *p) {
  mp_call *c = p;
  mp_probes *pr = &c->probes;
  int32_t t = c->dtype;
  double wmax = 0;
  for (int64_t i = 0; i < c->n; i++) wmax = fmax(wmax, fabs(get_real(t, c->w, (size_t)i)));
  double na = bunmg_pxnorm(t, c->a0, &c->desc), nb = bunmg_pxnorm(t, c->b0, &c->desc), nv = bunmg_pxnorm(t, c->z, &c->desc);
  bunmg_status st = bunmg_pxgemm(t, 'N', c->z, &c->desc, pr->p, &pr->desc, pr->t1, &pr->desc); /* t1 = V p */
  if (st == BUNMG_OK) st = bunmg_pxhemm(t, c->b0, &c->desc, pr->t1, &pr->desc, pr->t2, &pr->desc);
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'C', c->z, &c->desc, pr->t2, &pr->desc, pr->gp, &pr->desc);
  if (st != BUNMG_OK) return st;
  bunmg_mp_probes_subtract(c, pr->gp, pr->p);
  c->orthogonality = worst(c, pr->gp, fmax(1.0, nb * nv * nv / (double)c->n));
  st = bunmg_pxhemm(t, c->a0, &c->desc, pr->t1, &pr->desc, pr->gp, &pr->desc); /* gp = A V p */
  if (st == BUNMG_OK) scaled_probes(c, pr->t2); /* t2 = diag(w) p */
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'N', c->z, &c->desc, pr->t2, &pr->desc, pr->t1, &pr->desc);
  if (st == BUNMG_OK) st = bunmg_pxhemm(t, c->b0, &c->desc, pr->t1, &pr->desc, pr->t2, &pr->desc);
  if (st != BUNMG_OK) return st;
  bunmg_mp_probes_subtract(c, pr->gp, pr->t2);
  double scale = (na + wmax * nb) * nv;
  c->residual = worst(c, pr->gp, scale > 0 ? scale : 1.0);
  return BUNMG_OK;
}

/* gesvd's, on the view G = U diag(s) VT (N x M, N <= M; U = call->z, VT = call->vt, G kept in
 * call->a0):
 *   orthogonality ||U^H U p - p|| and ||VT VT^H p - p|| over ||p||, the worse of the two
 *   residual      ||G (VT^H p) - U (diag(s) p)|| / (s_max ||p||) */
bunmg_status bunmg_mp_probes_check_svd(void *p) {
  mp_call *c = p;
  mp_probes *pr = &c->probes;
  int32_t t = c->dtype;
  int64_t rows_m = bunmg_numroc(c->n, c->block, c->blacs->prow, 0, c->grid.prows), lldm = rows_m > 0 ? rows_m : 1;
  size_t count = (size_t)lldm * (size_t)(probe_cols(c) > 0 ? probe_cols(c) : 1);
  bunmg_desc dm;
  bunmg_status st = bunmg_scalapack_desc(&dm, c->blacs, c->n, MP_PROBES, c->block, c->block, lldm);
  char *tm = st == BUNMG_OK ? calloc(count, c->esize) : NULL;
  if (st == BUNMG_OK && !tm) st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the singular vectors' probes");
  double smax = 0;
  for (int64_t i = 0; i < c->cols; i++) smax = fmax(smax, fabs(get_real(t, c->w, (size_t)i)));
  bunmg_desc du = pr->desc;
  du.v[3] = (int)c->cols; /* U: N x N on the probes' rows */
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'C', c->vt, &c->desc, pr->p, &pr->desc, tm, &dm);    /* tm = VT^H p */
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'N', c->a0, &c->desc, tm, &dm, pr->gp, &pr->desc);   /* gp = G tm */
  if (st == BUNMG_OK) scaled_probes(c, pr->t1); /* t1 = diag(s) p */
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'N', c->z, &du, pr->t1, &pr->desc, pr->t2, &pr->desc); /* t2 = U t1 */
  if (st == BUNMG_OK) {
    bunmg_mp_probes_subtract(c, pr->gp, pr->t2);
    c->residual = worst(c, pr->gp, smax > 0 ? smax : 1.0);
    st = bunmg_pxgemm(t, 'N', c->vt, &c->desc, tm, &dm, pr->t1, &pr->desc); /* t1 = VT VT^H p */
  }
  if (st == BUNMG_OK) {
    bunmg_mp_probes_subtract(c, pr->t1, pr->p);
    c->orthogonality = worst(c, pr->t1, 1.0);
    st = bunmg_pxgemm(t, 'N', c->z, &du, pr->p, &pr->desc, pr->t1, &pr->desc);
  }
  if (st == BUNMG_OK) st = bunmg_pxgemm(t, 'C', c->z, &du, pr->t1, &pr->desc, pr->t2, &pr->desc); /* U^H U p */
  if (st == BUNMG_OK) {
    bunmg_mp_probes_subtract(c, pr->t2, pr->p);
    c->orthogonality = fmax(c->orthogonality, worst(c, pr->t2, 1.0));
  }
  free(tm);
  return st;
}

bunmg_status bunmg_mp_probes_verdict(const mp_call *c) {
  double eps = bunmg_dtype_real_size(c->dtype) == 4 ? 0x1p-23 : 0x1p-52, bound = 30.0 * (double)c->n * eps;
  if (c->vt) {
    if (!(c->orthogonality <= bound))
      return bunmg_fail(BUNMG_SOLVER_ERROR,
                        "the SVD's singular vectors are not orthonormal: ||U^H U p - p|| or ||V^H V p - p|| over ||p|| = "
                        "%.3g on a random probe, above 30 M eps = %.3g",
                        c->orthogonality, bound);
    if (!(c->residual <= bound))
      return bunmg_fail(BUNMG_SOLVER_ERROR,
                        "the SVD does not satisfy A V = U diag(s): ||A V p - U diag(s) p|| / (s_max ||p||) = %.3g on a "
                        "random probe, above 30 M eps = %.3g",
                        c->residual, bound);
    return BUNMG_OK;
  }
  if (c->second) {
    if (!(c->orthogonality <= bound))
      return bunmg_fail(BUNMG_SOLVER_ERROR,
                        "the generalized eigensolver's vectors are not B-orthonormal: ||V^H B V p - p|| / ||p|| = %.3g "
                        "(relative to max(1, ||B|| ||V||^2 / N)) on a random probe, above 30 N eps = %.3g",
                        c->orthogonality, bound);
    if (!(c->residual <= bound))
      return bunmg_fail(BUNMG_SOLVER_ERROR,
                        "the generalized eigensolver's result does not satisfy A V = B V diag(w): ||A V p - B V diag(w) "
                        "p|| / ((||A|| + max |w| ||B||) ||V|| ||p||) = %.3g on a random probe, above 30 N eps = %.3g",
                        c->residual, bound);
    return BUNMG_OK;
  }
  if (!(c->orthogonality <= bound))
    return bunmg_fail(BUNMG_SOLVER_ERROR,
                      "the eigensolver's vectors are not orthonormal: ||V^H V p - p|| / ||p|| = %.3g on a random probe, "
                      "above 30 N eps = %.3g",
                      c->orthogonality, bound);
  if (!(c->residual <= bound))
    return bunmg_fail(BUNMG_SOLVER_ERROR,
                      "the eigensolver's result does not satisfy A V = V diag(w): ||V diag(w) V^H p - A p|| / (||A|| "
                      "||p||) = %.3g on a random probe, above 30 N eps = %.3g",
                      c->residual, bound);
  return BUNMG_OK;
}
