/* The redistribution's transport over MPI (grid_exec.h): copies are memcpy, sends and receives
 * MPI_Isend / MPI_Irecv on the handle's communicator with one tag (MPI matches messages of one
 * pair and tag in order, as every rank posts its moves in the plan's order), complete() polls
 * them under the timeout and the ranks' liveness, agree() is an MPI_Iallreduce polled the same
 * way, after every round. An injected FAIL still moves the data, as the executor requires of a
 * failed send (its receive completes), and reports DEVICE_ERROR. */
#include <stdlib.h>
#include <string.h>

#include "mp/grid_exec.h"
#include "mp/mp_transport.h"

#define TAG 0x6267
#define MESSAGE_CHUNK ((size_t)1 << 30) /* bytes per MPI message: counts are ints */

typedef struct transport {
  bunmg_mp *mp;
  bunmg_mpi_handle *requests;
  int32_t *peers;
  int64_t count, cap;
} transport;

static bunmg_status injected(transport *t, const char *what) {
  if (!bunmg_mp_fault_fires(t->mp, BUNMG_MP_FAULT_FAIL)) return BUNMG_OK;
  return bunmg_fail_at(BUNMG_DEVICE_ERROR, -1, t->mp->rank, "injected failure of a %s on rank %d", what, t->mp->rank);
}

static bunmg_status grow(transport *t, int64_t more) {
  if (t->count + more <= t->cap) return BUNMG_OK;
  int64_t cap = t->cap ? t->cap : 64;
  while (cap < t->count + more) cap *= 2;
  bunmg_mpi_handle *requests = realloc(t->requests, sizeof *requests * (size_t)cap);
  if (requests) t->requests = requests;
  int32_t *peers = requests ? realloc(t->peers, sizeof *peers * (size_t)cap) : NULL;
  if (peers) t->peers = peers;
  if (!requests || !peers) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "MPI transport: out of host memory");
  t->cap = cap;
  return BUNMG_OK;
}

static bunmg_status mpi_copy(void *context, void *dst, const void *src, size_t bytes) {
  transport *t = context;
  bunmg_mp_fault_comm(t->mp);
  memcpy(dst, src, bytes);
  return injected(t, "copy");
}

/* Posts one move's messages (send: src, receive: dst). */
static bunmg_status post(transport *t, int32_t peer, void *buffer, size_t bytes, int sending) {
  bunmg_mp *mp = t->mp;
  bunmg_mp_fault_comm(mp);
  bunmg_status st = grow(t, (int64_t)((bytes + MESSAGE_CHUNK - 1) / MESSAGE_CHUNK));
  for (size_t at = 0; at < bytes && st == BUNMG_OK; at += MESSAGE_CHUNK) {
    int n = (int)(bytes - at < MESSAGE_CHUNK ? bytes - at : MESSAGE_CHUNK);
    bunmg_mpi_handle *request = &t->requests[t->count];
    int rc = sending ? mp->mpi->isend((char *)buffer + at, n, mp->mpi->byte_type, peer, TAG, mp->comm, request)
                     : mp->mpi->irecv((char *)buffer + at, n, mp->mpi->byte_type, peer, TAG, mp->comm, request);
    if (rc != BUNMG_MPI_SUCCESS) return bunmg_mp_mpi_failed(mp, rc, peer, sending ? "MPI_Isend" : "MPI_Irecv");
    t->peers[t->count++] = peer;
  }
  return st == BUNMG_OK ? injected(t, sending ? "send" : "receive") : st;
}

static bunmg_status mpi_send(void *context, int32_t peer, const void *src, size_t bytes) {
  return post(context, peer, (void *)src, bytes, 1); /* MPI_Isend reads it only */
}

static bunmg_status mpi_recv(void *context, int32_t peer, void *dst, size_t bytes) {
  return post(context, peer, dst, bytes, 0);
}

static bunmg_status mpi_complete(void *context) {
  transport *t = context;
  bunmg_status st = bunmg_mp_wait(t->mp, t->requests, t->peers, t->count, "a round of the redistribution");
  if (st == BUNMG_OK) t->count = 0;
  return st;
}

static bunmg_status mpi_agree(void *context, bunmg_status mine, int32_t *first, bunmg_status *first_status) {
  transport *t = context;
  return bunmg_mp_agree_first(t->mp, mine, first, first_status);
}

bunmg_status bunmg_mp_execute(bunmg_mp *mp, const bunmg_grid_plan *plan, void *buffer, void *staging,
                              size_t element_bytes, int reverse) {
  transport t = {mp, NULL, NULL, 0, 0};
  bunmg_grid_transport ops = {&t, mpi_copy, mpi_send, mpi_recv, mpi_complete, mpi_agree, 1};
  bunmg_status st = bunmg_grid_execute(plan, &ops, mp->rank, buffer, staging, element_bytes, reverse);
  if (mp->broken == BUNMG_OK) { /* else requests may still be pending on them */
    free(t.requests);
    free(t.peers);
  }
  return st;
}

bunmg_status bunmg_mp_redistribute(bunmg_mp *mp, const bunmg_grid *grid, void *buffer, int32_t element_bytes,
                                   int32_t flags) {
  bunmg_clear_error();
  bunmg_status st = bunmg_mp_enter(mp);
  if (st != BUNMG_OK) {
    bunmg_error_prefix("mp_redistribute: ");
    return st;
  }
  bunmg_grid_plan *plan = NULL;
  void *staging = NULL;
  if (!grid) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "grid is NULL");
  else if (!buffer) st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "buffer is NULL");
  else if (element_bytes < 1 || element_bytes > 1024)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "element_bytes must be in 1..1024, got %d", element_bytes);
  else if (flags & ~BUNMG_GRID_TO_ROWS)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown flags 0x%x", (unsigned)flags);
  else if ((int64_t)grid->prows * grid->pcols != mp->size)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "a %d x %d grid needs %lld ranks, the job has %d",
                    grid->prows, grid->pcols, (long long)grid->prows * grid->pcols, mp->size);
  if (st == BUNMG_OK) st = bunmg_grid_plan_create(grid, 1, 0, &plan);
  if (st == BUNMG_OK) {
    staging = malloc((size_t)(plan->summary.staging > 0 ? plan->summary.staging : 1) * (size_t)element_bytes);
    if (!staging) st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for staging");
  }
  int64_t signature[] = {grid ? grid->m : 0, grid ? grid->n : 0, grid ? grid->mb : 0, grid ? grid->nb : 0,
                         grid ? grid->prows : 0, grid ? grid->pcols : 0, grid ? grid->order : 0, element_bytes, flags};
  static const char *const fields[] = {"M", "N", "MB", "NB", "prows", "pcols", "order", "element_bytes", "flags"};
  st = bunmg_mp_agree(mp, st, signature, fields, 9, "mp_redistribute");
  if (st == BUNMG_OK) st = bunmg_mp_execute(mp, plan, buffer, staging, (size_t)element_bytes, flags & BUNMG_GRID_TO_ROWS);
  if (mp->broken == BUNMG_OK) free(staging);
  bunmg_grid_plan_destroy(plan);
  bunmg_mp_exit(mp);
  if (st != BUNMG_OK) bunmg_error_prefix("mp_redistribute: ");
  return st;
}
