/* Inside the routines layer: the two paths each routine can take and the checks of their
 * results. The entry points (potrs.c, potri.c, syevd.c, factor.c) check the inputs, choose the
 * path (path.c), run it (multi.c over the cyclic layout, single.c on one dense buffer) and
 * report. Every function here runs with the mesh locked and its arguments checked. */
#ifndef BUNMG_ROUTINES_H
#define BUNMG_ROUTINES_H

#include "core/internal.h"

/* ---- one call of a routine (entry.c) ---- */
typedef struct bunmg_call {
  bunmg_mesh *mesh;
  bunmg_matrix *a;
  const char *name;     /* "potrs", for messages */
  int32_t routine;      /* bunmg_routine */
  int64_t tile;         /* the multi path's tile, defaults applied */
  int32_t path;         /* SINGLE or MULTI: chosen */
  int32_t may_fall_back; /* auto chose single and fallback is on */
  uint64_t generation;   /* A's on entry: a fallback needs A untouched */
} bunmg_call;

/* NULL options are the defaults: AUTO with fallback, default tile. */
bunmg_options *bunmg_options_or_default(bunmg_options *options, bunmg_options *defaults);
/* Switches a call whose single path could not run (st) to the multi path; returns OK. */
bunmg_status bunmg_call_fall_back(bunmg_call *call, bunmg_status st);

/* Locks the mesh and checks A (square, row layout), the options and the path; fills `call`.
 * nrhs counts in the single path's memory need (potrs). */
bunmg_status bunmg_call_begin(bunmg_call *call, bunmg_mesh *mesh, bunmg_matrix *a, const char *name, int32_t routine,
                              const bunmg_options *options, int64_t nrhs);
/* Records the path taken, prefixes a failure with the routine's name and unlocks the mesh. */
bunmg_status bunmg_call_end(bunmg_call *call, bunmg_options *options, bunmg_status st);
/* Whether a single path that failed with st gives way to multi (auto, fallback on, A untouched). */
int bunmg_call_falls_back(const bunmg_call *call, bunmg_status st);
/* ---- right-hand sides (rhs.c) ---- */
/* B (host, row-major N x nrhs): present, nrhs >= 1, finite. */
bunmg_status bunmg_check_rhs(int32_t dtype, const void *b, int64_t n, int64_t nrhs);
/* A column-major solve of B (N x nrhs, ld N) into X (the same shape; may be B itself). */
typedef bunmg_status (*bunmg_column_solve)(void *context, const void *b, void *x, int64_t *info);
/* X for host row-major b, written into b once X passed its check: maps b onto the column-major
 * view of conj(A), runs `solve`, checks X and maps it back. */
bunmg_status bunmg_solve_row_major(int32_t dtype, int64_t n, void *b, int64_t nrhs, bunmg_column_solve solve,
                                   void *context);

/* ---- the choice of path (path.c) ---- */
bunmg_status bunmg_check_options(const bunmg_options *options, int32_t routine, int64_t n, int64_t *tile);
bunmg_status bunmg_path_for(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                            int32_t requested, int32_t *path, char *reason, size_t reason_len);
/* The single path's workspace bytes (beyond the N x N matrix), asked once per shape and mesh. */
bunmg_status bunmg_dense_workspace_of(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                                      uint64_t *bytes);

/* ---- checks of results (verify.c) ---- */
/* The factor's diagonal (n elements of dtype, host) must be real, finite and positive; else
 * NOT_POSITIVE_DEFINITE naming the first minor that is not, or, when the diagonal shows none,
 * the solver's info (> 0). info < 0 is SOLVER_ERROR. */
bunmg_status bunmg_verify_factor(int32_t dtype, const void *diagonal, int64_t n, int64_t info);
/* An LU factor's diagonal (n elements, host): finite (else SOLVER_ERROR) and nonzero (else
 * SINGULAR, index = the first zero pivot, 1-based); info < 0: SOLVER_ERROR. */
bunmg_status bunmg_verify_lu(int32_t dtype, const void *diagonal, int64_t n, int64_t info);
/* An inverse's diagonal: finite and positive (A^-1 of a positive definite A). */
bunmg_status bunmg_verify_inverse(int32_t dtype, const void *diagonal, int64_t n);
/* Eigenvalues: finite and ascending. */
bunmg_status bunmg_verify_eigenvalues(int32_t dtype, const void *w, int64_t n);
/* Singular values: finite, non-negative and descending. */
bunmg_status bunmg_verify_singular_values(int32_t dtype, const void *s, int64_t n);
/* X (host, column-major n x nrhs): finite. */
bunmg_status bunmg_verify_solution(int32_t dtype, const void *x, int64_t n, int64_t nrhs);
/* Applies an armed FACTOR_INFO fault to a factorization's info. */
int64_t bunmg_falsified_info(bunmg_mesh *mesh, int64_t info);

/* ---- the multi path: cuSOLVERMg over every position, A in the cyclic layout (multi.c) ----
 * On failure A is back in row layout and unchanged unless said otherwise. */
/* A holds its factor in the cyclic layout of `tile`. With `saved` non-NULL, A's diagonal as it
 * was comes back there (host, N elements, the caller frees it) for bunmg_multi_restore. */
bunmg_status bunmg_multi_cholesky(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, void **saved);
/* A factor back to A itself, in row layout, from the triangle the factorization leaves alone and
 * the saved diagonal. */
bunmg_status bunmg_multi_restore(bunmg_mesh *mesh, bunmg_matrix *a, const void *saved);
/* With A a factor: X for host row-major b (N x nrhs), written into b. */
bunmg_status bunmg_multi_solve(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs);
bunmg_status bunmg_multi_logdet(bunmg_mesh *mesh, const bunmg_matrix *a, double *out);
/* With A a factor: A becomes its inverse in row layout (the factor is gone, whatever happens). */
bunmg_status bunmg_multi_inverse(bunmg_mesh *mesh, bunmg_matrix *a);
bunmg_status bunmg_multi_potri(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile);
bunmg_status bunmg_multi_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int64_t tile, int32_t flags, void *w);

/* ---- the single path: one dense N x N buffer on position 0 (single.c) ----
 * A is only read until a routine has succeeded: a failure leaves it unchanged. */
#define BUNMG_SINGLE_POSITION 0
/* The factor of A in a dense buffer: `own` = 1 gives the caller a buffer of its own (a factor
 * that outlives the call, freed with bunmg_mesh_release), 0 uses the mesh's reusable one. */
bunmg_status bunmg_single_cholesky(bunmg_mesh *mesh, const bunmg_matrix *a, int own, void **dense);
/* X for host row-major b with a dense factor, written into b. */
bunmg_status bunmg_single_solve(bunmg_mesh *mesh, const void *dense, int64_t n, int32_t dtype, void *b, int64_t nrhs);
/* potrs in one pass: factor and solve with the mesh's dense buffer. */
bunmg_status bunmg_single_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs);
bunmg_status bunmg_single_logdet(bunmg_mesh *mesh, const void *dense, int64_t n, int32_t dtype, double *out);
/* A (row layout) becomes the inverse from the dense factor. */
bunmg_status bunmg_single_inverse(bunmg_mesh *mesh, void *dense, bunmg_matrix *a);
bunmg_status bunmg_single_potri(bunmg_mesh *mesh, bunmg_matrix *a);
bunmg_status bunmg_single_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int32_t flags, void *w);
/* Gives the mesh's reusable dense buffer back (or frees it when it is large). */
void bunmg_single_done(bunmg_mesh *mesh);

#endif
