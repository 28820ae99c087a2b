#ifndef BUNMG_FIXUP_H
#define BUNMG_FIXUP_H

#include "core/internal.h"

/* The BUNMG_FIX_* passes over an N x N row-layout matrix whose shards are host-addressable. */
void bunmg_fixup_host(const bunmg_matrix *a, int32_t ndev, int32_t mode);
/* bunmg_fill_random's generator over host-addressable shards (fill.c). */
void bunmg_fill_host(const bunmg_matrix *m, int32_t ndev, int32_t kind, uint64_t seed);

#endif
