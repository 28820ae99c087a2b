/* find_nonfinite on the GPUs: each block is scanned where it lives, every position at once, and
 * the smallest offending element index is kept with an atomicMin. */
#include "cuda/cuda_internal.h"

namespace {

constexpr unsigned long long kNone = ~0ull;

/* R is the real type; parts = 2 for complex. Row r is read from column row0 + r on. */
template <typename R>
__global__ void first_nonfinite(const R *block, int parts, int64_t rows, int64_t ld, int64_t row0,
                                unsigned long long *found) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const R *row = block + r * ld * parts;
    for (int64_t c = row0 + r + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < ld;
         c += (int64_t)gridDim.x * blockDim.x) {
      bool bad = !isfinite(row[c * parts]) || (parts == 2 && !isfinite(row[c * parts + 1]));
      if (bad) atomicMin(found, (unsigned long long)(r * ld + c));
    }
  }
}

void launch(const bunmg_scan &scan, int64_t ld, int32_t dtype, unsigned long long *found, cudaStream_t stream) {
  int64_t across = (ld + 255) / 256;
  dim3 grid((unsigned)(across < 32 ? across : 32), (unsigned)(scan.rows < 4096 ? scan.rows : 4096));
  int parts = bunmg_dtype_is_complex(dtype) ? 2 : 1;
  if (bunmg_dtype_real_size(dtype) == 4)
    first_nonfinite<float><<<grid, 256, 0, stream>>>(static_cast<const float *>(scan.block), parts, scan.rows, ld,
                                                     scan.row0, found);
  else
    first_nonfinite<double><<<grid, 256, 0, stream>>>(static_cast<const double *>(scan.block), parts, scan.rows, ld,
                                                      scan.row0, found);
}

}  // namespace

bunmg_status bunmg_cuda_scan_async(bunmg_mesh *mesh, const bunmg_scan *scan, int64_t ld, int32_t dtype,
                                   unsigned long long *found, cudaStream_t stream) {
  bunmg_status status = bunmg_cuda_check(mesh, scan->dev, "cudaMemsetAsync",
                                         cudaMemsetAsync(found, 0xff, sizeof *found, stream));
  if (status != BUNMG_OK) return status;
  launch(*scan, ld, dtype, found, stream);
  return bunmg_cuda_check(mesh, scan->dev, "scan kernel launch", cudaGetLastError());
}

bunmg_status bunmg_cuda_find_nonfinite(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t ld,
                                       int32_t dtype, int64_t *found) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  unsigned long long answer[BUNMG_MAX_DEVICES];
  bunmg_status status = BUNMG_OK;
  for (int32_t i = 0; i < count && status == BUNMG_OK; i++) {
    int32_t pos = scans[i].dev;
    cudaStream_t stream = st->lane[pos][0];
    void **slot = reinterpret_cast<void **>(&st->scan_result[pos]);
    if (!*slot && (status = bunmg_held_alloc(mesh, pos, sizeof(unsigned long long), slot)) != BUNMG_OK) break;
    if ((status = bunmg_cuda_use(mesh, pos)) != BUNMG_OK) break;
    status = bunmg_cuda_scan_async(mesh, &scans[i], ld, dtype, st->scan_result[pos], stream);
    if (status == BUNMG_OK)
      status = bunmg_cuda_check(mesh, pos, "cudaMemcpyAsync",
                                cudaMemcpyAsync(&answer[i], st->scan_result[pos], sizeof answer[i],
                                                cudaMemcpyDeviceToHost, stream));
  }
  bunmg_status synced = bunmg_cuda_sync(mesh); /* answer[] is read only after every lane is done */
  if (status == BUNMG_OK) status = synced;
  for (int32_t i = 0; i < count && status == BUNMG_OK; i++) found[i] = answer[i] == kNone ? -1 : (int64_t)answer[i];
  return status;
}

void bunmg_cuda_scan_destroy(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  for (int32_t pos = 0; pos < mesh->ndev; pos++)
    bunmg_held_free(mesh, pos, reinterpret_cast<void **>(&st->scan_result[pos]), sizeof(unsigned long long));
}
