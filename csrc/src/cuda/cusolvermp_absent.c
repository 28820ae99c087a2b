/* bunmg_mp_join_gpu in a build without the mp GPU engine (CMakeLists.txt says why). */
#include "core/internal.h"

bunmg_status bunmg_mp_join_gpu(int64_t timeout_ms, int32_t device, bunmg_mp **out) {
  bunmg_clear_error();
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_join_gpu: mp output is NULL");
  *out = NULL;
  return bunmg_fail(BUNMG_UNSUPPORTED, "mp_join_gpu: this libbunmg was built without the mp GPU engine: %s", BUNMG_MP_GPU_WHY);
}
