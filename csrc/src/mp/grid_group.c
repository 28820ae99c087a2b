/* bunmg_grid_redistribute: a grid redistribution as one of a group's collectives, over the
 * shared-memory transport (shm_transport.c).
 *
 * A redistribution is operation <gen> of the group (counted with its collectives). Rank 0 makes
 * its segment /bunmg-<job>.<id>.g<gen> holding rank 0's call; every other rank maps it and checks
 * its own call against that one. Agreement 0 settles every rank's checks; once it has voted every
 * rank has the segment mapped, so rank 0 then unlinks it: it outlives no call. A rank whose own
 * arguments are bad still joins and votes, so that every rank fails alike and the group stays
 * usable. Then the plan runs (grid_exec.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp/shm_transport.h"

bunmg_status bunmg_grid_debug_inject(bunmg_group *g, int32_t kind, int32_t at, int64_t index) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_debug_inject: group is NULL");
  if (kind < BUNMG_GRID_FAULT_NONE || kind > BUNMG_GRID_FAULT_STALL || at < BUNMG_GRID_AT_JOIN ||
      at > BUNMG_GRID_AT_AGREEMENT || index < 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_debug_inject: kind 0..3, at 0..2 and index >= 0, got %d, %d, %lld",
                      kind, at, (long long)index);
  if (kind == BUNMG_GRID_FAULT_FAIL && at == BUNMG_GRID_AT_AGREEMENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_debug_inject: an agreement cannot fail, only die or stall");
  if (kind == BUNMG_GRID_FAULT_DIE && g->mode != BUNMG_GROUP_PROCESSES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_debug_inject: die kills the process, so it needs a group in process mode");
  g->grid_fault[0] = kind;
  g->grid_fault[1] = at;
  g->grid_fault[2] = index;
  return BUNMG_OK;
}

/* ---- joining ---- */

static void call_text(const grid_call *call, char *out, size_t len) {
  const bunmg_grid *g = &call->grid;
  snprintf(out, len, "%lld x %lld in %lld x %lld blocks on a %d x %d grid (%s), %d lane%s, %d-byte elements, to the %s%s",
           (long long)g->m, (long long)g->n, (long long)g->mb, (long long)g->nb, g->prows, g->pcols,
           g->order == BUNMG_GRID_COL_MAJOR ? "column-major" : "row-major", call->lanes, call->lanes == 1 ? "" : "s",
           call->element_bytes, call->flags & BUNMG_GRID_TO_ROWS ? "rows" : "grid",
           call->flags & BUNMG_GRID_AGREE_PER_PHASE ? ", agreeing once per phase" : "");
}

/* Another rank's call against rank 0's. */
static bunmg_status compare_calls(const shm_rank *c, const grid_call *mine) {
  const grid_call *lead = &c->x->call;
  if (memcmp(mine, lead, sizeof *mine) == 0) return BUNMG_OK;
  char a[256], b[256];
  call_text(mine, a, sizeof a);
  call_text(lead, b, sizeof b);
  if (strcmp(a, b) != 0)
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, c->rank, "rank %d called a redistribution of %s, but rank 0 of %s",
                         c->rank, a, b);
  return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, c->rank,
                       "rank %d's plan of %s differs from rank 0's (staging %lld and %lld elements, %lld and %lld "
                       "exchange rounds): plan with the same lanes and chunk everywhere",
                       c->rank, a, (long long)mine->summary.staging, (long long)lead->summary.staging,
                       (long long)mine->summary.exchange_rounds, (long long)lead->summary.exchange_rounds);
}

/* Rank 0: makes, fills and names the segment. A failure breaks the group, since the others
 * wait for the segment. */
static bunmg_status create_exchange(shm_rank *c, const char *name, const grid_call *mine, int valid) {
  size_t bytes = bunmg_shm_segment_bytes(c->ranks, c->ring);
  bunmg_status st = bunmg_seg_create(&c->seg, BUNMG_SEG_GRID, bytes, c->g->launch);
  if (st == BUNMG_OK) {
    shm_exchange *x = (shm_exchange *)c->seg.base;
    x->ranks = c->ranks;
    x->ring_bytes = c->ring;
    x->call = *mine;
    x->call_valid = valid;
    for (int32_t r = 0; r < c->ranks; r++) x->members[r].waiting_for = -1;
    c->x = x;
    st = bunmg_group_publish(&c->seg, name);
  }
  if (st == BUNMG_OK) return BUNMG_OK;
  bunmg_seg_unmap(&c->seg);
  c->x = NULL;
  return bunmg_group_abort(c->g, st, 0, "rank 0 could not make the grid redistribution's shared memory %s: %s", name,
                           bunmg_last_error());
}

typedef struct opening {
  shm_rank *c;
  const char *name;
  bunmg_status status;
} opening;

static int32_t look_open(bunmg_group *g, void *ctx, bunmg_wait_state *state) {
  opening *o = ctx;
  o->status = bunmg_seg_open(&o->c->seg, o->name, BUNMG_SEG_GRID);
  return o->status == BUNMG_TIMEOUT ? 0 : -1;
}

/* The other ranks: map rank 0's segment once it is there. What can never be joined breaks the
 * group, since rank 0 waits for this rank's vote. */
static bunmg_status open_exchange(shm_rank *c, const char *name) {
  opening o = {c, name, BUNMG_TIMEOUT};
  bunmg_status st = bunmg_group_wait(c->g, look_open, &o, "take part in the grid redistribution (making it)");
  if (st != BUNMG_OK) return st;
  const shm_exchange *x = (const shm_exchange *)c->seg.base;
  if (o.status == BUNMG_OK && (x->seg.launch != c->g->launch || x->ranks != c->ranks || x->ring_bytes != c->ring ||
                               c->seg.bytes < bunmg_shm_segment_bytes(c->ranks, c->ring))) {
    o.status = bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s is not a grid redistribution of this group", name);
    bunmg_seg_unmap(&c->seg);
  }
  if (o.status != BUNMG_OK)
    return bunmg_group_abort(c->g, o.status, c->rank, "rank %d could not open the grid redistribution's shared memory: %s",
                             c->rank, bunmg_last_error());
  c->x = (shm_exchange *)c->seg.base;
  return BUNMG_OK;
}

/* Meets the other ranks in the call's segment and agrees on every rank's checks (verdict, with
 * its error set when it failed). */
static bunmg_status join(shm_rank *c, uint64_t gen, const grid_call *mine, bunmg_status verdict) {
  bunmg_group *g = c->g;
  bunmg_status injected = bunmg_shm_inject(c, BUNMG_GRID_AT_JOIN, 0);
  if (verdict == BUNMG_OK) verdict = injected;
  char message[SHM_MESSAGE_BYTES] = ""; /* what every rank reports when this one failed its checks */
  if (verdict != BUNMG_OK) snprintf(message, sizeof message, "rank %d: %s", c->rank, bunmg_last_error());
  char name[BUNMG_SHM_NAME_MAX];
  snprintf(name, sizeof name, "/" BUNMG_SHM_PREFIX "%s.%016llx.g%llu", g->job, (unsigned long long)g->id,
           (unsigned long long)gen);
  bunmg_status st = c->rank == 0 ? create_exchange(c, name, mine, verdict == BUNMG_OK) : open_exchange(c, name);
  if (st != BUNMG_OK) return st;
  if (c->rank != 0 && verdict == BUNMG_OK && c->x->call_valid) {
    verdict = compare_calls(c, mine);
    if (verdict != BUNMG_OK) snprintf(message, sizeof message, "%s", bunmg_last_error());
  }
  memcpy(c->x->members[c->rank].message, message, sizeof message);
  int32_t first;
  bunmg_status first_status;
  bunmg_grid_transport t = bunmg_shm_transport(c, 1);
  st = t.agree(c, verdict, &first, &first_status);
  if (c->rank == 0) bunmg_seg_unlink(&c->seg); /* every rank has voted, so every rank has it mapped */
  if (st != BUNMG_OK || first < 0) return st;
  return bunmg_fail_at(first_status, -1, first, "%.*s", SHM_MESSAGE_BYTES - 1, c->x->members[first].message);
}

/* ---- the call ---- */

static bunmg_status check_call(const shm_rank *c, const bunmg_grid_plan *plan, const void *buffer, uint64_t buffer_bytes,
                               int32_t element_bytes, int32_t flags) {
  if (!plan) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "plan is NULL");
  const bunmg_grid *grid = &plan->shape.grid;
  if (plan->shape.ranks != c->ranks)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the plan is for a %d x %d grid, but the group has %d ranks", grid->prows,
                      grid->pcols, c->ranks);
  if (element_bytes < 1 || element_bytes > 1024)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "element_bytes must be in 1..1024, got %d", element_bytes);
  if (flags & ~(BUNMG_GRID_TO_ROWS | BUNMG_GRID_AGREE_PER_PHASE))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown flags 0x%x", (unsigned)flags);
  if (!buffer) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "buffer is NULL");
  uint64_t need = (uint64_t)plan->summary.capacity * (uint64_t)element_bytes;
  if (buffer_bytes < need)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "the buffer's %llu bytes are fewer than the plan's capacity of %lld elements of %d bytes (%llu "
                      "bytes, bunmg_grid_capacity)",
                      (unsigned long long)buffer_bytes, (long long)plan->summary.capacity, element_bytes,
                      (unsigned long long)need);
  return BUNMG_OK;
}

bunmg_status bunmg_grid_redistribute(bunmg_group *g, const bunmg_grid_plan *plan, void *buffer, uint64_t buffer_bytes,
                                     int32_t element_bytes, int32_t flags) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_redistribute: group is NULL");
  if (bunmg_group_aborted(g)) {
    bunmg_status broken = bunmg_group_reported(g);
    bunmg_error_prefix("grid_redistribute: the group is broken: ");
    return broken;
  }
  shm_rank c = {.g = g, .rank = g->rank, .ranks = g->size, .ring = bunmg_shm_ring_bytes(g->size)};
  memcpy(c.fault, g->grid_fault, sizeof c.fault);
  g->grid_fault[0] = BUNMG_GRID_FAULT_NONE;
  uint64_t gen = ++g->gen;
  grid_call mine;
  memset(&mine, 0, sizeof mine);
  char *staging = NULL;
  bunmg_status verdict = check_call(&c, plan, buffer, buffer_bytes, element_bytes, flags);
  if (verdict == BUNMG_OK) {
    mine = (grid_call){plan->shape.grid, plan->lanes, element_bytes, flags, 0, plan->summary};
    staging = malloc((size_t)(plan->summary.staging > 0 ? plan->summary.staging : 1) * (size_t)element_bytes);
    verdict = staging ? bunmg_shm_prepare(&c, plan->lanes)
                      : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %lld elements of staging",
                                   (long long)plan->summary.staging);
  }
  bunmg_status st = join(&c, gen, &mine, verdict);
  if (st == BUNMG_TIMEOUT || st == BUNMG_PEER_LOST) {
    bunmg_error_prefix("grid_redistribute: broke before anything moved (this rank's buffer is as it was): ");
  } else if (st != BUNMG_OK) {
    bunmg_error_prefix("grid_redistribute: nothing moved: ");
  } else {
    bunmg_grid_transport t = bunmg_shm_transport(&c, !(flags & BUNMG_GRID_AGREE_PER_PHASE));
    st = bunmg_grid_execute(plan, &t, c.rank, buffer, staging, (size_t)element_bytes, flags & BUNMG_GRID_TO_ROWS);
    if (st != BUNMG_OK) bunmg_error_prefix("grid_redistribute: ");
  }
  bunmg_shm_release(&c);
  free(staging);
  return st;
}
