/* The rendezvous's wire format (little-endian fields, never struct dumps) and its polled I/O on
 * non-blocking sockets. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "group/shm.h"
#include "mp/rendezvous.h"

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

void rv_hello_encode(const rv_hello *h, unsigned char out[RV_HELLO_BYTES]) {
  memcpy(out, RV_MAGIC, 8);
  put32(out + 8, h->version);
  put32(out + 12, (uint32_t)h->rank);
  put32(out + 16, (uint32_t)h->size);
  put32(out + 20, (uint32_t)h->local_rank);
  put64(out + 24, (uint64_t)h->pid);
  put64(out + 32, h->start);
  memcpy(out + 40, h->token, BUNMG_RENDEZVOUS_TOKEN_BYTES);
  memcpy(out + 104, h->host, BUNMG_RENDEZVOUS_HOST_BYTES);
  _Static_assert(104 + BUNMG_RENDEZVOUS_HOST_BYTES + 8 == RV_HELLO_BYTES, "hello layout");
  memset(out + 168, 0, 8);
}

const char *rv_hello_decode(const unsigned char in[RV_HELLO_BYTES], rv_hello *h) {
  if (memcmp(in, RV_MAGIC, 8) != 0) return "not a bunmg rendezvous hello";
  h->version = get32(in + 8);
  if (h->version != RV_VERSION) return "another version of the rendezvous";
  h->rank = (int32_t)get32(in + 12);
  h->size = (int32_t)get32(in + 16);
  h->local_rank = (int32_t)get32(in + 20);
  h->pid = (int64_t)get64(in + 24);
  h->start = get64(in + 32);
  memcpy(h->token, in + 40, BUNMG_RENDEZVOUS_TOKEN_BYTES);
  memcpy(h->host, in + 104, BUNMG_RENDEZVOUS_HOST_BYTES);
  h->host[BUNMG_RENDEZVOUS_HOST_BYTES - 1] = 0;
  return 0;
}

void rv_head_encode(const rv_head *h, unsigned char out[RV_HEAD_BYTES]) {
  put32(out, h->type);
  put32(out + 4, (uint32_t)h->a);
  put32(out + 8, (uint32_t)h->b);
  put32(out + 12, 0);
  put64(out + 16, h->length);
}

void rv_head_decode(const unsigned char in[RV_HEAD_BYTES], rv_head *h) {
  h->type = get32(in);
  h->a = (int32_t)get32(in + 4);
  h->b = (int32_t)get32(in + 8);
  h->length = get64(in + 16);
}

void rv_peer_encode(const bunmg_rendezvous_peer *p, unsigned char out[RV_PEER_BYTES]) {
  put32(out, (uint32_t)p->rank);
  put32(out + 4, (uint32_t)p->local_rank);
  put64(out + 8, (uint64_t)p->pid);
  put64(out + 16, p->start);
  memcpy(out + 24, p->host, BUNMG_RENDEZVOUS_HOST_BYTES);
}

void rv_peer_decode(const unsigned char in[RV_PEER_BYTES], bunmg_rendezvous_peer *p) {
  p->rank = (int32_t)get32(in);
  p->local_rank = (int32_t)get32(in + 4);
  p->pid = (int64_t)get64(in + 8);
  p->start = get64(in + 16);
  memcpy(p->host, in + 24, BUNMG_RENDEZVOUS_HOST_BYTES);
  p->host[BUNMG_RENDEZVOUS_HOST_BYTES - 1] = 0;
}

int rv_token_equal(const unsigned char *a, const unsigned char *b) {
  volatile unsigned char diff = 0;
  for (int i = 0; i < BUNMG_RENDEZVOUS_TOKEN_BYTES; i++) diff |= (unsigned char)(a[i] ^ b[i]);
  return diff == 0;
}

int rv_token_field(const char *token, unsigned char out[BUNMG_RENDEZVOUS_TOKEN_BYTES]) {
  size_t n = strnlen(token, BUNMG_RENDEZVOUS_TOKEN_BYTES + 1);
  if (n == 0 || n > BUNMG_RENDEZVOUS_TOKEN_BYTES) return -1;
  memset(out, 0, BUNMG_RENDEZVOUS_TOKEN_BYTES);
  memcpy(out, token, n);
  return 0;
}

int rv_set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Waits for fd to be ready for `events`, at most until the deadline. */
static int await(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - bunmg_now_ms();
    if (left <= 0) return RV_IO_TIMEOUT;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, left > 50 ? 50 : (int)left);
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) return RV_IO_CLOSED;
  }
}

int rv_write_all(int fd, const void *buf, size_t bytes, int64_t deadline_ms) {
  const char *p = buf;
  while (bytes > 0) {
    ssize_t n = send(fd, p, bytes, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      bytes -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      int st = await(fd, POLLOUT, deadline_ms);
      if (st) return st;
    } else {
      return RV_IO_CLOSED;
    }
  }
  return 0;
}

int rv_read_all(int fd, void *buf, size_t bytes, int64_t deadline_ms) {
  char *p = buf;
  while (bytes > 0) {
    ssize_t n = recv(fd, p, bytes, 0);
    if (n > 0) {
      p += n;
      bytes -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      int st = await(fd, POLLIN, deadline_ms);
      if (st) return st;
    } else {
      return RV_IO_CLOSED;
    }
  }
  return 0;
}

int rv_send(int fd, uint32_t type, int32_t a, int32_t b, const void *body, uint64_t length, int64_t deadline_ms) {
  unsigned char head[RV_HEAD_BYTES];
  rv_head h = {.type = type, .a = a, .b = b, .length = length};
  rv_head_encode(&h, head);
  int st = rv_write_all(fd, head, sizeof head, deadline_ms);
  return st || length == 0 ? st : rv_write_all(fd, body, (size_t)length, deadline_ms);
}

int rv_parse_address(const char *address, char *host, size_t host_bytes, char *port, size_t port_bytes) {
  const char *colon = strrchr(address, ':');
  if (!colon || colon == address) return -1;
  const char *h = address;
  size_t hn = (size_t)(colon - address);
  if (h[0] == '[') {
    if (hn < 3 || h[hn - 1] != ']') return -1;
    h++;
    hn -= 2;
  } else if (memchr(h, ':', hn)) {
    return -1; /* a v6 address needs its brackets */
  }
  const char *p = colon + 1;
  size_t pn = strlen(p);
  if (pn == 0 || pn > 5 || strspn(p, "0123456789") != pn) return -1;
  long value = 0;
  for (size_t i = 0; i < pn; i++) value = value * 10 + (p[i] - '0');
  if (value < 1 || value > 65535 || hn + 1 > host_bytes || pn + 1 > port_bytes) return -1;
  memcpy(host, h, hn);
  host[hn] = 0;
  memcpy(port, p, pn + 1);
  return 0;
}

void rv_self(rv_hello *h) {
  h->version = RV_VERSION;
  h->pid = getpid();
  h->start = bunmg_process_start((int32_t)getpid());
  memset(h->host, 0, sizeof h->host);
  if (gethostname(h->host, sizeof h->host - 1) != 0) strcpy(h->host, "?");
}
