/* The diagnostics entry points of bunmg.h (bunmg info, bunmg doctor): argument checks here, the
 * answers from the build's definitions, cuda/probe.c (or cuda/absent.c) and host/lapack.c. */
#include "core/diagnostics.h"
#include "host/lapack.h"

#ifndef BUNMG_BUILD_TYPE
#define BUNMG_BUILD_TYPE "unknown"
#endif
#ifndef BUNMG_CUDA_VERSION
#define BUNMG_CUDA_VERSION "off"
#endif
#ifndef BUNMG_CUDA_ARCHITECTURES
#define BUNMG_CUDA_ARCHITECTURES "none"
#endif
#ifndef BUNMG_COMPILER
#define BUNMG_COMPILER "unknown"
#endif
#ifdef BUNMG_SANITIZE_BUILD
#define BUNMG_SANITIZE_OPTION "address,undefined"
#else
#define BUNMG_SANITIZE_OPTION "off"
#endif

bunmg_status bunmg_backend_compiled(int32_t backend, int32_t *compiled) {
  if (!compiled) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "backend_compiled: output is NULL");
  if (backend != BUNMG_BACKEND_HOST && backend != BUNMG_BACKEND_CUDA)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "backend_compiled: unknown backend %d", (int)backend);
  *compiled = backend == BUNMG_BACKEND_HOST || bunmg_cuda_backend() != NULL;
  return BUNMG_OK;
}

const char *bunmg_build_options(void) {
  return "version=" BUNMG_VERSION " build_type=" BUNMG_BUILD_TYPE " cuda=" BUNMG_CUDA_VERSION
         " cuda_architectures=" BUNMG_CUDA_ARCHITECTURES " sanitize=" BUNMG_SANITIZE_OPTION
         " compiler=" BUNMG_COMPILER;
}

bunmg_status bunmg_cuda_probe(int32_t *driver_version, int32_t *runtime_version, int32_t *devices) {
  if (!driver_version || !runtime_version || !devices)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cuda_probe: an output is NULL");
  return bunmg_cuda_versions(driver_version, runtime_version, devices);
}

bunmg_status bunmg_cuda_device_info(int32_t id, char *name, int32_t name_bytes, int32_t *cc_major,
                                    int32_t *cc_minor, uint64_t *total_bytes) {
  if (!name && name_bytes > 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cuda_device_info: name is NULL with name_bytes %d", (int)name_bytes);
  if (id < 0) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cuda_device_info: device id %d is negative", (int)id);
  return bunmg_cuda_describe(id, name_bytes > 0 ? name : NULL, name_bytes > 0 ? (size_t)name_bytes : 0, cc_major,
                             cc_minor, total_bytes);
}

bunmg_status bunmg_cuda_peer_access(int32_t from, int32_t to, int32_t *can_access) {
  if (!can_access) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cuda_peer_access: output is NULL");
  *can_access = 0;
  if (from < 0 || to < 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "cuda_peer_access: device ids %d and %d must not be negative",
                      (int)from, (int)to);
  return bunmg_cuda_peer(from, to, can_access);
}

bunmg_status bunmg_library_probe(int32_t library, const char **path, const char **version, const char **tried) {
  const char *unused[3];
  if (!path) path = &unused[0];
  if (!version) version = &unused[1];
  if (!tried) tried = &unused[2];
  *path = *version = *tried = "";
  switch (library) {
    case BUNMG_LIBRARY_LAPACK: return bunmg_lapack_probe(path, version, tried);
    case BUNMG_LIBRARY_CUSOLVERMG:
    case BUNMG_LIBRARY_CUSOLVERDN: return bunmg_cusolver_probe(library, path, version, tried);
    case BUNMG_LIBRARY_MPI: return bunmg_mpi_probe(path, version, tried);
    case BUNMG_LIBRARY_SCALAPACK: return bunmg_scalapack_probe(path, version, tried);
    default:
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "library_probe: %d is not a bunmg_runtime_library", (int)library);
  }
}
