/* Non-finite input is refused before anything moves (INVALID_ARGUMENT naming the element), and a
 * non-finite eigenvalue from a solver is reported instead of returned. The solvers read A's
 * upper triangle (row-major, diagonal included) only, so that is the part scanned. */
#ifndef BUNMG_FINITE_H
#define BUNMG_FINITE_H

#include "core/internal.h"

/* The first NaN or Inf (either part of a complex) in rows [0, rows) of a host row-major block of
 * row length ld; with `upper`, row r is read from column row0 + r on. Local row * ld + column,
 * or -1. */
int64_t bunmg_first_nonfinite(int32_t dtype, const void *block, int64_t rows, int64_t ld, int64_t row0, int upper);

/* A (row layout): its upper triangle must be finite. */
bunmg_status bunmg_check_finite_matrix(bunmg_mesh *mesh, const bunmg_matrix *a);
/* The same for a dense row-major N x N matrix on position dev. */
bunmg_status bunmg_check_finite_dense(bunmg_mesh *mesh, int32_t dev, const void *full, int64_t n, int32_t dtype);
/* n host eigenvalues of the real type of dtype: NO_CONVERGENCE naming the first non-finite one. */
bunmg_status bunmg_check_eigenvalues(int32_t dtype, const void *w, int64_t n);

#endif
