/* Blocking MPI, BLACS and ScaLAPACK calls on a worker thread, watched by the caller: the caller
 * polls for the worker's end under the deadline and the ranks' liveness, and abandons it on
 * TIMEOUT or PEER_LOST (it cannot be cancelled: it may be blocked in MPI until the process
 * exits). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/shm.h"
#include "mp/mp_world.h"

typedef struct job {
  bunmg_mp_task task;
  void *arg;
  _Atomic int done;
  bunmg_status status;
  int64_t index;
  int32_t device;
  char message[1024];
} job;

static void *work(void *p) {
  job *j = p;
  bunmg_clear_error();
  j->status = j->task(j->arg);
  snprintf(j->message, sizeof j->message, "%s", bunmg_last_error());
  bunmg_last_error_detail(&j->index, &j->device);
  atomic_store_explicit(&j->done, 1, memory_order_release);
  return NULL;
}

bunmg_status bunmg_mp_run(bunmg_mp *mp, int64_t timeout_ms, bunmg_mp_task task, void *arg, const char *what,
                          int *abandoned) {
  *abandoned = 0;
  job *j = calloc(1, sizeof *j);
  if (!j) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory for its worker", what);
  j->task = task;
  j->arg = arg;
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, j) != 0) {
    free(j);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: could not start its worker thread", what);
  }
  int64_t start = bunmg_now_ms();
  mp_watch watch;
  bunmg_mp_watch_start(&watch, what);
  bunmg_status st = BUNMG_OK;
  for (int round = 0; !atomic_load_explicit(&j->done, memory_order_acquire); bunmg_backoff(&round)) {
    if (mp && (st = bunmg_mp_watch(mp, &watch)) != BUNMG_OK) break;
    if (bunmg_now_ms() - start >= timeout_ms) {
      st = bunmg_fail_at(BUNMG_TIMEOUT, -1, -1, "%s did not finish within %lld ms (every rank is alive)", what,
                         (long long)timeout_ms);
      if (mp) st = bunmg_mp_break(mp, st, -1, "%s", bunmg_last_error());
      break;
    }
  }
  if (st != BUNMG_OK) {
    pthread_detach(thread); /* j stays allocated: the worker still owns it */
    *abandoned = 1;
    return st;
  }
  pthread_join(thread, NULL);
  st = j->status;
  if (st != BUNMG_OK) bunmg_fail_at(st, j->index, j->device, "%s", j->message);
  free(j);
  return st;
}
