/* Plans between the row layout and the grid layout (see bunmg.h, "the distributed engine"). */
#ifndef BUNMG_MP_GRID_PLAN_H
#define BUNMG_MP_GRID_PLAN_H

#include "mp/grid.h"

struct bunmg_grid_plan {
  bunmg_grid_shape shape;
  int32_t lanes;            /* staging slots per rank */
  int64_t chunk;            /* staging elements per lane in the exchange */
  bunmg_grid_plan_summary summary;
  /* SPLIT moves are generated (bunmg_grid_split_move): per row of A, one staging copy of the
   * row and one copy per block row; rank r's round t is its t-th move. */
  int64_t split_per_row;    /* 1 + block rows; 0 when prows == 1 (no split) */
  int64_t split_rounds;
  /* EXCHANGE moves, sorted by round; round_start[t] .. round_start[t + 1] */
  bunmg_grid_move *moves;
  int64_t move_count;
  int64_t *round_start;     /* exchange rounds + 1 */
};

/* Rank r's t-th SPLIT move (t < its row count * split_per_row); 0 when it has none. */
int bunmg_grid_split_move(const bunmg_grid_plan *plan, int32_t rank, int64_t t, bunmg_grid_move *out);
/* Moves rank r has in SPLIT: its rows * split_per_row. */
int64_t bunmg_grid_split_count(const bunmg_grid_plan *plan, int32_t rank);

#endif
