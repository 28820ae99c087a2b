#include "core/internal.h"

size_t bunmg_dtype_size(int32_t dtype) {
  switch (dtype) {
    case BUNMG_FLOAT32: return 4;
    case BUNMG_FLOAT64: return 8;
    case BUNMG_COMPLEX64: return 8;
    case BUNMG_COMPLEX128: return 16;
    default: return 0;
  }
}

size_t bunmg_dtype_real_size(int32_t dtype) {
  return (dtype == BUNMG_FLOAT32 || dtype == BUNMG_COMPLEX64) ? 4 : 8;
}

int bunmg_dtype_is_complex(int32_t dtype) {
  return dtype == BUNMG_COMPLEX64 || dtype == BUNMG_COMPLEX128;
}

const char *bunmg_dtype_name(int32_t dtype) {
  switch (dtype) {
    case BUNMG_FLOAT32: return "float32";
    case BUNMG_FLOAT64: return "float64";
    case BUNMG_COMPLEX64: return "complex64";
    case BUNMG_COMPLEX128: return "complex128";
    default: return "unknown";
  }
}
