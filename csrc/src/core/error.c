/* The calling thread's last error: code, message and detail. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

static _Thread_local char message[1024];
static _Thread_local int64_t detail_index = -1;
static _Thread_local int32_t detail_device = -1;

static bunmg_status set(bunmg_status code, int64_t index, int32_t device, const char *fmt,
                        va_list ap) {
  vsnprintf(message, sizeof message, fmt, ap);
  detail_index = index;
  detail_device = device;
  return code;
}

bunmg_status bunmg_fail(bunmg_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set(code, -1, -1, fmt, ap);
  va_end(ap);
  return code;
}

bunmg_status bunmg_fail_at(bunmg_status code, int64_t index, int32_t device, const char *fmt,
                           ...) {
  va_list ap;
  va_start(ap, fmt);
  set(code, index, device, fmt, ap);
  va_end(ap);
  return code;
}

void bunmg_error_prefix(const char *fmt, ...) {
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t plen = strlen(prefix), mlen = strlen(message);
  if (plen + mlen >= sizeof message) mlen = sizeof message - 1 - plen;
  memmove(message + plen, message, mlen);
  memcpy(message, prefix, plen);
  message[plen + mlen] = '\0';
}

void bunmg_error_suffix(const char *fmt, ...) {
  size_t mlen = strlen(message);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message + mlen, sizeof message - mlen, fmt, ap);
  va_end(ap);
}

void bunmg_clear_error(void) {
  message[0] = '\0';
  detail_index = -1;
  detail_device = -1;
}

const char *bunmg_last_error(void) { return message; }

void bunmg_last_error_detail(int64_t *index, int32_t *device) {
  if (index) *index = detail_index;
  if (device) *device = detail_device;
}

const char *bunmg_version(void) { return BUNMG_VERSION; }
