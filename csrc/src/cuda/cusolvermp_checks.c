/* The GPU engine's checks of results (docs/mp-engine.md, section 7), the same measures as the CPU
 * engine's (mp_probes.c, scalapack_engine.c), with the products on the device: the eigenvectors'
 * probes (syevd), the generalized ones (sygvd), the singular vectors' (gesvd), and the residuals of
 * getrs and gels. Probe blocks come to the host only as N x MP_PROBES blocks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cusolvermp_engine.h"
#include "mp/mp_probes.h"

static size_t probe_bytes(const mp_call *c) { return bunmg_mp_probes_reals(c) * bunmg_dtype_real_size(c->dtype); }

/* The probes on the host and the device, and the blocks the checks use (tm: A's rows x
 * MP_PROBES, gesvd's). */
bunmg_status bunmg_mpgpu_probes_create(mp_call *c) {
  mp_gpu_call *s = state_of(c);
  size_t bytes = probe_bytes(c);
  bunmg_status st = bunmg_mp_probes_alloc(c);
  if (st == BUNMG_OK) st = use_device(c);
  void **bufs[] = {&s->p, &s->gp, &s->t1, &s->t2};
  for (int i = 0; i < 4 && st == BUNMG_OK; i++) st = bunmg_mp_device_alloc(bufs[i], bytes, "the probes");
  if (st == BUNMG_OK && c->vt) { /* gesvd's */
    int64_t cols = bunmg_numroc(MP_PROBES, c->block, c->blacs->pcol, 0, c->grid.pcols);
    st = bunmg_mp_device_alloc(&s->tm, (size_t)bunmg_mpgpu_adjoint_lld(c) * (size_t)(cols > 0 ? cols : 1) * c->esize, "the probes");
  }
  if (st == BUNMG_OK) st = bunmg_mp_cuda(cudaMemcpy(s->p, c->probes.p, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (the probes)");
  return st;
}

/* out = op(a) b for an N x N a (A's distribution) and probe blocks b and out. */
static bunmg_status gemm(mp_call *c, cublasOperation_t op, void *a, void *b, void *out) {
  mp_dmat ma = bunmg_mpgpu_square(c, a), mb = bunmg_mpgpu_probes(c, b), mo = bunmg_mpgpu_probes(c, out);
  return bunmg_mp_blas_gemm(c, op, 1, &ma, &mb, 0, &mo);
}

static bunmg_status to_host(const mp_call *c, void *host, const void *device) {
  return bunmg_mp_cuda(cudaMemcpy(host, device, probe_bytes(c), cudaMemcpyDeviceToHost), "cudaMemcpy (a probe block)");
}

static bunmg_status to_device(const mp_call *c, void *device, const void *host) {
  return bunmg_mp_cuda(cudaMemcpy(device, host, probe_bytes(c), cudaMemcpyHostToDevice), "cudaMemcpy (a probe block)");
}

/* The device's block `device` to the host's `host`, less `base` (host). */
static bunmg_status minus(const mp_call *c, void *host, const void *device, const void *base) {
  bunmg_status st = to_host(c, host, device);
  if (st == BUNMG_OK) bunmg_mp_probes_subtract(c, host, base);
  return st;
}

/* G p: the whole of G (both triangles), so a lower triangle that is not the upper one's
 * conjugate fails the residual (SOLVER_ERROR) rather than passing unseen. */
bunmg_status bunmg_mpgpu_probes_image(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->a, s->p, s->gp);
  return st == BUNMG_OK ? to_host(c, c->probes.gp, s->gp) : st;
}

/* The worst probe's ||t2_k|| / (scale ||p_k||) over every rank (t2 on the host). */
static bunmg_status worst(mp_call *c, const void *t2, double scale, double *out) {
  double sums[2 * MP_PROBES] = {0};
  int parts = bunmg_dtype_is_complex(c->dtype) ? 2 : 1, single = bunmg_dtype_real_size(c->dtype) == 4;
  int64_t cols = bunmg_numroc(MP_PROBES, c->block, c->blacs->pcol, 0, c->grid.pcols);
  for (int64_t lj = 0; lj < cols; lj++) {
    int64_t k = bunmg_mp_call_col(c, lj);
    for (int64_t li = 0; li < c->local_rows * parts; li++) {
      size_t at = (size_t)(lj * c->lld * parts + li);
      double r = single ? ((const float *)t2)[at] : ((const double *)t2)[at];
      double q = single ? ((const float *)c->probes.p)[at] : ((const double *)c->probes.p)[at];
      sums[k] += r * r;
      sums[MP_PROBES + k] += q * q;
    }
  }
  bunmg_status st = bunmg_mp_allreduce(c->mp, sums, 2 * MP_PROBES, MP_DOUBLE, MP_SUM, "the probes' norms");
  double w = 0;
  for (int k = 0; k < MP_PROBES; k++) {
    double ratio = sqrt(sums[k]) / (scale * sqrt(sums[MP_PROBES + k]));
    if (!(ratio <= w)) w = ratio; /* NaN sticks */
  }
  *out = w;
  return st;
}

/* diag(w) p into the device's t (through the host's). */
static bunmg_status scaled_probes(mp_call *c, void *host, void *device) {
  memcpy(host, c->probes.p, probe_bytes(c));
  bunmg_mp_probes_scale(c, host);
  return to_device(c, device, host);
}

/* residual ||Z (diag(w) (Z^H p)) - G p||, orthogonality ||Z^H (Z p) - p|| (mp_probes.c). */
bunmg_status bunmg_mpgpu_probes_check(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  mp_probes *pr = &c->probes;
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = gemm(c, adjoint_op(c), c->z, s->p, s->t1);
  if (st == BUNMG_OK) st = to_host(c, pr->t1, s->t1);
  if (st == BUNMG_OK) {
    bunmg_mp_probes_scale(c, pr->t1);
    st = to_device(c, s->t1, pr->t1);
  }
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->t1, s->t2);
  if (st == BUNMG_OK) st = minus(c, pr->t2, s->t2, pr->gp);
  if (st == BUNMG_OK) st = worst(c, pr->t2, bunmg_mp_probes_scale_of(c), &c->residual);
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->p, s->t1);
  if (st == BUNMG_OK) st = gemm(c, adjoint_op(c), c->z, s->t1, s->t2);
  if (st == BUNMG_OK) st = minus(c, pr->t2, s->t2, pr->p);
  if (st == BUNMG_OK) st = worst(c, pr->t2, 1.0, &c->orthogonality);
  return st;
}

static bunmg_status norm_of(mp_call *c, mp_dmat m, double *out) { return bunmg_mp_blas_norm(c, &m, out); }

/* sygvd's, on A and B kept before the solver (a0, b0), V = z (mp_probes.c's measures):
 *   B-orthogonality ||V^H B (V p) - p|| / (||p|| max(1, ||B|| ||V||^2 / N))
 *   residual        ||A (V p) - B (V (diag(w) p))|| / ((||A|| + max |w| ||B||) ||V|| ||p||) */
bunmg_status bunmg_mpgpu_probes_generalized(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  mp_probes *pr = &c->probes;
  double na = 0, nb = 0, nv = 0, wmax = 0;
  for (int64_t i = 0; i < c->n; i++)
    wmax = fmax(wmax, fabs(bunmg_dtype_real_size(c->dtype) == 4 ? (double)((float *)c->w)[i] : ((double *)c->w)[i]));
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = norm_of(c, bunmg_mpgpu_square(c, c->a0), &na);
  if (st == BUNMG_OK) st = norm_of(c, bunmg_mpgpu_square(c, c->b0), &nb);
  if (st == BUNMG_OK) st = norm_of(c, bunmg_mpgpu_square(c, c->z), &nv);
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->p, s->t1);   /* t1 = V p */
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->b0, s->t1, s->t2); /* t2 = B V p */
  if (st == BUNMG_OK) st = gemm(c, adjoint_op(c), c->z, s->t2, s->gp);
  if (st == BUNMG_OK) st = minus(c, pr->gp, s->gp, pr->p);
  if (st == BUNMG_OK) st = worst(c, pr->gp, fmax(1.0, nb * nv * nv / (double)c->n), &c->orthogonality);
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->a0, s->t1, s->gp); /* gp = A V p */
  if (st == BUNMG_OK) st = scaled_probes(c, pr->t2, s->t2);            /* t2 = diag(w) p */
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->t2, s->t1);
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->b0, s->t1, s->t2); /* t2 = B V diag(w) p */
  if (st == BUNMG_OK) st = to_host(c, pr->t2, s->t2);
  if (st == BUNMG_OK) st = minus(c, pr->gp, s->gp, pr->t2);
  double scale = (na + wmax * nb) * nv;
  if (st == BUNMG_OK) st = worst(c, pr->gp, scale > 0 ? scale : 1.0, &c->residual);
  return st;
}

/* gesvd's, on the view G = U diag(s) VT (N x M; U = z, VT = vt, G kept in a0), tm = VT^H p
 * (M x MP_PROBES):
 *   orthogonality ||U^H U p - p|| and ||VT VT^H p - p|| over ||p||, the worse of the two
 *   residual      ||G (VT^H p) - U (diag(s) p)|| / (s_max ||p||) */
bunmg_status bunmg_mpgpu_probes_svd(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  mp_probes *pr = &c->probes;
  double smax = 0;
  for (int64_t i = 0; i < c->cols; i++)
    smax = fmax(smax, fabs(bunmg_dtype_real_size(c->dtype) == 4 ? (double)((float *)c->w)[i] : ((double *)c->w)[i]));
  mp_dmat vt = bunmg_mpgpu_view(c, c->vt), g = bunmg_mpgpu_view(c, c->a0), mp = bunmg_mpgpu_probes(c, s->p);
  mp_dmat mtm = {s->tm, c->n, MP_PROBES, bunmg_mpgpu_adjoint_lld(c)};
  mp_dmat mgp = bunmg_mpgpu_probes(c, s->gp), mt1 = bunmg_mpgpu_probes(c, s->t1);
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, adjoint_op(c), 1, &vt, &mp, 0, &mtm); /* tm = VT^H p */
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, CUBLAS_OP_N, 1, &vt, &mtm, 0, &mt1);  /* t1 = VT VT^H p */
  if (st == BUNMG_OK) st = minus(c, pr->t1, s->t1, pr->p);
  if (st == BUNMG_OK) st = worst(c, pr->t1, 1.0, &c->orthogonality);
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, CUBLAS_OP_N, 1, &g, &mtm, 0, &mgp); /* gp = G tm */
  if (st == BUNMG_OK) st = scaled_probes(c, pr->t1, s->t1);                         /* t1 = diag(s) p */
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->t1, s->t2);                /* t2 = U t1 */
  if (st == BUNMG_OK) st = to_host(c, pr->t2, s->t2);
  if (st == BUNMG_OK) st = minus(c, pr->gp, s->gp, pr->t2);
  if (st == BUNMG_OK) st = worst(c, pr->gp, smax > 0 ? smax : 1.0, &c->residual);
  double u_orthogonality = 0;
  if (st == BUNMG_OK) st = gemm(c, CUBLAS_OP_N, c->z, s->p, s->t1);
  if (st == BUNMG_OK) st = gemm(c, adjoint_op(c), c->z, s->t1, s->t2); /* U^H U p */
  if (st == BUNMG_OK) st = minus(c, pr->t2, s->t2, pr->p);
  if (st == BUNMG_OK) st = worst(c, pr->t2, 1.0, &u_orthogonality);
  c->orthogonality = isnan(u_orthogonality) || isnan(c->orthogonality) ? NAN : fmax(c->orthogonality, u_orthogonality);
  return st;
}

/* getrs's ||A X - B|| / (||A|| ||X|| + ||B||), A X = G^T X, on the kept copies of G (a0) and B
 * (state->b0), X in state->b; b0 becomes the residual. */
bunmg_status bunmg_mpgpu_getrs_residual(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  mp_dmat g = bunmg_mpgpu_square(c, c->a0), x = bunmg_mpgpu_rhs(c, s->b, c->n), r = bunmg_mpgpu_rhs(c, s->b0, c->n);
  double ng = 0, nx = 0, nb = 0, nr = 0;
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &g, &ng);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &x, &nx);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &r, &nb);
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, CUBLAS_OP_T, 1, &g, &x, -1, &r);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &r, &nr);
  double scale = ng * nx + nb;
  c->residual = nr / (scale > 0 ? scale : 1);
  return st;
}

/* gels's normal equations ||G (G^H Y - C)|| / (||G|| (||G|| ||Y|| + ||C||)), Y = X (the first N
 * rows of state->b), C the right-hand sides (state->b0, which becomes G^H Y - C; b then G's
 * product: X is on the host by now). */
bunmg_status bunmg_mpgpu_gels_residual(void *p) {
  mp_call *c = p;
  mp_gpu_call *s = state_of(c);
  mp_dmat g = bunmg_mpgpu_view(c, c->a0), y = bunmg_mpgpu_rhs(c, s->b, c->cols), r = bunmg_mpgpu_rhs(c, s->b0, c->n);
  double ng = 0, ny = 0, nc = 0, ns = 0;
  bunmg_status st = use_device(c);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &g, &ng);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &y, &ny);
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &r, &nc);
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, adjoint_op(c), 1, &g, &y, -1, &r); /* r = G^H Y - C */
  if (st == BUNMG_OK) st = bunmg_mp_blas_gemm(c, CUBLAS_OP_N, 1, &g, &r, 0, &y);    /* y = G r */
  if (st == BUNMG_OK) st = bunmg_mp_blas_norm(c, &y, &ns);
  double scale = ng * (ng * ny + nc);
  c->residual = ns / (scale > 0 ? scale : 1);
  return st;
}
