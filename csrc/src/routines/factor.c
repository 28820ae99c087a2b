/* Cholesky factors as handles: made by bunmg_cholesky on the chosen path, then solved with, asked
 * for log det, or turned into the inverse. Every call takes A's descriptor again: the factor
 * refuses (DISPOSED) a matrix that is not the one it factored or that changed since (its
 * generation moved on), so a stale factor can never give another matrix's answers. */
#include <stdlib.h>
#include <string.h>

#include "routines/routines.h"

struct bunmg_factor {
  bunmg_mesh *mesh;
  int32_t path, dtype;
  int64_t n, tile;
  uint64_t generation;             /* A's when factored */
  void *shards[BUNMG_MAX_DEVICES]; /* A's buffers when factored */
  void *dense;                     /* single path: the factor, a mesh allocation on position 0 */
  int32_t consumed;                /* inverse() ran */
};

bunmg_status bunmg_cholesky(bunmg_mesh *mesh, bunmg_matrix *a, bunmg_options *options, bunmg_factor **out) {
  bunmg_options defaults;
  options = bunmg_options_or_default(options, &defaults);
  bunmg_call call;
  bunmg_status st = bunmg_call_begin(&call, mesh, a, "cholesky", BUNMG_ROUTINE_POTRS, options, 1);
  if (st != BUNMG_OK) return st;
  bunmg_factor *f = NULL;
  if (!out) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "factor output is NULL");
  else if (!(f = calloc(1, sizeof *f))) st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a factor");
  if (st == BUNMG_OK && call.path == BUNMG_PATH_SINGLE) {
    st = bunmg_single_cholesky(mesh, a, 1, &f->dense);
    if (bunmg_call_falls_back(&call, st)) st = bunmg_call_fall_back(&call, st);
  }
  if (st == BUNMG_OK && call.path == BUNMG_PATH_MULTI) st = bunmg_multi_cholesky(mesh, a, call.tile, NULL);
  if (st == BUNMG_OK) {
    f->mesh = mesh;
    f->path = call.path;
    f->dtype = a->dtype;
    f->n = a->rows;
    f->tile = call.path == BUNMG_PATH_MULTI ? call.tile : 0;
    f->generation = a->generation;
    memcpy(f->shards, a->shards, sizeof f->shards);
    *out = f;
  } else {
    free(f);
  }
  return bunmg_call_end(&call, options, st);
}

/* The factor still stands for `a`. */
static bunmg_status usable(const bunmg_factor *f, const bunmg_matrix *a) {
  if (f->consumed) return bunmg_fail(BUNMG_DISPOSED, "the Cholesky factor was consumed by inverse()");
  bunmg_status st = bunmg_check_matrix(f->mesh, a, 1); /* the whole descriptor, before anything moves */
  if (st != BUNMG_OK) return st;
  if (a->rows != f->n || a->dtype != f->dtype || memcmp(a->shards, f->shards, sizeof f->shards) != 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "this matrix is not the one the Cholesky factor was made from");
  if (a->generation != f->generation)
    return bunmg_fail(BUNMG_DISPOSED,
                      "the Cholesky factor is stale: its matrix changed after it was factored (generation %llu, now %llu)",
                      (unsigned long long)f->generation, (unsigned long long)a->generation);
  if (f->path == BUNMG_PATH_MULTI && (a->layout != BUNMG_LAYOUT_CYCLIC || a->tile != f->tile))
    return bunmg_fail(BUNMG_DISPOSED, "the Cholesky factor's matrix left the cyclic layout of tile %lld, so it no "
                                      "longer holds the factor",
                      (long long)f->tile);
  return BUNMG_OK;
}

static bunmg_status enter(bunmg_factor *f, const bunmg_matrix *a, const char *call) {
  if (!f) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: factor is NULL", call);
  bunmg_status st = bunmg_mesh_enter(f->mesh, call);
  if (st == BUNMG_OK && (st = usable(f, a)) != BUNMG_OK) {
    bunmg_error_prefix("%s: ", call);
    bunmg_mesh_leave(f->mesh);
  }
  return st;
}

static bunmg_status leave(bunmg_factor *f, bunmg_status st, const char *call) {
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", call);
  bunmg_mesh_leave(f->mesh);
  return st;
}

bunmg_status bunmg_factor_solve(bunmg_factor *f, const bunmg_matrix *a, void *b, int64_t nrhs) {
  bunmg_status st = enter(f, a, "factor_solve");
  if (st != BUNMG_OK) return st;
  st = bunmg_check_rhs(f->dtype, b, f->n, nrhs);
  if (st == BUNMG_OK)
    st = f->path == BUNMG_PATH_SINGLE ? bunmg_single_solve(f->mesh, f->dense, f->n, f->dtype, b, nrhs)
                                      : bunmg_multi_solve(f->mesh, a, b, nrhs);
  return leave(f, st, "factor_solve");
}

bunmg_status bunmg_factor_logdet(bunmg_factor *f, const bunmg_matrix *a, double *out) {
  bunmg_status st = enter(f, a, "factor_logdet");
  if (st != BUNMG_OK) return st;
  if (!out) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "output is NULL");
  else
    st = f->path == BUNMG_PATH_SINGLE ? bunmg_single_logdet(f->mesh, f->dense, f->n, f->dtype, out)
                                      : bunmg_multi_logdet(f->mesh, a, out);
  return leave(f, st, "factor_logdet");
}

bunmg_status bunmg_factor_inverse(bunmg_factor *f, bunmg_matrix *a) {
  bunmg_status st = enter(f, a, "factor_inverse");
  if (st != BUNMG_OK) return st;
  if (f->path == BUNMG_PATH_SINGLE && a->layout != BUNMG_LAYOUT_ROWS)
    return leave(f, bunmg_fail(BUNMG_INVALID_ARGUMENT, "A must be in row layout to receive the inverse"), "factor_inverse");
  /* The inversion overwrites the factor, whatever happens after it. */
  f->consumed = 1;
  st = f->path == BUNMG_PATH_SINGLE ? bunmg_single_inverse(f->mesh, f->dense, a) : bunmg_multi_inverse(f->mesh, a);
  if (f->dense) {
    bunmg_mesh_release(f->mesh, BUNMG_SINGLE_POSITION, f->dense);
    f->dense = NULL;
  }
  return leave(f, st, "factor_inverse");
}

bunmg_status bunmg_factor_info(const bunmg_factor *f, int32_t *path, int64_t *tile) {
  bunmg_clear_error();
  if (!f || !path || !tile) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "factor_info: NULL argument");
  *path = f->path;
  *tile = f->tile;
  return BUNMG_OK;
}

bunmg_status bunmg_factor_destroy(bunmg_factor *f) {
  if (!f) return BUNMG_OK;
  if (f->dense) {
    bunmg_status st = bunmg_mesh_enter(f->mesh, "factor_destroy");
    if (st != BUNMG_OK) return st;
    bunmg_mesh_release(f->mesh, BUNMG_SINGLE_POSITION, f->dense);
    bunmg_mesh_leave(f->mesh);
  }
  free(f);
  return BUNMG_OK;
}
