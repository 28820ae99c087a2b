/* A position's pinned mailbox: the small host outputs of queued dense work (info, the scan's
 * answer, a diagonal, X, eigenvalues) are copied into it on the position's stream, and handed to
 * their destinations once the stream is waited for. Inputs (B) are staged through it too. */
#ifndef BUNMG_CUDA_MAILBOX_H
#define BUNMG_CUDA_MAILBOX_H

#include "cuda/cuda_internal.h"

enum { BUNMG_MAIL_PENDING = 16 };

typedef enum {
  BUNMG_MAIL_BYTES, /* copied as they are */
  BUNMG_MAIL_INFO,  /* a device int (devInfo) into an int64_t */
  BUNMG_MAIL_FOUND  /* the scan's unsigned long long into an int64_t: none (all ones) is -1 */
} bunmg_mail_kind;

typedef struct bunmg_mailbox {
  char *pinned; /* cudaHostAlloc'd, grows only while nothing is pending */
  size_t capacity, used;
  struct {
    void *dst;
    size_t offset, bytes;
    bunmg_mail_kind kind;
  } pending[BUNMG_MAIL_PENDING];
  int32_t count;
} bunmg_mailbox;

/* Queues a copy of `bytes` of device memory `src` to host `dst` on `stream`, delivered by
 * bunmg_mail_deliver. Large or many outputs wait for the stream at once instead (correct, only
 * slower). */
bunmg_status bunmg_mail_fetch(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream, void *dst,
                              const void *src, size_t bytes, bunmg_mail_kind kind);
/* Queues an upload of host `src` to device `dst` on `stream`, through the mailbox when it fits. */
bunmg_status bunmg_mail_send(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream, void *dst,
                             const void *src, size_t bytes);
/* Waits for the stream and hands every pending output over (dropping them when the wait fails). */
bunmg_status bunmg_mail_deliver(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream);
void bunmg_mail_free(bunmg_mailbox *box);

#endif
