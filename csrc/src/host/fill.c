/* bunmg_fill_random and its host-memory implementation. */
#include "core/fill.h"
#include "core/internal.h"

void bunmg_fill_host(const bunmg_matrix *m, int32_t ndev, int32_t kind, uint64_t seed) {
  int64_t s = bunmg_shard_rows(m->rows, ndev);
  int complex_values = bunmg_dtype_is_complex(m->dtype), single = bunmg_dtype_real_size(m->dtype) == 4;
  int64_t width = complex_values ? 2 : 1;
  for (int64_t i = 0; i < m->rows; i++) {
    char *row = (char *)m->shards[i / s] + (size_t)(i % s) * (size_t)m->cols * bunmg_dtype_size(m->dtype);
    for (int64_t j = 0; j < m->cols; j++) {
      double re, im;
      bunmg_fill_element(kind, complex_values, seed, m->rows, i, j, &re, &im);
      if (single) {
        ((float *)row)[j * width] = (float)re;
        if (complex_values) ((float *)row)[j * width + 1] = (float)im;
      } else {
        ((double *)row)[j * width] = re;
        if (complex_values) ((double *)row)[j * width + 1] = im;
      }
    }
  }
}

static bunmg_status fill(bunmg_mesh *mesh, bunmg_matrix *m, int32_t kind, uint64_t seed) {
  if (kind != BUNMG_FILL_HPD && kind != BUNMG_FILL_UNIFORM)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown fill kind %d", kind);
  bunmg_status st = bunmg_check_matrix(mesh, m, kind == BUNMG_FILL_HPD);
  if (st == BUNMG_OK && m->layout != BUNMG_LAYOUT_ROWS)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "the matrix must be in row layout");
  if (st == BUNMG_OK && !mesh->ops->fill)
    st = bunmg_fail(BUNMG_UNSUPPORTED, "the %s backend cannot fill matrices", mesh->ops->name);
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
