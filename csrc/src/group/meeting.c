/* Joining a group and every wait for another rank.
 *
 * The meeting segment /bunmg-<job> (struct meeting) is made by rank 0 and unlinked by it as soon
 * as every rank has mapped it, so it outlives no job. It carries its launch: a rank joins only
 * the meeting of its own launch (the same secret), and waits, up to its timeout, while the job
 * id is held by another launch's live meeting; a meeting whose rank 0 is dead is removed, never
 * joined. Two launches of one job id thus run one after the other, or the later one times out
 * naming both; they never mix.
 *
 * Every wait (bunmg_group_wait) polls (yields, then sleeps of 0.1 to 1 ms) for what it waits for,
 * the group's abort record, and every 10 ms the other ranks' liveness; it fails after the timeout,
 * which starts again whenever the wait sees something move, and does not run while rank 0 runs
 * the routine (started == gen), which only rank 0's liveness bounds. The first rank to fail a
 * wait records TIMEOUT or PEER_LOST in the abort record; every rank then reports it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "group/meeting.h"

#define DEFAULT_TIMEOUT_MS 60000
#define LIVENESS_EVERY_MS 10

static const char *mode_name(int32_t mode) { return mode == BUNMG_GROUP_THREADS ? "threads" : "processes"; }
static const char *backend_name(int32_t backend) { return backend == BUNMG_BACKEND_HOST ? "host" : "cuda"; }

/* ---- failure: the abort record ---- */

int bunmg_group_aborted(const bunmg_group *g) {
  return atomic_load_explicit(&g->m->abort_state, memory_order_acquire) != 0;
}

bunmg_status bunmg_group_reported(const bunmg_group *g) {
  const meeting *m = g->m;
  for (int i = 0; i < 1000 && atomic_load_explicit(&m->abort_state, memory_order_acquire) == 1; i++) {
    struct timespec t = {0, 100000};
    nanosleep(&t, NULL); /* its writer is between claiming the record and publishing it */
  }
  if (atomic_load_explicit(&m->abort_state, memory_order_acquire) != 2)
    return bunmg_fail(BUNMG_PEER_LOST, "the group of job %s failed (a rank died while recording why)", g->job);
  return bunmg_fail_at(m->abort_status, -1, m->abort_device, "%s", m->abort_message);
}

bunmg_status bunmg_group_abort(bunmg_group *g, bunmg_status status, int32_t device, const char *fmt, ...) {
  meeting *m = g->m;
  int32_t none = 0;
  if (atomic_compare_exchange_strong(&m->abort_state, &none, 1)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->abort_message, sizeof m->abort_message, fmt, ap);
    va_end(ap);
    m->abort_status = status;
    m->abort_device = device;
    atomic_store_explicit(&m->abort_state, 2, memory_order_release);
  }
  bunmg_sweep(g->job, 0, 0);
  return bunmg_group_reported(g);
}

bunmg_status bunmg_group_publish(bunmg_seg *seg, const char *name) {
  bunmg_status st = bunmg_seg_publish(seg, name, NULL);
  if (st != BUNMG_TIMEOUT) return st;
  return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shared memory segment %s already exists and its owner is alive", name);
}

/* ---- waiting ---- */

static int reached(const bunmg_group *g, await_kind kind, int32_t r, uint64_t gen) {
  const meeting *m = g->m;
  const slot *s = &m->slots[r];
  switch (kind) {
    case AWAIT_JOINED: return atomic_load_explicit(&s->joined, memory_order_acquire) != 0;
    case AWAIT_ARRIVED: return atomic_load_explicit(&s->arrived, memory_order_acquire) >= gen;
    case AWAIT_DONE: return atomic_load_explicit(&s->done, memory_order_acquire) >= gen;
    case AWAIT_FINISHED: return atomic_load_explicit(&m->finished, memory_order_acquire) >= gen;
    case AWAIT_COMPLETED: return atomic_load_explicit(&m->completed, memory_order_acquire) >= gen;
  }
  return 0;
}

/* The first other rank that has not reached `kind`, or -1. */
static int32_t first_missing(const bunmg_group *g, await_kind kind, uint64_t gen) {
  for (int32_t r = 0; r < g->size; r++)
    if (r != g->rank && !reached(g, kind, r, gen)) return r;
  return -1;
}

/* Why rank r can take no further part, into why; 0 when it can (or is not known yet). */
static int gone(const bunmg_group *g, int32_t r, char *why, size_t len) {
  const slot *s = &g->m->slots[r];
  if (atomic_load_explicit(&s->left, memory_order_acquire)) {
    snprintf(why, len, "left the group");
    return 1;
  }
  if (!atomic_load_explicit(&s->joined, memory_order_acquire)) return 0;
  if (g->mode == BUNMG_GROUP_THREADS) {
    if (syscall(SYS_tgkill, s->pid, s->tid, 0) == 0 || errno != ESRCH) return 0;
    snprintf(why, len, "ended (its thread %d is gone)", s->tid);
    return 1;
  }
  if (bunmg_process_alive(s->pid, s->start)) return 0;
  snprintf(why, len, "died (its process %d is gone)", s->pid);
  return 1;
}

bunmg_status bunmg_group_wait(bunmg_group *g, bunmg_group_look look, void *ctx, const char *stage) {
  int64_t now = bunmg_now_ms(), deadline = now + g->timeout_ms, checked = now;
  for (int round = 0;; bunmg_backoff(&round)) {
    if (bunmg_group_aborted(g)) return bunmg_group_reported(g);
    bunmg_wait_state state = BUNMG_WAIT_STUCK;
    int32_t blocking = look(g, ctx, &state);
    if (blocking < 0) return BUNMG_OK;
    now = bunmg_now_ms();
    if (state == BUNMG_WAIT_MOVED) {
      deadline = now + g->timeout_ms;
      round = 0;
    }
    if (now - checked >= LIVENESS_EVERY_MS) {
      checked = now;
      for (int32_t r = 0; r < g->size; r++) {
        char why[96];
        if (r != g->rank && gone(g, r, why, sizeof why))
          return bunmg_group_abort(g, BUNMG_PEER_LOST, r,
                                   "rank %d %s; rank %d noticed while waiting for rank %d to %s (job %s)", r, why,
                                   g->rank, blocking, stage, g->job);
      }
    }
    if (state != BUNMG_WAIT_UNBOUNDED && now >= deadline)
      return bunmg_group_abort(g, BUNMG_TIMEOUT, blocking, "rank %d did not %s within %lld ms (job %s)", blocking, stage,
                               (long long)g->timeout_ms, g->job);
  }
}

typedef struct awaited {
  await_kind kind;
  uint64_t gen;
} awaited;

static int32_t look_await(bunmg_group *g, void *ctx, bunmg_wait_state *state) {
  const awaited *a = ctx;
  if (a->kind != AWAIT_FINISHED && a->kind != AWAIT_COMPLETED) return first_missing(g, a->kind, a->gen);
  if (reached(g, a->kind, 0, a->gen)) return -1;
  /* rank 0 running the routine is bounded by its liveness only: a solve can take minutes */
  if (a->kind == AWAIT_FINISHED && atomic_load_explicit(&g->m->started, memory_order_acquire) >= a->gen)
    *state = BUNMG_WAIT_UNBOUNDED;
  /* rank 0 waits for the ranks behind: blame them first */
  int32_t blocking = first_missing(g, a->kind == AWAIT_FINISHED ? AWAIT_ARRIVED : AWAIT_DONE, a->gen);
  return blocking < 0 ? 0 : blocking;
}

bunmg_status bunmg_group_await(bunmg_group *g, await_kind kind, uint64_t gen, const char *stage) {
  awaited a = {kind, gen};
  return bunmg_group_wait(g, look_await, &a, stage);
}

/* ---- the meeting ---- */

/* Random: names the job's other segments apart from those of another launch of the job id. */
static uint64_t new_meeting_id(void) {
  uint64_t id;
  if (getrandom(&id, sizeof id, GRND_NONBLOCK) == (ssize_t)sizeof id) return id;
  return (uint64_t)getpid() << 40 ^ (uint64_t)syscall(SYS_gettid) << 20 ^ (uint64_t)bunmg_now_ms(); /* no entropy yet */
}

/* Why rank 0 could not name its meeting: the same launch (or no secret on either side) already
 * holds the job id, or another launch held it all along. */
static bunmg_status name_held(const bunmg_group *g, const char *name, const bunmg_seg_head *holder) {
  char mine[32], theirs[32];
  bunmg_launch_text(g->launch, mine, sizeof mine);
  bunmg_launch_text(holder->launch, theirs, sizeof theirs);
  if (holder->launch == g->launch)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "shared memory segment %s already exists and its owner is alive (process %d, %s): is this job "
                      "id in use?",
                      name, holder->owner_pid, theirs);
  return bunmg_fail(BUNMG_TIMEOUT,
                    "job id %s stayed held by another launch (%s, rank 0 = process %d) for %lld ms; this rank 0 is "
                    "of %s: two launches with one job id?",
                    g->job, theirs, holder->owner_pid, (long long)g->timeout_ms, mine);
}

/* Rank 0: makes the meeting and names it, waiting up to the timeout while another launch's live
 * meeting holds the job id; the same launch's fails at once. */
static bunmg_status create_meeting(bunmg_group *g, const char *name) {
  bunmg_sweep(NULL, 0, 0); /* garbage, and segments of dead jobs */
  bunmg_status st = bunmg_seg_create(&g->seg, BUNMG_SEG_MAIN, sizeof(meeting), g->launch);
  if (st != BUNMG_OK) return st;
  meeting *m = (meeting *)g->seg.base;
  m->mode = g->mode;
  m->size = g->size;
  m->backend = g->local->backend;
  m->id = g->id = new_meeting_id();
  int64_t deadline = bunmg_now_ms() + g->timeout_ms;
  bunmg_seg_head holder;
  for (int round = 0; (st = bunmg_seg_publish(&g->seg, name, &holder)) == BUNMG_TIMEOUT; bunmg_backoff(&round)) {
    if (holder.launch == g->launch || bunmg_now_ms() >= deadline) {
      st = name_held(g, name, &holder);
      break;
    }
  }
  if (st != BUNMG_OK) {
    bunmg_seg_unmap(&g->seg);
    return st;
  }
  g->m = m;
  return BUNMG_OK;
}

static bunmg_status open_timeout(const bunmg_group *g, const char *name, const bunmg_seg_head *other) {
  if (!other) return bunmg_fail_at(BUNMG_TIMEOUT, -1, 0, "rank 0 did not open job %s within %lld ms", g->job,
                                   (long long)g->timeout_ms);
  char mine[32], theirs[32];
  bunmg_launch_text(g->launch, mine, sizeof mine);
  bunmg_launch_text(other->launch, theirs, sizeof theirs);
  return bunmg_fail_at(BUNMG_TIMEOUT, -1, 0,
                       "rank 0 did not open job %s within %lld ms; %s holds the meeting of another launch (%s, rank 0 "
                       "= process %d), not of this rank's (%s): two launches with one job id?",
                       g->job, (long long)g->timeout_ms, name, theirs, other->owner_pid, mine);
}

/* The other ranks: map their launch's meeting, waiting up to the timeout for it. Another
 * launch's is left alone; a dead rank 0's, or garbage, is removed (bunmg_seg_open), never joined. */
static bunmg_status open_meeting(bunmg_group *g, const char *name) {
  int64_t deadline = bunmg_now_ms() + g->timeout_ms;
  bunmg_seg_head other;
  int foreign = 0;
  for (int round = 0;; bunmg_backoff(&round)) {
    bunmg_status st = bunmg_seg_open(&g->seg, name, BUNMG_SEG_MAIN);
    if (st == BUNMG_OK) {
      const bunmg_seg_head *head = (const bunmg_seg_head *)g->seg.base;
      if (head->launch == g->launch) break;
      memcpy(&other, head, sizeof other);
      foreign = 1;
      bunmg_seg_unmap(&g->seg);
    } else if (st != BUNMG_TIMEOUT) {
      return st;
    }
    if (bunmg_now_ms() >= deadline) return open_timeout(g, name, foreign ? &other : NULL);
  }
  g->m = (meeting *)g->seg.base;
  g->id = g->m->id;
  const meeting *m = g->m;
  if (m->mode != g->mode || m->size != g->size || m->backend != g->local->backend)
    return bunmg_group_abort(g, BUNMG_INVALID_ARGUMENT, g->rank,
                       "rank %d joined job %s in %s mode with %d ranks on the %s backend, but rank 0 in %s mode with "
                       "%d ranks on the %s backend",
                       g->rank, g->job, mode_name(g->mode), g->size, backend_name(g->local->backend),
                       mode_name(m->mode), m->size, backend_name(m->backend));
  return BUNMG_OK;
}

/* ---- joining ---- */

static bunmg_status take_slot(bunmg_group *g) {
  slot *s = own_slot(g);
  int32_t free_slot = 0;
  if (!atomic_compare_exchange_strong(&s->claimed, &free_slot, 1))
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, g->rank, "rank %d of job %s has joined already", g->rank, g->job);
  s->pid = (int32_t)getpid();
  s->tid = (int32_t)syscall(SYS_gettid);
  s->start = bunmg_process_start(s->pid);
  s->device_id = g->local->device_ids[0];
  atomic_store_explicit(&s->joined, 1, memory_order_release);
  return BUNMG_OK;
}

static bunmg_status join(int32_t mode, const char *job, const char *secret, int32_t rank, int32_t size,
                         bunmg_mesh *local, int64_t timeout_ms, bunmg_group **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group output is NULL");
  *out = NULL;
  if (mode != BUNMG_GROUP_THREADS && mode != BUNMG_GROUP_PROCESSES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown group mode %d", mode);
  if (!bunmg_job_valid(job))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "job id must be 1..%d characters of [A-Za-z0-9_-]", BUNMG_JOB_MAX);
  if (!bunmg_secret_valid(secret))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "a launch secret must be 1..%d characters of [A-Za-z0-9_-]",
                      BUNMG_SECRET_MAX);
  if (size < 1 || size > BUNMG_MAX_DEVICES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group size must be in 1..%d, got %d", BUNMG_MAX_DEVICES, size);
  if (rank < 0 || rank >= size)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rank %d is out of range for a group of %d", rank, size);
  if (!local) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "local mesh is NULL");
  if (local->ndev != 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the local mesh must have one device, it has %d", local->ndev);
  bunmg_group *g = calloc(1, sizeof *g);
  if (!g) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a group");
  g->mode = mode;
  g->rank = rank;
  g->size = size;
  snprintf(g->job, sizeof g->job, "%s", job);
  g->launch = bunmg_launch_of(secret);
  g->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  g->local = local;
  char name[BUNMG_SHM_NAME_MAX];
  snprintf(name, sizeof name, "/" BUNMG_SHM_PREFIX "%s", job);
  bunmg_status st = rank == 0 ? create_meeting(g, name) : open_meeting(g, name);
  int claimed = 0;
  if (st == BUNMG_OK) claimed = (st = take_slot(g)) == BUNMG_OK;
  if (st == BUNMG_OK) st = bunmg_group_await(g, AWAIT_JOINED, 0, "join");
  if (rank == 0 && g->m) bunmg_seg_unlink(&g->seg); /* every rank has it mapped, or the join failed */
  if (st != BUNMG_OK) {
    if (claimed) atomic_store_explicit(&own_slot(g)->left, 1, memory_order_release);
    bunmg_seg_unmap(&g->seg);
    free(g);
    return st;
  }
  *out = g;
  return BUNMG_OK;
}

bunmg_status bunmg_group_join(int32_t mode, const char *job, const char *secret, int32_t rank, int32_t size,
                              bunmg_mesh *local, int64_t timeout_ms, bunmg_group **out) {
  bunmg_clear_error();
  bunmg_status st = join(mode, job, secret, rank, size, local, timeout_ms, out);
  if (st != BUNMG_OK) bunmg_error_prefix("group_join: ");
  return st;
}
