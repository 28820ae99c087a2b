/* syevd on the grid: the engine's eigensolver, checked on probes, then the vectors turned into the
 * user's convention in the grid layout and brought back to rows. The engine's view is G = conj(A), whose eigenvectors
 * are conj(v_k): row k of A (view column k) becomes v_k with rows, A[i][k] = v_k[i] (the view is
 * Z^H) with columns. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

/* Falsified results (bunmg_mp_debug_inject), for the tests of the checks: this rank's part of
 * z, the last of w (eigenvalues or singular values). */
void bunmg_mp_skew_eigen(mp_call *c) {
  const double by = 1 + 0x1p-7;
  int single = bunmg_dtype_real_size(c->dtype) == 4;
  if (bunmg_mp_fault_fires(c->mp, BUNMG_MP_FAULT_SKEW_VECTORS)) c->engine->skew_vectors(c, by);
  if (bunmg_mp_fault_fires(c->mp, BUNMG_MP_FAULT_SKEW_VALUES)) {
    if (single) ((float *)c->w)[c->cols - 1] *= (float)by;
    else ((double *)c->w)[c->cols - 1] *= by;
  }
}

/* What syevd and sygvd do once the eigensolver is done: the falsified results of the tests, the
 * eigenvalues' checks and the probes' (`probes`, the engine's task that measures them), then with
 * vectors A in the user's convention, and w. */
bunmg_status bunmg_mp_eigen_finish(mp_call *call, bunmg_mp_task probes, const char *probes_name, int32_t flags,
                                   void *w) {
  const mp_engine *e = call->engine;
  bunmg_mp_skew_eigen(call);
  bunmg_status st = bunmg_mp_call_agree(call, bunmg_verify_eigenvalues(call->dtype, call->w, call->n));
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, probes, call, probes_name);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_probes_verdict(call));
  if (st == BUNMG_OK && (flags & BUNMG_EIG_VECTORS)) {
    st = bunmg_mp_call_engine(call, e->convention, call, e->names.convention);
    if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(call);
    if (st == BUNMG_OK) bunmg_mp_call_store(call);
  }
  if (st == BUNMG_OK) memcpy(w, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype));
  return st;
}

bunmg_status bunmg_mp_syevd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, int32_t flags,
                            void *w) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_SYEVD, options, NULL, 0, flags, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "syevd", local, &q);
  if (st == BUNMG_OK) {
    if (!w) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "w is NULL");
    else if (!(call->z = call->engine->matrix(call, "the eigenvectors"))) st = BUNMG_OUT_OF_MEMORY;
    else if (!(call->w = malloc((size_t)call->n * bunmg_dtype_real_size(call->dtype))))
      st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the eigenvalues");
    else st = call->engine->probes_create(call);
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  const mp_engine *e = call ? call->engine : NULL;
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, e->probes_image, call, e->names.image);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, e->syevd, call, e->names.syevd));
  /* Every rank takes grid position (0, 0)'s eigenvalues: with one block (N <= NB) on several
   * ranks, ScaLAPACK 2.2 returned them right there and unsorted elsewhere. The probes below judge
   * them with the vectors. */
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype), 0,
                                          "the broadcast of the eigenvalues");
  if (st == BUNMG_OK) st = bunmg_mp_eigen_finish(call, e->probes_check, e->names.check, flags, w);
  return bunmg_mp_call_end(call, st);
}
