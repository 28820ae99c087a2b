/* Arithmetic of the 2D block-cyclic grid layout (ScaLAPACK's, RSRC = CSRC = 0) and of the row
 * layout it is redistributed from; the layer the planner and the engines share. */
#ifndef BUNMG_MP_GRID_H
#define BUNMG_MP_GRID_H

#include "core/internal.h"

/* The grid with everything the planner derives from it. Sizes are in elements unless named
 * slots: a slot is one local column, LLD elements. */
typedef struct bunmg_grid_shape {
  bunmg_grid grid;
  int32_t ranks;
  int64_t shard;       /* s: A's rows per rank in row layout */
  int64_t lld;         /* slot length, the same on every rank */
  int64_t block_rows;  /* ceil(M / MB) */
  int64_t cap_slots;   /* slots per rank buffer */
  int64_t capacity;    /* cap_slots * lld */
} bunmg_grid_shape;

/* ScaLAPACK's NUMROC: how many of n indices, in blocks of nb dealt round-robin over nprocs
 * starting at isrc, land on iproc. */
int64_t bunmg_numroc(int64_t n, int64_t nb, int32_t iproc, int32_t isrc, int32_t nprocs);
/* global index -> (process, local index), RSRC = 0 */
static inline int32_t bunmg_g2p(int64_t g, int64_t nb, int32_t nprocs) { return (int32_t)((g / nb) % nprocs); }
static inline int64_t bunmg_g2l(int64_t g, int64_t nb, int32_t nprocs) { return (g / (nb * nprocs)) * nb + g % nb; }
static inline int64_t bunmg_l2g(int64_t l, int64_t nb, int32_t proc, int32_t nprocs) {
  return ((l / nb) * nprocs + proc) * nb + l % nb;
}

/* The rank of grid position (pr, pc) and back, in the grid's order. */
int32_t bunmg_grid_rank_of(const bunmg_grid *g, int32_t pr, int32_t pc);
void bunmg_grid_position(const bunmg_grid *g, int32_t rank, int32_t *pr, int32_t *pc);

/* Checks the grid (names the first problem) and derives its shape. */
bunmg_status bunmg_grid_shape_of(const bunmg_grid *g, bunmg_grid_shape *out);
/* A's rows rank r holds in row layout. */
int64_t bunmg_grid_shard_rows(const bunmg_grid_shape *s, int32_t rank);

#endif
