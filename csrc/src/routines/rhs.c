/* Right-hand sides: B checked, mapped onto the column-major view of conj(A), X checked and mapped
 * back. b is written only with an X that passed its check. */
#include <stdlib.h>

#include "core/conventions.h"
#include "core/finite.h"
#include "routines/routines.h"

bunmg_status bunmg_check_rhs(int32_t dtype, const void *b, int64_t n, int64_t nrhs) {
  if (!b) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "B is NULL");
  if (nrhs < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "B needs nrhs >= 1, got %lld", (long long)nrhs);
  size_t bytes;
  if (__builtin_mul_overflow((size_t)n, (size_t)nrhs, &bytes) || __builtin_mul_overflow(bytes, bunmg_dtype_size(dtype), &bytes))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "B of %lld x %lld elements overflows the address space", (long long)n,
                      (long long)nrhs);
  return bunmg_check_finite_rhs(dtype, b, n, nrhs);
}

bunmg_status bunmg_solve_row_major(int32_t dtype, int64_t n, void *b, int64_t nrhs, bunmg_column_solve solve,
                                   void *context) {
  size_t bytes = (size_t)n * (size_t)nrhs * bunmg_dtype_size(dtype);
  char *columns = malloc(2 * bytes);
  if (!columns) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for B (2 x %zu bytes)", bytes);
  char *x = columns + bytes;
  bunmg_transpose_conj(dtype, b, columns, n, nrhs);
  int64_t info = 0;
  bunmg_status st = solve(context, columns, x, &info);
  if (st == BUNMG_OK && info != 0)
    st = bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "potrs returned info %lld", (long long)info);
  if (st == BUNMG_OK) st = bunmg_verify_solution(dtype, x, n, nrhs);
  if (st == BUNMG_OK) bunmg_transpose_conj(dtype, x, b, nrhs, n);
  free(columns);
  return st;
}
