/* sygvd on the grid, composed (ScaLAPACK has no p?sygvd): p?potrf of B (L), p?sygst / p?hegst
 * (IBTYPE 1: C = L^-1 A L^-H and its SCALE), p?syevd / p?heevd of C, then the vectors
 * back-transformed, V = L^-H Y (p?trsm). The engine's views are conj(A) and conj(B), whose
 * eigenvectors are conj(v_k), turned into the user's convention as syevd's are. Copies of both
 * views, taken before the solver, serve the probes (B-orthogonality and residual). */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

typedef struct sygvd_state {
  mp_call *call;
  double scale;
} sygvd_state;

static bunmg_status task_potrf(void *p) {
  mp_call *c = p;
  return bunmg_pxpotrf(c->dtype, c->second_work, &c->desc, &c->info);
}

/* C = L^-1 A L^-H, then its eigenvalues into w and vectors into z. */
static bunmg_status task_reduce_solve(void *p) {
  sygvd_state *s = p;
  mp_call *c = s->call;
  bunmg_status st = bunmg_pxsygst(c->dtype, c->work, &c->desc, c->second_work, &c->desc, &s->scale, &c->info);
  if (st != BUNMG_OK) return st;
  st = bunmg_pxsyevd(c->dtype, c->work, &c->desc, c->w, c->z, &c->desc, &c->info);
  return st == BUNMG_OK ? bunmg_info_status(BUNMG_INFO_SYEVD, c->info) : st;
}

static bunmg_status task_back_transform(void *p) {
  mp_call *c = p;
  return bunmg_pxtrsm_lower_adjoint(c->dtype, c->second_work, &c->desc, c->z, &c->desc);
}

static void scale_values(mp_call *c, double scale) {
  if (scale == 1) return;
  for (int64_t k = 0; k < c->n; k++)
    if (bunmg_dtype_real_size(c->dtype) == 4) ((float *)c->w)[k] *= (float)scale;
    else ((double *)c->w)[k] *= scale;
}

/* The buffers of the call: vectors, eigenvalues, A's and B's copies, probes. */
static bunmg_status allocate(mp_call *call, const void *w) {
  if (!w) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "w is NULL");
  if (!(call->z = bunmg_mp_call_matrix(call, "the eigenvectors"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->a0 = bunmg_mp_call_matrix(call, "a copy of A"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->b0 = bunmg_mp_call_matrix(call, "a copy of B"))) return BUNMG_OUT_OF_MEMORY;
  if (!(call->w = malloc((size_t)call->n * bunmg_dtype_real_size(call->dtype))))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the eigenvalues");
  return bunmg_mp_probes_create(call);
}

bunmg_status bunmg_mp_sygvd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_matrix *b_local,
                            const bunmg_mp_options *options, int32_t flags, void *w) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {MP_SYGVD, options, NULL, 0, flags, b_local};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "sygvd", local, &q);
  void *diagonal = NULL;
  sygvd_state *state = NULL;
  if (st == BUNMG_OK) {
    diagonal = malloc((size_t)call->n * call->esize);
    state = malloc(sizeof *state);
    st = diagonal && state ? allocate(call, w) : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) {
    size_t bytes = (size_t)(call->lld * call->local_cols) * call->esize;
    memcpy(call->a0, call->work, bytes);
    memcpy(call->b0, call->second_work, bytes);
    st = bunmg_mp_call_engine(call, task_potrf, call, "p?potrf (B)");
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->second_work, diagonal);
  if (st == BUNMG_OK) {
    st = bunmg_verify_factor(call->dtype, diagonal, call->n, call->info);
    if (st != BUNMG_OK) bunmg_error_prefix("B: ");
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) {
    *state = (sygvd_state){call, 1};
    st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, task_reduce_solve, state, "p?sygst and p?syevd"));
  }
  /* position (0, 0)'s eigenvalues on every rank, as syevd takes them */
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype), 0,
                                          "the broadcast of the eigenvalues");
  if (st == BUNMG_OK) {
    scale_values(call, state->scale);
    st = bunmg_mp_call_engine(call, task_back_transform, call, "p?trsm (the back-transformation)");
  }
  if (st == BUNMG_OK) bunmg_mp_skew_eigen(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_eigenvalues(call->dtype, call->w, call->n));
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, bunmg_mp_probes_check_generalized, call, "the eigenvectors' probes");
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_probes_verdict(call));
  if (st == BUNMG_OK && (flags & BUNMG_EIG_VECTORS)) {
    st = bunmg_mp_call_engine(call, bunmg_mp_eigenvector_convention, call, "p?tranc (the eigenvectors' convention)");
    if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(call);
    if (st == BUNMG_OK) bunmg_mp_call_store(call);
  }
  if (st == BUNMG_OK) memcpy(w, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype));
  if (!mp || mp->broken == BUNMG_OK) {
    free(diagonal);
    free(state);
  }
  return bunmg_mp_call_end(call, st);
}
