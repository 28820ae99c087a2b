/* The GPU engine's dense products (cusolvermp_libs.h): on a 1 x 1 grid the local matrix is the
 * whole one, so cuBLAS does them on the rank's stream; on larger grids cuBLASMp, on the call's
 * cuBLASMp descriptors. cuBLAS (libcublas.so.13) is loaded at run time like the rest. */
#include <cublas_v2.h>
#include <stdlib.h>

#include "cuda/cusolvermp_libs.h"

static struct {
  __typeof__(cublasCreate_v2) *create;
  __typeof__(cublasDestroy_v2) *destroy;
  __typeof__(cublasSetStream_v2) *set_stream;
  __typeof__(cublasSgemm_v2) *sgemm;
  __typeof__(cublasDgemm_v2) *dgemm;
  __typeof__(cublasCgemm_v2) *cgemm;
  __typeof__(cublasZgemm_v2) *zgemm;
  __typeof__(cublasSgeam) *sgeam;
  __typeof__(cublasDgeam) *dgeam;
  __typeof__(cublasCgeam) *cgeam;
  __typeof__(cublasZgeam) *zgeam;
  __typeof__(cublasStrsm_v2) *strsm;
  __typeof__(cublasDtrsm_v2) *dtrsm;
  __typeof__(cublasCtrsm_v2) *ctrsm;
  __typeof__(cublasZtrsm_v2) *ztrsm;
} cb;

static const bunmg_symbol symbols[] = {
    {"cublasCreate_v2", &cb.create}, {"cublasDestroy_v2", &cb.destroy}, {"cublasSetStream_v2", &cb.set_stream},
    {"cublasSgemm_v2", &cb.sgemm},   {"cublasDgemm_v2", &cb.dgemm},     {"cublasCgemm_v2", &cb.cgemm},
    {"cublasZgemm_v2", &cb.zgemm},   {"cublasSgeam", &cb.sgeam},        {"cublasDgeam", &cb.dgeam},
    {"cublasCgeam", &cb.cgeam},      {"cublasZgeam", &cb.zgeam},        {"cublasStrsm_v2", &cb.strsm},
    {"cublasDtrsm_v2", &cb.dtrsm},   {"cublasCtrsm_v2", &cb.ctrsm},     {"cublasZtrsm_v2", &cb.ztrsm},
};

static bunmg_library library = {"cuBLAS", "BUNMG_CUBLAS_LIBRARY", NULL, symbols, sizeof symbols / sizeof *symbols, 0,
                                "libcublas.so.13", "nvidia/cu13/lib", "the CUDA 13 toolkit or the nvidia-cublas pip package"};

static bunmg_status cublas_check(cublasStatus_t s, const char *call) {
  if (s == CUBLAS_STATUS_SUCCESS) return BUNMG_OK;
  (void)cudaGetLastError();
  return bunmg_fail(s == CUBLAS_STATUS_ALLOC_FAILED ? BUNMG_OUT_OF_MEMORY : BUNMG_SOLVER_ERROR, "%s failed: cublasStatus_t %d", call,
                    (int)s);
}

static int local(const mp_call *c) { return c->grid.prows == 1 && c->grid.pcols == 1; }

/* The world's cuBLAS handle on its stream, made on first use. */
static bunmg_status handle_of(mp_call *c, cublasHandle_t *out) {
  struct mp_gpu *g = c->mp->gpu;
  bunmg_status st = g->local_blas ? BUNMG_OK : bunmg_library_load(&library);
  if (st == BUNMG_OK && !g->local_blas) {
    cublasHandle_t h = NULL;
    st = cublas_check(cb.create(&h), "cublasCreate");
    if (st == BUNMG_OK) st = cublas_check(cb.set_stream(h, g->stream), "cublasSetStream");
    if (st == BUNMG_OK) g->local_blas = h;
    else if (h) cb.destroy(h);
  }
  *out = g->local_blas;
  return st;
}

void bunmg_mp_blas_destroy(struct mp_gpu *g) {
  if (g->local_blas) cb.destroy(g->local_blas);
  g->local_blas = NULL;
}

/* 1 and 0 of the dtype, for alpha and beta. */
static const double one_d[2] = {1, 0}, zero_d[2] = {0, 0};
static const float one_f[2] = {1, 0}, zero_f[2] = {0, 0};
static const void *one_of(const mp_call *c) { return bunmg_dtype_real_size(c->dtype) == 4 ? (const void *)one_f : (const void *)one_d; }
static const void *zero_of(const mp_call *c) { return bunmg_dtype_real_size(c->dtype) == 4 ? (const void *)zero_f : (const void *)zero_d; }

static cublasComputeType_t compute_type(const mp_call *c) {
  return bunmg_dtype_real_size(c->dtype) == 4 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
}

static bunmg_status sync(const mp_call *c, const char *after) {
  return bunmg_mp_cuda(cudaStreamSynchronize(c->mp->gpu->stream), after);
}

bunmg_status bunmg_mp_blas_gemm(mp_call *c, cublasOperation_t op, const void *a, const void *b, void *out) {
  int64_t n = c->n, k = MP_PROBES, ld = c->lld;
  const void *alpha = one_of(c), *beta = zero_of(c);
  bunmg_status st;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int N = (int)n, K = (int)k, LD = (int)ld;
    cublasStatus_t s;
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.sgemm(h, op, CUBLAS_OP_N, N, K, N, alpha, a, LD, b, LD, beta, out, LD); break;
      case BUNMG_FLOAT64: s = cb.dgemm(h, op, CUBLAS_OP_N, N, K, N, alpha, a, LD, b, LD, beta, out, LD); break;
      case BUNMG_COMPLEX64: s = cb.cgemm(h, op, CUBLAS_OP_N, N, K, N, alpha, a, LD, b, LD, beta, out, LD); break;
      default: s = cb.zgemm(h, op, CUBLAS_OP_N, N, K, N, alpha, a, LD, b, LD, beta, out, LD); break;
    }
    st = cublas_check(s, "cublas?gemm");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?gemm)") : st;
  }
  mp_gpu_call *s = c->state;
  cublasMpHandle_t h = c->mp->gpu->blas;
  mp_workspace w = {0};
  st = bunmg_mp_cublasmp(bunmg_cublasmp.gemm_size(h, op, CUBLAS_OP_N, n, k, n, alpha, a, 1, 1, s->blas_a, b, 1, 1, s->blas_p, beta,
                                                  out, 1, 1, s->blas_p, compute_type(c), &w.device_bytes, &w.host_bytes),
                         "cublasMpGemm_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cublasMpGemm's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.gemm(h, op, CUBLAS_OP_N, n, k, n, alpha, a, 1, 1, s->blas_a, b, 1, 1, s->blas_p, beta, out, 1,
                                               1, s->blas_p, compute_type(c), w.device, w.device_bytes, w.host, w.host_bytes),
                           "cublasMpGemm");
  if (st == BUNMG_OK) st = sync(c, "cudaStreamSynchronize (after cublasMpGemm)");
  bunmg_mp_workspace_free(&w);
  return st;
}

bunmg_status bunmg_mp_blas_geadd(mp_call *c, cublasOperation_t op, const void *from, void *to) {
  int64_t n = c->n;
  const void *alpha = one_of(c), *beta = zero_of(c);
  bunmg_status st;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int N = (int)n, LD = (int)c->lld;
    cublasStatus_t s;
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.sgeam(h, op, CUBLAS_OP_N, N, N, alpha, from, LD, beta, to, LD, to, LD); break;
      case BUNMG_FLOAT64: s = cb.dgeam(h, op, CUBLAS_OP_N, N, N, alpha, from, LD, beta, to, LD, to, LD); break;
      case BUNMG_COMPLEX64: s = cb.cgeam(h, op, CUBLAS_OP_N, N, N, alpha, from, LD, beta, to, LD, to, LD); break;
      default: s = cb.zgeam(h, op, CUBLAS_OP_N, N, N, alpha, from, LD, beta, to, LD, to, LD); break;
    }
    st = cublas_check(s, "cublas?geam");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?geam)") : st;
  }
  mp_gpu_call *s = c->state;
  cublasMpHandle_t h = c->mp->gpu->blas;
  mp_workspace w = {0};
  st = bunmg_mp_cublasmp(bunmg_cublasmp.geadd_size(h, op, n, n, alpha, from, 1, 1, s->blas_a, beta, to, 1, 1, s->blas_a,
                                                   &w.device_bytes, &w.host_bytes),
                         "cublasMpGeadd_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cublasMpGeadd's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.geadd(h, op, n, n, alpha, from, 1, 1, s->blas_a, beta, to, 1, 1, s->blas_a, w.device,
                                                w.device_bytes, w.host, w.host_bytes),
                           "cublasMpGeadd");
  if (st == BUNMG_OK) st = sync(c, "cudaStreamSynchronize (after cublasMpGeadd)");
  bunmg_mp_workspace_free(&w);
  return st;
}

bunmg_status bunmg_mp_blas_trsm(mp_call *c, cublasOperation_t op, void *b, int64_t nrhs, int64_t ldb,
                                cublasMpMatrixDescriptor_t desc_b) {
  const void *alpha = one_of(c);
  bunmg_status st;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int N = (int)c->n, R = (int)nrhs, LD = (int)c->lld, LDB = (int)ldb;
    const cublasSideMode_t L = CUBLAS_SIDE_LEFT;
    const cublasFillMode_t lo = CUBLAS_FILL_MODE_LOWER;
    const cublasDiagType_t nu = CUBLAS_DIAG_NON_UNIT;
    cublasStatus_t s;
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.strsm(h, L, lo, op, nu, N, R, alpha, c->a, LD, b, LDB); break;
      case BUNMG_FLOAT64: s = cb.dtrsm(h, L, lo, op, nu, N, R, alpha, c->a, LD, b, LDB); break;
      case BUNMG_COMPLEX64: s = cb.ctrsm(h, L, lo, op, nu, N, R, alpha, c->a, LD, b, LDB); break;
      default: s = cb.ztrsm(h, L, lo, op, nu, N, R, alpha, c->a, LD, b, LDB); break;
    }
    st = cublas_check(s, "cublas?trsm");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?trsm)") : st;
  }
  mp_gpu_call *s = c->state;
  cublasMpHandle_t h = c->mp->gpu->blas;
  mp_workspace w = {0};
  st = bunmg_mp_cublasmp(bunmg_cublasmp.trsm_size(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, op, CUBLAS_DIAG_NON_UNIT, c->n, nrhs,
                                                  alpha, c->a, 1, 1, s->blas_a, b, 1, 1, desc_b, compute_type(c), &w.device_bytes,
                                                  &w.host_bytes),
                         "cublasMpTrsm_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cublasMpTrsm's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.trsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, op, CUBLAS_DIAG_NON_UNIT, c->n, nrhs, alpha,
                                               c->a, 1, 1, s->blas_a, b, 1, 1, desc_b, compute_type(c), w.device, w.device_bytes,
                                               w.host, w.host_bytes),
                           "cublasMpTrsm");
  if (st == BUNMG_OK) st = sync(c, "cudaStreamSynchronize (after cublasMpTrsm)");
  bunmg_mp_workspace_free(&w);
  return st;
}
