/* bunmg_potrs: A X = B on the chosen path. */
#include <stdlib.h>

#include "routines/routines.h"

/* The multi path: factor in place, solve; with `keep`, or when the solve fails, A is rebuilt
 * from the triangle the factorization left alone. */
static bunmg_status multi(bunmg_call *call, void *b, int64_t nrhs, int keep) {
  void *saved = NULL;
  bunmg_status st = bunmg_multi_cholesky(call->mesh, call->a, call->tile, &saved);
  if (st != BUNMG_OK) return st;
  st = bunmg_multi_solve(call->mesh, call->a, b, nrhs);
  if (st != BUNMG_OK || keep) {
    bunmg_status back = bunmg_multi_restore(call->mesh, call->a, saved);
    if (st == BUNMG_OK) st = back;
    else if (back != BUNMG_OK) st = bunmg_fail(BUNMG_LAYOUT_LOST, "%s; restoring A failed too", bunmg_last_error());
  }
  free(saved);
  return st;
}

bunmg_status bunmg_potrs(bunmg_mesh *mesh, bunmg_matrix *a, void *b, int64_t nrhs, bunmg_options *options) {
  bunmg_options defaults;
  options = bunmg_options_or_default(options, &defaults);
  bunmg_call call;
  bunmg_status st = bunmg_call_begin(&call, mesh, a, "potrs", BUNMG_ROUTINE_POTRS, options, nrhs);
  if (st != BUNMG_OK) return st;
  st = bunmg_check_rhs(a->dtype, b, a->rows, nrhs);
  if (st == BUNMG_OK && call.path == BUNMG_PATH_SINGLE) {
    st = bunmg_single_potrs(mesh, a, b, nrhs);
    bunmg_single_done(mesh);
    if (bunmg_call_falls_back(&call, st)) st = bunmg_call_fall_back(&call, st);
  }
  if (st == BUNMG_OK && call.path == BUNMG_PATH_MULTI) st = multi(&call, b, nrhs, options->keep);
  return bunmg_call_end(&call, options, st);
}
