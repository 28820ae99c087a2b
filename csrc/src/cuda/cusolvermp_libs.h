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
  __typeof__(cusolverMpGetrf_bufferSize) *getrf_size;
  __typeof__(cusolverMpGetrf) *getrf;
  __typeof__(cusolverMpGetrs_bufferSize) *getrs_size;
  __typeof__(cusolverMpGetrs) *getrs;
  __typeof__(cusolverMpGels_bufferSize) *gels_size;
  __typeof__(cusolverMpGels) *gels;
  __typeof__(cusolverMpGesvdDescriptorCreate) *gesvd_desc_create;
  __typeof__(cusolverMpGesvdDescriptorDestroy) *gesvd_desc_destroy;
  __typeof__(cusolverMpGesvdDescriptorSetAttribute) *gesvd_desc_set;
  __typeof__(cusolverMpGesvd_bufferSize) *gesvd_size;
  __typeof__(cusolverMpGesvd) *gesvd;
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
  cusolverMpMatrixDescriptor_t desc_a, desc_b; /* the view G's (A's columns x A's rows), B's (A's rows x nrhs) */
  int *info;                                   /* device */
  int64_t *ipiv;                               /* device: getrs's pivots */
  void *b, *b0, *w, *p, *gp, *t1, *t2, *tm;    /* device: B (then X), B's copy, values, probe blocks */
  void *at, *u;                                /* device: G's adjoint (M x N; gels, gesvd), the SVD's U of it */
  void *second;                                /* device: sygvd's B */
} mp_gpu_call;

/* A distributed device matrix with the call's square blocks: global rows x cols, this rank's
 * part at p with leading dimension lld. */
typedef struct mp_dmat {
  void *p;
  int64_t rows, cols, lld;
} mp_dmat;

/* The products the engine needs (cusolvermp_blas.c), on the call's stream, synchronized:
 * out = alpha op(a) b + beta out; to = alpha op(from) + beta to; b = op(L)^-1 b with L the lower
 * triangle of l; the Frobenius norm of m on every rank (collective). */
bunmg_status bunmg_mp_blas_gemm(mp_call *c, cublasOperation_t op, double alpha, const mp_dmat *a, const mp_dmat *b, double beta,
                                const mp_dmat *out);
bunmg_status bunmg_mp_blas_add(mp_call *c, cublasOperation_t op, double alpha, const mp_dmat *from, double beta,
                               const mp_dmat *to);
bunmg_status bunmg_mp_blas_trsm(mp_call *c, cublasOperation_t op, const mp_dmat *l, const mp_dmat *b);
bunmg_status bunmg_mp_blas_norm(mp_call *c, const mp_dmat *m, double *out);
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
