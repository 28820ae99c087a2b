/* getrs on the grid: the engine's getrf (LU with partial pivoting) of its view G = A^T (the
 * column-major view of the row-major A, not conjugated: A is general), its diagonal checked,
 * then its getrs with the transpose: A X = B is G^T X = B, so B goes in and X comes out as they
 * are. The LU is made from the call's copy: A itself is never written. */
#include <stdlib.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

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
    st = bunmg_mp_call_agree(call, call->ipiv && diagonal
                                       ? BUNMG_OK
                                       : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the pivots"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, e->getrf, call, e->names.getrf);
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->a, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_lu(call->dtype, diagonal, call->n, call->info));
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, e->getrs, e->names.getrs, 0, NULL);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
