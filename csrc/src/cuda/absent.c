/* Built when no CUDA compiler was found: the library is host-only. */
#include "core/internal.h"

const bunmg_backend_ops *bunmg_cuda_backend(void) { return NULL; }
int32_t bunmg_cuda_count_devices(void) { return 0; }
