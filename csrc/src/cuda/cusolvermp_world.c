/* The GPU engine's world (bunmg_mp_join_gpu): the libraries loaded at run time, the rank's
 * device and stream, an NCCL communicator of every rank (made non-blocking and polled under the
 * handle's timeout), the cuSOLVERMp and cuBLASMp handles; and its teardown at leave. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cusolvermp_libs.h"
#include "group/shm.h"

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

/* The communicator, polled until NCCL is done with it: TIMEOUT after the handle's timeout (an
 * other rank that never arrives), the ranks' liveness checked meanwhile. */
static bunmg_status wait_comm(bunmg_mp *mp, const char *what) {
  struct mp_gpu *g = mp->gpu;
  int64_t start = bunmg_now_ms();
  mp_watch watch;
  bunmg_mp_watch_start(&watch, what);
  for (int round = 0;; bunmg_backoff(&round)) {
    ncclResult_t state = ncclInProgress;
    ncclResult_t r = bunmg_nccl.async_error(g->comm, &state);
    if (r != ncclSuccess) return bunmg_mp_nccl(r, "ncclCommGetAsyncError");
    if (state != ncclInProgress) return bunmg_mp_nccl(state, what);
    bunmg_status st = mp->mpi ? bunmg_mp_watch(mp, &watch) : BUNMG_OK;
    if (st != BUNMG_OK) return st;
    if (bunmg_now_ms() - start >= mp->timeout_ms)
      return bunmg_fail_at(BUNMG_TIMEOUT, -1, -1, "%s did not finish within %lld ms", what, (long long)mp->timeout_ms);
  }
}

static bunmg_status open_world(bunmg_mp *mp, int32_t device) {
  struct mp_gpu *g = mp->gpu;
  g->device = device;
  int count = 0;
  bunmg_status st = bunmg_mp_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (st == BUNMG_OK && device >= count)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "device %d: this process sees %d CUDA devices", device, count);
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaSetDevice(device), "cudaSetDevice");
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaFree(0), "cudaFree(0) (the device's context)");
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  ncclUniqueId id;
  memset(&id, 0, sizeof id);
  if (st == BUNMG_OK && mp->rank == 0) st = bunmg_mp_nccl(bunmg_nccl.get_unique_id(&id), "ncclGetUniqueId");
  st = bunmg_mp_agree(mp, st, NULL, NULL, 0, "the GPU engine's join");
  if (st == BUNMG_OK) st = bunmg_mp_bcast(mp, &id, sizeof id, 0, "the broadcast of NCCL's unique id");
  if (st == BUNMG_OK) {
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclResult_t r = bunmg_nccl.init_rank_config(&g->comm, mp->size, id, mp->rank, &config);
    st = r == ncclSuccess || r == ncclInProgress ? wait_comm(mp, "ncclCommInitRankConfig")
                                                 : bunmg_mp_nccl(r, "ncclCommInitRankConfig");
  }
  if (st == BUNMG_OK) st = bunmg_cusolver_check(bunmg_cusolvermp.create(&g->solver, device, g->stream), "cusolverMpCreate");
  if (st == BUNMG_OK) st = bunmg_mp_cublasmp(bunmg_cublasmp.create(&g->blas, g->stream), "cublasMpCreate");
  return bunmg_mp_agree(mp, st, NULL, NULL, 0, "the GPU engine's join");
}

static void close_world(bunmg_mp *mp) {
  struct mp_gpu *g = mp->gpu;
  if (!g) return;
  (void)cudaSetDevice(g->device);
  if (g->stream) (void)cudaStreamSynchronize(g->stream);
  for (int i = 0; i < MP_BLACS_GRIDS; i++) {
    if (g->grids[i].blas) (void)bunmg_cublasmp.grid_destroy(g->grids[i].blas);
    if (g->grids[i].solver) (void)bunmg_cusolvermp.grid_destroy(g->grids[i].solver);
  }
  bunmg_mp_blas_destroy(g);
  if (g->blas) (void)bunmg_cublasmp.destroy(g->blas);
  if (g->solver) (void)bunmg_cusolvermp.destroy(g->solver);
  if (g->comm) {
    ncclResult_t r = bunmg_nccl.finalize(g->comm);
    if ((r != ncclSuccess && r != ncclInProgress) || wait_comm(mp, "ncclCommFinalize") != BUNMG_OK)
      (void)bunmg_nccl.abort(g->comm);
    else
      (void)bunmg_nccl.destroy(g->comm);
  }
  if (g->stream) (void)cudaStreamDestroy(g->stream);
  free(g);
  mp->gpu = NULL;
  bunmg_clear_error();
}

void bunmg_cusolvermp_leave(bunmg_mp *mp) { close_world(mp); }

/* The job's size from its launcher, before MPI is touched: more than one rank needs MPI. */
static int launched_ranks(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
  for (size_t i = 0; i < COUNT(vars); i++) {
    const char *v = getenv(vars[i]);
    if (v && atoi(v) > 1) return atoi(v);
  }
  return 1;
}

static bunmg_status join_gpu(int64_t timeout_ms, int32_t device, bunmg_mp **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp output is NULL");
  *out = NULL;
  if (device < 0 || device >= BUNMG_MAX_DEVICES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "device must be in 0..%d, got %d", BUNMG_MAX_DEVICES - 1, device);
  bunmg_status st = bunmg_cusolvermp_load();
  if (st != BUNMG_OK) return st;
  bunmg_mp *mp = NULL;
  st = launched_ranks() > 1 ? bunmg_mp_join_mpi(timeout_ms, &bunmg_cusolvermp_engine, &mp)
                            : bunmg_mp_join_alone(timeout_ms, &bunmg_cusolvermp_engine, &mp);
  if (st != BUNMG_OK) return st;
  mp->gpu = calloc(1, sizeof *mp->gpu);
  st = mp->gpu ? open_world(mp, device) : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  if (st != BUNMG_OK) {
    char message[1024];
    int64_t index;
    int32_t dev;
    snprintf(message, sizeof message, "%s", bunmg_last_error());
    bunmg_last_error_detail(&index, &dev);
    if (mp->broken == BUNMG_OK) bunmg_mp_leave(mp); /* a broken world stays, as bunmg_mp_join's does */
    return bunmg_fail_at(st, index, dev, "%s", message);
  }
  *out = mp;
  return BUNMG_OK;
}

bunmg_status bunmg_mp_join_gpu(int64_t timeout_ms, int32_t device, bunmg_mp **out) {
  bunmg_clear_error();
  bunmg_status st = join_gpu(timeout_ms, device, out);
  if (st != BUNMG_OK) bunmg_error_prefix("mp_join_gpu: ");
  return st;
}
