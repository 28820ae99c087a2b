/* Private to the CUDA backend: the per-mesh state and the helpers its files share.
 * Plain C so that cusolvermg.c (C) and the .cu files (C++) see the same declarations. */
#ifndef BUNMG_CUDA_INTERNAL_H
#define BUNMG_CUDA_INTERNAL_H

#include <cuda_runtime_api.h>

#include "core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BUNMG_CUDA_LANES 2 /* streams per mesh position: two copy queues, both directions busy */

typedef struct bunmg_mg bunmg_mg; /* cuSOLVERMg handle, grid, descriptors, workspace */
typedef struct bunmg_dn bunmg_dn; /* cuSOLVERDn handles and workspaces, per mesh position */

typedef struct bunmg_cuda_state {
  /* 1 when every pair of distinct devices of the mesh has peer access (kernels read peers) */
  int32_t peer_ok;
  int32_t ngpu;                         /* distinct CUDA devices in the mesh */
  int32_t gpu_pos[BUNMG_MAX_DEVICES];   /* the first mesh position of each, in mesh order */
  cudaStream_t lane[BUNMG_MAX_DEVICES][BUNMG_CUDA_LANES]; /* NULL where creation never ran */
  bunmg_mg *mg;                                           /* created on the first solver call */
  bunmg_dn *dn;                                           /* created on the first dense call */
  unsigned long long *scan_result[BUNMG_MAX_DEVICES];     /* find_nonfinite's answer, per position */
  cudaEvent_t lane_event[BUNMG_MAX_DEVICES][BUNMG_CUDA_LANES]; /* for barrier(); NULL until first used */
  void *strided[BUNMG_MAX_DEVICES]; /* gather/scatter_strided's packing buffer: grows only */
  size_t strided_bytes[BUNMG_MAX_DEVICES];
} bunmg_cuda_state;

static inline bunmg_cuda_state *bunmg_cuda_state_of(const bunmg_mesh *mesh) {
  return (bunmg_cuda_state *)mesh->state;
}

/* ---- cuda_backend.cu ---- */
/* Records a failed CUDA call as BUNMG_DEVICE_ERROR at mesh position pos, clears the runtime's
 * (non-sticky) error and returns the status. */
bunmg_status bunmg_cuda_fail(const bunmg_mesh *mesh, int32_t pos, const char *call,
                             cudaError_t err);
static inline bunmg_status bunmg_cuda_check(const bunmg_mesh *mesh, int32_t pos,
                                            const char *call, cudaError_t err) {
  return err == cudaSuccess ? BUNMG_OK : bunmg_cuda_fail(mesh, pos, call, err);
}
/* For functions with cleanup: needs `mesh`, a bunmg_status `status` and a `done:` label.
 * CUDA_TRY(pos, cudaFoo, (a, b)) calls cudaFoo(a, b) and names cudaFoo in the error. */
#define CUDA_TRY(pos, fn, args)                                              \
  do {                                                                       \
    if ((status = bunmg_cuda_check(mesh, (pos), #fn, fn args)) != BUNMG_OK) \
      goto done;                                                             \
  } while (0)
/* cudaSetDevice to the CUDA device of mesh position pos. */
bunmg_status bunmg_cuda_use(const bunmg_mesh *mesh, int32_t pos);
/* cudaMalloc on pos, with the out-of-memory message; not accounted in mesh->held. */
bunmg_status bunmg_cuda_malloc(bunmg_mesh *mesh, int32_t pos, size_t bytes, void **out);
void bunmg_cuda_free(bunmg_mesh *mesh, int32_t pos, void *ptr);
/* The same, accounted in mesh->held[pos]: device memory the backend owns (workspaces). */
bunmg_status bunmg_held_alloc(bunmg_mesh *mesh, int32_t pos, size_t bytes, void **out);
/* Frees *ptr (bytes long) when set, and clears it. */
void bunmg_held_free(bunmg_mesh *mesh, int32_t pos, void **ptr, size_t bytes);
/* Waits for every lane of every position; reports the first error, still waits for the rest. */
bunmg_status bunmg_cuda_sync(bunmg_mesh *mesh);

/* ---- cuda_kernels.cu, cuda_fill.cu ---- */
bunmg_status bunmg_cuda_fixup(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t mode);
bunmg_status bunmg_cuda_fill(bunmg_mesh *mesh, const bunmg_matrix *m, int32_t kind, uint64_t seed);
/* ---- cuda_scan.cu ---- */
bunmg_status bunmg_cuda_find_nonfinite(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t ld,
                                       int32_t dtype, int64_t *found);
/* One block's scan queued on `stream`: *found (device) becomes the answer, all ones for none. */
bunmg_status bunmg_cuda_scan_async(bunmg_mesh *mesh, const bunmg_scan *scan, int64_t ld, int32_t dtype,
                                   unsigned long long *found, cudaStream_t stream);
/* The dense matrix on position pos into m's row shards turned by `mode`, queued on `stream`;
 * skipped on the device when *guard (the scan's answer) found something. */
bunmg_status bunmg_cuda_scatter(bunmg_mesh *mesh, int32_t pos, const void *dense, const bunmg_matrix *m, int32_t mode,
                                const unsigned long long *guard, cudaStream_t stream);
/* dst (device, column-major n x count, ld n) = columns [first, first + count) of the identity, queued. */
bunmg_status bunmg_cuda_set_identity(bunmg_mesh *mesh, int32_t pos, void *dst, int64_t n, int64_t first,
                                     int64_t count, int32_t dtype, cudaStream_t stream);
void bunmg_cuda_scan_destroy(bunmg_mesh *mesh); /* frees the answer slots */

/* ---- loader.c: the cuSOLVER libraries, loaded at run time ---- */
typedef struct bunmg_symbol {
  const char *name;
  void *slot; /* the address of a function pointer that dlsym's result is copied into */
} bunmg_symbol;

typedef struct bunmg_library {
  const char *what; /* "cuSOLVERMg", for messages */
  const char *env;  /* an environment variable naming the library's path: tried alone when set */
  const char *base; /* "libcusolverMg": tried as base.so.12 (CUDA 13) and base.so.11 (CUDA 11.1-12),
                       by soname, in /usr/local/cuda/lib64, then in the nvidia-cusolver pip wheels
                       (nvidia/cu13/lib, nvidia/cusolver/lib) */
  const bunmg_symbol *symbols;
  size_t nsymbols;
  int loaded; /* set once every symbol is resolved; never unloaded */
  /* A library outside cuSOLVER's naming (NCCL, cuSOLVERMp, cuBLASMp): its soname
   * ("libnccl.so.2"), tried in the pip wheels' folder `wheel` ("nvidia/nccl/lib") and then by the
   * loader path, instead of base; `package` (the pip package) for messages. Opened RTLD_GLOBAL,
   * as the libraries that need it find it by soname. */
  const char *soname, *wheel, *package;
} bunmg_library;

/* Loads the library once per process (thread-safe); LIBRARY_NOT_FOUND names what was tried. */
bunmg_status bunmg_library_load(bunmg_library *library);
/* What the last bunmg_library_load of `library` found, for bunmg doctor: the file loaded ("" when
 * none), every candidate looked at with its outcome, and the handle once every symbol resolved
 * (else NULL). */
void bunmg_library_report(const bunmg_library *library, const char **path, const char **looked, void **handle);
/* The two cuSOLVER libraries of cusolvermg.c and cusolverdn.c, for bunmg doctor (probe.c). */
extern bunmg_library *const bunmg_cusolvermg_library;
extern bunmg_library *const bunmg_cusolverdn_library;
/* SOLVER_ERROR naming the routine and the cusolverStatus_t unless s is 0 (success). */
bunmg_status bunmg_cusolver_check(int s, const char *routine);
const char *bunmg_cusolver_status_name(int s);
int bunmg_cuda_data_type(int32_t dtype); /* cudaDataType of a bunmg_dtype */
int bunmg_cuda_real_type(int32_t dtype); /* cudaDataType of its real type (eigenvalues) */

/* ---- cusolvermg.c: the solver ops and their per-mesh state ---- */
bunmg_status bunmg_mg_potrf(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
bunmg_status bunmg_mg_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs,
                            int64_t *info);
bunmg_status bunmg_mg_potri(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info);
bunmg_status bunmg_mg_syevd(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t vectors, void *w,
                            int64_t *info);
bunmg_status bunmg_mg_workspace_bytes(bunmg_mesh *mesh, int32_t routine, int64_t n,
                                      int32_t dtype, int64_t tile, int64_t nrhs,
                                      uint64_t *bytes);
/* Frees everything bunmg_mg_* created for the mesh (safe when nothing was). */
void bunmg_mg_destroy(bunmg_mesh *mesh);

/* ---- cusolverdn.c: the dense ops (bunmg_backend_ops.dense_*) on one mesh position ---- */
bunmg_status bunmg_dn_scan(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, int64_t *found);
bunmg_status bunmg_dn_diagonal(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t ld, int64_t count, int32_t dtype,
                               void *host);
bunmg_status bunmg_dn_potrf(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info);
bunmg_status bunmg_dn_potrs(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, const void *b,
                            void *x, int64_t nrhs, int64_t *info);
bunmg_status bunmg_dn_solve_identity(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, void *dst,
                                     int64_t first, int64_t count, int64_t *info);
bunmg_status bunmg_dn_scatter(bunmg_mesh *mesh, int32_t dev, const void *a, const bunmg_matrix *m, int32_t mode,
                              const int64_t *found);
bunmg_status bunmg_dn_wait(bunmg_mesh *mesh, int32_t dev);
bunmg_status bunmg_dn_potri(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info);
bunmg_status bunmg_dn_syevd(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int32_t vectors,
                            void *w, int64_t *info);
bunmg_status bunmg_dn_workspace(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype,
                                int64_t nrhs, uint64_t *bytes);
/* Frees every handle and workspace bunmg_dn_* created for the mesh (safe when nothing was). */
void bunmg_dn_destroy(bunmg_mesh *mesh);

#ifdef __cplusplus
}
#endif
#endif
