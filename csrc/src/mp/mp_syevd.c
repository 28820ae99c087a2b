/* syevd on the grid: p?syevd / p?heevd (which compute vectors always: ScaLAPACK has no values-only
 * divide and conquer), checked on probes, then the vectors turned into the user's convention in
 * the grid layout and brought back to rows. The engine's view is G = conj(A), whose eigenvectors
 * are conj(v_k): row k of A (view column k) becomes v_k with rows, A[i][k] = v_k[i] (the view is
 * Z^H) with columns. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

static bunmg_status task_syevd(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxsyevd(c->dtype, c->work, &c->desc, c->w, c->z, &c->desc, &c->info);
  return st == BUNMG_OK ? bunmg_info_status(BUNMG_INFO_SYEVD, c->info) : st;
}

/* The eigenvectors into work in the user's convention. */
bunmg_status bunmg_mp_eigenvector_convention(void *p) {
  mp_call *c = p;
  if (!(c->flags & BUNMG_EIG_ROWS)) return bunmg_pxtranc(c->dtype, c->z, &c->desc, c->work, &c->desc);
  size_t count = (size_t)(c->lld * c->local_cols);
  memcpy(c->work, c->z, count * c->esize);
  if (c->dtype == BUNMG_COMPLEX64)
    for (size_t k = 0; k < count; k++) ((float *)c->work)[2 * k + 1] = -((float *)c->work)[2 * k + 1];
  else if (c->dtype == BUNMG_COMPLEX128)
    for (size_t k = 0; k < count; k++) ((double *)c->work)[2 * k + 1] = -((double *)c->work)[2 * k + 1];
  return BUNMG_OK;
}

/* Falsified results (bunmg_mp_debug_inject), for the tests of the checks. */
void bunmg_mp_skew_eigen(mp_call *c) {
  const double by = 1 + 0x1p-7;
  int single = bunmg_dtype_real_size(c->dtype) == 4;
  if (bunmg_mp_fault_fires(c->mp, BUNMG_MP_FAULT_SKEW_VECTORS)) {
    size_t reals = (size_t)(c->lld * c->local_cols) * (bunmg_dtype_is_complex(c->dtype) ? 2 : 1);
    for (size_t k = 0; k < reals; k++)
      if (single) ((float *)c->z)[k] *= (float)by;
      else ((double *)c->z)[k] *= by;
  }
  if (bunmg_mp_fault_fires(c->mp, BUNMG_MP_FAULT_SKEW_VALUES)) {
    if (single) ((float *)c->w)[c->cols - 1] *= (float)by;
    else ((double *)c->w)[c->cols - 1] *= by;
  }
}

bunmg_status bunmg_mp_syevd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, int32_t flags,
                            void *w) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_SYEVD, options, NULL, 0, flags, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "syevd", local, &q);
  if (st == BUNMG_OK) {
    if (!w) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "w is NULL");
    else if (!(call->z = bunmg_mp_call_matrix(call, "the eigenvectors"))) st = BUNMG_OUT_OF_MEMORY;
    else if (!(call->w = malloc((size_t)call->n * bunmg_dtype_real_size(call->dtype))))
      st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the eigenvalues");
    else st = bunmg_mp_probes_create(call);
    st = bunmg_mp_call_agree(call, st);
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, bunmg_mp_probes_image, call, "p?hemm (the probes' image)");
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, task_syevd, call, "p?syevd"));
  /* Every rank takes grid position (0, 0)'s eigenvalues: with one block (N <= NB) on several
   * ranks, ScaLAPACK 2.2 returned them right there and unsorted elsewhere. The probes below judge
   * them with the vectors. */
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype), 0,
                                          "the broadcast of the eigenvalues");
  if (st == BUNMG_OK) bunmg_mp_skew_eigen(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_eigenvalues(call->dtype, call->w, call->n));
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, bunmg_mp_probes_check, call, "the eigenvectors' probes");
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_probes_verdict(call));
  if (st == BUNMG_OK && (flags & BUNMG_EIG_VECTORS)) {
    st = bunmg_mp_call_engine(call, bunmg_mp_eigenvector_convention, call, "p?tranc (the eigenvectors' convention)");
    if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(call);
    if (st == BUNMG_OK) bunmg_mp_call_store(call);
  }
  if (st == BUNMG_OK) memcpy(w, call->w, (size_t)call->n * bunmg_dtype_real_size(call->dtype));
  return bunmg_mp_call_end(call, st);
}
