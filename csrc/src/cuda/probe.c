/* The CUDA side of the diagnostics (core/info.c): driver and runtime versions, the devices and
 * their peer access, and the cuSOLVER libraries as the solvers load them. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <library_types.h> /* libraryPropertyType: MAJOR_VERSION ... */

#include "core/diagnostics.h"
#include "cuda/cuda_internal.h"

static bunmg_status runtime_failure(const char *call, cudaError_t err) {
  (void)cudaGetLastError(); /* not sticky: clear it for later calls */
  return bunmg_fail(BUNMG_NO_DEVICE, "%s: %s (%s)", call, cudaGetErrorString(err), cudaGetErrorName(err));
}

bunmg_status bunmg_cuda_versions(int32_t *driver, int32_t *runtime, int32_t *devices) {
  int d = 0, r = 0, n = 0;
  *driver = *runtime = *devices = 0;
  if (cudaRuntimeGetVersion(&r) == cudaSuccess) *runtime = r;
  if (cudaDriverGetVersion(&d) == cudaSuccess) *driver = d; /* 0 without a driver */
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) return runtime_failure("cudaGetDeviceCount", err);
  *devices = n;
  if (n == 0) {
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    return bunmg_fail(BUNMG_NO_DEVICE, "the CUDA driver sees no device%s%s", visible ? "; CUDA_VISIBLE_DEVICES=" : "",
                      visible ? visible : "");
  }
  return BUNMG_OK;
}

static bunmg_status check_id(const char *call, int32_t id) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) return runtime_failure("cudaGetDeviceCount", err);
  if (id >= n)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: device id %d is out of range (%d CUDA devices)", call, (int)id, n);
  return BUNMG_OK;
}

bunmg_status bunmg_cuda_describe(int32_t id, char *name, size_t name_bytes, int32_t *major, int32_t *minor,
                                 uint64_t *total_bytes) {
  bunmg_status st = check_id("cuda_device_info", id);
  if (st != BUNMG_OK) return st;
  struct cudaDeviceProp prop;
  cudaError_t err = cudaGetDeviceProperties(&prop, id);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, id, "cudaGetDeviceProperties(%d): %s", (int)id,
                         cudaGetErrorString(err));
  }
  if (name) snprintf(name, name_bytes, "%s", prop.name);
  if (major) *major = prop.major;
  if (minor) *minor = prop.minor;
  if (total_bytes) *total_bytes = prop.totalGlobalMem;
  return BUNMG_OK;
}

bunmg_status bunmg_cuda_peer(int32_t from, int32_t to, int32_t *can_access) {
  bunmg_status st = check_id("cuda_peer_access", from > to ? from : to);
  if (st != BUNMG_OK || from == to) return st;
  int can = 0;
  cudaError_t err = cudaDeviceCanAccessPeer(&can, from, to);
  if (err != cudaSuccess) return runtime_failure("cudaDeviceCanAccessPeer", err);
  *can_access = can != 0;
  return BUNMG_OK;
}

/* cusolverGetProperty(MAJOR_VERSION / MINOR_VERSION / PATCH_LEVEL), where the library has it. */
static void read_version(void *handle, char *out, size_t bytes) {
  void *p = handle ? dlsym(handle, "cusolverGetProperty") : NULL;
  int (*property)(libraryPropertyType, int *);
  memcpy(&property, &p, sizeof p);
  int v[3] = {0, 0, 0};
  if (property && property(MAJOR_VERSION, &v[0]) == 0 && property(MINOR_VERSION, &v[1]) == 0 &&
      property(PATCH_LEVEL, &v[2]) == 0)
    snprintf(out, bytes, "%d.%d.%d", v[0], v[1], v[2]);
}

bunmg_status bunmg_cusolver_probe(int32_t library, const char **path, const char **version, const char **tried) {
  static char versions[2][32]; /* written once each, on the first probe that loaded the library */
  bunmg_library *spec = library == BUNMG_LIBRARY_CUSOLVERMG ? bunmg_cusolvermg_library : bunmg_cusolverdn_library;
  char *text = versions[library == BUNMG_LIBRARY_CUSOLVERMG ? 0 : 1];
  bunmg_status st = bunmg_library_load(spec);
  void *handle = NULL;
  bunmg_library_report(spec, path, tried, &handle);
  if (st == BUNMG_OK && !text[0]) read_version(handle, text, sizeof versions[0]);
  *version = text;
  return st;
}
