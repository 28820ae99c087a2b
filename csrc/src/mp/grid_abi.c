/* The ABI numbers of the distributed engine's blocks of bunmg.h (the grid layouts, the MPI ranks),
 * pinned: lib/abi.ts declares the same offsets and values (its mp blocks). */
#include <stddef.h>

#include "core/internal.h"

_Static_assert(BUNMG_MAX_RANKS == 4096, "lib/abi.ts MAX_RANKS");
_Static_assert(BUNMG_GRID_COL_MAJOR == 1 && BUNMG_GRID_PHASE_EXCHANGE == 1 && BUNMG_GRID_FAULT_STALL == 3,
               "GRID_ORDER, GRID_PHASE, GRID_FAULT");
_Static_assert(BUNMG_GRID_TO_ROWS == 1 && BUNMG_GRID_AGREE_PER_PHASE == 2, "GRID_FLAGS");
_Static_assert(BUNMG_GRID_AT_JOIN == 0 && BUNMG_GRID_AT_MOVE == 1 && BUNMG_GRID_AT_AGREEMENT == 2, "GRID_FAULT_AT");

_Static_assert(offsetof(bunmg_grid, m) == 0 && offsetof(bunmg_grid, n) == 8, "GRID.m, n");
_Static_assert(offsetof(bunmg_grid, mb) == 16 && offsetof(bunmg_grid, nb) == 24, "GRID.mb, nb");
_Static_assert(offsetof(bunmg_grid, prows) == 32 && offsetof(bunmg_grid, pcols) == 36, "GRID.prows, pcols");
_Static_assert(offsetof(bunmg_grid, order) == 40 && offsetof(bunmg_grid, reserved) == 44, "GRID.order, reserved");
_Static_assert(sizeof(bunmg_grid) == 48, "GRID.bytes");

_Static_assert(offsetof(bunmg_grid_rank, prow) == 0 && offsetof(bunmg_grid_rank, pcol) == 4, "GRID_RANK.prow, pcol");
_Static_assert(offsetof(bunmg_grid_rank, local_rows) == 8 && offsetof(bunmg_grid_rank, local_cols) == 16,
               "GRID_RANK.localRows, localCols");
_Static_assert(offsetof(bunmg_grid_rank, lld) == 24, "GRID_RANK.lld");
_Static_assert(offsetof(bunmg_grid_rank, shard_first) == 32 && offsetof(bunmg_grid_rank, shard_rows) == 40,
               "GRID_RANK.shardFirst, shardRows");
_Static_assert(offsetof(bunmg_grid_rank, desc) == 48 && sizeof(bunmg_grid_rank) == 48 + 9 * 8, "GRID_RANK.desc");

_Static_assert(offsetof(bunmg_grid_move, job) == 0 && offsetof(bunmg_grid_move, round) == 8, "GRID_MOVE.job, round");
_Static_assert(offsetof(bunmg_grid_move, phase) == 16 && offsetof(bunmg_grid_move, lane) == 20, "GRID_MOVE.phase, lane");
_Static_assert(offsetof(bunmg_grid_move, src_rank) == 24 && offsetof(bunmg_grid_move, dst_rank) == 28,
               "GRID_MOVE.srcRank, dstRank");
_Static_assert(offsetof(bunmg_grid_move, src_staging) == 32 && offsetof(bunmg_grid_move, dst_staging) == 36,
               "GRID_MOVE.srcStaging, dstStaging");
_Static_assert(offsetof(bunmg_grid_move, src_offset) == 40 && offsetof(bunmg_grid_move, dst_offset) == 48 &&
                   offsetof(bunmg_grid_move, elements) == 56 && sizeof(bunmg_grid_move) == 64,
               "GRID_MOVE.srcOffset, dstOffset, elements");

_Static_assert(sizeof(bunmg_grid_plan_summary) == 14 * 8, "GRID_SUMMARY_FIELDS: 14 int64");
_Static_assert(offsetof(bunmg_grid_plan_summary, largest_move) == 13 * 8, "GRID_SUMMARY_FIELDS order");

_Static_assert(BUNMG_MP_FAULT_FAIL == 1 && BUNMG_MP_FAULT_DIE == 2 && BUNMG_MP_FAULT_DIE_ENGINE == 3 &&
                   BUNMG_MP_FAULT_SKEW_VECTORS == 4 && BUNMG_MP_FAULT_SKEW_VALUES == 5,
               "MP_FAULT");
_Static_assert(offsetof(bunmg_mp_options, block) == 0 && offsetof(bunmg_mp_options, prows) == 8 &&
                   offsetof(bunmg_mp_options, pcols) == 12, "MP_OPTIONS.block, prows, pcols");
_Static_assert(offsetof(bunmg_mp_options, order) == 16 && offsetof(bunmg_mp_options, reserved) == 20 &&
                   sizeof(bunmg_mp_options) == 24, "MP_OPTIONS.order, reserved, bytes");
