/* bunmg's own checks of a solver's results, independent of its info: the numbers that must hold
 * for any correct answer, each O(N). */
#include <math.h>

#include "core/conventions.h"
#include "routines/routines.h"

/* Real part and imaginary part of element k of a host array of dtype. */
static double real_of(int32_t dtype, const void *p, int64_t k) {
  size_t step = bunmg_dtype_is_complex(dtype) ? 2 : 1;
  return bunmg_dtype_real_size(dtype) == 4 ? ((const float *)p)[(size_t)k * step] : ((const double *)p)[(size_t)k * step];
}

static double imag_of(int32_t dtype, const void *p, int64_t k) {
  if (!bunmg_dtype_is_complex(dtype)) return 0.0;
  return bunmg_dtype_real_size(dtype) == 4 ? ((const float *)p)[2 * (size_t)k + 1] : ((const double *)p)[2 * (size_t)k + 1];
}

static double epsilon_of(int32_t dtype) { return bunmg_dtype_real_size(dtype) == 4 ? 0x1p-23 : 0x1p-52; }

/* A Cholesky factor's diagonal entry: real (up to rounding), finite and positive. */
static int good_pivot(int32_t dtype, const void *diagonal, int64_t k) {
  double re = real_of(dtype, diagonal, k), im = imag_of(dtype, diagonal, k);
  return isfinite(re) && isfinite(im) && re > 0 && fabs(im) <= 16 * epsilon_of(dtype) * re;
}

bunmg_status bunmg_verify_factor(int32_t dtype, const void *diagonal, int64_t n, int64_t info) {
  if (info < 0) return bunmg_info_status(BUNMG_INFO_POTRF, info);
  /* A factorization stops at the first minor that is not positive definite and leaves its pivot
   * there (non-positive or NaN): the first bad pivot names it, whatever info says (cuSOLVER's
   * can be off by one at block edges, or 0 for the last minor). */
  for (int64_t k = 0; k < n; k++)
    if (!good_pivot(dtype, diagonal, k)) return bunmg_not_positive_definite(k + 1);
  return info > 0 ? bunmg_not_positive_definite(info) : BUNMG_OK;
}

bunmg_status bunmg_verify_inverse(int32_t dtype, const void *diagonal, int64_t n) {
  for (int64_t k = 0; k < n; k++) {
    double re = real_of(dtype, diagonal, k);
    if (!(isfinite(re) && re > 0))
      return bunmg_fail_at(BUNMG_SINGULAR, k + 1, -1,
                           "the inverse's diagonal element %lld is %g, not finite and positive: A is too close to "
                           "singular for %s arithmetic",
                           (long long)k, re, bunmg_dtype_name(dtype));
  }
  return BUNMG_OK;
}

bunmg_status bunmg_verify_lu(int32_t dtype, const void *diagonal, int64_t n, int64_t info) {
  if (info < 0) return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "the LU factorization rejected argument %lld", (long long)-info);
  for (int64_t k = 0; k < n; k++) {
    double re = real_of(dtype, diagonal, k), im = imag_of(dtype, diagonal, k);
    if (!isfinite(re) || !isfinite(im))
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, k + 1, -1,
                           "U[%lld][%lld] of A's LU factorization is not finite although A is: A's entries are too "
                           "large for %s arithmetic",
                           (long long)k, (long long)k, bunmg_dtype_name(dtype));
    if (re == 0 && im == 0)
      return bunmg_fail_at(BUNMG_SINGULAR, k + 1, -1,
                           "A is singular: pivot %lld of its LU factorization with partial pivoting (U[%lld][%lld]) is "
                           "exactly zero",
                           (long long)k + 1, (long long)k, (long long)k);
  }
  return info > 0 ? bunmg_fail_at(BUNMG_SINGULAR, info, -1, "A is singular: the LU factorization found pivot %lld zero",
                                  (long long)info)
                  : BUNMG_OK;
}

bunmg_status bunmg_verify_eigenvalues(int32_t dtype, const void *w, int64_t n) {
  int single = bunmg_dtype_real_size(dtype) == 4;
  double previous = -INFINITY, scale = 0;
  for (int64_t k = 0; k < n; k++) {
    double v = fabs(single ? ((const float *)w)[k] : ((const double *)w)[k]);
    if (v > scale) scale = v;
  }
  /* Ascending up to rounding: clustered eigenvalues may come back a few ulps out of order. */
  double slack = 64 * epsilon_of(dtype) * scale;
  for (int64_t k = 0; k < n; k++) {
    double v = single ? ((const float *)w)[k] : ((const double *)w)[k];
    if (!isfinite(v))
      return bunmg_fail_at(BUNMG_NO_CONVERGENCE, k, -1,
                           "the eigensolver returned a non-finite eigenvalue (w[%lld] is %s); A is finite, so its "
                           "entries are too large for %s arithmetic",
                           (long long)k, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", bunmg_dtype_name(dtype));
    if (v < previous - slack)
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, k, -1,
                           "the eigensolver returned eigenvalues out of order (w[%lld] = %g < w[%lld] = %g)",
                           (long long)k, v, (long long)k - 1, previous);
    previous = v;
  }
  return BUNMG_OK;
}

bunmg_status bunmg_verify_singular_values(int32_t dtype, const void *s, int64_t n) {
  int single = bunmg_dtype_real_size(dtype) == 4;
  double largest = n > 0 ? fabs(single ? ((const float *)s)[0] : ((const double *)s)[0]) : 0;
  double slack = 64 * epsilon_of(dtype) * largest, previous = INFINITY;
  for (int64_t k = 0; k < n; k++) {
    double v = single ? ((const float *)s)[k] : ((const double *)s)[k];
    if (!isfinite(v) || v < 0)
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, k, -1, "the SVD returned s[%lld] = %g, not finite and non-negative",
                           (long long)k, v);
    if (v > previous + slack)
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, k, -1,
                           "the SVD returned singular values out of order (s[%lld] = %g > s[%lld] = %g)", (long long)k, v,
                           (long long)k - 1, previous);
    previous = v;
  }
  return BUNMG_OK;
}

bunmg_status bunmg_verify_solution(int32_t dtype, const void *x, int64_t n, int64_t nrhs) {
  for (int64_t k = 0; k < n * nrhs; k++)
    if (!isfinite(real_of(dtype, x, k)) || !isfinite(imag_of(dtype, x, k)))
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, k, -1,
                           "X[%lld][%lld] is not finite although A's factor is valid: A is too ill-conditioned "
                           "for %s arithmetic",
                           (long long)(k % n), (long long)(k / n), bunmg_dtype_name(dtype));
  return BUNMG_OK;
}

int64_t bunmg_falsified_info(bunmg_mesh *mesh, int64_t info) {
  int64_t fake = bunmg_fault_take(mesh, BUNMG_FAULT_FACTOR_INFO);
  return fake >= 0 ? fake : info;
}
