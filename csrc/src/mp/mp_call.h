/* One call of an mp routine, the steps every routine shares: checks and agreement, a copy of the
 * rank's rows redistributed into the grid layout, the world's engine (mp_engine.h) on the worker,
 * the way back, and the collectives the checks of results need. A itself is written only by bunmg_mp_call_store, after
 * every check passed on every rank. */
#ifndef BUNMG_MP_CALL_H
#define BUNMG_MP_CALL_H

#include "mp/grid_plan.h"
#include "mp/mp_engine.h"
#include "mp/scalapack.h"

/* The calls' codes in the agreement: bunmg_routine's, and these. */
enum { MP_CHOLESKY = 16, MP_SOLVE = 17, MP_GETRS = 18, MP_SYGVD = 19, MP_GELS = 20, MP_GESVD = 21 };

/* What a routine takes besides A. */
typedef struct mp_request {
  int32_t routine; /* bunmg_routine, MP_CHOLESKY */
  const bunmg_mp_options *options;
  const void *b;   /* potrs, getrs, gels: every rank's b (rank 0's is B), checked; NULL otherwise */
  int64_t nrhs;
  int32_t flags;   /* syevd, sygvd, gesvd */
  const bunmg_matrix *second; /* sygvd: B, Hermitian like A, distributed as A; gesvd: V (output) */
} mp_request;

/* Random probe columns for checking eigenvectors (mp_probes.c): P, G P and two scratch blocks,
 * N x MP_PROBES each, with A's row distribution. */
#define MP_PROBES 4
typedef struct mp_probes {
  bunmg_desc desc;
  char *p, *gp, *t1, *t2;
} mp_probes;

/* The call's state lives on the heap: a worker abandoned in MPI may still read it. */
struct mp_call {
  bunmg_mp *mp;
  const mp_engine *engine;
  const char *name;
  const bunmg_matrix *local;
  int32_t dtype;
  size_t esize;
  int64_t n, block;    /* n: A's rows */
  int64_t cols;        /* A's columns: n, but N <= n for gels's and gesvd's M x N A */
  int64_t first, rows; /* this rank's rows of A */
  bunmg_grid grid;
  bunmg_grid_plan *plan;
  const mp_blacs *blacs;
  bunmg_desc desc;     /* A's, the grid layout of `work` */
  int64_t lld, local_rows, local_cols;
  char *work;          /* plan capacity elements: the copy of A (host) */
  void *a;             /* the call's matrix where the engine keeps it (work, or device memory) */
  const bunmg_matrix *second;
  char *second_work;   /* sygvd: the copy of B, moved to the grid with A */
  void *second_matrix; /* sygvd: B where the engine keeps it (second_work, or device memory) */
  int *ipiv;           /* getrs: the LU's pivots */
  int borrowed;        /* a (and work, when the same) belongs to a factor */
  void *state;         /* the engine's per-call state (descriptors, device buffers) */
  char *staging;
  /* what the routines' steps pass to the engine's tasks */
  int32_t flags;
  int64_t info;        /* the last solver call's */
  char *b;             /* potrs, getrs, gels: the distributed right-hand sides (host), descriptor desc_b */
  bunmg_desc desc_b;
  int64_t nrhs;
  /* the engine's memory (engine->matrix: A's distribution; freed by engine->free_matrix): */
  void *z;             /* syevd, sygvd: the eigenvectors; potri: scratch; gesvd: U_G */
  void *a0, *b0;       /* sygvd: A and B in the grid layout, kept for the probes (gels, gesvd: A; gels's b0: B,
                          desc_b's layout) */
  void *vt;            /* gesvd: the view's right singular vectors (A's U), with A's descriptor */
  void *w;             /* syevd, sygvd: the eigenvalues (N reals); gesvd: the singular values */
  double scale;        /* sygvd: the reduction's scale of the eigenvalues */
  bunmg_desc desc_u;   /* gesvd: U_G, N x N on A's grid */
  char *v;             /* gesvd: U_G^H (svd_v), then V's rows: the capacity of V's plan (host) */
  mp_probes probes;
  double orthogonality, residual;
  int entered;         /* mp was entered */
  int abandoned;       /* MPI or a worker may still use the call's memory: it is never freed */
};

/* A Cholesky factor in the grid layout, in memory of its own. */
struct bunmg_mp_factor {
  bunmg_mp *mp;
  int32_t dtype;
  int64_t n, block;
  bunmg_grid grid;
  const mp_blacs *blacs;
  bunmg_desc desc;
  int64_t lld, local_rows, local_cols;
  void *l; /* the factor where the engine keeps it */
  double logdet;
};

/* Allocates the call, enters mp, checks every argument and the rank's rows (finite upper
 * triangle), copies them into the call's work buffer, agrees with every rank on the call and its
 * outcome, and begins the engine's part (its grid and descriptors). UNSUPPORTED, before anything
 * moves, when the engine lacks an op the routine needs. Whatever it returns, end the call with bunmg_mp_call_end
 * (*out is NULL only when out of memory for it). */
bunmg_status bunmg_mp_call_begin(mp_call **out, bunmg_mp *mp, const char *name, const bunmg_matrix *local,
                                 const mp_request *request);
/* The call of a factor's solve: its grid, its factor as the (borrowed) work buffer. */
bunmg_status bunmg_mp_call_of_factor(mp_call **out, const bunmg_mp_factor *factor, const char *name);
/* Frees the call and what it holds (unless its memory may still be in use: abandoned, or mp
 * broken), leaves mp and prefixes a failure with the name. NULL: st. */
bunmg_status bunmg_mp_call_end(mp_call *call, bunmg_status st);

/* The work buffer (and the second one, when the call has it) to the grid layout, then to the
 * engine (its upload); the call's matrix back from the engine and the work buffer to rows. */
bunmg_status bunmg_mp_call_to_grid(mp_call *call);
bunmg_status bunmg_mp_call_to_rows(mp_call *call);
/* Rows of the work buffer (row layout again) into A. */
void bunmg_mp_call_store(const mp_call *call);

/* task(arg) on the worker, the engine fault point first. */
bunmg_status bunmg_mp_call_engine(mp_call *call, bunmg_mp_task task, void *arg, const char *what);
/* Every rank's outcome of a step: the first failed rank's, on all of them. */
bunmg_status bunmg_mp_call_agree(mp_call *call, bunmg_status mine);

/* X for rank 0's b (row-major, A's rows x nrhs) on every rank by `task` (which solves into
 * call->b, descriptor desc_b, call->nrhs columns, X in its first A's-columns rows), written into
 * the first rows of each rank's b once X passed its check everywhere. `conjugate`: the engine's
 * view is conj(A) (Hermitian A), so B goes in conjugated and X comes back the same way; else it is
 * A^T and the task solves with the transpose. `check` (NULL: none), on the caller's thread after
 * the task: the routine's own checks of call->b, collective, their outcome agreed. */
bunmg_status bunmg_mp_call_solve(mp_call *call, void *b, int64_t nrhs, bunmg_mp_task task, const char *what,
                                 int conjugate, bunmg_status (*check)(mp_call *call));

/* The falsified results of bunmg_mp_debug_inject (mp_syevd.c), shared by syevd, sygvd, gesvd. */
void bunmg_mp_skew_eigen(mp_call *call);
/* The steps after the eigensolver that syevd and sygvd share (mp_syevd.c). */
bunmg_status bunmg_mp_eigen_finish(mp_call *call, bunmg_mp_task probes, const char *probes_name, int32_t flags,
                                   void *w);

/* A host matrix on the call's grid with A's distribution: lld * local columns elements
 * (zeroed), or NULL with OUT_OF_MEMORY set. */
void *bunmg_mp_call_matrix(const mp_call *call, const char *what);
/* The diagonal of an engine's matrix with A's distribution (its view, A's columns x A's rows),
 * on every rank (A's columns elements). */
bunmg_status bunmg_mp_call_diagonal(mp_call *call, const void *matrix, void *diagonal);
/* Elements (count of dtype) conjugated in place (real dtypes: nothing), or scaled. */
void bunmg_mp_conjugate(int32_t dtype, void *data, size_t count);
void bunmg_mp_scale_reals(int32_t dtype, void *data, size_t count, double by);
/* Global row of local row li and global column of local column lj of a matrix with A's blocks. */
int64_t bunmg_mp_call_row(const mp_call *call, int64_t li);
int64_t bunmg_mp_call_col(const mp_call *call, int64_t lj);

#endif
