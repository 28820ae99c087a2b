/* Cutting a permutation of n items (rows, or a grid's slots) into pieces that move as single
 * copies: an item starts a piece where the items' sources or destinations stop being contiguous,
 * and the set of cuts is closed under the permutation, so that every piece lands exactly on the
 * place of one other piece (core/plan.c for the 1D layout, mp/grid_plan.c for the 2D grid). */
#ifndef BUNMG_CUTS_H
#define BUNMG_CUTS_H

#include "core/internal.h"

/* The permutation as the planner sees it. */
typedef struct bunmg_cut_map {
  const void *ctx;
  int64_t (*sigma)(const void *ctx, int64_t j);     /* the item now where j must go, or -1 (a free place) */
  int64_t (*sigma_inv)(const void *ctx, int64_t j); /* the item that must come where j sits, or -1 */
  int (*present)(const void *ctx, int64_t j);       /* whether item j exists (NULL: every item does) */
} bunmg_cut_map;

typedef struct bunmg_cuts {
  uint8_t *mark; /* mark[j]: a piece starts at item j (0..n; n is always marked) */
  int64_t *stack;
  int64_t depth, n;
} bunmg_cuts;

/* Allocates for n items and cuts at 0 and n; OUT_OF_MEMORY naming `what` when it cannot. */
bunmg_status bunmg_cuts_init(bunmg_cuts *c, int64_t n, const char *what);
void bunmg_cuts_free(bunmg_cuts *c);
void bunmg_cut(bunmg_cuts *c, int64_t j);
/* Whether sigma or sigma_inv jumps between items j - 1 and j (1 <= j < n). */
int bunmg_cut_needed(const bunmg_cut_map *m, int64_t j);
/* Adds the images of every cut under sigma and sigma_inv, and of every piece's end, until the
 * set is closed. */
void bunmg_cuts_close(bunmg_cuts *c, const bunmg_cut_map *m);

#endif
