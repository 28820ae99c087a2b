/* Finiteness checks of A, B and the eigenvalues: see finite.h. */
#include "core/finite.h"

#include <math.h>
#include <stdio.h>

static double component(int32_t dtype, const void *p, size_t k) {
  return bunmg_dtype_real_size(dtype) == 4 ? ((const float *)p)[k] : ((const double *)p)[k];
}

int64_t bunmg_first_nonfinite(int32_t dtype, const void *block, int64_t rows, int64_t ld, int64_t row0, int upper) {
  size_t parts = bunmg_dtype_is_complex(dtype) ? 2 : 1;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = upper ? row0 + r : 0; c < ld; c++) {
      size_t e = (size_t)(r * ld + c);
      for (size_t k = 0; k < parts; k++)
        if (!isfinite(component(dtype, block, e * parts + k))) return (int64_t)e;
    }
  return -1;
}

/* "NaN", "+Inf" or "-Inf", naming the part of a complex value that is not finite. */
static void describe(int32_t dtype, const void *element, char *out, size_t size) {
  int complex = bunmg_dtype_is_complex(dtype);
  size_t k = complex && isfinite(component(dtype, element, 0)) ? 1 : 0;
  double v = component(dtype, element, k);
  snprintf(out, size, "%s%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf",
           complex ? (k ? " in its imaginary part" : " in its real part") : "");
}

/* INVALID_ARGUMENT for element (i, j) of the N-column matrix `what`, whose value is at `element`
 * on the host. detail: index = i * N + j, device = pos. */
static bunmg_status refuse(int32_t dtype, const void *element, const char *what, int64_t i, int64_t j, int64_t n,
                           int32_t pos) {
  char value[48];
  describe(dtype, element, value, sizeof value);
  return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, i * n + j, pos, "%s[%lld][%lld] is %s: %s must be finite", what,
                       (long long)i, (long long)j, value, what);
}

/* Scans the blocks, then names the first offending element in global row order. */
static bunmg_status check_blocks(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t n, int32_t dtype) {
  int64_t found[BUNMG_MAX_DEVICES];
  bunmg_status st = mesh->ops->find_nonfinite(mesh, scans, count, n, dtype, found);
  for (int32_t i = 0; i < count && st == BUNMG_OK; i++) {
    if (found[i] < 0) continue;
    size_t esize = bunmg_dtype_size(dtype);
    unsigned char element[16];
    st = mesh->ops->copy(mesh, BUNMG_COPY_D2H, -1, element, scans[i].dev,
                         (const char *)scans[i].block + (size_t)found[i] * esize, esize);
    if (st == BUNMG_OK)
      return refuse(dtype, element, "A", scans[i].row0 + found[i] / n, found[i] % n, n, scans[i].dev);
  }
  return st;
}

bunmg_status bunmg_check_finite_matrix(bunmg_mesh *mesh, const bunmg_matrix *a) {
  bunmg_scan scans[BUNMG_MAX_DEVICES];
  int32_t count = 0;
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev);
  for (int32_t d = 0; d < mesh->ndev; d++) {
    int64_t rows = bunmg_shard_count(a->rows, mesh->ndev, d);
    if (rows > 0) scans[count++] = (bunmg_scan){d, a->shards[d], rows, d * s};
  }
  return check_blocks(mesh, scans, count, a->cols, a->dtype);
}

bunmg_status bunmg_check_finite_dense(bunmg_mesh *mesh, int32_t dev, const void *full, int64_t n, int32_t dtype) {
  bunmg_scan scan = {dev, full, n, 0};
  return check_blocks(mesh, &scan, 1, n, dtype);
}

bunmg_status bunmg_check_rhs(int32_t dtype, const void *b, int64_t n, int64_t nrhs) {
  bunmg_clear_error();
  if (!bunmg_dtype_size(dtype)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "check_rhs: unknown dtype %d", dtype);
  if (!b || n < 1 || nrhs < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "check_rhs: B needs data, N >= 1 and nrhs >= 1, got N %lld, nrhs %lld",
                      (long long)n, (long long)nrhs);
  int64_t e = bunmg_first_nonfinite(dtype, b, n, nrhs, 0, 0);
  return e < 0 ? BUNMG_OK
               : refuse(dtype, (const char *)b + (size_t)e * bunmg_dtype_size(dtype), "B", e / nrhs, e % nrhs, nrhs, -1);
}

bunmg_status bunmg_check_eigenvalues(int32_t dtype, const void *w, int64_t n) {
  size_t real = bunmg_dtype_real_size(dtype);
  for (int64_t k = 0; k < n; k++) {
    double v = real == 4 ? ((const float *)w)[k] : ((const double *)w)[k];
    if (!isfinite(v))
      return bunmg_fail_at(BUNMG_NO_CONVERGENCE, k, -1,
                           "the eigensolver returned a non-finite eigenvalue (w[%lld] is %s); A is finite, so its "
                           "entries are too large for %s arithmetic",
                           (long long)k, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", bunmg_dtype_name(dtype));
  }
  return BUNMG_OK;
}
