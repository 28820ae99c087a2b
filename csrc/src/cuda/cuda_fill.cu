/* bunmg_fill_random on the GPUs: each mesh position writes its own shard, no peer traffic. */
#include "cuda/cuda_internal.h"
#include "core/fill.h"

namespace {

template <typename R, bool Complex>
__global__ void fill_shard(R *shard, int64_t first_row, int64_t rows, int64_t cols, int64_t n, int kind,
                           uint64_t seed) {
  const int64_t count = rows * cols;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < count; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = first_row + e / cols, j = e % cols;
    double re, im;
    bunmg_fill_element(kind, Complex, seed, n, i, j, &re, &im);
    if (Complex) {
      shard[2 * e] = (R)re;
      shard[2 * e + 1] = (R)im;
    } else {
      shard[e] = (R)re;
    }
  }
}

template <typename R, bool Complex>
void launch(void *shard, int64_t first, int64_t rows, int64_t cols, int64_t n, int kind, uint64_t seed,
            cudaStream_t stream) {
  int64_t count = rows * cols;
  unsigned blocks = (unsigned)((count + 255) / 256 < 65535 * 8 ? (count + 255) / 256 : 65535 * 8);
  fill_shard<R, Complex><<<blocks, 256, 0, stream>>>(static_cast<R *>(shard), first, rows, cols, n, kind, seed);
}

}  // namespace

bunmg_status bunmg_cuda_fill(bunmg_mesh *mesh, const bunmg_matrix *m, int32_t kind, uint64_t seed) {
  const bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  int64_t s = bunmg_shard_rows(m->rows, mesh->ndev);
  bunmg_status status = BUNMG_OK;
  for (int32_t d = 0; d < mesh->ndev && status == BUNMG_OK; d++) {
    int64_t rows = bunmg_shard_count(m->rows, mesh->ndev, d);
    if (rows == 0) continue;
    if ((status = bunmg_cuda_use(mesh, d)) != BUNMG_OK) break;
    cudaStream_t stream = st->lane[d][0];
    switch (m->dtype) {
      case BUNMG_FLOAT32: launch<float, false>(m->shards[d], d * s, rows, m->cols, m->rows, kind, seed, stream); break;
      case BUNMG_FLOAT64: launch<double, false>(m->shards[d], d * s, rows, m->cols, m->rows, kind, seed, stream); break;
      case BUNMG_COMPLEX64: launch<float, true>(m->shards[d], d * s, rows, m->cols, m->rows, kind, seed, stream); break;
      default: launch<double, true>(m->shards[d], d * s, rows, m->cols, m->rows, kind, seed, stream); break;
    }
    status = bunmg_cuda_check(mesh, d, "fill kernel launch", cudaGetLastError());
  }
  bunmg_status synced = bunmg_cuda_sync(mesh);
  return status != BUNMG_OK ? status : synced;
}
