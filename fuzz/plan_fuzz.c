/* Fuzzes the redistribution planner through the public ABI (bunmg_plan_create and friends).
 *
 * Wild inputs (any int64 rows / tile, any device and lane counts) must give a plan or a status,
 * never a crash. For every plan made, the moves are run on a model of the shards (each slot holds
 * the global row id that sits there) and checked:
 *  - every move is in range (device, rows within the shard capacity or the stated staging), reads
 *    slots that hold data not yet moved away, moves a contiguous run of global rows, and does not
 *    overlap its own source;
 *  - shift jobs come first; the other jobs touch pairwise disjoint shard slots (they run
 *    concurrently on different lanes);
 *  - the forward run ends in the cyclic layout, and running the jobs backward (what the executor
 *    does to return, or to roll back) ends in the row layout again;
 *  - the summary agrees with the moves (copies, rows copied, capacity, staging bound). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bunmg.h"
#include "fuzz_input.h"

#define EMPTY (-1)
#define MOVED (-2) /* the data was copied away and the slot is free to be overwritten */

typedef struct model {
  int64_t rows, tile, cap, s, staging_rows;
  int32_t ndev;
  int64_t *slot;    /* ndev * cap: global row id, EMPTY or MOVED */
  int64_t *owner;   /* ndev * cap: the non-shift job that touched the slot, or -1 */
  int64_t *staging; /* staging_rows: the current job's staging buffer */
} model;

static int64_t *at(model *m, int32_t dev, int64_t row) { return &m->slot[(int64_t)dev * m->cap + row]; }

/* The slots of one side of a move: a shard range or the staging buffer. */
static int64_t *side(model *m, const bunmg_move *mv, int32_t dev, int64_t row, const char *what, int64_t k) {
  if (dev == -1) {
    FUZZ_CHECK(row >= 0 && row + mv->rows <= m->staging_rows,
               "move %lld: %s staging rows [%lld, %lld) beyond the stated %lld", (long long)k, what, (long long)row,
               (long long)(row + mv->rows), (long long)m->staging_rows);
    return &m->staging[row];
  }
  FUZZ_CHECK(dev >= 0 && dev < m->ndev, "move %lld: %s device %d out of range", (long long)k, what, dev);
  FUZZ_CHECK(row >= 0 && row + mv->rows <= m->cap, "move %lld: %s rows [%lld, %lld) beyond the capacity %lld",
             (long long)k, what, (long long)row, (long long)(row + mv->rows), (long long)m->cap);
  return at(m, dev, row);
}

static void claim(model *m, int32_t dev, int64_t row, int64_t rows, int64_t job, int64_t k) {
  if (dev < 0) return;
  for (int64_t i = 0; i < rows; i++) {
    int64_t *o = &m->owner[(int64_t)dev * m->cap + row + i];
    FUZZ_CHECK(*o == -1 || *o == job, "move %lld: job %lld touches device %d row %lld, which job %lld touches too",
               (long long)k, (long long)job, dev, (long long)(row + i), (long long)*o);
    *o = job;
  }
}

/* Applies one move (already oriented for the direction run). */
static void apply(model *m, const bunmg_move *mv, int64_t job, int concurrent, int64_t k) {
  FUZZ_CHECK(mv->rows >= 1, "move %lld: %lld rows", (long long)k, (long long)mv->rows);
  FUZZ_CHECK(mv->src_dev != -1 || mv->dst_dev != -1, "move %lld: staging to staging", (long long)k);
  int64_t *src = side(m, mv, mv->src_dev, mv->src_row, "source", k);
  int64_t *dst = side(m, mv, mv->dst_dev, mv->dst_row, "destination", k);
  if (mv->src_dev == mv->dst_dev)
    FUZZ_CHECK(mv->src_row + mv->rows <= mv->dst_row || mv->dst_row + mv->rows <= mv->src_row,
               "move %lld: source and destination overlap", (long long)k);
  for (int64_t i = 0; i < mv->rows; i++) {
    FUZZ_CHECK(src[i] >= 0, "move %lld: reads a slot that holds %s", (long long)k,
               src[i] == EMPTY ? "no row" : "a row already moved away");
    FUZZ_CHECK(src[i] == src[0] + i, "move %lld: not a contiguous run of rows", (long long)k);
  }
  if (concurrent) {
    claim(m, mv->src_dev, mv->src_row, mv->rows, job, k);
    claim(m, mv->dst_dev, mv->dst_row, mv->rows, job, k);
  }
  memcpy(dst, src, sizeof(int64_t) * (size_t)mv->rows);
  for (int64_t i = 0; i < mv->rows; i++) src[i] = MOVED;
}

static void cyclic_locate(const model *m, int64_t j, int32_t *dev, int64_t *local) {
  int64_t k = j / m->tile;
  *dev = (int32_t)(k % m->ndev);
  *local = (k / m->ndev) * m->tile + j % m->tile;
}

static void expect_rows(model *m, const char *when) {
  for (int64_t j = 0; j < m->rows; j++)
    FUZZ_CHECK(*at(m, (int32_t)(j / m->s), j % m->s) == j, "%s: row %lld is not at its row-layout slot", when,
               (long long)j);
}

static void expect_cyclic(model *m) {
  for (int64_t j = 0; j < m->rows; j++) {
    int32_t d;
    int64_t l;
    cyclic_locate(m, j, &d, &l);
    FUZZ_CHECK(l < m->cap, "row %lld: cyclic slot %lld beyond the capacity %lld", (long long)j, (long long)l,
               (long long)m->cap);
    FUZZ_CHECK(*at(m, d, l) == j, "forward run: row %lld is not at its cyclic slot (device %d, row %lld)",
               (long long)j, d, (long long)l);
  }
}

/* Job boundaries: moves of one job are consecutive and jobs are numbered in order. */
static void check_jobs(const bunmg_move *moves, int64_t count, int64_t shifts) {
  for (int64_t k = 1; k < count; k++)
    FUZZ_CHECK(moves[k].cycle == moves[k - 1].cycle || moves[k].cycle == moves[k - 1].cycle + 1,
               "move %lld: job %lld follows job %lld", (long long)k, (long long)moves[k].cycle,
               (long long)moves[k - 1].cycle);
  if (count > 0) FUZZ_CHECK(moves[0].cycle == 0, "the first job is %lld", (long long)moves[0].cycle);
  for (int64_t k = 0; k < count && moves[k].cycle < shifts; k++)
    FUZZ_CHECK(moves[k].src_dev == moves[k].dst_dev || moves[k].src_dev == -1 || moves[k].dst_dev == -1,
               "shift move %lld crosses devices", (long long)k);
}

static void run_plan(model *m, const bunmg_move *moves, int64_t count, int64_t shifts, int reverse) {
  for (int64_t i = 0; i < m->staging_rows; i++) m->staging[i] = EMPTY;
  for (int64_t i = 0; i < (int64_t)m->ndev * m->cap; i++) m->owner[i] = -1;
  int64_t job = -1;
  for (int64_t i = 0; i < count; i++) {
    int64_t k = reverse ? count - 1 - i : i;
    bunmg_move mv = moves[k];
    if (mv.cycle != job) {
      job = mv.cycle;
      for (int64_t r = 0; r < m->staging_rows; r++) FUZZ_CHECK(m->staging[r] < 0 || m->staging[r] == MOVED, "job %lld left rows in staging", (long long)job);
      for (int64_t r = 0; r < m->staging_rows; r++) m->staging[r] = EMPTY;
    }
    if (reverse) mv = (bunmg_move){mv.cycle, mv.dst_dev, mv.src_dev, mv.dst_row, mv.src_row, mv.rows};
    apply(m, &mv, mv.cycle, mv.cycle >= shifts, k);
  }
}

static void validate(int64_t rows, int64_t tile, int32_t ndev, int32_t lanes, bunmg_plan *plan) {
  bunmg_plan_summary sum;
  FUZZ_CHECK(bunmg_plan_get_summary(plan, &sum) == BUNMG_OK, "get_summary failed: %s", bunmg_last_error());
  int64_t cap = 0, count = -1;
  FUZZ_CHECK(bunmg_shard_capacity(rows, tile, ndev, &cap) == BUNMG_OK, "shard_capacity failed after a plan");
  FUZZ_CHECK(sum.capacity == cap, "summary capacity %lld, shard_capacity %lld", (long long)sum.capacity, (long long)cap);
  int64_t s = (rows + ndev - 1) / ndev;
  /* slack: at most a tile per device beyond the row shard, and room for the cyclic share */
  FUZZ_CHECK(cap >= s && cap <= s + tile, "capacity %lld outside [%lld, %lld]", (long long)cap, (long long)s, (long long)(s + tile));
  FUZZ_CHECK(bunmg_plan_get_moves(plan, NULL, 0, &count) == BUNMG_OK, "get_moves(count only) failed");
  FUZZ_CHECK(count == sum.copies, "%lld moves, summary says %lld copies", (long long)count, (long long)sum.copies);
  FUZZ_CHECK(sum.staging_rows >= 0 && sum.staging_rows <= (int64_t)lanes * tile,
             "staging %lld rows, more than lanes * tile = %lld", (long long)sum.staging_rows, (long long)lanes * tile);
  FUZZ_CHECK(sum.largest_piece <= tile && sum.pieces >= 1 && sum.fixed <= sum.pieces, "summary pieces inconsistent");
  FUZZ_CHECK(sum.shifts >= 0 && sum.shifts <= ndev, "%lld shifts", (long long)sum.shifts);

  bunmg_move *moves = malloc(sizeof *moves * (size_t)(count > 0 ? count : 1));
  model m = {rows, tile, cap, s, sum.staging_rows, ndev, NULL, NULL, NULL};
  m.slot = malloc(sizeof(int64_t) * (size_t)(ndev * cap));
  m.owner = malloc(sizeof(int64_t) * (size_t)(ndev * cap));
  m.staging = malloc(sizeof(int64_t) * (size_t)(sum.staging_rows + 1));
  FUZZ_CHECK(moves && m.slot && m.owner && m.staging, "harness out of memory");
  int64_t got = -1;
  FUZZ_CHECK(bunmg_plan_get_moves(plan, moves, count, &got) == BUNMG_OK && got == count, "get_moves failed");
  int64_t copied = 0, jobs = 0;
  for (int64_t k = 0; k < count; k++) {
    copied += moves[k].rows;
    if (k == 0 || moves[k].cycle != moves[k - 1].cycle) jobs++;
  }
  FUZZ_CHECK(copied == sum.rows_cross + sum.rows_local, "rows copied %lld, summary %lld + %lld", (long long)copied,
             (long long)sum.rows_cross, (long long)sum.rows_local);
  FUZZ_CHECK(jobs == sum.cycles + sum.chains + sum.shifts, "%lld jobs, summary %lld cycles %lld chains %lld shifts",
             (long long)jobs, (long long)sum.cycles, (long long)sum.chains, (long long)sum.shifts);
  check_jobs(moves, count, sum.shifts);

  for (int64_t i = 0; i < ndev * cap; i++) m.slot[i] = EMPTY;
  for (int64_t j = 0; j < rows; j++) *at(&m, (int32_t)(j / s), j % s) = j;
  run_plan(&m, moves, count, sum.shifts, 0);
  expect_cyclic(&m);
  /* Slots the cyclic layout does not use are free again: mark them so the way back may write
   * there, and reads from them are still caught. */
  run_plan(&m, moves, count, sum.shifts, 1);
  expect_rows(&m, "backward run");
  free(moves);
  free(m.slot);
  free(m.owner);
  free(m.staging);
}

/* Wild values keep to what must be rejected or is cheap: <= 0, small, or beyond 2^40 rows. */
static int64_t wild_extent(fuzz_input *in) {
  int64_t v = take_wild(in, 3000);
  return v > 3000 && v < ((int64_t)1 << 40) ? 1 + v % 3000 : v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = {data, size, 0};
  int wild = take(&in, 1) % 8 == 0;
  int64_t rows, tile;
  int32_t ndev, lanes;
  if (wild) {
    rows = wild_extent(&in);
    tile = wild_extent(&in);
    ndev = take_wild32(&in, -1, 40);
    lanes = take_wild32(&in, -1, 70);
  } else {
    rows = take_in(&in, 1, 1500);
    tile = take_in(&in, 1, rows + 8);
    ndev = take(&in, 1) % 2 ? (int32_t)take_in(&in, 1, 4) : (int32_t)take_in(&in, 1, BUNMG_MAX_DEVICES);
    lanes = (int32_t)take_in(&in, 1, 4);
  }
  bunmg_plan *plan = NULL;
  bunmg_status st = bunmg_plan_create(rows, tile, ndev, lanes, &plan);
  if (st != BUNMG_OK) {
    FUZZ_CHECK(st == BUNMG_INVALID_ARGUMENT || st == BUNMG_OUT_OF_MEMORY, "plan_create(%lld, %lld, %d, %d): status %d",
               (long long)rows, (long long)tile, ndev, lanes, (int)st);
    FUZZ_CHECK(bunmg_last_error()[0] != '\0', "status %d without a message", (int)st);
    FUZZ_CHECK(plan == NULL, "a failed plan_create wrote a plan");
    FUZZ_CHECK(!(rows >= 1 && rows <= 3000 && tile >= 1 && tile <= 3000 && ndev >= 1 && ndev <= 32 && lanes >= 1 &&
                 lanes <= 64),
               "plan_create(%lld, %lld, %d, %d) rejected valid arguments: %s", (long long)rows, (long long)tile,
               ndev, lanes, bunmg_last_error());
    return 0;
  }
  FUZZ_CHECK(plan != NULL, "plan_create OK without a plan");
  if (rows <= 3000 && tile <= 3000) validate(rows, tile, ndev, lanes, plan);
  /* the NULL paths */
  int64_t count;
  bunmg_plan_summary sum;
  FUZZ_CHECK(bunmg_plan_get_summary(NULL, &sum) == BUNMG_INVALID_ARGUMENT, "get_summary(NULL plan)");
  FUZZ_CHECK(bunmg_plan_get_summary(plan, NULL) == BUNMG_INVALID_ARGUMENT, "get_summary(NULL out)");
  FUZZ_CHECK(bunmg_plan_get_moves(plan, NULL, 1, &count) == BUNMG_INVALID_ARGUMENT, "get_moves(NULL out, cap 1)");
  FUZZ_CHECK(bunmg_plan_get_moves(plan, NULL, 0, NULL) == BUNMG_INVALID_ARGUMENT, "get_moves(NULL count)");
  FUZZ_CHECK(bunmg_plan_destroy(plan) == BUNMG_OK, "plan_destroy");
  return 0;
}
