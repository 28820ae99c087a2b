/* potri on the grid: the engine's potrf, its check, the full Hermitian inverse of G = conj(A) (the
 * engine's view) in the call's matrix, its check; back to rows, that is A^-1 row-major. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "routines/routines.h"

bunmg_status bunmg_mp_potri(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_POTRI, options, NULL, 0, 0, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "potri", local, &q);
  void *diagonal = NULL;
  if (st == BUNMG_OK) {
    call->z = call->engine->matrix(call, "the inverse's scratch");
    diagonal = malloc((size_t)call->n * call->esize);
    st = bunmg_mp_call_agree(call, !call->z ? BUNMG_OUT_OF_MEMORY
                                   : diagonal ? BUNMG_OK
                                              : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a diagonal"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->potrf, call, e->names.potrf));
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->a, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_factor(call->dtype, diagonal, call->n, call->info));
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->potri, call, e->names.potri));
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->a, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_inverse(call->dtype, diagonal, call->n));
  if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(call);
  if (st == BUNMG_OK) bunmg_mp_call_store(call);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
