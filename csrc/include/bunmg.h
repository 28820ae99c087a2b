/* bunmg.h: the whole C ABI of libbunmg.
 *
 * Every function returns a bunmg_status and writes its outputs through pointers. On failure the
 * calling thread's last error (bunmg_last_error, bunmg_last_error_detail) says what went wrong.
 * Nothing in the library calls exit() or abort().
 *
 * Matrices are row-major and sharded by rows over the logical devices of a mesh: with
 * s = ceil(rows / ndev), device d holds rows [d*s, min((d+1)*s, rows)) at the start of its shard
 * buffer. Read as column-major, a shard is a block of `rows` columns of length `cols`; the cyclic
 * layout is cuSOLVERMg's 1D column block-cyclic one over those columns: global tile k of `tile`
 * rows lives on device k mod ndev at local tile slot k div ndev. */
#ifndef BUNMG_H
#define BUNMG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BUNMG_API __attribute__((visibility("default")))

/* Bumped whenever a struct, enum or signature of this header changes: bindings compare it with
 * their own at load (bunmg_abi_version), so a stale library fails clearly instead of reading the
 * wrong fields. */
#define BUNMG_ABI_VERSION 8

#define BUNMG_MAX_DEVICES 32
/* Rows, columns and tile sizes beyond 2^40 describe no matrix that fits in memory; refusing them
 * keeps the layout arithmetic (rows + tile, capacity * ndev, capacity * cols * element) far from
 * int64 and size_t overflow. */
#define BUNMG_MAX_EXTENT ((int64_t)1 << 40)

typedef enum bunmg_status {
  BUNMG_OK = 0,
  BUNMG_INVALID_ARGUMENT = 1,
  BUNMG_OUT_OF_MEMORY = 2,     /* detail: device = mesh position */
  BUNMG_LIBRARY_NOT_FOUND = 3, /* cuSOLVERMg, cudart or LAPACK could not be loaded */
  BUNMG_NO_DEVICE = 4,         /* no CUDA device, driver or CUDA backend */
  BUNMG_DEVICE_ERROR = 5,      /* a CUDA runtime call failed; detail: device */
  BUNMG_SOLVER_ERROR = 6,      /* cuSOLVER or LAPACK reported a failure status */
  BUNMG_NOT_POSITIVE_DEFINITE = 7, /* detail: index = order of the failing leading minor */
  BUNMG_NO_CONVERGENCE = 8,    /* detail: index = info from the eigensolver */
  BUNMG_SINGULAR = 9,          /* detail: index = zero pivot */
  BUNMG_LAYOUT_LOST = 10,      /* a redistribution failed and could not restore the layout */
  BUNMG_UNSUPPORTED = 11,
  BUNMG_TIMEOUT = 12,
  BUNMG_PEER_LOST = 13,        /* detail: device = rank */
  BUNMG_DISPOSED = 14          /* a handle no longer valid: destroyed, consumed, or its matrix changed */
} bunmg_status;

typedef enum bunmg_dtype {
  BUNMG_FLOAT32 = 0,
  BUNMG_FLOAT64 = 1,
  BUNMG_COMPLEX64 = 2,
  BUNMG_COMPLEX128 = 3
} bunmg_dtype;

typedef enum bunmg_backend { BUNMG_BACKEND_HOST = 0, BUNMG_BACKEND_CUDA = 1 } bunmg_backend;

typedef enum bunmg_layout { BUNMG_LAYOUT_ROWS = 0, BUNMG_LAYOUT_CYCLIC = 1 } bunmg_layout;

/* A row-sharded matrix. The library reads and updates `layout` and `tile`; the caller owns the
 * shard buffers, each at least capacity * cols elements (bunmg_shard_capacity). */
typedef struct bunmg_matrix {
  int64_t rows;     /* global rows: the slots that are permuted */
  int64_t cols;     /* row length = leading dimension of the column-major view */
  int64_t capacity; /* rows each shard buffer can hold */
  int64_t tile;     /* rows per tile while layout == CYCLIC */
  int32_t dtype;    /* bunmg_dtype */
  int32_t layout;   /* bunmg_layout */
  uint64_t generation; /* bumped by every call that writes the shards; factors check it */
  void *shards[BUNMG_MAX_DEVICES];
} bunmg_matrix;

typedef struct bunmg_mesh bunmg_mesh;

/* ---- errors and versions ---- */
BUNMG_API int32_t bunmg_abi_version(void); /* BUNMG_ABI_VERSION of the build */
BUNMG_API const char *bunmg_version(void);
BUNMG_API const char *bunmg_last_error(void);
/* index: leading minor / pivot / info; device: mesh position or rank; -1 where not applicable. */
BUNMG_API void bunmg_last_error_detail(int64_t *index, int32_t *device);

/* ---- meshes: an ordered list of logical devices on one backend; repeated ids allowed ---- */
BUNMG_API bunmg_status bunmg_cuda_device_count(int32_t *count); /* 0 when no driver, GPU or CUDA build */
BUNMG_API bunmg_status bunmg_mesh_create(int32_t backend, int32_t ndev, const int32_t *device_ids,
                               bunmg_mesh **out);
BUNMG_API bunmg_status bunmg_mesh_destroy(bunmg_mesh *mesh);
/* bytes bunmg holds on mesh device `dev` (buffers and workspace), and the device's free/total. */
BUNMG_API bunmg_status bunmg_mesh_memory(bunmg_mesh *mesh, int32_t dev, uint64_t *held, uint64_t *free_bytes,
                               uint64_t *total_bytes);

/* ---- device buffers; `dev` is a mesh position ---- */
BUNMG_API bunmg_status bunmg_alloc(bunmg_mesh *mesh, int32_t dev, uint64_t bytes, void **out);
BUNMG_API bunmg_status bunmg_free(bunmg_mesh *mesh, int32_t dev, void *ptr);
BUNMG_API bunmg_status bunmg_copy_to_device(bunmg_mesh *mesh, int32_t dev, void *dst, const void *host_src,
                                  uint64_t bytes);
BUNMG_API bunmg_status bunmg_copy_to_host(bunmg_mesh *mesh, int32_t dev, void *host_dst, const void *src,
                                uint64_t bytes);
BUNMG_API bunmg_status bunmg_copy_peer(bunmg_mesh *mesh, int32_t dst_dev, void *dst, int32_t src_dev,
                             const void *src, uint64_t bytes);
/* Time `repeats` copies of `bytes` between two mesh devices (dst == src: within one device);
 * both directions at once when `both_ways`. Writes bytes per second moved in total. */
BUNMG_API bunmg_status bunmg_copy_bandwidth(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev,
                                  uint64_t bytes, int32_t repeats, int32_t both_ways,
                                  double *bytes_per_second);

/* ---- test matrices, generated where the shards live (no host copy of the matrix) ---- */
typedef enum bunmg_fill {
  BUNMG_FILL_HPD = 0,    /* Hermitian (symmetric) positive definite: off-diagonals in the unit
                            square, diagonal 2N (square matrices only) */
  BUNMG_FILL_UNIFORM = 1 /* every component uniform in [-1, 1) */
} bunmg_fill;
/* Fills m (row layout) deterministically from seed: the same seed gives the same matrix on every
 * backend and mesh. */
BUNMG_API bunmg_status bunmg_fill_random(bunmg_mesh *mesh, bunmg_matrix *m, int32_t kind, uint64_t seed);

/* ---- redistribution between row shards and the cyclic layout ---- */
/* Rows each shard buffer needs so that both layouts fit: max(ceil(rows/ndev), cyclic share). */
BUNMG_API bunmg_status bunmg_shard_capacity(int64_t rows, int64_t tile, int32_t ndev, int64_t *capacity);

typedef struct bunmg_plan bunmg_plan;
typedef struct bunmg_plan_summary {
  int64_t pieces;         /* runs of rows that move as one contiguous copy */
  int64_t cycles;         /* disjoint cycles (need one staging piece each while they run) */
  int64_t chains;         /* open chains that start at a free slot (need no staging) */
  int64_t fixed;          /* pieces already in place */
  int64_t copies;         /* copies issued, staging copies included */
  int64_t rows_cross;     /* rows copied between different mesh positions */
  int64_t rows_local;     /* rows copied within one mesh position (staging included) */
  int64_t staging_rows;   /* staging rows per device that the executor allocates */
  int64_t capacity;       /* rows per shard buffer, as bunmg_shard_capacity */
  int64_t largest_piece;  /* rows */
  int64_t shifts;         /* shards moved up their buffer onto the tile grid first (uneven N) */
} bunmg_plan_summary;

/* One contiguous copy of the plan, in execution order within its cycle. dev -1 = staging. */
typedef struct bunmg_move {
  int64_t cycle;
  int32_t src_dev, dst_dev;
  int64_t src_row, dst_row; /* local row offsets in the shard (or staging) buffer */
  int64_t rows;
} bunmg_move;

BUNMG_API bunmg_status bunmg_plan_create(int64_t rows, int64_t tile, int32_t ndev, int32_t lanes,
                               bunmg_plan **out);
BUNMG_API bunmg_status bunmg_plan_destroy(bunmg_plan *plan);
BUNMG_API bunmg_status bunmg_plan_get_summary(const bunmg_plan *plan, bunmg_plan_summary *out);
/* Copies up to `cap` moves of the forward plan into `out`; `count` receives the total. */
BUNMG_API bunmg_status bunmg_plan_get_moves(const bunmg_plan *plan, bunmg_move *out, int64_t cap,
                                  int64_t *count);

BUNMG_API bunmg_status bunmg_to_cyclic(bunmg_mesh *mesh, bunmg_matrix *m, int64_t tile);
BUNMG_API bunmg_status bunmg_to_rows(bunmg_mesh *mesh, bunmg_matrix *m);

/* Fault injection for tests: the n-th event of kind `fault` on this mesh from now on fails (n = 0:
 * the next one; n < 0: off). Each kind counts on its own. */
typedef enum bunmg_fault {
  BUNMG_FAULT_COPY = 0,  /* a copy of a redistribution: DEVICE_ERROR */
  BUNMG_FAULT_ALLOC = 1, /* a device allocation (buffers, shards, staging, solver workspace):
                            OUT_OF_MEMORY naming the device, as if it were full */
  BUNMG_FAULT_SOLVER = 2, /* a solver call that ran reports a failure status (as cuSOLVER or LAPACK
                            can): SOLVER_ERROR */
  /* Falsified solver results, for testing bunmg's own checks of them; n is then a parameter of
   * the next Cholesky factorization that runs, not a count: */
  BUNMG_FAULT_FACTOR_NAN = 3,  /* its factor gets NaN at diagonal element n (0-based), info kept */
  BUNMG_FAULT_FACTOR_INFO = 4, /* it reports info n instead of its own */
  BUNMG_FAULT_KINDS = 5
} bunmg_fault;
/* pending (may be NULL) receives the previous setting: events left before it fires (or the
 * parameter), or -1 when it fired or was off. */
BUNMG_API bunmg_status bunmg_debug_inject(bunmg_mesh *mesh, int32_t fault, int64_t n, int64_t *pending);

/* ---- layout arithmetic: the one source of these numbers for every binding ---- */
/* Global rows [*start, *end) that mesh position `pos` of `ndev` holds in row layout. */
BUNMG_API bunmg_status bunmg_row_range(int64_t rows, int32_t ndev, int32_t pos, int64_t *start, int64_t *end);
/* Where global tile k of the cyclic layout lives: mesh position *pos, from local row *local_row. */
BUNMG_API bunmg_status bunmg_tile_location(int64_t rows, int64_t tile, int32_t ndev, int64_t k, int32_t *pos,
                                           int64_t *local_row);
/* Rows each shard buffer needs so that row layout and the cyclic layout of every tile in
 * 1..max_tile fit (max_tile 0: bunmg_default_max_tile). The one capacity policy of matrices and
 * group shards. */
BUNMG_API bunmg_status bunmg_shard_capacity_upto(int64_t rows, int64_t max_tile, int32_t ndev, int32_t dtype,
                                                 int64_t *capacity);

/* ---- solvers ----
 * A is square, Hermitian (symmetric when real) and in row layout on entry. The solvers read A's
 * upper triangle (row-major, diagonal included) only. Each routine runs in this order:
 *  1. every input is checked before anything moves: shapes, the options, B's finiteness, and
 *     A's (NaN or Inf in A's upper triangle or in B is INVALID_ARGUMENT naming the first such
 *     element in row order, detail index = its row * N + column);
 *  2. the path runs (bunmg_options.path); auto may fall back from single to multi;
 *  3. bunmg checks the result itself, not trusting the solver's info alone: a Cholesky factor's
 *     diagonal must be real, finite and positive (else NOT_POSITIVE_DEFINITE, detail index = the
 *     first leading minor that is not positive definite, found by bunmg), an inverse's diagonal
 *     finite and positive, eigenvalues finite and ascending, X finite. These checks cost O(N).
 * On failure A comes back unchanged and in row layout, except where a routine says otherwise. */

typedef enum bunmg_path {
  BUNMG_PATH_AUTO = 0,   /* bunmg_choose_path's rule */
  BUNMG_PATH_SINGLE = 1, /* the whole matrix on mesh position 0 (cuSOLVERDn; LAPACK on the host) */
  BUNMG_PATH_MULTI = 2   /* every position of the mesh (cuSOLVERMg over the cyclic layout) */
} bunmg_path;

typedef enum bunmg_routine {
  BUNMG_ROUTINE_POTRS = 0,
  BUNMG_ROUTINE_POTRI = 1,
  BUNMG_ROUTINE_SYEVD = 2
} bunmg_routine;

typedef struct bunmg_options {
  int64_t tile;      /* rows per tile of the multi path; 0: bunmg_default_tile */
  int32_t path;      /* bunmg_path */
  int32_t fallback;  /* with AUTO: 1 lets a single path that cannot run (UNSUPPORTED, OUT_OF_MEMORY,
                        before A is touched) give way to multi */
  int32_t taken;     /* out: the path that ran or failed (SINGLE or MULTI); AUTO when none was chosen */
  int32_t keep;      /* potrs: 1 = A unchanged and in row layout afterwards on every path (the multi
                        path then restores A from its untouched triangle: one redistribution more) */
} bunmg_options;

/* The tile the multi path uses when options.tile is 0, and the largest such tile of any routine. */
BUNMG_API bunmg_status bunmg_default_tile(int32_t routine, int32_t dtype, int64_t n, int64_t *tile);
BUNMG_API bunmg_status bunmg_default_max_tile(int32_t dtype, int64_t n, int64_t *tile);
/* The path `routine` takes for an N x N matrix of dtype with options (path AUTO decides), and why
 * in `reason` (NUL-terminated, cut to reason_len). Allocates nothing. */
BUNMG_API bunmg_status bunmg_choose_path(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                                         const bunmg_options *options, int32_t *path, char *reason,
                                         int64_t reason_len);

/* Solves A X = B for a host row-major N x nrhs b, overwritten by X. Multi path: A is left holding
 * its Cholesky factor in the cyclic layout (the same as bunmg_cholesky), unless options.keep.
 * Single path: A is unchanged, in row layout. */
BUNMG_API bunmg_status bunmg_potrs(bunmg_mesh *mesh, bunmg_matrix *a, void *b, int64_t nrhs, bunmg_options *options);
/* A becomes its full Hermitian inverse in row layout. On failure A is unchanged and in row
 * layout, except once the inversion ran (it works on all of A): then A's contents are undefined;
 * if the copy back fails after that, A stays block-cyclic (a->layout says so), and bunmg_to_rows
 * brings it home. */
BUNMG_API bunmg_status bunmg_potri(bunmg_mesh *mesh, bunmg_matrix *a, bunmg_options *options);

#define BUNMG_EIG_VECTORS 1 /* compute eigenvectors into A */
#define BUNMG_EIG_ROWS 2    /* eigenvector k as row k instead of column k (skips a transpose) */
/* Eigenvalues ascending into w (N reals of A's real type). A is back in row layout on return:
 * holding the eigenvectors with BUNMG_EIG_VECTORS, else A unchanged. On failure A is unchanged,
 * except with vectors once the eigensolver ran, as bunmg_potri. syevd's tile is at most 1024. */
BUNMG_API bunmg_status bunmg_syevd(bunmg_mesh *mesh, bunmg_matrix *a, int32_t flags, void *w, bunmg_options *options);

/* A Cholesky factor A = L L^H that stays on the devices. Multi path: it borrows A, which holds it
 * in the cyclic layout. Single path: it owns a dense N x N buffer on mesh position 0 and A stays
 * unchanged. Every call on a factor takes A's descriptor again and refuses (DISPOSED) a matrix
 * that changed since (its generation moved on) or is not the one factored. Destroy factors
 * before their mesh. */
typedef struct bunmg_factor bunmg_factor;
BUNMG_API bunmg_status bunmg_cholesky(bunmg_mesh *mesh, bunmg_matrix *a, bunmg_options *options, bunmg_factor **out);
/* X for a host row-major N x nrhs b, overwritten by X. */
BUNMG_API bunmg_status bunmg_factor_solve(bunmg_factor *factor, const bunmg_matrix *a, void *b, int64_t nrhs);
/* log det A = 2 sum log L_ii (real for Hermitian A). */
BUNMG_API bunmg_status bunmg_factor_logdet(bunmg_factor *factor, const bunmg_matrix *a, double *out);
/* A becomes its full Hermitian inverse, in row layout (A must be in row layout for a single-path
 * factor). The factor is consumed, whatever happens: later calls are DISPOSED. */
BUNMG_API bunmg_status bunmg_factor_inverse(bunmg_factor *factor, bunmg_matrix *a);
/* Which path made the factor, and its tile (0 for the single path). */
BUNMG_API bunmg_status bunmg_factor_info(const bunmg_factor *factor, int32_t *path, int64_t *tile);
/* Frees the factor (a single path's buffer with it; a multi path's A stays as it is). NULL is a no-op. */
BUNMG_API bunmg_status bunmg_factor_destroy(bunmg_factor *factor);

/* Bytes for the routine on the path `path` (AUTO: the one bunmg_choose_path picks), as
 * closed-form bounds (O(devices), nothing allocated or planned). Multi path, per device: out[0]
 * the matrix shard with its slack, out[1] redistribution staging, out[2] the solver's workspace
 * (from its own size query where the backend has one). Single path, on position 0 beyond A's own
 * shards: out[0] the dense N x N matrix, out[1] 0, out[2] the solver's workspace. tile 0: the
 * default. */
BUNMG_API bunmg_status bunmg_estimate_memory(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype,
                                             int64_t tile, int64_t nrhs, int32_t path, uint64_t out[3]);

/* ---- groups: SPMD (a thread per device) and MPMD (a process per device) ----
 * `size` ranks, each owning one device and its row shard of an N x N matrix, meet in a POSIX
 * shared-memory segment named after the job. A collective routine is called by every rank with
 * its own shard; rank 0 runs the sharded routine with every rank's pointer (threads: the address;
 * processes: a cudaIpc handle of the allocation plus an offset, or on the host backend the shm
 * segment of bunmg_group_alloc) while the others wait, and all ranks return the same status and
 * message. Ranks call the same routines in the same order, as in MPI.
 *
 * Every wait for another rank is bounded by the group's timeout and watches the ranks it waits
 * for: a rank that is gone (process dead, thread ended, or left the group) fails the others
 * with PEER_LOST, one that does not arrive in time with TIMEOUT, detail device = that rank.
 * After such a failure the group is broken: every later routine returns the same error. Rank
 * 0's solver itself is not time-limited, only its liveness is watched. Segments are unlinked by
 * their creators on success and failure, those of dead ranks by the ranks that notice, and any
 * left by dead processes by the next group that starts (or bunmg_shm_sweep). Segments are files
 * of mode 0600: other users can neither read nor join them. */
typedef struct bunmg_group bunmg_group;

typedef enum bunmg_group_mode {
  BUNMG_GROUP_THREADS = 0,  /* the ranks are threads of one process (Bun Workers) */
  BUNMG_GROUP_PROCESSES = 1 /* the ranks are processes on one machine (bunmg launch) */
} bunmg_group_mode;

/* Joins rank `rank` of `size` (1..BUNMG_MAX_DEVICES) to job `job` ([A-Za-z0-9_-], 1..64
 * characters). `secret` (1..128 characters of the same set; NULL or "": none) names the launch:
 * every rank of one launch passes the same, each launch its own, so that ranks of two launches
 * of one job id never meet. A rank joins only its launch's meeting; while another launch's live
 * group holds the job id, it waits for it to be free (up to the timeout, then TIMEOUT naming both
 * launches by a fingerprint of their secrets, never the secrets). A meeting whose rank 0 died,
 * and anything in /dev/shm that is not a complete segment of this user, is never joined: this
 * user's garbage is removed, anything else under the job's name is INVALID_ARGUMENT at once.
 * `local` is this rank's one-device mesh; the group borrows it until bunmg_group_leave (leave
 * first, then destroy the mesh). Returns once every rank has joined: TIMEOUT (device = the first
 * missing rank) after timeout_ms (<= 0: 60000). */
BUNMG_API bunmg_status bunmg_group_join(int32_t mode, const char *job, const char *secret, int32_t rank, int32_t size,
                                        bunmg_mesh *local, int64_t timeout_ms, bunmg_group **out);
/* Leaves (the others' waits for this rank fail with PEER_LOST), frees what bunmg_group_alloc
 * gave and is still held, and frees the handle. Not collective. */
BUNMG_API bunmg_status bunmg_group_leave(bunmg_group *group);
/* Memory for this rank's shard on its device, usable with every call on the local mesh. On the
 * host backend in process mode it lives in a shared-memory segment rank 0 can map; otherwise it
 * is bunmg_alloc on the local mesh. */
BUNMG_API bunmg_status bunmg_group_alloc(bunmg_group *group, uint64_t bytes, void **out);
BUNMG_API bunmg_status bunmg_group_free(bunmg_group *group, void *ptr);

/* The collective routines. `local` describes the global matrix and this rank's shard: rows and
 * cols global (square for the solvers), dtype, layout ROWS, shards[0] = this rank's buffer
 * (holding global rows [rank*s, min((rank+1)*s, rows)), s = ceil(rows/size), at its start),
 * capacity = rows that buffer holds, at least bunmg_shard_capacity(rows, tile, size); tile and
 * shards[1..] are ignored. The matrix is back in row layout on return; results in a rank's shard
 * are that rank's rows. Host arrays (b, w) are this rank's own. */
BUNMG_API bunmg_status bunmg_group_fill_random(bunmg_group *group, const bunmg_matrix *local, int32_t kind,
                                               uint64_t seed);
/* Solves A X = B with rank 0's B (host, row-major N x nrhs); every rank's b receives X. A holds
 * its Cholesky factor afterwards (in row layout). */
BUNMG_API bunmg_status bunmg_group_potrs(bunmg_group *group, const bunmg_matrix *local, int64_t tile, void *b,
                                         int64_t nrhs);
/* A becomes its inverse. */
BUNMG_API bunmg_status bunmg_group_potri(bunmg_group *group, const bunmg_matrix *local, int64_t tile);
/* As bunmg_syevd; every rank's w receives the N eigenvalues. */
BUNMG_API bunmg_status bunmg_group_syevd(bunmg_group *group, const bunmg_matrix *local, int64_t tile, int32_t flags,
                                         void *w);

/* Removes this user's /dev/shm/bunmg-* entries that are garbage (not a complete segment: a FIFO,
 * a link, an empty or truncated file, ...) or whose owner process is gone; with a job id (NULL or
 * "": every job) only that job's. Never opens what is not a regular file, never blocks. force
 * (job id required): that job's segments whatever their owner, only those of the launch of
 * `secret` when one is given, for a launcher whose ranks have all exited. `removed` (may be
 * NULL): how many. */
BUNMG_API bunmg_status bunmg_shm_sweep(const char *job, const char *secret, int32_t force, int32_t *removed);

/* ---- diagnostics (bunmg info, bunmg doctor): what this build holds and what it can load ----
 * None of these needs a mesh. Returned strings belong to the library and stay valid while it is
 * loaded. */
/* compiled: 1 when `backend` (bunmg_backend) is compiled in (host always; cuda when the library
 * was built with a CUDA compiler), else 0. */
BUNMG_API bunmg_status bunmg_backend_compiled(int32_t backend, int32_t *compiled);
/* The options the library was built with, as space-separated key=value pairs: version,
 * build_type, cuda (the toolkit's version, or off), cuda_architectures, sanitize, compiler. */
BUNMG_API const char *bunmg_build_options(void);
/* CUDA versions as 1000 * major + 10 * minor: the driver's (0 when there is none) and the
 * runtime's linked into the library (0 without the CUDA backend); devices: the CUDA devices
 * visible. NO_DEVICE when there are none, with the runtime's reason in the last error; the
 * outputs are written either way. */
BUNMG_API bunmg_status bunmg_cuda_probe(int32_t *driver_version, int32_t *runtime_version, int32_t *devices);
/* CUDA device `id` (a runtime ordinal): its name, NUL-terminated within name_bytes; compute
 * capability; total memory (free memory: bunmg_mesh_memory on a mesh of it). Each output may be
 * NULL (not written). Creates no context. */
BUNMG_API bunmg_status bunmg_cuda_device_info(int32_t id, char *name, int32_t name_bytes, int32_t *cc_major,
                                              int32_t *cc_minor, uint64_t *total_bytes);
/* can_access: 1 when device `from` can read and write device `to`'s memory directly
 * (cudaDeviceCanAccessPeer), else 0; 0 for from == to. */
BUNMG_API bunmg_status bunmg_cuda_peer_access(int32_t from, int32_t to, int32_t *can_access);

typedef enum bunmg_runtime_library {
  BUNMG_LIBRARY_LAPACK = 0,     /* the host backend's solvers */
  BUNMG_LIBRARY_CUSOLVERMG = 1, /* the CUDA backend's multi-device solvers */
  BUNMG_LIBRARY_CUSOLVERDN = 2, /* the CUDA backend's single-device path */
  BUNMG_LIBRARY_MPI = 3,        /* the mp engine's Open MPI (libmpi.so.40) */
  BUNMG_LIBRARY_SCALAPACK = 4   /* the mp engine's ScaLAPACK for Open MPI (loads MPI first) */
} bunmg_runtime_library;
/* Loads a library loaded at run time as the solvers do (once per process) and reports it: path,
 * the file loaded ("" when none); version, as the library tells it (cusolverGetProperty,
 * LAPACK's ilaver; "" when it cannot); tried, every candidate in search order with what became
 * of it. LIBRARY_NOT_FOUND with the solvers' message when none loads; UNSUPPORTED for the
 * cuSOLVER libraries without the CUDA backend. Each output may be NULL; the others are written
 * whatever the status. */
BUNMG_API bunmg_status bunmg_library_probe(int32_t library, const char **path, const char **version,
                                           const char **tried);


/* ---- the distributed engine (mp): 2D block-cyclic layouts over a process grid ----
 * One rank per device, prows x pcols ranks. The distributed matrix is the column-major view of
 * the row-major A: it has M = A's row length rows and N = A's rows columns, and A's row i is its
 * column i (for Hermitian A that view is conj(A)). In row layout rank r holds A's rows
 * [r*s, min((r+1)*s, N)), s = ceil(N / ranks), at the start of its buffer. The grid layout is
 * ScaLAPACK's 2D block-cyclic one with MB x NB blocks and RSRC = CSRC = 0: element (i, j) of the
 * distributed matrix (A[j][i]) lives at grid position ((i / MB) % prows, (j / NB) % pcols), local
 * row (i / (MB * prows)) * MB + i % MB and local column (j / (NB * pcols)) * NB + j % NB, stored
 * column-major with the same leading dimension on every rank, LLD = numroc(M, MB, 0, 0, prows)
 * (the largest local row count; ScaLAPACK accepts any LLD >= max(1, LOCr)). Grid position
 * (pr, pc) is rank pr * pcols + pc in row-major order (BLACS "Row"), pc * prows + pr in
 * column-major order. */
#define BUNMG_MAX_RANKS 4096

typedef enum bunmg_grid_order { BUNMG_GRID_ROW_MAJOR = 0, BUNMG_GRID_COL_MAJOR = 1 } bunmg_grid_order;

typedef struct bunmg_grid {
  int64_t m, n;         /* the distributed matrix: A's row length and A's rows */
  int64_t mb, nb;       /* block rows (of A's columns) and block columns (of A's rows) */
  int32_t prows, pcols; /* the process grid */
  int32_t order;        /* bunmg_grid_order */
  int32_t reserved;     /* 0 */
} bunmg_grid;

/* One rank's part of the grid layout. */
typedef struct bunmg_grid_rank {
  int32_t prow, pcol;
  int64_t local_rows, local_cols; /* numroc of M and N: the elements this rank holds */
  int64_t lld;                    /* leading dimension of the local matrix (every rank's) */
  int64_t shard_first, shard_rows; /* A's rows this rank holds in row layout */
  int64_t desc[9]; /* ScaLAPACK's descriptor: 1, context 0 (the engine sets its own), M, N, MB, NB,
                      0, 0, LLD */
} bunmg_grid_rank;

BUNMG_API bunmg_status bunmg_grid_describe(const bunmg_grid *grid, int32_t rank, bunmg_grid_rank *out);
/* Elements each rank's buffer needs so that the row layout, the grid layout and the planner's
 * intermediate layout all fit (the same for every rank). */
BUNMG_API bunmg_status bunmg_grid_capacity(const bunmg_grid *grid, int64_t *elements);
/* Where element (i, j) of the distributed matrix (A[j][i]) lives in the grid layout. */
BUNMG_API bunmg_status bunmg_grid_locate(const bunmg_grid *grid, int64_t i, int64_t j, int32_t *rank,
                                         int64_t *offset);

/* A plan that moves every element between the row layout and the grid layout in place, in each
 * rank's buffer of bunmg_grid_capacity elements. Phase SPLIT, within each rank: each of its rows
 * of A is cut, through one row of staging, into prows slots of LLD elements (the slot for grid
 * row pr holds the row's elements of the block rows pr, pr + prows, ...). Phase EXCHANGE: the
 * slots are permuted across the ranks onto their local columns by chains and cycles of
 * contiguous runs; each cycle stages one run of at most `chunk` elements on one of `lanes`
 * staging slots per rank. Moves of one round are independent; a job's moves are in consecutive
 * rounds of its lane. The way back runs the phases, rounds and moves in reverse order, each move
 * from its destination to its source. */
typedef struct bunmg_grid_plan bunmg_grid_plan;

typedef enum bunmg_grid_phase { BUNMG_GRID_PHASE_SPLIT = 0, BUNMG_GRID_PHASE_EXCHANGE = 1 } bunmg_grid_phase;

typedef struct bunmg_grid_plan_summary {
  int64_t capacity;        /* elements per rank buffer, as bunmg_grid_capacity */
  int64_t lld;             /* elements per slot = the local leading dimension */
  int64_t staging;         /* staging elements per rank the executor allocates */
  int64_t split_moves, split_rounds;
  int64_t exchange_moves, exchange_rounds;
  int64_t pieces;          /* runs of slots that move as one copy in the exchange (before chunking) */
  int64_t fixed;           /* pieces already in place */
  int64_t chains, cycles;  /* exchange jobs (cycles after chunking) */
  int64_t elements_cross;  /* elements moved between ranks (one way) */
  int64_t elements_local;  /* elements copied within a rank, staging included (one way) */
  int64_t largest_move;    /* elements */
} bunmg_grid_plan_summary;

typedef struct bunmg_grid_move {
  int64_t job;      /* the chain or cycle; for SPLIT, the rank's row job */
  int64_t round;    /* within its phase */
  int32_t phase;    /* bunmg_grid_phase */
  int32_t lane;     /* the job's lane: rank * lanes + slot */
  int32_t src_rank, dst_rank;
  int32_t src_staging, dst_staging; /* 1: the offset is in that rank's staging buffer */
  int64_t src_offset, dst_offset, elements;
} bunmg_grid_move;

/* lanes: 1..64 staging slots per rank; chunk: elements per staged run (0: MB * NB). */
BUNMG_API bunmg_status bunmg_grid_plan_create(const bunmg_grid *grid, int32_t lanes, int64_t chunk,
                                              bunmg_grid_plan **out);
BUNMG_API bunmg_status bunmg_grid_plan_destroy(bunmg_grid_plan *plan);
BUNMG_API bunmg_status bunmg_grid_plan_get_summary(const bunmg_grid_plan *plan, bunmg_grid_plan_summary *out);
/* Copies up to `cap` moves (SPLIT then EXCHANGE, by round) into `out`; `count` receives the total. */
BUNMG_API bunmg_status bunmg_grid_plan_get_moves(const bunmg_grid_plan *plan, bunmg_grid_move *out, int64_t cap,
                                                 int64_t *count);

/* Runs a plan over host buffers, one per rank (bunmg_grid_capacity elements of element_bytes
 * each), each rank on its own thread with an in-process transport that matches sends and
 * receives as a network would. flags: BUNMG_GRID_TO_ROWS runs the plan back (grid layout to row
 * layout); BUNMG_GRID_AGREE_PER_PHASE agrees on failures once per phase instead of after every
 * round of the exchange, as a transport whose operations only queue work (NCCL, CUDA streams)
 * does: a failure in the exchange then cannot be rolled back and ends in LAYOUT_LOST. Every wait
 * is bounded by timeout_ms (<= 0: 60000). Otherwise a failure rolls every rank back to the layout
 * it started in; a rank that is lost ends the run with PEER_LOST on the others (their data is
 * then lost, unless the break came in the split: see bunmg_grid_redistribute). fault (may be NULL) injects one fault for tests: {kind, rank, n}, the rank's n-th
 * transport operation (0 = its first) fails, makes the rank die, or stalls it for twice the
 * timeout. statuses (may be NULL) receives every rank's status. */
#define BUNMG_GRID_TO_ROWS 1
#define BUNMG_GRID_AGREE_PER_PHASE 2
typedef enum bunmg_grid_fault {
  BUNMG_GRID_FAULT_NONE = 0,
  BUNMG_GRID_FAULT_FAIL = 1,  /* the operation reports DEVICE_ERROR (a send still delivers, marked bad) */
  BUNMG_GRID_FAULT_DIE = 2,   /* the rank stops, as a killed process would */
  BUNMG_GRID_FAULT_STALL = 3  /* the rank sleeps for twice the timeout first */
} bunmg_grid_fault;
BUNMG_API bunmg_status bunmg_grid_exec_host(const bunmg_grid_plan *plan, void *const *buffers, int32_t element_bytes,
                                            int32_t flags, int64_t timeout_ms, const int64_t *fault, int32_t *statuses);

/* ---- the distributed engine (mp): grid redistributions between the ranks of a group ----
 * A rank of a group (bunmg_group_join; processes or threads of one node, either backend) moves
 * its own host buffer between the row layout and the grid layout, together with the group's
 * other ranks, through shared memory. It is one of the group's collective calls: every rank
 * calls the group's collectives in the same order (one that calls another collective instead is
 * a rank that does not arrive: TIMEOUT). Each rank passes its own plan of the same grid, lanes
 * and chunk (bunmg_grid_plan_create, prows * pcols = the group's size), the same element_bytes
 * (1..1024) and flags (BUNMG_GRID_TO_ROWS: the way back; BUNMG_GRID_AGREE_PER_PHASE: as
 * bunmg_grid_exec_host), and its buffer of buffer_bytes >= bunmg_grid_capacity * element_bytes.
 * Every rank returns the same status:
 *   - bad arguments on a rank, or calls that differ from rank 0's: INVALID_ARGUMENT with that
 *     rank's message (device = the rank); nothing moved and the group stays usable;
 *   - a failed operation: its status (device = the rank), every buffer rolled back to the layout
 *     it started in, or LAYOUT_LOST when that cannot be (bunmg_grid_exec_host's rules);
 *   - a rank that dies: PEER_LOST (device = that rank), seen within milliseconds (each wait
 *     checks every rank's process every 10 ms); a rank that stops taking part: TIMEOUT naming
 *     it after the group's timeout without data moving. The group is broken afterwards. This
 *     rank's buffer is then as it was when the break came before anything crossed between
 *     ranks (while joining, or in the split of the way to the grid), holds its rows when it came
 *     after the exchange of the way back, and is lost otherwise (the message says which).
 * Memory: per call one segment /dev/shm/bunmg-<job>.<meeting id>.g<n>, made by rank 0 and
 * unlinked by it once every rank has mapped it (or when the call fails; a crashed rank 0's is
 * removed by the others, or by the next sweep): a ring of R bytes per ordered pair of ranks,
 * R = 4 MiB / (P (P - 1)) within 4..256 KiB, so at most max(4 MiB, 4 KiB P (P - 1)) in all; and
 * in each rank's own memory, the plan's staging (summary.staging elements). */
BUNMG_API bunmg_status bunmg_grid_redistribute(bunmg_group *group, const bunmg_grid_plan *plan, void *buffer,
                                               uint64_t buffer_bytes, int32_t element_bytes, int32_t flags);

/* For tests: arms one fault for this rank's next bunmg_grid_redistribute, where it fires once:
 * at its join (index ignored), at its index-th copy, send or receive (0 = its first; roll backs
 * count), or at its index-th agreement (0 = the join's, then the executor's). kind:
 * BUNMG_GRID_FAULT_FAIL (the join or the operation reports DEVICE_ERROR; not at an agreement),
 * DIE (the process kills itself with SIGKILL; process mode only), STALL (sleeps for twice the
 * group's timeout first), NONE (disarms). */
typedef enum bunmg_grid_fault_at {
  BUNMG_GRID_AT_JOIN = 0,
  BUNMG_GRID_AT_MOVE = 1,
  BUNMG_GRID_AT_AGREEMENT = 2
} bunmg_grid_fault_at;
BUNMG_API bunmg_status bunmg_grid_debug_inject(bunmg_group *group, int32_t kind, int32_t at, int64_t index);

/* ---- the distributed engine: MPI ranks and ScaLAPACK (mp; on GPUs, bunmg_mp_join_gpu) ----
 * One process per rank, every rank of one MPI job (bunmg launch --engine mp runs mpirun; across
 * nodes the user's mpirun, or srun with PMIx). libbunmg links neither MPI nor ScaLAPACK: it loads
 * Open MPI's libmpi.so.40 ($BUNMG_MPI overrides) and ScaLAPACK for Open MPI
 * (libscalapack-openmpi.so.2.2; $BUNMG_SCALAPACK overrides) when first used; LIBRARY_NOT_FOUND
 * names what is missing and the package that provides it.
 *
 * Every wait for other ranks, ScaLAPACK's calls included (they run on a worker thread the caller
 * watches), is bounded by the handle's timeout and watches the ranks on this host: a rank whose
 * process is gone fails the others with PEER_LOST, one that does not arrive in time with
 * TIMEOUT, detail device = that rank (-1 when unknown). The handle is broken afterwards: every
 * later call returns that failure, work still blocked in MPI is abandoned (with its memory), and
 * MPI cannot be used again in this process, which should exit. mpirun's exit status says nothing
 * reliable about the ranks (docs/mp-engine.md, section 3.2). */
typedef struct bunmg_mp bunmg_mp;

/* Joins the MPI job: initializes MPI once per process (MPI_THREAD_MULTIPLE, MPI_ERRORS_RETURN on
 * MPI_COMM_WORLD and MPI_COMM_SELF), duplicates MPI_COMM_WORLD and exchanges the rank table (pid,
 * start time, host) for the liveness checks. Collective over MPI_COMM_WORLD; outside mpirun MPI
 * starts as a singleton, a job of one rank. One handle per process at a time (INVALID_ARGUMENT
 * while another is joined). timeout_ms <= 0: 60000. */
BUNMG_API bunmg_status bunmg_mp_join(int64_t timeout_ms, bunmg_mp **out);
/* Joins as a rank of the GPU engine: cuSOLVERMp and cuBLASMp (libcusolverMp.so.0,
 * libcublasmp.so.0) over NCCL (libnccl.so.2), loaded at run time from $BUNMG_CUSOLVERMP_LIBRARY,
 * $BUNMG_CUBLASMP_LIBRARY (else beside $BUNMG_CUSOLVERMP_LIBRARY) and $BUNMG_NCCL_LIBRARY when
 * set, else their pip wheels (nvidia-cusolvermp-cu13, nvidia-cublasmp-cu13, nvidia-nccl-cu13), else
 * the loader path; LIBRARY_NOT_FOUND names the one missing, where it was looked for and its
 * package. The rank computes on CUDA device `device` (of this process's visible ones). A process
 * launched as one of several MPI ranks (OMPI_COMM_WORLD_SIZE or PMI_SIZE > 1) joins the MPI job as
 * bunmg_mp_join does and shares rank 0's NCCL id over it; otherwise it is a world of one without
 * MPI. The routines below keep their contract; under this engine the default block is 256, every
 * cuSOLVERMp call runs on the worker under the timeout, the checks read the device's results
 * before anything is copied back, and the eigenvectors' probes multiply by the whole of A (both
 * triangles: a lower triangle that is not the upper one's conjugate fails with SOLVER_ERROR). One
 * handle per process, of either engine. UNSUPPORTED in a build without the engine. */
BUNMG_API bunmg_status bunmg_mp_join_gpu(int64_t timeout_ms, int32_t device, bunmg_mp **out);
/* Frees the handle; not collective. INVALID_ARGUMENT while factors of it are alive. NULL is a
 * no-op. MPI stays initialized until the process exits (the launcher lets ranks exit without
 * MPI_Finalize); a broken handle stays allocated for the work abandoned in it. */
BUNMG_API bunmg_status bunmg_mp_leave(bunmg_mp *mp);
BUNMG_API bunmg_status bunmg_mp_info(const bunmg_mp *mp, int32_t *rank, int32_t *size);

/* This rank's buffer (bunmg_grid_capacity elements of element_bytes) from the row layout to the
 * grid layout, or back with BUNMG_GRID_TO_ROWS, over MPI: the plan of
 * bunmg_grid_plan_create(grid, 1, 0), every rank with the same grid (prows * pcols = ranks). A
 * failed operation rolls every rank back to the layout it started in; after TIMEOUT or PEER_LOST
 * the layout is lost and MPI may still write into the buffer: keep it until the process exits. */
BUNMG_API bunmg_status bunmg_mp_redistribute(bunmg_mp *mp, const bunmg_grid *grid, void *buffer, int32_t element_bytes,
                                             int32_t flags);

/* The routines. `local` is this rank's rows of the N x N matrix A: rows = cols = N, dtype,
 * layout ROWS, shards[0] = this rank's rows (row-major, rows [r*s, min((r+1)*s, N)), s =
 * ceil(N / ranks), at the start of the buffer; NULL when it has none), capacity = the rows that
 * buffer holds (>= its rows); tile and shards[1..] are ignored. The routines read A's upper
 * triangle (row-major, diagonal included). They are collective: every rank calls the same ones in
 * the same order with the same N, dtype, options, nrhs and flags (a rank that differs fails
 * every rank with INVALID_ARGUMENT naming the field), and every rank returns the same status and
 * message; a rank's own failure ("rank r: ...") has detail device = r unless it names another.
 * The engine redistributes a copy of A into the grid layout, runs ScaLAPACK (or cuSOLVERMp)
 * there, checks the result (as the solvers of this header do, and eigenvectors' orthogonality
 * and residual on random probes: SOLVER_ERROR when ||V^H V z - z|| or ||A V z - V diag(w) z||
 * exceeds 30 N eps of its scale) and writes results into A only after every check passed on every rank: on any
 * failure A is unchanged on every rank. Host arrays (b, w) are this rank's own. */
typedef struct bunmg_mp_options {
  int64_t block;        /* MB = NB of the grid layout (square blocks); 0: 64 (ScaLAPACK), 256 (GPU) */
  int32_t prows, pcols; /* the process grid, prows * pcols = ranks; 0 and 0: the squarest with prows
                           <= pcols; one of them 0: the other decides */
  int32_t order;        /* bunmg_grid_order of the ranks on the grid */
  int32_t reserved;     /* 0 */
} bunmg_mp_options;

/* Solves A X = B with rank 0's B (host, row-major N x nrhs; the others' b only receive); every
 * rank's b receives X. A is unchanged. options NULL: the defaults. */
BUNMG_API bunmg_status bunmg_mp_potrs(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                      void *b, int64_t nrhs);
/* A Cholesky factor kept in the grid layout in memory of its own (A is unchanged), for repeated
 * solves. Destroy factors before leaving their handle. */
typedef struct bunmg_mp_factor bunmg_mp_factor;
BUNMG_API bunmg_status bunmg_mp_cholesky(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                         bunmg_mp_factor **out);
/* Collective, as bunmg_mp_potrs. */
BUNMG_API bunmg_status bunmg_mp_factor_solve(bunmg_mp_factor *factor, void *b, int64_t nrhs);
/* log det A = 2 sum log L_ii, the same on every rank; not collective. */
BUNMG_API bunmg_status bunmg_mp_factor_logdet(bunmg_mp_factor *factor, double *out);
/* Frees the factor; not collective. NULL is a no-op. */
BUNMG_API bunmg_status bunmg_mp_factor_destroy(bunmg_mp_factor *factor);
/* A becomes its full Hermitian inverse (each rank: its rows). */
BUNMG_API bunmg_status bunmg_mp_potri(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options);
/* Eigenvalues ascending into every rank's w (N reals of A's real type); with BUNMG_EIG_VECTORS A
 * becomes the eigenvectors (column k the eigenvector of w[k], or row k with BUNMG_EIG_ROWS), else
 * A is unchanged. */
BUNMG_API bunmg_status bunmg_mp_syevd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                      int32_t flags, void *w);

/* Solves A X = B for a general A (all of it read; not Hermitian) by LU with partial pivoting,
 * with rank 0's B as bunmg_mp_potrs; A is unchanged. A zero pivot is SINGULAR (detail index =
 * the pivot, 1-based). */
BUNMG_API bunmg_status bunmg_mp_getrs(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                      void *b, int64_t nrhs);
/* The least squares solution X of min ||A X - B|| for an M x N A (rows = M, cols = N, M >= N,
 * full column rank; all of it read; rows distributed as the routines' rows, s = ceil(M /
 * ranks)), with rank 0's B (host, row-major M x nrhs; every rank passes an M x nrhs b): every
 * rank's b receives X in its first N rows (the rest is left as it was). A is unchanged. M < N is
 * INVALID_ARGUMENT; a rank-deficient A SINGULAR (when the QR finds it). X is checked by its
 * normal equations: SOLVER_ERROR when ||A^H (A X - B)|| > 30 M eps ||A|| (||A|| ||X|| + ||B||). */
BUNMG_API bunmg_status bunmg_mp_gels(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                     void *b, int64_t nrhs);
/* The thin SVD A = U diag(s) V^H of an M x N A (M >= N; all of it read; rows distributed as
 * gels's): the N singular values descending into every rank's s (reals); with BUNMG_EIG_VECTORS
 * A becomes U (M x N, this rank's rows) and v_local (N x N, the row distribution of an N x N
 * matrix, as `local` describes one) receives this rank's rows of V; else A is unchanged and
 * v_local may be NULL. Checked on random probes: SOLVER_ERROR when ||U^H U z - z||,
 * ||V^H V z - z|| or ||A V z - U diag(s) z|| exceeds 30 M eps of its scale, or s is not
 * non-negative and descending. */
BUNMG_API bunmg_status bunmg_mp_gesvd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_mp_options *options,
                                      int32_t flags, void *s, bunmg_matrix *v_local);
/* The generalized eigenproblem A x = w B x, A and B Hermitian (their upper triangles read), B
 * positive definite, `b_local` distributed as `local`: eigenvalues ascending into every rank's w;
 * with BUNMG_EIG_VECTORS A becomes the eigenvectors as bunmg_mp_syevd's, normalized V^H B V = I,
 * else A is unchanged. B is unchanged. B not positive definite: NOT_POSITIVE_DEFINITE (detail
 * index = the minor). The result is checked on random probes: SOLVER_ERROR when ||V^H B V z - z||
 * or ||A V z - B V diag(w) z|| exceeds 30 N eps of its scale. */
BUNMG_API bunmg_status bunmg_mp_sygvd(bunmg_mp *mp, const bunmg_matrix *local, const bunmg_matrix *b_local,
                                      const bunmg_mp_options *options, int32_t flags, void *w);

/* Fault injection for tests: fault on this rank at its n-th event of the kind from now (n = 0:
 * the next one; n < 0: off). events (may be NULL) receives how many events of that kind this
 * rank had since the previous call (counted whether armed or not), so that a test can aim at a
 * routine's last steps. */
typedef enum bunmg_mp_fault {
  BUNMG_MP_FAULT_NONE = 0,
  BUNMG_MP_FAULT_FAIL = 1,      /* a redistribution operation (copy, send, receive) reports
                                   DEVICE_ERROR; its data still moves, as a failed send must let
                                   its receive complete */
  BUNMG_MP_FAULT_DIE = 2,       /* the process kills itself (SIGKILL, as `kill -9` would) at a
                                   communication operation (a redistribution's, a collective's) */
  BUNMG_MP_FAULT_DIE_ENGINE = 3, /* ... when a ScaLAPACK or BLACS call starts on its worker, while the
                                   other ranks enter theirs */
  /* Falsified eigensolver results, for testing bunmg's checks of them; n counts eigensolver calls: */
  BUNMG_MP_FAULT_SKEW_VECTORS = 4, /* this rank's part of the eigenvectors scaled by 1 + 2^-7 */
  BUNMG_MP_FAULT_SKEW_VALUES = 5   /* the largest eigenvalue scaled by 1 + 2^-7 on this rank */
} bunmg_mp_fault;
BUNMG_API bunmg_status bunmg_mp_debug_inject(bunmg_mp *mp, int32_t fault, int64_t n, int64_t *events);


/* ---- rendezvous across nodes (docs/mp-engine.md, sections 1.2 and 3.1) ----
 *
 * A job's ranks meet over TCP at rank 0: rank 0 listens on the address's port (every interface,
 * IPv6 and IPv4), every other rank connects (retrying until its timeout) and sends its job token,
 * rank, world size, host, pid, process start time and local rank. Once all have joined each gets
 * the rank table and rank 0's blob (up to BUNMG_RENDEZVOUS_BLOB_BYTES: NCCL's unique id is 128). A
 * connection with a wrong token, rank or size, a duplicate rank, garbage, or no hello within 2 s
 * is refused, logged on stderr ("bunmg rendezvous: refused ...") and counted; the job still
 * joins. The token keeps other jobs out; the channel is not encrypted.
 *
 * The connections stay open as the liveness channel: a heartbeat every 100 ms both ways; a closed
 * connection or 350 ms without a byte marks the peer lost, and rank 0 tells every other rank
 * ("rank k lost"); a rank that loses rank 0 reports rank 0. The first failure (PEER_LOST or
 * TIMEOUT, detail device = that rank) breaks the handle: every later call but leave returns it,
 * with the same message on every rank. */
#define BUNMG_RENDEZVOUS_BLOB_BYTES 256
#define BUNMG_RENDEZVOUS_TOKEN_BYTES 64
#define BUNMG_RENDEZVOUS_HOST_BYTES 64
typedef struct bunmg_rendezvous bunmg_rendezvous;

typedef struct bunmg_rendezvous_options {
  const char *address;  /* rank 0's "host:port" ("[v6 address]:port"); rank 0 listens on port */
  const char *token;    /* the job's secret, 1 to BUNMG_RENDEZVOUS_TOKEN_BYTES bytes */
  int32_t rank, size;   /* 0 <= rank < size <= 65536 */
  int32_t local_rank;   /* which device on its node; -1: unknown */
  int32_t reserved;     /* 0 */
  int64_t timeout_ms;   /* the join's and every collective's; <= 0: 60000 */
} bunmg_rendezvous_options;

/* One rank of the table. */
typedef struct bunmg_rendezvous_peer {
  int32_t rank, local_rank;
  int64_t pid;
  uint64_t start;                          /* process start time, clock ticks after boot */
  char host[BUNMG_RENDEZVOUS_HOST_BYTES];  /* gethostname, NUL-terminated */
} bunmg_rendezvous_peer;

/* Joins the job. Rank 0 gives the blob (blob_bytes 0..BUNMG_RENDEZVOUS_BLOB_BYTES); the others'
 * blob is ignored. TIMEOUT naming the lowest rank missing at rank 0's deadline (every rank that
 * joined reports the same), PEER_LOST naming a rank that died while joining, INVALID_ARGUMENT
 * when rank 0 refused this rank (why) or rank 0 cannot listen. */
BUNMG_API bunmg_status bunmg_rendezvous_join(const bunmg_rendezvous_options *options, const void *blob,
                                             int64_t blob_bytes, bunmg_rendezvous **out);
/* rank, size, rank 0's blob size and (rank 0 only; else 0) the connections it refused. */
BUNMG_API bunmg_status bunmg_rendezvous_info(const bunmg_rendezvous *rv, int32_t *rank, int32_t *size,
                                             int64_t *blob_bytes, int64_t *refused);
/* Rank 0's blob into out (bytes = its size). */
BUNMG_API bunmg_status bunmg_rendezvous_blob(const bunmg_rendezvous *rv, void *out, int64_t bytes);
/* The table's entry of `rank`. */
BUNMG_API bunmg_status bunmg_rendezvous_peer_info(const bunmg_rendezvous *rv, int32_t rank,
                                                  bunmg_rendezvous_peer *out);
/* Non-blocking liveness: OK, or the failure that broke the handle. */
BUNMG_API bunmg_status bunmg_rendezvous_check(bunmg_rendezvous *rv);
/* Agreement: every rank gives its status; OK with *first_rank the lowest rank whose status is not
 * OK and *status its status (-1 and OK when none). Collective, in the same order on every rank
 * with bunmg_rendezvous_bcast; TIMEOUT naming a rank that does not come within the timeout,
 * PEER_LOST naming one that is lost. */
BUNMG_API bunmg_status bunmg_rendezvous_agree(bunmg_rendezvous *rv, int32_t mine_status, int32_t *first_rank,
                                              int32_t *status);
/* Rank 0's `bytes` of buf into every rank's buf (written only when every rank got them; every
 * rank passes the same bytes, else INVALID_ARGUMENT naming the rank on every rank). Collective. */
BUNMG_API bunmg_status bunmg_rendezvous_bcast(bunmg_rendezvous *rv, void *buf, int64_t bytes);
/* Tells the peers this rank leaves (not a loss), closes its connections, stops its thread, frees
 * the handle. Not collective. NULL is a no-op. */
BUNMG_API bunmg_status bunmg_rendezvous_leave(bunmg_rendezvous *rv);

/* Fault injection for tests, one-shot. */
typedef enum bunmg_rendezvous_fault {
  BUNMG_RENDEZVOUS_FAULT_NONE = 0,
  BUNMG_RENDEZVOUS_FAULT_SILENT = 1,       /* rv stops sending heartbeats; its connections stay open */
  BUNMG_RENDEZVOUS_FAULT_DIE_AT_JOIN = 2,  /* rv NULL: this process's next join kills the process
                                              (SIGKILL) once its hello is sent (rank 0: once it has
                                              taken one hello) */
  BUNMG_RENDEZVOUS_FAULT_DIE_AT_AGREE = 3  /* rv's next agreement kills the process before it votes */
} bunmg_rendezvous_fault;
BUNMG_API bunmg_status bunmg_rendezvous_debug_inject(bunmg_rendezvous *rv, int32_t fault);

#ifdef __cplusplus
}
#endif
#endif
