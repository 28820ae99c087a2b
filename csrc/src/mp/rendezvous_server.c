/* Rank 0's side of the join: listen, take each connection's hello under its own deadline (a
 * silent, slow or garbage connection never holds up the others), refuse and log what is not a
 * rank of this job, and once every rank joined send each the table and the blob. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

#define MAX_PENDING 64

typedef struct pending {
  int fd;
  size_t got;
  int64_t deadline;
  unsigned char hello[RV_HELLO_BYTES];
  char from[64];
} pending;

static int listen_on(const char *port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int v6 = fd >= 0;
  if (!v6) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int bound;
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)), .sin6_addr = in6addr_any};
    bound = bind(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)), .sin_addr.s_addr = htonl(INADDR_ANY)};
    bound = bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (bound != 0 || listen(fd, MAX_PENDING) != 0 || rv_set_nonblocking(fd) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void describe_peer(int fd, char *out, size_t bytes) {
  struct sockaddr_storage a;
  socklen_t n = sizeof a;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername(fd, (struct sockaddr *)&a, &n) == 0) {
    if (a.ss_family == AF_INET6) {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a;
      inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
      port = ntohs(s->sin6_port);
    } else if (a.ss_family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)&a;
      inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
      port = ntohs(s->sin_port);
    }
  }
  snprintf(out, bytes, "%s port %d", host, port);
}

/* Closes a connection that is not a rank of this job, telling it why when it is listening. */
static void refuse(bunmg_rendezvous *rv, pending *c, const char *why, int tell) {
  fprintf(stderr, "bunmg rendezvous: refused a connection from %s: %s\n", c->from, why);
  if (tell) rv_send(c->fd, RV_MSG_REFUSE, 0, 0, why, strlen(why), bunmg_now_ms() + 100);
  close(c->fd);
  c->fd = -1;
  rv->refused++;
}

/* Why a complete hello is refused, or NULL when it is rank hello->rank of this job. */
static const char *judge(bunmg_rendezvous *rv, const pending *c, const unsigned char *token, rv_hello *h, char *why,
                         size_t bytes) {
  const char *bad = rv_hello_decode(c->hello, h);
  if (bad) return bad;
  if (!rv_token_equal(h->token, token)) return "wrong job token";
  if (h->size != rv->size) {
    snprintf(why, bytes, "world size %d, but this job's is %d", h->size, rv->size);
    return why;
  }
  if (h->rank <= 0 || h->rank >= rv->size) {
    snprintf(why, bytes, "rank %d is not a rank of this job's other ranks 1..%d", h->rank, rv->size - 1);
    return why;
  }
  if (rv->links[h->rank].fd >= 0) {
    snprintf(why, bytes, "rank %d has already joined", h->rank);
    return why;
  }
  return NULL;
}

static void close_pending(pending *p, int np, int listener) {
  for (int i = 0; i < np; i++)
    if (p[i].fd >= 0) close(p[i].fd);
  if (listener >= 0) close(listener);
}

static void close_all(bunmg_rendezvous *rv, pending *p, int np, int listener) {
  close_pending(p, np, listener);
  for (int32_t k = 1; k < rv->nlinks; k++)
    if (rv->links[k].fd >= 0) {
      close(rv->links[k].fd);
      rv->links[k].fd = -1;
    }
}

/* Every joined rank learns the failure, and every connection whose hello is still coming (a rank
 * on its way, or a stranger, told no more than the failure); then it is this rank's error. */
static bunmg_status fail_join(bunmg_rendezvous *rv, pending *p, int np, int listener, bunmg_status st, int32_t rank,
                              const char *message) {
  int64_t deadline = bunmg_now_ms() + 200;
  for (int32_t k = 1; k < rv->nlinks; k++)
    if (rv->links[k].fd >= 0) rv_send(rv->links[k].fd, RV_MSG_FAIL, st, rank, message, strlen(message), deadline);
  for (int i = 0; i < np; i++)
    if (p[i].fd >= 0) rv_send(p[i].fd, RV_MSG_FAIL, st, rank, message, strlen(message), deadline);
  for (int fd; listener >= 0 && (fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0; close(fd))
    rv_send(fd, RV_MSG_FAIL, st, rank, message, strlen(message), deadline); /* the ones still in the backlog */
  close_all(rv, p, np, listener);
  return bunmg_fail_at(st, -1, rank, "%s", message);
}

static int32_t joined_count(const bunmg_rendezvous *rv) {
  int32_t n = 1;
  for (int32_t k = 1; k < rv->size; k++) n += rv->links[k].fd >= 0;
  return n;
}

/* Reads what a pending connection sent; judges it once its hello is complete. */
static bunmg_status take(bunmg_rendezvous *rv, pending *c, const unsigned char *token, int *die_at_join) {
  ssize_t n = recv(c->fd, c->hello + c->got, RV_HELLO_BYTES - c->got, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return BUNMG_OK;
  if (n <= 0) {
    refuse(rv, c, "closed before its hello", 0);
    return BUNMG_OK;
  }
  c->got += (size_t)n;
  if (c->got < RV_HELLO_BYTES) return BUNMG_OK;
  rv_hello h;
  char why[160];
  const char *bad = judge(rv, c, token, &h, why, sizeof why);
  if (bad) {
    refuse(rv, c, bad, 1);
    return BUNMG_OK;
  }
  bunmg_rendezvous_peer *e = &rv->table[h.rank];
  e->rank = h.rank;
  e->local_rank = h.local_rank;
  e->pid = h.pid;
  e->start = h.start;
  memcpy(e->host, h.host, sizeof e->host);
  rv->links[h.rank].fd = c->fd;
  c->fd = -1;
  if (*die_at_join) {
    kill(getpid(), SIGKILL);
    for (;;) pause();
  }
  return BUNMG_OK;
}

static bunmg_status welcome(bunmg_rendezvous *rv, pending *p, int np, int listener) {
  size_t bytes = (size_t)rv->size * RV_PEER_BYTES + (size_t)rv->blob_bytes;
  unsigned char *body = malloc(bytes);
  if (!body) {
    close_all(rv, p, np, listener);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "rendezvous: %zu bytes for the rank table", bytes);
  }
  for (int32_t k = 0; k < rv->size; k++) rv_peer_encode(&rv->table[k], body + (size_t)k * RV_PEER_BYTES);
  memcpy(body + (size_t)rv->size * RV_PEER_BYTES, rv->blob, (size_t)rv->blob_bytes);
  int64_t deadline = bunmg_now_ms() + rv->timeout_ms;
  for (int32_t k = 1; k < rv->size; k++) {
    if (rv_send(rv->links[k].fd, RV_MSG_WELCOME, rv->size, (int32_t)rv->blob_bytes, body, bytes, deadline) == 0) continue;
    free(body);
    char message[RV_TEXT];
    snprintf(message, sizeof message, "rendezvous: rank %d closed its connection during the join", k);
    return fail_join(rv, p, np, listener, BUNMG_PEER_LOST, k, message);
  }
  free(body);
  close_pending(p, np, listener);
  return BUNMG_OK;
}

bunmg_status rv_serve_join(bunmg_rendezvous *rv, const char *port, const unsigned char *token, int die_at_join) {
  int listener = listen_on(port);
  if (listener < 0)
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, 0, "rendezvous: rank 0 cannot listen on port %s: %s", port,
                         strerror(errno));
  pending p[MAX_PENDING];
  int np = 0;
  int64_t deadline = bunmg_now_ms() + rv->timeout_ms;
  while (joined_count(rv) < rv->size) {
    int64_t now = bunmg_now_ms();
    if (now >= deadline) {
      int32_t missing = 1;
      while (rv->links[missing].fd >= 0) missing++;
      char message[RV_TEXT];
      snprintf(message, sizeof message, "rendezvous: rank %d did not join within %lld ms (%d of %d ranks joined)",
               missing, (long long)rv->timeout_ms, joined_count(rv), rv->size);
      return fail_join(rv, p, np, listener, BUNMG_TIMEOUT, missing, message);
    }
    /* the listener, the pending connections, and the joined ones (a close there is a death) */
    struct pollfd fds[1 + MAX_PENDING];
    int nf = 0;
    fds[nf++] = (struct pollfd){.fd = np < MAX_PENDING ? listener : -1, .events = POLLIN};
    for (int i = 0; i < np; i++) fds[nf++] = (struct pollfd){.fd = p[i].fd, .events = POLLIN};
    int64_t wait = deadline - now < 20 ? deadline - now : 20;
    poll(fds, (nfds_t)nf, (int)wait);
    for (int i = 0; i < np; i++) {
      if (fds[1 + i].revents) take(rv, &p[i], token, &die_at_join);
      if (p[i].fd >= 0 && bunmg_now_ms() > p[i].deadline) refuse(rv, &p[i], "no hello within 2000 ms", 0);
    }
    for (int32_t k = 1; k < rv->size; k++) {
      if (rv->links[k].fd < 0) continue;
      char byte;
      ssize_t n = recv(rv->links[k].fd, &byte, 1, MSG_PEEK);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        char message[RV_TEXT];
        snprintf(message, sizeof message, "rendezvous: rank %d closed its connection during the join", k);
        return fail_join(rv, p, np, listener, BUNMG_PEER_LOST, k, message);
      }
    }
    int kept = 0;
    for (int i = 0; i < np; i++)
      if (p[i].fd >= 0) p[kept++] = p[i];
    np = kept;
    while (np < MAX_PENDING) {
      int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); /* a child process keeps no connection alive */
      if (fd < 0) break;
      p[np] = (pending){.fd = fd, .deadline = bunmg_now_ms() + RV_HELLO_MS};
      describe_peer(fd, p[np].from, sizeof p[np].from);
      np++;
    }
  }
  return welcome(rv, p, np, listener);
}
