/* The executor of grid plans over an abstract transport: one call per rank, the same plan on
 * every rank. The CUDA engine's transport copies with cudaMemcpyAsync and sends with NCCL, the CPU
 * engine's with memcpy and MPI, the tests' (host_transport.c) with memcpy between threads. */
#ifndef BUNMG_MP_GRID_EXEC_H
#define BUNMG_MP_GRID_EXEC_H

#include "mp/grid_plan.h"

/* Operations of one rank. copy, send and recv may complete asynchronously, by complete() at the
 * latest; the regions of one round never overlap. A status of TIMEOUT or PEER_LOST means the
 * transport is broken (the executor stops at once); any other failure of copy, send or recv means
 * that operation did not happen (a send still lets its receive complete), and the plan is rolled
 * back. */
typedef struct bunmg_grid_transport {
  void *context;
  bunmg_status (*copy)(void *context, void *dst, const void *src, size_t bytes);
  bunmg_status (*send)(void *context, int32_t peer, const void *src, size_t bytes);
  bunmg_status (*recv)(void *context, int32_t peer, void *dst, size_t bytes);
  bunmg_status (*complete)(void *context);
  /* A barrier of every rank that also agrees on failures: each gives its status (OK or not);
   * *first receives the lowest failed rank (-1: none) and *first_status its status. */
  bunmg_status (*agree)(void *context, bunmg_status mine, int32_t *first, bunmg_status *first_status);
  /* 1: agree after every round of the exchange, so a failure rolls back exactly; 0: once per
   * phase, for transports that only queue work (a failure in the exchange is then LAYOUT_LOST). */
  int32_t agree_every_round;
} bunmg_grid_transport;

/* Runs `plan` on this rank's buffer (plan capacity elements) and staging (plan staging elements)
 * from the row layout to the grid layout (reverse = 0) or back. On failure every rank rolls back
 * to the layout it started in and returns the same status, the first failed rank's (detail
 * device = that rank); LAYOUT_LOST if the roll back failed; TIMEOUT or PEER_LOST if the transport
 * broke: the matrix is then lost, unless it broke in the split (the way to the grid: this rank's
 * buffer is back in row layout; the way back: it holds its rows). */
bunmg_status bunmg_grid_execute(const bunmg_grid_plan *plan, const bunmg_grid_transport *transport, int32_t rank,
                                void *buffer, void *staging, size_t element_bytes, int reverse);

#endif
