/* Columns of the identity, for the single path's inverse by solves. */
#include "cuda/cuda_internal.h"

namespace {

/* R: the real type; `parts` reals per element. Element (first + j, j) of column-major dst is 1. */
template <typename R>
__global__ void ones(R *dst, int parts, int64_t n, int64_t first, int64_t count) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < count; j += (int64_t)gridDim.x * blockDim.x)
    dst[(j * n + first + j) * parts] = R(1);
}

}  // namespace

bunmg_status bunmg_cuda_set_identity(bunmg_mesh *mesh, int32_t pos, void *dst, int64_t n, int64_t first,
                                     int64_t count, int32_t dtype, cudaStream_t stream) {
  size_t esize = bunmg_dtype_size(dtype);
  bunmg_status status = bunmg_cuda_check(mesh, pos, "cudaMemsetAsync",
                                         cudaMemsetAsync(dst, 0, (size_t)n * (size_t)count * esize, stream));
  if (status != BUNMG_OK) return status;
  int parts = bunmg_dtype_is_complex(dtype) ? 2 : 1;
  unsigned blocks = (unsigned)((count + 255) / 256 < 4096 ? (count + 255) / 256 : 4096);
  if (bunmg_dtype_real_size(dtype) == 4) ones<float><<<blocks, 256, 0, stream>>>(static_cast<float *>(dst), parts, n, first, count);
  else ones<double><<<blocks, 256, 0, stream>>>(static_cast<double *>(dst), parts, n, first, count);
  return bunmg_cuda_check(mesh, pos, "identity kernel launch", cudaGetLastError());
}
