/* The row-major conventions shared by the multi and the single path: see conventions.h. */
#include "core/conventions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bunmg_status bunmg_not_positive_definite(int64_t minor) {
  return bunmg_fail_at(BUNMG_NOT_POSITIVE_DEFINITE, minor, -1,
                       "A is not positive definite: its leading minor of order %lld is not", (long long)minor);
}

bunmg_status bunmg_info_status(bunmg_info_kind kind, int64_t info) {
  static const char *const names[] = {"potrf", "potrs", "potri", "syevd"};
  if (info == 0) return BUNMG_OK;
  if (info < 0)
    return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "%s rejected parameter %lld", names[kind], (long long)-info);
  switch (kind) {
    case BUNMG_INFO_POTRF: return bunmg_not_positive_definite(info);
    case BUNMG_INFO_POTRI:
      return bunmg_fail_at(BUNMG_SINGULAR, info, -1, "the factor has a zero pivot at %lld", (long long)info);
    case BUNMG_INFO_SYEVD:
      return bunmg_fail_at(BUNMG_NO_CONVERGENCE, info, -1, "the eigensolver did not converge (info %lld)",
                           (long long)info);
    default:
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "%s returned info %lld", names[kind], (long long)info);
  }
}

void bunmg_transpose_conj(int32_t dtype, const void *src, void *dst, int64_t rows, int64_t cols) {
  size_t esize = bunmg_dtype_size(dtype);
  if (cols == 1 || rows == 1) memcpy(dst, src, (size_t)rows * (size_t)cols * esize); /* a vector: the same bytes */
  else
    for (int64_t r = 0; r < rows; r++)
      for (int64_t c = 0; c < cols; c++)
        memcpy((char *)dst + ((size_t)c * (size_t)rows + (size_t)r) * esize,
               (const char *)src + ((size_t)r * (size_t)cols + (size_t)c) * esize, esize);
  if (!bunmg_dtype_is_complex(dtype)) return;
  size_t count = (size_t)rows * (size_t)cols;
  if (dtype == BUNMG_COMPLEX64)
    for (size_t i = 0; i < count; i++) ((float *)dst)[2 * i + 1] = -((float *)dst)[2 * i + 1];
  else
    for (size_t i = 0; i < count; i++) ((double *)dst)[2 * i + 1] = -((double *)dst)[2 * i + 1];
}

double bunmg_logdet_of_diagonal(int32_t dtype, const void *diagonal, int64_t n) {
  size_t step = bunmg_dtype_size(dtype) / bunmg_dtype_real_size(dtype);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t k = (size_t)i * step; /* real part of L_ii */
    double l = bunmg_dtype_real_size(dtype) == 4 ? ((const float *)diagonal)[k] : ((const double *)diagonal)[k];
    sum += 2.0 * log(l);
  }
  return sum;
}

/* Element (i, i) sits on shard i / s at local row i % s, column i. */
bunmg_status bunmg_row_diagonal(bunmg_mesh *mesh, const bunmg_matrix *a, void *host, int store) {
  size_t esize = bunmg_dtype_size(a->dtype), n = (size_t)a->rows;
  int64_t s = bunmg_shard_rows(a->rows, mesh->ndev);
  for (int32_t d = 0; d < mesh->ndev; d++) {
    int64_t first = d * s, count = a->rows - first < s ? a->rows - first : s;
    if (count <= 0) break;
    char *dev_ptr = (char *)a->shards[d] + (size_t)first * esize;
    char *host_ptr = (char *)host + (size_t)first * esize;
    bunmg_status st = store ? mesh->ops->scatter_strided(mesh, d, dev_ptr, host_ptr, esize, (n + 1) * esize, (size_t)count)
                            : mesh->ops->gather_strided(mesh, d, host_ptr, dev_ptr, esize, (n + 1) * esize, (size_t)count);
    if (st != BUNMG_OK) return st;
  }
  return BUNMG_OK;
}

/* A Hermitian matrix has a real diagonal; a complex inverse has rounding-level imaginary parts
 * there, cleared in the same pass. */
bunmg_status bunmg_complete_inverse(bunmg_mesh *mesh, const bunmg_matrix *a) {
  int32_t mode = BUNMG_FIX_MIRROR_UPPER_TO_LOWER | (bunmg_dtype_is_complex(a->dtype) ? BUNMG_FIX_REAL_DIAGONAL : 0);
  return mesh->ops->fixup(mesh, a, mode);
}

/* V comes back column-major, i.e. V^T row-major, and for Hermitian A they are the conjugates of
 * conj(A)'s eigenvectors: transpose to columns (unless rows are wanted) and/or conjugate. */
int32_t bunmg_eigenvector_fixup(int32_t dtype, int32_t flags) {
  int32_t mode = (flags & BUNMG_EIG_ROWS) ? 0 : BUNMG_FIX_TRANSPOSE;
  return bunmg_dtype_is_complex(dtype) ? mode | BUNMG_FIX_CONJ : mode;
}

bunmg_status bunmg_fix_eigenvectors(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t flags) {
  int32_t mode = bunmg_eigenvector_fixup(a->dtype, flags);
  return mode ? mesh->ops->fixup(mesh, a, mode) : BUNMG_OK;
}
