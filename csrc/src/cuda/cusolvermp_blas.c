/* The GPU engine's dense products (cusolvermp_libs.h) on distributed device matrices (mp_dmat):
 * on a 1 x 1 grid the local matrix is the whole one, so cuBLAS does them on the rank's stream; on
 * larger grids cuBLASMp, on descriptors made for the call. cuBLAS (libcublas.so.13) is loaded at
 * run time like the rest; its nrm2 also gives each rank's part of a Frobenius norm. */
#include <cublas_v2.h>
#include <math.h>
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
  __typeof__(cublasSnrm2_v2) *snrm2;
  __typeof__(cublasDnrm2_v2) *dnrm2;
  __typeof__(cublasScnrm2_v2) *scnrm2;
  __typeof__(cublasDznrm2_v2) *dznrm2;
} cb;

static const bunmg_symbol symbols[] = {
    {"cublasCreate_v2", &cb.create}, {"cublasDestroy_v2", &cb.destroy}, {"cublasSetStream_v2", &cb.set_stream},
    {"cublasSgemm_v2", &cb.sgemm},   {"cublasDgemm_v2", &cb.dgemm},     {"cublasCgemm_v2", &cb.cgemm},
    {"cublasZgemm_v2", &cb.zgemm},   {"cublasSgeam", &cb.sgeam},        {"cublasDgeam", &cb.dgeam},
    {"cublasCgeam", &cb.cgeam},      {"cublasZgeam", &cb.zgeam},        {"cublasStrsm_v2", &cb.strsm},
    {"cublasDtrsm_v2", &cb.dtrsm},   {"cublasCtrsm_v2", &cb.ctrsm},     {"cublasZtrsm_v2", &cb.ztrsm},
    {"cublasSnrm2_v2", &cb.snrm2},   {"cublasDnrm2_v2", &cb.dnrm2},     {"cublasScnrm2_v2", &cb.scnrm2},
    {"cublasDznrm2_v2", &cb.dznrm2},
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

/* A real scalar as the dtype's (imaginary part 0), for alpha and beta. */
typedef union scalar {
  float f[2];
  double d[2];
} scalar;
static scalar scalar_of(const mp_call *c, double v) {
  scalar s = {0};
  if (bunmg_dtype_real_size(c->dtype) == 4) s.f[0] = (float)v;
  else s.d[0] = v;
  return s;
}

static cublasComputeType_t compute_type(const mp_call *c) {
  return bunmg_dtype_real_size(c->dtype) == 4 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
}

static bunmg_status sync(const mp_call *c, const char *after) {
  return bunmg_mp_cuda(cudaStreamSynchronize(c->mp->gpu->stream), after);
}

/* cuBLASMp's descriptors of up to three matrices, and the call's workspace. */
typedef struct blas_call {
  cublasMpMatrixDescriptor_t d[3];
  mp_workspace w;
} blas_call;

static bunmg_status describe(mp_call *c, blas_call *b, int count, const mp_dmat *const m[]) {
  cudaDataType type = (cudaDataType)bunmg_cuda_data_type(c->dtype);
  mp_gpu_call *s = c->state;
  bunmg_status st = BUNMG_OK;
  for (int i = 0; i < count && st == BUNMG_OK; i++)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.desc_create(m[i]->rows, m[i]->cols, c->block, c->block, 0, 0, m[i]->lld, type,
                                                      s->grid->blas, &b->d[i]),
                           "cublasMpMatrixDescriptorCreate");
  return st;
}

static bunmg_status finish(mp_call *c, blas_call *b, bunmg_status st, const char *what) {
  if (st == BUNMG_OK) st = sync(c, what);
  for (int i = 0; i < 3; i++)
    if (b->d[i]) (void)bunmg_cublasmp.desc_destroy(b->d[i]);
  bunmg_mp_workspace_free(&b->w);
  return st;
}

bunmg_status bunmg_mp_blas_gemm(mp_call *c, cublasOperation_t op, double alpha, const mp_dmat *a, const mp_dmat *b, double beta,
                                const mp_dmat *out) {
  int64_t m = out->rows, n = out->cols, k = op == CUBLAS_OP_N ? a->cols : a->rows;
  scalar al = scalar_of(c, alpha), be = scalar_of(c, beta);
  bunmg_status st;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int M = (int)m, N = (int)n, K = (int)k, LA = (int)a->lld, LB = (int)b->lld, LC = (int)out->lld;
    cublasStatus_t s;
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.sgemm(h, op, CUBLAS_OP_N, M, N, K, al.f, a->p, LA, b->p, LB, be.f, out->p, LC); break;
      case BUNMG_FLOAT64: s = cb.dgemm(h, op, CUBLAS_OP_N, M, N, K, al.d, a->p, LA, b->p, LB, be.d, out->p, LC); break;
      case BUNMG_COMPLEX64: s = cb.cgemm(h, op, CUBLAS_OP_N, M, N, K, (void *)al.f, a->p, LA, b->p, LB, (void *)be.f, out->p, LC); break;
      default: s = cb.zgemm(h, op, CUBLAS_OP_N, M, N, K, (void *)al.d, a->p, LA, b->p, LB, (void *)be.d, out->p, LC); break;
    }
    st = cublas_check(s, "cublas?gemm");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?gemm)") : st;
  }
  cublasMpHandle_t h = c->mp->gpu->blas;
  blas_call bc = {0};
  const mp_dmat *ms[] = {a, b, out};
  st = describe(c, &bc, 3, ms);
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.gemm_size(h, op, CUBLAS_OP_N, m, n, k, &al, a->p, 1, 1, bc.d[0], b->p, 1, 1, bc.d[1], &be,
                                                    out->p, 1, 1, bc.d[2], compute_type(c), &bc.w.device_bytes, &bc.w.host_bytes),
                           "cublasMpGemm_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&bc.w, "cublasMpGemm's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.gemm(h, op, CUBLAS_OP_N, m, n, k, &al, a->p, 1, 1, bc.d[0], b->p, 1, 1, bc.d[1], &be, out->p,
                                               1, 1, bc.d[2], compute_type(c), bc.w.device, bc.w.device_bytes, bc.w.host,
                                               bc.w.host_bytes),
                           "cublasMpGemm");
  return finish(c, &bc, st, "cudaStreamSynchronize (after cublasMpGemm)");
}

bunmg_status bunmg_mp_blas_add(mp_call *c, cublasOperation_t op, double alpha, const mp_dmat *from, double beta, const mp_dmat *to) {
  int64_t m = to->rows, n = to->cols;
  scalar al = scalar_of(c, alpha), be = scalar_of(c, beta);
  bunmg_status st;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int M = (int)m, N = (int)n, LF = (int)from->lld, LT = (int)to->lld;
    cublasStatus_t s; /* in place: C = B, ldc = ldb, B untransposed */
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.sgeam(h, op, CUBLAS_OP_N, M, N, al.f, from->p, LF, be.f, to->p, LT, to->p, LT); break;
      case BUNMG_FLOAT64: s = cb.dgeam(h, op, CUBLAS_OP_N, M, N, al.d, from->p, LF, be.d, to->p, LT, to->p, LT); break;
      case BUNMG_COMPLEX64: s = cb.cgeam(h, op, CUBLAS_OP_N, M, N, (void *)al.f, from->p, LF, (void *)be.f, to->p, LT, to->p, LT); break;
      default: s = cb.zgeam(h, op, CUBLAS_OP_N, M, N, (void *)al.d, from->p, LF, (void *)be.d, to->p, LT, to->p, LT); break;
    }
    st = cublas_check(s, "cublas?geam");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?geam)") : st;
  }
  cublasMpHandle_t h = c->mp->gpu->blas;
  blas_call bc = {0};
  const mp_dmat *ms[] = {from, to};
  st = describe(c, &bc, 2, ms);
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.geadd_size(h, op, m, n, &al, from->p, 1, 1, bc.d[0], &be, to->p, 1, 1, bc.d[1],
                                                     &bc.w.device_bytes, &bc.w.host_bytes),
                           "cublasMpGeadd_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&bc.w, "cublasMpGeadd's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.geadd(h, op, m, n, &al, from->p, 1, 1, bc.d[0], &be, to->p, 1, 1, bc.d[1], bc.w.device,
                                                bc.w.device_bytes, bc.w.host, bc.w.host_bytes),
                           "cublasMpGeadd");
  return finish(c, &bc, st, "cudaStreamSynchronize (after cublasMpGeadd)");
}

bunmg_status bunmg_mp_blas_trsm(mp_call *c, cublasOperation_t op, const mp_dmat *l, const mp_dmat *b) {
  scalar al = scalar_of(c, 1);
  bunmg_status st;
  const cublasSideMode_t L = CUBLAS_SIDE_LEFT;
  const cublasFillMode_t lo = CUBLAS_FILL_MODE_LOWER;
  const cublasDiagType_t nu = CUBLAS_DIAG_NON_UNIT;
  if (local(c)) {
    cublasHandle_t h;
    if ((st = handle_of(c, &h)) != BUNMG_OK) return st;
    int N = (int)b->rows, R = (int)b->cols, LD = (int)l->lld, LDB = (int)b->lld;
    cublasStatus_t s;
    switch (c->dtype) {
      case BUNMG_FLOAT32: s = cb.strsm(h, L, lo, op, nu, N, R, al.f, l->p, LD, b->p, LDB); break;
      case BUNMG_FLOAT64: s = cb.dtrsm(h, L, lo, op, nu, N, R, al.d, l->p, LD, b->p, LDB); break;
      case BUNMG_COMPLEX64: s = cb.ctrsm(h, L, lo, op, nu, N, R, (void *)al.f, l->p, LD, b->p, LDB); break;
      default: s = cb.ztrsm(h, L, lo, op, nu, N, R, (void *)al.d, l->p, LD, b->p, LDB); break;
    }
    st = cublas_check(s, "cublas?trsm");
    return st == BUNMG_OK ? sync(c, "cudaStreamSynchronize (after cublas?trsm)") : st;
  }
  cublasMpHandle_t h = c->mp->gpu->blas;
  blas_call bc = {0};
  const mp_dmat *ms[] = {l, b};
  st = describe(c, &bc, 2, ms);
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.trsm_size(h, L, lo, op, nu, b->rows, b->cols, &al, l->p, 1, 1, bc.d[0], b->p, 1, 1, bc.d[1],
                                                    compute_type(c), &bc.w.device_bytes, &bc.w.host_bytes),
                           "cublasMpTrsm_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&bc.w, "cublasMpTrsm's workspace");
  if (st == BUNMG_OK)
    st = bunmg_mp_cublasmp(bunmg_cublasmp.trsm(h, L, lo, op, nu, b->rows, b->cols, &al, l->p, 1, 1, bc.d[0], b->p, 1, 1, bc.d[1],
                                               compute_type(c), bc.w.device, bc.w.device_bytes, bc.w.host, bc.w.host_bytes),
                           "cublasMpTrsm");
  return finish(c, &bc, st, "cudaStreamSynchronize (after cublasMpTrsm)");
}

/* ||v|| of `count` elements with stride 1. */
static bunmg_status nrm2(mp_call *c, cublasHandle_t h, const void *v, int64_t count, double *out) {
  int n = (int)count;
  float f = 0;
  cublasStatus_t s;
  switch (c->dtype) {
    case BUNMG_FLOAT32: s = cb.snrm2(h, n, v, 1, &f); *out = f; break;
    case BUNMG_FLOAT64: s = cb.dnrm2(h, n, v, 1, out); break;
    case BUNMG_COMPLEX64: s = cb.scnrm2(h, n, v, 1, &f); *out = f; break;
    default: s = cb.dznrm2(h, n, v, 1, out); break;
  }
  return cublas_check(s, "cublas?nrm2");
}

/* This rank's local block, column by column where the leading dimension pads it (the padding's
 * contents are not the matrix's), then the sum of squares over every rank. */
bunmg_status bunmg_mp_blas_norm(mp_call *c, const mp_dmat *m, double *out) {
  int64_t rows = bunmg_numroc(m->rows, c->block, c->blacs->prow, 0, c->grid.prows);
  int64_t cols = bunmg_numroc(m->cols, c->block, c->blacs->pcol, 0, c->grid.pcols);
  cublasHandle_t h;
  bunmg_status st = handle_of(c, &h);
  double squares = 0;
  if (rows > 0 && cols > 0 && st == BUNMG_OK) {
    int whole = rows == m->lld && rows * cols <= 0x7fffffff;
    for (int64_t j = 0; st == BUNMG_OK && j < (whole ? 1 : cols); j++) {
      double part = 0;
      st = nrm2(c, h, (const char *)m->p + (size_t)(j * m->lld) * c->esize, whole ? rows * cols : rows, &part);
      squares += part * part;
    }
  }
  if (st == BUNMG_OK) st = bunmg_mp_allreduce(c->mp, &squares, 1, MP_DOUBLE, MP_SUM, "a norm's parts");
  *out = sqrt(squares);
  return st;
}
