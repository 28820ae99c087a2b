/* bunmg_fill_random: checks, then the backend writes the shards where they live. */
#include "core/internal.h"

static bunmg_status fill(bunmg_mesh *mesh, bunmg_matrix *m, int32_t kind, uint64_t seed) {
  if (kind != BUNMG_FILL_HPD && kind != BUNMG_FILL_UNIFORM)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown fill kind %d", kind);
  bunmg_status st = bunmg_check_matrix(mesh, m, kind == BUNMG_FILL_HPD);
  if (st == BUNMG_OK && m->layout != BUNMG_LAYOUT_ROWS)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "the matrix must be in row layout");
  if (st == BUNMG_OK && !mesh->ops->fill)
    st = bunmg_fail(BUNMG_UNSUPPORTED, "the %s backend cannot fill matrices", mesh->ops->name);
  if (st == BUNMG_OK) m->generation++;
  return st == BUNMG_OK ? mesh->ops->fill(mesh, m, kind, seed) : st;
}

bunmg_status bunmg_fill_random(bunmg_mesh *mesh, bunmg_matrix *m, int32_t kind, uint64_t seed) {
  bunmg_status st = bunmg_mesh_enter(mesh, "fill_random");
  if (st != BUNMG_OK) return st;
  st = fill(mesh, m, kind, seed);
  if (st != BUNMG_OK) bunmg_error_prefix("fill_random: ");
  bunmg_mesh_leave(mesh);
  return st;
}
