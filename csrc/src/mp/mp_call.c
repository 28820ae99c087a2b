/* The steps every mp routine shares (mp_call.h). */
#include "mp/mp_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/finite.h"
#include "mp/mp_transport.h"

/* The squarest grid with prows <= pcols, or the one the options fix. */
static bunmg_status grid_of(const bunmg_mp_options *o, int32_t ranks, int32_t *prows, int32_t *pcols) {
  int32_t r = o ? o->prows : 0, c = o ? o->pcols : 0;
  if (r < 0 || c < 0 || r > BUNMG_MAX_RANKS || c > BUNMG_MAX_RANKS)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: prows and pcols must be in 0..%d, got %d and %d", BUNMG_MAX_RANKS,
                      r, c);
  if (r == 0 && c == 0) {
    for (r = 1; (int64_t)(r + 1) * (r + 1) <= ranks; r++) (void)0;
    while (ranks % r != 0) r--;
  }
  if (r == 0 || c == 0) {
    int32_t given = r ? r : c;
    if (ranks % given != 0)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: %s = %d does not divide the job's %d ranks",
                        r ? "prows" : "pcols", given, ranks);
    if (r == 0) r = ranks / c;
    else c = ranks / r;
  }
  if ((int64_t)r * c != ranks)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: a %d x %d grid needs %lld ranks, the job has %d", r, c,
                      (long long)r * c, ranks);
  *prows = r;
  *pcols = c;
  return BUNMG_OK;
}

/* tall: M x N with M >= N (gels), else square. */
static bunmg_status check_local(const bunmg_matrix *a, const bunmg_mp *mp, int tall) {
  if (!a) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix is NULL");
  if (tall && (a->rows < 1 || a->rows > BUNMG_MAX_EXTENT || a->cols < 1 || a->cols > a->rows))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "matrix must be M x N with 1 <= N <= M <= 2^40, got %lld x %lld",
                      (long long)a->rows, (long long)a->cols);
  if (!tall && (a->rows < 1 || a->rows > BUNMG_MAX_EXTENT || a->cols != a->rows))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix must be square with N in 1..2^40, got %lld x %lld",
                      (long long)a->rows, (long long)a->cols);
  if (!bunmg_dtype_size(a->dtype)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", a->dtype);
  if (a->layout != BUNMG_LAYOUT_ROWS)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix must be in row layout (%d), got layout %d", BUNMG_LAYOUT_ROWS,
                      a->layout);
  int64_t s = bunmg_ceil_div(a->rows, mp->size), first = (int64_t)mp->rank * s;
  int64_t rows = first >= a->rows ? 0 : a->rows - first < s ? a->rows - first : s;
  if (a->capacity < rows)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "capacity %lld rows is below this rank's %lld rows", (long long)a->capacity,
                      (long long)rows);
  if (rows > 0 && !a->shards[0]) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shards[0] is NULL, and this rank has %lld rows", (long long)rows);
  return BUNMG_OK;
}

/* UNSUPPORTED when the engine lacks one of the ops the routine needs (they are NULL). */
static bunmg_status check_engine(const mp_engine *e, int32_t routine, const char *name) {
  int lacks = 0;
  switch (routine) {
  case MP_GETRS: lacks = !e->getrf || !e->getrs || !e->getrs_residual; break;
  case MP_SYGVD: lacks = !e->potrf_second || !e->sygst || !e->syevd || !e->trsm || !e->probes_generalized; break;
  case MP_GELS: lacks = !e->gels || !e->gels_residual; break;
  case MP_GESVD: lacks = !e->gesvd || !e->svd_v || !e->probes_svd; break;
  default: break;
  }
  return lacks ? bunmg_fail(BUNMG_UNSUPPORTED, "%s is not available on the %s engine yet", name, e->name) : BUNMG_OK;
}

/* Everything this rank can check alone, then the copy of its rows into the work buffer. */
static bunmg_status prepare(mp_call *call, const bunmg_matrix *a, const mp_request *q) {
  bunmg_mp *mp = call->mp;
  bunmg_status st = check_local(a, mp, q->routine == MP_GELS || q->routine == MP_GESVD);
  if (st != BUNMG_OK) return st;
  const bunmg_mp_options *o = q->options;
  int64_t default_block = call->engine->default_block;
  call->dtype = a->dtype;
  call->esize = bunmg_dtype_size(a->dtype);
  call->n = a->rows;
  call->cols = a->cols;
  call->block = o && o->block ? o->block : default_block;
  if (call->block < 1 || call->block > BUNMG_MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: block must be in 0..2^40 (0: %lld), got %lld", (long long)default_block,
                      (long long)call->block);
  if (o && o->order != BUNMG_GRID_ROW_MAJOR && o->order != BUNMG_GRID_COL_MAJOR)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: order must be 0 (row-major) or 1 (column-major), got %d", o->order);
  if (o && o->reserved != 0) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options: reserved must be 0, got %d", o->reserved);
  int32_t prows = 0, pcols = 0;
  if ((st = grid_of(o, mp->size, &prows, &pcols)) != BUNMG_OK) return st;
  call->grid = (bunmg_grid){call->cols, call->n, call->block, call->block, prows, pcols, o ? o->order : 0, 0};
  if (q->routine == BUNMG_ROUTINE_POTRS || q->routine == MP_GETRS || q->routine == MP_GELS) {
    if (q->nrhs < 1 || q->nrhs > BUNMG_MAX_EXTENT)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be in 1..2^40, got %lld", (long long)q->nrhs);
    if (!q->b) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "b is NULL (every rank receives X in its b)");
    if (mp->rank == 0 && (st = bunmg_check_finite_rhs(call->dtype, q->b, call->n, q->nrhs)) != BUNMG_OK) return st;
  }
  if ((q->routine == BUNMG_ROUTINE_SYEVD || q->routine == MP_SYGVD) && (q->flags & ~(BUNMG_EIG_VECTORS | BUNMG_EIG_ROWS)))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown %s flags 0x%x", call->name, (unsigned)q->flags);
  if (q->routine == MP_GESVD && (q->flags & ~BUNMG_EIG_VECTORS))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown gesvd flags 0x%x (BUNMG_EIG_VECTORS or 0)", (unsigned)q->flags);
  if (q->routine == MP_GESVD && (q->flags & BUNMG_EIG_VECTORS) && !q->second)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "v_local is NULL with BUNMG_EIG_VECTORS");
  if (q->routine == MP_SYGVD && !q->second) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "B is NULL");
  if (q->second) { /* sygvd's B; gesvd's V (output): N x N, N = A's columns */
    const char *what = q->routine == MP_SYGVD ? "B" : "V";
    if ((st = check_local(q->second, mp, 0)) != BUNMG_OK) {
      bunmg_error_prefix("%s: ", what);
      return st;
    }
    if (q->second->rows != a->cols || q->second->dtype != a->dtype)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s must be %lld x %lld %s, got %lld x %lld %s", what, (long long)a->cols,
                        (long long)a->cols, bunmg_dtype_name(a->dtype), (long long)q->second->rows,
                        (long long)q->second->cols, bunmg_dtype_name(q->second->dtype));
  }
  if ((st = check_engine(call->engine, q->routine, call->name)) != BUNMG_OK) return st;
  if ((st = call->engine->load()) != BUNMG_OK) return st;
  int64_t s = bunmg_ceil_div(call->n, mp->size);
  call->first = (int64_t)mp->rank * s;
  call->rows = call->first >= call->n ? 0 : call->n - call->first < s ? call->n - call->first : s;
  int upper = q->routine != MP_GETRS && q->routine != MP_GELS && q->routine != MP_GESVD; /* the Hermitian ones: the upper triangle */
  if (call->rows > 0 && (st = bunmg_check_finite_rows(call->dtype, "A", a->shards[0], call->rows, call->cols, call->first, upper)))
    return st;
  if (q->routine == MP_SYGVD && call->rows > 0 &&
      (st = bunmg_check_finite_rows(call->dtype, "B", q->second->shards[0], call->rows, call->n, call->first, 1)))
    return st;
  if ((st = bunmg_grid_plan_create(&call->grid, 1, 0, &call->plan)) != BUNMG_OK) return st;
  size_t capacity = (size_t)call->plan->summary.capacity, staging = (size_t)call->plan->summary.staging;
  call->work = malloc(capacity * call->esize);
  call->staging = malloc((staging ? staging : 1) * call->esize);
  if (!call->work || !call->staging)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a copy of A (%zu bytes)", capacity * call->esize);
  call->a = call->work;
  if (call->rows > 0) memcpy(call->work, a->shards[0], (size_t)(call->rows * call->cols) * call->esize);
  if (q->routine == MP_SYGVD) {
    if (!(call->second_work = malloc(capacity * call->esize)))
      return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a copy of B (%zu bytes)", capacity * call->esize);
    if (call->rows > 0) memcpy(call->second_work, q->second->shards[0], (size_t)(call->rows * call->n) * call->esize);
    call->second_matrix = call->second_work;
  }
  bunmg_grid_rank me;
  if ((st = bunmg_grid_describe(&call->grid, mp->rank, &me)) != BUNMG_OK) return st;
  call->lld = me.lld;
  call->local_rows = me.local_rows;
  call->local_cols = me.local_cols;
  return BUNMG_OK;
}

static mp_call *new_call(const char *name) {
  mp_call *call = calloc(1, sizeof *call);
  if (!call) bunmg_fail(BUNMG_OUT_OF_MEMORY, "mp_%s: out of host memory", name);
  else call->name = name;
  return call;
}

bunmg_status bunmg_mp_call_begin(mp_call **out, bunmg_mp *mp, const char *name, const bunmg_matrix *local,
                                 const mp_request *request) {
  mp_call *call = *out = new_call(name);
  if (!call) return BUNMG_OUT_OF_MEMORY;
  call->local = local;
  call->second = request->routine == MP_SYGVD ? request->second : NULL; /* an input kept unchanged */
  call->flags = request->flags;
  bunmg_status st = bunmg_mp_enter(mp);
  if (st != BUNMG_OK) return st;
  call->mp = mp;
  call->engine = mp->engine;
  call->entered = 1;
  st = prepare(call, local, request);
  const bunmg_mp_options *o = request->options;
  int64_t signature[] = {request->routine, local ? local->rows : 0, local ? local->cols : 0, local ? local->dtype : -1,
                         request->nrhs, request->flags, o ? o->block : 0, o ? o->prows : 0, o ? o->pcols : 0,
                         o ? o->order : 0};
  static const char *const fields[] = {"the routine", "N", "the columns", "the dtype", "nrhs", "the flags",
                                       "options.block", "options.prows", "options.pcols", "options.order"};
  st = bunmg_mp_agree(mp, st, signature, fields, 10, name);
  if (st != BUNMG_OK) return st;
  return call->engine->begin(call);
}

bunmg_status bunmg_mp_call_of_factor(mp_call **out, const bunmg_mp_factor *f, const char *name) {
  mp_call *call = *out = new_call(name);
  if (!call) return BUNMG_OUT_OF_MEMORY;
  bunmg_status st = f ? bunmg_mp_enter(f->mp) : bunmg_fail(BUNMG_INVALID_ARGUMENT, "factor is NULL");
  if (st != BUNMG_OK) return st;
  call->mp = f->mp;
  call->engine = f->mp->engine;
  call->entered = 1;
  call->dtype = f->dtype;
  call->esize = bunmg_dtype_size(f->dtype);
  call->n = call->cols = f->n;
  call->block = f->block;
  call->grid = f->grid;
  call->blacs = f->blacs;
  call->desc = f->desc;
  call->lld = f->lld;
  call->local_rows = f->local_rows;
  call->local_cols = f->local_cols;
  call->a = f->l;
  call->borrowed = 1;
  return call->engine->begin(call);
}

bunmg_status bunmg_mp_call_end(mp_call *call, bunmg_status st) {
  if (!call) return st;
  if (call->entered) bunmg_mp_exit(call->mp);
  if (st != BUNMG_OK) {
    bunmg_error_prefix("mp_%s: ", call->name);
    if (call->local) bunmg_error_suffix(call->second ? " (A and B are unchanged on this rank)" : " (A is unchanged on this rank)");
  }
  if (call->abandoned || (call->mp && call->mp->broken != BUNMG_OK)) return st; /* MPI or a worker may use it */
  if (call->engine) {
    void *engines[] = {call->z, call->a0, call->b0, call->vt};
    for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
      if (engines[i]) call->engine->free_matrix(call, engines[i]);
    call->engine->release(call);
  }
  if (!call->borrowed) free(call->work);
  free(call->staging);
  free(call->second_work);
  free(call->ipiv);
  free(call->b);
  free(call->w);
  free(call->v);
  bunmg_grid_plan_destroy(call->plan);
  free(call);
  return st;
}

bunmg_status bunmg_mp_call_to_grid(mp_call *call) {
  bunmg_status st = bunmg_mp_execute(call->mp, call->plan, call->work, call->staging, call->esize, 0);
  if (st == BUNMG_OK && call->second_work)
    st = bunmg_mp_execute(call->mp, call->plan, call->second_work, call->staging, call->esize, 0);
  if (st == BUNMG_OK && call->engine->upload)
    st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, call->engine->upload, call, "the upload of A"));
  return st;
}

bunmg_status bunmg_mp_call_to_rows(mp_call *call) {
  bunmg_status st = BUNMG_OK;
  if (call->engine->download)
    st = bunmg_mp_call_agree(call, bunmg_mp_call_engine(call, call->engine->download, call, "the download of the result"));
  return st == BUNMG_OK ? bunmg_mp_execute(call->mp, call->plan, call->work, call->staging, call->esize, 1) : st;
}

void bunmg_mp_call_store(const mp_call *call) {
  if (call->rows > 0) memcpy(call->local->shards[0], call->work, (size_t)(call->rows * call->cols) * call->esize);
}

typedef struct engine_task {
  bunmg_mp *mp;
  bunmg_mp_task task;
  void *arg;
} engine_task;

static bunmg_status run_engine(void *p) {
  engine_task *e = p;
  bunmg_mp_fault_engine(e->mp);
  return e->task(e->arg);
}

bunmg_status bunmg_mp_call_engine(mp_call *call, bunmg_mp_task task, void *arg, const char *what) {
  engine_task *e = malloc(sizeof *e);
  if (!e) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  *e = (engine_task){call->mp, task, arg};
  int abandoned = 0;
  bunmg_status st = bunmg_mp_run(call->mp, call->mp->timeout_ms, run_engine, e, what, &abandoned);
  if (abandoned) call->abandoned = 1;
  else free(e);
  return st;
}

bunmg_status bunmg_mp_call_agree(mp_call *call, bunmg_status mine) {
  return bunmg_mp_agree(call->mp, mine, NULL, NULL, 0, call->name);
}

void *bunmg_mp_call_matrix(const mp_call *call, const char *what) {
  size_t elements = (size_t)call->lld * (size_t)(call->local_cols > 0 ? call->local_cols : 1);
  void *p = calloc(elements, call->esize);
  if (!p) bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %s (%zu bytes)", what, elements * call->esize);
  return p;
}

int64_t bunmg_mp_call_row(const mp_call *call, int64_t li) {
  return bunmg_l2g(li, call->block, call->blacs->prow, call->grid.prows);
}

int64_t bunmg_mp_call_col(const mp_call *call, int64_t lj) {
  return bunmg_l2g(lj, call->block, call->blacs->pcol, call->grid.pcols);
}

bunmg_status bunmg_mp_call_diagonal(mp_call *call, const void *matrix, void *diagonal) {
  memset(diagonal, 0, (size_t)call->cols * call->esize);
  bunmg_status st = bunmg_mp_call_agree(call, call->engine->diagonal(call, matrix, diagonal));
  if (st != BUNMG_OK) return st;
  /* one rank holds each element and the others add zeros: the sum is exact */
  int64_t reals = call->cols * (bunmg_dtype_is_complex(call->dtype) ? 2 : 1);
  return bunmg_mp_allreduce(call->mp, diagonal, reals, bunmg_dtype_real_size(call->dtype) == 4 ? MP_FLOAT : MP_DOUBLE,
                            MP_SUM, "the gathering of the diagonal");
}

void bunmg_mp_conjugate(int32_t dtype, void *data, size_t count) {
  if (dtype == BUNMG_COMPLEX64)
    for (size_t k = 0; k < count; k++) ((float *)data)[2 * k + 1] = -((float *)data)[2 * k + 1];
  else if (dtype == BUNMG_COMPLEX128)
    for (size_t k = 0; k < count; k++) ((double *)data)[2 * k + 1] = -((double *)data)[2 * k + 1];
}

void bunmg_mp_scale_reals(int32_t dtype, void *data, size_t count, double by) {
  size_t reals = count * (bunmg_dtype_is_complex(dtype) ? 2 : 1);
  for (size_t k = 0; k < reals; k++)
    if (bunmg_dtype_real_size(dtype) == 4) ((float *)data)[k] *= (float)by;
    else ((double *)data)[k] *= by;
}
