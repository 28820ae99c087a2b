/* potri on the grid: p?potrf, p?potri (the lower triangle of G^-1, G = conj(A) the engine's view),
 * the upper triangle from the conjugate transpose (p?tranc), the diagonal made real; back to rows,
 * that is A^-1 row-major. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "routines/routines.h"

static bunmg_status task_potrf(void *p) {
  mp_call *c = p;
  return bunmg_pxpotrf(c->dtype, c->work, &c->desc, &c->info);
}

/* The full Hermitian inverse in work: its lower triangle from p?potri, the strict upper one from
 * the conjugate transpose in z. */
static bunmg_status task_potri(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxpotri(c->dtype, c->work, &c->desc, &c->info);
  if (st == BUNMG_OK && c->info != 0) return bunmg_info_status(BUNMG_INFO_POTRI, c->info);
  if (st == BUNMG_OK) st = bunmg_pxtranc(c->dtype, c->work, &c->desc, c->z, &c->desc);
  if (st != BUNMG_OK) return st;
  int cplx = bunmg_dtype_is_complex(c->dtype);
  for (int64_t lj = 0; lj < c->local_cols; lj++) {
    int64_t j = bunmg_mp_call_col(c, lj);
    for (int64_t li = 0; li < c->local_rows; li++) {
      int64_t i = bunmg_mp_call_row(c, li);
      size_t at = (size_t)(lj * c->lld + li) * c->esize;
      if (i < j) memcpy(c->work + at, c->z + at, c->esize);
      else if (i == j && cplx) memset(c->work + at + c->esize / 2, 0, c->esize / 2); /* Hermitian: real */
    }
  }
  return BUNMG_OK;
}

bunmg_status bunmg_mp_potri(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_POTRI, options, NULL, 0, 0, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "potri", local, &q);
  void *diagonal = NULL;
  if (st == BUNMG_OK) {
    call->z = bunmg_mp_call_matrix(call, "the inverse's transpose");
    diagonal = malloc((size_t)call->n * call->esize);
    st = bunmg_mp_call_agree(call, !call->z ? BUNMG_OUT_OF_MEMORY
                                   : diagonal ? BUNMG_OK
                                              : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a diagonal"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = bunmg_mp_call_engine(call, task_potrf, call, "p?potrf");
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->work, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_factor(call->dtype, diagonal, call->n, call->info));
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, task_potri, call, "p?potri"));
  if (st == BUNMG_OK) st = bunmg_mp_call_diagonal(call, call->work, diagonal);
  if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_inverse(call->dtype, diagonal, call->n));
  if (st == BUNMG_OK) st = bunmg_mp_call_to_rows(call);
  if (st == BUNMG_OK) bunmg_mp_call_store(call);
  if (!mp || mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_end(call, st);
}
