/* gels on the grid: the least squares solution of min ||A X - B|| for an M x N A (M >= N, full
 * column rank). The engine's view G = A^T is N x M (wide); A X = B is G^T X = B, which the
 * engine's gels solves with op = transpose (real), and, for complex A, with the conjugate
 * transpose on conj(B): G^H conj(X) = conj(B). X is checked by its normal equations, exactly (the
 * engine's gels_residual on the kept copy of G): ||A^H (A X - B)|| <= 30 M eps ||A|| (||A|| ||X||
 * + ||B||). */
#include <stdlib.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

/* The solver need not report rank deficiency (ScaLAPACK does not): the triangular factor's diagonal must be nonzero
 * and finite (its first zero names the column), and X must satisfy the normal equations. */
static bunmg_status check(mp_call *call) {
  void *diagonal = malloc((size_t)call->cols * call->esize);
  bunmg_status st = diagonal ? bunmg_mp_call_diagonal(call, call->a, diagonal)
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
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, call->engine->gels_residual, call, call->engine->names.gels_residual);
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
  if (st == BUNMG_OK)
    st = bunmg_mp_call_agree(call, (call->a0 = call->engine->matrix(call, "a copy of A")) ? BUNMG_OK : BUNMG_OUT_OF_MEMORY);
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, call->engine->gels, call->engine->names.gels, 1, check);
  return bunmg_mp_call_end(call, st);
}
