/* LAPACK, loaded at run time (dlopen) so that libbunmg never links it.
 *
 * Candidates, in order: $BUNMG_LAPACK alone when set; else liblapack.so.3, libopenblas.so.0,
 * libopenblas.so, liblapack.so, libflexiblas.so.3, libmkl_rt.so, libmkl_rt.so.2. The first one
 * that has every symbol below wins, once per process.
 *
 * Every routine dispatches on a bunmg_dtype (FLOAT32 s, FLOAT64 d, COMPLEX64 c, COMPLEX128 z),
 * validates its arguments before LAPACK sees them (reference LAPACK's XERBLA stops the process),
 * and writes LAPACK's info. info < 0 cannot happen after validation; if it does, the call fails
 * with BUNMG_SOLVER_ERROR. info > 0 is a numerical result for the caller, with BUNMG_OK. */
#ifndef BUNMG_LAPACK_H
#define BUNMG_LAPACK_H

#include <stdint.h>

#include "core/internal.h"

/* Loads LAPACK if not yet tried; BUNMG_LIBRARY_NOT_FOUND names every candidate tried. */
bunmg_status bunmg_lapack_load(void);
/* 1 when LAPACK is loaded (trying once), without touching the thread's last error. */
int bunmg_lapack_available(void);
/* Loads LAPACK as bunmg_lapack_load and reports, for bunmg doctor: the file loaded ("" when
 * none), ilaver's version ("" without it), and each candidate tried with what became of it. */
bunmg_status bunmg_lapack_probe(const char **path, const char **version, const char **tried);

/* xPOTRF: Cholesky factor of the `uplo` triangle ('L' or 'U'). */
bunmg_status bunmg_lapack_potrf(int32_t dtype, char uplo, int64_t n, void *a, int64_t lda,
                                int64_t *info);
/* xPOTRS: solves A X = B with the factor from xPOTRF; b is n x nrhs, overwritten by X. */
bunmg_status bunmg_lapack_potrs(int32_t dtype, char uplo, int64_t n, int64_t nrhs,
                                const void *a, int64_t lda, void *b, int64_t ldb, int64_t *info);
/* xPOTRI: the factor from xPOTRF -> that triangle of the inverse. */
bunmg_status bunmg_lapack_potri(int32_t dtype, char uplo, int64_t n, void *a, int64_t lda,
                                int64_t *info);
/* xSYEVD (real) / xHEEVD (complex): eigenvalues ascending into w (n reals of the dtype's real
 * type); jobz 'V' also overwrites a with the eigenvectors. Allocates LAPACK's workspace. */
bunmg_status bunmg_lapack_syevd(int32_t dtype, char jobz, char uplo, int64_t n, void *a,
                                int64_t lda, void *w, int64_t *info);
/* Bytes of workspace bunmg_lapack_syevd allocates for this call: LAPACK's own query when LAPACK
 * is available, else the minimum its documentation gives. */
bunmg_status bunmg_lapack_syevd_workspace(int32_t dtype, char jobz, int64_t n, uint64_t *bytes);

#endif
