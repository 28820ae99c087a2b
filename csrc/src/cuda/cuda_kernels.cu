/* Square fix-ups (mirror, transpose, conjugate) of an N x N row-major matrix in row layout,
 * in place, with kernels that read and write every shard directly over peer access.
 *
 * Element (i, j) lives at shard[i / s] + (i % s) * N + j, s = ceil(N / ndev). The matrix is cut
 * into 32 x 32 tiles; one thread block owns a tile pair (I, J), I <= J: the tile (I, J) and its
 * mirror (J, I). It reads both into shared memory before writing either, and no other block
 * touches them, so the in-place transpose has no race. The pairs are split over the mesh's
 * distinct GPUs; each GPU runs its share on its lane-0 stream. */
#include <cuComplex.h>

#include "cuda/cuda_internal.h"

namespace {

constexpr int kTile = 32;
constexpr int kRowsPerPass = 8; /* block = 32 x 8 threads, each thread does 4 rows of a tile */

enum FixOp { kMirrorUpperToLower, kMirrorUpperToLowerReal, kMirrorLowerToUpper, kTranspose, kTransposeConj, kConj };

struct FixArgs {
  void *shard[BUNMG_MAX_DEVICES];
  int64_t n;            /* N */
  int64_t s;            /* rows per shard */
  int64_t tiles;        /* ceil(N / 32) */
  int64_t begin, end;   /* the tile pairs this launch owns */
};

template <typename T> __device__ T conj_of(T v) { return v; }
template <> __device__ cuFloatComplex conj_of(cuFloatComplex v) { return cuConjf(v); }
template <> __device__ cuDoubleComplex conj_of(cuDoubleComplex v) { return cuConj(v); }

/* The p-th pair (I, J), I <= J, counting the upper triangle of tiles row by row. */
__device__ void tile_pair(int64_t p, int64_t t, int64_t *I, int64_t *J) {
  auto row_start = [t](int64_t i) { return i * t - i * (i - 1) / 2; };
  double b = 2.0 * (double)t + 1.0;
  int64_t i = (int64_t)((b - sqrt(b * b - 8.0 * (double)p)) / 2.0);
  i = i < 0 ? 0 : (i >= t ? t - 1 : i);
  while (i > 0 && row_start(i) > p) i--; /* correct the rounding of the closed form */
  while (i + 1 < t && row_start(i + 1) <= p) i++;
  *I = i;
  *J = i + (p - row_start(i));
}

/* Which destination elements an operation writes, and what it does to the value. */
template <int Op> __device__ bool writes(int64_t gi, int64_t gj) {
  if (Op == kMirrorUpperToLower) return gi > gj;
  if (Op == kMirrorUpperToLowerReal) return gi >= gj; /* the diagonal too: its real part */
  if (Op == kMirrorLowerToUpper) return gi < gj;
  return true;
}
/* Mirrors negate the imaginary part as 0 - y, which keeps +0 (real data stored as complex) +0,
 * so a restored A is bit for bit the input; the host fix-ups do the same. */
template <typename T> __device__ T mirror_of(T v) { return v; }
template <> __device__ cuFloatComplex mirror_of(cuFloatComplex v) { return make_cuFloatComplex(v.x, 0.0f - v.y); }
template <> __device__ cuDoubleComplex mirror_of(cuDoubleComplex v) { return make_cuDoubleComplex(v.x, 0.0 - v.y); }

template <typename T> __device__ T real_of(T v) { return v; }
template <> __device__ cuFloatComplex real_of(cuFloatComplex v) { return make_cuFloatComplex(v.x, 0.0f); }
template <> __device__ cuDoubleComplex real_of(cuDoubleComplex v) { return make_cuDoubleComplex(v.x, 0.0); }

template <typename T, int Op> __device__ T apply(T v, bool on_diagonal) {
  if (Op == kTranspose) return v;
  if (Op == kMirrorUpperToLowerReal) return on_diagonal ? real_of(v) : mirror_of(v);
  return Op == kMirrorUpperToLower || Op == kMirrorLowerToUpper ? mirror_of(v) : conj_of(v);
}

/* The tile pair's row pointers: rows[0][r] = start of global row I*32 + r, rows[1][r] the same
 * for J. One division per row here instead of one per element. */
template <typename T>
__device__ void load_rows(const FixArgs &a, int64_t I, int64_t J, T *(*rows)[kTile]) {
  if (threadIdx.y < 2) {
    int64_t i = (threadIdx.y == 0 ? I : J) * kTile + threadIdx.x;
    rows[threadIdx.y][threadIdx.x] =
        i < a.n ? static_cast<T *>(a.shard[i / a.s]) + (i % a.s) * a.n : nullptr;
  }
}

/* Tile (X, Y) where row_of(X) are its row pointers: into shared memory. */
template <typename T>
__device__ void read_tile(const FixArgs &a, T *const *row_of_x, int64_t y, T (*tile)[kTile + 1]) {
  int64_t gj = y * kTile + threadIdx.x;
  for (int r = threadIdx.y; r < kTile; r += kRowsPerPass)
    if (row_of_x[r] && gj < a.n) tile[r][threadIdx.x] = row_of_x[r][gj];
}

/* Tile (X, Y) gets the transposed values of its mirror tile, held in `mirror`. */
template <typename T, int Op>
__device__ void write_tile(const FixArgs &a, T *const *row_of_x, int64_t x, int64_t y,
                           T (*mirror)[kTile + 1]) {
  int64_t gj = y * kTile + threadIdx.x;
  for (int r = threadIdx.y; r < kTile; r += kRowsPerPass) {
    int64_t gi = x * kTile + r;
    if (row_of_x[r] && gj < a.n && writes<Op>(gi, gj))
      row_of_x[r][gj] = apply<T, Op>(mirror[threadIdx.x][r], gi == gj);
  }
}

template <typename T>
__device__ void conj_tile(const FixArgs &a, T *const *row_of_x, int64_t y) {
  int64_t gj = y * kTile + threadIdx.x;
  for (int r = threadIdx.y; r < kTile; r += kRowsPerPass)
    if (row_of_x[r] && gj < a.n) row_of_x[r][gj] = conj_of(row_of_x[r][gj]);
}

template <typename T, int Op>
__global__ void __launch_bounds__(kTile *kRowsPerPass)
    fix_tiles(const __grid_constant__ FixArgs a) {
  __shared__ T *rows[2][kTile]; /* [0]: rows of tile row I, [1]: of tile row J */
  __shared__ T upper[kTile][kTile + 1]; /* tile (I, J); +1 column: no bank conflicts */
  __shared__ T lower[kTile][kTile + 1]; /* tile (J, I) */
  for (int64_t p = a.begin + blockIdx.x; p < a.end; p += gridDim.x) {
    int64_t I, J;
    tile_pair(p, a.tiles, &I, &J);
    const bool diag = I == J; /* uniform over the block, so the barriers below are safe */
    load_rows<T>(a, I, J, rows);
    __syncthreads();
    if constexpr (Op == kConj) {
      conj_tile<T>(a, rows[0], J);
      if (!diag) conj_tile<T>(a, rows[1], I);
    } else {
      /* Read what the writes below need. The diagonal tile is its own mirror (in `upper`). */
      constexpr bool down = Op == kMirrorUpperToLower || Op == kMirrorUpperToLowerReal;
      if (Op != kMirrorLowerToUpper || diag) read_tile<T>(a, rows[0], J, upper);
      if (!down && !diag) read_tile<T>(a, rows[1], I, lower);
      __syncthreads();
      if (!down || diag) write_tile<T, Op>(a, rows[0], I, J, diag ? upper : lower);
      if (Op != kMirrorLowerToUpper && !diag) write_tile<T, Op>(a, rows[1], J, I, upper);
    }
    __syncthreads(); /* before the next pair reuses the shared arrays */
  }
}

using Launcher = void (*)(const FixArgs &, unsigned blocks, cudaStream_t);

template <typename T, int Op> void launch(const FixArgs &a, unsigned blocks, cudaStream_t s) {
  fix_tiles<T, Op><<<blocks, dim3(kTile, kRowsPerPass), 0, s>>>(a);
}

template <typename T> Launcher launcher_for(int op) {
  switch (op) {
    case kMirrorUpperToLower: return launch<T, kMirrorUpperToLower>;
    case kMirrorUpperToLowerReal: return launch<T, kMirrorUpperToLowerReal>;
    case kMirrorLowerToUpper: return launch<T, kMirrorLowerToUpper>;
    case kTranspose: return launch<T, kTranspose>;
    case kTransposeConj: return launch<T, kTransposeConj>;
    default: return launch<T, kConj>;
  }
}

Launcher launcher(int32_t dtype, int op) {
  switch (dtype) {
    case BUNMG_FLOAT32: return launcher_for<float>(op);
    case BUNMG_FLOAT64: return launcher_for<double>(op);
    case BUNMG_COMPLEX64: return launcher_for<cuFloatComplex>(op);
    default: return launcher_for<cuDoubleComplex>(op);
  }
}

/* One operation over the whole matrix: the pairs split evenly over the distinct GPUs, then a
 * full sync, since the next operation reads tiles this one wrote on other GPUs. */
bunmg_status run_pass(bunmg_mesh *mesh, int32_t dtype, int op, FixArgs args) {
  const bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  const int32_t ngpu = st->ngpu;
  const int64_t pairs = args.tiles * (args.tiles + 1) / 2;
  bunmg_status status = BUNMG_OK;
  for (int32_t k = 0; k < ngpu && status == BUNMG_OK; k++) {
    args.begin = pairs * k / ngpu;
    args.end = pairs * (k + 1) / ngpu;
    if (args.begin == args.end) continue;
    int32_t pos = st->gpu_pos[k];
    if ((status = bunmg_cuda_use(mesh, pos)) != BUNMG_OK) break;
    int64_t count = args.end - args.begin;
    unsigned blocks = (unsigned)(count < 65535 ? count : 65535); /* the kernel strides over the rest */
    launcher(dtype, op)(args, blocks, st->lane[pos][0]);
    status = bunmg_cuda_check(mesh, pos, "fix-up kernel launch", cudaGetLastError());
  }
  bunmg_status synced = bunmg_cuda_sync(mesh); /* also after a failed launch: drain the others */
  return status != BUNMG_OK ? status : synced;
}

}  // namespace

bunmg_status bunmg_cuda_fixup(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t mode) {
  const int32_t known = BUNMG_FIX_MIRROR_UPPER_TO_LOWER | BUNMG_FIX_MIRROR_LOWER_TO_UPPER |
                        BUNMG_FIX_TRANSPOSE | BUNMG_FIX_CONJ | BUNMG_FIX_REAL_DIAGONAL;
  if (mode & ~known) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown fix-up mode %d", mode);
  if (a->rows != a->cols || bunmg_dtype_size(a->dtype) == 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "fix-up needs a square matrix of a known dtype (got %lld x %lld, dtype %d)",
                      (long long)a->rows, (long long)a->cols, a->dtype);
  if (a->rows == 0 || mode == 0) return BUNMG_OK;

  const bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  if (st->ngpu > 1 && !st->peer_ok)
    return bunmg_fail(BUNMG_UNSUPPORTED,
                      "fix-up kernels need peer access between every pair of the mesh's GPUs, "
                      "and some pair has none");

  FixArgs args = {};
  for (int32_t d = 0; d < mesh->ndev; d++) args.shard[d] = a->shards[d];
  args.n = a->rows;
  args.s = bunmg_shard_rows(a->rows, mesh->ndev);
  args.tiles = bunmg_ceil_div(a->rows, kTile);

  /* Copies into the shards may still be queued on the lanes. */
  bunmg_status status = bunmg_cuda_sync(mesh);
  /* Mirrors first, then the transpose or conjugation of the result. */
  if (status == BUNMG_OK && (mode & BUNMG_FIX_MIRROR_UPPER_TO_LOWER))
    status = run_pass(mesh, a->dtype, (mode & BUNMG_FIX_REAL_DIAGONAL) ? kMirrorUpperToLowerReal : kMirrorUpperToLower, args);
  if (status == BUNMG_OK && (mode & BUNMG_FIX_MIRROR_LOWER_TO_UPPER))
    status = run_pass(mesh, a->dtype, kMirrorLowerToUpper, args);
  if (status == BUNMG_OK && (mode & BUNMG_FIX_TRANSPOSE))
    status = run_pass(mesh, a->dtype, (mode & BUNMG_FIX_CONJ) ? kTransposeConj : kTranspose, args);
  else if (status == BUNMG_OK && (mode & BUNMG_FIX_CONJ) && bunmg_dtype_is_complex(a->dtype))
    status = run_pass(mesh, a->dtype, kConj, args);
  return status;
}
