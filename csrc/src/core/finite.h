/* Non-finite input is refused before anything moves: INVALID_ARGUMENT naming the first such
 * element in row order (detail index = row * N + column). The solvers read A's upper triangle
 * (row-major, diagonal included) only, so that is the part scanned. */
#ifndef BUNMG_FINITE_H
#define BUNMG_FINITE_H

#include "core/internal.h"

/* The first NaN or Inf (either part of a complex) in rows [0, rows) of a host row-major block of
 * row length ld; with `upper`, row r is read from column row0 + r on. Local row * ld + column,
 * or -1. */
int64_t bunmg_first_nonfinite(int32_t dtype, const void *block, int64_t rows, int64_t ld, int64_t row0, int upper);

/* A (row layout): its upper triangle must be finite. */
bunmg_status bunmg_check_finite_matrix(bunmg_mesh *mesh, const bunmg_matrix *a);
/* Host rows [row0, row0 + rows) of an N-column matrix `name` (a row-major block): their part of
 * its upper triangle (all of them unless `upper`) must be finite. */
bunmg_status bunmg_check_finite_rows(int32_t dtype, const char *name, const void *block, int64_t rows, int64_t n,
                                     int64_t row0, int upper);
/* B, host row-major n x nrhs: every element finite. */
bunmg_status bunmg_check_finite_rhs(int32_t dtype, const void *b, int64_t n, int64_t nrhs);

#endif
