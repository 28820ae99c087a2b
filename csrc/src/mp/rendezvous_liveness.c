/* The liveness thread: keeps reading every connection (heartbeats, votes, results, bcasts and
 * failure notices go into rv's inbox), sends a heartbeat every 100 ms, and marks a peer lost when
 * its connection closes or nothing came for RV_LOST_MS; rank 0 then tells every other rank. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "group/shm.h"
#include "mp/rendezvous.h"

void rv_break_locked(bunmg_rendezvous *rv, bunmg_status status, int32_t rank, const char *fmt, ...) {
  if (rv->broken != BUNMG_OK) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rv->broken_message, sizeof rv->broken_message, fmt, ap);
  va_end(ap);
  rv->broken = status;
  rv->broken_rank = rank;
  rv->forward = rv->rank == 0;
  pthread_cond_broadcast(&rv->changed);
}

int rv_link_send(bunmg_rendezvous *rv, int32_t i, uint32_t type, int32_t a, int32_t b, const void *body,
                 uint64_t length, int64_t deadline_ms) {
  rv_link *l = &rv->links[i];
  pthread_mutex_lock(&l->send_lock);
  int st = l->fd < 0 ? RV_IO_CLOSED : rv_send(l->fd, type, a, b, body, length, deadline_ms);
  pthread_mutex_unlock(&l->send_lock);
  if (st == 0) return 0;
  pthread_mutex_lock(&rv->lock);
  if (st == RV_IO_TIMEOUT)
    rv_break_locked(rv, BUNMG_TIMEOUT, l->rank, "rendezvous: rank %d did not take a message within %lld ms", l->rank,
                    (long long)rv->timeout_ms);
  else if (l->left)
    rv_break_locked(rv, BUNMG_PEER_LOST, l->rank, "rendezvous: rank %d left the job", l->rank);
  else
    rv_break_locked(rv, BUNMG_PEER_LOST, l->rank, "rendezvous: rank %d lost: its connection failed", l->rank);
  pthread_mutex_unlock(&rv->lock);
  return -1;
}

void rv_forward(bunmg_rendezvous *rv) {
  /* held while sending, so that a second caller returns only once the notices are out */
  pthread_mutex_lock(&rv->forward_lock);
  pthread_mutex_lock(&rv->lock);
  int go = rv->forward;
  rv->forward = 0;
  bunmg_status st = rv->broken;
  int32_t rank = rv->broken_rank;
  char message[RV_TEXT];
  memcpy(message, rv->broken_message, sizeof message);
  pthread_mutex_unlock(&rv->lock);
  int64_t deadline = bunmg_now_ms() + 200;
  for (int32_t k = 1; k < rv->nlinks && go; k++) {
    rv_link *l = &rv->links[k];
    if (l->left) continue;
    pthread_mutex_lock(&l->send_lock);
    if (l->fd >= 0) rv_send(l->fd, RV_MSG_FAIL, st, rank, message, strlen(message), deadline);
    pthread_mutex_unlock(&l->send_lock);
  }
  pthread_mutex_unlock(&rv->forward_lock);
}

static void text_of(const unsigned char *body, uint64_t length, char *out) {
  size_t n = length < RV_TEXT ? (size_t)length : RV_TEXT - 1;
  if (body) memcpy(out, body, n);
  out[body ? n : 0] = 0;
}

/* A complete message from links[i], with rv->lock held; its body is taken when kept. */
static void file(bunmg_rendezvous *rv, rv_link *l, const rv_head *h, unsigned char **body) {
  switch (h->type) {
  case RV_MSG_HEARTBEAT:
    break;
  case RV_MSG_LEAVE:
    l->left = 1;
    break;
  case RV_MSG_FAIL:
    if (rv->rank != 0) {
      char text[RV_TEXT];
      text_of(*body, h->length, text);
      rv_break_locked(rv, h->a == BUNMG_TIMEOUT ? BUNMG_TIMEOUT : BUNMG_PEER_LOST, h->b, "%s", text);
    }
    break;
  case RV_MSG_VOTE:
    l->vote_seq = h->a;
    l->vote_status = h->b;
    text_of(*body, h->length, l->vote_text);
    break;
  case RV_MSG_RESULT:
    rv->result_seq = h->a;
    rv->result_first = h->b;
    rv->result_status = BUNMG_PEER_LOST;
    rv->result_text[0] = 0;
    if (*body && h->length >= 4) {
      rv->result_status = (int32_t)((*body)[0] | (*body)[1] << 8 | (*body)[2] << 16 | (uint32_t)(*body)[3] << 24);
      text_of(*body + 4, h->length - 4, rv->result_text);
    }
    break;
  case RV_MSG_BCAST:
    free(rv->bcast_in);
    rv->bcast_in = *body;
    rv->bcast_in_bytes = h->length;
    rv->bcast_in_seq = h->a;
    *body = NULL;
    break;
  default:
    rv_break_locked(rv, BUNMG_PEER_LOST, l->rank, "rendezvous: rank %d lost: it sent message type %u", l->rank, h->type);
  }
  pthread_cond_broadcast(&rv->changed);
}

/* Reads what links[i] has; 0, or -1 when it closed or sent garbage. */
static int drain(bunmg_rendezvous *rv, rv_link *l) {
  for (;;) {
    ssize_t n;
    if (l->head_got < RV_HEAD_BYTES) {
      n = recv(l->fd, l->head + l->head_got, RV_HEAD_BYTES - l->head_got, 0);
      if (n > 0) {
        l->head_got += (size_t)n;
        if (l->head_got == RV_HEAD_BYTES) {
          rv_head_decode(l->head, &l->current);
          uint64_t limit = l->current.type == RV_MSG_BCAST ? RV_MAX_BODY : RV_TEXT + 4;
          if (l->current.length > limit) return -1;
          l->body_got = 0;
          l->body = l->current.length ? malloc((size_t)l->current.length) : NULL;
          if (l->current.length && !l->body) return -1;
        }
      }
    } else {
      n = recv(l->fd, l->body + l->body_got, (size_t)(l->current.length - l->body_got), 0);
      if (n > 0) l->body_got += (uint64_t)n;
    }
    if (n == 0) return -1;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    l->heard_ms = bunmg_now_ms();
    if (l->head_got == RV_HEAD_BYTES && l->body_got == l->current.length) {
      pthread_mutex_lock(&rv->lock);
      file(rv, l, &l->current, &l->body);
      pthread_mutex_unlock(&rv->lock);
      free(l->body);
      l->body = NULL;
      l->head_got = 0;
    }
  }
}

static void lose(bunmg_rendezvous *rv, rv_link *l, const char *why) {
  pthread_mutex_lock(&l->send_lock);
  close(l->fd);
  l->fd = -1;
  pthread_mutex_unlock(&l->send_lock);
  pthread_mutex_lock(&rv->lock);
  if (!l->left) rv_break_locked(rv, BUNMG_PEER_LOST, l->rank, "rendezvous: rank %d lost: %s", l->rank, why);
  pthread_mutex_unlock(&rv->lock);
}

static void *watch(void *arg) {
  bunmg_rendezvous *rv = arg;
  int32_t first = rv->rank == 0 ? 1 : 0;
  int32_t count = rv->nlinks - first;
  struct pollfd *fds = calloc((size_t)count, sizeof *fds);
  if (!fds) return NULL;
  int64_t beat = 0;
  while (!atomic_load(&rv->stop)) {
    for (int32_t i = 0; i < count; i++) fds[i] = (struct pollfd){.fd = rv->links[first + i].fd, .events = POLLIN};
    poll(fds, (nfds_t)count, 10);
    int64_t now = bunmg_now_ms();
    for (int32_t i = 0; i < count; i++) {
      rv_link *l = &rv->links[first + i];
      if (l->fd < 0) continue;
      if (fds[i].revents && drain(rv, l) != 0) lose(rv, l, "its connection closed");
      else if (now - l->heard_ms > RV_LOST_MS) lose(rv, l, "no heartbeat for 350 ms");
    }
    if (now - beat >= RV_HEARTBEAT_MS && !atomic_load(&rv->silent)) {
      beat = now;
      for (int32_t i = 0; i < count; i++) {
        rv_link *l = &rv->links[first + i];
        /* a link busy with a collective's message needs no heartbeat: the bytes are one */
        if (pthread_mutex_trylock(&l->send_lock) != 0) continue;
        int st = l->fd < 0 ? 0 : rv_send(l->fd, RV_MSG_HEARTBEAT, 0, 0, NULL, 0, now + RV_HEARTBEAT_MS);
        pthread_mutex_unlock(&l->send_lock);
        if (st) lose(rv, l, st == RV_IO_TIMEOUT ? "it stopped reading its connection" : "its connection closed");
      }
    }
    rv_forward(rv);
  }
  free(fds);
  return NULL;
}

bunmg_status rv_liveness_start(bunmg_rendezvous *rv) {
  int64_t now = bunmg_now_ms();
  for (int32_t i = 0; i < rv->nlinks; i++) rv->links[i].heard_ms = now;
  if (rv->size == 1) return BUNMG_OK;
  if (pthread_create(&rv->thread, NULL, watch, rv) != 0) return BUNMG_OUT_OF_MEMORY;
  rv->thread_started = 1;
  pthread_setname_np(rv->thread, "bunmg-rv"); /* what tests look for after leave */
  return BUNMG_OK;
}

void rv_liveness_stop(bunmg_rendezvous *rv) {
  if (!rv->thread_started) return;
  atomic_store(&rv->stop, 1);
  pthread_join(rv->thread, NULL);
  rv->thread_started = 0;
}
