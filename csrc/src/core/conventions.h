/* The conventions of the row-major view, shared by the multi path (routines/multi.c) and the
 * single path (routines/single.c). A row-major Hermitian A read column-major is conj(A); the
 * solvers work on its lower triangle (A's upper one in row-major terms). So:
 *  - a row-major right-hand side goes in transposed and conjugated, and X comes back the same way;
 *  - potri's triangle is A^-1's upper triangle in row-major terms: mirror it down, and clear the
 *    rounding-level imaginary parts a complex potri leaves on the diagonal;
 *  - eigenvectors come back as V^T row-major, conjugated for complex A. */
#ifndef BUNMG_CONVENTIONS_H
#define BUNMG_CONVENTIONS_H

#include "core/internal.h"

/* What a solver's info > 0 means. */
typedef enum {
  BUNMG_INFO_POTRF, /* leading minor not positive definite */
  BUNMG_INFO_POTRS, /* never positive */
  BUNMG_INFO_POTRI, /* zero pivot */
  BUNMG_INFO_SYEVD  /* no convergence */
} bunmg_info_kind;

/* The status for a solver's info: OK for 0, the routine's numerical failure for > 0 (index =
 * info), SOLVER_ERROR naming the rejected parameter for < 0. */
bunmg_status bunmg_info_status(bunmg_info_kind kind, int64_t info);
bunmg_status bunmg_not_positive_definite(int64_t minor);

/* dst (cols x rows, row-major) = src^T (rows x cols, row-major), conjugated for complex: maps a
 * row-major right-hand side onto the column-major view of conj(A), and X back. */
void bunmg_transpose_conj(int32_t dtype, const void *src, void *dst, int64_t rows, int64_t cols);

/* log det A = 2 sum log Re L_ii from a host copy of the factor's diagonal (n elements). */
double bunmg_logdet_of_diagonal(int32_t dtype, const void *diagonal, int64_t n);

/* The diagonal of a (row layout) to (store = 0) or from (store = 1) a host array of N elements. */
bunmg_status bunmg_row_diagonal(bunmg_mesh *mesh, const bunmg_matrix *a, void *host, int store);

/* After potri and the return to row layout: the full Hermitian inverse from its upper triangle. */
bunmg_status bunmg_complete_inverse(bunmg_mesh *mesh, const bunmg_matrix *a);

/* The BUNMG_FIX_* mode that turns the solver's eigenvectors, read row-major, into the user's
 * convention (columns, or rows with BUNMG_EIG_ROWS). */
int32_t bunmg_eigenvector_fixup(int32_t dtype, int32_t flags);
/* Eigenvectors back in row layout: to the user's convention. */
bunmg_status bunmg_fix_eigenvectors(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t flags);

#endif
