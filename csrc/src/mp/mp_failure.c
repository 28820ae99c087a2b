/* Failures that break an mp handle: the first rank to see one records it and tells every other
 * rank (a notice on the handle's communicator, which every wait polls), so that all report the
 * same culprit; and what every wait watches meanwhile (mp_world.h). */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/shm.h"
#include "mp/mp_world.h"

#define LIVENESS_EVERY_MS 10

/* MPI cannot be used again in this process once a handle broke. */
static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static char process_failure[1024];

void bunmg_mp_process_fails(const char *message) {
  pthread_mutex_lock(&process_lock);
  if (!process_failure[0]) snprintf(process_failure, sizeof process_failure, "%s", message);
  pthread_mutex_unlock(&process_lock);
}

const char *bunmg_mp_process_failure(void) {
  pthread_mutex_lock(&process_lock);
  const char *failure = process_failure[0] ? process_failure : NULL;
  pthread_mutex_unlock(&process_lock);
  return failure;
}

bunmg_status bunmg_mp_reported(const bunmg_mp *mp) {
  return bunmg_fail_at(mp->broken, -1, mp->broken_rank, "%s", mp->broken_message);
}

/* A failure as one rank tells the others. */
typedef struct mp_notice {
  int32_t status, rank;
  char message[1000];
} mp_notice;

#define NOTICE_TAG 0x6268
#define NOTICE_PUSH_MS 20 /* how long the notices' sends are helped along before going on */
#define GRACE_MS 100

static void record(bunmg_mp *mp, bunmg_status status, int32_t rank, const char *message) {
  snprintf(mp->broken_message, sizeof mp->broken_message, "%s", message);
  mp->broken = status;
  mp->broken_rank = rank;
  bunmg_mp_process_fails(message);
}

/* The failure to every other rank, without waiting on any (one may be dead): the requests and
 * the record are left to MPI. */
static void send_notices(bunmg_mp *mp) {
  if (!mp->notice_in) return; /* the failure came from another rank's notice, or before the receive was posted */
  mp_notice *n = calloc(1, sizeof *n);
  bunmg_mpi_handle *requests = calloc((size_t)mp->size, sizeof *requests);
  if (!n || !requests) {
    free(n);
    free(requests);
    return;
  }
  *n = (mp_notice){mp->broken, mp->broken_rank, ""};
  snprintf(n->message, sizeof n->message, "%s", mp->broken_message);
  for (int32_t r = 0; r < mp->size; r++)
    if (r != mp->rank) mp->mpi->isend(n, (int)sizeof *n, mp->mpi->byte_type, r, NOTICE_TAG, mp->comm, &requests[r]);
  for (int64_t until = bunmg_now_ms() + NOTICE_PUSH_MS; bunmg_now_ms() < until;) {
    int pending = 0;
    for (int32_t r = 0; r < mp->size; r++) {
      int flag = 1;
      if (r != mp->rank && requests[r]) mp->mpi->test(&requests[r], &flag, NULL);
      pending |= !flag;
    }
    if (!pending) break;
    sched_yield();
  }
}

bunmg_status bunmg_mp_break(bunmg_mp *mp, bunmg_status status, int32_t rank, const char *fmt, ...) {
  if (mp->broken == BUNMG_OK) {
    char message[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    record(mp, status, rank, message);
    send_notices(mp);
  }
  return bunmg_mp_reported(mp);
}

/* 1 when another rank's failure notice has arrived (mp is then broken with it). */
static int notice_arrived(bunmg_mp *mp) {
  int flag = 0;
  if (!mp->notice_in || mp->mpi->test(&mp->notice_request, &flag, NULL) != BUNMG_MPI_SUCCESS || !flag) return 0;
  mp_notice *n = mp->notice_in;
  n->message[sizeof n->message - 1] = '\0';
  bunmg_status status = n->status == BUNMG_TIMEOUT ? BUNMG_TIMEOUT : BUNMG_PEER_LOST;
  if (mp->broken == BUNMG_OK) record(mp, status, n->rank, n->message);
  free(n); /* received: nothing is posted any more */
  mp->notice_in = NULL;
  return 1;
}

/* The first rank on this host that is not the process that joined, or -1. */
static int32_t first_gone(const bunmg_mp *mp) {
  if (!mp->peers) return -1;
  uint64_t here = mp->peers[mp->rank].host;
  for (int32_t r = 0; r < mp->size; r++) {
    const mp_peer *p = &mp->peers[r];
    if (r != mp->rank && p->host == here && !bunmg_process_alive((int32_t)p->pid, p->start)) return r;
  }
  return -1;
}

static bunmg_status lost(bunmg_mp *mp, int32_t r, const char *what) {
  return bunmg_mp_break(mp, BUNMG_PEER_LOST, r, "rank %d died (its process %lld is gone); rank %d noticed during %s", r,
                        (long long)mp->peers[r].pid, mp->rank, what);
}

void bunmg_mp_watch_start(mp_watch *w, const char *what) { *w = (mp_watch){what, bunmg_now_ms(), -1}; }

bunmg_status bunmg_mp_watch(bunmg_mp *mp, mp_watch *w) {
  if (mp->broken != BUNMG_OK || notice_arrived(mp)) return bunmg_mp_reported(mp);
  int64_t now = bunmg_now_ms();
  if (now - w->checked < LIVENESS_EVERY_MS) return BUNMG_OK;
  w->checked = now;
  int32_t r = first_gone(mp);
  if (r < 0) w->gone_since = -1;
  else if (w->gone_since < 0) w->gone_since = now;
  else if (now - w->gone_since >= GRACE_MS) return lost(mp, r, w->what);
  return BUNMG_OK;
}

bunmg_status bunmg_mp_mpi_failed(bunmg_mp *mp, int code, int32_t peer, const char *call) {
  char text[BUNMG_MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (mp->mpi->error_string(code, text, &len) != BUNMG_MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
  if (mp->broken != BUNMG_OK || notice_arrived(mp)) return bunmg_mp_reported(mp);
  int32_t r = first_gone(mp); /* a dead rank explains it best */
  if (r >= 0) return lost(mp, r, call);
  return bunmg_mp_break(mp, BUNMG_PEER_LOST, peer, "%s failed on rank %d%s: %s", call, mp->rank,
                        peer >= 0 ? " (with its peer rank)" : "", text);
}

/* The receive of another rank's failure notice, pending for the handle's life. */
bunmg_status bunmg_mp_notices_start(bunmg_mp *mp) {
  mp_notice *n = calloc(1, sizeof *n);
  if (!n) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  int rc = mp->mpi->irecv(n, (int)sizeof *n, mp->mpi->byte_type, BUNMG_MPI_ANY_SOURCE, NOTICE_TAG, mp->comm,
                          &mp->notice_request);
  if (rc != BUNMG_MPI_SUCCESS) {
    free(n);
    return bunmg_mp_mpi_failed(mp, rc, -1, "MPI_Irecv");
  }
  mp->notice_in = n;
  return BUNMG_OK;
}

void bunmg_mp_notices_stop(bunmg_mp *mp) {
  int flag = 0;
  if (!mp->notice_in || mp->mpi->cancel(&mp->notice_request) != BUNMG_MPI_SUCCESS) return;
  for (int round = 0; !flag && round < 1000 && mp->mpi->test(&mp->notice_request, &flag, NULL) == BUNMG_MPI_SUCCESS;)
    bunmg_backoff(&round);
  if (flag) free(mp->notice_in); /* else MPI still holds it */
  mp->notice_in = NULL;
}
