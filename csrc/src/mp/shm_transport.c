/* The shared-memory transport of grid redistributions (shm_transport.h): what grid_exec.c runs
 * once the ranks have joined the redistribution's segment (grid_group.c).
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mp/shm_transport.h"

#define RINGS_BYTES ((uint64_t)4 << 20) /* the rings of one call, unless each would be below RING_MIN */
#define RING_MIN ((uint64_t)4 << 10)
#define RING_MAX ((uint64_t)256 << 10)
#define HEAD_MAGIC 0x67726964u /* "grid" */

/* One direction between two ranks: bytes the sender has put in and the receiver taken out, in
 * all. Its data follows. */
typedef struct ring {
  _Atomic uint64_t written __attribute__((aligned(64)));
  _Atomic uint64_t taken __attribute__((aligned(64)));
} ring;

typedef struct message_head {
  uint64_t bytes;
  uint32_t empty; /* the send failed: no data follows, the receive completes without any */
  uint32_t magic;
} message_head;

struct shm_pending {
  int32_t peer;
  int sending;
  int skip;        /* a send: it failed, only its header goes; a receive: it failed, its data is dropped */
  char *data;
  uint64_t bytes;  /* its data */
  uint64_t done;   /* bytes of its message moved: the header, then the data */
  uint64_t length; /* of its message; a receive's is known once its header is in (0 until then) */
  message_head head;
};

uint64_t bunmg_shm_ring_bytes(int32_t ranks) {
  uint64_t pairs = (uint64_t)ranks * (uint64_t)(ranks - 1);
  if (pairs == 0) return 0;
  uint64_t r = RINGS_BYTES / pairs;
  r = r < RING_MIN ? RING_MIN : r > RING_MAX ? RING_MAX : r;
  return r & ~(uint64_t)63;
}

static size_t rings_offset(int32_t ranks) { return sizeof(shm_exchange) + (size_t)ranks * sizeof(shm_member); }

size_t bunmg_shm_segment_bytes(int32_t ranks, uint64_t ring_bytes) {
  return rings_offset(ranks) + (size_t)ranks * (size_t)(ranks - 1) * (sizeof(ring) + (size_t)ring_bytes);
}

bunmg_status bunmg_shm_prepare(shm_rank *c, int32_t lanes) {
  c->capposted = (int64_t)c->ranks * lanes; /* a round has at most one move per lane */
  c->posted = malloc(sizeof *c->posted * (size_t)c->capposted);
  return c->posted ? BUNMG_OK : bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for %lld moves", (long long)c->capposted);
}

void bunmg_shm_release(shm_rank *c) {
  if (c->x) bunmg_seg_unmap(&c->seg);
  c->x = NULL;
  free(c->posted);
  c->posted = NULL;
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

bunmg_status bunmg_shm_inject(shm_rank *c, int32_t at, int64_t index) {
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
  bunmg_status st = bunmg_shm_inject(c, BUNMG_GRID_AT_MOVE, c->moves++);
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
  c->posted[c->nposted++] = (shm_pending){peer, sending, skip, data, bytes, 0, length, {bytes, (uint32_t)skip, HEAD_MAGIC}};
  return failed;
}

static bunmg_status shm_send(void *context, int32_t peer, const void *src, size_t bytes) {
  shm_rank *c = context;
  return post(c, peer, 1, (char *)src, bytes, bunmg_shm_inject(c, BUNMG_GRID_AT_MOVE, c->moves++));
}

static bunmg_status shm_recv(void *context, int32_t peer, void *dst, size_t bytes) {
  shm_rank *c = context;
  return post(c, peer, 0, dst, bytes, bunmg_shm_inject(c, BUNMG_GRID_AT_MOVE, c->moves++));
}

static uint64_t pump_send(shm_rank *c, shm_pending *p) {
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
static void accept_head(shm_rank *c, shm_pending *p) {
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

static uint64_t pump_recv(shm_rank *c, shm_pending *p) {
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
      shm_pending *p = &c->posted[i];
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
  bunmg_shm_inject(c, BUNMG_GRID_AT_AGREEMENT, (int64_t)k); /* dies or stalls: an agreement cannot fail */
  shm_member *me = &c->x->members[c->rank];
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

bunmg_grid_transport bunmg_shm_transport(shm_rank *c, int agree_every_round) {
  return (bunmg_grid_transport){c, shm_copy, shm_send, shm_recv, shm_complete, shm_agree, agree_every_round};
}
