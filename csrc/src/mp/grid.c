/* Layout arithmetic of the grid layout, and the public queries on it. */
#include <string.h>

#include "mp/grid.h"

int64_t bunmg_numroc(int64_t n, int64_t nb, int32_t iproc, int32_t isrc, int32_t nprocs) {
  int32_t dist = (iproc - isrc + nprocs) % nprocs; /* iproc's distance from the source process */
  int64_t blocks = n / nb;                          /* whole blocks */
  int64_t held = (blocks / nprocs) * nb;
  int64_t extra = blocks % nprocs;
  if (dist < extra) held += nb;
  else if (dist == extra) held += n % nb;
  return held;
}

int32_t bunmg_grid_rank_of(const bunmg_grid *g, int32_t pr, int32_t pc) {
  return g->order == BUNMG_GRID_COL_MAJOR ? pc * g->prows + pr : pr * g->pcols + pc;
}

void bunmg_grid_position(const bunmg_grid *g, int32_t rank, int32_t *pr, int32_t *pc) {
  if (g->order == BUNMG_GRID_COL_MAJOR) {
    *pr = rank % g->prows;
    *pc = rank / g->prows;
  } else {
    *pr = rank / g->pcols;
    *pc = rank % g->pcols;
  }
}

static bunmg_status check_extent(int64_t v, const char *what) {
  if (v < 1 || v > BUNMG_MAX_EXTENT)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid: %s must be in 1..2^40, got %lld", what, (long long)v);
  return BUNMG_OK;
}

/* Elements above which a rank's buffer describes no memory there is (2^60). */
#define MAX_BUFFER_ELEMENTS ((int64_t)1 << 60)

bunmg_status bunmg_grid_shape_of(const bunmg_grid *g, bunmg_grid_shape *out) {
  if (!g) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid is NULL");
  bunmg_status st = check_extent(g->m, "M (A's row length)");
  if (st == BUNMG_OK) st = check_extent(g->n, "N (A's rows)");
  if (st == BUNMG_OK) st = check_extent(g->mb, "MB");
  if (st == BUNMG_OK) st = check_extent(g->nb, "NB");
  if (st != BUNMG_OK) return st;
  if (g->prows < 1 || g->pcols < 1 || (int64_t)g->prows * g->pcols > BUNMG_MAX_RANKS)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid: %d x %d ranks: each side must be >= 1 and the product <= %d",
                      g->prows, g->pcols, BUNMG_MAX_RANKS);
  if (g->order != BUNMG_GRID_ROW_MAJOR && g->order != BUNMG_GRID_COL_MAJOR)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid: order must be 0 (row-major) or 1 (column-major), got %d", g->order);
  if (g->reserved != 0) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid: reserved must be 0, got %d", g->reserved);
  bunmg_grid_shape s = {*g, g->prows * g->pcols, 0, 0, 0, 0, 0};
  s.shard = bunmg_ceil_div(g->n, s.ranks);
  s.lld = bunmg_numroc(g->m, g->mb, 0, 0, g->prows);
  s.block_rows = bunmg_ceil_div(g->m, g->mb);
  /* row layout after the split: shard * prows slots; grid layout: the most local columns */
  int64_t split = s.shard * g->prows, local = bunmg_numroc(g->n, g->nb, 0, 0, g->pcols);
  s.cap_slots = split > local ? split : local;
  if (s.cap_slots > MAX_BUFFER_ELEMENTS / s.lld)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid: %lld x %lld over %d ranks needs more than 2^60 elements per rank",
                      (long long)g->m, (long long)g->n, s.ranks);
  s.capacity = s.cap_slots * s.lld;
  *out = s;
  return BUNMG_OK;
}

int64_t bunmg_grid_shard_rows(const bunmg_grid_shape *s, int32_t rank) {
  int64_t left = s->grid.n - rank * s->shard;
  return left < 0 ? 0 : left < s->shard ? left : s->shard;
}

bunmg_status bunmg_grid_describe(const bunmg_grid *grid, int32_t rank, bunmg_grid_rank *out) {
  bunmg_clear_error();
  bunmg_grid_shape s = {.ranks = 0};
  bunmg_status st = bunmg_grid_shape_of(grid, &s);
  if (st != BUNMG_OK) return st;
  if (rank < 0 || rank >= s.ranks)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_describe: rank must be in 0..%d, got %d", s.ranks - 1, rank);
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_describe: output is NULL");
  bunmg_grid_rank r;
  memset(&r, 0, sizeof r);
  bunmg_grid_position(grid, rank, &r.prow, &r.pcol);
  r.local_rows = bunmg_numroc(grid->m, grid->mb, r.prow, 0, grid->prows);
  r.local_cols = bunmg_numroc(grid->n, grid->nb, r.pcol, 0, grid->pcols);
  r.lld = s.lld;
  r.shard_rows = bunmg_grid_shard_rows(&s, rank);
  r.shard_first = r.shard_rows > 0 ? rank * s.shard : grid->n;
  int64_t desc[9] = {1, 0, grid->m, grid->n, grid->mb, grid->nb, 0, 0, s.lld};
  memcpy(r.desc, desc, sizeof desc);
  *out = r;
  return BUNMG_OK;
}

bunmg_status bunmg_grid_capacity(const bunmg_grid *grid, int64_t *elements) {
  bunmg_clear_error();
  bunmg_grid_shape s = {.ranks = 0};
  bunmg_status st = bunmg_grid_shape_of(grid, &s);
  if (st != BUNMG_OK) return st;
  if (!elements) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_capacity: output is NULL");
  *elements = s.capacity;
  return BUNMG_OK;
}

bunmg_status bunmg_grid_locate(const bunmg_grid *grid, int64_t i, int64_t j, int32_t *rank, int64_t *offset) {
  bunmg_clear_error();
  bunmg_grid_shape s = {.ranks = 0};
  bunmg_status st = bunmg_grid_shape_of(grid, &s);
  if (st != BUNMG_OK) return st;
  if (i < 0 || i >= grid->m || j < 0 || j >= grid->n)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_locate: element (%lld, %lld) is outside the %lld x %lld matrix",
                      (long long)i, (long long)j, (long long)grid->m, (long long)grid->n);
  if (!rank || !offset) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid_locate: output is NULL");
  *rank = bunmg_grid_rank_of(grid, bunmg_g2p(i, grid->mb, grid->prows), bunmg_g2p(j, grid->nb, grid->pcols));
  *offset = bunmg_g2l(j, grid->nb, grid->pcols) * s.lld + bunmg_g2l(i, grid->mb, grid->prows);
  return BUNMG_OK;
}
