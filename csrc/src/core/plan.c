/* Planner. Slot j (a row of the row-major matrix, a column of its column-major view) starts at
 * (j / s, j % s) and must end at its cyclic position. sigma(j) is the slot now sitting where j
 * must go; sigma_inv(j) the slot that must come to where j sits. Cutting the slots at every break
 * that sigma or sigma_inv maps a break to (a closure) yields maximal pieces that move as single
 * contiguous copies and map onto each other exactly, so the permutation decomposes into open
 * chains starting at a free region (no staging) and cycles (one staged piece each). */
#include <stdlib.h>
#include <string.h>

#include "core/plan.h"

#include "core/cuts.h"

typedef struct planner {
  int64_t n, tile, s, cap;
  int32_t ndev;
  int64_t offset[BUNMG_MAX_DEVICES];
  int64_t *src_at; /* position -> slot that starts there, or -1 */
  int64_t *dst_at; /* position -> slot that must end there, or -1 */
} planner;

static int64_t src_pos(const planner *p, int64_t j) {
  int64_t d = j / p->s;
  return d * p->cap + j % p->s + p->offset[d];
}

static int64_t dst_pos(const planner *p, int64_t j) {
  int32_t d;
  int64_t l;
  bunmg_cyclic_locate(j, p->tile, p->ndev, &d, &l);
  return d * p->cap + l;
}

static int64_t sigma(const void *ctx, int64_t j) {
  const planner *p = ctx;
  return p->src_at[dst_pos(p, j)];
}
static int64_t sigma_inv(const void *ctx, int64_t j) {
  const planner *p = ctx;
  return p->dst_at[src_pos(p, j)];
}

/* Pieces also end at shard and tile boundaries: a piece is one copy within one shard. */
static void find_cuts(const planner *p, bunmg_cuts *c) {
  const bunmg_cut_map map = {p, sigma, sigma_inv, NULL};
  for (int64_t j = 1; j < p->n; j++)
    if (j % p->s == 0 || j % p->tile == 0 || bunmg_cut_needed(&map, j)) bunmg_cut(c, j);
  bunmg_cuts_close(c, &map);
}

typedef struct piece {
  int64_t start, len;
  int64_t next, prev; /* piece whose region this one fills / that fills this one's region; -1 */
} piece;

static bunmg_move move_of(const planner *p, const piece *pc, int64_t job) {
  int64_t from = src_pos(p, pc->start), to = dst_pos(p, pc->start);
  return (bunmg_move){job, (int32_t)(from / p->cap), (int32_t)(to / p->cap), from % p->cap, to % p->cap, pc->len};
}

typedef struct builder {
  bunmg_plan *plan;
  int64_t *lane_load;
  int32_t lanes;
} builder;

static int32_t lightest_lane(const builder *b, int32_t on_device) {
  int32_t best = -1;
  for (int32_t l = 0; l < b->lanes; l++) {
    if (on_device >= 0 && l / b->plan->lanes_per_device != on_device) continue;
    if (best < 0 || b->lane_load[l] < b->lane_load[best]) best = l;
  }
  return best;
}

static void push_move(builder *b, bunmg_move m) { b->plan->moves[b->plan->move_count++] = m; }

static void open_job(builder *b, int32_t lane, int32_t kind) {
  bunmg_plan *plan = b->plan;
  plan->jobs[plan->job_count++] = (bunmg_job){plan->move_count, 0, lane, kind};
}

static void need_staging(builder *b, int32_t lane, int64_t rows) {
  if (rows > b->plan->lane_staging_rows[lane]) b->plan->lane_staging_rows[lane] = rows;
}

static void close_job(builder *b) {
  bunmg_plan *plan = b->plan;
  bunmg_job *job = &plan->jobs[plan->job_count - 1];
  job->move_count = plan->move_count - job->first_move;
  for (int64_t i = job->first_move; i < plan->move_count; i++) b->lane_load[job->lane] += plan->moves[i].rows;
}

/* Moves shard d's rows [0, count) up by its offset, a tile at a time from the top through the
 * lane's staging buffer (source and destination overlap). */
static void emit_shift(builder *b, const planner *p, int32_t d) {
  int64_t count = bunmg_shard_count(p->n, p->ndev, d), offset = p->offset[d];
  if (offset == 0 || count == 0) return;
  int32_t lane = d * b->plan->lanes_per_device;
  int64_t job = b->plan->job_count, chunk = p->tile < count ? p->tile : count;
  open_job(b, lane, BUNMG_JOB_SHIFT);
  for (int64_t end = count; end > 0; end -= chunk) {
    int64_t rows = end < chunk ? end : chunk;
    push_move(b, (bunmg_move){job, d, -1, end - rows, 0, rows});
    push_move(b, (bunmg_move){job, -1, d, 0, end - rows + offset, rows});
  }
  need_staging(b, lane, chunk);
  close_job(b);
}

/* Chain: the piece whose target is free moves first, then whoever targets its old region. */
static void emit_chain(builder *b, const planner *p, piece *pcs, uint8_t *done, int64_t head) {
  int64_t job = b->plan->job_count;
  open_job(b, lightest_lane(b, -1), BUNMG_JOB_CHAIN);
  for (int64_t q = head; q >= 0; q = pcs[q].prev) {
    push_move(b, move_of(p, &pcs[q], job));
    done[q] = 1;
  }
  close_job(b);
}

/* Cycle: stage one piece, shift the others back along the cycle, unstage. The staged piece is
 * one on the lane's own device, so staging copies stay local. */
static void emit_cycle(builder *b, const planner *p, piece *pcs, uint8_t *done, int64_t start) {
  int32_t lane = lightest_lane(b, -1);
  int32_t lane_dev = lane / b->plan->lanes_per_device;
  int64_t staged = start;
  for (int64_t q = start; src_pos(p, pcs[q].start) / p->cap != lane_dev;) {
    q = pcs[q].next;
    if (q == start) break;
    staged = q;
  }
  int64_t job = b->plan->job_count;
  open_job(b, lane, BUNMG_JOB_CYCLE);
  bunmg_move first = move_of(p, &pcs[staged], job);
  push_move(b, (bunmg_move){job, first.src_dev, -1, first.src_row, 0, first.rows});
  for (int64_t q = pcs[staged].prev; q != staged; q = pcs[q].prev) {
    push_move(b, move_of(p, &pcs[q], job));
    done[q] = 1;
  }
  push_move(b, (bunmg_move){job, -1, first.dst_dev, 0, first.dst_row, first.rows});
  done[staged] = 1;
  need_staging(b, lane, first.rows);
  close_job(b);
}

static void summarize(bunmg_plan *plan, const piece *pcs, int64_t npieces, int64_t fixed) {
  bunmg_plan_summary *s = &plan->summary;
  s->pieces = npieces;
  s->fixed = fixed;
  s->copies = plan->move_count;
  for (int64_t i = 0; i < npieces; i++)
    if (pcs[i].len > s->largest_piece) s->largest_piece = pcs[i].len;
  for (int64_t j = 0; j < plan->job_count; j++) {
    const bunmg_job *job = &plan->jobs[j];
    if (job->kind == BUNMG_JOB_CYCLE) s->cycles++;
    else if (job->kind == BUNMG_JOB_CHAIN) s->chains++;
    else s->shifts++;
    int32_t lane_dev = job->lane / plan->lanes_per_device;
    for (int64_t i = 0; i < job->move_count; i++) {
      const bunmg_move *m = &plan->moves[job->first_move + i];
      int32_t from = m->src_dev < 0 ? lane_dev : m->src_dev, to = m->dst_dev < 0 ? lane_dev : m->dst_dev;
      if (from != to) s->rows_cross += m->rows;
      else s->rows_local += m->rows;
    }
  }
  for (int32_t d = 0; d < plan->ndev; d++) {
    int64_t rows = 0;
    for (int32_t l = 0; l < plan->lanes_per_device; l++) rows += plan->lane_staging_rows[d * plan->lanes_per_device + l];
    if (rows > s->staging_rows) s->staging_rows = rows;
  }
}

static bunmg_status decompose(bunmg_plan *plan, const planner *p, const uint8_t *mark) {
  int64_t n = p->n, npieces = 0;
  int64_t *piece_at = malloc(sizeof(int64_t) * (size_t)(n + 1));
  piece *pcs = malloc(sizeof(piece) * (size_t)n);
  uint8_t *done = calloc((size_t)n, 1);
  int64_t *lane_load = calloc((size_t)(plan->ndev * plan->lanes_per_device), sizeof(int64_t));
  /* pieces + 2 per cycle (<= 2n), plus 2 per shift chunk (<= 2n / tile + 2 per device) */
  size_t shift_moves = (size_t)(2 * (n / p->tile + 2 * p->ndev));
  plan->moves = malloc(sizeof(bunmg_move) * ((size_t)(2 * n + 1) + shift_moves));
  plan->jobs = malloc(sizeof(bunmg_job) * (size_t)(n + p->ndev));
  bunmg_status st = BUNMG_OK;
  if (!piece_at || !pcs || !done || !lane_load || !plan->moves || !plan->jobs) {
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "plan: out of host memory for %lld rows", (long long)n);
    goto out;
  }
  for (int64_t j = 0; j <= n; j++) piece_at[j] = -1;
  for (int64_t j = 0; j < n; j++)
    if (mark[j]) {
      int64_t end = j + 1;
      while (!mark[end]) end++;
      piece_at[j] = npieces;
      pcs[npieces++] = (piece){j, end - j, -1, -1};
    }
  int64_t fixed = 0;
  for (int64_t i = 0; i < npieces; i++) {
    int64_t t = sigma(p, pcs[i].start), u = sigma_inv(p, pcs[i].start);
    pcs[i].next = t >= 0 ? piece_at[t] : -1;
    pcs[i].prev = u >= 0 ? piece_at[u] : -1;
    if ((t >= 0 && pcs[i].next < 0) || (u >= 0 && pcs[i].prev < 0)) {
      st = bunmg_fail(BUNMG_UNSUPPORTED, "plan: internal error, piece at row %lld does not map onto a piece",
                      (long long)pcs[i].start);
      goto out;
    }
    if (src_pos(p, pcs[i].start) == dst_pos(p, pcs[i].start)) {
      done[i] = 1;
      fixed++;
    }
  }
  builder b = {plan, lane_load, plan->ndev * plan->lanes_per_device};
  for (int32_t d = 0; d < p->ndev; d++) emit_shift(&b, p, d);
  for (int64_t i = 0; i < npieces; i++)
    if (!done[i] && pcs[i].next < 0) emit_chain(&b, p, pcs, done, i);
  for (int64_t i = 0; i < npieces; i++)
    if (!done[i]) emit_cycle(&b, p, pcs, done, i);
  summarize(plan, pcs, npieces, fixed);
out:
  free(piece_at);
  free(pcs);
  free(done);
  free(lane_load);
  return st;
}

bunmg_status bunmg_plan_build(int64_t rows, int64_t tile, int32_t ndev, int32_t lanes_per_device,
                              bunmg_plan **out) {
  int64_t cap;
  bunmg_status st = bunmg_shard_capacity(rows, tile, ndev, &cap);
  if (st != BUNMG_OK) return st;
  if (lanes_per_device < 1 || lanes_per_device > 64)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "plan: lanes per device must be in 1..64, got %d", lanes_per_device);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "plan output is NULL");
  planner p = {rows, tile, bunmg_shard_rows(rows, ndev), cap, ndev, {0}, NULL, NULL};
  for (int32_t d = 0; d < ndev; d++) p.offset[d] = bunmg_shard_offset(rows, tile, ndev, d);
  size_t positions = (size_t)ndev * (size_t)cap;
  bunmg_plan *plan = calloc(1, sizeof *plan);
  bunmg_cuts cuts = {NULL, NULL, 0, 0};
  p.src_at = malloc(sizeof(int64_t) * positions);
  p.dst_at = malloc(sizeof(int64_t) * positions);
  if (plan) plan->lane_staging_rows = calloc((size_t)(ndev * lanes_per_device), sizeof(int64_t));
  if (!plan || !plan->lane_staging_rows || !p.src_at || !p.dst_at) {
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "plan: out of host memory for %lld rows", (long long)rows);
  } else if ((st = bunmg_cuts_init(&cuts, rows, "plan")) == BUNMG_OK) {
    *plan = (bunmg_plan){rows, tile, ndev, lanes_per_device, {0}, NULL, 0, NULL, 0, plan->lane_staging_rows};
    plan->summary.capacity = cap;
    for (size_t i = 0; i < positions; i++) p.src_at[i] = p.dst_at[i] = -1;
    for (int64_t j = 0; j < rows; j++) {
      p.src_at[src_pos(&p, j)] = j;
      p.dst_at[dst_pos(&p, j)] = j;
    }
    find_cuts(&p, &cuts);
    st = decompose(plan, &p, cuts.mark);
  }
  bunmg_cuts_free(&cuts);
  free(p.src_at);
  free(p.dst_at);
  if (st != BUNMG_OK) {
    bunmg_plan_destroy(plan);
    return st;
  }
  *out = plan;
  return BUNMG_OK;
}

bunmg_move bunmg_job_move(const bunmg_plan *plan, const bunmg_job *job, int64_t i, int reverse) {
  if (!reverse) return plan->moves[job->first_move + i];
  bunmg_move m = plan->moves[job->first_move + job->move_count - 1 - i];
  return (bunmg_move){m.cycle, m.dst_dev, m.src_dev, m.dst_row, m.src_row, m.rows};
}

bunmg_status bunmg_plan_create(int64_t rows, int64_t tile, int32_t ndev, int32_t lanes,
                               bunmg_plan **out) {
  bunmg_clear_error();
  return bunmg_plan_build(rows, tile, ndev, lanes, out);
}

bunmg_status bunmg_plan_destroy(bunmg_plan *plan) {
  if (!plan) return BUNMG_OK;
  free(plan->moves);
  free(plan->jobs);
  free(plan->lane_staging_rows);
  free(plan);
  return BUNMG_OK;
}

bunmg_status bunmg_plan_get_summary(const bunmg_plan *plan, bunmg_plan_summary *out) {
  if (!plan || !out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "plan_get_summary: NULL argument");
  *out = plan->summary;
  return BUNMG_OK;
}

bunmg_status bunmg_plan_get_moves(const bunmg_plan *plan, bunmg_move *out, int64_t cap,
                                  int64_t *count) {
  if (!plan || !count || (cap > 0 && !out))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "plan_get_moves: NULL argument");
  *count = plan->move_count;
  int64_t k = cap < plan->move_count ? cap : plan->move_count;
  if (k > 0) memcpy(out, plan->moves, sizeof(bunmg_move) * (size_t)k);
  return BUNMG_OK;
}
