/* The host backend's solvers: cuSOLVERMg's routines (uplo LOWER, IA = JA = 1) on LAPACK.
 *
 * A is N x N in the cyclic layout over plain host shards (bunmg_backend_ops's contract). Each
 * routine gathers A's column tiles into one dense column-major N x N host buffer, runs LAPACK
 * with uplo 'L', and scatters the columns back (potrs only reads the factor). */
#ifndef BUNMG_HOST_SOLVER_H
#define BUNMG_HOST_SOLVER_H

#include "core/internal.h"

/* Lower Cholesky factor in place; info > 0 = leading minor not positive definite (A then holds
 * LAPACK's partial factor: the caller restores the matrix). */
bunmg_status bunmg_host_potrf(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
/* b: host, column-major N x nrhs (ldb = N), overwritten by X; a holds the factor. */
bunmg_status bunmg_host_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs,
                              int64_t *info);
/* a holds the factor; its lower triangle becomes that of the inverse. info > 0 = zero pivot. */
bunmg_status bunmg_host_potri(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
/* Eigenvalues ascending into w (N floats for FLOAT32/COMPLEX64, doubles otherwise); with
 * `vectors`, the eigenvectors (column-major) into a. info > 0 = no convergence. */
bunmg_status bunmg_host_syevd(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t vectors, void *w,
                              int64_t *info);
/* Host bytes the routine needs beyond A and B: the dense buffer plus, for SYEVD, LAPACK's
 * workspace with eigenvectors (queried; the documented minimum when LAPACK is absent). All
 * logical devices share host memory, so this is one total, not a per-device share. */
bunmg_status bunmg_host_workspace_bytes(bunmg_mesh *mesh, int32_t routine, int64_t n,
                                        int32_t dtype, int64_t tile, int64_t nrhs,
                                        uint64_t *bytes);

#endif
