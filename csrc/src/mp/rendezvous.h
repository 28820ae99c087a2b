/* The TCP rendezvous at rank 0 (bunmg.h's "rendezvous across nodes"): the wire format
 * (rendezvous_wire.c), rank 0's side of the join (rendezvous_server.c), the other ranks' side
 * (rendezvous_client.c), the liveness thread that keeps the connections (rendezvous_liveness.c)
 * and the collectives over the star (rendezvous.c). Sockets are non-blocking; every read and
 * write is polled under a deadline. */
#ifndef BUNMG_RENDEZVOUS_H
#define BUNMG_RENDEZVOUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bunmg.h"

#define RV_HEARTBEAT_MS 100
#define RV_LOST_MS 350          /* three missed heartbeats, and half a period of slack */
#define RV_HELLO_MS 2000        /* a connection's deadline for its hello */
#define RV_GRACE_MS 1000        /* how much longer a rank waits for rank 0's verdict than rank 0 waits */
#define RV_TEXT 256             /* failure messages carried on the wire */
#define RV_MAX_BODY ((uint64_t)1 << 40)

/* ---- wire format (rendezvous_wire.c), little-endian ---- */
#define RV_MAGIC "BUNMGRV1"
#define RV_VERSION 1
#define RV_HELLO_BYTES 176
#define RV_HEAD_BYTES 24
#define RV_PEER_BYTES 88

typedef enum {
  RV_MSG_HEARTBEAT = 1,
  RV_MSG_WELCOME = 2, /* a = size, b = blob bytes; body: the table, then the blob */
  RV_MSG_REFUSE = 3,  /* body: why */
  RV_MSG_FAIL = 4,    /* a = status, b = rank; body: the message */
  RV_MSG_VOTE = 5,    /* a = agreement, b = status; body: the voter's message */
  RV_MSG_RESULT = 6,  /* a = agreement, b = first failed rank; body: its status (4 bytes), its message */
  RV_MSG_BCAST = 7,   /* a = bcast; body: the bytes */
  RV_MSG_LEAVE = 8
} rv_msg;

typedef struct rv_hello {
  uint32_t version;
  int32_t rank, size, local_rank;
  int64_t pid;
  uint64_t start;
  unsigned char token[BUNMG_RENDEZVOUS_TOKEN_BYTES];
  char host[BUNMG_RENDEZVOUS_HOST_BYTES];
} rv_hello;

typedef struct rv_head {
  uint32_t type;
  int32_t a, b;
  uint64_t length;
} rv_head;

void rv_hello_encode(const rv_hello *h, unsigned char out[RV_HELLO_BYTES]);
/* 0, or why the bytes are not a hello of this version (a static string) */
const char *rv_hello_decode(const unsigned char in[RV_HELLO_BYTES], rv_hello *h);
void rv_head_encode(const rv_head *h, unsigned char out[RV_HEAD_BYTES]);
void rv_head_decode(const unsigned char in[RV_HEAD_BYTES], rv_head *h);
void rv_peer_encode(const bunmg_rendezvous_peer *p, unsigned char out[RV_PEER_BYTES]);
void rv_peer_decode(const unsigned char in[RV_PEER_BYTES], bunmg_rendezvous_peer *p);
/* 1 when equal; time independent of where they differ */
int rv_token_equal(const unsigned char *a, const unsigned char *b);
/* The token zero-padded into its wire field; 0, or -1 when it is empty or too long. */
int rv_token_field(const char *token, unsigned char out[BUNMG_RENDEZVOUS_TOKEN_BYTES]);

/* I/O on non-blocking sockets: 0 done, RV_IO_CLOSED (closed or failed), RV_IO_TIMEOUT. */
enum { RV_IO_CLOSED = -1, RV_IO_TIMEOUT = -2 };
int rv_write_all(int fd, const void *buf, size_t bytes, int64_t deadline_ms);
int rv_read_all(int fd, void *buf, size_t bytes, int64_t deadline_ms);
/* A framed message: head, then body (may be NULL when length is 0). */
int rv_send(int fd, uint32_t type, int32_t a, int32_t b, const void *body, uint64_t length, int64_t deadline_ms);
int rv_set_nonblocking(int fd);
/* "host:port" or "[v6]:port" split into host (NUL-terminated) and port; 0, or -1. */
int rv_parse_address(const char *address, char *host, size_t host_bytes, char *port, size_t port_bytes);
void rv_self(rv_hello *h);

/* ---- the handle ---- */
typedef struct rv_link {
  int fd;      /* -1: none (this rank, or closed) */
  int32_t rank;
  int left;    /* said it leaves: its close is no loss */
  int64_t heard_ms;
  pthread_mutex_t send_lock; /* one message at a time on fd */
  /* the message being read (the liveness thread's) */
  unsigned char head[RV_HEAD_BYTES];
  size_t head_got;
  rv_head current;
  unsigned char *body;
  uint64_t body_got;
  /* rank 0: this rank's last vote */
  int32_t vote_seq;
  int32_t vote_status;
  char vote_text[RV_TEXT];
} rv_link;

struct bunmg_rendezvous {
  int32_t rank, size;
  int64_t timeout_ms;
  bunmg_rendezvous_peer *table;
  unsigned char blob[BUNMG_RENDEZVOUS_BLOB_BYTES];
  int64_t blob_bytes;
  int64_t refused;
  /* rank 0: one link per rank (links[0] unused); every other rank: links[0] to rank 0 */
  rv_link *links;
  int32_t nlinks;
  pthread_mutex_t lock; /* everything below, and the links' inbox fields */
  pthread_cond_t changed;
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_int silent; /* fault: no heartbeats */
  int forward;       /* rank 0: the failure is still to be sent to every rank */
  pthread_mutex_t forward_lock;
  _Atomic int busy;  /* one collective at a time */
  bunmg_status broken;
  int32_t broken_rank;
  char broken_message[RV_TEXT];
  int32_t agree_seq, bcast_seq;
  int32_t fault;
  /* other ranks: rank 0's last result and bcast */
  int32_t result_seq, result_first, result_status;
  char result_text[RV_TEXT];
  int32_t bcast_in_seq;
  unsigned char *bcast_in;
  uint64_t bcast_in_bytes;
};

/* ---- rank 0's side of the join (rendezvous_server.c), the others' (rendezvous_client.c) ----
 * Each fills rv's table, blob and links; on failure every socket is closed. */
bunmg_status rv_serve_join(bunmg_rendezvous *rv, const char *port, const unsigned char *token, int die_at_join);
bunmg_status rv_client_join(bunmg_rendezvous *rv, const char *host, const char *port, const rv_hello *mine,
                            int die_at_join);

/* ---- the liveness thread (rendezvous_liveness.c) ---- */
bunmg_status rv_liveness_start(bunmg_rendezvous *rv);
void rv_liveness_stop(bunmg_rendezvous *rv);
/* Records the failure that breaks rv, the first one staying; rank 0 then tells every rank. With
 * rv->lock held. */
void rv_break_locked(bunmg_rendezvous *rv, bunmg_status status, int32_t rank, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends rank 0's recorded failure to every rank still connected, once (without rv->lock). */
void rv_forward(bunmg_rendezvous *rv);
/* A message on links[i] with its send lock; a failure breaks rv (PEER_LOST or TIMEOUT naming
 * the link's rank). 0 or -1. */
int rv_link_send(bunmg_rendezvous *rv, int32_t i, uint32_t type, int32_t a, int32_t b, const void *body,
                 uint64_t length, int64_t deadline_ms);

#endif
