/* Planner between the row layout and the grid layout.
 *
 * SPLIT (per rank, no communication): local row k of A (global row r*s + k, M elements at k*M)
 * becomes prows slots of LLD elements at slots k*prows .. k*prows + prows - 1; slot pr holds the
 * row's block rows pr, pr + prows, ... in order, which is exactly local column g2l(row) of grid
 * row pr. Rows go from the last to the first, each staged whole: row k's slots start at
 * k*prows*LLD >= k*M, so they never cover a row not yet split. With one grid row a row already
 * is its slot and the phase is empty.
 *
 * EXCHANGE: slot j = i*prows + pr (A's row i, grid row pr) moves from (rank i / s, slot
 * (i mod s)*prows + pr) to (rank of (pr, (i / NB) mod pcols), slot g2l(i)). As in the 1D planner
 * (core/plan.c), sigma(j) is the slot now sitting where j must go and sigma_inv(j) the slot that
 * must come to where j sits; cutting the slots at every break that sigma or sigma_inv maps a
 * break to yields pieces that move as single copies and fill each other's places exactly, so the
 * permutation falls into chains that start at a free place and cycles that stage one piece.
 * Every piece of a job has the same length, so a cycle splits into independent sub-cycles of at
 * most `chunk` elements each: staging per lane is one chunk. */
#include <stdlib.h>
#include <string.h>

#include "mp/grid_plan.h"
#include "core/cuts.h"

/* Default staged run when MB * NB would be larger: far beyond any device's memory. */
#define MAX_CHUNK ((int64_t)1 << 40)

typedef struct slots {
  const bunmg_grid_shape *shape;
  int64_t count;   /* n * prows */
  int64_t *src_at; /* position (rank * cap_slots + slot) -> slot id starting there, or -1 */
  int64_t *dst_at; /* position -> slot id that must end there, or -1 */
} slots;

static int present(const void *ctx, int64_t j) {
  const bunmg_grid *g = &((const slots *)ctx)->shape->grid;
  return bunmg_numroc(g->m, g->mb, (int32_t)(j % g->prows), 0, g->prows) > 0;
}

static int64_t src_pos(const slots *sl, int64_t j) {
  const bunmg_grid_shape *s = sl->shape;
  int64_t i = j / s->grid.prows, r = i / s->shard;
  return r * s->cap_slots + j - r * s->shard * s->grid.prows;
}

static int64_t dst_pos(const slots *sl, int64_t j) {
  const bunmg_grid *g = &sl->shape->grid;
  int64_t i = j / g->prows;
  int32_t t = bunmg_grid_rank_of(g, (int32_t)(j % g->prows), bunmg_g2p(i, g->nb, g->pcols));
  return t * sl->shape->cap_slots + bunmg_g2l(i, g->nb, g->pcols);
}

static int64_t sigma(const void *ctx, int64_t j) {
  const slots *sl = ctx;
  return sl->src_at[dst_pos(sl, j)];
}
static int64_t sigma_inv(const void *ctx, int64_t j) {
  const slots *sl = ctx;
  return sl->dst_at[src_pos(sl, j)];
}

static int adjacent(int64_t cap, int64_t prev, int64_t cur) { return cur == prev + 1 && cur / cap == prev / cap; }

/* Pieces also end where slots stop existing or stop being contiguous at either end (a piece is
 * one copy between two ranks). */
static void find_cuts(const slots *sl, bunmg_cuts *c) {
  const bunmg_cut_map map = {sl, sigma, sigma_inv, present};
  int64_t cap = sl->shape->cap_slots;
  for (int64_t j = 1; j < sl->count; j++) {
    int p = present(sl, j - 1), q = present(sl, j);
    if (p != q || (q && (!adjacent(cap, src_pos(sl, j - 1), src_pos(sl, j)) ||
                         !adjacent(cap, dst_pos(sl, j - 1), dst_pos(sl, j)) || bunmg_cut_needed(&map, j))))
      bunmg_cut(c, j);
  }
  bunmg_cuts_close(c, &map);
}

typedef struct piece {
  int64_t start, len;   /* slots */
  int64_t next, prev;   /* the piece sitting where this one goes / that goes where this one sits */
  int64_t from, to;     /* positions */
} piece;

typedef struct builder {
  bunmg_grid_plan *plan;
  piece *pcs;
  uint8_t *done;
  int64_t *lane_moves; /* moves so far per lane: the next move's round */
  int64_t cap_moves;
  int64_t jobs;
  int64_t staged_max;  /* elements */
} builder;

static bunmg_status push(builder *b, bunmg_grid_move m) {
  bunmg_grid_plan *plan = b->plan;
  if (plan->move_count == b->cap_moves) {
    int64_t cap = b->cap_moves ? 2 * b->cap_moves : 1024;
    bunmg_grid_move *grown = realloc(plan->moves, sizeof *grown * (size_t)cap);
    if (!grown) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid plan: out of host memory for %lld moves", (long long)cap);
    plan->moves = grown;
    b->cap_moves = cap;
  }
  m.round = b->lane_moves[m.lane]++;
  plan->moves[plan->move_count++] = m;
  return BUNMG_OK;
}

static bunmg_grid_move piece_move(const builder *b, int64_t q, int64_t job, int32_t lane, int64_t from, int64_t elements) {
  int64_t cap = b->plan->shape.cap_slots, lld = b->plan->shape.lld;
  const piece *pc = &b->pcs[q];
  return (bunmg_grid_move){job, 0, BUNMG_GRID_PHASE_EXCHANGE, lane, (int32_t)(pc->from / cap), (int32_t)(pc->to / cap),
                           0, 0, (pc->from % cap) * lld + from, (pc->to % cap) * lld + from, elements};
}

/* The least loaded lane among those of the ranks that the pieces q, prev(q), ... come from. */
static int32_t lightest_lane(const builder *b, int64_t first) {
  int32_t lanes = b->plan->lanes, best = -1;
  int64_t cap = b->plan->shape.cap_slots;
  int64_t q = first;
  do {
    int32_t rank = (int32_t)(b->pcs[q].from / cap);
    for (int32_t l = rank * lanes; l < (rank + 1) * lanes; l++)
      if (best < 0 || b->lane_moves[l] < b->lane_moves[best]) best = l;
    q = b->pcs[q].prev;
  } while (q >= 0 && q != first);
  return best;
}

/* Chain: the piece whose place is free moves first, then whoever goes where it was. */
static bunmg_status emit_chain(builder *b, int64_t head) {
  int32_t lane = lightest_lane(b, head);
  int64_t job = b->jobs++, elements = b->pcs[head].len * b->plan->shape.lld;
  for (int64_t q = head; q >= 0; q = b->pcs[q].prev) {
    bunmg_status st = push(b, piece_move(b, q, job, lane, 0, elements));
    if (st != BUNMG_OK) return st;
    b->done[q] = 1;
  }
  b->plan->summary.chains++;
  return BUNMG_OK;
}

/* Cycle, one sub-cycle per chunk of its pieces: stage a piece that lives on the lane's rank,
 * move the others back along the cycle, unstage. */
static bunmg_status emit_cycle(builder *b, int64_t start) {
  const bunmg_grid_plan *plan = b->plan;
  int64_t elements = b->pcs[start].len * plan->shape.lld, cap = plan->shape.cap_slots;
  for (int64_t from = 0; from < elements; from += plan->chunk) {
    int64_t part = elements - from < plan->chunk ? elements - from : plan->chunk;
    int32_t lane = lightest_lane(b, start), rank = lane / plan->lanes;
    int64_t staged = start;
    while (b->pcs[staged].from / cap != rank) staged = b->pcs[staged].prev;
    int64_t job = b->jobs++, slot = lane % plan->lanes; /* staging offsets in lane slots until the chunk is known */
    bunmg_grid_move first = piece_move(b, staged, job, lane, from, part);
    bunmg_grid_move stage = first, unstage = first;
    stage.dst_rank = rank;
    stage.dst_staging = 1;
    stage.dst_offset = slot;
    unstage.src_rank = rank;
    unstage.src_staging = 1;
    unstage.src_offset = slot;
    bunmg_status st = push(b, stage);
    for (int64_t q = b->pcs[staged].prev; st == BUNMG_OK && q != staged; q = b->pcs[q].prev)
      st = push(b, piece_move(b, q, job, lane, from, part));
    if (st == BUNMG_OK) st = push(b, unstage);
    if (st != BUNMG_OK) return st;
    if (part > b->staged_max) b->staged_max = part;
    b->plan->summary.cycles++;
  }
  for (int64_t q = start;;) {
    b->done[q] = 1;
    q = b->pcs[q].prev;
    if (q == start) break;
  }
  return BUNMG_OK;
}

static bunmg_status decompose(bunmg_grid_plan *plan, const slots *sl, const uint8_t *mark) {
  int64_t n = sl->count, npieces = 0;
  int32_t lanes_total = plan->shape.ranks * plan->lanes;
  int64_t *piece_at = malloc(sizeof(int64_t) * (size_t)(n + 1));
  piece *pcs = malloc(sizeof(piece) * (size_t)(n > 0 ? n : 1));
  uint8_t *done = calloc((size_t)n + 1, 1);
  int64_t *lane_moves = calloc((size_t)lanes_total, sizeof(int64_t));
  builder b = {plan, pcs, done, lane_moves, 0, 0, 0};
  bunmg_status st = BUNMG_OK;
  if (!piece_at || !pcs || !done || !lane_moves) {
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid plan: out of host memory for %lld slots", (long long)n);
    goto out;
  }
  for (int64_t j = 0; j <= n; j++) piece_at[j] = -1;
  for (int64_t j = 0; j < n; j++)
    if (mark[j] && present(sl, j)) {
      int64_t end = j + 1;
      while (!mark[end]) end++;
      piece_at[j] = npieces;
      pcs[npieces++] = (piece){j, end - j, -1, -1, src_pos(sl, j), dst_pos(sl, j)};
    }
  for (int64_t q = 0; q < npieces; q++) {
    int64_t t = sigma(sl, pcs[q].start), u = sigma_inv(sl, pcs[q].start);
    pcs[q].next = t >= 0 ? piece_at[t] : -1;
    pcs[q].prev = u >= 0 ? piece_at[u] : -1;
    if ((t >= 0 && pcs[q].next < 0) || (u >= 0 && pcs[q].prev < 0)) {
      st = bunmg_fail(BUNMG_UNSUPPORTED, "grid plan: internal error, the piece at slot %lld does not map onto a piece",
                      (long long)pcs[q].start);
      goto out;
    }
    if (pcs[q].from == pcs[q].to) {
      done[q] = 1;
      plan->summary.fixed++;
    }
  }
  plan->summary.pieces = npieces;
  for (int64_t q = 0; q < npieces && st == BUNMG_OK; q++)
    if (!done[q] && pcs[q].next < 0) st = emit_chain(&b, q);
  for (int64_t q = 0; q < npieces && st == BUNMG_OK; q++)
    if (!done[q]) st = emit_cycle(&b, q);
  if (st == BUNMG_OK) {
    for (int64_t i = 0; i < plan->move_count; i++) { /* staging lane slots -> element offsets */
      bunmg_grid_move *m = &plan->moves[i];
      if (m->src_staging) m->src_offset *= b.staged_max;
      if (m->dst_staging) m->dst_offset *= b.staged_max;
    }
    plan->chunk = b.staged_max;
    int64_t rounds = 0;
    for (int32_t l = 0; l < lanes_total; l++)
      if (lane_moves[l] > rounds) rounds = lane_moves[l];
    plan->summary.exchange_rounds = rounds;
  }
out:
  free(piece_at);
  free(pcs);
  free(done);
  free(lane_moves);
  return st;
}

/* Stable counting sort of the exchange moves by round. */
static bunmg_status sort_by_round(bunmg_grid_plan *plan) {
  int64_t rounds = plan->summary.exchange_rounds, count = plan->move_count;
  plan->round_start = calloc((size_t)rounds + 1, sizeof(int64_t));
  int64_t *next = malloc(sizeof(int64_t) * (size_t)(rounds + 1));
  bunmg_grid_move *sorted = malloc(sizeof *sorted * (size_t)(count > 0 ? count : 1));
  if (!plan->round_start || !next || !sorted) {
    free(next);
    free(sorted);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid plan: out of host memory for %lld moves", (long long)count);
  }
  for (int64_t i = 0; i < count; i++) plan->round_start[plan->moves[i].round + 1]++;
  for (int64_t t = 0; t < rounds; t++) plan->round_start[t + 1] += plan->round_start[t];
  memcpy(next, plan->round_start, sizeof(int64_t) * (size_t)(rounds + 1));
  for (int64_t i = 0; i < count; i++) sorted[next[plan->moves[i].round]++] = plan->moves[i];
  free(next);
  free(plan->moves);
  plan->moves = sorted;
  return BUNMG_OK;
}

int64_t bunmg_grid_split_count(const bunmg_grid_plan *plan, int32_t rank) {
  return bunmg_grid_shard_rows(&plan->shape, rank) * plan->split_per_row;
}

int bunmg_grid_split_move(const bunmg_grid_plan *plan, int32_t rank, int64_t t, bunmg_grid_move *out) {
  if (t < 0 || t >= bunmg_grid_split_count(plan, rank)) return 0;
  const bunmg_grid *g = &plan->shape.grid;
  int64_t rows = bunmg_grid_shard_rows(&plan->shape, rank), lld = plan->shape.lld;
  int64_t k = rows - 1 - t / plan->split_per_row, u = t % plan->split_per_row;
  bunmg_grid_move m = {rank, t, BUNMG_GRID_PHASE_SPLIT, rank * plan->lanes, rank, rank, 0, 0, 0, 0, 0};
  if (u == 0) { /* the row into staging */
    m.src_offset = k * g->m;
    m.dst_staging = 1;
    m.elements = g->m;
  } else { /* block row I of it into its slot */
    int64_t I = u - 1;
    m.src_staging = 1;
    m.src_offset = I * g->mb;
    m.dst_offset = (k * g->prows + I % g->prows) * lld + (I / g->prows) * g->mb;
    m.elements = g->m - I * g->mb < g->mb ? g->m - I * g->mb : g->mb;
  }
  *out = m;
  return 1;
}

static void summarize(bunmg_grid_plan *plan) {
  bunmg_grid_plan_summary *s = &plan->summary;
  const bunmg_grid_shape *sh = &plan->shape;
  s->capacity = sh->capacity;
  s->lld = sh->lld;
  s->exchange_moves = plan->move_count;
  s->split_rounds = plan->split_rounds;
  for (int32_t r = 0; r < sh->ranks; r++) {
    int64_t count = bunmg_grid_split_count(plan, r);
    s->split_moves += count;
    if (count > 0) {
      s->elements_local += bunmg_grid_shard_rows(sh, r) * 2 * sh->grid.m; /* staged, then scattered */
      if (sh->grid.m > s->largest_move) s->largest_move = sh->grid.m;
    }
  }
  for (int64_t i = 0; i < plan->move_count; i++) {
    const bunmg_grid_move *m = &plan->moves[i];
    if (m->src_rank != m->dst_rank) s->elements_cross += m->elements;
    else s->elements_local += m->elements;
    if (m->elements > s->largest_move) s->largest_move = m->elements;
  }
  int64_t split_staging = plan->split_per_row > 0 ? sh->grid.m : 0;
  int64_t exchange_staging = s->cycles > 0 ? plan->lanes * plan->chunk : 0;
  s->staging = split_staging > exchange_staging ? split_staging : exchange_staging;
}

static bunmg_status build(bunmg_grid_plan *plan) {
  const bunmg_grid_shape *sh = &plan->shape;
  const bunmg_grid *g = &sh->grid;
  plan->split_per_row = g->prows > 1 ? 1 + sh->block_rows : 0;
  plan->split_rounds = sh->shard * plan->split_per_row;
  size_t positions = (size_t)sh->ranks * (size_t)sh->cap_slots;
  slots sl = {sh, g->n * g->prows, malloc(sizeof(int64_t) * positions), malloc(sizeof(int64_t) * positions)};
  bunmg_cuts cuts = {NULL, NULL, 0, 0};
  bunmg_status st = BUNMG_OK;
  if (!sl.src_at || !sl.dst_at) {
    st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid plan: out of host memory for %lld slots", (long long)sl.count);
  } else if ((st = bunmg_cuts_init(&cuts, sl.count, "grid plan")) == BUNMG_OK) {
    for (size_t i = 0; i < positions; i++) sl.src_at[i] = sl.dst_at[i] = -1;
    for (int64_t j = 0; j < sl.count; j++)
      if (present(&sl, j)) {
        sl.src_at[src_pos(&sl, j)] = j;
        sl.dst_at[dst_pos(&sl, j)] = j;
      }
    find_cuts(&sl, &cuts);
    st = decompose(plan, &sl, cuts.mark);
  }
  free(sl.src_at);
  free(sl.dst_at);
  bunmg_cuts_free(&cuts);
  if (st == BUNMG_OK) st = sort_by_round(plan);
  if (st == BUNMG_OK) summarize(plan);
  return st;
}

bunmg_status bunmg_grid_plan_create(const bunmg_grid *grid, int32_t lanes, int64_t chunk, bunmg_grid_plan **out) {
  bunmg_clear_error();
  bunmg_grid_shape shape = {.ranks = 0};
  bunmg_status st = bunmg_grid_shape_of(grid, &shape);
  if (st != BUNMG_OK) return st;
  if (lanes < 1 || lanes > 64)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid plan: lanes per rank must be in 1..64, got %d", lanes);
  if (chunk < 0) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid plan: chunk must be >= 0 (0: MB * NB), got %lld", (long long)chunk);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid plan output is NULL");
  bunmg_grid_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "grid plan: out of host memory");
  plan->shape = shape;
  plan->lanes = lanes;
  plan->chunk = chunk > 0 ? chunk : (grid->mb > MAX_CHUNK / grid->nb ? MAX_CHUNK : grid->mb * grid->nb);
  st = build(plan);
  if (st != BUNMG_OK) {
    bunmg_grid_plan_destroy(plan);
    return st;
  }
  *out = plan;
  return BUNMG_OK;
}

bunmg_status bunmg_grid_plan_destroy(bunmg_grid_plan *plan) {
  if (!plan) return BUNMG_OK;
  free(plan->moves);
  free(plan->round_start);
  free(plan);
  return BUNMG_OK;
}

bunmg_status bunmg_grid_plan_get_summary(const bunmg_grid_plan *plan, bunmg_grid_plan_summary *out) {
  if (!plan || !out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_plan_get_summary: NULL argument");
  *out = plan->summary;
  return BUNMG_OK;
}

bunmg_status bunmg_grid_plan_get_moves(const bunmg_grid_plan *plan, bunmg_grid_move *out, int64_t cap, int64_t *count) {
  if (!plan || !count || (cap > 0 && !out)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_plan_get_moves: NULL argument");
  *count = plan->summary.split_moves + plan->move_count;
  int64_t k = 0;
  for (int64_t t = 0; t < plan->split_rounds && k < cap; t++)
    for (int32_t r = 0; r < plan->shape.ranks && k < cap; r++)
      k += bunmg_grid_split_move(plan, r, t, &out[k]);
  for (int64_t i = 0; i < plan->move_count && k < cap; i++) out[k++] = plan->moves[i];
  return BUNMG_OK;
}
