/* The shared-memory transport of grid redistributions between the ranks of a group on one node.
 *
 * A redistribution is operation <gen> of the group (counted with its collectives). Rank 0 makes
 * its segment /bunmg-<job>.<id>.g<gen> (struct exchange) holding rank 0's call; every other rank
 * maps it and checks its own call against that one. Agreement 0 settles the checks (every rank
 * has the segment mapped once it has voted, so rank 0 then unlinks it: it outlives no call), and
 * the plan runs (grid_exec.c) over:
 *   copy       memcpy within the rank
 *   send/recv  posted, then streamed by complete() through one ring per ordered pair of ranks,
 *              every pending direction at once so that neither side of a pair waits for the
 *              other; a message is a header (its size; a failed send sends no data) and its data
 *   agree      the rank's status in agreement k goes to vote[k % 2], then its count to k + 1; once
 *              every count has passed k every rank reads the same votes (vote[k % 2] is written
 *              again only at k + 2, after every rank has read k's)
 * Every wait is the group's (meeting.c): the timeout starts again whenever data moves, any rank's
 * death is PEER_LOST, and the first failure breaks the group. Each rank publishes whom it waits
 * for, so that a timeout names the rank at the end of that chain: the one really missing. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "group/meeting.h"
#include "mp/grid_exec.h"

#define RINGS_BYTES ((uint64_t)4 << 20) /* the rings of one call, unless each would be below RING_MIN */
#define RING_MIN ((uint64_t)4 << 10)
#define RING_MAX ((uint64_t)256 << 10)
#define MESSAGE_BYTES 512
#define HEAD_MAGIC 0x67726964u /* "grid" */

/* What a rank calls: the plan's grid, lanes and summary, its element size and flags. */
typedef struct grid_call {
  bunmg_grid grid;
  int32_t lanes, element_bytes, flags, reserved;
  bunmg_grid_plan_summary summary;
} grid_call;

typedef struct member {
  _Atomic uint64_t agreements; /* agreements it has voted in */
  int32_t vote[2];             /* its status in agreement k, at k % 2 */
  _Atomic int32_t waiting_for; /* the rank it waits for, -1 when none */
  int32_t reserved;
  char message[MESSAGE_BYTES]; /* why its call failed its checks (agreement 0) */
} __attribute__((aligned(64))) member;

/* One direction between two ranks: bytes the sender has put in and the receiver taken out, in
 * all. Its data follows. */
typedef struct ring {
  _Atomic uint64_t written __attribute__((aligned(64)));
  _Atomic uint64_t taken __attribute__((aligned(64)));
} ring;

typedef struct exchange {
  bunmg_seg_head seg;
  int32_t ranks;
  int32_t call_valid; /* rank 0's call passed its own checks: the one to compare with */
  uint64_t ring_bytes;
  grid_call call; /* rank 0's */
  member members[]; /* then the rings */
} exchange;

typedef struct message_head {
  uint64_t bytes;
  uint32_t empty; /* the send failed: no data follows, the receive completes without any */
  uint32_t magic;
} message_head;

typedef struct pending {
  int32_t peer;
  int sending;
  int skip;        /* a send: it failed, only its header goes; a receive: it failed, its data is dropped */
  char *data;
  uint64_t bytes;  /* its data */
  uint64_t done;   /* bytes of its message moved: the header, then the data */
  uint64_t length; /* of its message; a receive's is known once its header is in (0 until then) */
  message_head head;
} pending;

typedef struct shm_rank {
  bunmg_group *g;
  bunmg_seg seg;
  exchange *x;
  int32_t rank, ranks;
  uint64_t ring;       /* bytes of each ring */
  uint64_t agreements; /* the next agreement's number */
  int64_t moves;       /* copies, sends and receives so far */
  int64_t fault[3];    /* kind, at, index */
  pending *posted;
  int64_t nposted, capposted;
  bunmg_status late; /* a message that did not match its receive, reported by complete */
  char late_message[256];
} shm_rank;

static uint64_t ring_bytes_for(int32_t ranks) {
  uint64_t pairs = (uint64_t)ranks * (uint64_t)(ranks - 1);
  if (pairs == 0) return 0;
  uint64_t r = RINGS_BYTES / pairs;
  r = r < RING_MIN ? RING_MIN : r > RING_MAX ? RING_MAX : r;
  return r & ~(uint64_t)63;
}

static size_t rings_offset(int32_t ranks) { return sizeof(exchange) + (size_t)ranks * sizeof(member); }

static size_t segment_bytes(int32_t ranks, uint64_t ring_bytes) {
  return rings_offset(ranks) + (size_t)ranks * (size_t)(ranks - 1) * (sizeof(ring) + (size_t)ring_bytes);
}

static ring *ring_of(const shm_rank *c, int32_t from, int32_t to) {
  size_t i = (size_t)from * (size_t)(c->ranks - 1) + (size_t)(to < from ? to : to - 1);
  return (ring *)((char *)c->x + rings_offset(c->ranks) + i * (sizeof(ring) + (size_t)c->ring));
}

/* Copies n bytes between the ring's data at stream position `at` and `outside`, across its end. */
static void ring_copy(ring *rg, uint64_t cap, uint64_t at, char *outside, uint64_t n, int into_ring) {
  char *data = (char *)(rg + 1);
  uint64_t start = at % cap, first = n < cap - start ? n : cap - start;
  if (into_ring) {
    memcpy(data + start, outside, first);
    memcpy(data, outside + first, n - first);
  } else {
    memcpy(outside, data + start, first);
    memcpy(outside + first, data, n - first);
  }
}

/* The sender: puts up to n bytes of src in; returns how many fitted. */
static uint64_t ring_put(ring *rg, uint64_t cap, const char *src, uint64_t n) {
  uint64_t w = atomic_load_explicit(&rg->written, memory_order_relaxed);
  uint64_t held = w - atomic_load_explicit(&rg->taken, memory_order_acquire);
  uint64_t room = held <= cap ? cap - held : 0;
  if (n > room) n = room;
  ring_copy(rg, cap, w, (char *)src, n, 1);
  atomic_store_explicit(&rg->written, w + n, memory_order_release);
  return n;
}

/* The receiver: takes up to n bytes out into dst (NULL: drops them); returns how many. */
static uint64_t ring_take(ring *rg, uint64_t cap, char *dst, uint64_t n) {
  uint64_t t = atomic_load_explicit(&rg->taken, memory_order_relaxed);
  uint64_t held = atomic_load_explicit(&rg->written, memory_order_acquire) - t;
  if (held > cap) held = 0;
  if (n > held) n = held;
  if (dst) ring_copy(rg, cap, t, dst, n, 0);
  atomic_store_explicit(&rg->taken, t + n, memory_order_release);
  return n;
}

/* ---- faults ---- */

static const char *const at_names[] = {"join", "move", "agreement"};

/* The armed fault, if this is where it fires (once); DIE and STALL act here. */
static bunmg_status inject(shm_rank *c, int32_t at, int64_t index) {
  if (c->fault[0] == BUNMG_GRID_FAULT_NONE || c->fault[1] != at || (at != BUNMG_GRID_AT_JOIN && c->fault[2] != index))
    return BUNMG_OK;
  int64_t kind = c->fault[0];
  c->fault[0] = BUNMG_GRID_FAULT_NONE;
  if (kind == BUNMG_GRID_FAULT_DIE) {
    kill(getpid(), SIGKILL); /* asked for by bunmg_grid_debug_inject: a test of the others' PEER_LOST */
    for (;;) pause();
  }
  if (kind == BUNMG_GRID_FAULT_STALL) {
    int64_t ms = 2 * c->g->timeout_ms;
    struct timespec pause_for = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&pause_for, NULL);
    return BUNMG_OK;
  }
  char where[48] = "its join";
  if (at != BUNMG_GRID_AT_JOIN) snprintf(where, sizeof where, "%s %lld", at_names[at], (long long)index);
  return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, c->rank, "injected failure at %s on rank %d", where, c->rank);
}

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

/* ---- the transport's operations ---- */

/* The rank at the end of the chain of whom each waits for, starting from r (not this rank). */
static int32_t culprit(const shm_rank *c, int32_t r) {
  for (int32_t steps = 0; steps < c->ranks; steps++) {
    int32_t next = atomic_load_explicit(&c->x->members[r].waiting_for, memory_order_relaxed);
    if (next < 0 || next >= c->ranks || next == c->rank) break;
    r = next;
  }
  return r;
}

static int32_t waiting_for(shm_rank *c, int32_t r) {
  atomic_store_explicit(&c->x->members[c->rank].waiting_for, r, memory_order_relaxed);
  return r < 0 ? -1 : culprit(c, r);
}

static bunmg_status shm_copy(void *context, void *dst, const void *src, size_t bytes) {
  shm_rank *c = context;
  bunmg_status st = inject(c, BUNMG_GRID_AT_MOVE, c->moves++);
  if (st == BUNMG_OK) memcpy(dst, src, bytes);
  return st;
}

/* Posts a send or receive; `failed` is its injected failure, if any. */
static bunmg_status post(shm_rank *c, int32_t peer, int sending, char *data, size_t bytes, bunmg_status failed) {
  if (peer < 0 || peer >= c->ranks || peer == c->rank || c->nposted == c->capposted)
    return bunmg_fail(BUNMG_UNSUPPORTED, "grid redistribution: internal error, a move between ranks %d and %d in a round "
                                         "of more than %lld of this rank's moves",
                      c->rank, peer, (long long)c->capposted);
  int skip = failed != BUNMG_OK;
  uint64_t length = sending ? sizeof(message_head) + (skip ? 0 : bytes) : 0;
  c->posted[c->nposted++] = (pending){peer, sending, skip, data, bytes, 0, length, {bytes, (uint32_t)skip, HEAD_MAGIC}};
  return failed;
}

static bunmg_status shm_send(void *context, int32_t peer, const void *src, size_t bytes) {
  shm_rank *c = context;
  return post(c, peer, 1, (char *)src, bytes, inject(c, BUNMG_GRID_AT_MOVE, c->moves++));
}

static bunmg_status shm_recv(void *context, int32_t peer, void *dst, size_t bytes) {
  shm_rank *c = context;
  return post(c, peer, 0, dst, bytes, inject(c, BUNMG_GRID_AT_MOVE, c->moves++));
}

static uint64_t pump_send(shm_rank *c, pending *p) {
  ring *rg = ring_of(c, c->rank, p->peer);
  uint64_t moved = 0, n = 1;
  while (p->done < p->length && n > 0) {
    const uint64_t head = sizeof p->head;
    const char *from = p->done < head ? (const char *)&p->head + p->done : p->data + (p->done - head);
    n = ring_put(rg, c->ring, from, (p->done < head ? head : p->length) - p->done);
    p->done += n;
    moved += n;
  }
  return moved;
}

/* A receive's header is in: its message's length, or the mismatch (a bug) to report. */
static void accept_head(shm_rank *c, pending *p) {
  const message_head *h = &p->head;
  p->length = sizeof *h + (h->empty ? 0 : h->bytes);
  if (h->magic == HEAD_MAGIC && h->bytes == p->bytes) return;
  p->skip = 1;
  if (h->magic != HEAD_MAGIC) p->length = sizeof *h; /* nothing to follow that can be trusted */
  c->late = BUNMG_UNSUPPORTED;
  snprintf(c->late_message, sizeof c->late_message,
           "grid redistribution: internal error, rank %d sent a message of %llu bytes (magic %08x) where rank %d "
           "expected %llu",
           p->peer, (unsigned long long)h->bytes, h->magic, c->rank, (unsigned long long)p->bytes);
}

static uint64_t pump_recv(shm_rank *c, pending *p) {
  ring *rg = ring_of(c, p->peer, c->rank);
  const uint64_t head = sizeof p->head;
  uint64_t moved = 0, n = 1;
  while (p->done < head && n > 0) {
    n = ring_take(rg, c->ring, (char *)&p->head + p->done, head - p->done);
    p->done += n;
    moved += n;
    if (p->done == head) accept_head(c, p);
  }
  while (p->done >= head && p->done < p->length && n > 0) {
    n = ring_take(rg, c->ring, p->skip ? NULL : p->data + (p->done - head), p->length - p->done);
    p->done += n;
    moved += n;
  }
  return moved;
}

/* Moves what it can of the posted messages, in order per peer and direction, as long as
 * anything moves. */
static int32_t look_posted(bunmg_group *g, void *ctx, bunmg_wait_state *state) {
  shm_rank *c = ctx;
  int32_t blocking;
  uint64_t moved = 0, step;
  do {
    step = 0;
    blocking = -1;
    uint64_t busy[2] = {0, 0}; /* per direction: peers with an unfinished earlier message */
    for (int64_t i = 0; i < c->nposted; i++) {
      pending *p = &c->posted[i];
      uint64_t bit = (uint64_t)1 << p->peer;
      if (p->length > 0 && p->done == p->length) continue;
      if (!(busy[p->sending] & bit)) step += p->sending ? pump_send(c, p) : pump_recv(c, p);
      if (p->length > 0 && p->done == p->length) continue;
      busy[p->sending] |= bit;
      if (blocking < 0) blocking = p->peer;
    }
    moved += step;
  } while (step > 0 && blocking >= 0);
  if (moved > 0) *state = BUNMG_WAIT_MOVED;
  return waiting_for(c, blocking);
}

static bunmg_status shm_complete(void *context) {
  shm_rank *c = context;
  if (c->nposted == 0) return BUNMG_OK; /* the split, and a broken run's undoing of its own split */
  bunmg_status st = bunmg_group_wait(c->g, look_posted, c, "take part in the grid redistribution (sending and receiving)");
  waiting_for(c, -1);
  c->nposted = 0;
  if (st == BUNMG_OK && c->late != BUNMG_OK) {
    st = bunmg_fail(c->late, "%s", c->late_message);
    c->late = BUNMG_OK;
  }
  return st;
}

typedef struct agreement {
  shm_rank *c;
  uint64_t k;
} agreement;

static int32_t look_votes(bunmg_group *g, void *ctx, bunmg_wait_state *state) {
  const agreement *a = ctx;
  for (int32_t r = 0; r < a->c->ranks; r++)
    if (atomic_load_explicit(&a->c->x->members[r].agreements, memory_order_acquire) <= a->k) return waiting_for(a->c, r);
  return waiting_for(a->c, -1);
}

static bunmg_status shm_agree(void *context, bunmg_status mine, int32_t *first, bunmg_status *first_status) {
  shm_rank *c = context;
  uint64_t k = c->agreements++;
  inject(c, BUNMG_GRID_AT_AGREEMENT, (int64_t)k); /* dies or stalls: an agreement cannot fail */
  member *me = &c->x->members[c->rank];
  me->vote[k % 2] = mine;
  atomic_store_explicit(&me->agreements, k + 1, memory_order_release);
  agreement a = {c, k};
  char stage[96];
  snprintf(stage, sizeof stage, "take part in the grid redistribution (%s %llu)", k ? "agreement" : "joining it, agreement",
           (unsigned long long)k);
  bunmg_status st = bunmg_group_wait(c->g, look_votes, &a, stage);
  if (st != BUNMG_OK) return st;
  *first = -1;
  *first_status = BUNMG_OK;
  for (int32_t r = 0; r < c->ranks && *first < 0; r++) {
    int32_t vote = c->x->members[r].vote[k % 2];
    if (vote != BUNMG_OK) {
      *first = r;
      *first_status = vote;
    }
  }
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
  size_t bytes = segment_bytes(c->ranks, c->ring);
  bunmg_status st = bunmg_seg_create(&c->seg, BUNMG_SEG_GRID, bytes, c->g->launch);
  if (st == BUNMG_OK) {
    int err = posix_fallocate(c->seg.fd, 0, (off_t)bytes); /* a full /dev/shm fails here, not as SIGBUS later */
    if (err != 0 && err != EOPNOTSUPP && err != ENOSYS)
      st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "posix_fallocate of %zu bytes in " BUNMG_SHM_DIR ": %s (is it full?)", bytes,
                      strerror(err));
  }
  if (st == BUNMG_OK) {
    exchange *x = (exchange *)c->seg.base;
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
  const exchange *x = (const exchange *)c->seg.base;
  if (o.status == BUNMG_OK && (x->seg.launch != c->g->launch || x->ranks != c->ranks || x->ring_bytes != c->ring ||
                               c->seg.bytes < segment_bytes(c->ranks, c->ring))) {
    o.status = bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s is not a grid redistribution of this group", name);
    bunmg_seg_unmap(&c->seg);
  }
  if (o.status != BUNMG_OK)
    return bunmg_group_abort(c->g, o.status, c->rank, "rank %d could not open the grid redistribution's shared memory: %s",
                             c->rank, bunmg_last_error());
  c->x = (exchange *)c->seg.base;
  return BUNMG_OK;
}

/* Meets the other ranks in the call's segment and agrees on every rank's checks (verdict, with
 * its error set when it failed). */
static bunmg_status join(shm_rank *c, uint64_t gen, const grid_call *mine, bunmg_status verdict) {
  bunmg_group *g = c->g;
  bunmg_status injected = inject(c, BUNMG_GRID_AT_JOIN, 0);
  if (verdict == BUNMG_OK) verdict = injected;
  char message[MESSAGE_BYTES];
  snprintf(message, sizeof message, "%s", verdict == BUNMG_OK ? "" : bunmg_last_error());
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
  st = shm_agree(c, verdict, &first, &first_status);
  if (c->rank == 0) bunmg_seg_unlink(&c->seg); /* every rank has voted, so every rank has it mapped */
  if (st != BUNMG_OK || first < 0) return st;
  return bunmg_fail_at(first_status, -1, first, "rank %d: %.*s", first, MESSAGE_BYTES - 1,
                       c->x->members[first].message);
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
  shm_rank c = {.g = g, .rank = g->rank, .ranks = g->size, .ring = ring_bytes_for(g->size)};
  memcpy(c.fault, g->grid_fault, sizeof c.fault);
  g->grid_fault[0] = BUNMG_GRID_FAULT_NONE;
  uint64_t gen = ++g->gen;
  grid_call mine;
  memset(&mine, 0, sizeof mine);
  char *staging = NULL;
  bunmg_status verdict = check_call(&c, plan, buffer, buffer_bytes, element_bytes, flags);
  if (verdict == BUNMG_OK) {
    mine = (grid_call){plan->shape.grid, plan->lanes, element_bytes, flags, 0, plan->summary};
    c.capposted = (int64_t)c.ranks * plan->lanes;
    c.posted = malloc(sizeof *c.posted * (size_t)c.capposted);
    staging = malloc((size_t)(plan->summary.staging > 0 ? plan->summary.staging : 1) * (size_t)element_bytes);
    if (!c.posted || !staging)
      verdict = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %lld elements of staging",
                           (long long)plan->summary.staging);
  }
  bunmg_status st = join(&c, gen, &mine, verdict);
  if (st == BUNMG_TIMEOUT || st == BUNMG_PEER_LOST) {
    bunmg_error_prefix("grid_redistribute: broke before anything moved (this rank's buffer is as it was): ");
  } else if (st != BUNMG_OK) {
    bunmg_error_prefix("grid_redistribute: nothing moved: ");
  } else {
    bunmg_grid_transport t = {&c, shm_copy, shm_send, shm_recv, shm_complete, shm_agree,
                              !(flags & BUNMG_GRID_AGREE_PER_PHASE)};
    st = bunmg_grid_execute(plan, &t, c.rank, buffer, staging, (size_t)element_bytes, flags & BUNMG_GRID_TO_ROWS);
    if (st != BUNMG_OK) bunmg_error_prefix("grid_redistribute: ");
  }
  if (c.x) bunmg_seg_unmap(&c.seg);
  free(c.posted);
  free(staging);
  return st;
}
