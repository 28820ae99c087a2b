/* Internal contract between the backend-independent core and the two backends. */
#ifndef BUNMG_INTERNAL_H
#define BUNMG_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bunmg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors (error.c) ---- */
bunmg_status bunmg_fail(bunmg_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bunmg_status bunmg_fail_at(bunmg_status code, int64_t index, int32_t device, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void bunmg_clear_error(void);
/* Prefix the current message with context ("potrs: ..."), keeping code and detail. */
void bunmg_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Append to the current message, keeping code and detail. */
void bunmg_error_suffix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- dtypes (dtype.c) ---- */
size_t bunmg_dtype_size(int32_t dtype); /* 0 when not a bunmg_dtype */
size_t bunmg_dtype_real_size(int32_t dtype);
int bunmg_dtype_is_complex(int32_t dtype);
const char *bunmg_dtype_name(int32_t dtype);

/* ---- square fix-ups on an N x N row-major matrix in row layout ---- */
enum {
  BUNMG_FIX_MIRROR_UPPER_TO_LOWER = 1, /* a[j][i] = conj(a[i][j]) for i < j */
  BUNMG_FIX_MIRROR_LOWER_TO_UPPER = 2, /* a[i][j] = conj(a[j][i]) for i < j */
  BUNMG_FIX_TRANSPOSE = 4,             /* a = a^T in place */
  BUNMG_FIX_CONJ = 8,                  /* every element conjugated (with TRANSPOSE: a = a^H) */
  BUNMG_FIX_REAL_DIAGONAL = 16         /* with MIRROR_UPPER_TO_LOWER: the diagonal's imaginary parts cleared */
};

/* ---- backends ---- */
typedef enum { BUNMG_COPY_H2D = 0, BUNMG_COPY_D2H = 1, BUNMG_COPY_D2D = 2 } bunmg_copy_kind;

/* A block for find_nonfinite: `rows` rows of a row-major matrix on mesh position dev, the first
 * being global row row0. */
typedef struct bunmg_scan {
  int32_t dev;
  const void *block;
  int64_t rows, row0;
} bunmg_scan;

typedef struct bunmg_backend_ops {
  const char *name;
  bunmg_status (*init)(bunmg_mesh *mesh); /* validates device ids, sets mesh->state */
  void (*shutdown)(bunmg_mesh *mesh);     /* releases everything in mesh->state */
  int32_t lanes_per_device;               /* concurrent copy queues per device */
  /* The single path's dense buffer stays held up to this size between calls, where allocating it
   * each time costs (cudaMalloc, cudaFree's device wait); 0 where it costs nothing (the host). */
  size_t keep_dense_bytes;

  bunmg_status (*alloc)(bunmg_mesh *mesh, int32_t dev, size_t bytes, void **out);
  void (*release)(bunmg_mesh *mesh, int32_t dev, void *ptr);
  bunmg_status (*memory_info)(bunmg_mesh *mesh, int32_t dev, uint64_t *free_b, uint64_t *total);

  /* Synchronous copy. For H2D dst is on dst_dev, for D2H src is on src_dev. */
  bunmg_status (*copy)(bunmg_mesh *mesh, bunmg_copy_kind kind, int32_t dst_dev, void *dst,
                       int32_t src_dev, const void *src, size_t bytes);
  /* count elements of elem bytes, src elements `stride` bytes apart, packed into host_dst. */
  bunmg_status (*gather_strided)(bunmg_mesh *mesh, int32_t dev, void *host_dst, const void *src,
                                 size_t elem, size_t stride, size_t count);
  bunmg_status (*scatter_strided)(bunmg_mesh *mesh, int32_t dev, void *dst, const void *host_src,
                                  size_t elem, size_t stride, size_t count);
  /* Queue a device copy on a lane (lane / lanes_per_device = the lane's mesh position). */
  bunmg_status (*copy_async)(bunmg_mesh *mesh, int32_t lane, int32_t dst_dev, void *dst,
                             int32_t src_dev, const void *src, size_t bytes);
  bunmg_status (*sync)(bunmg_mesh *mesh); /* waits for every lane */
  bunmg_status (*bandwidth)(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev, size_t bytes,
                            int32_t repeats, int32_t both_ways, double *bytes_per_second);

  /* Fills a row-layout matrix per bunmg_fill_random (fill.h has the generator). */
  bunmg_status (*fill)(bunmg_mesh *mesh, const bunmg_matrix *m, int32_t kind, uint64_t seed);
  /* For each block (row length ld): the first NaN or Inf in its part of the upper triangle (row r
   * read from global column row0 + r on), as local row * ld + column, or -1, into found[i]. */
  bunmg_status (*find_nonfinite)(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t ld,
                                 int32_t dtype, int64_t *found);
  /* a is N x N in row layout; mode is a BUNMG_FIX_* combination. */
  bunmg_status (*fixup)(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t mode);

  /* Solvers on an N x N matrix in cyclic layout (the column-major view, lower triangle).
   * info follows LAPACK: > 0 is a numerical failure (minor, pivot, no convergence). */
  bunmg_status (*potrf)(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
  /* b: host, column-major N x nrhs, overwritten by the solution. */
  bunmg_status (*potrs)(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs,
                        int64_t *info);
  bunmg_status (*potri)(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
  /* w: host, N reals ascending. vectors: V column-major into a (cyclic layout). */
  bunmg_status (*syevd)(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t vectors, void *w,
                        int64_t *info);
  bunmg_status (*workspace_bytes)(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype,
                                  int64_t tile, int64_t nrhs, uint64_t *bytes);

  /* Later work on every lane waits for the work queued so far on every lane (no host wait). */
  bunmg_status (*barrier)(bunmg_mesh *mesh);
  /* 1 when mesh positions a and b address the same memory (one GPU, or the host). */
  int (*same_memory)(const bunmg_mesh *mesh, int32_t a, int32_t b);

  /* The single-device solvers on a dense column-major N x N matrix (lda = N) at mesh position
   * dev: cuSOLVERDn on CUDA, LAPACK on the host. They queue in order on dev's lane 0, after a
   * barrier() for copies on other lanes. Host outputs (info, found, diagonal, x, w) are written
   * when dense_wait(dev) returns OK, not before; a failed call still needs dense_wait to drain.
   * Info conventions as above. dense_workspace fails with UNSUPPORTED where the solver cannot
   * take n. */
  /* The first NaN or Inf of A's upper triangle when `a` is A row-major (the lower one of the
   * column-major view), as row * n + column, or -1. */
  bunmg_status (*dense_scan)(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, int64_t *found);
  /* `count` diagonal elements from a (element j at a + j * (ld + 1)), into host: a dense
   * matrix's (ld = count = n), or a row shard's in position dev's memory. */
  bunmg_status (*dense_diagonal)(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t ld, int64_t count, int32_t dtype,
                                 void *host);
  bunmg_status (*dense_potrf)(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info);
  /* b (read during the call) and x: host, column-major n x nrhs; a holds a factor. */
  bunmg_status (*dense_potrs)(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, const void *b,
                              void *x, int64_t nrhs, int64_t *info);
  /* With a a factor: `dst` (device memory of a position that same_memory() shares with dev;
   * column-major n x count, ld n) becomes columns [first, first + count) of A^-1. */
  bunmg_status (*dense_solve_identity)(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype,
                                       void *dst, int64_t first, int64_t count, int64_t *info);
  bunmg_status (*dense_potri)(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info);
  bunmg_status (*dense_syevd)(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int32_t vectors,
                              void *w, int64_t *info);
  /* The dense matrix (read row-major) into the row shards of m (row layout), turned by `mode`
   * (BUNMG_FIX_TRANSPOSE and/or CONJ) in the same pass: eigenvectors to the user's convention.
   * Skipped when the last dense_scan on dev found a NaN or Inf (the host reads *found; a queued
   * backend its own copy of the answer). UNSUPPORTED where it cannot write every shard. */
  bunmg_status (*dense_scatter)(bunmg_mesh *mesh, int32_t dev, const void *a, const bunmg_matrix *m, int32_t mode,
                                const int64_t *found);
  bunmg_status (*dense_wait)(bunmg_mesh *mesh, int32_t dev);
  bunmg_status (*dense_workspace)(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype,
                                  int64_t nrhs, uint64_t *bytes);
} bunmg_backend_ops;

extern const bunmg_backend_ops bunmg_host_ops;
/* NULL when the library was built without the CUDA backend. */
const bunmg_backend_ops *bunmg_cuda_backend(void);
int32_t bunmg_cuda_count_devices(void); /* 0 when no CUDA backend, driver or device */

/* An allocation made through the mesh: lets every copy be range-checked instead of crashing. */
typedef struct bunmg_allocation {
  char *ptr;
  size_t bytes;
  int32_t dev;
  int32_t external; /* adopted (bunmg_mesh_adopt): checked against, never freed by the mesh */
} bunmg_allocation;

struct bunmg_plan;

struct bunmg_mesh {
  const bunmg_backend_ops *ops;
  int32_t backend;
  int32_t ndev;
  int32_t device_ids[BUNMG_MAX_DEVICES];
  uint64_t held[BUNMG_MAX_DEVICES]; /* bytes from bunmg_alloc and backend workspace */
  int64_t fault_after[BUNMG_FAULT_KINDS]; /* fault injection per bunmg_fault: < 0 off */
  pthread_mutex_t lock;             /* one operation at a time per mesh */
  void *state;                      /* backend private */
  bunmg_allocation *allocations;
  size_t allocation_count, allocation_cap;
  struct bunmg_plan *plan_cache; /* last redistribution plan: reused while (rows, tile) match */
  /* The single path's dense buffer on position 0 (a mesh allocation), kept between calls while
   * it is small, so that small solves allocate nothing. */
  void *dense;
  size_t dense_bytes;
  /* The single path's workspace answers (or lasting refusals), most recent first. */
  struct bunmg_dense_answer {
    int32_t routine, dtype;
    int64_t n, nrhs;
    bunmg_status status;
    uint64_t bytes;
  } dense_answers[8];
};

/* Allocation through the mesh, accounted in mesh->held and registered (mesh.c). */
bunmg_status bunmg_mesh_alloc(bunmg_mesh *mesh, int32_t dev, size_t bytes, void **out);
bunmg_status bunmg_mesh_release(bunmg_mesh *mesh, int32_t dev, void *ptr);
/* Registers memory the mesh does not own (a group peer's shard, mapped or opened through IPC)
 * so that range checks accept it; bunmg_free refuses it, destroying the mesh leaves it, and it
 * is not counted in mesh->held. bunmg_mesh_disown drops it again (no-op when absent). */
bunmg_status bunmg_mesh_adopt(bunmg_mesh *mesh, int32_t dev, void *ptr, size_t bytes);
void bunmg_mesh_disown(bunmg_mesh *mesh, int32_t dev, void *ptr);
/* INVALID_ARGUMENT unless [ptr, ptr + bytes) lies inside one allocation on mesh position dev. */
bunmg_status bunmg_mesh_check_range(const bunmg_mesh *mesh, int32_t dev, const void *ptr,
                                    size_t bytes, const char *what);
bunmg_status bunmg_check_position(const bunmg_mesh *mesh, int32_t dev, const char *what);
/* Fault injection (bunmg_debug_inject): the parameter of an armed FACTOR_* fault, disarming it,
 * or -1. */
int64_t bunmg_fault_take(bunmg_mesh *mesh, int32_t fault);
/* Fault injection (bunmg_debug_inject): 1 when this event of kind `fault` is the one to fail. */
int bunmg_fault_fires(bunmg_mesh *mesh, int32_t fault);
/* What an injected allocation failure reports: OUT_OF_MEMORY on position dev. */
bunmg_status bunmg_injected_out_of_memory(const bunmg_mesh *mesh, int32_t dev, size_t bytes);
/* A solver call that ran returns through here: an injected SOLVER fault turns OK into
 * SOLVER_ERROR, as a failure status from cuSOLVER or LAPACK would. */
bunmg_status bunmg_solver_ran(bunmg_mesh *mesh, bunmg_status st, const char *routine);
/* Locks the mesh for one public call; INVALID_ARGUMENT when it is busy or NULL. */
bunmg_status bunmg_mesh_enter(bunmg_mesh *mesh, const char *call);
void bunmg_mesh_leave(bunmg_mesh *mesh);

/* ---- layout arithmetic (layout.c) ---- */
static inline int64_t bunmg_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
/* rows per shard in row layout */
static inline int64_t bunmg_shard_rows(int64_t rows, int32_t ndev) {
  return bunmg_ceil_div(rows, ndev);
}
/* rows that mesh position dev holds in row layout */
int64_t bunmg_shard_count(int64_t rows, int32_t ndev, int32_t dev);
/* While redistributing, shard dev sits this many rows up its buffer so that global tile
 * boundaries fall on local multiples of the tile: whole tiles then move as single copies. */
int64_t bunmg_shard_offset(int64_t rows, int64_t tile, int32_t ndev, int32_t dev);
/* global row j -> (device, local row) in the cyclic layout */
void bunmg_cyclic_locate(int64_t j, int64_t tile, int32_t ndev, int32_t *dev, int64_t *local);
/* Rows per shard for whole tiles on every device, so a solver that touches a short last tile
 * stays in bounds. */
int64_t bunmg_cyclic_capacity(int64_t rows, int64_t tile, int32_t ndev);
/* Checks a matrix descriptor against a mesh; names the first problem (matrix.c). */
bunmg_status bunmg_check_matrix(const bunmg_mesh *mesh, const bunmg_matrix *m, int square);

#ifdef __cplusplus
}
#endif
#endif
