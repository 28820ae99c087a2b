/* gesvd on the grid: the engine's gesvd of its view G = A^T (N x M, wide), G = U_G diag(s)
 * VT_G, so A = conj(U_G) diag(s) VT_G^T: A's thin U (M x N, row-major) has VT_G as its view, and
 * V's row-major view is U_G^H. The vectors are always computed, as the probes need them; with
 * BUNMG_EIG_VECTORS, VT_G goes back to A's rows and U_G^H (svd_v) to V's rows through a plan of
 * its own (the N x N row layout). */
#include <stdlib.h>
#include <string.h>

#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "mp/mp_transport.h"
#include "routines/routines.h"

typedef struct svd_state {
  char *staging;
  bunmg_grid_plan *plan; /* V's: the N x N row layout; call->v has its capacity */
} svd_state;

/* V's plan, buffers and descriptor, and the call's: copies of A, U_G, VT_G, s, probes. */
static bunmg_status allocate(mp_call *c, svd_state *s, const void *out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "s is NULL");
  bunmg_grid grid = c->grid;
  grid.n = c->cols;
  bunmg_status st = bunmg_grid_plan_create(&grid, 1, 0, &s->plan);
  if (st != BUNMG_OK) return st;
  size_t capacity = (size_t)s->plan->summary.capacity, staging = (size_t)s->plan->summary.staging;
  if (!(c->v = calloc(capacity, c->esize)) || !(s->staging = malloc((staging ? staging : 1) * c->esize)))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for V (%zu bytes)", capacity * c->esize);
  const mp_engine *e = c->engine;
  if (!(c->a0 = e->matrix(c, "a copy of A")) || !(c->z = e->matrix(c, "U")) || !(c->vt = e->matrix(c, "V^T")))
    return BUNMG_OUT_OF_MEMORY;
  if (!(c->w = malloc((size_t)c->cols * bunmg_dtype_real_size(c->dtype))))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the singular values");
  if ((st = bunmg_scalapack_desc(&c->desc_u, c->blacs, c->cols, c->cols, c->block, c->block, c->lld)) != BUNMG_OK) return st;
  return e->probes_create(c);
}

/* U_G^H (V's rows) and VT_G (A's U) from the engine (svd_v), back to the row layout, then into
 * v_local and A. */
static bunmg_status store(mp_call *c, svd_state *s, const bunmg_matrix *v_local) {
  bunmg_status st = bunmg_mp_call_engine(c, c->engine->svd_v, c, c->engine->names.svd_v);
  if (st == BUNMG_OK) st = bunmg_mp_execute(c->mp, s->plan, c->v, s->staging, c->esize, 1);
  if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(c);
  if (st != BUNMG_OK) return st;
  bunmg_mp_call_store(c);
  int64_t per = bunmg_ceil_div(c->cols, c->mp->size), first = (int64_t)c->mp->rank * per;
  int64_t rows = first >= c->cols ? 0 : c->cols - first < per ? c->cols - first : per;
  if (rows > 0) memcpy(v_local->shards[0], c->v, (size_t)(rows * c->cols) * c->esize);
  return BUNMG_OK;
}

bunmg_status bunmg_mp_gesvd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, int32_t flags,
                            void *s, bunmg_matrix *v_local) {
  bunmg_clear_error();
  mp_call *call;
  int vectors = (flags & BUNMG_EIG_VECTORS) != 0;
  mp_request q = {MP_GESVD, options, NULL, 0, flags, vectors ? v_local : NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "gesvd", local, &q);
  svd_state *state = NULL;
  if (st == BUNMG_OK) {
    state = calloc(1, sizeof *state);
    st = bunmg_mp_call_agree(call, state ? allocate(call, state, s) : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->gesvd, call, e->names.gesvd));
  size_t bytes = call ? (size_t)call->cols * bunmg_dtype_real_size(call->dtype) : 0;
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, call->w, bytes, 0, "the broadcast of the singular values");
  if (st == BUNMG_OK) bunmg_mp_skew_eigen(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_singular_values(call->dtype, call->w, call->cols));
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, e->probes_svd, call, e->names.probes_svd);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_probes_verdict(call));
  if (st == BUNMG_OK && vectors) st = store(call, state, v_local);
  if (st == BUNMG_OK) memcpy(s, call->w, bytes);
  if (state && mp->broken == BUNMG_OK) {
    free(state->staging);
    bunmg_grid_plan_destroy(state->plan);
    free(state);
  }
  return bunmg_mp_call_end(call, st);
}
