/* Redistribution plans: the permutation from row shards to the cyclic layout, as jobs of moves. */
#ifndef BUNMG_PLAN_H
#define BUNMG_PLAN_H

#include "core/internal.h"

/* A cycle or an open chain: moves that must run in order, on one lane. */
typedef struct bunmg_job {
  int64_t first_move, move_count;
  int32_t lane;
  int32_t kind; /* BUNMG_JOB_* */
} bunmg_job;

/* Shift jobs (each shard moved up by its offset) run, and finish, before chains and cycles. */
enum { BUNMG_JOB_SHIFT = 0, BUNMG_JOB_CHAIN = 1, BUNMG_JOB_CYCLE = 2 };

struct bunmg_plan {
  int64_t rows, tile;
  int32_t ndev, lanes_per_device;
  bunmg_plan_summary summary;
  bunmg_move *moves; /* forward direction; dev -1 = the job's lane staging buffer */
  int64_t move_count;
  bunmg_job *jobs; /* shift jobs first */
  int64_t job_count;
  int64_t *lane_staging_rows; /* per lane (ndev * lanes_per_device) */
};

bunmg_status bunmg_plan_build(int64_t rows, int64_t tile, int32_t ndev, int32_t lanes_per_device,
                              bunmg_plan **out);
/* The i-th move of a job run forward (reverse = 0) or backward (reverse = 1: the moves in
 * opposite order with source and destination swapped, which undoes the forward run). */
bunmg_move bunmg_job_move(const bunmg_plan *plan, const bunmg_job *job, int64_t i, int reverse);

#endif
