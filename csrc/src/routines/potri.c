/* bunmg_potri: A becomes its inverse on the chosen path. */
#include "routines/routines.h"

bunmg_status bunmg_potri(bunmg_mesh *mesh, bunmg_matrix *a, bunmg_options *options) {
  bunmg_options defaults;
  options = bunmg_options_or_default(options, &defaults);
  bunmg_call call;
  bunmg_status st = bunmg_call_begin(&call, mesh, a, "potri", BUNMG_ROUTINE_POTRI, options, 1);
  if (st != BUNMG_OK) return st;
  if (call.path == BUNMG_PATH_SINGLE) {
    st = bunmg_single_potri(mesh, a);
    bunmg_single_done(mesh);
    if (bunmg_call_falls_back(&call, st)) st = bunmg_call_fall_back(&call, st);
  }
  if (st == BUNMG_OK && call.path == BUNMG_PATH_MULTI) st = bunmg_multi_potri(mesh, a, call.tile);
  return bunmg_call_end(&call, options, st);
}
