/* gels on the grid: the least squares solution of min ||A X - B|| for an M x N A (M >= N, full
 * column rank). The engine's view G = A^T is N x M (wide); A X = B is G^T X = B, which p?gels
 * solves with op = transpose (real), and, for complex A, with the conjugate transpose on
 * conj(B): G^H conj(X) = conj(B). X is checked by its normal equations, exactly (PBLAS on the
 * kept copy of G): ||A^H (A X - B)|| <= 30 M eps ||A|| (||A|| ||X|| + ||B||). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

/* ||G (G^H Y - C)|| / (||G|| (||G|| ||Y|| + ||C||)) with Y = X (the first N rows of call->b)
 * and C = the right-hand sides (c, call->b's layout). */
static bunmg_status normal_residual(mp_call *call, const char *c, double *out) {
  const bunmg_desc *db = &call->desc_b;
  int32_t t = call->dtype;
  bunmg_desc dy = *db;
  dy.v[2] = (int)call->cols; /* X: the first N rows, the same local storage */
  size_t count = (size_t)db->v[8] * (size_t)bunmg_numroc(db->v[3], db->v[5], call->blacs->pcol, 0, call->grid.pcols);
  size_t reals = count * (bunmg_dtype_is_complex(t) ? 2 : 1);
  char *r = calloc(count ? count : 1, call->esize), *s = calloc(count ? count : 1, call->esize);
  if (!r || !s) {
    free(r);
    free(s);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the normal equations' check");
  }
  bunmg_status st = bunmg_pxgemm(t, 'C', call->a0, &call->desc, call->b, &dy, r, db); /* r = G^H Y */
  if (st == BUNMG_OK) {
    for (size_t k = 0; k < reals; k++)
      if (bunmg_dtype_real_size(t) == 4) ((float *)r)[k] -= ((const float *)c)[k];
      else ((double *)r)[k] -= ((const double *)c)[k];
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

/* p?gels on a copy of the right-hand sides kept (call->b0) for the check. */
static bunmg_status task_gels(void *p) {
  mp_call *call = p;
  const bunmg_desc *db = &call->desc_b;
  size_t bytes = (size_t)db->v[8] * (size_t)bunmg_numroc(db->v[3], db->v[5], call->blacs->pcol, 0, call->grid.pcols) *
                 call->esize;
  if (!(call->b0 = malloc(bytes ? bytes : 1))) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a copy of B");
  memcpy(call->b0, call->b, bytes);
  return bunmg_pxgels(call->dtype, call->work, &call->desc, call->b, db, &call->info);
}

static bunmg_status task_residual(void *p) {
  mp_call *call = p;
  return normal_residual(call, call->b0, &call->residual);
}

/* ScaLAPACK does not report rank deficiency: the triangular factor's diagonal must be nonzero
 * and finite (its first zero names the column), and X must satisfy the normal equations. */
static bunmg_status check(mp_call *call) {
  void *diagonal = malloc((size_t)call->cols * call->esize);
  bunmg_status st = diagonal ? bunmg_mp_call_diagonal(call, call->work, diagonal)
                             : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a diagonal");
  if (st == BUNMG_OK) {
    int complex = bunmg_dtype_is_complex(call->dtype), single = bunmg_dtype_real_size(call->dtype) == 4;
    for (int64_t j = 0; j < call->cols && st == BUNMG_OK; j++) {
      double re = single ? ((float *)diagonal)[j << complex] : ((double *)diagonal)[j << complex];
      double im = !complex ? 0 : single ? ((float *)diagonal)[2 * j + 1] : ((double *)diagonal)[2 * j + 1];
      if (re == 0 && im == 0)
        st = bunmg_fail_at(BUNMG_SINGULAR, j + 1, -1,
                           "A does not have full column rank: R[%lld][%lld] of its QR factorization is zero",
                           (long long)j, (long long)j);
    }
    st = bunmg_mp_call_agree(call, st);
  }
  if (call->mp->broken == BUNMG_OK) free(diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, task_residual, call, "the normal equations' check");
  double eps = bunmg_dtype_real_size(call->dtype) == 4 ? 0x1p-23 : 0x1p-52, bound = 30.0 * (double)call->n * eps;
  if (st == BUNMG_OK && !(call->residual <= bound))
    st = bunmg_fail(BUNMG_SOLVER_ERROR,
                    "the least squares solution does not satisfy its normal equations: ||A^H (A X - B)|| / (||A|| (||A|| "
                    "||X|| + ||B||)) = %.3g, above 30 M eps = %.3g",
                    call->residual, bound);
  return bunmg_mp_call_agree(call, st);
}

bunmg_status bunmg_mp_gels(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, void *b,
                           int64_t nrhs) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {MP_GELS, options, b, nrhs, 0, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "gels", local, &q);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, (call->a0 = bunmg_mp_call_matrix(call, "a copy of A")) ? BUNMG_OK : BUNMG_OUT_OF_MEMORY);
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) {
    memcpy(call->a0, call->work, (size_t)(call->lld * call->local_cols) * call->esize);
    st = bunmg_mp_call_solve(call, b, nrhs, task_gels, "p?gels", 1, check);
  }
  return bunmg_mp_call_end(call, st);
}
