/* Joining an MPI job (bunmg_mp_join): MPI initialized once per process, a duplicate of
 * MPI_COMM_WORLD, the rank table; leaving; one call at a time on a handle (mp_world.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group/shm.h"
#include "mp/mp_world.h"
#include "mp/mp_engine.h"
#include "mp/scalapack.h"

#define DEFAULT_TIMEOUT_MS 60000

/* MPI is initialized once per process, and one handle at a time joins (BLACS keeps global state,
 * and every rank must join as often as the others). */
static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static int process_ready, process_joined;

bunmg_status bunmg_mp_enter(bunmg_mp *mp) {
  if (!mp) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp is NULL");
  int32_t idle = 0;
  if (!atomic_compare_exchange_strong(&mp->busy, &idle, 1))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "the mp handle is busy with another call");
  if (mp->broken == BUNMG_OK) return BUNMG_OK;
  atomic_store(&mp->busy, 0);
  return bunmg_fail_at(mp->broken, -1, mp->broken_rank, "the MPI job is broken: %s", mp->broken_message);
}

void bunmg_mp_exit(bunmg_mp *mp) { atomic_store(&mp->busy, 0); }

static uint64_t fnv(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

/* This host: its name and boot id (two containers of one name on two machines differ). */
static uint64_t host_id(void) {
  char name[256] = "", boot[64] = "";
  gethostname(name, sizeof name - 1);
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, boot, sizeof boot - 1);
    if (n > 0) boot[n] = '\0';
    close(fd);
  }
  return fnv(fnv(0xcbf29ce484222325ull, name, strlen(name)), boot, strlen(boot));
}

typedef struct init_task {
  const bunmg_mpi *mpi;
  bunmg_mpi_handle comm; /* the duplicate, from dup_task */
} init_task;

/* MPI_Init_thread, or the level of an MPI someone else initialized. Blocks (it meets mpirun's
 * daemon, or starts one as a singleton): on the worker. */
static bunmg_status run_init(void *arg) {
  const bunmg_mpi *mpi = ((init_task *)arg)->mpi;
  int flag = 0, provided = 0;
  if (mpi->finalized(&flag) == BUNMG_MPI_SUCCESS && flag)
    return bunmg_fail(BUNMG_UNSUPPORTED, "MPI was finalized in this process; it cannot be initialized again");
  int rc = mpi->initialized(&flag);
  if (rc == BUNMG_MPI_SUCCESS) rc = flag ? mpi->query_thread(&provided) : mpi->init_thread(NULL, NULL, BUNMG_MPI_THREAD_MULTIPLE, &provided);
  if (rc != BUNMG_MPI_SUCCESS) return bunmg_fail(BUNMG_DEVICE_ERROR, "MPI_Init_thread failed (error %d)", rc);
  if (provided < BUNMG_MPI_THREAD_MULTIPLE)
    return bunmg_fail(BUNMG_UNSUPPORTED,
                      "MPI provides thread level %d, the mp engine needs MPI_THREAD_MULTIPLE (3): ScaLAPACK runs on a "
                      "worker thread",
                      provided);
  return BUNMG_OK;
}

static bunmg_status run_dup(void *arg) {
  init_task *t = arg;
  int rc = t->mpi->comm_dup(t->mpi->comm_world, &t->comm);
  return rc == BUNMG_MPI_SUCCESS ? BUNMG_OK : bunmg_fail(BUNMG_PEER_LOST, "MPI_Comm_dup of MPI_COMM_WORLD failed (error %d)", rc);
}

static bunmg_status run_free(void *arg) {
  init_task *t = arg;
  t->mpi->comm_free(&t->comm);
  return BUNMG_OK;
}

/* Once per process: MPI initialized with MPI_ERRORS_RETURN on the predefined communicators. */
static bunmg_status prepare_process(const bunmg_mpi *mpi, int64_t timeout_ms) {
  const char *failure = bunmg_mp_process_failure();
  if (failure) return bunmg_fail(BUNMG_UNSUPPORTED, "MPI cannot be used again in this process after a failure: %s", failure);
  if (process_ready) return BUNMG_OK;
  init_task *t = calloc(1, sizeof *t);
  if (!t) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  t->mpi = mpi;
  int abandoned = 0;
  bunmg_status st = bunmg_mp_run(NULL, timeout_ms, run_init, t, "MPI_Init_thread", &abandoned);
  if (abandoned) {
    bunmg_mp_process_fails(bunmg_last_error());
    return st;
  }
  free(t);
  if (st != BUNMG_OK) return st;
  int rc = mpi->comm_set_errhandler(mpi->comm_world, mpi->errors_return);
  if (rc == BUNMG_MPI_SUCCESS) rc = mpi->comm_set_errhandler(mpi->comm_self, mpi->errors_return);
  if (rc != BUNMG_MPI_SUCCESS) return bunmg_fail(BUNMG_DEVICE_ERROR, "MPI_Comm_set_errhandler failed (error %d)", rc);
  process_ready = 1;
  return BUNMG_OK;
}

/* MPI_COMM_WORLD duplicated (collective, blocking: on the worker), with MPI_ERRORS_RETURN. */
static bunmg_status duplicate_world(bunmg_mp *mp) {
  init_task *t = calloc(1, sizeof *t);
  if (!t) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  t->mpi = mp->mpi;
  int abandoned = 0;
  bunmg_status st = bunmg_mp_run(NULL, mp->timeout_ms, run_dup, t, "MPI_Comm_dup (every rank of MPI_COMM_WORLD joining)",
                                 &abandoned);
  if (abandoned) {
    bunmg_mp_process_fails(bunmg_last_error());
    return st;
  }
  mp->comm = t->comm;
  free(t);
  if (st != BUNMG_OK) return st;
  int rc = mp->mpi->comm_set_errhandler(mp->comm, mp->mpi->errors_return);
  if (rc == BUNMG_MPI_SUCCESS) rc = mp->mpi->comm_rank(mp->comm, &mp->rank);
  if (rc == BUNMG_MPI_SUCCESS) rc = mp->mpi->comm_size(mp->comm, &mp->size);
  if (rc != BUNMG_MPI_SUCCESS) return bunmg_fail(BUNMG_DEVICE_ERROR, "MPI on the duplicate of MPI_COMM_WORLD failed (error %d)", rc);
  if (mp->size > BUNMG_MAX_RANKS)
    return bunmg_fail(BUNMG_UNSUPPORTED, "the MPI job has %d ranks; the mp engine takes at most %d", mp->size, BUNMG_MAX_RANKS);
  return BUNMG_OK;
}

/* Every rank's pid, start time and host, for the liveness checks. */
static bunmg_status exchange_table(bunmg_mp *mp) {
  mp_peer *table = calloc((size_t)mp->size, sizeof *table);
  if (!table) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the rank table");
  mp_peer me = {getpid(), bunmg_process_start(getpid()), host_id()};
  bunmg_mpi_handle request;
  int rc = mp->mpi->iallgather(&me, (int)sizeof me, mp->mpi->byte_type, table, (int)sizeof me, mp->mpi->byte_type, mp->comm,
                               &request);
  bunmg_status st = rc == BUNMG_MPI_SUCCESS ? bunmg_mp_wait(mp, &request, NULL, 1, "the exchange of the rank table")
                                            : bunmg_mp_mpi_failed(mp, rc, -1, "MPI_Iallgather");
  if (st != BUNMG_OK) return st; /* the table stays: MPI may still write it */
  mp->peers = table;
  return bunmg_mp_notices_start(mp);
}


static void set_joined(int joined) {
  pthread_mutex_lock(&process_lock);
  process_joined = joined;
  pthread_mutex_unlock(&process_lock);
}

static bunmg_mp *new_handle(int64_t timeout_ms, const mp_engine *engine) {
  bunmg_mp *mp = calloc(1, sizeof *mp);
  if (!mp) {
    bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for an mp handle");
    return NULL;
  }
  mp->engine = engine;
  mp->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  mp->broken_rank = -1;
  mp->blacs_system = -1;
  mp->size = 1;
  return mp;
}

bunmg_status bunmg_mp_join_alone(int64_t timeout_ms, const mp_engine *engine, bunmg_mp **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp output is NULL");
  *out = NULL;
  pthread_mutex_lock(&process_lock);
  bunmg_status st = process_joined ? bunmg_fail(BUNMG_INVALID_ARGUMENT, "this process has joined its job already; leave first")
                                   : BUNMG_OK;
  if (st == BUNMG_OK) process_joined = 1;
  pthread_mutex_unlock(&process_lock);
  if (st != BUNMG_OK) return st;
  bunmg_mp *mp = new_handle(timeout_ms, engine);
  if (!mp) {
    set_joined(0);
    return BUNMG_OUT_OF_MEMORY;
  }
  *out = mp;
  return BUNMG_OK;
}

bunmg_status bunmg_mp_join_mpi(int64_t timeout_ms, const mp_engine *engine, bunmg_mp **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp output is NULL");
  *out = NULL;
  const bunmg_mpi *mpi;
  bunmg_status st = bunmg_mpi_load(&mpi);
  if (st != BUNMG_OK) return st;
  bunmg_mp *mp = new_handle(timeout_ms, engine);
  if (!mp) return BUNMG_OUT_OF_MEMORY;
  mp->mpi = mpi;
  pthread_mutex_lock(&process_lock);
  st = prepare_process(mpi, mp->timeout_ms); /* first: a process whose MPI broke says so */
  if (st == BUNMG_OK && process_joined)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "this process has joined its MPI job already; leave first");
  if (st == BUNMG_OK) process_joined = 1;
  pthread_mutex_unlock(&process_lock);
  if (st != BUNMG_OK) {
    free(mp);
    return st;
  }
  st = duplicate_world(mp);
  if (st == BUNMG_OK) st = exchange_table(mp);
  if (st != BUNMG_OK) {
    if (mp->broken == BUNMG_OK) free(mp); /* a broken one stays: its requests may still use it */
    if (!bunmg_mp_process_failure()) set_joined(0); /* else MPI is unusable here anyway */
    return st;
  }
  *out = mp;
  return BUNMG_OK;
}

bunmg_status bunmg_mp_join(int64_t timeout_ms, bunmg_mp **out) {
  bunmg_clear_error();
  bunmg_status st = bunmg_mp_join_mpi(timeout_ms, &bunmg_scalapack_engine, out);
  if (st != BUNMG_OK) bunmg_error_prefix("mp_join: ");
  return st;
}

bunmg_status bunmg_mp_info(const bunmg_mp *mp, int32_t *rank, int32_t *size) {
  bunmg_clear_error();
  if (!mp || !rank || !size) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_info: NULL argument");
  *rank = mp->rank;
  *size = mp->size;
  return BUNMG_OK;
}

bunmg_status bunmg_mp_leave(bunmg_mp *mp) {
  bunmg_clear_error();
  if (!mp) return BUNMG_OK;
  int32_t idle = 0;
  if (!atomic_compare_exchange_strong(&mp->busy, &idle, 1))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_leave: the mp handle is busy with another call");
  if (mp->factors > 0) {
    atomic_store(&mp->busy, 0);
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_leave: %d factors of this handle are alive; destroy them first",
                      mp->factors);
  }
  if (mp->broken != BUNMG_OK) return BUNMG_OK; /* abandoned work may still use it: it stays */
  mp->engine->leave(mp);
  if (mp->mpi) bunmg_mp_notices_stop(mp);
  init_task *t = mp->mpi ? calloc(1, sizeof *t) : NULL;
  int abandoned = 0;
  if (t) {
    *t = (init_task){mp->mpi, mp->comm};
    bunmg_mp_run(NULL, mp->timeout_ms, run_free, t, "MPI_Comm_free", &abandoned);
    if (!abandoned) free(t);
  }
  free(mp->peers);
  free(mp);
  set_joined(0);
  return BUNMG_OK;
}

bunmg_status bunmg_mp_debug_inject(bunmg_mp *mp, int32_t fault, int64_t n, int64_t *events) {
  bunmg_clear_error();
  bunmg_status st = bunmg_mp_enter(mp);
  if (st != BUNMG_OK) {
    bunmg_error_prefix("mp_debug_inject: ");
    return st;
  }
  if (fault < BUNMG_MP_FAULT_NONE || fault > BUNMG_MP_FAULT_SKEW_VALUES) {
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "mp_debug_inject: fault must be 0..5, got %d", fault);
  } else {
    if (events) *events = mp->fault_events[fault];
    memset(mp->fault_events, 0, sizeof mp->fault_events);
    mp->fault_kind = n < 0 ? BUNMG_MP_FAULT_NONE : fault;
    mp->fault_left = n;
  }
  bunmg_mp_exit(mp);
  return st;
}
