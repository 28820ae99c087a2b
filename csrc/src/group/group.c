/* Groups: ranks (threads or processes), one device each, meet in a shared-memory segment and run
 * the sharded routines together; rank 0 runs them with every rank's shard.
 *
 * The meeting segment /bunmg-<job> (struct meeting) is created by rank 0 and unlinked by it as
 * soon as every rank has mapped it, so it outlives no job. One collective routine, operation
 * number `gen` (every rank counts its calls), runs as:
 *   every rank  writes its call into its slot (arguments checked, shard exported), arrived = gen
 *   rank 0      waits for every arrived >= gen, started = gen; checks the calls agree; opens the
 *               peers' shards (address / IPC handle / shm segment) into its `world` mesh, runs
 *               the routine, closes them; puts X or the eigenvalues in /bunmg-<job>.o<gen>;
 *               publishes status and message, finished = gen
 *   the others  wait for finished >= gen, copy the small result, done = gen
 *   rank 0      waits for every done >= gen, unlinks the result segment, completed = gen
 *   the others  wait for completed >= gen: all return the same status, or all fail.
 * Every wait polls (yields, then sleeps of 0.1 to 1 ms) for the awaited counter, the group's abort
 * record, and every 10 ms the other ranks' liveness; it fails after the timeout, except while
 * rank 0 runs the routine (started == gen), which only rank 0's liveness bounds. The first rank
 * to fail a wait records TIMEOUT or PEER_LOST in the abort record; every rank then reports it. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "group/ipc.h"
#include "group/shm.h"

#define MESSAGE_MAX 1024
#define DEFAULT_TIMEOUT_MS 60000
#define LIVENESS_EVERY_MS 10
#define SHARD_OFFSET 4096 /* a host shard's data starts a page into its segment, after the head */
#define DATA_OFFSET 64    /* a result's data starts after the segment head */

enum { OP_FILL = 1, OP_POTRS = 2, OP_POTRI = 3, OP_SYEVD = 4 };
static const char *const op_names[] = {"", "fill_random", "potrs", "potri", "syevd"};

/* One rank's entry in the meeting segment. */
typedef struct slot {
  _Atomic int32_t claimed;  /* taken by a joining rank: a second join of the rank fails */
  _Atomic int32_t joined;   /* pid, tid, start and device_id are set */
  _Atomic int32_t left;     /* left the group (or failed to join) */
  int32_t pid, tid, device_id;
  uint64_t start;           /* process start time: a reused pid is not this rank */
  _Atomic uint64_t arrived; /* last operation the rank has arrived at */
  _Atomic uint64_t done;    /* last operation whose result the rank has taken */
  /* the rank's call of operation `arrived` */
  int32_t op, dtype, flags, kind;
  int64_t rows, cols, capacity, tile, nrhs;
  uint64_t seed;
  int32_t status; /* the rank's checks of its own arguments and the export of its shard */
  int32_t reserved;
  char message[MESSAGE_MAX];
  uint64_t address; /* threads: the shard's address; processes: its offset in the allocation */
  uint64_t bytes;   /* capacity * cols * element size */
  char shard_name[BUNMG_SHM_NAME_MAX]; /* host backend, processes: the shard's segment */
  uint8_t ipc[BUNMG_IPC_HANDLE_BYTES]; /* CUDA, processes: the allocation's handle */
} slot;

/* The meeting segment. */
typedef struct meeting {
  bunmg_seg_head seg;
  int32_t mode, size, backend, reserved;
  _Atomic uint64_t started;   /* rank 0 has every rank's call of this operation */
  _Atomic uint64_t finished;  /* ... and has published its result below */
  _Atomic uint64_t completed; /* every rank has taken that result */
  int32_t status, device;
  int64_t index;
  char message[MESSAGE_MAX];
  _Atomic int32_t abort_state; /* 0: none; 1: being written; 2: published, the group is broken */
  int32_t abort_status, abort_device;
  char abort_message[MESSAGE_MAX];
  slot slots[BUNMG_MAX_DEVICES];
} meeting;

typedef struct owned_shard {
  bunmg_seg seg;
  char *ptr;
  size_t bytes;
} owned_shard;

struct bunmg_group {
  int32_t mode, rank, size;
  char job[BUNMG_JOB_MAX + 1];
  int64_t timeout_ms;
  bunmg_mesh *local;
  bunmg_seg seg;
  meeting *m;
  uint64_t gen;
  bunmg_mesh *world; /* rank 0: a position per rank, created by the first routine */
  owned_shard *owned; /* host backend, processes: shards in shared memory */
  size_t owned_count, owned_cap;
  uint64_t owned_seq;
};

static const char *mode_name(int32_t mode) { return mode == BUNMG_GROUP_THREADS ? "threads" : "processes"; }
static const char *backend_name(int32_t backend) { return backend == BUNMG_BACKEND_HOST ? "host" : "cuda"; }
static slot *own_slot(const bunmg_group *g) { return &g->m->slots[g->rank]; }
static int shm_shards(const bunmg_group *g) {
  return g->mode == BUNMG_GROUP_PROCESSES && g->local->backend == BUNMG_BACKEND_HOST;
}

/* ---- failure: the abort record ---- */

static int aborted(const bunmg_group *g) {
  return atomic_load_explicit(&g->m->abort_state, memory_order_acquire) != 0;
}

/* The group's recorded failure as this thread's error. */
static bunmg_status reported(const bunmg_group *g) {
  const meeting *m = g->m;
  for (int i = 0; i < 1000 && atomic_load_explicit(&m->abort_state, memory_order_acquire) == 1; i++) {
    struct timespec t = {0, 100000};
    nanosleep(&t, NULL); /* its writer is between claiming the record and publishing it */
  }
  if (atomic_load_explicit(&m->abort_state, memory_order_acquire) != 2)
    return bunmg_fail(BUNMG_PEER_LOST, "the group of job %s failed (a rank died while recording why)", g->job);
  return bunmg_fail_at(m->abort_status, -1, m->abort_device, "%s", m->abort_message);
}

/* Records a failure that breaks the group (unless one is recorded already: the first one wins)
 * and reports the recorded one. Also removes the job's segments whose owner is gone. */
static bunmg_status group_abort(bunmg_group *g, bunmg_status status, int32_t device, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bunmg_status group_abort(bunmg_group *g, bunmg_status status, int32_t device, const char *fmt, ...) {
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
  bunmg_sweep(g->job, 0);
  return reported(g);
}

/* ---- waiting ---- */

typedef enum { AWAIT_JOINED, AWAIT_ARRIVED, AWAIT_DONE, AWAIT_FINISHED, AWAIT_COMPLETED } await_kind;

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

static void backoff(int *round) {
  if (*round < 50) sched_yield();
  else {
    struct timespec t = {0, *round < 200 ? 100000 : 1000000};
    nanosleep(&t, NULL);
  }
  (*round)++;
}

/* Waits until every other rank has reached `kind` of operation gen (JOINED, ARRIVED, DONE), or
 * rank 0 has published it (FINISHED, COMPLETED). `stage` says what the ranks are awaited to do,
 * for messages ("arrive at potrs"). */
static bunmg_status await(bunmg_group *g, await_kind kind, uint64_t gen, const char *stage) {
  int64_t start = bunmg_now_ms(), deadline = start + g->timeout_ms, checked = start;
  int from_lead = kind == AWAIT_FINISHED || kind == AWAIT_COMPLETED;
  for (int round = 0;; backoff(&round)) {
    if (aborted(g)) return reported(g);
    int32_t blocking;
    if (from_lead) {
      if (reached(g, kind, 0, gen)) return BUNMG_OK;
      /* rank 0 waits for the ranks behind: blame them first */
      blocking = first_missing(g, kind == AWAIT_FINISHED ? AWAIT_ARRIVED : AWAIT_DONE, gen);
      if (blocking < 0) blocking = 0;
    } else if ((blocking = first_missing(g, kind, gen)) < 0) {
      return BUNMG_OK;
    }
    int64_t now = bunmg_now_ms();
    if (now - checked >= LIVENESS_EVERY_MS) {
      checked = now;
      for (int32_t r = 0; r < g->size; r++) {
        char why[96];
        if (r != g->rank && gone(g, r, why, sizeof why))
          return group_abort(g, BUNMG_PEER_LOST, r, "rank %d %s; rank %d noticed while waiting for rank %d to %s (job %s)",
                             r, why, g->rank, blocking, stage, g->job);
      }
    }
    /* rank 0 running the routine is bounded by its liveness only: a solve can take minutes */
    int running = kind == AWAIT_FINISHED && atomic_load_explicit(&g->m->started, memory_order_acquire) >= gen;
    if (!running && now >= deadline)
      return group_abort(g, BUNMG_TIMEOUT, blocking, "rank %d did not %s within %lld ms (job %s)", blocking, stage,
                         (long long)g->timeout_ms, g->job);
  }
}

/* ---- join and leave ---- */

static bunmg_status create_meeting(bunmg_group *g, const char *name) {
  bunmg_sweep(NULL, 0); /* segments of dead jobs */
  bunmg_status st = bunmg_seg_create(&g->seg, name, BUNMG_SEG_MAIN, sizeof(meeting));
  if (st != BUNMG_OK) return st;
  g->m = (meeting *)g->seg.base;
  g->m->mode = g->mode;
  g->m->size = g->size;
  g->m->backend = g->local->backend;
  bunmg_seg_publish(&g->seg);
  return BUNMG_OK;
}

static bunmg_status open_meeting(bunmg_group *g, const char *name) {
  int64_t deadline = bunmg_now_ms() + g->timeout_ms;
  for (int round = 0;; backoff(&round)) {
    bunmg_status st = bunmg_seg_open(&g->seg, name, BUNMG_SEG_MAIN);
    if (st == BUNMG_OK) break;
    if (st != BUNMG_TIMEOUT) return st;
    if (bunmg_now_ms() >= deadline)
      return bunmg_fail_at(BUNMG_TIMEOUT, -1, 0, "rank 0 did not open job %s within %lld ms", g->job,
                           (long long)g->timeout_ms);
  }
  g->m = (meeting *)g->seg.base;
  const meeting *m = g->m;
  if (m->mode != g->mode || m->size != g->size || m->backend != g->local->backend)
    return group_abort(g, BUNMG_INVALID_ARGUMENT, g->rank,
                       "rank %d joined job %s in %s mode with %d ranks on the %s backend, but rank 0 in %s mode with "
                       "%d ranks on the %s backend",
                       g->rank, g->job, mode_name(g->mode), g->size, backend_name(g->local->backend),
                       mode_name(m->mode), m->size, backend_name(m->backend));
  return BUNMG_OK;
}

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

static bunmg_status join(int32_t mode, const char *job, int32_t rank, int32_t size, bunmg_mesh *local,
                         int64_t timeout_ms, bunmg_group **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group output is NULL");
  *out = NULL;
  if (mode != BUNMG_GROUP_THREADS && mode != BUNMG_GROUP_PROCESSES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown group mode %d", mode);
  if (!bunmg_job_valid(job))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "job id must be 1..%d characters of [A-Za-z0-9_-]", BUNMG_JOB_MAX);
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
  g->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  g->local = local;
  char name[BUNMG_SHM_NAME_MAX];
  snprintf(name, sizeof name, "/" BUNMG_SHM_PREFIX "%s", job);
  bunmg_status st = rank == 0 ? create_meeting(g, name) : open_meeting(g, name);
  int claimed = 0;
  if (st == BUNMG_OK) claimed = (st = take_slot(g)) == BUNMG_OK;
  if (st == BUNMG_OK) st = await(g, AWAIT_JOINED, 0, "join");
  if (rank == 0 && g->m) bunmg_seg_unlink(name); /* every rank has it mapped, or the join failed */
  if (st != BUNMG_OK) {
    if (claimed) atomic_store_explicit(&own_slot(g)->left, 1, memory_order_release);
    bunmg_seg_unmap(&g->seg);
    free(g);
    return st;
  }
  *out = g;
  return BUNMG_OK;
}

bunmg_status bunmg_group_join(int32_t mode, const char *job, int32_t rank, int32_t size, bunmg_mesh *local,
                              int64_t timeout_ms, bunmg_group **out) {
  bunmg_clear_error();
  bunmg_status st = join(mode, job, rank, size, local, timeout_ms, out);
  if (st != BUNMG_OK) bunmg_error_prefix("group_join: ");
  return st;
}

/* Unmaps and unlinks owned shard i, after the local mesh forgets it. */
static bunmg_status free_owned(bunmg_group *g, size_t i) {
  bunmg_status st = bunmg_mesh_enter(g->local, "group_free");
  if (st != BUNMG_OK) return st;
  owned_shard *o = &g->owned[i];
  bunmg_mesh_disown(g->local, 0, o->ptr);
  bunmg_mesh_leave(g->local);
  bunmg_seg_unmap(&o->seg);
  bunmg_seg_unlink(o->seg.name);
  g->owned[i] = g->owned[--g->owned_count];
  return BUNMG_OK;
}

bunmg_status bunmg_group_leave(bunmg_group *g) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_leave: group is NULL");
  atomic_store_explicit(&own_slot(g)->left, 1, memory_order_release);
  bunmg_status st = BUNMG_OK;
  if (g->world) st = bunmg_mesh_destroy(g->world);
  while (g->owned_count > 0) {
    bunmg_status freed = free_owned(g, g->owned_count - 1);
    if (freed != BUNMG_OK) { /* the local mesh is busy: still release the segment */
      owned_shard *o = &g->owned[--g->owned_count];
      bunmg_seg_unmap(&o->seg);
      bunmg_seg_unlink(o->seg.name);
      if (st == BUNMG_OK) st = freed;
    }
  }
  free(g->owned);
  bunmg_seg_unmap(&g->seg);
  free(g);
  if (st != BUNMG_OK) bunmg_error_prefix("group_leave: ");
  return st;
}

/* ---- shard memory ---- */

static bunmg_status alloc_shared(bunmg_group *g, uint64_t bytes, void **out) {
  if (g->owned_count == g->owned_cap) {
    size_t cap = g->owned_cap ? 2 * g->owned_cap : 4;
    owned_shard *grown = realloc(g->owned, cap * sizeof *grown);
    if (!grown) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
    g->owned = grown;
    g->owned_cap = cap;
  }
  char name[BUNMG_SHM_NAME_MAX];
  snprintf(name, sizeof name, "/" BUNMG_SHM_PREFIX "%s.r%d.%llu", g->job, g->rank, (unsigned long long)g->owned_seq++);
  owned_shard o;
  bunmg_status st = bunmg_seg_create(&o.seg, name, BUNMG_SEG_SHARD, SHARD_OFFSET + (size_t)(bytes ? bytes : 1));
  if (st != BUNMG_OK) return st;
  bunmg_seg_publish(&o.seg);
  o.ptr = o.seg.base + SHARD_OFFSET;
  o.bytes = (size_t)bytes;
  if ((st = bunmg_mesh_enter(g->local, "group_alloc")) == BUNMG_OK) {
    st = bunmg_mesh_adopt(g->local, 0, o.ptr, o.bytes);
    bunmg_mesh_leave(g->local);
  }
  if (st != BUNMG_OK) {
    bunmg_seg_unmap(&o.seg);
    bunmg_seg_unlink(name);
    return st;
  }
  g->owned[g->owned_count++] = o;
  *out = o.ptr;
  return BUNMG_OK;
}

bunmg_status bunmg_group_alloc(bunmg_group *g, uint64_t bytes, void **out) {
  bunmg_clear_error();
  if (!g || !out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_alloc: group or output is NULL");
  if (!shm_shards(g)) return bunmg_alloc(g->local, 0, bytes, out);
  bunmg_status st = alloc_shared(g, bytes, out);
  if (st != BUNMG_OK) bunmg_error_prefix("group_alloc: ");
  return st;
}

static ssize_t find_owned(const bunmg_group *g, const void *ptr, size_t bytes) {
  for (size_t i = 0; i < g->owned_count; i++) {
    const owned_shard *o = &g->owned[i];
    if ((const char *)ptr >= o->ptr && (const char *)ptr <= o->ptr + o->bytes &&
        bytes <= (size_t)(o->ptr + o->bytes - (const char *)ptr))
      return (ssize_t)i;
  }
  return -1;
}

bunmg_status bunmg_group_free(bunmg_group *g, void *ptr) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_free: group is NULL");
  if (!shm_shards(g)) return bunmg_free(g->local, 0, ptr);
  ssize_t i = find_owned(g, ptr, 0);
  if (i < 0 || g->owned[i].ptr != ptr)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_free: %p is not a shard from bunmg_group_alloc (double free?)", ptr);
  bunmg_status st = free_owned(g, (size_t)i);
  if (st != BUNMG_OK) bunmg_error_prefix("group_free: ");
  return st;
}

/* ---- collective routines ---- */

typedef struct call {
  int32_t op;
  const bunmg_matrix *a;
  int64_t tile, nrhs;
  int32_t flags, kind;
  uint64_t seed;
  void *data; /* b (potrs) or w (syevd): rank 0's result, copied to every rank */
  size_t data_bytes;
} call;

/* Publishes where this rank's shard is, in a form rank 0 can open. */
static bunmg_status export_shard(bunmg_group *g, void *ptr, slot *s) {
  if (g->mode == BUNMG_GROUP_THREADS) {
    s->address = (uint64_t)(uintptr_t)ptr;
    return BUNMG_OK;
  }
  if (shm_shards(g)) {
    ssize_t i = find_owned(g, ptr, s->bytes);
    if (i < 0)
      return bunmg_fail(BUNMG_INVALID_ARGUMENT, "in process mode on the host backend, the shard must come from "
                                                "bunmg_group_alloc (shared memory rank 0 can map)");
    snprintf(s->shard_name, sizeof s->shard_name, "%s", g->owned[i].seg.name);
    s->address = (uint64_t)((char *)ptr - g->owned[i].seg.base);
    return BUNMG_OK;
  }
  for (size_t i = 0; i < g->local->allocation_count; i++) { /* IPC handles name whole allocations */
    const bunmg_allocation *a = &g->local->allocations[i];
    if (!a->external && (char *)ptr >= a->ptr && (char *)ptr < a->ptr + a->bytes) {
      s->address = (uint64_t)((char *)ptr - a->ptr);
      return bunmg_ipc_export(g->local, a->ptr, s->ipc);
    }
  }
  return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the shard is not an allocation of the local mesh");
}

/* This rank's own checks of its call: what only it can see (its shard, its host arrays). */
static bunmg_status check_call(bunmg_group *g, const call *c, slot *s) {
  const bunmg_matrix *a = c->a;
  if (!a) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix is NULL");
  size_t esize = bunmg_dtype_size(a->dtype);
  if (!esize) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", a->dtype);
  if (a->rows < 1 || a->cols < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix shape %lld x %lld: both must be >= 1", (long long)a->rows,
                      (long long)a->cols);
  if (c->op != OP_FILL && a->rows != a->cols)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "matrix must be square, got %lld x %lld", (long long)a->rows,
                      (long long)a->cols);
  if (a->layout != BUNMG_LAYOUT_ROWS) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the shard must be in row layout");
  int64_t need = bunmg_shard_rows(a->rows, g->size);
  if (c->op != OP_FILL) {
    bunmg_status st = bunmg_shard_capacity(a->rows, c->tile, g->size, &need);
    if (st != BUNMG_OK) return st;
  }
  if (a->capacity < need)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "shard capacity %lld rows is below the %lld rows needed for N = %lld, tile %lld over %d ranks "
                      "(bunmg_shard_capacity)",
                      (long long)a->capacity, (long long)need, (long long)a->rows, (long long)c->tile, g->size);
  if ((c->op == OP_POTRS || c->op == OP_SYEVD) && !c->data)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s output is NULL", c->op == OP_POTRS ? "B" : "eigenvalue");
  if (c->op == OP_POTRS && c->nrhs < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be >= 1, got %lld", (long long)c->nrhs);
  s->bytes = (uint64_t)a->capacity * (uint64_t)a->cols * esize;
  bunmg_status st = bunmg_mesh_enter(g->local, "group");
  if (st != BUNMG_OK) return st;
  st = bunmg_mesh_check_range(g->local, 0, a->shards[0], (size_t)s->bytes, "this rank's shard");
  if (st == BUNMG_OK) st = export_shard(g, a->shards[0], s);
  bunmg_mesh_leave(g->local);
  return st;
}

/* Writes this rank's call into its slot, with the outcome of its own checks. */
static void describe_call(bunmg_group *g, const call *c, slot *s) {
  const bunmg_matrix *a = c->a;
  s->op = c->op;
  s->dtype = a ? a->dtype : -1;
  s->rows = a ? a->rows : 0;
  s->cols = a ? a->cols : 0;
  s->capacity = a ? a->capacity : 0;
  s->flags = c->flags;
  s->kind = c->kind;
  s->tile = c->tile;
  s->nrhs = c->nrhs;
  s->seed = c->seed;
  s->status = check_call(g, c, s);
  snprintf(s->message, sizeof s->message, "%s", s->status == BUNMG_OK ? "" : bunmg_last_error());
}

static void call_text(const slot *s, char *out, size_t len) {
  snprintf(out, len, "%s of a %lld x %lld %s matrix (tile %lld, nrhs %lld, flags %d, kind %d, seed %llu)",
           op_names[s->op], (long long)s->rows, (long long)s->cols, bunmg_dtype_name(s->dtype), (long long)s->tile,
           (long long)s->nrhs, s->flags, s->kind, (unsigned long long)s->seed);
}

/* Rank 0: every rank's checks passed and every rank made the same call. */
static bunmg_status check_calls(const bunmg_group *g) {
  const slot *first = &g->m->slots[0];
  for (int32_t r = 0; r < g->size; r++) {
    const slot *s = &g->m->slots[r];
    if (s->status != BUNMG_OK) return bunmg_fail_at(s->status, -1, r, "rank %d: %s", r, s->message);
  }
  for (int32_t r = 1; r < g->size; r++) {
    const slot *s = &g->m->slots[r];
    if (s->op != first->op || s->rows != first->rows || s->cols != first->cols || s->dtype != first->dtype ||
        s->tile != first->tile || s->nrhs != first->nrhs || s->flags != first->flags || s->kind != first->kind ||
        s->seed != first->seed) {
      char mine[256], theirs[256];
      call_text(s, theirs, sizeof theirs);
      call_text(first, mine, sizeof mine);
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, r, "rank %d called %s, but rank 0 %s", r, theirs, mine);
    }
  }
  return BUNMG_OK;
}

static bunmg_status world_mesh(bunmg_group *g) {
  if (g->world) return BUNMG_OK;
  int32_t ids[BUNMG_MAX_DEVICES];
  for (int32_t r = 0; r < g->size; r++)
    ids[r] = g->local->backend == BUNMG_BACKEND_HOST ? r : g->m->slots[r].device_id;
  return bunmg_mesh_create(g->local->backend, g->size, ids, &g->world);
}

/* A peer's shard opened in this process. */
typedef struct opened {
  bunmg_seg seg; /* host, processes */
  void *ipc;     /* CUDA, processes: the allocation's base here */
  void *ptr;     /* adopted into the world mesh */
} opened;

static bunmg_status open_shard(bunmg_group *g, const call *c, int32_t r, size_t bytes, opened *o) {
  const slot *s = &g->m->slots[r];
  char *ptr;
  if (r == 0) ptr = c->a->shards[0];
  else if (g->mode == BUNMG_GROUP_THREADS) ptr = (char *)(uintptr_t)s->address;
  else if (shm_shards(g)) {
    bunmg_status st = bunmg_seg_open(&o->seg, s->shard_name, BUNMG_SEG_SHARD);
    if (st == BUNMG_TIMEOUT)
      return bunmg_fail_at(BUNMG_PEER_LOST, -1, r, "rank %d's shard segment %s is gone", r, s->shard_name);
    if (st != BUNMG_OK) return st;
    if (s->address + bytes > o->seg.bytes)
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, r, "rank %d's shard overruns its segment %s", r, s->shard_name);
    ptr = o->seg.base + s->address;
  } else {
    bunmg_status st = bunmg_ipc_open(g->world, r, s->ipc, &o->ipc);
    if (st != BUNMG_OK) return st;
    ptr = (char *)o->ipc + s->address;
  }
  bunmg_status st = bunmg_mesh_adopt(g->world, r, ptr, bytes);
  if (st == BUNMG_OK) o->ptr = ptr;
  return st;
}

static void close_shard(bunmg_group *g, int32_t r, opened *o) {
  if (o->ptr) bunmg_mesh_disown(g->world, r, o->ptr);
  bunmg_seg_unmap(&o->seg);
  bunmg_ipc_close(g->world, r, o->ipc);
}

/* Rank 0 runs the routines' own entry points over the world mesh; potrs keeps A, so every rank
 * gets its rows back unchanged. */
static bunmg_status run_routine(bunmg_mesh *world, bunmg_matrix *a, const call *c) {
  bunmg_options options = {c->tile, BUNMG_PATH_AUTO, 1, BUNMG_PATH_AUTO, 1};
  switch (c->op) {
    case OP_FILL: return bunmg_fill_random(world, a, c->kind, c->seed);
    case OP_POTRS: return bunmg_potrs(world, a, c->data, c->nrhs, &options);
    case OP_POTRI: return bunmg_potri(world, a, &options);
    default: return bunmg_syevd(world, a, c->flags, c->data, &options);
  }
}

/* Rank 0: the routine over every rank's shard. */
static bunmg_status run_world(bunmg_group *g, const call *c) {
  bunmg_status st = world_mesh(g);
  if (st != BUNMG_OK) return st;
  bunmg_matrix a = *c->a;
  memset(a.shards, 0, sizeof a.shards);
  a.tile = 0;
  for (int32_t r = 1; r < g->size; r++)
    if (g->m->slots[r].capacity < a.capacity) a.capacity = g->m->slots[r].capacity;
  size_t bytes = (size_t)a.capacity * (size_t)a.cols * bunmg_dtype_size(a.dtype);
  opened o[BUNMG_MAX_DEVICES];
  memset(o, 0, sizeof o);
  for (int32_t r = 0; r < g->size && st == BUNMG_OK; r++)
    if ((st = open_shard(g, c, r, bytes, &o[r])) == BUNMG_OK) a.shards[r] = o[r].ptr;
  if (st == BUNMG_OK) st = run_routine(g->world, &a, c);
  for (int32_t r = 0; r < g->size; r++) close_shard(g, r, &o[r]);
  return st;
}

static void data_name(const bunmg_group *g, uint64_t gen, char *out, size_t len) {
  snprintf(out, len, "/" BUNMG_SHM_PREFIX "%s.o%llu", g->job, (unsigned long long)gen);
}

static bunmg_status lead(bunmg_group *g, const call *c, uint64_t gen, const char *arrive, const char *take) {
  meeting *m = g->m;
  bunmg_status st = await(g, AWAIT_ARRIVED, gen, arrive);
  if (st != BUNMG_OK) return st;
  atomic_store_explicit(&m->started, gen, memory_order_release);
  st = check_calls(g);
  if (st == BUNMG_OK) st = run_world(g, c);
  bunmg_seg data = {0};
  if (st == BUNMG_OK && g->size > 1 && c->data_bytes > 0) {
    char name[BUNMG_SHM_NAME_MAX];
    data_name(g, gen, name, sizeof name);
    if ((st = bunmg_seg_create(&data, name, BUNMG_SEG_DATA, DATA_OFFSET + c->data_bytes)) == BUNMG_OK) {
      memcpy(data.base + DATA_OFFSET, c->data, c->data_bytes);
      bunmg_seg_publish(&data);
    }
  }
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", op_names[c->op]);
  m->status = st;
  bunmg_last_error_detail(&m->index, &m->device);
  snprintf(m->message, sizeof m->message, "%s", st == BUNMG_OK ? "" : bunmg_last_error());
  atomic_store_explicit(&m->finished, gen, memory_order_release);
  bunmg_status waited = await(g, AWAIT_DONE, gen, take);
  if (data.base) {
    bunmg_seg_unmap(&data);
    bunmg_seg_unlink(data.name);
  }
  if (waited != BUNMG_OK) return waited;
  atomic_store_explicit(&m->completed, gen, memory_order_release);
  return st == BUNMG_OK ? BUNMG_OK : bunmg_fail_at(st, m->index, m->device, "%s", m->message);
}

static bunmg_status follow(bunmg_group *g, const call *c, uint64_t gen, const char *arrive, const char *take) {
  const meeting *m = g->m;
  bunmg_status st = await(g, AWAIT_FINISHED, gen, arrive);
  if (st != BUNMG_OK) return st;
  bunmg_status copied = BUNMG_OK;
  if (m->status == BUNMG_OK && c->data_bytes > 0) {
    char name[BUNMG_SHM_NAME_MAX];
    bunmg_seg data;
    data_name(g, gen, name, sizeof name);
    copied = bunmg_seg_open(&data, name, BUNMG_SEG_DATA);
    if (copied == BUNMG_TIMEOUT) copied = bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "the result segment %s is gone", name);
    else if (copied == BUNMG_OK && data.bytes < DATA_OFFSET + c->data_bytes)
      copied = bunmg_fail(BUNMG_INVALID_ARGUMENT, "the result segment %s is too small", name);
    if (copied == BUNMG_OK) memcpy(c->data, data.base + DATA_OFFSET, c->data_bytes);
    bunmg_seg_unmap(&data);
  }
  atomic_store_explicit(&own_slot(g)->done, gen, memory_order_release);
  if ((st = await(g, AWAIT_COMPLETED, gen, take)) != BUNMG_OK) return st;
  if (m->status != BUNMG_OK) return bunmg_fail_at(m->status, m->index, m->device, "%s", m->message);
  if (copied != BUNMG_OK) bunmg_error_prefix("%s: ", op_names[c->op]);
  return copied;
}

static bunmg_status collective(bunmg_group *g, call *c) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_%s: group is NULL", op_names[c->op]);
  if (aborted(g)) return reported(g);
  if (c->a && bunmg_dtype_size(c->a->dtype)) {
    size_t esize = c->op == OP_SYEVD ? bunmg_dtype_real_size(c->a->dtype) : bunmg_dtype_size(c->a->dtype);
    int64_t count = c->op == OP_POTRS ? c->a->rows * (c->nrhs > 0 ? c->nrhs : 0) : c->op == OP_SYEVD ? c->a->rows : 0;
    c->data_bytes = (size_t)count * esize;
  }
  uint64_t gen = ++g->gen;
  slot *s = own_slot(g);
  describe_call(g, c, s);
  atomic_store_explicit(&s->arrived, gen, memory_order_release);
  char arrive[64], take[64];
  snprintf(arrive, sizeof arrive, "arrive at %s", op_names[c->op]);
  snprintf(take, sizeof take, "take the result of %s", op_names[c->op]);
  return g->rank == 0 ? lead(g, c, gen, arrive, take) : follow(g, c, gen, arrive, take);
}

bunmg_status bunmg_group_fill_random(bunmg_group *group, const bunmg_matrix *local, int32_t kind, uint64_t seed) {
  call c = {.op = OP_FILL, .a = local, .kind = kind, .seed = seed};
  return collective(group, &c);
}

bunmg_status bunmg_group_potrs(bunmg_group *group, const bunmg_matrix *local, int64_t tile, void *b, int64_t nrhs) {
  call c = {.op = OP_POTRS, .a = local, .tile = tile, .nrhs = nrhs, .data = b};
  return collective(group, &c);
}

bunmg_status bunmg_group_potri(bunmg_group *group, const bunmg_matrix *local, int64_t tile) {
  call c = {.op = OP_POTRI, .a = local, .tile = tile};
  return collective(group, &c);
}

bunmg_status bunmg_group_syevd(bunmg_group *group, const bunmg_matrix *local, int64_t tile, int32_t flags, void *w) {
  call c = {.op = OP_SYEVD, .a = local, .tile = tile, .flags = flags, .data = w};
  return collective(group, &c);
}
