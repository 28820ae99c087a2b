/* The in-process transport and bunmg_grid_exec_host: every rank a thread of this process, its
 * buffer a host array. Sends are queued per (sender, receiver) pair and matched in order by the
 * receiver's complete(), as a network matches them; every wait is bounded by the timeout and
 * watches the peer it waits for, so a rank that dies (fault injection) fails the others with
 * PEER_LOST and one that stalls with TIMEOUT. The first such failure aborts the world: every
 * later wait of every rank returns it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mp/grid_exec.h"

#define HOST_MAX_RANKS 64
#define DEFAULT_TIMEOUT_MS 60000
enum { BUSY = -2, AGREEING = -1 };

typedef struct message {
  const char *src;
  size_t bytes;
  int poisoned; /* the send failed: the receive completes without data */
  int consumed;
  struct message *next_in_queue, *next_owned;
} message;

typedef struct world {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int32_t ranks;
  int64_t timeout_ms;
  int64_t fault[3];       /* kind, rank, operation */
  message **head, **tail; /* queue of sender s to receiver d at s * ranks + d */
  message *owned;         /* every message, freed with the world */
  uint8_t *dead;
  int32_t *waiting_for;   /* per rank: the peer its complete() waits for, AGREEING, or BUSY */
  int started, cancelled; /* the threads wait for `started` */
  bunmg_status abort_status;
  int32_t abort_rank;
  /* agreement: ranks arrived in the current generation, its lowest failed rank, the result of
   * the last finished one */
  uint64_t generation;
  uint64_t *arrived_in;   /* per rank: the generation it last arrived in, + 1 */
  int32_t arrived, first;
  bunmg_status first_status;
  int32_t result_first;
  bunmg_status result_status;
} world;

typedef struct pending {
  int32_t peer;
  char *dst;            /* receives */
  size_t bytes;
  int discard;          /* the receive failed: consume without copying */
  message *sent;        /* sends */
} pending;

typedef struct rank_ctx {
  world *w;
  int32_t rank;
  int64_t ops;
  pending *posted;
  int64_t nposted, capposted;
  /* the thread's result */
  bunmg_status status;
  char message[1024];
  int64_t index;
  int32_t device;
  void *buffer, *staging;
  const bunmg_grid_plan *plan;
  size_t esize;
  int32_t flags;
} rank_ctx;

static struct timespec deadline_after(int64_t ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000;
  if (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  return t;
}

/* Records the world's first fatal failure (called with the lock held). */
static bunmg_status abort_world(world *w, bunmg_status st, int32_t rank) {
  if (w->abort_status == BUNMG_OK) {
    w->abort_status = st;
    w->abort_rank = rank;
  }
  pthread_cond_broadcast(&w->changed);
  return st;
}

/* The failure that ends a wait for `peer` (-1: any rank), or OK to keep waiting. */
static bunmg_status wait_problem(world *w, int32_t peer) {
  if (w->abort_status != BUNMG_OK)
    return bunmg_fail_at(w->abort_status, -1, w->abort_rank, "the run was aborted: rank %d %s", w->abort_rank,
                         w->abort_status == BUNMG_TIMEOUT ? "did not arrive in time" : "was lost");
  for (int32_t r = 0; r < w->ranks; r++)
    if (w->dead[r] && (peer < 0 || r == peer)) {
      bunmg_fail_at(BUNMG_PEER_LOST, -1, r, "rank %d was lost", r);
      return abort_world(w, BUNMG_PEER_LOST, r);
    }
  return BUNMG_OK;
}

/* The rank a wait for `peer` really waits for: follows the peers that are themselves waiting for
 * another's send or receive to the one that is not. */
static int32_t culprit(const world *w, int32_t peer) {
  for (int32_t steps = 0; steps < w->ranks && w->waiting_for[peer] >= 0; steps++) peer = w->waiting_for[peer];
  return peer;
}

/* Waits on the world's condition until the deadline; TIMEOUT naming `peer` after it. */
static bunmg_status wait_once(world *w, const struct timespec *deadline, int32_t peer, const char *what) {
  int rc = pthread_cond_timedwait(&w->changed, &w->lock, deadline);
  if (rc != ETIMEDOUT) return BUNMG_OK;
  peer = culprit(w, peer);
  bunmg_fail_at(BUNMG_TIMEOUT, -1, peer, "rank %d did not %s within %lld ms", peer, what, (long long)w->timeout_ms);
  return abort_world(w, BUNMG_TIMEOUT, peer);
}

/* The fault, if this is the rank's operation it fires at; DIE and STALL act here. */
static bunmg_status inject(rank_ctx *c) {
  world *w = c->w;
  int64_t op = c->ops++;
  if (w->fault[0] == BUNMG_GRID_FAULT_NONE || w->fault[1] != c->rank || w->fault[2] != op) return BUNMG_OK;
  switch (w->fault[0]) {
    case BUNMG_GRID_FAULT_FAIL:
      return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, c->rank, "injected failure of operation %lld on rank %d",
                           (long long)op, c->rank);
    case BUNMG_GRID_FAULT_DIE:
      pthread_mutex_lock(&w->lock);
      w->dead[c->rank] = 1;
      pthread_cond_broadcast(&w->changed);
      pthread_mutex_unlock(&w->lock);
      return bunmg_fail_at(BUNMG_PEER_LOST, -1, c->rank, "rank %d died at operation %lld (injected)", c->rank,
                           (long long)op);
    default: { /* STALL */
      struct timespec pause = {(time_t)(2 * w->timeout_ms / 1000), (long)((2 * w->timeout_ms) % 1000) * 1000000};
      nanosleep(&pause, NULL);
      return BUNMG_OK;
    }
  }
}

static bunmg_status post(rank_ctx *c, pending p) {
  if (c->nposted == c->capposted) {
    int64_t cap = c->capposted ? 2 * c->capposted : 64;
    pending *grown = realloc(c->posted, sizeof *grown * (size_t)cap);
    if (!grown) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "host transport: out of host memory");
    c->posted = grown;
    c->capposted = cap;
  }
  c->posted[c->nposted++] = p;
  return BUNMG_OK;
}

static bunmg_status host_copy(void *context, void *dst, const void *src, size_t bytes) {
  bunmg_status st = inject(context);
  if (st == BUNMG_OK) memcpy(dst, src, bytes);
  return st;
}

static bunmg_status host_send(void *context, int32_t peer, const void *src, size_t bytes) {
  rank_ctx *c = context;
  world *w = c->w;
  bunmg_status st = inject(c);
  if (st == BUNMG_PEER_LOST) return st; /* died: sends nothing */
  message *m = calloc(1, sizeof *m);
  if (!m) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "host transport: out of host memory");
  *m = (message){src, bytes, st != BUNMG_OK, 0, NULL, NULL};
  bunmg_status posted = post(c, (pending){peer, NULL, bytes, 0, m});
  pthread_mutex_lock(&w->lock);
  m->next_owned = w->owned;
  w->owned = m;
  size_t q = (size_t)c->rank * (size_t)w->ranks + (size_t)peer;
  if (w->tail[q]) w->tail[q]->next_in_queue = m;
  else w->head[q] = m;
  w->tail[q] = m;
  pthread_cond_broadcast(&w->changed);
  pthread_mutex_unlock(&w->lock);
  return st != BUNMG_OK ? st : posted;
}

static bunmg_status host_recv(void *context, int32_t peer, void *dst, size_t bytes) {
  rank_ctx *c = context;
  bunmg_status st = inject(c);
  if (st == BUNMG_PEER_LOST) return st;
  bunmg_status posted = post(c, (pending){peer, dst, bytes, st != BUNMG_OK, NULL});
  return st != BUNMG_OK ? st : posted;
}

/* Takes every posted receive's message in order, then waits until every posted send was taken. */
static bunmg_status host_complete(void *context) {
  rank_ctx *c = context;
  world *w = c->w;
  bunmg_status st = BUNMG_OK, late = BUNMG_OK;
  struct timespec deadline = deadline_after(w->timeout_ms);
  pthread_mutex_lock(&w->lock);
  for (int64_t i = 0; i < c->nposted && st == BUNMG_OK; i++) {
    pending *p = &c->posted[i];
    if (p->sent) continue;
    size_t q = (size_t)p->peer * (size_t)w->ranks + (size_t)c->rank;
    w->waiting_for[c->rank] = p->peer;
    while (st == BUNMG_OK && !w->head[q]) {
      st = wait_problem(w, p->peer);
      if (st == BUNMG_OK) st = wait_once(w, &deadline, p->peer, "send");
    }
    if (st != BUNMG_OK) break;
    message *m = w->head[q];
    w->head[q] = m->next_in_queue;
    if (!w->head[q]) w->tail[q] = NULL;
    if (m->bytes != p->bytes)
      late = bunmg_fail(BUNMG_UNSUPPORTED, "host transport: rank %d sent %zu bytes, rank %d expected %zu", p->peer,
                        m->bytes, c->rank, p->bytes);
    else if (!m->poisoned && !p->discard)
      memcpy(p->dst, m->src, m->bytes);
    m->consumed = 1;
    pthread_cond_broadcast(&w->changed);
  }
  for (int64_t i = 0; i < c->nposted && st == BUNMG_OK; i++) {
    pending *p = &c->posted[i];
    w->waiting_for[c->rank] = p->peer;
    while (st == BUNMG_OK && p->sent && !p->sent->consumed) {
      st = wait_problem(w, p->peer);
      if (st == BUNMG_OK) st = wait_once(w, &deadline, p->peer, "receive");
    }
  }
  w->waiting_for[c->rank] = BUSY;
  pthread_mutex_unlock(&w->lock);
  c->nposted = 0;
  return st != BUNMG_OK ? st : late;
}

static bunmg_status host_agree(void *context, bunmg_status mine, int32_t *first, bunmg_status *first_status) {
  rank_ctx *c = context;
  world *w = c->w;
  struct timespec deadline = deadline_after(w->timeout_ms);
  bunmg_status st = BUNMG_OK;
  pthread_mutex_lock(&w->lock);
  uint64_t gen = w->generation;
  if (mine != BUNMG_OK && (w->first < 0 || c->rank < w->first)) {
    w->first = c->rank;
    w->first_status = mine;
  }
  w->arrived_in[c->rank] = gen + 1;
  if (++w->arrived == w->ranks) {
    w->result_first = w->first;
    w->result_status = w->first_status;
    w->first = -1;
    w->first_status = BUNMG_OK;
    w->arrived = 0;
    w->generation++;
    pthread_cond_broadcast(&w->changed);
  }
  w->waiting_for[c->rank] = AGREEING;
  while (st == BUNMG_OK && w->generation == gen) {
    st = wait_problem(w, -1);
    if (st == BUNMG_OK && pthread_cond_timedwait(&w->changed, &w->lock, &deadline) == ETIMEDOUT &&
        w->generation == gen) {
      int32_t missing = 0; /* the first rank still missing, or whom it waits for */
      while (missing < w->ranks - 1 && w->arrived_in[missing] == gen + 1) missing++;
      missing = culprit(w, missing);
      bunmg_fail_at(BUNMG_TIMEOUT, -1, missing, "rank %d did not arrive at the agreement within %lld ms", missing,
                    (long long)w->timeout_ms);
      st = abort_world(w, BUNMG_TIMEOUT, missing);
    }
  }
  w->waiting_for[c->rank] = BUSY;
  *first = w->result_first;
  *first_status = w->result_status;
  pthread_mutex_unlock(&w->lock);
  return st;
}

static void *rank_main(void *arg) {
  rank_ctx *c = arg;
  world *w = c->w;
  pthread_mutex_lock(&w->lock);
  while (!w->started && !w->cancelled) pthread_cond_wait(&w->changed, &w->lock);
  int go = !w->cancelled;
  pthread_mutex_unlock(&w->lock);
  if (!go) return NULL;
  bunmg_grid_transport t = {c, host_copy, host_send, host_recv, host_complete, host_agree,
                             !(c->flags & BUNMG_GRID_AGREE_PER_PHASE)};
  bunmg_clear_error();
  c->status = bunmg_grid_execute(c->plan, &t, c->rank, c->buffer, c->staging, c->esize, c->flags & BUNMG_GRID_TO_ROWS);
  snprintf(c->message, sizeof c->message, "%s", bunmg_last_error());
  bunmg_last_error_detail(&c->index, &c->device);
  if (c->status == BUNMG_OK) return NULL;
  pthread_mutex_lock(&w->lock); /* a broken rank's peers must not wait for it any more */
  if (c->status == BUNMG_TIMEOUT || c->status == BUNMG_PEER_LOST) abort_world(w, c->status, c->device);
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

static bunmg_status check_args(const bunmg_grid_plan *plan, void *const *buffers, int32_t element_bytes,
                               int32_t flags, const int64_t *fault) {
  if (!plan) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_exec_host: plan is NULL");
  int32_t ranks = plan->shape.ranks;
  if (ranks > HOST_MAX_RANKS)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_exec_host: at most %d ranks (threads), the plan has %d",
                      HOST_MAX_RANKS, ranks);
  if (!buffers) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_exec_host: buffer list is NULL");
  for (int32_t r = 0; r < ranks; r++)
    if (!buffers[r]) return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, r, "grid_exec_host: buffer of rank %d is NULL", r);
  if (element_bytes < 1 || element_bytes > 1024)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_exec_host: element_bytes must be in 1..1024, got %d", element_bytes);
  if (flags & ~(BUNMG_GRID_TO_ROWS | BUNMG_GRID_AGREE_PER_PHASE))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_exec_host: unknown flags 0x%x", (unsigned)flags);
  if (fault && (fault[0] < BUNMG_GRID_FAULT_NONE || fault[0] > BUNMG_GRID_FAULT_STALL || fault[1] < 0 ||
                fault[1] >= ranks || fault[2] < 0))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "grid_exec_host: fault must be {kind 0..3, rank 0..%d, operation >= 0}, got {%lld, %lld, %lld}",
                      ranks - 1, (long long)fault[0], (long long)fault[1], (long long)fault[2]);
  return BUNMG_OK;
}

/* The status to report: the failed rank's own, else the lowest live rank's. */
static const rank_ctx *reported(const rank_ctx *ctx, const world *w) {
  const rank_ctx *pick = NULL;
  for (int32_t r = 0; r < w->ranks; r++) {
    if (ctx[r].status == BUNMG_OK || w->dead[r]) continue;
    if (!pick) pick = &ctx[r];
    if (ctx[r].device == r && ctx[r].status != BUNMG_TIMEOUT && ctx[r].status != BUNMG_PEER_LOST) return &ctx[r];
  }
  return pick;
}

bunmg_status bunmg_grid_exec_host(const bunmg_grid_plan *plan, void *const *buffers, int32_t element_bytes,
                                  int32_t flags, int64_t timeout_ms, const int64_t *fault, int32_t *statuses) {
  bunmg_clear_error();
  bunmg_status st = check_args(plan, buffers, element_bytes, flags, fault);
  if (st != BUNMG_OK) return st;
  int32_t ranks = plan->shape.ranks;
  world w;
  memset(&w, 0, sizeof w);
  w.ranks = ranks;
  w.timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  if (fault) memcpy(w.fault, fault, sizeof w.fault);
  w.first = w.result_first = -1;
  w.abort_rank = -1;
  w.head = calloc((size_t)ranks * (size_t)ranks, sizeof(message *));
  w.tail = calloc((size_t)ranks * (size_t)ranks, sizeof(message *));
  w.dead = calloc((size_t)ranks, 1);
  w.arrived_in = calloc((size_t)ranks, sizeof(uint64_t));
  w.waiting_for = malloc(sizeof(int32_t) * (size_t)ranks);
  for (int32_t r = 0; w.waiting_for && r < ranks; r++) w.waiting_for[r] = BUSY;
  rank_ctx *ctx = calloc((size_t)ranks, sizeof *ctx);
  pthread_t *threads = calloc((size_t)ranks, sizeof *threads);
  size_t staging_bytes = (size_t)(plan->summary.staging > 0 ? plan->summary.staging : 1) * (size_t)element_bytes;
  int ok = w.head && w.tail && w.dead && w.arrived_in && w.waiting_for && ctx && threads;
  for (int32_t r = 0; ok && r < ranks; r++) {
    ctx[r] = (rank_ctx){&w, r, 0, NULL, 0, 0, BUNMG_OK, "", -1, -1, buffers[r], malloc(staging_bytes), plan,
                        (size_t)element_bytes, flags};
    ok = ctx[r].staging != NULL;
  }
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.changed, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&w.lock, NULL);
  int32_t started = 0;
  for (; ok && started < ranks; started++) ok = pthread_create(&threads[started], NULL, rank_main, &ctx[started]) == 0;
  pthread_mutex_lock(&w.lock);
  if (ok) w.started = 1;
  else w.cancelled = 1;
  pthread_cond_broadcast(&w.changed);
  pthread_mutex_unlock(&w.lock);
  for (int32_t r = 0; r < started; r++) pthread_join(threads[r], NULL);
  if (!ok) {
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid_exec_host: could not start %d rank threads; nothing moved", ranks);
  } else {
    if (statuses)
      for (int32_t r = 0; r < ranks; r++) statuses[r] = ctx[r].status;
    const rank_ctx *pick = reported(ctx, &w);
    if (pick) st = bunmg_fail_at(pick->status, pick->index, pick->device, "rank %d: %s", pick->rank, pick->message);
  }
  for (message *m = w.owned; m;) {
    message *next = m->next_owned;
    free(m);
    m = next;
  }
  for (int32_t r = 0; ctx && r < ranks; r++) {
    free(ctx[r].staging);
    free(ctx[r].posted);
  }
  pthread_cond_destroy(&w.changed);
  pthread_mutex_destroy(&w.lock);
  free(w.head);
  free(w.tail);
  free(w.dead);
  free(w.arrived_in);
  free(w.waiting_for);
  free(ctx);
  free(threads);
  return st;
}
