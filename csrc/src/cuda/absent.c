/* Built when no CUDA compiler was found: the library is host-only. */
#include "core/diagnostics.h"

const bunmg_backend_ops *bunmg_cuda_backend(void) { return NULL; }
int32_t bunmg_cuda_count_devices(void) { return 0; }

#define NO_CUDA "this libbunmg was built without the CUDA backend (no CUDA compiler at build time)"

bunmg_status bunmg_cuda_versions(int32_t *driver, int32_t *runtime, int32_t *devices) {
  *driver = *runtime = *devices = 0;
  return bunmg_fail(BUNMG_NO_DEVICE, NO_CUDA);
}

bunmg_status bunmg_cuda_describe(int32_t id, char *name, size_t name_bytes, int32_t *major, int32_t *minor,
                                 uint64_t *total_bytes) {
  return bunmg_fail(BUNMG_NO_DEVICE, NO_CUDA);
}

bunmg_status bunmg_cuda_peer(int32_t from, int32_t to, int32_t *can_access) {
  return bunmg_fail(BUNMG_NO_DEVICE, NO_CUDA);
}

bunmg_status bunmg_cusolver_probe(int32_t library, const char **path, const char **version, const char **tried) {
  return bunmg_fail(BUNMG_UNSUPPORTED, "%s: not looked for: " NO_CUDA,
                    library == BUNMG_LIBRARY_CUSOLVERMG ? "cuSOLVERMg" : "cuSOLVERDn");
}
