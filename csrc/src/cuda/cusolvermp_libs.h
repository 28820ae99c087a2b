/* NCCL, cuBLASMp and cuSOLVERMp, loaded at run time (loader.c) for the GPU engine of mp
 * (cusolvermp_world.c, cusolvermp_engine.c). The pointers take their types from NVIDIA's headers,
 * so a call that does not match them does not compile. */
#ifndef BUNMG_CUDA_CUSOLVERMP_LIBS_H
#define BUNMG_CUDA_CUSOLVERMP_LIBS_H

#include <cublasmp.h>
#include <cusolverMp.h>
#include <nccl.h>

#include "cuda/cuda_internal.h"
#include "mp/mp_call.h"

typedef struct mp_nccl {
  __typeof__(ncclGetVersion) *get_version;
  __typeof__(ncclGetUniqueId) *get_unique_id;
  __typeof__(ncclCommInitRankConfig) *init_rank_config;
  __typeof__(ncclCommGetAsyncError) *async_error;
  __typeof__(ncclCommFinalize) *finalize;
  __typeof__(ncclCommDestroy) *destroy;
  __typeof__(ncclCommAbort) *abort;
  __typeof__(ncclGetErrorString) *error_string;
} mp_nccl;

typedef struct mp_cublasmp {
  __typeof__(cublasMpCreate) *create;
  __typeof__(cublasMpDestroy) *destroy;
  __typeof__(cublasMpGridCreate) *grid_create;
  __typeof__(cublasMpGridDestroy) *grid_destroy;
  __typeof__(cublasMpMatrixDescriptorCreate) *desc_create;
  __typeof__(cublasMpMatrixDescriptorDestroy) *desc_destroy;
  __typeof__(cublasMpGemm_bufferSize) *gemm_size;
  __typeof__(cublasMpGemm) *gemm;
  __typeof__(cublasMpGeadd_bufferSize) *geadd_size;
  __typeof__(cublasMpGeadd) *geadd;
  __typeof__(cublasMpTrsm_bufferSize) *trsm_size;
  __typeof__(cublasMpTrsm) *trsm;
} mp_cublasmp;

typedef struct mp_cusolvermp {
  __typeof__(cusolverMpCreate) *create;
  __typeof__(cusolverMpDestroy) *destroy;
  __typeof__(cusolverMpCreateDeviceGrid) *grid_create;
  __typeof__(cusolverMpDestroyGrid) *grid_destroy;
  __typeof__(cusolverMpCreateMatrixDesc) *desc_create;
  __typeof__(cusolverMpDestroyMatrixDesc) *desc_destroy;
  __typeof__(cusolverMpPotrf_bufferSize) *potrf_size;
  __typeof__(cusolverMpPotrf) *potrf;
  __typeof__(cusolverMpPotrs_bufferSize) *potrs_size;
  __typeof__(cusolverMpPotrs) *potrs;
  __typeof__(cusolverMpSyevd_bufferSize) *syevd_size;
  __typeof__(cusolverMpSyevd) *syevd;
  __typeof__(cusolverMpLaset) *laset;
} mp_cusolvermp;

extern mp_nccl bunmg_nccl;
extern mp_cublasmp bunmg_cublasmp;
extern mp_cusolvermp bunmg_cusolvermp;

/* The three libraries, NCCL first (cuBLASMp and cuSOLVERMp find it, and cuBLASMp, by soname):
 * LIBRARY_NOT_FOUND naming the library, where it was looked for and its pip package. */
bunmg_status bunmg_cusolvermp_load(void);

/* A process grid of the world (cuSOLVERMp's and cuBLASMp's), made once per shape. */
typedef struct mp_gpu_grid {
  int32_t used, prows, pcols, order;
  cusolverMpGrid_t solver;
  cublasMpGrid_t blas;
} mp_gpu_grid;

/* The GPU engine's world (bunmg_mp.gpu). */
struct mp_gpu {
  int32_t device;
  cudaStream_t stream;
  ncclComm_t comm;
  cusolverMpHandle_t solver;
  cublasMpHandle_t blas;
  cublasHandle_t local_blas; /* cuBLAS, for 1 x 1 grids (cusolvermp_blas.c); NULL until used */
  mp_gpu_grid grids[MP_BLACS_GRIDS];
};

/* A call's device state (mp_call.state). */
typedef struct mp_gpu_call {
  const mp_gpu_grid *grid;
  cusolverMpMatrixDescriptor_t desc_a, desc_b; /* A's (N x N), B's (N x nrhs) */
  cublasMpMatrixDescriptor_t blas_a, blas_p;   /* A's and the probes' (N x MP_PROBES), larger grids only */
  int *info;                                   /* device */
  void *b, *w, *p, *gp, *t1, *t2;              /* device */
} mp_gpu_call;

/* The products the engine needs (cusolvermp_blas.c), on the call's stream, synchronized:
 * out = op(a) b for an N x N a with A's distribution and N x MP_PROBES b and out (the probes');
 * to = op(from), both N x N; b = op(L)^-1 b with the call's matrix's lower triangle L, b N x nrhs
 * with leading dimension ldb (desc_b: its cuBLASMp descriptor on larger grids). */
bunmg_status bunmg_mp_blas_gemm(mp_call *c, cublasOperation_t op, const void *a, const void *b, void *out);
bunmg_status bunmg_mp_blas_geadd(mp_call *c, cublasOperation_t op, const void *from, void *to);
bunmg_status bunmg_mp_blas_trsm(mp_call *c, cublasOperation_t op, void *b, int64_t nrhs, int64_t ldb,
                                cublasMpMatrixDescriptor_t desc_b);
void bunmg_mp_blas_destroy(struct mp_gpu *g);

/* Device memory of `bytes` (1 when 0) for `what`: OUT_OF_MEMORY or DEVICE_ERROR naming it. */
bunmg_status bunmg_mp_device_alloc(void **p, size_t bytes, const char *what);
/* A library call's workspaces, device and host, of the sizes its buffer-size query gave. */
typedef struct mp_workspace {
  size_t device_bytes, host_bytes;
  void *device, *host;
} mp_workspace;
bunmg_status bunmg_mp_workspace_alloc(mp_workspace *w, const char *what);
void bunmg_mp_workspace_free(mp_workspace *w);

/* Failures as bunmg statuses naming the call: CUDA's (OUT_OF_MEMORY or DEVICE_ERROR), cuBLASMp's
 * and NCCL's (SOLVER_ERROR, DEVICE_ERROR). */
bunmg_status bunmg_mp_cuda(cudaError_t e, const char *call);
bunmg_status bunmg_mp_cublasmp(cublasMpStatus_t s, const char *call);
bunmg_status bunmg_mp_nccl(ncclResult_t r, const char *call);

extern const mp_engine bunmg_cusolvermp_engine;

#endif
