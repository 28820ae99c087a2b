/* Groups: ranks (threads or processes), one device each, meet in a shared-memory segment
 * (meeting.c) and run the sharded routines together; rank 0 runs them with every rank's shard.
 *
 * One collective routine, operation number `gen` (every rank counts its calls), runs as:
 *   every rank  writes its call into its slot (arguments checked, shard exported), arrived = gen
 *   rank 0      waits for every arrived >= gen, started = gen; checks the calls agree; opens the
 *               peers' shards (address / IPC handle / shm segment) into its `world` mesh, runs
 *               the routine, closes them; puts X or the eigenvalues in /bunmg-<job>.<id>.o<gen>;
 *               publishes status and message, finished = gen
 *   the others  wait for finished >= gen, copy the small result, done = gen
 *   rank 0      waits for every done >= gen, unlinks the result segment, completed = gen
 *   the others  wait for completed >= gen: all return the same status, or all fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/meeting.h"

#define SHARD_OFFSET 4096 /* a host shard's data starts a page into its segment, after the head */
#define DATA_OFFSET 64    /* a result's data starts after the segment head */

enum { OP_FILL = 1, OP_POTRS = 2, OP_POTRI = 3, OP_SYEVD = 4 };
static const char *const op_names[] = {"", "fill_random", "potrs", "potri", "syevd"};

static int shm_shards(const bunmg_group *g) {
  return g->mode == BUNMG_GROUP_PROCESSES && g->local->backend == BUNMG_BACKEND_HOST;
}

/* Unmaps and unlinks owned shard i, after the local mesh forgets it. */
static bunmg_status free_owned(bunmg_group *g, size_t i) {
  bunmg_status st = bunmg_mesh_enter(g->local, "group_free");
  if (st != BUNMG_OK) return st;
  owned_shard *o = &g->owned[i];
  bunmg_mesh_disown(g->local, 0, o->ptr);
  bunmg_mesh_leave(g->local);
  bunmg_seg_unmap(&o->seg);
  bunmg_seg_unlink(&o->seg);
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
      bunmg_seg_unlink(&o->seg);
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
  snprintf(name, sizeof name, "/" BUNMG_SHM_PREFIX "%s.%016llx.r%d.%llu", g->job, (unsigned long long)g->id, g->rank,
           (unsigned long long)g->owned_seq++);
  owned_shard o;
  bunmg_status st = bunmg_seg_create(&o.seg, BUNMG_SEG_SHARD, SHARD_OFFSET + (size_t)(bytes ? bytes : 1), g->launch);
  if (st == BUNMG_OK) st = bunmg_group_publish(&o.seg, name);
  if (st != BUNMG_OK) {
    bunmg_seg_unmap(&o.seg);
    return st;
  }
  o.ptr = o.seg.base + SHARD_OFFSET;
  o.bytes = (size_t)bytes;
  if ((st = bunmg_mesh_enter(g->local, "group_alloc")) == BUNMG_OK) {
    st = bunmg_mesh_adopt(g->local, 0, o.ptr, o.bytes);
    bunmg_mesh_leave(g->local);
  }
  if (st != BUNMG_OK) {
    bunmg_seg_unlink(&o.seg);
    bunmg_seg_unmap(&o.seg);
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
    char name[BUNMG_SHM_NAME_MAX]; /* the peer's text, terminated here whatever it wrote */
    snprintf(name, sizeof name, "%.*s", (int)sizeof s->shard_name - 1, s->shard_name);
    bunmg_status st = bunmg_seg_open(&o->seg, name, BUNMG_SEG_SHARD);
    if (st == BUNMG_TIMEOUT) return bunmg_fail_at(BUNMG_PEER_LOST, -1, r, "rank %d's shard segment %s is gone", r, name);
    if (st != BUNMG_OK) return st;
    if (s->address + bytes > o->seg.bytes)
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, r, "rank %d's shard overruns its segment %s", r, name);
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
  snprintf(out, len, "/" BUNMG_SHM_PREFIX "%s.%016llx.o%llu", g->job, (unsigned long long)g->id,
           (unsigned long long)gen);
}

static bunmg_status lead(bunmg_group *g, const call *c, uint64_t gen, const char *arrive, const char *take) {
  meeting *m = g->m;
  bunmg_status st = bunmg_group_await(g, AWAIT_ARRIVED, gen, arrive);
  if (st != BUNMG_OK) return st;
  atomic_store_explicit(&m->started, gen, memory_order_release);
  st = check_calls(g);
  if (st == BUNMG_OK) st = run_world(g, c);
  bunmg_seg data = {0};
  if (st == BUNMG_OK && g->size > 1 && c->data_bytes > 0) {
    char name[BUNMG_SHM_NAME_MAX];
    data_name(g, gen, name, sizeof name);
    if ((st = bunmg_seg_create(&data, BUNMG_SEG_DATA, DATA_OFFSET + c->data_bytes, g->launch)) == BUNMG_OK) {
      memcpy(data.base + DATA_OFFSET, c->data, c->data_bytes);
      st = bunmg_group_publish(&data, name);
    }
  }
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", op_names[c->op]);
  m->status = st;
  bunmg_last_error_detail(&m->index, &m->device);
  snprintf(m->message, sizeof m->message, "%s", st == BUNMG_OK ? "" : bunmg_last_error());
  atomic_store_explicit(&m->finished, gen, memory_order_release);
  bunmg_status waited = bunmg_group_await(g, AWAIT_DONE, gen, take);
  bunmg_seg_unlink(&data);
  bunmg_seg_unmap(&data);
  if (waited != BUNMG_OK) return waited;
  atomic_store_explicit(&m->completed, gen, memory_order_release);
  return st == BUNMG_OK ? BUNMG_OK : bunmg_fail_at(st, m->index, m->device, "%s", m->message);
}

static bunmg_status follow(bunmg_group *g, const call *c, uint64_t gen, const char *arrive, const char *take) {
  const meeting *m = g->m;
  bunmg_status st = bunmg_group_await(g, AWAIT_FINISHED, gen, arrive);
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
  if ((st = bunmg_group_await(g, AWAIT_COMPLETED, gen, take)) != BUNMG_OK) return st;
  if (m->status != BUNMG_OK) return bunmg_fail_at(m->status, m->index, m->device, "%s", m->message);
  if (copied != BUNMG_OK) bunmg_error_prefix("%s: ", op_names[c->op]);
  return copied;
}

static bunmg_status collective(bunmg_group *g, call *c) {
  bunmg_clear_error();
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "group_%s: group is NULL", op_names[c->op]);
  if (bunmg_group_aborted(g)) return bunmg_group_reported(g);
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
