/* The CUDA backend: devices, peer access, lane streams, buffers and copies. The fix-up kernels
 * live in cuda_kernels.cu and the solvers in cusolvermg.c (multi-device) and cusolverdn.c (one
 * device); this file wires them into the ops table. Nothing here may exit or abort: every CUDA
 * failure becomes a bunmg_status. */
#include <stdlib.h>

#include "cuda/cuda_internal.h"

/* ---- shared helpers (cuda_internal.h) ---- */

bunmg_status bunmg_cuda_fail(const bunmg_mesh *mesh, int32_t pos, const char *call,
                             cudaError_t err) {
  (void)cudaGetLastError(); /* clear a non-sticky error so later calls do not report it again */
  int32_t id = pos >= 0 ? mesh->device_ids[pos] : -1;
  return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, pos, "%s failed on device %d (mesh position %d): %s",
                       call, id, pos, cudaGetErrorString(err));
}

bunmg_status bunmg_cuda_use(const bunmg_mesh *mesh, int32_t pos) {
  return bunmg_cuda_check(mesh, pos, "cudaSetDevice", cudaSetDevice(mesh->device_ids[pos]));
}

bunmg_status bunmg_cuda_malloc(bunmg_mesh *mesh, int32_t pos, size_t bytes, void **out) {
  *out = NULL;
  if (bunmg_fault_fires(mesh, BUNMG_FAULT_ALLOC)) return bunmg_injected_out_of_memory(mesh, pos, bytes);
  bunmg_status status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK) return status;
  cudaError_t err = cudaMalloc(out, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_b = 0, total = 0;
    (void)cudaMemGetInfo(&free_b, &total);
    (void)cudaGetLastError();
    *out = NULL;
    return bunmg_fail_at(BUNMG_OUT_OF_MEMORY, -1, pos,
                         "out of memory on device %d (mesh position %d, cuda id %d): needed %zu "
                         "bytes, %zu free of %zu",
                         pos, pos, mesh->device_ids[pos], bytes, free_b, total);
  }
  if (err != cudaSuccess) *out = NULL;
  return bunmg_cuda_check(mesh, pos, "cudaMalloc", err);
}

void bunmg_cuda_free(bunmg_mesh *mesh, int32_t pos, void *ptr) {
  if (!ptr) return;
  /* Release paths must not replace the error being reported, so failures are only cleared. */
  if (cudaSetDevice(mesh->device_ids[pos]) == cudaSuccess) (void)cudaFree(ptr);
  (void)cudaGetLastError();
}

bunmg_status bunmg_held_alloc(bunmg_mesh *mesh, int32_t pos, size_t bytes, void **out) {
  bunmg_status status = bunmg_cuda_malloc(mesh, pos, bytes, out);
  if (status == BUNMG_OK) mesh->held[pos] += bytes;
  return status;
}

void bunmg_held_free(bunmg_mesh *mesh, int32_t pos, void **ptr, size_t bytes) {
  if (!*ptr) return;
  bunmg_cuda_free(mesh, pos, *ptr);
  mesh->held[pos] -= bytes;
  *ptr = NULL;
}

bunmg_status bunmg_cuda_sync(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  bunmg_status first = BUNMG_OK;
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    for (int32_t l = 0; l < BUNMG_CUDA_LANES; l++) {
      if (!st->lane[pos][l]) continue;
      cudaError_t err = cudaSetDevice(mesh->device_ids[pos]);
      if (err == cudaSuccess) err = cudaStreamSynchronize(st->lane[pos][l]);
      /* keep waiting on the other lanes so nothing is still in flight when we return */
      if (err != cudaSuccess && first == BUNMG_OK)
        first = bunmg_cuda_fail(mesh, pos, "cudaStreamSynchronize", err);
    }
  }
  return first;
}

int32_t bunmg_cuda_count_devices(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0; /* no driver, no GPU, or a driver older than the runtime */
  }
  return count;
}

/* ---- init / shutdown ---- */

static void cuda_shutdown(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  if (!st) return;
  bunmg_mg_destroy(mesh);
  bunmg_dn_destroy(mesh);
  bunmg_cuda_scan_destroy(mesh);
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    bunmg_held_free(mesh, pos, &st->strided[pos], st->strided_bytes[pos]);
    for (int32_t l = 0; l < BUNMG_CUDA_LANES; l++) {
      if (st->lane_event[pos][l] && cudaSetDevice(mesh->device_ids[pos]) == cudaSuccess)
        (void)cudaEventDestroy(st->lane_event[pos][l]);
      st->lane_event[pos][l] = NULL;
      if (!st->lane[pos][l]) continue;
      if (cudaSetDevice(mesh->device_ids[pos]) == cudaSuccess) {
        (void)cudaStreamSynchronize(st->lane[pos][l]);
        (void)cudaStreamDestroy(st->lane[pos][l]);
      }
      st->lane[pos][l] = NULL;
    }
  }
  (void)cudaGetLastError();
  /* Peer access stays enabled: it is per process and another mesh may be using it. */
  free(st);
  mesh->state = NULL;
}

/* First mesh position of each distinct CUDA device, in mesh order. */
static void find_gpus(const bunmg_mesh *mesh, bunmg_cuda_state *st) {
  st->ngpu = 0;
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    int32_t seen = 0;
    for (int32_t k = 0; k < st->ngpu && !seen; k++)
      seen = mesh->device_ids[st->gpu_pos[k]] == mesh->device_ids[pos];
    if (!seen) st->gpu_pos[st->ngpu++] = pos;
  }
}

/* Both directions between every pair of distinct devices that can. The redistribution and the
 * fix-up kernels read peer memory directly; cuSOLVERMg never enables it itself. */
static bunmg_status enable_peers(bunmg_mesh *mesh, bunmg_cuda_state *st) {
  st->peer_ok = 1;
  for (int32_t a = 0; a < st->ngpu; a++) {
    int32_t pa = st->gpu_pos[a];
    for (int32_t b = 0; b < st->ngpu; b++) {
      if (a == b) continue;
      int32_t pb = st->gpu_pos[b];
      int can = 0;
      bunmg_status status = bunmg_cuda_check(
          mesh, pa, "cudaDeviceCanAccessPeer",
          cudaDeviceCanAccessPeer(&can, mesh->device_ids[pa], mesh->device_ids[pb]));
      if (status != BUNMG_OK) return status;
      if (!can) {
        st->peer_ok = 0; /* copies still work (staged by the driver); fix-up kernels do not */
        continue;
      }
      if ((status = bunmg_cuda_use(mesh, pa)) != BUNMG_OK) return status;
      cudaError_t err = cudaDeviceEnablePeerAccess(mesh->device_ids[pb], 0);
      if (err == cudaErrorPeerAccessAlreadyEnabled || err == cudaErrorTooManyPeers) {
        (void)cudaGetLastError();
        if (err == cudaErrorTooManyPeers) st->peer_ok = 0; /* the hardware's peer limit (8) */
        err = cudaSuccess;
      }
      if ((status = bunmg_cuda_check(mesh, pa, "cudaDeviceEnablePeerAccess", err)) != BUNMG_OK)
        return status;
    }
  }
  return BUNMG_OK;
}

static bunmg_status create_lanes(bunmg_mesh *mesh, bunmg_cuda_state *st) {
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    bunmg_status status = bunmg_cuda_use(mesh, pos);
    for (int32_t l = 0; l < BUNMG_CUDA_LANES && status == BUNMG_OK; l++)
      status = bunmg_cuda_check(mesh, pos, "cudaStreamCreateWithFlags",
                                cudaStreamCreateWithFlags(&st->lane[pos][l],
                                                          cudaStreamNonBlocking));
    if (status != BUNMG_OK) return status;
  }
  return BUNMG_OK;
}

static bunmg_status cuda_init(bunmg_mesh *mesh) {
  mesh->state = NULL;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return bunmg_fail(BUNMG_NO_DEVICE, "no CUDA driver or GPU found: cudaGetDeviceCount: %s",
                      cudaGetErrorString(err));
  }
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    int32_t id = mesh->device_ids[pos];
    if (id < 0 || id >= count)
      return bunmg_fail_at(BUNMG_NO_DEVICE, -1, pos,
                           "CUDA device %d (mesh position %d) does not exist: %d CUDA device(s) "
                           "found",
                           id, pos, count);
  }
  bunmg_cuda_state *st = (bunmg_cuda_state *)calloc(1, sizeof *st);
  if (!st) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the CUDA backend");
  mesh->state = st;
  find_gpus(mesh, st);
  bunmg_status status = enable_peers(mesh, st);
  if (status == BUNMG_OK) status = create_lanes(mesh, st);
  if (status != BUNMG_OK) cuda_shutdown(mesh); /* leaves mesh->state NULL */
  return status;
}

/* ---- buffers ---- */

static bunmg_status cuda_alloc(bunmg_mesh *mesh, int32_t dev, size_t bytes, void **out) {
  return bunmg_cuda_malloc(mesh, dev, bytes, out);
}

static void cuda_release(bunmg_mesh *mesh, int32_t dev, void *ptr) {
  bunmg_cuda_free(mesh, dev, ptr);
}

static bunmg_status cuda_memory_info(bunmg_mesh *mesh, int32_t dev, uint64_t *free_b,
                                     uint64_t *total) {
  bunmg_status status = bunmg_cuda_use(mesh, dev);
  if (status != BUNMG_OK) return status;
  size_t f = 0, t = 0;
  status = bunmg_cuda_check(mesh, dev, "cudaMemGetInfo", cudaMemGetInfo(&f, &t));
  if (free_b) *free_b = f;
  if (total) *total = t;
  return status;
}

/* ---- copies: unified addressing, so cudaMemcpyDefault routes every direction ---- */

static bunmg_status cuda_copy(bunmg_mesh *mesh, bunmg_copy_kind kind, int32_t dst_dev, void *dst,
                              int32_t src_dev, const void *src, size_t bytes) {
  int32_t pos = kind == BUNMG_COPY_H2D ? dst_dev : src_dev;
  if (bytes == 0) return BUNMG_OK;
  bunmg_status status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK) return status;
  /* Not cudaMemcpy: it returns before an upload from pageable memory or a device-to-device copy
   * has landed, and the lanes (non-blocking streams) that read the data next would not wait. */
  cudaStream_t lane = bunmg_cuda_state_of(mesh)->lane[pos][0];
  CUDA_TRY(pos, cudaMemcpyAsync, (dst, src, bytes, cudaMemcpyDefault, lane));
  CUDA_TRY(pos, cudaStreamSynchronize, (lane));
done:
  return status;
}

/* Strided elements (the diagonal: one element per row, a row apart) moved straight between the
 * device and host memory cost one small DMA per element. Packing them on the device first and
 * moving one contiguous block is thousands of times faster for N in the tens of thousands. */
static bunmg_status strided_via_device(bunmg_mesh *mesh, int32_t dev, void *host, void *strided, size_t elem,
                                       size_t stride, size_t count, int to_host) {
  if (count == 0) return BUNMG_OK;
  bunmg_status status = bunmg_cuda_use(mesh, dev);
  if (status != BUNMG_OK) return status;
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  cudaStream_t stream = st->lane[dev][0];
  if (st->strided_bytes[dev] < elem * count) {
    bunmg_held_free(mesh, dev, &st->strided[dev], st->strided_bytes[dev]);
    st->strided_bytes[dev] = 0;
    if ((status = bunmg_held_alloc(mesh, dev, elem * count, &st->strided[dev])) == BUNMG_OK)
      st->strided_bytes[dev] = elem * count;
    else if (status != BUNMG_OUT_OF_MEMORY) return status;
    bunmg_clear_error();
    status = BUNMG_OK;
  }
  void *packed = st->strided[dev];
  if (!packed) {
    /* No room to pack (a full device, e.g. while restoring A after an out-of-memory): the slow
     * copy needs no memory, and restoring must not fail for want of it. */
    if (to_host) CUDA_TRY(dev, cudaMemcpy2DAsync, (host, elem, strided, stride, elem, count, cudaMemcpyDeviceToHost, stream));
    else CUDA_TRY(dev, cudaMemcpy2DAsync, (strided, stride, host, elem, elem, count, cudaMemcpyHostToDevice, stream));
  } else if (to_host) {
    CUDA_TRY(dev, cudaMemcpy2DAsync, (packed, elem, strided, stride, elem, count, cudaMemcpyDeviceToDevice, stream));
    CUDA_TRY(dev, cudaMemcpyAsync, (host, packed, elem * count, cudaMemcpyDeviceToHost, stream));
  } else {
    CUDA_TRY(dev, cudaMemcpyAsync, (packed, host, elem * count, cudaMemcpyHostToDevice, stream));
    CUDA_TRY(dev, cudaMemcpy2DAsync, (strided, stride, packed, elem, elem, count, cudaMemcpyDeviceToDevice, stream));
  }
  CUDA_TRY(dev, cudaStreamSynchronize, (stream));
done:
  return status;
}

static bunmg_status cuda_gather_strided(bunmg_mesh *mesh, int32_t dev, void *host_dst, const void *src, size_t elem,
                                        size_t stride, size_t count) {
  return strided_via_device(mesh, dev, host_dst, (void *)src, elem, stride, count, 1);
}

static bunmg_status cuda_scatter_strided(bunmg_mesh *mesh, int32_t dev, void *dst, const void *host_src, size_t elem,
                                         size_t stride, size_t count) {
  return strided_via_device(mesh, dev, (void *)host_src, dst, elem, stride, count, 0);
}

static bunmg_status cuda_copy_async(bunmg_mesh *mesh, int32_t lane, int32_t dst_dev, void *dst,
                                    int32_t src_dev, const void *src, size_t bytes) {
  (void)dst_dev, (void)src_dev; /* unified addressing: the pointers say where the bytes are */
  int32_t pos = lane / BUNMG_CUDA_LANES;
  if (lane < 0 || pos >= mesh->ndev)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "copy lane %d out of range (mesh has %d lanes)",
                      lane, mesh->ndev * BUNMG_CUDA_LANES);
  if (bytes == 0) return BUNMG_OK;
  bunmg_status status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK) return status;
  cudaStream_t stream = bunmg_cuda_state_of(mesh)->lane[pos][lane % BUNMG_CUDA_LANES];
  return bunmg_cuda_check(mesh, pos, "cudaMemcpyAsync",
                          cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
}

static bunmg_status cuda_sync(bunmg_mesh *mesh) { return bunmg_cuda_sync(mesh); }

/* Every lane records its event, then every lane waits for every other lane's. */
static bunmg_status cuda_barrier(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  bunmg_status status = BUNMG_OK;
  for (int32_t pos = 0; pos < mesh->ndev && status == BUNMG_OK; pos++) {
    status = bunmg_cuda_use(mesh, pos);
    for (int32_t l = 0; l < BUNMG_CUDA_LANES && status == BUNMG_OK; l++) {
      if (!st->lane_event[pos][l])
        status = bunmg_cuda_check(mesh, pos, "cudaEventCreateWithFlags",
                                  cudaEventCreateWithFlags(&st->lane_event[pos][l], cudaEventDisableTiming));
      if (status == BUNMG_OK)
        status = bunmg_cuda_check(mesh, pos, "cudaEventRecord", cudaEventRecord(st->lane_event[pos][l], st->lane[pos][l]));
    }
  }
  for (int32_t pos = 0; pos < mesh->ndev && status == BUNMG_OK; pos++) {
    status = bunmg_cuda_use(mesh, pos);
    for (int32_t l = 0; l < BUNMG_CUDA_LANES && status == BUNMG_OK; l++)
      for (int32_t q = 0; q < mesh->ndev && status == BUNMG_OK; q++)
        for (int32_t k = 0; k < BUNMG_CUDA_LANES && status == BUNMG_OK; k++)
          if (q != pos || k != l)
            status = bunmg_cuda_check(mesh, pos, "cudaStreamWaitEvent",
                                      cudaStreamWaitEvent(st->lane[pos][l], st->lane_event[q][k], 0));
  }
  return status;
}

static int cuda_same_memory(const bunmg_mesh *mesh, int32_t a, int32_t b) {
  return mesh->device_ids[a] == mesh->device_ids[b];
}

/* ---- bandwidth ---- */

/* Forward copies src_dev -> dst_dev go on lane 0 of src_dev; the reverse ones on lane 1 of
 * dst_dev, so the two directions use two streams even when src_dev == dst_dev. */
static bunmg_status bandwidth_round(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev,
                                    void *const *buf, size_t bytes, int32_t both_ways) {
  bunmg_status status = cuda_copy_async(mesh, src_dev * BUNMG_CUDA_LANES, dst_dev, buf[1],
                                        src_dev, buf[0], bytes);
  if (status == BUNMG_OK && both_ways)
    status = cuda_copy_async(mesh, dst_dev * BUNMG_CUDA_LANES + 1, src_dev, buf[3], dst_dev,
                             buf[2], bytes);
  return status;
}

static bunmg_status cuda_bandwidth(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev,
                                   size_t bytes, int32_t repeats, int32_t both_ways,
                                   double *bytes_per_second) {
  if (bytes == 0 || repeats < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "bandwidth needs bytes > 0 and repeats >= 1");
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  cudaStream_t fwd = st->lane[src_dev][0], rev = st->lane[dst_dev][1];
  /* buf[0] -> buf[1] forward, buf[2] -> buf[3] backward */
  const int32_t where[4] = {src_dev, dst_dev, dst_dev, src_dev};
  void *buf[4] = {NULL, NULL, NULL, NULL};
  cudaEvent_t start = NULL, stop = NULL, rev_done = NULL;
  float ms = 0;
  int32_t nbuf = both_ways ? 4 : 2;
  bunmg_status status = BUNMG_OK;

  for (int32_t i = 0; i < nbuf && status == BUNMG_OK; i++)
    status = bunmg_cuda_malloc(mesh, where[i], bytes, &buf[i]);
  if (status != BUNMG_OK) goto done;

  /* warm-up: first-touch costs (peer mappings, clocks) stay out of the timing */
  if ((status = bandwidth_round(mesh, dst_dev, src_dev, buf, bytes, both_ways)) != BUNMG_OK)
    goto done;
  if ((status = bunmg_cuda_sync(mesh)) != BUNMG_OK) goto done;

  /* events live on the device of the stream they are recorded on */
  if ((status = bunmg_cuda_use(mesh, dst_dev)) != BUNMG_OK) goto done;
  if (both_ways) CUDA_TRY(dst_dev, cudaEventCreate, (&rev_done));
  if ((status = bunmg_cuda_use(mesh, src_dev)) != BUNMG_OK) goto done;
  CUDA_TRY(src_dev, cudaEventCreate, (&start));
  CUDA_TRY(src_dev, cudaEventCreate, (&stop));
  CUDA_TRY(src_dev, cudaEventRecord, (start, fwd));
  if (both_ways) CUDA_TRY(dst_dev, cudaStreamWaitEvent, (rev, start, 0)); /* start together */

  for (int32_t r = 0; r < repeats; r++)
    if ((status = bandwidth_round(mesh, dst_dev, src_dev, buf, bytes, both_ways)) != BUNMG_OK)
      goto done;

  if (both_ways) { /* the stop event waits for the reverse direction as well */
    if ((status = bunmg_cuda_use(mesh, dst_dev)) != BUNMG_OK) goto done;
    CUDA_TRY(dst_dev, cudaEventRecord, (rev_done, rev));
    CUDA_TRY(src_dev, cudaStreamWaitEvent, (fwd, rev_done, 0));
  }
  if ((status = bunmg_cuda_use(mesh, src_dev)) != BUNMG_OK) goto done;
  CUDA_TRY(src_dev, cudaEventRecord, (stop, fwd));
  CUDA_TRY(src_dev, cudaEventSynchronize, (stop));
  CUDA_TRY(src_dev, cudaEventElapsedTime, (&ms, start, stop));
  {
    double seconds = (ms > 0 ? ms : 1e-6f) / 1e3;
    *bytes_per_second = (double)bytes * repeats * (both_ways ? 2 : 1) / seconds;
  }

done:
  (void)bunmg_cuda_sync(mesh); /* nothing may still use the buffers we free */
  if (start) (void)cudaEventDestroy(start);
  if (stop) (void)cudaEventDestroy(stop);
  if (rev_done) (void)cudaEventDestroy(rev_done);
  for (int32_t i = 0; i < nbuf; i++) bunmg_cuda_free(mesh, where[i], buf[i]);
  return status;
}

/* ---- the ops table ---- */

static bunmg_backend_ops make_ops(void) {
  bunmg_backend_ops ops = {};
  ops.name = "cuda";
  ops.init = cuda_init;
  ops.shutdown = cuda_shutdown;
  ops.lanes_per_device = BUNMG_CUDA_LANES;
  ops.keep_dense_bytes = (size_t)256 << 20;
  ops.alloc = cuda_alloc;
  ops.release = cuda_release;
  ops.memory_info = cuda_memory_info;
  ops.copy = cuda_copy;
  ops.gather_strided = cuda_gather_strided;
  ops.scatter_strided = cuda_scatter_strided;
  ops.copy_async = cuda_copy_async;
  ops.sync = cuda_sync;
  ops.bandwidth = cuda_bandwidth;
  ops.find_nonfinite = bunmg_cuda_find_nonfinite;
  ops.fill = bunmg_cuda_fill;
  ops.fixup = bunmg_cuda_fixup;
  ops.potrf = bunmg_mg_potrf;
  ops.potrs = bunmg_mg_potrs;
  ops.potri = bunmg_mg_potri;
  ops.syevd = bunmg_mg_syevd;
  ops.workspace_bytes = bunmg_mg_workspace_bytes;
  ops.barrier = cuda_barrier;
  ops.same_memory = cuda_same_memory;
  ops.dense_scan = bunmg_dn_scan;
  ops.dense_diagonal = bunmg_dn_diagonal;
  ops.dense_potrf = bunmg_dn_potrf;
  ops.dense_potrs = bunmg_dn_potrs;
  ops.dense_solve_identity = bunmg_dn_solve_identity;
  ops.dense_potri = bunmg_dn_potri;
  ops.dense_syevd = bunmg_dn_syevd;
  ops.dense_scatter = bunmg_dn_scatter;
  ops.dense_wait = bunmg_dn_wait;
  ops.dense_workspace = bunmg_dn_workspace;
  return ops;
}

const bunmg_backend_ops *bunmg_cuda_backend(void) {
  static const bunmg_backend_ops ops = make_ops(); /* C++ static: initialized once, thread-safe */
  return &ops;
}
