/* Executor: runs a plan's jobs over the backend's asynchronous copy lanes, forward (rows to
 * cyclic) or backward. A failed copy rolls every finished move back, so the matrix is always left
 * in the layout it started in, or the call says LAYOUT_LOST. */
#include <stdio.h>
#include <stdlib.h>

#include "core/plan.h"
#include "core/redistribute.h"

typedef struct run {
  bunmg_mesh *mesh;
  const bunmg_matrix *m;
  const bunmg_plan *plan;
  size_t row_bytes;
  void **staging; /* per lane */
} run;

static bunmg_status issue(run *r, int32_t lane, const bunmg_move *mv) {
  bunmg_mesh *mesh = r->mesh;
  if (bunmg_fault_fires(mesh, BUNMG_FAULT_COPY))
    return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, mv->src_dev, "injected copy failure (debug_inject)");
  int32_t lane_dev = lane / r->plan->lanes_per_device;
  char *src = mv->src_dev < 0 ? r->staging[lane] : r->m->shards[mv->src_dev];
  char *dst = mv->dst_dev < 0 ? r->staging[lane] : r->m->shards[mv->dst_dev];
  return mesh->ops->copy_async(mesh, lane, mv->dst_dev < 0 ? lane_dev : mv->dst_dev,
                               dst + (size_t)mv->dst_row * r->row_bytes,
                               mv->src_dev < 0 ? lane_dev : mv->src_dev,
                               src + (size_t)mv->src_row * r->row_bytes, (size_t)mv->rows * r->row_bytes);
}

/* Issues moves [from, to) of a job; on failure *issued says how many went out. */
static bunmg_status run_moves(run *r, const bunmg_job *job, int reverse, int64_t from, int64_t to,
                              int64_t *issued) {
  for (int64_t i = from; i < to; i++) {
    bunmg_move mv = bunmg_job_move(r->plan, job, i, reverse);
    bunmg_status st = issue(r, job->lane, &mv);
    if (st != BUNMG_OK) {
      *issued = i - from;
      return st;
    }
  }
  *issued = to - from;
  return BUNMG_OK;
}

static bunmg_status alloc_staging(run *r) {
  int32_t lanes = r->plan->ndev * r->plan->lanes_per_device;
  r->staging = calloc((size_t)lanes, sizeof(void *));
  if (!r->staging) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "redistribute: out of host memory");
  for (int32_t l = 0; l < lanes; l++) {
    int64_t rows = r->plan->lane_staging_rows[l];
    if (rows == 0) continue;
    bunmg_status st = bunmg_mesh_alloc(r->mesh, l / r->plan->lanes_per_device, (size_t)rows * r->row_bytes,
                                       &r->staging[l]);
    if (st != BUNMG_OK) return st;
  }
  return BUNMG_OK;
}

static void free_staging(run *r) {
  if (!r->staging) return;
  for (int32_t l = 0; l < r->plan->ndev * r->plan->lanes_per_device; l++)
    if (r->staging[l]) bunmg_mesh_release(r->mesh, l / r->plan->lanes_per_device, r->staging[l]);
  free(r->staging);
}

/* The shift phase runs first going forward and last going backward, with every lane drained at
 * the boundary; other jobs touch disjoint rows and run concurrently. */
static const bunmg_job *job_at(const bunmg_plan *plan, int reverse, int64_t step) {
  return &plan->jobs[reverse ? plan->job_count - 1 - step : step];
}

static bunmg_status barrier(run *r, const bunmg_job *prev, const bunmg_job *next) {
  if (!prev || (prev->kind == BUNMG_JOB_SHIFT) == (next->kind == BUNMG_JOB_SHIFT)) return BUNMG_OK;
  return r->mesh->ops->sync(r->mesh);
}

/* Undoes step `failed` (its first `issued` moves) and every step before it, newest first. */
static bunmg_status roll_back(run *r, int reverse, int64_t failed, int64_t issued) {
  int64_t n;
  const bunmg_job *job = job_at(r->plan, reverse, failed);
  bunmg_status st = r->mesh->ops->sync(r->mesh);
  if (st == BUNMG_OK) st = run_moves(r, job, !reverse, job->move_count - issued, job->move_count, &n);
  for (int64_t k = failed - 1; k >= 0 && st == BUNMG_OK; k--) {
    const bunmg_job *prev = job;
    job = job_at(r->plan, reverse, k);
    st = barrier(r, prev, job);
    if (st == BUNMG_OK) st = run_moves(r, job, !reverse, 0, job->move_count, &n);
  }
  if (st == BUNMG_OK) st = r->mesh->ops->sync(r->mesh);
  return st;
}

static const char *layout_name(int32_t layout) { return layout == BUNMG_LAYOUT_CYCLIC ? "cyclic" : "row"; }

static bunmg_status execute(bunmg_mesh *mesh, bunmg_matrix *m, const bunmg_plan *plan, int reverse) {
  run r = {mesh, m, plan, (size_t)m->cols * bunmg_dtype_size(m->dtype), NULL};
  bunmg_status st = alloc_staging(&r);
  if (st != BUNMG_OK) bunmg_error_suffix(" (redistribution staging); nothing moved: the matrix stays in its %s layout",
                                         layout_name(m->layout));
  int64_t failed = -1, issued = 0;
  const bunmg_job *prev = NULL;
  for (int64_t k = 0; k < plan->job_count && st == BUNMG_OK; k++) {
    const bunmg_job *job = job_at(plan, reverse, k);
    st = barrier(&r, prev, job);
    if (st != BUNMG_OK) break; /* a queued copy failed: nothing known to roll back to */
    st = run_moves(&r, job, reverse, 0, job->move_count, &issued);
    if (st != BUNMG_OK) failed = k;
    prev = job;
  }
  if (st == BUNMG_OK) st = mesh->ops->sync(mesh);
  if (st != BUNMG_OK && failed < 0 && r.staging && plan->job_count > 0 && prev) {
    bunmg_error_prefix("redistribution lost the matrix layout (a queued copy failed): ");
    st = BUNMG_LAYOUT_LOST;
  } else if (failed >= 0) {
    char cause[512];
    snprintf(cause, sizeof cause, "%s", bunmg_last_error());
    int64_t index;
    int32_t device;
    bunmg_last_error_detail(&index, &device);
    mesh->fault_after[BUNMG_FAULT_COPY] = -1; /* the rollback's copies are not the ones to fail */
    if (roll_back(&r, reverse, failed, issued) == BUNMG_OK)
      bunmg_fail_at(st, index, device, "redistribution failed at job %lld of %lld (%s); the matrix was restored to its %s layout",
                    (long long)failed, (long long)plan->job_count, cause, layout_name(m->layout));
    else {
      bunmg_error_prefix("redistribution failed (%s) and rolling back failed too: ", cause);
      st = BUNMG_LAYOUT_LOST;
    }
  }
  free_staging(&r);
  return st;
}

static bunmg_status plan_for(bunmg_mesh *mesh, int64_t rows, int64_t tile, const bunmg_plan **out) {
  bunmg_plan *cached = mesh->plan_cache;
  if (!cached || cached->rows != rows || cached->tile != tile) {
    bunmg_plan *fresh;
    bunmg_status st = bunmg_plan_build(rows, tile, mesh->ndev, mesh->ops->lanes_per_device, &fresh);
    if (st != BUNMG_OK) return st;
    bunmg_plan_destroy(cached);
    mesh->plan_cache = cached = fresh;
  }
  *out = cached;
  return BUNMG_OK;
}

static bunmg_status check_room(const bunmg_mesh *mesh, const bunmg_matrix *m, int64_t tile) {
  int64_t need;
  bunmg_status st = bunmg_shard_capacity(m->rows, tile, mesh->ndev, &need);
  if (st == BUNMG_OK && m->capacity < need)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size %lld needs shards of %lld rows, but they hold %lld: "
                    "allocate the matrix for this tile size", (long long)tile, (long long)need, (long long)m->capacity);
  return st;
}

/* Cyclic to cyclic with another tile goes through row layout. The new tile is checked first, and
 * a failure after the row leg goes back to the old tile, so m ends in its starting layout. */
static bunmg_status retile(bunmg_mesh *mesh, bunmg_matrix *m, int64_t tile) {
  int64_t old = m->tile;
  bunmg_status st = check_room(mesh, m, tile);
  if (st == BUNMG_OK) st = bunmg_redistribute(mesh, m, BUNMG_LAYOUT_ROWS, 0);
  if (st == BUNMG_OK) st = bunmg_redistribute(mesh, m, BUNMG_LAYOUT_CYCLIC, tile);
  if (st != BUNMG_OK && st != BUNMG_LAYOUT_LOST && m->layout == BUNMG_LAYOUT_ROWS) {
    char cause[512];
    int64_t index;
    int32_t device;
    snprintf(cause, sizeof cause, "%s", bunmg_last_error());
    bunmg_last_error_detail(&index, &device);
    if (bunmg_redistribute(mesh, m, BUNMG_LAYOUT_CYCLIC, old) == BUNMG_OK)
      bunmg_fail_at(st, index, device, "%s; the matrix is back in the cyclic layout of tile %lld", cause, (long long)old);
    else
      bunmg_fail_at(st, index, device, "%s; the matrix is in row layout (going back to tile %lld failed too)", cause,
                    (long long)old);
  }
  return st;
}

bunmg_status bunmg_redistribute(bunmg_mesh *mesh, bunmg_matrix *m, int32_t layout, int64_t tile) {
  if (m->layout == layout && (layout == BUNMG_LAYOUT_ROWS || m->tile == tile)) return BUNMG_OK;
  if (m->layout == BUNMG_LAYOUT_CYCLIC && layout == BUNMG_LAYOUT_CYCLIC) return retile(mesh, m, tile);
  int64_t plan_tile = layout == BUNMG_LAYOUT_CYCLIC ? tile : m->tile;
  bunmg_status st = check_room(mesh, m, plan_tile);
  if (st != BUNMG_OK) return st;
  const bunmg_plan *plan;
  st = plan_for(mesh, m->rows, plan_tile, &plan);
  if (st == BUNMG_OK) m->generation++; /* the shards are rewritten, also if the move fails */
  if (st == BUNMG_OK) st = execute(mesh, m, plan, layout == BUNMG_LAYOUT_ROWS);
  if (st == BUNMG_OK) {
    m->layout = layout;
    m->tile = layout == BUNMG_LAYOUT_CYCLIC ? tile : 0;
  }
  return st;
}

static bunmg_status public_redistribute(bunmg_mesh *mesh, bunmg_matrix *m, int32_t layout, int64_t tile,
                                        const char *call) {
  bunmg_status st = bunmg_mesh_enter(mesh, call);
  if (st != BUNMG_OK) return st;
  st = bunmg_check_matrix(mesh, m, 0);
  if (st == BUNMG_OK && layout == BUNMG_LAYOUT_CYCLIC && tile < 1)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be >= 1, got %lld", (long long)tile);
  if (st == BUNMG_OK) st = bunmg_redistribute(mesh, m, layout, tile);
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", call);
  bunmg_mesh_leave(mesh);
  return st;
}

bunmg_status bunmg_to_cyclic(bunmg_mesh *mesh, bunmg_matrix *m, int64_t tile) {
  return public_redistribute(mesh, m, BUNMG_LAYOUT_CYCLIC, tile, "to_cyclic");
}

bunmg_status bunmg_to_rows(bunmg_mesh *mesh, bunmg_matrix *m) {
  return public_redistribute(mesh, m, BUNMG_LAYOUT_ROWS, 0, "to_rows");
}
