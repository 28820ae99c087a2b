/* sygvd on the grid, composed of the engine's steps (ScaLAPACK has no p?sygvd): the factor L of
 * B (potrf_second), the reduction C = L^-1 A L^-H and its scale (sygst: IBTYPE 1), the
 * eigensolver of C (syevd), then the vectors back-transformed, V = L^-H Y (trsm). The engine's
 * views are conj(A) and conj(B), whose eigenvectors are conj(v_k), turned into the user's
 * convention as syevd's are. Copies of both views, taken before the solver, serve the probes
 * (B-orthogonality and residual). */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

static void scale_values(mp_call *c, double scale) {
  if (scale == 1) return;
  for (int64_t k = 0; k < c->n; k++)
    if (bunmg_dtype_real_size(c->dtype) == 4) ((float *)c->w)[k] *= (float)scale;
    else ((double *)c->w)[k] *= scale;
}

/* The buffers of the call: vectors, eigenvalues, A's and B's copies, probes. */
static bunmg_status allocate(mp_call *call, const void *w) {
  if (!w) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "w is NULL");
  const mp_engine *e = call->engine;
  if (!(call->z = e->matrix(call, "the eigenvectors"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->a0 = e->matrix(call, "a copy of A"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->b0 = e->matrix(call, "a copy of B"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->w = malloc((size_t)call->n * bunmg_dtype_real_size(call->dtype))))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the eigenvalues");
  return e->probes_create(call);
}

bunmg_status bunmg_mp_sygvd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_matrix *b_local,
                            const bunmg_mp_options *options, int32_t flags, void *w) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {MP_SYGVD, options, NULL, 0, flags, b_local};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "sygvd", local, &q);
  void *diagonal = NULL;
  if (st == BUNMG_OK) {
    diagonal = malloc((size_t)call->n * call->esize);
    st = bunmg_mp_call_agree(call, diagonal ? allocate(call, w) : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, e->potrf_second, call, e->names.potrf_second);
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->second_matrix, diagonal);
  if (st == BUNMG_OK) {
    st = bunmg_verify_factor(call->dtype, diagonal, call->n, call->info);
    if (st != BUNMG_OK) bunmg_error_prefix("B: ");
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->sygst, call, e->names.sygst));
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->syevd, call, e->names.syevd));
  /* position (0, 0)'s eigenvalues on every rank, as syevd takes them */
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype), 0,
                                          "the broadcast of the eigenvalues");
  if (st == BUNMG_OK) {
    scale_values(call, call->scale);
    st = bunmg_mp_call_engine(call, e->trsm, call, e->names.trsm);
  }
  if (st == BUNMG_OK) st = bunmg_mp_eigen_finish(call, e->probes_generalized, e->names.probes_generalized, flags, w);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
