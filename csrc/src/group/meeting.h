/* A group: its meeting segment (every rank's slot, the abort record), its handle, and the waits
 * for other ranks (meeting.c); group.c runs the shard memory and the collective routines on it. */
#ifndef BUNMG_MEETING_H
#define BUNMG_MEETING_H

#include <stdatomic.h>
#include <stdint.h>

#include "group/ipc.h"
#include "group/shm.h"

#define MESSAGE_MAX 1024
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
  bunmg_seg_head seg; /* seg.launch: the launch of every rank that may join */
  int32_t mode, size, backend, reserved;
  uint64_t id; /* random: names the job's other segments, apart from another launch's */
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
  uint64_t launch; /* bunmg_launch_of(secret) */
  uint64_t id;     /* the meeting's */
  int64_t timeout_ms;
  bunmg_mesh *local;
  bunmg_seg seg;
  meeting *m;
  uint64_t gen;
  bunmg_mesh *world; /* rank 0: a position per rank, created by the first routine */
  owned_shard *owned; /* host backend, processes: shards in shared memory */
  size_t owned_count, owned_cap;
  uint64_t owned_seq;
  int64_t grid_fault[3]; /* bunmg_grid_debug_inject's, for the next grid redistribution: kind, at, index */
};

static inline slot *own_slot(const bunmg_group *g) { return &g->m->slots[g->rank]; }

/* ---- meeting.c ---- */

/* 1 once the group is broken (a failure is recorded). */
int bunmg_group_aborted(const bunmg_group *g);
/* The group's recorded failure as this thread's error. */
bunmg_status bunmg_group_reported(const bunmg_group *g);
/* Records a failure that breaks the group (unless one is recorded already: the first one wins)
 * and reports the recorded one. Also removes the job's segments whose owner is gone. */
bunmg_status bunmg_group_abort(bunmg_group *g, bunmg_status status, int32_t device, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Names a segment this rank made. Its name holds the meeting's id, so a live holder is a bug. */
bunmg_status bunmg_group_publish(bunmg_seg *seg, const char *name);

/* What one look at a wait's condition saw besides its answer. */
typedef enum {
  BUNMG_WAIT_STUCK,    /* nothing moved */
  BUNMG_WAIT_MOVED,    /* something moved: the timeout starts again */
  BUNMG_WAIT_UNBOUNDED /* the wait is bounded by liveness only, for now */
} bunmg_wait_state;
/* One look: -1 once the wait is over, else the rank it waits for (the one a timeout names). */
typedef int32_t (*bunmg_group_look)(bunmg_group *g, void *ctx, bunmg_wait_state *state);
/* Polls look until it says the wait is over: OK; or the group's recorded failure, PEER_LOST when
 * a rank is gone, TIMEOUT (naming look's rank) after the group's timeout without a move. `stage`
 * says what the rank waited for is awaited to do, for messages ("arrive at potrs"). */
bunmg_status bunmg_group_wait(bunmg_group *g, bunmg_group_look look, void *ctx, const char *stage);

typedef enum { AWAIT_JOINED, AWAIT_ARRIVED, AWAIT_DONE, AWAIT_FINISHED, AWAIT_COMPLETED } await_kind;

/* Waits until every other rank has reached `kind` of operation gen (JOINED, ARRIVED, DONE), or
 * rank 0 has published it (FINISHED, COMPLETED). `stage` says what the ranks are awaited to do,
 * for messages ("arrive at potrs"). */
bunmg_status bunmg_group_await(bunmg_group *g, await_kind kind, uint64_t gen, const char *stage);

#endif
