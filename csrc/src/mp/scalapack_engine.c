/* The CPU engine (mp_engine.h): ScaLAPACK on the host, the call's matrix is its work buffer. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "mp/mp_call.h"
#include "mp/mp_probes.h"
#include "routines/routines.h"

static bunmg_status begin(mp_call *c) {
  bunmg_status st = bunmg_blacs_grid(c->mp, c->grid.prows, c->grid.pcols, c->grid.order, &c->blacs);
  return st == BUNMG_OK ? bunmg_scalapack_desc(&c->desc, c->blacs, c->n, c->n, c->block, c->block, c->lld) : st;
}

static void free_matrix(mp_call *c, void *m) { free(m); }

static bunmg_status diagonal(mp_call *c, void *diagonal) {
  for (int64_t lj = 0; lj < c->local_cols; lj++) {
    int64_t j = bunmg_mp_call_col(c, lj);
    if (bunmg_g2p(j, c->block, c->grid.prows) != c->blacs->prow) continue;
    int64_t li = bunmg_g2l(j, c->block, c->grid.prows);
    memcpy((char *)diagonal + (size_t)j * c->esize, (const char *)c->a + (size_t)(lj * c->lld + li) * c->esize, c->esize);
  }
  return BUNMG_OK;
}

static bunmg_status task_potrf(void *p) {
  mp_call *c = p;
  return bunmg_pxpotrf(c->dtype, c->a, &c->desc, &c->info);
}

static bunmg_status task_potrs(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxpotrs(c->dtype, c->a, &c->desc, c->b, &c->desc_b, &c->info);
  if (st == BUNMG_OK && c->info != 0) st = bunmg_info_status(BUNMG_INFO_POTRS, c->info);
  return st;
}

/* The full Hermitian inverse: its lower triangle from p?potri, the strict upper one from the
 * conjugate transpose in z, the diagonal made real. */
static bunmg_status task_potri(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxpotri(c->dtype, c->a, &c->desc, &c->info);
  if (st == BUNMG_OK && c->info != 0) return bunmg_info_status(BUNMG_INFO_POTRI, c->info);
  if (st == BUNMG_OK) st = bunmg_pxtranc(c->dtype, c->a, &c->desc, c->z, &c->desc);
  if (st != BUNMG_OK) return st;
  int cplx = bunmg_dtype_is_complex(c->dtype);
  char *a = c->a, *z = c->z;
  for (int64_t lj = 0; lj < c->local_cols; lj++) {
    int64_t j = bunmg_mp_call_col(c, lj);
    for (int64_t li = 0; li < c->local_rows; li++) {
      int64_t i = bunmg_mp_call_row(c, li);
      size_t at = (size_t)(lj * c->lld + li) * c->esize;
      if (i < j) memcpy(a + at, z + at, c->esize);
      else if (i == j && cplx) memset(a + at + c->esize / 2, 0, c->esize / 2); /* Hermitian: real */
    }
  }
  return BUNMG_OK;
}

/* p?syevd / p?heevd compute vectors always: ScaLAPACK has no values-only divide and conquer. */
static bunmg_status task_syevd(void *p) {
  mp_call *c = p;
  bunmg_status st = bunmg_pxsyevd(c->dtype, c->a, &c->desc, c->w, c->z, &c->desc, &c->info);
  return st == BUNMG_OK ? bunmg_info_status(BUNMG_INFO_SYEVD, c->info) : st;
}

static bunmg_status task_convention(void *p) {
  mp_call *c = p;
  if (!(c->flags & BUNMG_EIG_ROWS)) return bunmg_pxtranc(c->dtype, c->z, &c->desc, c->a, &c->desc);
  size_t count = (size_t)(c->lld * c->local_cols);
  memcpy(c->a, c->z, count * c->esize);
  bunmg_mp_conjugate(c->dtype, c->a, count);
  return BUNMG_OK;
}

static void skew_vectors(mp_call *c, double by) {
  bunmg_mp_scale_reals(c->dtype, c->z, (size_t)(c->lld * c->local_cols), by);
}

static void release(mp_call *c) {
  free(c->probes.p);
  free(c->probes.gp);
  free(c->probes.t1);
  free(c->probes.t2);
}

static void factor_free(bunmg_mp_factor *f) { free(f->l); }

const mp_engine bunmg_scalapack_engine = {
    .name = "ScaLAPACK",
    .default_block = 64,
    .load = bunmg_scalapack_load,
    .leave = bunmg_blacs_release,
    .begin = begin,
    .matrix = bunmg_mp_call_matrix,
    .free_matrix = free_matrix,
    .diagonal = diagonal,
    .potrf = task_potrf,
    .potrs = task_potrs,
    .potri = task_potri,
    .syevd = task_syevd,
    .probes_create = bunmg_mp_probes_create,
    .probes_image = bunmg_mp_probes_image,
    .probes_check = bunmg_mp_probes_check,
    .convention = task_convention,
    .skew_vectors = skew_vectors,
    .release = release,
    .factor_free = factor_free,
    .names = {"p?potrf", "p?potrs", "p?potri", "p?syevd", "p?hemm (the probes' image)", "the eigenvectors' probes",
              "p?tranc (the eigenvectors' convention)"},
};
