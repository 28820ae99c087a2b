/* One rank of an MPI job (bunmg_mp): MPI initialized once per process, a duplicate of
 * MPI_COMM_WORLD with MPI_ERRORS_RETURN, the rank table for liveness, and every wait polled.
 *
 * Open MPI 4.1 never returns an error to a call blocked on a dead peer, so nothing here blocks in
 * MPI: communication is non-blocking and polled (MPI_Test) under the handle's timeout, watching
 * (bunmg_mp_watch) for a failure notice from another rank and, every 10 ms, that the ranks on
 * this host are still the processes that joined (pid and start time, the groups' liveness test).
 * Blocking calls (MPI_Init_thread, MPI_Comm_dup, BLACS and ScaLAPACK) run on a worker thread
 * that the caller watches the same way (mp_worker.c). The first rank to see a TIMEOUT or a lost
 * rank breaks its handle and sends every other rank a notice of it, so that all report the same
 * culprit (a rank that exits after reporting is not one). Requests and workers still pending are
 * abandoned with the memory they use, and every later call reports that failure. MPI in this
 * process is then unusable (Open MPI 4.1 cannot leave a broken communicator, nor initialize
 * twice): a later bunmg_mp_join fails naming the first failure. */
#ifndef BUNMG_MP_WORLD_H
#define BUNMG_MP_WORLD_H

#include <stdatomic.h>

#include "mp/mpi_abi.h"

typedef struct mp_peer {
  int64_t pid;
  uint64_t start; /* process start time: a reused pid is not the rank */
  uint64_t host;  /* hash of the host name and boot id: liveness is checked on this host only */
} mp_peer;

#define MP_BLACS_GRIDS 8

/* A BLACS grid made once per shape and kept for the handle's life (bunmg_blacs_* in
 * scalapack.h). */
typedef struct mp_blacs {
  int32_t used, prows, pcols, order;
  int32_t context;    /* Cblacs_gridinit's */
  int32_t prow, pcol; /* this rank's position */
} mp_blacs;

struct bunmg_mp {
  const struct mp_engine *engine;
  struct mp_gpu *gpu;      /* the cuSOLVERMp engine's world (NULL under ScaLAPACK) */
  const bunmg_mpi *mpi;    /* NULL: a world of one without MPI (the GPU engine's) */
  bunmg_mpi_handle comm;
  int32_t rank, size;
  int64_t timeout_ms;
  mp_peer *peers;
  _Atomic int32_t busy;    /* one call at a time */
  int32_t factors;         /* live factors: leaving refuses while there are any */
  /* the first failure that broke the handle: TIMEOUT or PEER_LOST */
  bunmg_status broken;
  int32_t broken_rank;
  char broken_message[1000];
  /* a failure notice from another rank: always posted, received into notice_in */
  bunmg_mpi_handle notice_request;
  struct mp_notice *notice_in;
  /* fault injection (bunmg_mp_debug_inject): the kind armed, events left before it fires, and
   * the events of each kind since the last bunmg_mp_debug_inject */
  int32_t fault_kind;
  int64_t fault_left;
  int64_t fault_events[6];
  mp_blacs blacs[MP_BLACS_GRIDS];
  int32_t blacs_system; /* Csys2blacs_handle of comm, one for every grid; -1: none yet */
};

/* ---- the handle (mp_world.c) ---- */
/* The MPI job joined (bunmg_mp_join without its message prefix), under `engine`. */
bunmg_status bunmg_mp_join_mpi(int64_t timeout_ms, const struct mp_engine *engine, bunmg_mp **out);
/* A world of one rank without MPI, under `engine`: one handle per process, as with MPI. */
bunmg_status bunmg_mp_join_alone(int64_t timeout_ms, const struct mp_engine *engine, bunmg_mp **out);
/* Enters a call on mp (INVALID_ARGUMENT when NULL or busy; the recorded failure when broken). */
bunmg_status bunmg_mp_enter(bunmg_mp *mp);
void bunmg_mp_exit(bunmg_mp *mp);

/* ---- failures (mp_failure.c) ---- */
/* Records the failure that breaks mp (the first one stays), tells the other ranks, and reports
 * it: the transport and workers after TIMEOUT or PEER_LOST. MPI in the process is then
 * unusable. */
bunmg_status bunmg_mp_break(bunmg_mp *mp, bunmg_status status, int32_t rank, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* What every wait polls between its tests: a failure notice from another rank, then every 10 ms
 * the ranks on this host (a rank whose process is gone is lost once `grace` more ms have passed
 * without the wait ending: one that exits right after its last operation was not needed). OK
 * to keep waiting, else the failure (mp broken). */
typedef struct mp_watch {
  const char *what;
  int64_t checked, gone_since;
} mp_watch;
void bunmg_mp_watch_start(mp_watch *w, const char *what);
bunmg_status bunmg_mp_watch(bunmg_mp *mp, mp_watch *w);
/* mp's recorded failure as this thread's error. */
bunmg_status bunmg_mp_reported(const bunmg_mp *mp);
/* An MPI call's error code as a failure that breaks mp. */
bunmg_status bunmg_mp_mpi_failed(bunmg_mp *mp, int code, int32_t peer, const char *call);
/* The receive of the other ranks' notices: posted at join, cancelled at leave. */
bunmg_status bunmg_mp_notices_start(bunmg_mp *mp);
void bunmg_mp_notices_stop(bunmg_mp *mp);
/* The process's first failure that made MPI unusable here (NULL: none), and recording one. */
const char *bunmg_mp_process_failure(void);
void bunmg_mp_process_fails(const char *message);

/* ---- fault injection (mp_faults.c) ---- */
/* Fault points: a communication operation (DIE fires here), a ScaLAPACK call starting on the
 * worker (DIE_ENGINE); bunmg_mp_fault_fires counts an event of `kind` and says whether its fault
 * fires there (FAIL at a redistribution operation, SKEW_* after an eigensolver). */
void bunmg_mp_fault_comm(bunmg_mp *mp);
void bunmg_mp_fault_engine(bunmg_mp *mp);
int bunmg_mp_fault_fires(bunmg_mp *mp, int32_t kind);

/* ---- communication (mp_comm.c) ---- */
/* Waits for `count` requests, polled: TIMEOUT after the handle's timeout naming the rank the
 * first unfinished one waits for (peer_of[i]; NULL or -1: unknown), PEER_LOST when a rank is
 * gone; both break mp. An MPI error breaks it too (PEER_LOST naming that rank). */
bunmg_status bunmg_mp_wait(bunmg_mp *mp, bunmg_mpi_handle *requests, const int32_t *peer_of, int64_t count,
                           const char *what);
typedef enum { MP_INT64, MP_FLOAT, MP_DOUBLE } mp_type;
typedef enum { MP_MAX, MP_SUM } mp_op;
/* In place over every rank, polled (the data is copied through buffers of its own, which an
 * abandoned call keeps). */
bunmg_status bunmg_mp_allreduce(bunmg_mp *mp, void *data, int64_t count, mp_type type, mp_op op, const char *what);
bunmg_status bunmg_mp_bcast(bunmg_mp *mp, void *data, size_t bytes, int32_t root, const char *what);

/* Agreement on a step: every rank gives its status. *first receives the lowest failed rank (-1:
 * none) and *first_status its status. */
bunmg_status bunmg_mp_agree_first(bunmg_mp *mp, bunmg_status mine, int32_t *first, bunmg_status *first_status);
/* Agreement on a call: every rank gives the call's signature (`count` <= 16 fields named by
 * `names`) and its status with this thread's error. When a rank failed every rank fails with the
 * lowest failed rank's status, message and detail ("rank r: ...", device r unless the detail
 * names one; without the prefix when every rank failed); else when the signatures differ every
 * rank fails with INVALID_ARGUMENT naming the field; else OK. */
bunmg_status bunmg_mp_agree(bunmg_mp *mp, bunmg_status mine, const int64_t *signature, const char *const *names,
                            int32_t count, const char *what);

/* ---- the worker (mp_worker.c) ---- */
typedef bunmg_status (*bunmg_mp_task)(void *arg);
/* Runs task(arg) on a new thread and waits for it, bounded by timeout_ms and, with mp, the
 * liveness of its ranks. Its failure comes back as this thread's error. On TIMEOUT or PEER_LOST
 * the thread is abandoned (it may be blocked in MPI for good): *abandoned = 1, and arg with
 * everything it points to must stay allocated; mp (if any) is broken. */
bunmg_status bunmg_mp_run(bunmg_mp *mp, int64_t timeout_ms, bunmg_mp_task task, void *arg, const char *what,
                          int *abandoned);

#endif
