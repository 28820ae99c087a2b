/* The GPU engine's world (bunmg_mp_join_gpu): the rank's device and stream, an NCCL communicator
 * of every rank (made non-blocking and polled under the handle's timeout), the cuSOLVERMp and
 * cuBLASMp handles; and its teardown at leave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cusolvermp_libs.h"
#include "group/shm.h"

#define COUNT(a) (sizeof a / sizeof *a)

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
