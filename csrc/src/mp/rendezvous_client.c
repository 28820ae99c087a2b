/* A rank other than 0 joins: connect to rank 0 (retrying until the timeout: rank 0 may start
 * later), send the hello, and wait for the table and the blob, a refusal, or rank 0's verdict on
 * the join (a little longer than rank 0 waits, so that every rank reports rank 0's verdict). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/internal.h"
#include "group/shm.h"
#include "mp/rendezvous.h"

/* One connection attempt to each address of host:port; the socket, or -1 with why. */
static int connect_once(const char *host, const char *port, int64_t deadline, char *why, size_t bytes) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list = NULL;
  int gai = getaddrinfo(host, port, &hints, &list);
  if (gai != 0) {
    snprintf(why, bytes, "%s", gai_strerror(gai));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (rv_set_nonblocking(fd) == 0 && (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS)) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int64_t left = deadline - bunmg_now_ms();
      int err = ETIMEDOUT;
      socklen_t n = sizeof err;
      if (left > 0 && poll(&p, 1, left > 1000 ? 1000 : (int)left) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n);
      if (err == 0) break;
      if (left > 0) snprintf(why, bytes, "%s", strerror(err)); /* else the earlier attempt's reason stands */
    } else {
      snprintf(why, bytes, "%s", strerror(errno));
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(list);
  return fd;
}

/* A message body of `length` bytes (less than `bytes`) as a NUL-terminated string. */
static int read_text(int fd, uint64_t length, char *out, size_t bytes, int64_t deadline) {
  if (length >= bytes) return RV_IO_CLOSED;
  int st = rv_read_all(fd, out, (size_t)length, deadline);
  out[st ? 0 : length] = 0;
  return st;
}

static bunmg_status take_welcome(bunmg_rendezvous *rv, int fd, const rv_head *h, int64_t deadline) {
  uint64_t table = (uint64_t)rv->size * RV_PEER_BYTES;
  if (h->a != rv->size || h->b < 0 || h->b > BUNMG_RENDEZVOUS_BLOB_BYTES || h->length != table + (uint64_t)h->b)
    return bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "rendezvous: rank 0 sent a malformed table");
  unsigned char *body = malloc((size_t)h->length);
  if (!body) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "rendezvous: %llu bytes for the rank table", (unsigned long long)h->length);
  if (rv_read_all(fd, body, (size_t)h->length, deadline) != 0) {
    free(body);
    return bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "rendezvous: rank 0 closed the connection while sending the table");
  }
  for (int32_t k = 0; k < rv->size; k++) rv_peer_decode(body + (size_t)k * RV_PEER_BYTES, &rv->table[k]);
  rv->blob_bytes = h->b;
  memcpy(rv->blob, body + table, (size_t)h->b);
  free(body);
  return BUNMG_OK;
}

/* The answer to the hello. */
static bunmg_status await_answer(bunmg_rendezvous *rv, int fd, int64_t deadline) {
  unsigned char head[RV_HEAD_BYTES];
  int st = rv_read_all(fd, head, sizeof head, deadline);
  if (st == RV_IO_TIMEOUT)
    return bunmg_fail_at(BUNMG_TIMEOUT, -1, 0, "rendezvous: rank 0 did not answer rank %d's hello within %lld ms", rv->rank,
                         (long long)rv->timeout_ms);
  if (st) return bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "rendezvous: rank 0 closed the connection during the join");
  rv_head h;
  rv_head_decode(head, &h);
  char text[RV_TEXT];
  switch (h.type) {
  case RV_MSG_WELCOME:
    return take_welcome(rv, fd, &h, deadline);
  case RV_MSG_REFUSE:
    read_text(fd, h.length, text, sizeof text, deadline);
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, rv->rank, "rendezvous: rank 0 refused rank %d: %s", rv->rank, text);
  case RV_MSG_FAIL:
    read_text(fd, h.length, text, sizeof text, deadline);
    return bunmg_fail_at(h.a == BUNMG_TIMEOUT ? BUNMG_TIMEOUT : BUNMG_PEER_LOST, -1, h.b, "%s", text);
  default:
    return bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "rendezvous: rank 0 sent message type %u during the join", h.type);
  }
}

bunmg_status rv_client_join(bunmg_rendezvous *rv, const char *host, const char *port, const rv_hello *mine,
                            int die_at_join) {
  int64_t deadline = bunmg_now_ms() + rv->timeout_ms;
  char why[160] = "no attempt";
  int fd = -1;
  for (int round = 0; (fd = connect_once(host, port, deadline, why, sizeof why)) < 0;) {
    if (bunmg_now_ms() >= deadline)
      return bunmg_fail_at(BUNMG_TIMEOUT, -1, 0, "rendezvous: rank %d could not reach rank 0 at %s:%s within %lld ms (%s)",
                           rv->rank, host, port, (long long)rv->timeout_ms, why);
    usleep(round++ < 10 ? 10000 : 50000);
  }
  unsigned char hello[RV_HELLO_BYTES];
  rv_hello_encode(mine, hello);
  if (rv_write_all(fd, hello, sizeof hello, deadline) != 0) {
    close(fd);
    return bunmg_fail_at(BUNMG_PEER_LOST, -1, 0, "rendezvous: rank 0 closed the connection before rank %d's hello", rv->rank);
  }
  if (die_at_join) {
    kill(getpid(), SIGKILL);
    for (;;) pause();
  }
  bunmg_status st = await_answer(rv, fd, deadline + RV_GRACE_MS);
  if (st) {
    close(fd);
    return st;
  }
  rv->links[0].fd = fd;
  return BUNMG_OK;
}
