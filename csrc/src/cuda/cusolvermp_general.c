/* The GPU engine's general routines (mp_engine.h): getrs, gels and gesvd over cuSOLVERMp's Getrf,
 * Getrs, Gels and Gesvd, and sygvd's steps. The engine's view G = A^T (the column-major view of
 * row-major A) is turned by one transpose on the device into the matrix cuSOLVERMp is asked about
 * with CUBLAS_OP_N: A itself for the LU, conj(A) = G^H (M x N, tall) for least squares and the
 * SVD, so no transposed solve of the library is relied on (docs/mp-engine.md, section 10). */
#include <stdlib.h>

#include "cuda/cusolvermp_engine.h"
#include "routines/routines.h"

static bunmg_status keep(mp_call *c, void *to, const void *from, size_t bytes, const char *what) {
  return bunmg_mpgpu_copy(c, to, from, bytes, cudaMemcpyDeviceToDevice, what);
}

/* to = op(from) for matrices of the given shapes (to's). */
static bunmg_status transpose(mp_call *c, cublasOperation_t op, mp_dmat from, mp_dmat to) {
  return bunmg_mp_blas_add(c, op, 1, &from, 0, &to);
}

/* B to the device and its copy for the check (state->b0). */
static bunmg_status upload_and_keep_rhs(mp_call *c) {
  mp_gpu_call *s = state_of(c);
  bunmg_status st = bunmg_mpgpu_upload_rhs(c);
  if (st == BUNMG_OK && !s->b0) st = bunmg_mp_device_alloc(&s->b0, bunmg_mpgpu_rhs_bytes(c), "a copy of B");
  return st == BUNMG_OK ? keep(c, s->b0, s->b, bunmg_mpgpu_rhs_bytes(c), "cudaMemcpyAsync (a copy of B)") : st;
}

/* G^H (A's rows x A's columns) into state->at, made on first use. */
static bunmg_status adjoint_of_view(mp_call *c) {
  mp_gpu_call *s = state_of(c);
  int64_t cols = bunmg_numroc(c->cols, c->block, c->blacs->pcol, 0, c->grid.pcols);
  size_t bytes = (size_t)bunmg_mpgpu_adjoint_lld(c) * (size_t)(cols > 0 ? cols : 1) * c->esize;
  bunmg_status st = s->at ? BUNMG_OK : bunmg_mp_device_alloc(&s->at, bytes, "A's adjoint");
  return st == BUNMG_OK ? transpose(c, adjoint_op(c), bunmg_mpgpu_view(c, c->a), bunmg_mpgpu_adjoint(c, s->at)) : st;
}

/* ---- getrs: A = P L U of A itself (G^T), then A X = B ---- */

bunmg_status bunmg_mpgpu_getrf(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_device_alloc((void **)&s->ipiv, (size_t)(c->local_rows + c->block) * sizeof(int64_t), "the pivots");
  if (st == BUNMG_OK) st = keep(c, c->a0, c->a, bunmg_mpgpu_matrix_bytes(c), "cudaMemcpyAsync (a copy of A)");
  if (st == BUNMG_OK) st = transpose(c, CUBLAS_OP_T, bunmg_mpgpu_square(c, c->a0), bunmg_mpgpu_square(c, c->a));
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.getrf_size(g->solver, c->n, c->n, c->a, 1, 1, s->desc_a, s->ipiv, data_type(c),
                                                          &w.device_bytes, &w.host_bytes),
                              "cusolverMpGetrf_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpGetrf's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.getrf(g->solver, c->n, c->n, c->a, 1, 1, s->desc_a, s->ipiv, data_type(c), w.device,
                                                     w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpGetrf");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpGetrf");
  bunmg_mp_workspace_free(&w);
  return st;
}

bunmg_status bunmg_mpgpu_getrs(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  bunmg_status st = upload_and_keep_rhs(c);
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.getrs_size(g->solver, CUBLAS_OP_N, c->n, c->nrhs, c->a, 1, 1, s->desc_a, s->ipiv, s->b,
                                                          1, 1, s->desc_b, data_type(c), &w.device_bytes, &w.host_bytes),
                              "cusolverMpGetrs_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpGetrs's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.getrs(g->solver, CUBLAS_OP_N, c->n, c->nrhs, c->a, 1, 1, s->desc_a, s->ipiv, s->b, 1, 1,
                                                     s->desc_b, data_type(c), w.device, w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpGetrs");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpGetrs");
  bunmg_mp_workspace_free(&w);
  if (st == BUNMG_OK && c->info != 0)
    st = bunmg_fail_at(BUNMG_SOLVER_ERROR, c->info, -1, "cusolverMpGetrs returned info %lld", (long long)c->info);
  return st == BUNMG_OK ? bunmg_mpgpu_download_rhs(c) : st;
}

/* ---- gels: min ||conj(A) Y - conj(B)|| (Y = conj(X)) on G^H, then R's diagonal back in G's place ---- */

bunmg_status bunmg_mpgpu_gels(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  cusolverMpMatrixDescriptor_t desc = NULL;
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = keep(c, c->a0, c->a, bunmg_mpgpu_matrix_bytes(c), "cudaMemcpyAsync (a copy of A)");
  if (st == BUNMG_OK) st = adjoint_of_view(c);
  if (st == BUNMG_OK) st = bunmg_mpgpu_descriptor(c, &desc, c->n, c->cols, bunmg_mpgpu_adjoint_lld(c));
  if (st == BUNMG_OK) st = upload_and_keep_rhs(c);
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.gels_size(g->solver, CUBLAS_OP_N, c->n, c->cols, c->nrhs, s->at, 1, 1, desc, s->b, 1, 1,
                                                         s->desc_b, data_type(c), &w.device_bytes, &w.host_bytes),
                              "cusolverMpGels_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpGels's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.gels(g->solver, CUBLAS_OP_N, c->n, c->cols, c->nrhs, s->at, 1, 1, desc, s->b, 1, 1,
                                                    s->desc_b, data_type(c), w.device, w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpGels");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpGels");
  bunmg_mp_workspace_free(&w);
  if (desc) (void)bunmg_cusolvermp.desc_destroy(desc);
  if (st == BUNMG_OK && c->info != 0)
    st = bunmg_fail_at(BUNMG_SOLVER_ERROR, c->info, -1, "cusolverMpGels returned info %lld", (long long)c->info);
  /* R's diagonal where the routine's check reads the call's matrix */
  if (st == BUNMG_OK) st = transpose(c, CUBLAS_OP_T, bunmg_mpgpu_adjoint(c, s->at), bunmg_mpgpu_view(c, c->a));
  return st == BUNMG_OK ? bunmg_mpgpu_download_rhs(c) : st;
}

/* ---- gesvd: G^H = U_H diag(s) VT_H (thin), so U_G = VT_H^H into z and VT_G = U_H^H into vt ---- */

static bunmg_status run_gesvd(mp_call *c, cusolverMpMatrixDescriptor_t desc_at, cusolverMpMatrixDescriptor_t desc_nn) {
  mp_gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  cusolverMpGesvdDescriptor_t svd = NULL;
  cusolverMpGesvdOutputShape_t thin = CUSOLVERMP_GESVD_OUTPUT_SHAPE_THIN;
  const cusolverEigMode_t v = CUSOLVER_EIG_MODE_VECTOR;
  bunmg_status st = bunmg_cusolver_check(bunmg_cusolvermp.gesvd_desc_create(&svd), "cusolverMpGesvdDescriptorCreate");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.gesvd_desc_set(svd, CUSOLVERMP_GESVD_DESCRIPTOR_ATTRIBUTE_SHAPE, &thin, sizeof thin),
                              "cusolverMpGesvdDescriptorSetAttribute (thin)");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.gesvd_size(g->solver, svd, v, v, c->n, c->cols, s->at, 1, 1, desc_at, s->w, s->u, 1, 1,
                                                          desc_at, c->vt, 1, 1, desc_nn, data_type(c), &w.device_bytes, &w.host_bytes),
                              "cusolverMpGesvd_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpGesvd's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.gesvd(g->solver, svd, v, v, c->n, c->cols, s->at, 1, 1, desc_at, s->w, s->u, 1, 1,
                                                     desc_at, c->vt, 1, 1, desc_nn, data_type(c), w.device, w.device_bytes, w.host,
                                                     w.host_bytes, s->info),
                              "cusolverMpGesvd");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpGesvd");
  bunmg_mp_workspace_free(&w);
  if (svd) (void)bunmg_cusolvermp.gesvd_desc_destroy(svd);
  if (st == BUNMG_OK && c->info > 0)
    st = bunmg_fail_at(BUNMG_NO_CONVERGENCE, c->info, -1, "cusolverMpGesvd did not converge (info %lld)", (long long)c->info);
  else if (st == BUNMG_OK && c->info < 0)
    st = bunmg_fail(BUNMG_SOLVER_ERROR, "cusolverMpGesvd returned info %lld", (long long)c->info);
  return st;
}

bunmg_status bunmg_mpgpu_gesvd(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  cusolverMpMatrixDescriptor_t desc_at = NULL, desc_nn = NULL;
  size_t wbytes = (size_t)c->cols * bunmg_dtype_real_size(c->dtype);
  int64_t cols = bunmg_numroc(c->cols, c->block, c->blacs->pcol, 0, c->grid.pcols);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = keep(c, c->a0, c->a, bunmg_mpgpu_matrix_bytes(c), "cudaMemcpyAsync (a copy of A)");
  if (st == BUNMG_OK) st = adjoint_of_view(c);
  if (st == BUNMG_OK && !s->u)
    st = bunmg_mp_device_alloc(&s->u, (size_t)bunmg_mpgpu_adjoint_lld(c) * (size_t)(cols > 0 ? cols : 1) * c->esize, "U");
  if (st == BUNMG_OK && !s->w) st = bunmg_mp_device_alloc(&s->w, wbytes, "the singular values");
  if (st == BUNMG_OK) st = bunmg_mpgpu_descriptor(c, &desc_at, c->n, c->cols, bunmg_mpgpu_adjoint_lld(c));
  if (st == BUNMG_OK) st = bunmg_mpgpu_descriptor(c, &desc_nn, c->cols, c->cols, c->lld);
  if (st == BUNMG_OK) st = run_gesvd(c, desc_at, desc_nn); /* VT_H (N x N) into vt for now */
  if (desc_at) (void)bunmg_cusolvermp.desc_destroy(desc_at);
  if (desc_nn) (void)bunmg_cusolvermp.desc_destroy(desc_nn);
  if (st == BUNMG_OK) st = transpose(c, adjoint_op(c), bunmg_mpgpu_square(c, c->vt), bunmg_mpgpu_square(c, c->z));
  if (st == BUNMG_OK) st = transpose(c, adjoint_op(c), bunmg_mpgpu_adjoint(c, s->u), bunmg_mpgpu_view(c, c->vt));
  return st == BUNMG_OK ? bunmg_mp_cuda(cudaMemcpy(c->w, s->w, wbytes, cudaMemcpyDeviceToHost), "cudaMemcpy (the singular values)")
                        : st;
}

/* V's rows U_G^H into call->v (host, desc_u's layout, through a0: the probes are done), and VT_G
 * (A's U) becomes the call's matrix. */
bunmg_status bunmg_mpgpu_svd_v(void *p) {
  mp_call *c = p;
  int64_t cols = bunmg_numroc(c->cols, c->block, c->blacs->pcol, 0, c->grid.pcols);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = transpose(c, adjoint_op(c), bunmg_mpgpu_square(c, c->z), bunmg_mpgpu_square(c, c->a0));
  if (st == BUNMG_OK)
    st = bunmg_mp_cuda(cudaMemcpy(c->v, c->a0, (size_t)c->lld * (size_t)(cols > 0 ? cols : 0) * c->esize, cudaMemcpyDeviceToHost),
                       "cudaMemcpy (V to the host)");
  if (st == BUNMG_OK) {
    void *a = c->a;
    c->a = c->vt;
    c->vt = a;
  }
  return st;
}

/* ---- sygvd: L L^H = B, C = L^-1 A L^-H by two triangular solves, V = L^-H Y ---- */

bunmg_status bunmg_mpgpu_potrf_second(void *p) {
  mp_call *c = p;
  size_t bytes = bunmg_mpgpu_matrix_bytes(c);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = keep(c, c->a0, c->a, bytes, "cudaMemcpyAsync (a copy of A)");
  if (st == BUNMG_OK) st = keep(c, c->b0, c->second_matrix, bytes, "cudaMemcpyAsync (a copy of B)");
  return st == BUNMG_OK ? bunmg_mpgpu_potrf(c, c->second_matrix) : st;
}

/* L^-1 A, its adjoint A L^-H (A is Hermitian), L^-1 of that; into the call's matrix (z: its old
 * buffer, which the eigensolver overwrites). */
bunmg_status bunmg_mpgpu_sygst(void *p) {
  mp_call *c = p;
  mp_dmat l = bunmg_mpgpu_square(c, c->second_matrix), a = bunmg_mpgpu_square(c, c->a), z = bunmg_mpgpu_square(c, c->z);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_blas_trsm(c, CUBLAS_OP_N, &l, &a);
  if (st == BUNMG_OK) st = transpose(c, adjoint_op(c), a, z);
  if (st == BUNMG_OK) st = bunmg_mp_blas_trsm(c, CUBLAS_OP_N, &l, &z);
  if (st == BUNMG_OK) {
    c->a = z.p;
    c->z = a.p;
    c->scale = 1;
  }
  return st;
}

bunmg_status bunmg_mpgpu_trsm(void *p) {
  mp_call *c = p;
  mp_dmat l = bunmg_mpgpu_square(c, c->second_matrix), z = bunmg_mpgpu_square(c, c->z);
  bunmg_status st = use_device(c);
  return st == BUNMG_OK ? bunmg_mp_blas_trsm(c, adjoint_op(c), &l, &z) : st;
}
