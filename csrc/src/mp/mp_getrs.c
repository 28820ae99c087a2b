/* getrs on the grid: p?getrf (LU with partial pivoting) of the engine's view G = A^T (the
 * column-major view of the row-major A, not conjugated: A is general), its diagonal checked,
 * then p?getrs with the transpose: A X = B is G^T X = B, so B goes in and X comes out as they
 * are. The LU is made from the call's copy: A itself is never written. */
#include <stdlib.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

static bunmg_status task_getrf(void *p) {
  mp_call *c = p;
  return bunmg_pxgetrf(c->dtype, c->work, &c->desc, c->ipiv, &c->info);
}

static bunmg_status task_getrs(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxgetrs(c->dtype, c->work, &c->desc, c->ipiv, c->b, &c->desc_b, &c->info);
  if (st == BUNMG_OK && c->info != 0)
    st = bunmg_fail_at(BUNMG_SOLVER_ERROR, c->info, -1, "p?getrs returned info %lld", (long long)c->info);
  return st;
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
    st = bunmg_mp_call_agree(call, call->ipiv && diagonal
                                       ? BUNMG_OK
                                       : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the pivots"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, task_getrf, call, "p?getrf");
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->work, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_lu(call->dtype, diagonal, call->n, call->info));
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, task_getrs, "p?getrs", 0, NULL);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
