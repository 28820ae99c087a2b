/* Reading fuzzer input as a stream of little-endian integers (zeros once it runs out), and a
 * failure report that libFuzzer records as a crash with the input that caused it. */
#ifndef BUNMG_FUZZ_INPUT_H
#define BUNMG_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct fuzz_input {
  const uint8_t *data;
  size_t size, at;
} fuzz_input;

static inline uint64_t take(fuzz_input *in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) {
    uint64_t b = in->at < in->size ? in->data[in->at] : 0;
    in->at++;
    v |= b << (8 * i);
  }
  return v;
}

static inline int exhausted(const fuzz_input *in) { return in->at >= in->size; }

/* An integer in [lo, hi]. */
static inline int64_t take_in(fuzz_input *in, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1;
  return lo + (int64_t)(take(in, span > 0xffff ? 4 : span > 0xff ? 2 : 1) % span);
}

/* An int64 for argument checks: mostly small, sometimes an edge or a raw 64-bit value. */
static inline int64_t take_wild(fuzz_input *in, int64_t small_hi) {
  static const int64_t edges[] = {0, -1, 1, INT64_MIN, INT64_MAX, INT32_MAX, (int64_t)INT32_MAX + 1,
                                  INT32_MIN, (int64_t)1 << 40, ((int64_t)1 << 62) + 1, 1025, 1024};
  switch (take(in, 1) % 4) {
    case 0: return edges[take(in, 1) % (sizeof edges / sizeof *edges)];
    case 1: return (int64_t)take(in, 8);
    default: return take_in(in, 1, small_hi);
  }
}

/* An int32 for argument checks: mostly in [lo, hi], sometimes an edge or a raw value. */
static inline int32_t take_wild32(fuzz_input *in, int32_t lo, int32_t hi) {
  static const int32_t edges[] = {INT32_MIN, INT32_MAX, -1, 0, 33, 64, 65};
  switch (take(in, 1) % 4) {
    case 0: return edges[take(in, 1) % (sizeof edges / sizeof *edges)];
    case 1: return (int32_t)(uint32_t)take(in, 4);
    default: return (int32_t)take_in(in, lo, hi);
  }
}

#define FUZZ_FAIL(...)                                       \
  do {                                                       \
    fprintf(stderr, "fuzz check failed at %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                            \
    fprintf(stderr, "\n");                                   \
    abort();                                                 \
  } while (0)

#define FUZZ_CHECK(cond, ...) \
  do {                        \
    if (!(cond)) FUZZ_FAIL(__VA_ARGS__); \
  } while (0)

#endif
