/*
 * bunmg_baseline: JAXMg's redistribution, reproduced so the bench can show what bunmg gains.
 *
 * A row-sharded N x N row-major matrix on G logical devices (shard s = ceil(N/G) rows per
 * device; a row of the row-major matrix is a column of the column-major matrix cuSOLVERMg sees,
 * so "column" below means one such row of N elements). JAXMg's procedure, timed as a whole:
 *
 *   1. pad: every shard is copied into a new buffer of sp = ceil(s/T)*T columns (a full copy);
 *   2. permute: the column permutation (column j -> tile k = j/T -> device k%G, local column
 *      (k/G)*T + j%T) is decomposed into cycles, and each cycle is rotated ONE COLUMN at a time,
 *      every copy routed through device 0 with two one-column staging buffers there: copy the
 *      next displaced column into staging B, staging A into its destination, swap A and B. All
 *      copies are cudaMemcpyPeerAsync on one stream of device 0.
 *
 * The padded buffers and the cycle list are prepared once, outside the timed region (the source
 * shards are never modified, so every repeat starts from the same state). Padding slots take part
 * in the permutation (it must be a bijection) but garbage is never copied.
 *
 *   bunmg_baseline --n N --tile T [--devices 0,1] [--dtype-bytes 4|8|16 | --dtype NAME]
 *                  [--repeats 3] [--warmup 1] [--samples 256]
 *
 * --devices defaults to every visible GPU; --samples >= N checks every column.
 *
 * stdout: one JSON line {n, tile, devices, dtype_bytes, seconds_median, seconds_all,
 * columns_moved, copies, ...}; progress on stderr. After the last repeat a sample of columns is
 * checked at its destination (source columns hold a hashed pattern; the rest of the source is a
 * constant byte, since copy speed does not depend on values). Exit status 1 on any CUDA error,
 * a failed check or bad arguments.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime_api.h>

#define BENCH_PROGRAM "bunmg_baseline"
#include "../common/bench_util.h"


static void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size);
  if (!p) die("out of host memory (%zu x %zu bytes)", count, size);
  return p;
}

/* ---- options ---- */

typedef struct {
  int64_t n, tile;
  int ndev, devs[MAX_DEVICES];
  int64_t elem; /* dtype bytes */
  int repeats, warmup, samples;
} options;

static void usage(FILE *f) {
  fputs("usage: bunmg_baseline --n N --tile T [--devices 0,1] [--dtype-bytes 4|8|16 | --dtype NAME]\n"
        "                      [--repeats 3] [--warmup 1] [--samples 256]\n",
        f);
}

static void parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof(*o));
  o->ndev = 0; /* default: every visible device */
  o->elem = 8;
  o->repeats = 3;
  o->warmup = 1;
  o->samples = 256;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("%s: missing value (or unknown flag)", a);
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--n")) o->n = parse_int(a, v, 1, INT_MAX);
    else if (!strcmp(a, "--tile")) o->tile = parse_int(a, v, 1, INT_MAX);
    else if (!strcmp(a, "--devices")) o->ndev = parse_devices(v, o->devs);
    else if (!strcmp(a, "--repeats")) o->repeats = (int)parse_int(a, v, 1, 100000);
    else if (!strcmp(a, "--warmup")) o->warmup = (int)parse_int(a, v, 0, 100000);
    else if (!strcmp(a, "--samples")) o->samples = (int)parse_int(a, v, 0, 100000);
    else if (!strcmp(a, "--dtype-bytes")) {
      o->elem = parse_int(a, v, 4, 16);
      if (o->elem != 4 && o->elem != 8 && o->elem != 16) die("--dtype-bytes: expected 4, 8 or 16");
    } else if (!strcmp(a, "--dtype")) {
      if (!strcmp(v, "float32")) o->elem = 4;
      else if (!strcmp(v, "float64") || !strcmp(v, "complex64")) o->elem = 8;
      else if (!strcmp(v, "complex128")) o->elem = 16;
      else die("--dtype: expected float32, float64, complex64 or complex128, got '%s'", v);
    } else {
      usage(stderr);
      die("unknown flag '%s'", a);
    }
  }
  if (o->n == 0 || o->tile == 0) {
    usage(stderr);
    die("--n and --tile are required");
  }
}

/* ---- layout: slot = d * sp + local column of the padded buffers ---- */

typedef struct {
  int64_t n, tile, g, s, sp, slots;
  int64_t *src_col; /* slot -> global column it holds in row layout, -1 = padding */
  int64_t *next;    /* slot -> slot its content moves to (a bijection) */
} layout;

static int64_t source_slot(const layout *l, int64_t j) { return (j / l->s) * l->sp + j % l->s; }

static int64_t target_slot(const layout *l, int64_t j) {
  const int64_t k = j / l->tile;
  return (k % l->g) * l->sp + (k / l->g) * l->tile + j % l->tile;
}

static void layout_build(layout *l, const options *o) {
  l->n = o->n;
  l->tile = o->tile;
  l->g = o->ndev;
  l->s = (o->n + l->g - 1) / l->g;
  l->sp = (l->s + l->tile - 1) / l->tile * l->tile;
  l->slots = l->g * l->sp;
  l->src_col = xcalloc((size_t)l->slots, sizeof(int64_t));
  l->next = xcalloc((size_t)l->slots, sizeof(int64_t));
  char *is_target = xcalloc((size_t)l->slots, 1);
  for (int64_t t = 0; t < l->slots; t++) l->src_col[t] = l->next[t] = -1;
  for (int64_t j = 0; j < l->n; j++) {
    const int64_t from = source_slot(l, j), to = target_slot(l, j);
    if (to >= l->slots) die("internal: target slot %" PRId64 " out of range", to);
    l->src_col[from] = j;
    l->next[from] = to;
    is_target[to] = 1;
  }
  /* Padding slots go to the slots no column targets, in order: the map becomes a bijection. */
  int64_t free_to = 0;
  for (int64_t t = 0; t < l->slots; t++) {
    if (l->next[t] >= 0) continue;
    while (is_target[free_to]) free_to++;
    l->next[t] = free_to++;
  }
  free(is_target);
}

/* ---- device state ---- */

typedef struct {
  const options *o;
  const layout *l;
  size_t col_bytes;
  char *src[MAX_DEVICES], *pad[MAX_DEVICES], *stage[2];
  int64_t rows[MAX_DEVICES]; /* real columns in each source shard */
  cudaStream_t pad_stream[MAX_DEVICES], stream;
  int64_t copies, columns_moved, cycles;
} state;

static void state_init(state *st, const options *o, const layout *l) {
  memset(st, 0, sizeof(*st));
  st->o = o;
  st->l = l;
  st->col_bytes = (size_t)o->n * (size_t)o->elem;
  enable_peer_access(o->devs, o->ndev); /* every copy goes through device 0; on is enough */
  for (int d = 0; d < o->ndev; d++) {
    int64_t lo = d * l->s, hi = lo + l->s < o->n ? lo + l->s : o->n;
    st->rows[d] = hi > lo ? hi - lo : 0;
    CUDA_CHECK(cudaSetDevice(o->devs[d]));
    const size_t src_bytes = (size_t)(st->rows[d] ? st->rows[d] : 1) * st->col_bytes;
    CUDA_CHECK(cudaMalloc((void **)&st->src[d], src_bytes));
    CUDA_CHECK(cudaMalloc((void **)&st->pad[d], (size_t)l->sp * st->col_bytes));
    CUDA_CHECK(cudaMemset(st->src[d], 0x3C, src_bytes));
    CUDA_CHECK(cudaStreamCreateWithFlags(&st->pad_stream[d], cudaStreamNonBlocking));
  }
  CUDA_CHECK(cudaSetDevice(o->devs[0]));
  CUDA_CHECK(cudaMalloc((void **)&st->stage[0], st->col_bytes));
  CUDA_CHECK(cudaMalloc((void **)&st->stage[1], st->col_bytes));
  CUDA_CHECK(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking));
  for (int d = 0; d < o->ndev; d++) {
    CUDA_CHECK(cudaSetDevice(o->devs[d]));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
}

static void state_free(state *st) {
  const options *o = st->o;
  for (int d = 0; d < o->ndev; d++) {
    CUDA_CHECK(cudaSetDevice(o->devs[d]));
    CUDA_CHECK(cudaStreamDestroy(st->pad_stream[d]));
    CUDA_CHECK(cudaFree(st->src[d]));
    CUDA_CHECK(cudaFree(st->pad[d]));
  }
  CUDA_CHECK(cudaSetDevice(o->devs[0]));
  CUDA_CHECK(cudaStreamDestroy(st->stream));
  CUDA_CHECK(cudaFree(st->stage[0]));
  CUDA_CHECK(cudaFree(st->stage[1]));
}

static char *slot_ptr(const state *st, int64_t slot, int *dev) {
  const int64_t d = slot / st->l->sp;
  *dev = st->o->devs[d];
  return st->pad[d] + (size_t)(slot % st->l->sp) * st->col_bytes;
}

static void copy_column(state *st, void *dst, int dst_dev, const void *src, int src_dev) {
  CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_dev, src, src_dev, st->col_bytes, st->stream));
  st->copies++;
}

/* Rotates the cycle starting at `start`: content(c_i) -> c_{i+1}, the last one -> start. */
static void rotate_cycle(state *st, int64_t start) {
  const int dev0 = st->o->devs[0];
  const int64_t *next = st->l->next, *src_col = st->l->src_col;
  char *a = st->stage[0], *b = st->stage[1], *tmp;
  int dev, a_real = src_col[start] >= 0;
  char *p = slot_ptr(st, start, &dev);
  if (a_real) copy_column(st, a, dev0, p, dev);
  for (int64_t c = next[start];; c = next[c]) {
    p = slot_ptr(st, c, &dev);
    if (c == start) { /* close the cycle */
      if (a_real) copy_column(st, p, dev, a, dev0);
      break;
    }
    const int b_real = src_col[c] >= 0;
    if (b_real) copy_column(st, b, dev0, p, dev); /* the displaced column, into staging B */
    if (a_real) copy_column(st, p, dev, a, dev0); /* staging A into its destination */
    tmp = a, a = b, b = tmp;
    a_real = b_real;
  }
}

/* One timed run: pad copies, then every cycle. Returns seconds. */
static double run_once(state *st, const int64_t *starts, int64_t nstarts) {
  const options *o = st->o;
  st->copies = 0;
  const double t0 = now_seconds();
  for (int d = 0; d < o->ndev; d++) {
    if (!st->rows[d]) continue;
    CUDA_CHECK(cudaSetDevice(o->devs[d]));
    CUDA_CHECK(cudaMemcpyAsync(st->pad[d], st->src[d], (size_t)st->rows[d] * st->col_bytes,
                               cudaMemcpyDeviceToDevice, st->pad_stream[d]));
  }
  for (int d = 0; d < o->ndev; d++) CUDA_CHECK(cudaStreamSynchronize(st->pad_stream[d]));
  CUDA_CHECK(cudaSetDevice(o->devs[0]));
  for (int64_t i = 0; i < nstarts; i++) rotate_cycle(st, starts[i]);
  CUDA_CHECK(cudaStreamSynchronize(st->stream));
  return now_seconds() - t0;
}

/* ---- sampled pattern check ---- */

static uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352DU;
  x ^= x >> 15;
  x *= 0x846CA68BU;
  x ^= x >> 16;
  return x;
}

static void pattern(uint32_t *words, size_t count, int64_t j) {
  for (size_t w = 0; w < count; w++) words[w] = mix32((uint32_t)j * 0x9E3779B1U ^ mix32((uint32_t)w + 1U));
}

/* Edge columns (shard and tile boundaries) and a spread of others; every column when
 * --samples >= N. */
static int64_t pick_samples(const options *o, const layout *l, int64_t *out) {
  int64_t m = 0;
  if (o->samples >= o->n) {
    for (int64_t j = 0; j < o->n; j++) out[m++] = j;
    return m;
  }
  const int64_t edges[] = {0, o->n - 1, l->s - 1, l->s, l->s + 1, l->tile - 1, l->tile, 2 * l->s - 1};
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) && m < o->samples; i++)
    if (edges[i] >= 0 && edges[i] < o->n) out[m++] = edges[i];
  for (uint32_t i = 0; m < o->samples && i < (uint32_t)o->samples; i++)
    out[m++] = (int64_t)(mix32(i * 7919U + 17U) % (uint32_t)o->n);
  return m;
}

static void write_samples(state *st, const int64_t *cols, int64_t m, uint32_t *buf) {
  const size_t words = st->col_bytes / 4;
  for (int64_t i = 0; i < m; i++) {
    const int64_t j = cols[i], d = j / st->l->s;
    pattern(buf, words, j);
    CUDA_CHECK(cudaSetDevice(st->o->devs[d]));
    CUDA_CHECK(cudaMemcpy(st->src[d] + (size_t)(j % st->l->s) * st->col_bytes, buf, st->col_bytes,
                          cudaMemcpyHostToDevice));
  }
}

static void check_samples(state *st, const int64_t *cols, int64_t m, uint32_t *buf, uint32_t *want) {
  const size_t words = st->col_bytes / 4;
  for (int64_t i = 0; i < m; i++) {
    const int64_t j = cols[i];
    int dev;
    const char *p = slot_ptr(st, target_slot(st->l, j), &dev);
    CUDA_CHECK(cudaSetDevice(dev));
    CUDA_CHECK(cudaMemcpy(buf, p, st->col_bytes, cudaMemcpyDeviceToHost));
    pattern(want, words, j);
    if (memcmp(buf, want, st->col_bytes) != 0)
      die("check failed: column %" PRId64 " is not at its block-cyclic position", j);
  }
}

/* ---- main ---- */

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  options o;
  parse_args(argc, argv, &o);
  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count));
  if (count < 1) die("no CUDA device visible");
  if (o.ndev == 0)
    for (o.ndev = 0; o.ndev < count && o.ndev < MAX_DEVICES; o.ndev++) o.devs[o.ndev] = o.ndev;
  for (int d = 0; d < o.ndev; d++)
    if (o.devs[d] >= count) die("device %d does not exist (%d visible)", o.devs[d], count);

  layout l;
  layout_build(&l, &o);
  /* Cycle starts (cycles of length > 1), found once outside the timed region. */
  char *seen = xcalloc((size_t)l.slots, 1);
  int64_t *starts = xcalloc((size_t)l.slots, sizeof(int64_t)), nstarts = 0, moved = 0;
  for (int64_t t = 0; t < l.slots; t++) {
    if (seen[t] || l.next[t] == t) continue;
    starts[nstarts++] = t;
    for (int64_t c = t; !seen[c]; c = l.next[c]) {
      seen[c] = 1;
      moved += l.src_col[c] >= 0;
    }
  }
  free(seen);

  state st;
  state_init(&st, &o, &l);
  uint32_t *buf = xcalloc(st.col_bytes / 4, 4), *want = xcalloc(st.col_bytes / 4, 4);
  int64_t *samples = xcalloc((size_t)(o.samples < o.n ? o.samples : o.n) + 8, sizeof(int64_t));
  const int64_t nsamples = pick_samples(&o, &l, samples);
  write_samples(&st, samples, nsamples, buf);
  fprintf(stderr, "bunmg_baseline: n=%" PRId64 " T=%" PRId64 " G=%d elem=%" PRId64
                  " padded to %" PRId64 " columns/device, %" PRId64 " cycles, %" PRId64 " columns move\n",
          o.n, o.tile, o.ndev, o.elem, l.sp, nstarts, moved);

  double *times = xcalloc((size_t)o.repeats, sizeof(double));
  for (int r = 0; r < o.warmup + o.repeats; r++) {
    const double dt = run_once(&st, starts, nstarts);
    const int timed = r >= o.warmup;
    if (timed) times[r - o.warmup] = dt;
    fprintf(stderr, "bunmg_baseline: %s %d: %.4f s (%" PRId64 " copies)\n", timed ? "repeat" : "warm-up",
            timed ? r - o.warmup + 1 : r + 1, dt, st.copies);
  }
  check_samples(&st, samples, nsamples, buf, want);

  double *sorted = xcalloc((size_t)o.repeats, sizeof(double));
  memcpy(sorted, times, (size_t)o.repeats * sizeof(double));
  qsort(sorted, (size_t)o.repeats, sizeof(double), cmp_double);
  const int h = o.repeats / 2;
  const double med = o.repeats % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);

  printf("{\"n\":%" PRId64 ",\"tile\":%" PRId64 ",\"devices\":[", o.n, o.tile);
  for (int d = 0; d < o.ndev; d++) printf("%s%d", d ? "," : "", o.devs[d]);
  printf("],\"dtype_bytes\":%" PRId64 ",\"seconds_median\":%.9g,\"seconds_all\":[", o.elem, med);
  for (int r = 0; r < o.repeats; r++) printf("%s%.9g", r ? "," : "", times[r]);
  printf("],\"columns_moved\":%" PRId64 ",\"copies\":%" PRId64 ",\"cycles\":%" PRId64
         ",\"padded_columns\":%" PRId64 ",\"warmup\":%d,\"verified_columns\":%" PRId64 "}\n",
         moved, st.copies, nstarts, l.sp, o.warmup, nsamples);
  fflush(stdout);

  state_free(&st);
  free(times);
  free(sorted);
  free(samples);
  free(buf);
  free(want);
  free(starts);
  free(l.src_col);
  free(l.next);
  return 0;
}
