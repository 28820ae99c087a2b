/* An mp handle's communication: waits polled under its timeout and watch, collectives chunked
 * below MPI's int counts, and the agreement on a step's outcome (mp_world.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/shm.h"
#include "mp/mp_world.h"

#define MPI_CHUNK ((int64_t)1 << 30) /* elements per MPI call: counts are ints */

/* ---- waits ---- */

bunmg_status bunmg_mp_wait(bunmg_mp *mp, bunmg_mpi_handle *requests, const int32_t *peer_of, int64_t count,
                           const char *what) {
  bunmg_mp_fault_comm(mp);
  mp_watch watch;
  bunmg_mp_watch_start(&watch, what);
  int64_t start = bunmg_now_ms(), next = 0;
  for (int round = 0; next < count; bunmg_backoff(&round)) {
    /* requests before `next` are done; MPI_Test completes the rest in any order */
    for (int64_t i = next; i < count; i++) {
      int flag = 0;
      int rc = mp->mpi->test(&requests[i], &flag, NULL);
      if (rc != BUNMG_MPI_SUCCESS) return bunmg_mp_mpi_failed(mp, rc, peer_of ? peer_of[i] : -1, what);
      if (flag && i == next) next++;
    }
    if (next == count) break;
    bunmg_status st = bunmg_mp_watch(mp, &watch);
    if (st != BUNMG_OK) return st;
    if (bunmg_now_ms() - start >= mp->timeout_ms) {
      int32_t peer = peer_of ? peer_of[next] : -1;
      if (peer >= 0)
        return bunmg_mp_break(mp, BUNMG_TIMEOUT, peer, "rank %d did not complete %s within %lld ms", peer, what,
                              (long long)mp->timeout_ms);
      return bunmg_mp_break(mp, BUNMG_TIMEOUT, -1, "the ranks did not all arrive at %s within %lld ms (every rank is alive)",
                            what, (long long)mp->timeout_ms);
    }
  }
  return BUNMG_OK;
}

/* ---- collectives, chunked below MPI's int counts ---- */

static bunmg_mpi_handle type_of(const bunmg_mpi *mpi, mp_type type, size_t *bytes) {
  *bytes = type == MP_FLOAT ? 4 : 8;
  return type == MP_INT64 ? mpi->int64_type : type == MP_FLOAT ? mpi->float_type : mpi->double_type;
}

bunmg_status bunmg_mp_allreduce(bunmg_mp *mp, void *data, int64_t count, mp_type type, mp_op op, const char *what) {
  if (mp->broken != BUNMG_OK) return bunmg_mp_reported(mp);
  if (!mp->mpi) return BUNMG_OK; /* a world of one without MPI */
  size_t esize;
  bunmg_mpi_handle t = type_of(mp->mpi, type, &esize);
  size_t bytes = (size_t)count * esize;
  char *send = malloc(bytes ? bytes : 1), *recv = malloc(bytes ? bytes : 1);
  if (!send || !recv) {
    free(send);
    free(recv);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory (%zu bytes)", what, 2 * bytes);
  }
  memcpy(send, data, bytes);
  bunmg_status st = BUNMG_OK;
  for (int64_t at = 0; at < count && st == BUNMG_OK; at += MPI_CHUNK) {
    int n = (int)(count - at < MPI_CHUNK ? count - at : MPI_CHUNK);
    bunmg_mpi_handle request;
    int rc = mp->mpi->iallreduce(send + at * esize, recv + at * esize, n, t, op == MP_MAX ? mp->mpi->op_max : mp->mpi->op_sum,
                                 mp->comm, &request);
    st = rc == BUNMG_MPI_SUCCESS ? bunmg_mp_wait(mp, &request, NULL, 1, what) : bunmg_mp_mpi_failed(mp, rc, -1, what);
  }
  if (st == BUNMG_OK) memcpy(data, recv, bytes);
  if (mp->broken == BUNMG_OK) { /* else MPI may still write them */
    free(send);
    free(recv);
  }
  return st;
}

bunmg_status bunmg_mp_bcast(bunmg_mp *mp, void *data, size_t bytes, int32_t root, const char *what) {
  if (mp->broken != BUNMG_OK) return bunmg_mp_reported(mp);
  if (!mp->mpi) return BUNMG_OK;
  char *copy = malloc(bytes ? bytes : 1);
  if (!copy) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory (%zu bytes)", what, bytes);
  if (mp->rank == root) memcpy(copy, data, bytes);
  bunmg_status st = BUNMG_OK;
  for (size_t at = 0; at < bytes && st == BUNMG_OK; at += (size_t)MPI_CHUNK) {
    int n = (int)(bytes - at < (size_t)MPI_CHUNK ? bytes - at : (size_t)MPI_CHUNK);
    bunmg_mpi_handle request;
    int rc = mp->mpi->ibcast(copy + at, n, mp->mpi->byte_type, root, mp->comm, &request);
    st = rc == BUNMG_MPI_SUCCESS ? bunmg_mp_wait(mp, &request, NULL, 1, what) : bunmg_mp_mpi_failed(mp, rc, root, what);
  }
  if (st == BUNMG_OK && mp->rank != root) memcpy(data, copy, bytes);
  if (mp->broken == BUNMG_OK) free(copy);
  return st;
}

/* ---- agreement ---- */

/* The lowest failed rank wins: each gives (size - rank) << 8 | status, or 0; the maximum is it. */
static int64_t failure_key(const bunmg_mp *mp, bunmg_status mine) {
  return mine == BUNMG_OK ? 0 : ((int64_t)(mp->size - mp->rank) << 8) | (int64_t)mine;
}

static void decode_failure(const bunmg_mp *mp, int64_t key, int32_t *first, bunmg_status *status) {
  *first = key == 0 ? -1 : mp->size - (int32_t)(key >> 8);
  *status = key == 0 ? BUNMG_OK : (bunmg_status)(key & 0xff);
}

bunmg_status bunmg_mp_agree_first(bunmg_mp *mp, bunmg_status mine, int32_t *first, bunmg_status *first_status) {
  int64_t key = failure_key(mp, mine);
  bunmg_status st = bunmg_mp_allreduce(mp, &key, 1, MP_INT64, MP_MAX, "an agreement");
  if (st == BUNMG_OK) decode_failure(mp, key, first, first_status);
  return st;
}

/* The failed rank's error, as every rank reports it. */
typedef struct failure_record {
  int32_t status, device;
  int64_t index;
  char message[1000];
} failure_record;

#define MAX_SIGNATURE 16

bunmg_status bunmg_mp_agree(bunmg_mp *mp, bunmg_status mine, const int64_t *signature, const char *const *names,
                            int32_t count, const char *what) {
  failure_record record = {0};
  if (mine != BUNMG_OK) { /* taken now: the collectives below set this thread's error when they fail */
    record.status = mine;
    bunmg_last_error_detail(&record.index, &record.device);
    snprintf(record.message, sizeof record.message, "%s", bunmg_last_error());
  }
  int64_t v[2 * MAX_SIGNATURE + 2];
  for (int32_t k = 0; k < count; k++) {
    v[k] = signature[k];
    v[count + k] = -signature[k];
  }
  v[2 * count] = failure_key(mp, mine);
  v[2 * count + 1] = mine == BUNMG_OK; /* 0 when every rank failed */
  bunmg_status st = bunmg_mp_allreduce(mp, v, 2 * count + 2, MP_INT64, MP_MAX, what);
  if (st != BUNMG_OK) return st;
  int32_t first;
  bunmg_status first_status;
  decode_failure(mp, v[2 * count], &first, &first_status);
  if (first < 0) {
    for (int32_t k = 0; k < count; k++)
      if (v[k] != -v[count + k])
        return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                          "%s: the ranks disagree on %s (from %lld to %lld): every rank must pass the same", what,
                          names[k], (long long)-v[count + k], (long long)v[k]);
    return BUNMG_OK;
  }
  st = bunmg_mp_bcast(mp, &record, sizeof record, first, what);
  if (st != BUNMG_OK) return st;
  record.message[sizeof record.message - 1] = '\0';
  if (v[2 * count + 1] == 0) /* every rank failed (the same way, as a routine's numerical failure) */
    return bunmg_fail_at(first_status, record.index, record.device, "%s", record.message);
  return bunmg_fail_at(first_status, record.index, record.device >= 0 ? record.device : first, "rank %d: %s", first,
                       record.message);
}
