/* The solve step of potrs, getrs and gels (mp_call.h): rank 0's B broadcast and distributed, the
 * routine's task, X gathered on every rank, checked, then into every rank's b. */
#include <stdlib.h>
#include <string.h>

#include "mp/mp_call.h"
#include "routines/routines.h"

/* Element `from` (dtype) into `to`, conjugated when asked. */
static void copy_element(int32_t dtype, char *to, const char *from, size_t esize, int conjugate) {
  memcpy(to, from, esize);
  if (!conjugate) return;
  if (dtype == BUNMG_COMPLEX64) ((float *)to)[1] = -((float *)to)[1];
  else if (dtype == BUNMG_COMPLEX128) ((double *)to)[1] = -((double *)to)[1];
}

bunmg_status bunmg_mp_call_solve(mp_call *call, void *b, int64_t nrhs, bunmg_mp_task task, const char *what,
                                 int conjugate, bunmg_status (*check)(mp_call *call)) {
  bunmg_mp *mp = call->mp;
  const mp_blacs *g = call->blacs;
  int64_t n = call->n, xn = call->cols, nb = call->block; /* B's rows, X's rows */
  size_t esize = call->esize, bytes = (size_t)(n * nrhs) * esize;
  int64_t rowsb = bunmg_numroc(n, nb, g->prow, 0, g->prows), colsb = bunmg_numroc(nrhs, nb, g->pcol, 0, g->pcols);
  int64_t lldb = rowsb > 0 ? rowsb : 1;
  char *host = malloc(bytes), *x = calloc((size_t)(xn * nrhs), esize);
  call->nrhs = nrhs;
  call->b = calloc((size_t)(lldb * (colsb > 0 ? colsb : 1)), esize);
  bunmg_status st = host && x && call->b ? bunmg_scalapack_desc(&call->desc_b, g, n, nrhs, nb, nb, lldb)
                                         : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for B and X");
  st = bunmg_mp_call_agree(call, st);
  if (st == BUNMG_OK) {
    if (mp->rank == 0) memcpy(host, b, bytes);
    st = bunmg_mp_bcast(mp, host, bytes, 0, "the broadcast of B");
  }
  if (st == BUNMG_OK) {
    for (int64_t lj = 0; lj < colsb; lj++)
      for (int64_t li = 0; li < rowsb; li++) {
        int64_t i = bunmg_l2g(li, nb, g->prow, g->prows), k = bunmg_l2g(lj, nb, g->pcol, g->pcols);
        copy_element(call->dtype, call->b + (size_t)(lj * lldb + li) * esize, host + (size_t)(i * nrhs + k) * esize,
                     esize, conjugate);
      }
    st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, task, call, what));
    if (st == BUNMG_OK && check) st = check(call);
  }
  if (st == BUNMG_OK) { /* X, column-major, from every rank's part: one rank holds each element */
    for (int64_t lj = 0; lj < colsb; lj++)
      for (int64_t li = 0; li < rowsb; li++) {
        int64_t i = bunmg_l2g(li, nb, g->prow, g->prows), k = bunmg_l2g(lj, nb, g->pcol, g->pcols);
        if (i < xn)
          memcpy(x + (size_t)(k * xn + i) * esize, call->b + (size_t)(lj * lldb + li) * esize, esize);
      }
    int64_t reals = xn * nrhs * (bunmg_dtype_is_complex(call->dtype) ? 2 : 1);
    st = bunmg_mp_allreduce(mp, x, reals, bunmg_dtype_real_size(call->dtype) == 4 ? MP_FLOAT : MP_DOUBLE, MP_SUM,
                            "the gathering of X");
    if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_solution(call->dtype, x, xn, nrhs));
  }
  if (st == BUNMG_OK) /* column-major X (conjugated, for the Hermitian view) -> row-major X */
    for (int64_t i = 0; i < xn; i++)
      for (int64_t k = 0; k < nrhs; k++)
        copy_element(call->dtype, (char *)b + (size_t)(i * nrhs + k) * esize, x + (size_t)(k * xn + i) * esize, esize,
                     conjugate);
  if (mp->broken == BUNMG_OK) {
    free(host);
    free(x);
  }
  return st;
}
