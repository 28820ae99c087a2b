/* ScaLAPACK and BLACS, loaded at run time (dlopen) as LAPACK is (host/lapack.h): $BUNMG_SCALAPACK
 * alone when set, else libscalapack-openmpi.so.2.2 or libscalapack-openmpi.so, once MPI is loaded
 * (RTLD_GLOBAL, mpi_loader.c). The routines dispatch on a bunmg_dtype and take 32-bit ScaLAPACK
 * descriptors; every argument is checked before ScaLAPACK sees it (PXERBLA prints, and BLACS's
 * errors call MPI_Abort). They block in MPI: call them on a worker (bunmg_mp_run). info follows
 * ScaLAPACK (> 0: the routine's numerical failure, the same on every rank). */
#ifndef BUNMG_MP_SCALAPACK_H
#define BUNMG_MP_SCALAPACK_H

#include "mp/mp_world.h"

/* LIBRARY_NOT_FOUND naming what was tried and the package to install. */
bunmg_status bunmg_scalapack_load(void);

/* The BLACS grid of prows x pcols in `order` over mp's communicator, made once per shape
 * (collective: every rank asks for the same grid at the same point) and kept until leave. */
bunmg_status bunmg_blacs_grid(bunmg_mp *mp, int32_t prows, int32_t pcols, int32_t order, const mp_blacs **out);
/* Leaves every grid of mp (at bunmg_mp_leave; on a worker, bounded by the timeout). */
void bunmg_blacs_release(bunmg_mp *mp);

/* ScaLAPACK's 9-integer descriptor: m x n in mb x nb blocks, sources 0, leading dimension lld.
 * INVALID_ARGUMENT when a value does not fit ScaLAPACK's int. */
typedef struct bunmg_desc {
  int v[9];
} bunmg_desc;
bunmg_status bunmg_scalapack_desc(bunmg_desc *d, const mp_blacs *grid, int64_t m, int64_t n, int64_t mb, int64_t nb,
                                  int64_t lld);

/* Every matrix below is the whole distributed matrix of its descriptor (ia = ja = 1); the
 * Hermitian routines read and write its lower triangle. */
bunmg_status bunmg_pxpotrf(int32_t dtype, void *a, const bunmg_desc *da, int64_t *info);
bunmg_status bunmg_pxpotrs(int32_t dtype, const void *a, const bunmg_desc *da, void *b, const bunmg_desc *db,
                           int64_t *info);
bunmg_status bunmg_pxpotri(int32_t dtype, void *a, const bunmg_desc *da, int64_t *info);
/* Eigenvalues ascending into w (N reals, every rank), eigenvectors into z; allocates ScaLAPACK's
 * workspace after asking for its size. */
bunmg_status bunmg_pxsyevd(int32_t dtype, void *a, const bunmg_desc *da, void *w, void *z, const bunmg_desc *dz,
                           int64_t *info);
/* c = a^H (a^T for real dtypes), both N x N. */
bunmg_status bunmg_pxtranc(int32_t dtype, const void *a, const bunmg_desc *da, void *c, const bunmg_desc *dc);
/* c = op(a) b, op 'N' or 'C' (conjugate transpose; the transpose for real dtypes). */
bunmg_status bunmg_pxgemm(int32_t dtype, char op, const void *a, const bunmg_desc *da, const void *b,
                          const bunmg_desc *db, void *c, const bunmg_desc *dc);
/* c = a b with a Hermitian, its lower triangle read. */
bunmg_status bunmg_pxhemm(int32_t dtype, const void *a, const bunmg_desc *da, const void *b, const bunmg_desc *db,
                          void *c, const bunmg_desc *dc);
/* The Frobenius norm of column j (0-based) of a, or of all of a, on every rank. */
double bunmg_pxnorm_column(int32_t dtype, const void *a, const bunmg_desc *da, int64_t j);
double bunmg_pxnorm(int32_t dtype, const void *a, const bunmg_desc *da);
/* LU with partial pivoting of a (M x N) in place; ipiv: LOCr(M) + MB entries. info > 0: U(info,
 * info) is exactly zero. */
bunmg_status bunmg_pxgetrf(int32_t dtype, void *a, const bunmg_desc *da, int *ipiv, int64_t *info);
/* a^T x = b (the transpose, unconjugated) with a's LU from bunmg_pxgetrf; x into b. */
bunmg_status bunmg_pxgetrs(int32_t dtype, const void *a, const bunmg_desc *da, const int *ipiv, void *b,
                           const bunmg_desc *db, int64_t *info);
/* a = l^-1 a l^-H (p?sygst / p?hegst, IBTYPE 1, lower triangles), l the Cholesky factor from
 * bunmg_pxpotrf; scale: the factor the eigenvalues of the result take. */
bunmg_status bunmg_pxsygst(int32_t dtype, void *a, const bunmg_desc *da, const void *l, const bunmg_desc *dl,
                           double *scale, int64_t *info);
/* The least squares solution of min ||a^T x - b|| (real; a^H x against b for complex dtypes),
 * a (m x n, m <= n) wide: a is overwritten by its QR, x into b's first m rows. info > 0: a
 * does not have full rank. */
bunmg_status bunmg_pxgels(int32_t dtype, void *a, const bunmg_desc *da, void *b, const bunmg_desc *db, int64_t *info);
/* a = u diag(s) vt, a (m x n, m <= n) overwritten: s (m reals, descending), u (m x m), vt (the
 * first m rows of n x n), every rank. info > 0: no convergence. */
bunmg_status bunmg_pxgesvd(int32_t dtype, void *a, const bunmg_desc *da, void *s, void *u, const bunmg_desc *du, void *vt,
                           const bunmg_desc *dvt, int64_t *info);
/* b = l^-H b, l lower triangular. */
bunmg_status bunmg_pxtrsm_lower_adjoint(int32_t dtype, const void *l, const bunmg_desc *dl, void *b,
                                        const bunmg_desc *db);

#endif
