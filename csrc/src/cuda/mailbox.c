/* The pinned mailbox of a position: see mailbox.h. */
#include <string.h>

#include "cuda/mailbox.h"

enum { ALIGN = 16 };
#define MAILBOX_MAX ((size_t)64 << 20) /* beyond this, outputs are copied straight, with a wait */
#define MAILBOX_MIN ((size_t)64 << 10)

static size_t aligned(size_t bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

static void deliver(bunmg_mailbox *box) {
  for (int32_t i = 0; i < box->count; i++) {
    const char *at = box->pinned + box->pending[i].offset;
    void *dst = box->pending[i].dst;
    if (box->pending[i].kind == BUNMG_MAIL_INFO) {
      int value;
      memcpy(&value, at, sizeof value);
      *(int64_t *)dst = value;
    } else if (box->pending[i].kind == BUNMG_MAIL_FOUND) {
      unsigned long long value;
      memcpy(&value, at, sizeof value);
      *(int64_t *)dst = value == ~0ull ? -1 : (int64_t)value;
    } else {
      memcpy(dst, at, box->pending[i].bytes);
    }
  }
  box->count = 0;
  box->used = 0;
}

bunmg_status bunmg_mail_deliver(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream) {
  bunmg_status st = bunmg_cuda_use(mesh, pos);
  if (st == BUNMG_OK) st = bunmg_cuda_check(mesh, pos, "cudaStreamSynchronize", cudaStreamSynchronize(stream));
  if (st == BUNMG_OK) deliver(box);
  box->count = 0;
  box->used = 0;
  return st;
}

/* Room for `bytes` in the mailbox: an offset, or -1 when they go straight (too large). */
static bunmg_status reserve(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream, size_t bytes,
                            int64_t *offset) {
  *offset = -1;
  if (bytes > MAILBOX_MAX) return BUNMG_OK;
  if (box->count == BUNMG_MAIL_PENDING || box->used + aligned(bytes) > box->capacity) {
    /* full: hand over what is there (waiting also for staged inputs in flight), then it may grow */
    bunmg_status st = box->used ? bunmg_mail_deliver(mesh, pos, box, stream) : BUNMG_OK;
    if (st != BUNMG_OK) return st;
  }
  if (aligned(bytes) > box->capacity) {
    size_t grown = box->capacity ? box->capacity : MAILBOX_MIN;
    while (grown < aligned(bytes)) grown *= 2;
    void *fresh = NULL;
    if (cudaHostAlloc(&fresh, grown, cudaHostAllocDefault) != cudaSuccess) {
      (void)cudaGetLastError();
      return BUNMG_OK; /* no pinned memory to spare: go straight */
    }
    if (box->pinned) (void)cudaFreeHost(box->pinned);
    box->pinned = fresh;
    box->capacity = grown;
  }
  *offset = (int64_t)box->used;
  box->used += aligned(bytes);
  return BUNMG_OK;
}

bunmg_status bunmg_mail_fetch(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream, void *dst,
                              const void *src, size_t bytes, bunmg_mail_kind kind) {
  int64_t offset;
  bunmg_status st = reserve(mesh, pos, box, stream, bytes, &offset);
  if (st != BUNMG_OK) return st;
  if (offset < 0) { /* straight into pageable memory: returns once the copy (and all before it) is done */
    if (kind != BUNMG_MAIL_BYTES) return bunmg_fail(BUNMG_DEVICE_ERROR, "mailbox: no room for a %zu-byte answer", bytes);
    return bunmg_cuda_check(mesh, pos, "cudaMemcpyAsync", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
  }
  st = bunmg_cuda_check(mesh, pos, "cudaMemcpyAsync",
                        cudaMemcpyAsync(box->pinned + offset, src, bytes, cudaMemcpyDeviceToHost, stream));
  if (st == BUNMG_OK) {
    box->pending[box->count].dst = dst;
    box->pending[box->count].offset = (size_t)offset;
    box->pending[box->count].bytes = bytes;
    box->pending[box->count].kind = kind;
    box->count++;
  }
  return st;
}

bunmg_status bunmg_mail_send(bunmg_mesh *mesh, int32_t pos, bunmg_mailbox *box, cudaStream_t stream, void *dst,
                             const void *src, size_t bytes) {
  int64_t offset;
  bunmg_status st = reserve(mesh, pos, box, stream, bytes, &offset);
  if (st != BUNMG_OK) return st;
  const void *from = src;
  if (offset >= 0) { /* the slot stays untouched until the next delivery, after the stream passed it */
    memcpy(box->pinned + offset, src, bytes);
    from = box->pinned + offset;
  }
  return bunmg_cuda_check(mesh, pos, "cudaMemcpyAsync", cudaMemcpyAsync(dst, from, bytes, cudaMemcpyHostToDevice, stream));
}

void bunmg_mail_free(bunmg_mailbox *box) {
  if (box->pinned) (void)cudaFreeHost(box->pinned);
  *box = (bunmg_mailbox){0};
}
