#ifndef BUNMG_REDISTRIBUTE_H
#define BUNMG_REDISTRIBUTE_H

#include "core/internal.h"

/* Moves m into `layout` (tile used for CYCLIC) in place; the caller holds the mesh lock and has
 * checked m. On failure m is in its starting layout (or the status is LAYOUT_LOST). */
bunmg_status bunmg_redistribute(bunmg_mesh *mesh, bunmg_matrix *m, int32_t layout, int64_t tile);

#endif
