/* Cholesky on the grid (the engine's potrf), solves with the factor (its potrs), potrs, and the
 * factor handle. The factor is made from the call's copy of A, so A itself is never written. The
 * engine sees G = conj(A) (the column-major view of the row-major A): A X = B is G conj(X) = conj(B), so B
 * goes in conjugated and X comes back the same way. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "mp/mp_call.h"
#include "routines/routines.h"

/* The factorization of the call's matrix (grid layout) and its check: the factor's diagonal,
 * gathered on every rank, real, finite and positive, else NOT_POSITIVE_DEFINITE naming the first
 * minor that is not. logdet from the same diagonal. */
static bunmg_status factor(mp_call *call, double *logdet) {
  bunmg_status st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, call->engine->potrf, call, call->engine->names.potrf));
  if (st != BUNMG_OK) return st;
  void *diagonal = malloc((size_t)call->n * call->esize);
  st = diagonal ? bunmg_mp_call_diagonal(call, call->a, diagonal)
                : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the factor's diagonal");
  if (st == BUNMG_OK) {
    st = bunmg_verify_factor(call->dtype, diagonal, call->n, call->info);
    if (st == BUNMG_OK) *logdet = bunmg_logdet_of_diagonal(call->dtype, diagonal, call->n);
  }
  if (call->mp->broken == BUNMG_OK) free(diagonal);
  return bunmg_mp_call_agree(call, st);
}

bunmg_status bunmg_mp_potrs(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options, void *b,
                            int64_t nrhs) {
  bunmg_clear_error();
  mp_call *call;
  mp_request q = {BUNMG_ROUTINE_POTRS, options, b, nrhs, 0, NULL};
  bunmg_status st = bunmg_mp_call_begin(&call, mp, "potrs", local, &q);
  double logdet;
  if (st == BUNMG_OK) st = bunmg_mp_call_to_grid(call);
  if (st == BUNMG_OK) st = factor(call, &logdet);
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, call->engine->potrs, call->engine->names.potrs, 1, NULL);
  return bunmg_mp_call_end(call, st);
}

bunmg_status bunmg_mp_cholesky(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                               bunmg_mp_factor **out) {
  bunmg_clear_error();
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_cholesky: factor output is NULL");
  *out = NULL;
  mp_call *call;
  mp_request q = {MP_CHOLESKY, options, NULL, 0, 0, NULL};
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
  if (st == BUNMG_OK) st = bunmg_mp_call_solve(call, b, nrhs, call->engine->potrs, call->engine->names.potrs, 1, NULL);
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
