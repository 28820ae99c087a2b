/* The single path's dense matrix into the row shards in one pass, transposed and/or conjugated on
 * the way (eigenvectors to the user's convention): 32 x 32 tiles through shared memory, so that
 * both the reads and the writes are coalesced. Rows of other GPUs are written over peer access.
 * A guard (the scan's answer on the device) skips the whole pass when the input was not finite. */
#include <cuComplex.h>

#include "cuda/cuda_internal.h"

namespace {

constexpr int kTile = 32;
constexpr int kRows = 8; /* block = 32 x 8 threads, 4 rows of a tile each */

struct ScatterArgs {
  void *shard[BUNMG_MAX_DEVICES];
  const void *dense;
  int64_t n, s, tiles;
  const unsigned long long *guard;
};

template <typename T> __device__ T conj_of(T v) { return v; }
template <> __device__ cuFloatComplex conj_of(cuFloatComplex v) { return cuConjf(v); }
template <> __device__ cuDoubleComplex conj_of(cuDoubleComplex v) { return cuConj(v); }

/* Output tile (I, J) of R: R[i][k] = f(D[k][i]) (transpose) or f(D[i][k]), D the dense matrix
 * read row-major. */
template <typename T, bool Transpose, bool Conj>
__global__ void __launch_bounds__(kTile *kRows) scatter_tiles(const __grid_constant__ ScatterArgs a) {
  if (*a.guard != ~0ull) return; /* A was not finite: leave it as it is */
  __shared__ T tile[kTile][kTile + 1];
  const T *d = static_cast<const T *>(a.dense);
  for (int64_t t = blockIdx.x; t < a.tiles * a.tiles; t += gridDim.x) {
    int64_t I = t / a.tiles, J = t % a.tiles;
    int64_t src_row0 = (Transpose ? J : I) * kTile, src_col0 = (Transpose ? I : J) * kTile;
    for (int r = threadIdx.y; r < kTile; r += kRows) {
      int64_t row = src_row0 + r, col = src_col0 + threadIdx.x;
      if (row < a.n && col < a.n) tile[r][threadIdx.x] = d[row * a.n + col];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < kTile; r += kRows) {
      int64_t i = I * kTile + r, k = J * kTile + threadIdx.x;
      if (i < a.n && k < a.n) {
        T v = Transpose ? tile[threadIdx.x][r] : tile[r][threadIdx.x];
        static_cast<T *>(a.shard[i / a.s])[(i % a.s) * a.n + k] = Conj ? conj_of(v) : v;
      }
    }
    __syncthreads();
  }
}

template <typename T> void launch(const ScatterArgs &a, bool transpose, bool conj, unsigned blocks, cudaStream_t s) {
  dim3 block(kTile, kRows);
  if (transpose && conj) scatter_tiles<T, true, true><<<blocks, block, 0, s>>>(a);
  else if (transpose) scatter_tiles<T, true, false><<<blocks, block, 0, s>>>(a);
  else if (conj) scatter_tiles<T, false, true><<<blocks, block, 0, s>>>(a);
  else scatter_tiles<T, false, false><<<blocks, block, 0, s>>>(a);
}

}  // namespace

bunmg_status bunmg_cuda_scatter(bunmg_mesh *mesh, int32_t pos, const void *dense, const bunmg_matrix *m, int32_t mode,
                                const unsigned long long *guard, cudaStream_t stream) {
  const bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  for (int32_t d = 0; d < mesh->ndev; d++)
    if (!st->peer_ok && mesh->device_ids[d] != mesh->device_ids[pos] && bunmg_shard_count(m->rows, mesh->ndev, d) > 0)
      return bunmg_fail(BUNMG_UNSUPPORTED, "the scatter kernel needs peer access to every shard's GPU");
  ScatterArgs args = {};
  for (int32_t d = 0; d < mesh->ndev; d++) args.shard[d] = m->shards[d];
  args.dense = dense;
  args.n = m->rows;
  args.s = bunmg_shard_rows(m->rows, mesh->ndev);
  args.tiles = bunmg_ceil_div(m->rows, kTile);
  args.guard = guard;
  int64_t count = args.tiles * args.tiles;
  unsigned blocks = (unsigned)(count < 65535 ? count : 65535);
  bool transpose = (mode & BUNMG_FIX_TRANSPOSE) != 0, conj = (mode & BUNMG_FIX_CONJ) && bunmg_dtype_is_complex(m->dtype);
  switch (m->dtype) {
    case BUNMG_FLOAT32: launch<float>(args, transpose, conj, blocks, stream); break;
    case BUNMG_FLOAT64: launch<double>(args, transpose, conj, blocks, stream); break;
    case BUNMG_COMPLEX64: launch<cuFloatComplex>(args, transpose, conj, blocks, stream); break;
    default: launch<cuDoubleComplex>(args, transpose, conj, blocks, stream); break;
  }
  return bunmg_cuda_check(mesh, pos, "scatter kernel launch", cudaGetLastError());
}
