/* The default tiles of the multi path (the rule is in tiles.c, from the tile sweeps). */
#ifndef BUNMG_TILES_H
#define BUNMG_TILES_H

#include "core/internal.h"

/* Largest tile each routine accepts: syevd's is 1024 (cuSOLVERMg), the others' the solvers' int. */
int64_t bunmg_max_tile_of(int32_t routine);
int64_t bunmg_default_tile_of(int32_t routine, int64_t n);
/* The largest default tile of any routine at this n: the capacity every matrix gets. */
int64_t bunmg_default_max_tile_of(int64_t n);

#endif
