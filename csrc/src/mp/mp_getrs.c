/* getrs on the grid: the engine's getrf (LU with partial pivoting) of its view G = A^T (the
 * column-major view of the row-major A, not conjugated: A is general), its diagonal checked,
 * then its getrs with the transpose: A X = B is G^T X = B, so B goes in and X comes out as they
 * are. The LU is made from the call's copy: A itself is never written. X is checked by its
 * residual on a kept copy of A (one more N x N per rank's share): ||A X - B|| <= 30 N eps (||A||
 * ||X|| + ||B||), Frobenius norms; a solver that returned without solving fails it. */
#include <stdlib.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

static bunmg_status check(mp_call *call) {
  bunmg_status st = bunmg_mp_call_engine(call, call->engine->getrs_residual, call, call->engine->names.getrs_residual);
  double eps = bunmg_dtype_real_size(call->dtype) == 4 ? 0x1p-23 : 0x1p-52, bound = 30.0 * (double)call->n * eps;
  if (st == BUNMG_OK && !(call->residual <= bound))
    st = bunmg_fail(BUNMG_SOLVER_ERROR,
                    "the solution does not satisfy A X = B: ||A X - B|| / (||A|| ||X|| + ||B||) = %.3g, above 30 N eps = %.3g",
                    call->residual, bound);
  return bunmg_mp_call_agree(call, st);
}

bunmg_status bunmg_mp_getrs(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, void *b,
                            int64_t nrhs) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {MP_GETRS, options, b, nrhs, 0, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "getrs", local, &q);
  void *diagonal = NULL;
  if (st == BUNMG_OK) {
    call->ipiv = malloc((size_t)(call->local_rows + call->block) * sizeof *call->ipiv);
    diagonal = malloc((size_t)call->n * call->esize);
    st = !call->ipiv || !diagonal ? bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the pivots")
         : (call->a0 = call->engine->matrix(call, "a copy of A")) ? BUNMG_OK
                                                                  : BUNMG_OUT_OF_MEMORY;
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, e->getrf, call, e->names.getrf);
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->a, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_lu(call->dtype, diagonal, call->n, call->info));
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, e->getrs, e->names.getrs, 0, check);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
