/* Finiteness checks of A and B: see finite.h. */
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

/* The refusal for a scan's answer `found` (local row * n + column of a block on position dev
 * whose first row is global row row0; -1 = none: OK). */
static bunmg_status refuse_nonfinite(bunmg_mesh *mesh, int32_t dev, const void *block, int64_t found, int64_t row0,
                                     int64_t n, int32_t dtype) {
  if (found < 0) return BUNMG_OK;
  size_t esize = bunmg_dtype_size(dtype);
  unsigned char element[16];
  bunmg_status st = mesh->ops->copy(mesh, BUNMG_COPY_D2H, -1, element, dev, (const char *)block + (size_t)found * esize,
                                    esize);
  return st != BUNMG_OK ? st : refuse(dtype, element, "A", row0 + found / n, found % n, n, dev);
}

/* Scans the blocks, then names the first offending element in global row order. */
static bunmg_status check_blocks(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t n, int32_t dtype) {
  int64_t found[BUNMG_MAX_DEVICES];
  bunmg_status st = mesh->ops->find_nonfinite(mesh, scans, count, n, dtype, found);
  for (int32_t i = 0; i < count && st == BUNMG_OK; i++)
    st = refuse_nonfinite(mesh, scans[i].dev, scans[i].block, found[i], scans[i].row0, n, dtype);
  return st;
}

bunmg_status bunmg_check_finite_matrix(bunmg_mesh *mesh, const bunmg_matrix *a) {
  bunmg_scan scans[BUNMG_MAX_DEVICES] = {{0}};
  int32_t count = 0;
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev);
  for (int32_t d = 0; d < mesh->ndev; d++) {
    int64_t rows = bunmg_shard_count(a->rows, mesh->ndev, d);
    if (rows > 0) scans[count++] = (bunmg_scan){d, a->shards[d], rows, d * s};
  }
  return check_blocks(mesh, scans, count, a->cols, a->dtype);
}

bunmg_status bunmg_check_finite_rows(int32_t dtype, const char *name, const void *block, int64_t rows, int64_t n,
                                     int64_t row0, int upper) {
  int64_t e = bunmg_first_nonfinite(dtype, block, rows, n, row0, upper);
  return e < 0 ? BUNMG_OK
               : refuse(dtype, (const char *)block + (size_t)e * bunmg_dtype_size(dtype), name, row0 + e / n, e % n, n, -1);
}

bunmg_status bunmg_check_finite_rhs(int32_t dtype, const void *b, int64_t n, int64_t nrhs) {
  int64_t e = bunmg_first_nonfinite(dtype, b, n, nrhs, 0, 0);
  return e < 0 ? BUNMG_OK
               : refuse(dtype, (const char *)b + (size_t)e * bunmg_dtype_size(dtype), "B", e / nrhs, e % nrhs, nrhs, -1);
}
