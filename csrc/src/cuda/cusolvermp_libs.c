/* The GPU engine's libraries, loaded at run time (NCCL, then cuBLASMp, then cuSOLVERMp, which
 * links both), and their statuses as bunmg's. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cusolvermp_libs.h"

mp_nccl bunmg_nccl;
mp_cublasmp bunmg_cublasmp;
mp_cusolvermp bunmg_cusolvermp;

static const bunmg_symbol nccl_symbols[] = {
    {"ncclGetVersion", &bunmg_nccl.get_version},       {"ncclGetUniqueId", &bunmg_nccl.get_unique_id},
    {"ncclCommInitRankConfig", &bunmg_nccl.init_rank_config}, {"ncclCommGetAsyncError", &bunmg_nccl.async_error},
    {"ncclCommFinalize", &bunmg_nccl.finalize},        {"ncclCommDestroy", &bunmg_nccl.destroy},
    {"ncclCommAbort", &bunmg_nccl.abort},              {"ncclGetErrorString", &bunmg_nccl.error_string},
};

static const bunmg_symbol cublasmp_symbols[] = {
    {"cublasMpCreate", &bunmg_cublasmp.create},
    {"cublasMpDestroy", &bunmg_cublasmp.destroy},
    {"cublasMpGridCreate", &bunmg_cublasmp.grid_create},
    {"cublasMpGridDestroy", &bunmg_cublasmp.grid_destroy},
    {"cublasMpMatrixDescriptorCreate", &bunmg_cublasmp.desc_create},
    {"cublasMpMatrixDescriptorDestroy", &bunmg_cublasmp.desc_destroy},
    {"cublasMpGemm_bufferSize", &bunmg_cublasmp.gemm_size},
    {"cublasMpGemm", &bunmg_cublasmp.gemm},
    {"cublasMpGeadd_bufferSize", &bunmg_cublasmp.geadd_size},
    {"cublasMpGeadd", &bunmg_cublasmp.geadd},
    {"cublasMpTrsm_bufferSize", &bunmg_cublasmp.trsm_size},
    {"cublasMpTrsm", &bunmg_cublasmp.trsm},
};

static const bunmg_symbol cusolvermp_symbols[] = {
    {"cusolverMpCreate", &bunmg_cusolvermp.create},
    {"cusolverMpDestroy", &bunmg_cusolvermp.destroy},
    {"cusolverMpCreateDeviceGrid", &bunmg_cusolvermp.grid_create},
    {"cusolverMpDestroyGrid", &bunmg_cusolvermp.grid_destroy},
    {"cusolverMpCreateMatrixDesc", &bunmg_cusolvermp.desc_create},
    {"cusolverMpDestroyMatrixDesc", &bunmg_cusolvermp.desc_destroy},
    {"cusolverMpPotrf_bufferSize", &bunmg_cusolvermp.potrf_size},
    {"cusolverMpPotrf", &bunmg_cusolvermp.potrf},
    {"cusolverMpPotrs_bufferSize", &bunmg_cusolvermp.potrs_size},
    {"cusolverMpPotrs", &bunmg_cusolvermp.potrs},
    {"cusolverMpSyevd_bufferSize", &bunmg_cusolvermp.syevd_size},
    {"cusolverMpSyevd", &bunmg_cusolvermp.syevd},
    {"cusolverMpLaset", &bunmg_cusolvermp.laset},
    {"cusolverMpGetrf_bufferSize", &bunmg_cusolvermp.getrf_size},
    {"cusolverMpGetrf", &bunmg_cusolvermp.getrf},
    {"cusolverMpGetrs_bufferSize", &bunmg_cusolvermp.getrs_size},
    {"cusolverMpGetrs", &bunmg_cusolvermp.getrs},
    {"cusolverMpGels_bufferSize", &bunmg_cusolvermp.gels_size},
    {"cusolverMpGels", &bunmg_cusolvermp.gels},
    {"cusolverMpGesvdDescriptorCreate", &bunmg_cusolvermp.gesvd_desc_create},
    {"cusolverMpGesvdDescriptorDestroy", &bunmg_cusolvermp.gesvd_desc_destroy},
    {"cusolverMpGesvdDescriptorSetAttribute", &bunmg_cusolvermp.gesvd_desc_set},
    {"cusolverMpGesvd_bufferSize", &bunmg_cusolvermp.gesvd_size},
    {"cusolverMpGesvd", &bunmg_cusolvermp.gesvd},
};

#define COUNT(a) (sizeof a / sizeof *a)
static bunmg_library nccl_library = {"NCCL", "BUNMG_NCCL_LIBRARY", NULL, nccl_symbols, COUNT(nccl_symbols), 0,
                                     "libnccl.so.2", "nvidia/nccl/lib", "the nvidia-nccl-cu13 pip package"};
static bunmg_library cublasmp_library = {"cuBLASMp", "BUNMG_CUBLASMP_LIBRARY", NULL, cublasmp_symbols,
                                         COUNT(cublasmp_symbols), 0, "libcublasmp.so.0", "nvidia/cublasmp/cu13/lib",
                                         "the nvidia-cublasmp-cu13 pip package"};
static bunmg_library cusolvermp_library = {"cuSOLVERMp", "BUNMG_CUSOLVERMP_LIBRARY", NULL, cusolvermp_symbols,
                                           COUNT(cusolvermp_symbols), 0, "libcusolverMp.so.0", "nvidia/cu13/lib",
                                           "the nvidia-cusolvermp-cu13 pip package"};

/* cuBLASMp beside an explicit cuSOLVERMp, when its own variable does not name it. */
static void preload_cublasmp_beside(void) {
  const char *mine = getenv("BUNMG_CUBLASMP_LIBRARY"), *solver = getenv("BUNMG_CUSOLVERMP_LIBRARY");
  const char *slash = solver ? strrchr(solver, '/') : NULL;
  if ((mine && *mine) || !slash) return;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%.*s/libcublasmp.so.0", (int)(slash - solver), solver);
  (void)dlopen(path, RTLD_NOW | RTLD_GLOBAL); /* found by soname below when it is there */
}

bunmg_status bunmg_cusolvermp_load(void) {
  bunmg_status st = bunmg_library_load(&nccl_library);
  if (st == BUNMG_OK) {
    preload_cublasmp_beside();
    st = bunmg_library_load(&cublasmp_library);
  }
  return st == BUNMG_OK ? bunmg_library_load(&cusolvermp_library) : st;
}

bunmg_status bunmg_mp_cuda(cudaError_t e, const char *call) {
  if (e == cudaSuccess) return BUNMG_OK;
  (void)cudaGetLastError();
  return bunmg_fail(e == cudaErrorMemoryAllocation ? BUNMG_OUT_OF_MEMORY : BUNMG_DEVICE_ERROR, "%s failed: %s (%s)", call,
                    cudaGetErrorString(e), cudaGetErrorName(e));
}

bunmg_status bunmg_mp_cublasmp(cublasMpStatus_t s, const char *call) {
  if (s == CUBLASMP_STATUS_SUCCESS) return BUNMG_OK;
  (void)cudaGetLastError();
  return bunmg_fail(s == CUBLASMP_STATUS_ALLOCATION_FAILED ? BUNMG_OUT_OF_MEMORY : BUNMG_SOLVER_ERROR,
                    "%s failed: cublasMpStatus_t %d", call, (int)s);
}

bunmg_status bunmg_mp_nccl(ncclResult_t r, const char *call) {
  if (r == ncclSuccess) return BUNMG_OK;
  return bunmg_fail(BUNMG_DEVICE_ERROR, "%s failed: %s (%d)", call, bunmg_nccl.error_string(r), (int)r);
}

bunmg_status bunmg_mp_device_alloc(void **p, size_t bytes, const char *what) {
  cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
  if (e == cudaSuccess) return BUNMG_OK;
  *p = NULL;
  (void)cudaGetLastError();
  return bunmg_fail(e == cudaErrorMemoryAllocation ? BUNMG_OUT_OF_MEMORY : BUNMG_DEVICE_ERROR,
                    "cudaMalloc of %zu bytes for %s failed: %s", bytes, what, cudaGetErrorString(e));
}

bunmg_status bunmg_mp_workspace_alloc(mp_workspace *w, const char *what) {
  bunmg_status st = bunmg_mp_device_alloc(&w->device, w->device_bytes, what);
  if (st == BUNMG_OK && !(w->host = malloc(w->host_bytes ? w->host_bytes : 1)))
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %s (%zu bytes)", what, w->host_bytes);
  return st;
}

void bunmg_mp_workspace_free(mp_workspace *w) {
  if (w->device) cudaFree(w->device);
  free(w->host);
  *w = (mp_workspace){0};
}
