/* The shared-memory transport of grid redistributions between the ranks of a group on one node
 * (shm_transport.c), and the segment of one redistribution it runs over (grid_group.c makes,
 * joins and checks it):
 *   /bunmg-<job>.<id>.g<gen>: struct shm_exchange, a shm_member per rank, then a ring per
 *   ordered pair of ranks (bunmg_shm_ring_bytes each). */
#ifndef BUNMG_MP_SHM_TRANSPORT_H
#define BUNMG_MP_SHM_TRANSPORT_H

#include "group/meeting.h"
#include "mp/grid_exec.h"

#define SHM_MESSAGE_BYTES 512

/* What a rank calls: the plan's grid, lanes and summary, its element size and flags. */
typedef struct grid_call {
  bunmg_grid grid;
  int32_t lanes, element_bytes, flags, reserved;
  bunmg_grid_plan_summary summary;
} grid_call;

typedef struct shm_member {
  _Atomic uint64_t agreements; /* agreements it has voted in */
  int32_t vote[2];             /* its status in agreement k, at k % 2 */
  _Atomic int32_t waiting_for; /* the rank it waits for, -1 when none */
  int32_t reserved;
  char message[SHM_MESSAGE_BYTES]; /* why its call failed its checks (agreement 0) */
} __attribute__((aligned(64))) shm_member;

typedef struct shm_exchange {
  bunmg_seg_head seg;
  int32_t ranks;
  int32_t call_valid; /* rank 0's call passed its own checks: the one to compare with */
  uint64_t ring_bytes;
  grid_call call;         /* rank 0's */
  shm_member members[];   /* then the rings */
} shm_exchange;

typedef struct shm_pending shm_pending;

/* One rank's side of one redistribution. */
typedef struct shm_rank {
  bunmg_group *g;
  bunmg_seg seg;
  shm_exchange *x;     /* the mapped segment */
  int32_t rank, ranks;
  uint64_t ring;       /* bytes of each ring */
  uint64_t agreements; /* the next agreement's number */
  int64_t moves;       /* copies, sends and receives so far */
  int64_t fault[3];    /* bunmg_grid_debug_inject's: kind, at, index */
  shm_pending *posted;
  int64_t nposted, capposted;
  bunmg_status late; /* a message that did not match its receive, reported by complete */
  char late_message[256];
} shm_rank;

/* Bytes of each ring between two of `ranks` ranks (0 for one rank), and of the whole segment. */
uint64_t bunmg_shm_ring_bytes(int32_t ranks);
size_t bunmg_shm_segment_bytes(int32_t ranks, uint64_t ring_bytes);
/* Room for the sends and receives of one round of a plan with `lanes` lanes per rank. */
bunmg_status bunmg_shm_prepare(shm_rank *c, int32_t lanes);
/* Unmaps the segment and frees what bunmg_shm_prepare took. */
void bunmg_shm_release(shm_rank *c);
/* The armed fault, if this is where it fires (once): DIE and STALL act here, FAIL returns
 * DEVICE_ERROR. */
bunmg_status bunmg_shm_inject(shm_rank *c, int32_t at, int64_t index);
/* The transport over c's mapped segment. */
bunmg_grid_transport bunmg_shm_transport(shm_rank *c, int agree_every_round);

#endif
