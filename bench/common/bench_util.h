/* What the bench's C programs share: fatal errors, CUDA checks, a clock, flag parsing, peer
 * access. Define BENCH_PROGRAM (the program's name, for messages) before including. */
#ifndef BUNMG_BENCH_UTIL_H
#define BUNMG_BENCH_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cuda_runtime_api.h>

#define MAX_DEVICES 32

static inline void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(BENCH_PROGRAM ": error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

#define CUDA_CHECK(call)                                                                      \
  do {                                                                                        \
    cudaError_t e_ = (call);                                                                  \
    if (e_ != cudaSuccess)                                                                    \
      die("%s:%d: %s failed: %s (%s)", __FILE__, __LINE__, #call, cudaGetErrorName(e_),      \
          cudaGetErrorString(e_));                                                            \
  } while (0)

static inline double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline long long parse_int(const char *flag, const char *s, long long lo, long long hi) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    die("%s: expected an integer in [%lld, %lld], got '%s'", flag, lo, hi, s);
  return v;
}

/* "0,1,0" into devs (at most MAX_DEVICES); returns the count. */
static inline int parse_devices(const char *s, int *devs) {
  int n = 0;
  for (const char *p = s; *p;) {
    char *end = NULL;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno != 0 || end == p || v < 0 || v > INT_MAX || (*end != ',' && *end != '\0') ||
        (*end == ',' && end[1] == '\0'))
      die("--devices: bad list '%s'", s);
    if (n == MAX_DEVICES) die("--devices: at most %d logical devices", MAX_DEVICES);
    devs[n++] = (int)v;
    p = *end == ',' ? end + 1 : end;
  }
  if (n == 0) die("--devices: empty list");
  return n;
}

/* Peer access between every ordered pair of distinct devices that can (already on is fine). */
static inline void enable_peer_access(const int *devs, int m) {
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++) {
      if (devs[a] == devs[b]) continue;
      int can = 0;
      CUDA_CHECK(cudaDeviceCanAccessPeer(&can, devs[a], devs[b]));
      if (!can) {
        fprintf(stderr, BENCH_PROGRAM ": note: device %d cannot access device %d directly\n", devs[a], devs[b]);
        continue;
      }
      CUDA_CHECK(cudaSetDevice(devs[a]));
      cudaError_t e = cudaDeviceEnablePeerAccess(devs[b], 0);
      if (e == cudaErrorPeerAccessAlreadyEnabled) (void)cudaGetLastError();
      else CUDA_CHECK(e);
    }
}

#endif
