/* Cholesky on the grid (the engine's potrf), solves with the factor (its potrs), potrs, and the
 * factor handle.
 * The factor is made from the call's copy of A, so A itself is never written. The engine sees
 * G = conj(A) (the column-major view of the row-major A): A X = B is G conj(X) = conj(B), so B
 * goes in conjugated and X comes back the same way. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "mp/mp_call.h"
#include "routines/routines.h"

/* The conjugate of element `from` (dtype) into `to`. */
static void conj_copy(int32_t dtype, char *to, const char *from, size_t esize) {
  memcpy(to, from, esize);
  if (dtype == BUNMG_COMPLEX64) ((float *)to)[1] = -((float *)to)[1];
  else if (dtype == BUNMG_COMPLEX128) ((double *)to)[1] = -((double *)to)[1];
}

/* The factorization of the call's matrix (grid layout) and its check: the factor's diagonal,
 * gathered on every rank, real, finite and positive, else NOT_POSITIVE_DEFINITE naming the first
 * minor that is not. logdet from the same diagonal. */
static bunmg_status factor(mp_call *call, double *logdet) {
  bunmg_status st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, call->engine->potrf, call, call->engine->names.potrf));
  if (st != BUNMG_OK) return st;
  void *diagonal = malloc((size_t)call->n * call->esize);
  st = diagonal ? bunmg_mp_call_diagonal(call, diagonal)
                : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the factor's diagonal");
  if (st == BUNMG_OK) {
    st = bunmg_verify_factor(call->dtype, diagonal, call->n, call->info);
    if (st == BUNMG_OK) *logdet = bunmg_logdet_of_diagonal(call->dtype, diagonal, call->n);
  }
  if (call->mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_agree(call, st);
}

/* X for rank 0's b (row-major N x nrhs) on every rank, written into each rank's b once X passed
 * its check everywhere. The call's matrix is the factor. */
static bunmg_status solve(mp_call *call, void *b, int64_t nrhs) {
  bunmg_mp *mp = call->mp;
  const mp_blacs *g = call->blacs;
  int64_t n = call->n, nb = call->block;
  size_t esize = call->esize, bytes = (size_t)(n * nrhs) * esize;
  int64_t lldb = bunmg_numroc(n, nb, g->prow, 0, g->prows), colsb = bunmg_numroc(nrhs, nb, g->pcol, 0, g->pcols);
  if (lldb < 1) lldb = 1;
  char *host = malloc(bytes), *x = calloc((size_t)(n * nrhs), esize);
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
      for (int64_t li = 0; li < call->local_rows; li++) {
        int64_t i = bunmg_l2g(li, nb, g->prow, g->prows), k = bunmg_l2g(lj, nb, g->pcol, g->pcols);
        conj_copy(call->dtype, call->b + (size_t)(lj * lldb + li) * esize, host + (size_t)(i * nrhs + k) * esize, esize);
      }
    st = bunmg_mp_call_engine(call, call->engine->potrs, call, call->engine->names.potrs);
  }
  if (st == BUNMG_OK) { /* X, column-major, from every rank's part: one rank holds each element */
    for (int64_t lj = 0; lj < colsb; lj++)
      for (int64_t li = 0; li < call->local_rows; li++) {
        int64_t i = bunmg_l2g(li, nb, g->prow, g->prows), k = bunmg_l2g(lj, nb, g->pcol, g->pcols);
        memcpy(x + (size_t)(k * n + i) * esize, call->b + (size_t)(lj * lldb + li) * esize, esize);
      }
    int64_t reals = n * nrhs * (bunmg_dtype_is_complex(call->dtype) ? 2 : 1);
    st = bunmg_mp_allreduce(mp, x, reals, bunmg_dtype_real_size(call->dtype) == 4 ? MP_FLOAT : MP_DOUBLE, MP_SUM,
                            "the gathering of X");
    if (st == BUNMG_OK) st = bunmg_mp_call_agree(call, bunmg_verify_solution(call->dtype, x, n, nrhs));
  }
  if (st == BUNMG_OK) bunmg_transpose_conj(call->dtype, x, b, nrhs, n); /* column-major conj(X) -> row-major X */
  if (mp->broken == BUNMG_OK) {
    free(host);
    free(x);
  }
  return st;
}

bunmg_status bunmg_mp_potrs(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, void *b,
                            int64_t nrhs) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_POTRS, options, b, nrhs, 0};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "potrs", local, &q);
  double logdet;
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = factor(call, &logdet);
  if (st == BUNMG_OK) st = solve(call, b, nrhs);
  return bunmg_mp_call_end(call, st);
}

bunmg_status bunmg_mp_cholesky(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                               bunmg_mp_factor **out) {
  bunmg_clear_error();
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_cholesky: factor output is NULL");
  *out = NULL;
  mp_call *call;
  mp_request q = {MP_CHOLESKY, options, NULL, 0, 0};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "cholesky", local, &q);
  bunmg_mp_factor *f = NULL;
  if (st == BUNMG_OK) {
    f = calloc(1, sizeof *f);
    st = bunmg_mp_call_agree(call, f ? BUNMG_OK : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a factor"));
  }
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = factor(call, &f->logdet);
  if (st == BUNMG_OK) {
    *f = (bunmg_mp_factor){mp, call->dtype, call->n, call->block, call->grid, call->blacs, call->desc, call->lld,
                           call->local_rows, call->local_cols, call->a, f->logdet};
    if (call->a == call->work) call->work = NULL; /* the factor's now */
    call->a = NULL;
    mp->factors++;
    *out = f;
  } else if (!mp || mp->broken == BUNMG_OK) {
    free(f);
  }
  return bunmg_mp_call_end(call, st);
}

bunmg_status bunmg_mp_factor_solve(bunmg_mp_factor *factor, void *b, int64_t nrhs) {
  bunmg_clear_error();
  mp_call *call;
  bunmg_status st = bunmg_mp_call_of_factor(&call, factor, "factor_solve");
  int64_t signature[] = {MP_SOLVE, call && factor ? factor->n : 0, nrhs};
  static const char *const fields[] = {"the routine", "N", "nrhs"};
  if (st == BUNMG_OK) {
    if (nrhs < 1 || nrhs > BUNMG_MAX_EXTENT) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be in 1..2^40, got %lld", (long long)nrhs);
    else if (!b) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "b is NULL (every rank receives X in its b)");
    else if (factor->mp->rank == 0) st = bunmg_check_finite_rhs(factor->dtype, b, factor->n, nrhs);
    st = bunmg_mp_agree(factor->mp, st, signature, fields, 3, "factor_solve");
  }
  if (st == BUNMG_OK) st = solve(call, b, nrhs);
  return bunmg_mp_call_end(call, st);
}

bunmg_status bunmg_mp_factor_logdet(bunmg_mp_factor *factor, double *out) {
  bunmg_clear_error();
  if (!factor || !out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_factor_logdet: NULL argument");
  *out = factor->logdet;
  return BUNMG_OK;
}

bunmg_status bunmg_mp_factor_destroy(bunmg_mp_factor *factor) {
  bunmg_clear_error();
  if (!factor) return BUNMG_OK;
  bunmg_mp *mp = factor->mp;
  bunmg_status st = bunmg_mp_enter(mp);
  if (st != BUNMG_OK && mp->broken == BUNMG_OK) { /* busy */
    bunmg_error_prefix("mp_factor_destroy: ");
    return st;
  }
  mp->factors--;
  if (st == BUNMG_OK) { /* broken: a worker abandoned in a solve may still read it */
    mp->engine->factor_free(factor);
    free(factor);
    bunmg_mp_exit(mp);
  }
  bunmg_clear_error();
  return BUNMG_OK;
}
