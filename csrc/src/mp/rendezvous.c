/* bunmg_rendezvous_*: the handle, and the collectives over the star at rank 0. An agreement: every
 * rank sends rank 0 its vote, rank 0 answers every rank with the lowest failed rank. A bcast:
 * rank 0 sends its bytes to every rank, then they agree on whether each got them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "group/shm.h"
#include "mp/rendezvous.h"

static atomic_int die_at_next_join;

/* rv's failure as this thread's error; rank 0 first tells every rank (before this process may
 * exit). */
static bunmg_status reported(bunmg_rendezvous *rv) {
  rv_forward(rv);
  pthread_mutex_lock(&rv->lock);
  bunmg_status st = bunmg_fail_at(rv->broken, -1, rv->broken_rank, "%s", rv->broken_message);
  pthread_mutex_unlock(&rv->lock);
  return st;
}

/* Waits on rv->changed for at most 20 ms, with rv->lock held. */
static void nap(bunmg_rendezvous *rv) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_nsec += 20 * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&rv->changed, &rv->lock, &t);
}

static void destroy(bunmg_rendezvous *rv) {
  for (int32_t i = 0; i < rv->nlinks; i++) {
    if (rv->links[i].fd >= 0) close(rv->links[i].fd);
    free(rv->links[i].body);
    pthread_mutex_destroy(&rv->links[i].send_lock);
  }
  free(rv->links);
  free(rv->table);
  free(rv->bcast_in);
  pthread_cond_destroy(&rv->changed);
  pthread_mutex_destroy(&rv->forward_lock);
  pthread_mutex_destroy(&rv->lock);
  free(rv);
}

static bunmg_status create(const bunmg_rendezvous_options *o, bunmg_rendezvous **out) {
  bunmg_rendezvous *rv = calloc(1, sizeof *rv);
  int32_t nlinks = o->rank == 0 ? o->size : 1;
  rv_link *links = calloc((size_t)nlinks, sizeof *links);
  bunmg_rendezvous_peer *table = calloc((size_t)o->size, sizeof *table);
  if (!rv || !links || !table) {
    free(rv);
    free(links);
    free(table);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "rendezvous: a table of %d ranks", o->size);
  }
  rv->rank = o->rank;
  rv->size = o->size;
  rv->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
  rv->links = links;
  rv->nlinks = nlinks;
  rv->table = table;
  rv->broken_rank = -1;
  for (int32_t i = 0; i < nlinks; i++) {
    links[i].fd = -1;
    links[i].rank = o->rank == 0 ? i : 0;
    pthread_mutex_init(&links[i].send_lock, NULL);
  }
  pthread_mutex_init(&rv->lock, NULL);
  pthread_mutex_init(&rv->forward_lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&rv->changed, &attr);
  pthread_condattr_destroy(&attr);
  *out = rv;
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_join(const bunmg_rendezvous_options *o, const void *blob, int64_t blob_bytes,
                                             bunmg_rendezvous **out) {
  bunmg_clear_error();
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: out is NULL");
  *out = NULL;
  if (!o) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: options are NULL");
  if (o->size < 1 || o->size > 65536 || o->rank < 0 || o->rank >= o->size)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: rank %d is not a rank of size %d (1..65536)", o->rank, o->size);
  if (o->local_rank < -1 || o->reserved != 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: local_rank must be >= -1 (got %d) and reserved 0",
                      o->local_rank);
  rv_hello mine = {.rank = o->rank, .size = o->size, .local_rank = o->local_rank};
  if (!o->token || rv_token_field(o->token, mine.token) != 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: the token must be 1 to %d bytes",
                      BUNMG_RENDEZVOUS_TOKEN_BYTES);
  char host[256], port[8];
  if (!o->address || rv_parse_address(o->address, host, sizeof host, port, sizeof port) != 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: the address must be host:port with a port 1..65535, got %s%s%s",
                      o->address ? "\"" : "", o->address ? o->address : "NULL", o->address ? "\"" : "");
  if (blob_bytes < 0 || blob_bytes > BUNMG_RENDEZVOUS_BLOB_BYTES || (blob_bytes > 0 && !blob && o->rank == 0))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_join: blob_bytes must be 0..%d with a blob, got %lld",
                      BUNMG_RENDEZVOUS_BLOB_BYTES, (long long)blob_bytes);
  bunmg_rendezvous *rv = NULL;
  bunmg_status st = create(o, &rv);
  if (st) return st;
  rv_self(&mine);
  bunmg_rendezvous_peer *self = &rv->table[o->rank];
  *self = (bunmg_rendezvous_peer){.rank = o->rank, .local_rank = o->local_rank, .pid = mine.pid, .start = mine.start};
  memcpy(self->host, mine.host, sizeof self->host);
  int die = atomic_exchange(&die_at_next_join, 0);
  if (o->rank == 0) {
    rv->blob_bytes = blob_bytes;
    if (blob_bytes) memcpy(rv->blob, blob, (size_t)blob_bytes);
    st = o->size > 1 ? rv_serve_join(rv, port, mine.token, die) : BUNMG_OK;
  } else {
    st = rv_client_join(rv, host, port, &mine, die);
  }
  if (!st && rv_liveness_start(rv) != BUNMG_OK) st = bunmg_fail(BUNMG_OUT_OF_MEMORY, "rendezvous: no liveness thread");
  if (st) {
    destroy(rv);
    return st;
  }
  *out = rv;
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_info(const bunmg_rendezvous *rv, int32_t *rank, int32_t *size,
                                             int64_t *blob_bytes, int64_t *refused) {
  bunmg_clear_error();
  if (!rv) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_info: the rendezvous is NULL");
  if (rank) *rank = rv->rank;
  if (size) *size = rv->size;
  if (blob_bytes) *blob_bytes = rv->blob_bytes;
  if (refused) *refused = rv->refused;
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_blob(const bunmg_rendezvous *rv, void *out, int64_t bytes) {
  bunmg_clear_error();
  if (!rv || (!out && bytes > 0)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_blob: %s is NULL", rv ? "out" : "the rendezvous");
  if (bytes != rv->blob_bytes)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_blob: the blob has %lld bytes, not %lld", (long long)rv->blob_bytes,
                      (long long)bytes);
  if (bytes) memcpy(out, rv->blob, (size_t)bytes);
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_peer_info(const bunmg_rendezvous *rv, int32_t rank, bunmg_rendezvous_peer *out) {
  bunmg_clear_error();
  if (!rv || !out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_peer_info: %s is NULL", rv ? "out" : "the rendezvous");
  if (rank < 0 || rank >= rv->size)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_peer_info: rank %d is not a rank of %d", rank, rv->size);
  *out = rv->table[rank];
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_check(bunmg_rendezvous *rv) {
  bunmg_clear_error();
  if (!rv) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_check: the rendezvous is NULL");
  pthread_mutex_lock(&rv->lock);
  bunmg_status st = rv->broken;
  pthread_mutex_unlock(&rv->lock);
  return st ? reported(rv) : BUNMG_OK;
}

/* Rank 0 collects every vote of agreement seq; the lowest failed rank into *first (-1: none). */
static bunmg_status collect(bunmg_rendezvous *rv, int32_t seq, int32_t mine, const char *text, int32_t *first,
                            int32_t *status, char *first_text) {
  int64_t deadline = bunmg_now_ms() + rv->timeout_ms;
  pthread_mutex_lock(&rv->lock);
  for (;;) {
    if (rv->broken) {
      pthread_mutex_unlock(&rv->lock);
      return reported(rv);
    }
    int32_t missing = -1;
    for (int32_t k = 1; k < rv->size && missing < 0; k++)
      if (rv->links[k].vote_seq != seq) missing = k;
    if (missing < 0) break;
    if (rv->links[missing].left)
      rv_break_locked(rv, BUNMG_PEER_LOST, missing, "rendezvous: rank %d left before agreement %d", missing, seq);
    else if (bunmg_now_ms() >= deadline)
      rv_break_locked(rv, BUNMG_TIMEOUT, missing, "rendezvous: rank %d did not arrive at agreement %d within %lld ms", missing,
                      seq, (long long)rv->timeout_ms);
    else
      nap(rv);
  }
  *first = mine != BUNMG_OK ? 0 : -1;
  *status = mine;
  strcpy(first_text, text);
  for (int32_t k = 1; k < rv->size && *first < 0; k++)
    if (rv->links[k].vote_status != BUNMG_OK) {
      *first = k;
      *status = rv->links[k].vote_status;
      strcpy(first_text, rv->links[k].vote_text);
    }
  pthread_mutex_unlock(&rv->lock);
  unsigned char body[4 + RV_TEXT];
  size_t n = strlen(first_text);
  for (int i = 0; i < 4; i++) body[i] = (unsigned char)((uint32_t)*status >> (8 * i));
  memcpy(body + 4, first_text, n);
  int64_t send_deadline = bunmg_now_ms() + rv->timeout_ms;
  for (int32_t k = 1; k < rv->size; k++)
    if (rv_link_send(rv, k, RV_MSG_RESULT, seq, *first, body, 4 + n, send_deadline) != 0) return reported(rv);
  return BUNMG_OK;
}

/* Another rank votes and waits for rank 0's answer. */
static bunmg_status answer(bunmg_rendezvous *rv, int32_t seq, int32_t mine, const char *text, int32_t *first,
                           int32_t *status, char *first_text) {
  int64_t deadline = bunmg_now_ms() + rv->timeout_ms + RV_GRACE_MS;
  pthread_mutex_lock(&rv->lock);
  int gone = rv->links[0].left;
  pthread_mutex_unlock(&rv->lock);
  if (!gone && rv_link_send(rv, 0, RV_MSG_VOTE, seq, mine, text, strlen(text), deadline) != 0) return reported(rv);
  pthread_mutex_lock(&rv->lock);
  while (!rv->broken && rv->result_seq != seq) {
    if (rv->links[0].left)
      rv_break_locked(rv, BUNMG_PEER_LOST, 0, "rendezvous: rank 0 left before agreement %d", seq);
    else if (bunmg_now_ms() >= deadline)
      rv_break_locked(rv, BUNMG_TIMEOUT, 0, "rendezvous: rank 0 did not answer agreement %d within %lld ms", seq,
                      (long long)rv->timeout_ms);
    else
      nap(rv);
  }
  /* a result that came before rank 0 went stands */
  bunmg_status broken = rv->result_seq == seq ? BUNMG_OK : rv->broken;
  *first = rv->result_first;
  *status = rv->result_status;
  strcpy(first_text, rv->result_text);
  pthread_mutex_unlock(&rv->lock);
  return broken ? reported(rv) : BUNMG_OK;
}

static bunmg_status agree(bunmg_rendezvous *rv, int32_t mine, const char *text, int32_t *first, int32_t *status,
                          char *first_text) {
  if (rv->fault == BUNMG_RENDEZVOUS_FAULT_DIE_AT_AGREE) {
    kill(getpid(), SIGKILL);
    for (;;) pause();
  }
  int32_t seq = ++rv->agree_seq;
  if (rv->size == 1) {
    *first = mine != BUNMG_OK ? 0 : -1;
    *status = mine;
    strcpy(first_text, text);
    return BUNMG_OK;
  }
  return rv->rank == 0 ? collect(rv, seq, mine, text, first, status, first_text)
                       : answer(rv, seq, mine, text, first, status, first_text);
}

/* One collective at a time; a broken handle reports its failure. */
static bunmg_status enter(bunmg_rendezvous *rv, const char *what) {
  bunmg_clear_error();
  if (!rv) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: the rendezvous is NULL", what);
  if (atomic_exchange(&rv->busy, 1)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: another call is using the rendezvous", what);
  if (bunmg_rendezvous_check(rv) != BUNMG_OK) {
    atomic_store(&rv->busy, 0);
    return reported(rv);
  }
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_agree(bunmg_rendezvous *rv, int32_t mine_status, int32_t *first_rank,
                                              int32_t *status) {
  bunmg_status st = enter(rv, "rendezvous_agree");
  if (st) return st;
  if (!first_rank || !status || mine_status < 0 || mine_status > BUNMG_DISPOSED) {
    atomic_store(&rv->busy, 0);
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_agree: %s", !first_rank || !status ? "an output is NULL" : "mine_status is not a bunmg_status");
  }
  char text[RV_TEXT];
  st = agree(rv, mine_status, "", first_rank, status, text);
  atomic_store(&rv->busy, 0);
  return st;
}

BUNMG_API bunmg_status bunmg_rendezvous_bcast(bunmg_rendezvous *rv, void *buf, int64_t bytes) {
  bunmg_status st = enter(rv, "rendezvous_bcast");
  if (st) return st;
  if (bytes < 0 || (uint64_t)bytes > RV_MAX_BODY || (!buf && bytes > 0)) {
    atomic_store(&rv->busy, 0);
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_bcast: %lld bytes%s", (long long)bytes, buf ? "" : " of NULL");
  }
  int32_t seq = ++rv->bcast_seq, mine = BUNMG_OK;
  char text[RV_TEXT] = "";
  unsigned char *got = NULL; /* taken from the inbox at once: the next bcast may come before this one returns */
  if (rv->rank == 0) {
    int64_t deadline = bunmg_now_ms() + rv->timeout_ms;
    for (int32_t k = 1; k < rv->size && !st; k++)
      if (rv_link_send(rv, k, RV_MSG_BCAST, seq, 0, buf, (uint64_t)bytes, deadline) != 0) st = reported(rv);
  } else {
    int64_t deadline = bunmg_now_ms() + rv->timeout_ms + RV_GRACE_MS;
    pthread_mutex_lock(&rv->lock);
    while (!rv->broken && rv->bcast_in_seq != seq) {
      if (rv->links[0].left)
        rv_break_locked(rv, BUNMG_PEER_LOST, 0, "rendezvous: rank 0 left before bcast %d", seq);
      else if (bunmg_now_ms() >= deadline)
        rv_break_locked(rv, BUNMG_TIMEOUT, 0, "rendezvous: rank 0 did not send bcast %d within %lld ms", seq,
                        (long long)rv->timeout_ms);
      else
        nap(rv);
    }
    int came = rv->bcast_in_seq == seq;
    if (came && rv->bcast_in_bytes != (uint64_t)bytes) {
      mine = BUNMG_INVALID_ARGUMENT;
      snprintf(text, sizeof text, "rendezvous_bcast: rank %d passed %lld bytes, but rank 0 sent %llu", rv->rank,
               (long long)bytes, (unsigned long long)rv->bcast_in_bytes);
    }
    st = came ? BUNMG_OK : BUNMG_PEER_LOST;
    got = rv->bcast_in;
    rv->bcast_in = NULL;
    pthread_mutex_unlock(&rv->lock);
    if (st) st = reported(rv);
  }
  int32_t first = -1, first_status = BUNMG_OK;
  char first_text[RV_TEXT];
  if (!st) st = agree(rv, mine, text, &first, &first_status, first_text);
  if (!st && first >= 0) st = bunmg_fail_at(first_status, -1, first, "%s", first_text);
  if (!st && rv->rank != 0 && bytes) memcpy(buf, got, (size_t)bytes);
  free(got);
  atomic_store(&rv->busy, 0);
  return st;
}

BUNMG_API bunmg_status bunmg_rendezvous_leave(bunmg_rendezvous *rv) {
  bunmg_clear_error();
  if (!rv) return BUNMG_OK;
  if (atomic_exchange(&rv->busy, 1)) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_leave: a call is using the rendezvous");
  int64_t deadline = bunmg_now_ms() + 100;
  for (int32_t i = 0; i < rv->nlinks; i++) {
    pthread_mutex_lock(&rv->links[i].send_lock);
    if (rv->links[i].fd >= 0) rv_send(rv->links[i].fd, RV_MSG_LEAVE, 0, 0, NULL, 0, deadline);
    pthread_mutex_unlock(&rv->links[i].send_lock);
  }
  rv_liveness_stop(rv);
  destroy(rv);
  return BUNMG_OK;
}

BUNMG_API bunmg_status bunmg_rendezvous_debug_inject(bunmg_rendezvous *rv, int32_t fault) {
  bunmg_clear_error();
  switch (fault) {
  case BUNMG_RENDEZVOUS_FAULT_NONE:
    atomic_store(&die_at_next_join, 0);
    if (rv) {
      atomic_store(&rv->silent, 0);
      rv->fault = BUNMG_RENDEZVOUS_FAULT_NONE;
    }
    return BUNMG_OK;
  case BUNMG_RENDEZVOUS_FAULT_DIE_AT_JOIN:
    if (rv) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_debug_inject: DIE_AT_JOIN arms the next join: pass NULL");
    atomic_store(&die_at_next_join, 1);
    return BUNMG_OK;
  case BUNMG_RENDEZVOUS_FAULT_SILENT:
  case BUNMG_RENDEZVOUS_FAULT_DIE_AT_AGREE:
    if (!rv) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_debug_inject: fault %d needs a rendezvous", fault);
    if (fault == BUNMG_RENDEZVOUS_FAULT_SILENT) atomic_store(&rv->silent, 1);
    else rv->fault = fault;
    return BUNMG_OK;
  default:
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "rendezvous_debug_inject: unknown fault %d", fault);
  }
}
