/* The redistribution over MPI (mpi_transport.c). */
#ifndef BUNMG_MP_TRANSPORT_H
#define BUNMG_MP_TRANSPORT_H

#include "mp/grid_plan.h"
#include "mp/mp_world.h"

/* Runs `plan` on this rank's buffer and staging over mp's communicator (bunmg_grid_execute's
 * semantics: on failure every rank rolls back and reports the failed rank's status). After
 * TIMEOUT or PEER_LOST (mp broken) MPI may still write into buffer and staging: keep them. */
bunmg_status bunmg_mp_execute(bunmg_mp *mp, const bunmg_grid_plan *plan, void *buffer, void *staging,
                              size_t element_bytes, int reverse);

#endif
