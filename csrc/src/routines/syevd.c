/* bunmg_syevd: eigenvalues and, with BUNMG_EIG_VECTORS, eigenvectors on the chosen path. */
#include "routines/routines.h"

bunmg_status bunmg_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int32_t flags, void *w, bunmg_options *options) {
  bunmg_options defaults;
  options = bunmg_options_or_default(options, &defaults);
  bunmg_call call;
  bunmg_status st = bunmg_call_begin(&call, mesh, a, "syevd", BUNMG_ROUTINE_SYEVD, options, 1);
  if (st != BUNMG_OK) return st;
  if (!w) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "eigenvalue output is NULL");
  else if (flags & ~(BUNMG_EIG_VECTORS | BUNMG_EIG_ROWS)) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown flags %d", flags);
  if (st == BUNMG_OK && call.path == BUNMG_PATH_SINGLE) {
    st = bunmg_single_syevd(mesh, a, flags, w);
    bunmg_single_done(mesh);
    if (bunmg_call_falls_back(&call, st)) st = bunmg_call_fall_back(&call, st);
  }
  if (st == BUNMG_OK && call.path == BUNMG_PATH_MULTI) st = bunmg_multi_syevd(mesh, a, call.tile, flags, w);
  return bunmg_call_end(&call, options, st);
}
