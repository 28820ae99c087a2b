/* What the GPU engine's files share (cusolvermp_engine.c: the moves, potrf, potrs, potri, syevd and
 * the engine's table; cusolvermp_general.c: getrs, gels, gesvd, sygvd; cusolvermp_checks.c: the
 * probes and residuals): the call's device, stream and matrices. Every task runs on the worker,
 * sets the device first (a new thread has none) and ends with the stream synchronized. */
#ifndef BUNMG_CUDA_CUSOLVERMP_ENGINE_H
#define BUNMG_CUDA_CUSOLVERMP_ENGINE_H

#include "cuda/cusolvermp_libs.h"

#include <stdio.h>

static inline struct mp_gpu *gpu_of(const mp_call *c) { return c->mp->gpu; }
static inline mp_gpu_call *state_of(const mp_call *c) { return c->state; }
static inline cudaDataType data_type(const mp_call *c) { return (cudaDataType)bunmg_cuda_data_type(c->dtype); }
/* The adjoint's operation: the conjugate transpose, the transpose for real dtypes. */
static inline cublasOperation_t adjoint_op(const mp_call *c) {
  return bunmg_dtype_is_complex(c->dtype) ? CUBLAS_OP_C : CUBLAS_OP_T;
}
static inline bunmg_status use_device(const mp_call *c) { return bunmg_mp_cuda(cudaSetDevice(gpu_of(c)->device), "cudaSetDevice"); }
static inline bunmg_status sync_stream(const mp_call *c, const char *after) {
  char what[160];
  snprintf(what, sizeof what, "cudaStreamSynchronize (after %s)", after);
  return bunmg_mp_cuda(cudaStreamSynchronize(gpu_of(c)->stream), what);
}
/* info from the device into call->info, once the stream is done. */
bunmg_status bunmg_mpgpu_read_info(mp_call *c, const char *after);
/* bytes of device memory copied on the stream, synchronized. */
bunmg_status bunmg_mpgpu_copy(const mp_call *c, void *to, const void *from, size_t bytes, enum cudaMemcpyKind kind, const char *what);
/* A matrix with A's distribution: lld x local columns elements. */
size_t bunmg_mpgpu_matrix_bytes(const mp_call *c);

/* The call's matrices as products see them: the view G (A's columns x A's rows), its N x N
 * leading part (N = A's columns), the probes' blocks (N x MP_PROBES), the right-hand sides'
 * first `rows` rows (nrhs columns, B's layout), and G's adjoint (A's rows x A's columns; its
 * leading dimension bunmg_mpgpu_adjoint_lld). */
mp_dmat bunmg_mpgpu_view(const mp_call *c, void *p);
mp_dmat bunmg_mpgpu_square(const mp_call *c, void *p);
mp_dmat bunmg_mpgpu_probes(const mp_call *c, void *p);
mp_dmat bunmg_mpgpu_rhs(const mp_call *c, void *p, int64_t rows);
mp_dmat bunmg_mpgpu_adjoint(const mp_call *c, void *p);
int64_t bunmg_mpgpu_adjoint_lld(const mp_call *c);

/* B (call->b, host) to the device (state->b, desc_b), made on first use; X back into call->b;
 * the bytes of this rank's part of either. */
bunmg_status bunmg_mpgpu_upload_rhs(mp_call *c);
bunmg_status bunmg_mpgpu_download_rhs(mp_call *c);
size_t bunmg_mpgpu_rhs_bytes(const mp_call *c);
/* m (A's distribution, N x N) becomes its Cholesky factor; info as potrf's. */
bunmg_status bunmg_mpgpu_potrf(mp_call *c, void *m);
/* A cuSOLVERMp descriptor of a rows x cols matrix with leading dimension lld on the call's grid. */
bunmg_status bunmg_mpgpu_descriptor(const mp_call *c, cusolverMpMatrixDescriptor_t *d, int64_t rows, int64_t cols, int64_t lld);

/* The probes' and residuals' tasks (cusolvermp_checks.c). */
bunmg_status bunmg_mpgpu_probes_create(mp_call *c);
bunmg_status bunmg_mpgpu_probes_image(void *call);
bunmg_status bunmg_mpgpu_probes_check(void *call);
bunmg_status bunmg_mpgpu_probes_generalized(void *call);
bunmg_status bunmg_mpgpu_probes_svd(void *call);
bunmg_status bunmg_mpgpu_getrs_residual(void *call);
bunmg_status bunmg_mpgpu_gels_residual(void *call);

/* The general routines' tasks (cusolvermp_general.c). */
bunmg_status bunmg_mpgpu_getrf(void *call);
bunmg_status bunmg_mpgpu_getrs(void *call);
bunmg_status bunmg_mpgpu_gels(void *call);
bunmg_status bunmg_mpgpu_gesvd(void *call);
bunmg_status bunmg_mpgpu_svd_v(void *call);
bunmg_status bunmg_mpgpu_potrf_second(void *call);
bunmg_status bunmg_mpgpu_sygst(void *call);
bunmg_status bunmg_mpgpu_trsm(void *call);

#endif
