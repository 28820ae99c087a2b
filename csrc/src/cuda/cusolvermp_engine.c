/* The GPU engine (mp_engine.h): cuSOLVERMp on the rank's device over the world's NCCL
 * communicator. The grid layout of a call's work buffer goes to the device as it is (the local
 * matrix with the planner's LLD; on a 1 x 1 grid the row-major rows themselves, LLD = N); results
 * are checked on the device's data (the factor's and inverse's diagonals, the probes and residuals
 * of cusolvermp_checks.c) before anything comes back. This file: the call's grid, descriptors and
 * moves, potrf, potrs, potri, syevd, the eigenvectors' convention, and the engine's table; getrs,
 * gels, gesvd and sygvd's steps are in cusolvermp_general.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "cuda/cusolvermp_engine.h"
#include "routines/routines.h"

typedef mp_gpu_call gpu_call;

bunmg_status bunmg_mpgpu_copy(const mp_call *c, void *to, const void *from, size_t bytes, enum cudaMemcpyKind kind, const char *what) {
  bunmg_status st = bunmg_mp_cuda(cudaMemcpyAsync(to, from, bytes, kind, gpu_of(c)->stream), what);
  return st == BUNMG_OK ? sync_stream(c, what) : st;
}

static size_t local_bytes(const mp_call *c, int64_t cols) {
  return (size_t)c->lld * (size_t)(cols > 0 ? cols : 1) * c->esize;
}

size_t bunmg_mpgpu_matrix_bytes(const mp_call *c) { return local_bytes(c, c->local_cols); }

mp_dmat bunmg_mpgpu_view(const mp_call *c, void *p) { return (mp_dmat){p, c->cols, c->n, c->lld}; }
mp_dmat bunmg_mpgpu_square(const mp_call *c, void *p) { return (mp_dmat){p, c->cols, c->cols, c->lld}; }
mp_dmat bunmg_mpgpu_probes(const mp_call *c, void *p) { return (mp_dmat){p, c->cols, MP_PROBES, c->lld}; }
mp_dmat bunmg_mpgpu_rhs(const mp_call *c, void *p, int64_t rows) { return (mp_dmat){p, rows, c->nrhs, c->desc_b.v[8]}; }

int64_t bunmg_mpgpu_adjoint_lld(const mp_call *c) {
  int64_t rows = bunmg_numroc(c->n, c->block, c->blacs->prow, 0, c->grid.prows);
  return rows > 0 ? rows : 1;
}

mp_dmat bunmg_mpgpu_adjoint(const mp_call *c, void *p) { return (mp_dmat){p, c->n, c->cols, bunmg_mpgpu_adjoint_lld(c)}; }

bunmg_status bunmg_mpgpu_descriptor(const mp_call *c, cusolverMpMatrixDescriptor_t *d, int64_t rows, int64_t cols, int64_t lld) {
  return bunmg_cusolver_check(
      bunmg_cusolvermp.desc_create(d, state_of(c)->grid->solver, data_type(c), rows, cols, c->block, c->block, 0, 0, lld),
      "cusolverMpCreateMatrixDesc");
}

/* ---- the grid and the call's descriptors ---- */

typedef struct grid_task {
  bunmg_mp *mp;
  mp_gpu_grid *grid;
} grid_task;

static bunmg_status run_grid_create(void *p) {
  grid_task *t = p;
  struct mp_gpu *g = t->mp->gpu;
  mp_gpu_grid *grid = t->grid;
  bunmg_status st = bunmg_mp_cuda(cudaSetDevice(g->device), "cudaSetDevice");
  cusolverMpGridMapping_t mapping =
      grid->order == BUNMG_GRID_COL_MAJOR ? CUSOLVERMP_GRID_MAPPING_COL_MAJOR : CUSOLVERMP_GRID_MAPPING_ROW_MAJOR;
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.grid_create(g->solver, &grid->solver, g->comm, grid->prows, grid->pcols, mapping),
                              "cusolverMpCreateDeviceGrid");
  cublasMpGridLayout_t layout = grid->order == BUNMG_GRID_COL_MAJOR ? CUBLASMP_GRID_LAYOUT_COL_MAJOR : CUBLASMP_GRID_LAYOUT_ROW_MAJOR;
  if (st == BUNMG_OK && grid->prows * grid->pcols > 1) /* a 1 x 1 grid's products go to cuBLAS */
    st = bunmg_mp_cublasmp(bunmg_cublasmp.grid_create(grid->prows, grid->pcols, layout, g->comm, &grid->blas), "cublasMpGridCreate");
  return st;
}

/* The world's grid of the call's shape, made once (collective: every rank asks for the same
 * grids in the same order); this rank's position in it as call->blacs, as ScaLAPACK's. */
static bunmg_status grid_of(mp_call *c) {
  bunmg_mp *mp = c->mp;
  mp_gpu_grid *free_slot = NULL, *found = NULL;
  for (int i = 0; i < MP_BLACS_GRIDS && !found; i++) {
    mp_gpu_grid *g = &mp->gpu->grids[i];
    if (g->used && g->prows == c->grid.prows && g->pcols == c->grid.pcols && g->order == c->grid.order) found = g;
    else if (!g->used && !free_slot) free_slot = g;
  }
  bunmg_status st = BUNMG_OK;
  if (!found) {
    if (!free_slot)
      return bunmg_fail(BUNMG_UNSUPPORTED, "an mp handle keeps at most %d grids (shapes); this is one more", MP_BLACS_GRIDS);
    *free_slot = (mp_gpu_grid){1, c->grid.prows, c->grid.pcols, c->grid.order, NULL, NULL};
    grid_task *t = malloc(sizeof *t);
    if (!t) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
    *t = (grid_task){mp, free_slot};
    int abandoned = 0;
    st = bunmg_mp_run(mp, mp->timeout_ms, run_grid_create, t, "cusolverMpCreateDeviceGrid", &abandoned);
    if (abandoned) return st;
    free(t);
    if (st != BUNMG_OK) { /* the slot again free */
      if (free_slot->solver) (void)bunmg_cusolvermp.grid_destroy(free_slot->solver);
      *free_slot = (mp_gpu_grid){0};
      return st;
    }
    found = free_slot;
  }
  /* the position, where bunmg_grid places this rank */
  int32_t index = (int32_t)(found - mp->gpu->grids);
  mp_blacs *b = &mp->blacs[index];
  int32_t pr = found->order == BUNMG_GRID_COL_MAJOR ? mp->rank % found->prows : mp->rank / found->pcols;
  int32_t pc = found->order == BUNMG_GRID_COL_MAJOR ? mp->rank / found->prows : mp->rank % found->pcols;
  *b = (mp_blacs){1, found->prows, found->pcols, found->order, -1, pr, pc};
  c->blacs = b;
  state_of(c)->grid = found;
  return st;
}

static bunmg_status begin(mp_call *c) {
  gpu_call *s = calloc(1, sizeof *s);
  if (!s) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  c->state = s;
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = grid_of(c);
  if (st == BUNMG_OK) st = bunmg_mpgpu_descriptor(c, &s->desc_a, c->cols, c->n, c->lld);
  if (st == BUNMG_OK) st = bunmg_mp_device_alloc((void **)&s->info, sizeof(int), "the info word");
  return bunmg_mp_agree(c->mp, st, NULL, NULL, 0, c->name);
}

/* ---- moves ---- */

static bunmg_status task_upload(void *p) {
  mp_call *c = p;
  void *a = NULL;
  size_t bytes = local_bytes(c, c->local_cols);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_device_alloc(&a, bytes, "A");
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaMemcpy(a, c->work, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (A to the device)");
  if (st == BUNMG_OK) c->a = a;
  else if (a) cudaFree(a);
  gpu_call *s = state_of(c);
  if (st == BUNMG_OK && c->second_work) { /* sygvd's B */
    st = bunmg_mp_device_alloc(&s->second, bytes, "B");
    if (st == BUNMG_OK)
      st = bunmg_mp_cuda(cudaMemcpy(s->second, c->second_work, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (B to the device)");
    if (st == BUNMG_OK) c->second_matrix = s->second;
  }
  return st;
}

static bunmg_status task_download(void *p) {
  mp_call *c = p;
  bunmg_status st = use_device(c);
  return st == BUNMG_OK ? bunmg_mp_cuda(cudaMemcpy(c->work, c->a, local_bytes(c, c->local_cols), cudaMemcpyDeviceToHost),
                                        "cudaMemcpy (the result to the host)")
                        : st;
}

static void *matrix(const mp_call *c, const char *what) {
  void *m = NULL;
  size_t bytes = local_bytes(c, c->local_cols);
  if (use_device(c) != BUNMG_OK || bunmg_mp_device_alloc(&m, bytes, what) != BUNMG_OK) return NULL;
  /* on the engine's stream, which does not wait for the default one */
  if (bunmg_mp_cuda(cudaMemsetAsync(m, 0, bytes, gpu_of(c)->stream), "cudaMemsetAsync") != BUNMG_OK) {
    cudaFree(m);
    return NULL;
  }
  return m;
}

static void free_matrix(mp_call *c, void *m) {
  if (use_device(c) == BUNMG_OK) cudaFree(m);
}

/* This rank's diagonal blocks, one strided copy each. */
static bunmg_status diagonal(mp_call *c, const void *matrix, void *diagonal) {
  bunmg_status st = use_device(c);
  for (int64_t j0 = 0; st == BUNMG_OK && j0 < c->cols; j0 += c->block) {
    int64_t kb = j0 / c->block;
    if (kb % c->grid.prows != c->blacs->prow || kb % c->grid.pcols != c->blacs->pcol) continue;
    int64_t li = (kb / c->grid.prows) * c->block, lj = (kb / c->grid.pcols) * c->block;
    int64_t count = c->cols - j0 < c->block ? c->cols - j0 : c->block;
    st = bunmg_mp_cuda(cudaMemcpy2D((char *)diagonal + (size_t)j0 * c->esize, c->esize,
                                    (const char *)matrix + (size_t)(lj * c->lld + li) * c->esize, (size_t)(c->lld + 1) * c->esize,
                                    c->esize, (size_t)count, cudaMemcpyDeviceToHost),
                       "cudaMemcpy2D (the diagonal)");
  }
  return st;
}

/* ---- the solver's calls ---- */

bunmg_status bunmg_mpgpu_read_info(mp_call *c, const char *after) {
  int info = 0;
  bunmg_status st = sync_stream(c, after);
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaMemcpy(&info, state_of(c)->info, sizeof info, cudaMemcpyDeviceToHost), "cudaMemcpy (info)");
  c->info = info;
  return st;
}

/* cusolverMpPotrf (0.9.1) fails with CUSOLVER_STATUS_INTERNAL_ERROR where A is not positive
 * definite, info unset (first GPU run). The factor's diagonal tells: where this rank holds a pivot
 * that is not real, finite and positive, the call goes on with info = that minor, and the check of
 * the gathered diagonal (mp_cholesky.c) names the first one; else the failure stands. */
static bunmg_status not_positive_definite(mp_call *c, const void *m, bunmg_status failure) {
  char message[1024];
  snprintf(message, sizeof message, "%s", bunmg_last_error());
  (void)cudaStreamSynchronize(gpu_of(c)->stream);
  (void)cudaGetLastError();
  void *diag = calloc((size_t)c->n, c->esize);
  int64_t bad = -1;
  if (diag && diagonal(c, m, diag) == BUNMG_OK)
    for (int64_t j0 = 0; j0 < c->n && bad < 0; j0 += c->block) {
      int64_t kb = j0 / c->block;
      if (kb % c->grid.prows != c->blacs->prow || kb % c->grid.pcols != c->blacs->pcol) continue;
      for (int64_t j = j0; j < c->n && j < j0 + c->block && bad < 0; j++)
        if (bunmg_verify_factor(c->dtype, (char *)diag + (size_t)j * c->esize, 1, 0) != BUNMG_OK) bad = j;
    }
  free(diag);
  if (bad < 0) return bunmg_fail(failure, "%s", message);
  bunmg_clear_error();
  c->info = bad + 1;
  return BUNMG_OK;
}

bunmg_status bunmg_mpgpu_potrf(mp_call *c, void *m) {
  gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.potrf_size(g->solver, CUBLAS_FILL_MODE_LOWER, c->n, m, 1, 1, s->desc_a,
                                                          data_type(c), &w.device_bytes, &w.host_bytes),
                              "cusolverMpPotrf_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpPotrf's workspace");
  int failed = 0;
  if (st == BUNMG_OK) {
    st = bunmg_cusolver_check(bunmg_cusolvermp.potrf(g->solver, CUBLAS_FILL_MODE_LOWER, c->n, m, 1, 1, s->desc_a, data_type(c),
                                                     w.device, w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpPotrf");
    failed = st != BUNMG_OK;
  }
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpPotrf");
  bunmg_mp_workspace_free(&w);
  return failed ? not_positive_definite(c, m, st) : st;
}

static bunmg_status task_potrf(void *p) {
  mp_call *c = p;
  return bunmg_mpgpu_potrf(c, c->a);
}

static bunmg_status potrs_solve(mp_call *c, void *b, int64_t nrhs, cusolverMpMatrixDescriptor_t desc_b) {
  gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  bunmg_status st = bunmg_cusolver_check(bunmg_cusolvermp.potrs_size(g->solver, CUBLAS_FILL_MODE_LOWER, c->n, nrhs, c->a, 1, 1,
                                                                     s->desc_a, b, 1, 1, desc_b, data_type(c), &w.device_bytes,
                                                                     &w.host_bytes),
                                         "cusolverMpPotrs_bufferSize");
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpPotrs's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.potrs(g->solver, CUBLAS_FILL_MODE_LOWER, c->n, nrhs, c->a, 1, 1, s->desc_a, b, 1, 1,
                                                     desc_b, data_type(c), w.device, w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpPotrs");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpPotrs");
  bunmg_mp_workspace_free(&w);
  return st;
}

/* X = L^-H L^-1 B on the device: cusolverMpPotrs for one right-hand side; two triangular solves
 * for more (cuSOLVERMp 0.9.1's Potrs returned success leaving a 3-column B unchanged on the
 * first GPU run: docs/mp-engine.md, section 10). */
static bunmg_status solve_on_device(mp_call *c, void *b, int64_t nrhs, int64_t lldb, cusolverMpMatrixDescriptor_t desc_b) {
  if (nrhs == 1) return potrs_solve(c, b, nrhs, desc_b);
  mp_dmat l = bunmg_mpgpu_square(c, c->a), x = {b, c->n, nrhs, lldb};
  bunmg_status st = bunmg_mp_blas_trsm(c, CUBLAS_OP_N, &l, &x);
  if (st == BUNMG_OK) st = bunmg_mp_blas_trsm(c, adjoint_op(c), &l, &x);
  c->info = 0;
  return st;
}

size_t bunmg_mpgpu_rhs_bytes(const mp_call *c) {
  int64_t colsb = bunmg_numroc(c->nrhs, c->block, c->blacs->pcol, 0, c->grid.pcols);
  return (size_t)c->desc_b.v[8] * (size_t)(colsb > 0 ? colsb : 1) * c->esize;
}

bunmg_status bunmg_mpgpu_upload_rhs(mp_call *c) {
  gpu_call *s = state_of(c);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK && !s->b) st = bunmg_mp_device_alloc(&s->b, bunmg_mpgpu_rhs_bytes(c), "B");
  if (st == BUNMG_OK && !s->desc_b) st = bunmg_mpgpu_descriptor(c, &s->desc_b, c->n, c->nrhs, c->desc_b.v[8]);
  return st == BUNMG_OK ? bunmg_mp_cuda(cudaMemcpy(s->b, c->b, bunmg_mpgpu_rhs_bytes(c), cudaMemcpyHostToDevice), "cudaMemcpy (B to the device)")
                        : st;
}

bunmg_status bunmg_mpgpu_download_rhs(mp_call *c) {
  return bunmg_mp_cuda(cudaMemcpy(c->b, state_of(c)->b, bunmg_mpgpu_rhs_bytes(c), cudaMemcpyDeviceToHost), "cudaMemcpy (X to the host)");
}

static bunmg_status task_potrs(void *p) {
  mp_call *c = p;
  gpu_call *s = state_of(c);
  bunmg_status st = bunmg_mpgpu_upload_rhs(c);
  if (st == BUNMG_OK) st = solve_on_device(c, s->b, c->nrhs, c->desc_b.v[8], s->desc_b);
  if (st == BUNMG_OK && c->info != 0) st = bunmg_info_status(BUNMG_INFO_POTRS, c->info);
  return st == BUNMG_OK ? bunmg_mpgpu_download_rhs(c) : st;
}

/* The inverse as the solve of the identity (docs/mp-engine.md, section 6.3): z = I, z = G^-1 I,
 * which becomes the call's matrix; the factor goes to z's place and is freed with it. */
static bunmg_status identity(mp_call *c) {
  double zero[2] = {0, 0}, one[2] = {1, 0};
  float zero_f[2] = {0, 0}, one_f[2] = {1, 0};
  int single = bunmg_dtype_real_size(c->dtype) == 4;
  bunmg_status st = bunmg_cusolver_check(bunmg_cusolvermp.laset(gpu_of(c)->solver, CUBLAS_FILL_MODE_FULL, c->n, c->n,
                                                                single ? (const void *)zero_f : (const void *)zero,
                                                                single ? (const void *)one_f : (const void *)one, c->z, 1, 1,
                                                                state_of(c)->desc_a, state_of(c)->info),
                                         "cusolverMpLaset");
  return st == BUNMG_OK ? sync_stream(c, "cusolverMpLaset") : st;
}

static bunmg_status task_potri(void *p) {
  mp_call *c = p;
  gpu_call *s = state_of(c);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = identity(c);
  if (st == BUNMG_OK) st = solve_on_device(c, c->z, c->n, c->lld, s->desc_a);
  if (st == BUNMG_OK && c->info != 0) st = bunmg_info_status(BUNMG_INFO_POTRI, c->info);
  if (st == BUNMG_OK) {
    void *factor = c->a;
    c->a = c->z;
    c->z = factor;
  }
  return st;
}

/* Vectors always: the probes judge them, values only included. jobz is 'V' (LAPACK's) unless
 * cuSOLVERMp refuses it, then 'Z' (NVIDIA's sample), once per process (docs/mp-engine.md,
 * section 10). */
static _Atomic char jobz_vectors = 'V';

static bunmg_status task_syevd(void *p) {
  mp_call *c = p;
  gpu_call *s = state_of(c);
  struct mp_gpu *g = gpu_of(c);
  mp_workspace w = {0};
  size_t wbytes = (size_t)c->n * bunmg_dtype_real_size(c->dtype);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK && !s->w) st = bunmg_mp_device_alloc(&s->w, wbytes, "the eigenvalues");
  cudaDataType type = data_type(c);
  char jobz = jobz_vectors;
  for (int tries = 0; st == BUNMG_OK && tries < 2; tries++) {
    cusolverStatus_t r = bunmg_cusolvermp.syevd_size(g->solver, &jobz, CUBLAS_FILL_MODE_LOWER, c->n, c->a, 1, 1, s->desc_a, s->w, c->z,
                                                     1, 1, s->desc_a, type, &w.device_bytes, &w.host_bytes);
    if (r == CUSOLVER_STATUS_INVALID_VALUE && jobz == 'V') {
      if (getenv("BUNMG_MP_NOTES")) fprintf(stderr, "bunmg: cusolverMpSyevd_bufferSize refused jobz 'V'; using 'Z'\n");
      jobz = jobz_vectors = 'Z';
      continue;
    }
    st = bunmg_cusolver_check(r, "cusolverMpSyevd_bufferSize");
    break;
  }
  if (st == BUNMG_OK) st = bunmg_mp_workspace_alloc(&w, "cusolverMpSyevd's workspace");
  if (st == BUNMG_OK)
    st = bunmg_cusolver_check(bunmg_cusolvermp.syevd(g->solver, &jobz, CUBLAS_FILL_MODE_LOWER, c->n, c->a, 1, 1, s->desc_a, s->w, c->z,
                                                     1, 1, s->desc_a, type, w.device, w.device_bytes, w.host, w.host_bytes, s->info),
                              "cusolverMpSyevd");
  if (st == BUNMG_OK) st = bunmg_mpgpu_read_info(c, "cusolverMpSyevd");
  bunmg_mp_workspace_free(&w);
  if (st == BUNMG_OK) st = bunmg_info_status(BUNMG_INFO_SYEVD, c->info);
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaMemcpy(c->w, s->w, wbytes, cudaMemcpyDeviceToHost), "cudaMemcpy (the eigenvalues)");
  return st;
}

/* ---- the user's convention ---- */

/* to = op(from), N x N. */
static bunmg_status geadd(mp_call *c, cublasOperation_t op, void *from, void *to) {
  mp_dmat f = bunmg_mpgpu_square(c, from), t = bunmg_mpgpu_square(c, to);
  return bunmg_mp_blas_add(c, op, 1, &f, 0, &t);
}

/* Columns: the call's matrix = Z^H. Rows: conj(Z) = (Z^H)^T, through the call's matrix. */
static bunmg_status task_convention(void *p) {
  mp_call *c = p;
  int cplx = bunmg_dtype_is_complex(c->dtype);
  bunmg_status st = use_device(c);
  if (st != BUNMG_OK) return st;
  if (!(c->flags & BUNMG_EIG_ROWS)) return geadd(c, cplx ? CUBLAS_OP_C : CUBLAS_OP_T, c->z, c->a);
  if (cplx) {
    st = geadd(c, CUBLAS_OP_C, c->z, c->a);
    if (st == BUNMG_OK) st = geadd(c, CUBLAS_OP_T, c->a, c->z);
  }
  if (st == BUNMG_OK) {
    void *a = c->a;
    c->a = c->z;
    c->z = a;
  }
  return st;
}

static void skew_vectors(mp_call *c, double by) {
  size_t count = (size_t)(c->lld * c->local_cols), bytes = count * c->esize;
  void *host = malloc(bytes ? bytes : 1);
  if (host && use_device(c) == BUNMG_OK && cudaMemcpy(host, c->z, bytes, cudaMemcpyDeviceToHost) == cudaSuccess) {
    bunmg_mp_scale_reals(c->dtype, host, count, by);
    (void)cudaMemcpy(c->z, host, bytes, cudaMemcpyHostToDevice);
  }
  free(host);
}

static void release(mp_call *c) {
  gpu_call *s = c->state;
  free(c->probes.p);
  free(c->probes.gp);
  free(c->probes.t1);
  free(c->probes.t2);
  if (!c->mp || !c->mp->gpu || use_device(c) != BUNMG_OK) {
    free(s);
    return;
  }
  if (c->a && c->a != c->work && !c->borrowed) cudaFree(c->a);
  if (s) {
    void *bufs[] = {s->info, s->ipiv, s->b, s->b0, s->w, s->p, s->gp, s->t1, s->t2, s->tm, s->at, s->u, s->second};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
      if (bufs[i]) cudaFree(bufs[i]);
    if (s->desc_a) (void)bunmg_cusolvermp.desc_destroy(s->desc_a);
    if (s->desc_b) (void)bunmg_cusolvermp.desc_destroy(s->desc_b);
    free(s);
  }
}

static void factor_free(bunmg_mp_factor *f) {
  if (cudaSetDevice(f->mp->gpu->device) == cudaSuccess) cudaFree(f->l);
}

static bunmg_status load(void) { return bunmg_cusolvermp_load(); }

void bunmg_cusolvermp_leave(bunmg_mp *mp);

const mp_engine bunmg_cusolvermp_engine = {
    .name = "cuSOLVERMp",
    .default_block = 256,
    .load = load,
    .leave = bunmg_cusolvermp_leave,
    .begin = begin,
    .upload = task_upload,
    .download = task_download,
    .matrix = matrix,
    .free_matrix = free_matrix,
    .diagonal = diagonal,
    .potrf = task_potrf,
    .potrs = task_potrs,
    .potri = task_potri,
    .syevd = task_syevd,
    .probes_create = bunmg_mpgpu_probes_create,
    .probes_image = bunmg_mpgpu_probes_image,
    .probes_check = bunmg_mpgpu_probes_check,
    .convention = task_convention,
    .skew_vectors = skew_vectors,
    .getrf = bunmg_mpgpu_getrf,
    .getrs = bunmg_mpgpu_getrs,
    .getrs_residual = bunmg_mpgpu_getrs_residual,
    .potrf_second = bunmg_mpgpu_potrf_second,
    .sygst = bunmg_mpgpu_sygst,
    .trsm = bunmg_mpgpu_trsm,
    .probes_generalized = bunmg_mpgpu_probes_generalized,
    .gels = bunmg_mpgpu_gels,
    .gels_residual = bunmg_mpgpu_gels_residual,
    .gesvd = bunmg_mpgpu_gesvd,
    .svd_v = bunmg_mpgpu_svd_v,
    .probes_svd = bunmg_mpgpu_probes_svd,
    .release = release,
    .factor_free = factor_free,
    .names = {.potrf = "cusolverMpPotrf", .potrs = "cusolverMpPotrs", .potri = "cusolverMpPotrs (the inverse)",
              .syevd = "cusolverMpSyevd", .image = "cublasMpGemm (the probes' image)",
              .check = "the eigenvectors' probes (cublasMpGemm)", .convention = "cublasMpGeadd (the eigenvectors' convention)",
              .getrf = "cusolverMpGetrf", .getrs = "cusolverMpGetrs", .getrs_residual = "the residual's check (cublasMpGemm)",
              .potrf_second = "cusolverMpPotrf (B)", .sygst = "cublasMpTrsm (the reduction L^-1 A L^-H)",
              .trsm = "cublasMpTrsm (the back-transformation)", .probes_generalized = "the eigenvectors' probes (cublasMpGemm)",
              .gels = "cusolverMpGels", .gels_residual = "the normal equations' check (cublasMpGemm)",
              .gesvd = "cusolverMpGesvd", .svd_v = "cublasMpGeadd (V)", .probes_svd = "the singular vectors' probes (cublasMpGemm)"},
};
