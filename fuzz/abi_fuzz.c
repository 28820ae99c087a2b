/* Fuzzes the C ABI on a host mesh: a program of calls with fuzzed arguments and fuzzed
 * bunmg_matrix descriptors (sizes, tile, dtype, layout, shard pointers, some of them lies).
 *
 * The library must answer every call with a status, never a crash or a sanitizer report, and:
 *  - a failure has a message;
 *  - a redistribution of a truthfully described matrix keeps its rows (checked against the
 *    harness's model of where each row is), or, when it fails, leaves it as it was;
 *  - cholesky on the multi path leaves A cyclic on success, on the single path A unchanged, and
 *    in row layout on failure; a failed cholesky or syevd of a Hermitian A gives A back bit for
 *    bit; syevd and the inverse end in row layout; a factor refuses a matrix that changed;
 *  - ranges outside the mesh's allocations are refused (ASan catches any that are not). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bunmg.h"
#include "fuzz_input.h"

#define MAX_N 40
#define SLOTS 2
#define MAX_ALLOCS 8

typedef enum { CONTENT_UNKNOWN, CONTENT_IDS, CONTENT_HERMITIAN } content_kind;

typedef struct slot {
  int live;
  bunmg_matrix m;     /* what the library is given (and updates) */
  bunmg_matrix truth; /* the real shape, shards and layout */
  int lying;          /* m differs from truth in a field the harness changed */
  content_kind content;
  bunmg_factor *factor; /* the last cholesky's, until the slot is renewed */
} slot;

typedef struct harness {
  fuzz_input in;
  bunmg_mesh *mesh;
  int32_t ndev;
  slot slots[SLOTS];
  void *allocs[MAX_ALLOCS];
  int32_t alloc_dev[MAX_ALLOCS];
  uint64_t alloc_bytes[MAX_ALLOCS];
  int armed; /* a copy failure was injected: a second failure while restoring may lose a layout */
} harness;

static harness *current;

static size_t esize(int32_t dtype) { return dtype == 0 ? 4 : dtype == 3 ? 16 : 8; }

static int trace; /* FUZZ_TRACE=1: print every call and its status (to read a crash input) */

static void expect_status(bunmg_status st, const char *call) {
  if (trace) fprintf(stderr, "  %s -> %d %s\n", call, (int)st, st ? bunmg_last_error() : "");
  FUZZ_CHECK(st >= BUNMG_OK && st <= BUNMG_DISPOSED, "%s: status %d is not a bunmg_status", call, (int)st);
  if (st != BUNMG_OK) FUZZ_CHECK(bunmg_last_error()[0] != '\0', "%s: status %d without a message", call, (int)st);
  /* Only a double fault loses a layout: an injected copy failure while undoing another failure. */
  FUZZ_CHECK(st != BUNMG_LAYOUT_LOST || current->armed, "%s: LAYOUT_LOST without an injected fault: %s", call,
             bunmg_last_error());
}

/* ---- the model of a matrix's contents: row ids ---- */

static double id_of(int64_t row, int64_t col) { return (double)(row * 1000 + col) + 0.5; }

static void write_row_ids(harness *h, const bunmg_matrix *t) {
  size_t es = esize(t->dtype), row_bytes = (size_t)t->cols * es;
  int64_t s = (t->rows + h->ndev - 1) / h->ndev;
  char *row = malloc(row_bytes);
  for (int64_t j = 0; j < t->rows; j++) {
    for (int64_t c = 0; c < t->cols * (t->dtype >= 2 ? 2 : 1); c++) {
      if (t->dtype == 0 || t->dtype == 2) ((float *)row)[c] = (float)id_of(j, c);
      else ((double *)row)[c] = id_of(j, c);
    }
    bunmg_status st = bunmg_copy_to_device(h->mesh, (int32_t)(j / s), (char *)t->shards[j / s] + (size_t)(j % s) * row_bytes,
                                           row, row_bytes);
    FUZZ_CHECK(st == BUNMG_OK, "copy_to_device of a row failed: %s", bunmg_last_error());
  }
  free(row);
}

/* Where global row j is in the truth's layout. */
static void locate(const harness *h, const bunmg_matrix *t, int64_t j, int32_t *dev, int64_t *local) {
  if (t->layout == BUNMG_LAYOUT_ROWS) {
    int64_t s = (t->rows + h->ndev - 1) / h->ndev;
    *dev = (int32_t)(j / s);
    *local = j % s;
  } else {
    int64_t k = j / t->tile;
    *dev = (int32_t)(k % h->ndev);
    *local = (k / h->ndev) * t->tile + j % t->tile;
  }
}

static void expect_row_ids(harness *h, const bunmg_matrix *t, const char *when) {
  size_t es = esize(t->dtype), row_bytes = (size_t)t->cols * es;
  char *row = malloc(row_bytes);
  for (int64_t j = 0; j < t->rows; j++) {
    int32_t d;
    int64_t l;
    locate(h, t, j, &d, &l);
    FUZZ_CHECK(bunmg_copy_to_host(h->mesh, d, row, (char *)t->shards[d] + (size_t)l * row_bytes, row_bytes) == BUNMG_OK,
               "copy_to_host failed: %s", bunmg_last_error());
    for (int64_t c = 0; c < t->cols * (t->dtype >= 2 ? 2 : 1); c++) {
      double v = t->dtype == 0 || t->dtype == 2 ? ((float *)row)[c] : ((double *)row)[c];
      double want = t->dtype == 0 || t->dtype == 2 ? (double)(float)id_of(j, c) : id_of(j, c);
      FUZZ_CHECK(v == want, "%s: row %lld (layout %d, tile %lld) holds %g at %lld, expected %g", when, (long long)j,
                 t->layout, (long long)t->tile, v, (long long)c, want);
    }
  }
  free(row);
}

/* The whole matrix in row-major order (row layout only). */
static char *snapshot(harness *h, const bunmg_matrix *t) {
  size_t row_bytes = (size_t)t->cols * esize(t->dtype);
  char *all = malloc(row_bytes * (size_t)t->rows);
  int64_t s = (t->rows + h->ndev - 1) / h->ndev;
  for (int64_t j = 0; j < t->rows; j++)
    FUZZ_CHECK(bunmg_copy_to_host(h->mesh, (int32_t)(j / s), all + (size_t)j * row_bytes,
                                  (char *)t->shards[j / s] + (size_t)(j % s) * row_bytes, row_bytes) == BUNMG_OK,
               "snapshot failed: %s", bunmg_last_error());
  return all;
}

static void expect_snapshot(harness *h, const bunmg_matrix *t, const char *before, const char *when) {
  char *now = snapshot(h, t);
  FUZZ_CHECK(memcmp(now, before, (size_t)t->cols * esize(t->dtype) * (size_t)t->rows) == 0,
             "%s: A was not given back bit for bit", when);
  free(now);
}

/* ---- operations ---- */

static void drop_factor(slot *sl) {
  FUZZ_CHECK(bunmg_factor_destroy(sl->factor) == BUNMG_OK, "factor_destroy failed: %s", bunmg_last_error());
  sl->factor = NULL;
}

static void release_slot(harness *h, slot *sl) {
  drop_factor(sl);
  if (!sl->live) return;
  for (int32_t d = 0; d < h->ndev; d++)
    FUZZ_CHECK(bunmg_free(h->mesh, d, sl->truth.shards[d]) == BUNMG_OK, "free of a shard failed: %s", bunmg_last_error());
  sl->live = 0;
}

static void op_new(harness *h, slot *sl) {
  release_slot(h, sl);
  int64_t rows = take_in(&h->in, 1, MAX_N);
  int square = take(&h->in, 1) % 4 != 0;
  int64_t cols = square ? rows : take_in(&h->in, 1, MAX_N);
  int32_t dtype = (int32_t)(take(&h->in, 1) % 4);
  int64_t max_tile = take_in(&h->in, 1, rows + 4), cap = 0;
  for (int64_t t = 1; t <= max_tile; t++) {
    int64_t c;
    FUZZ_CHECK(bunmg_shard_capacity(rows, t, h->ndev, &c) == BUNMG_OK, "shard_capacity failed");
    if (c > cap) cap = c;
  }
  bunmg_matrix m = {rows, cols, cap, 0, dtype, BUNMG_LAYOUT_ROWS, 0, {0}};
  for (int32_t d = 0; d < h->ndev; d++) {
    bunmg_status st = bunmg_alloc(h->mesh, d, (uint64_t)cap * (uint64_t)cols * esize(dtype), &m.shards[d]);
    FUZZ_CHECK(st == BUNMG_OK, "alloc of a shard failed: %s", bunmg_last_error());
  }
  sl->live = 1;
  sl->m = sl->truth = m;
  sl->lying = 0;
  int kind = (int)(take(&h->in, 1) % 3);
  if (kind == 0 || !square) {
    write_row_ids(h, &m);
    sl->content = CONTENT_IDS;
  } else {
    bunmg_status st = bunmg_fill_random(h->mesh, &sl->m, kind == 1 ? BUNMG_FILL_HPD : BUNMG_FILL_UNIFORM, take(&h->in, 2));
    FUZZ_CHECK(st == BUNMG_OK, "fill_random failed: %s", bunmg_last_error());
    sl->content = kind == 1 ? CONTENT_HERMITIAN : CONTENT_UNKNOWN;
  }
}

/* Changes one field of the descriptor the library sees. */
static void op_lie(harness *h, slot *sl) {
  bunmg_matrix *m = &sl->m;
  switch (take(&h->in, 1) % 9) {
    case 0: m->rows = take_wild(&h->in, MAX_N + 8); break;
    case 1: m->cols = take_wild(&h->in, MAX_N + 8); break;
    case 2: m->capacity = take_wild(&h->in, 2 * MAX_N); break;
    case 3: m->tile = take_wild(&h->in, MAX_N); break;
    case 4: m->dtype = take_wild32(&h->in, -1, 4); break;
    case 5: m->layout = take_wild32(&h->in, -1, 2); break;
    case 6: m->generation += take_in(&h->in, 1, 3); break; /* a stale descriptor: its factor must refuse it */
    case 7: {
      int32_t d = (int32_t)(take(&h->in, 1) % BUNMG_MAX_DEVICES);
      int how = (int)(take(&h->in, 1) % 4);
      m->shards[d] = how == 0 ? NULL
                   : how == 1 ? (char *)sl->truth.shards[d % h->ndev] + take_in(&h->in, 1, 64)
                   : how == 2 ? sl->truth.shards[(d + 1) % h->ndev]
                              : (void *)(uintptr_t)take(&h->in, 8);
      break;
    }
    default: *m = sl->truth; break; /* back to the truth */
  }
  bunmg_matrix truth = sl->truth;
  truth.generation = m->generation; /* the library's counter, not a lie */
  sl->lying = memcmp(m, &truth, sizeof *m) != 0;
}

/* After a call on a lying descriptor that the library did not refuse (a lie it cannot see, such
 * as float64 data described as complex64), the contents are unknown; the layout is what the
 * library recorded. */
static void after_lie(slot *sl, bunmg_status st) {
  if (st == BUNMG_INVALID_ARGUMENT) return;
  sl->content = CONTENT_UNKNOWN;
  sl->truth.layout = sl->m.layout;
  sl->truth.tile = sl->m.tile;
}

static int64_t fuzz_tile(harness *h, const slot *sl) {
  return take(&h->in, 1) % 8 == 0 ? take_wild(&h->in, 2048) : take_in(&h->in, 1, sl->truth.rows + 4);
}

/* After LAYOUT_LOST the contents are gone; the descriptor records the layout they are in. */
static int lost(slot *sl, bunmg_status st) {
  if (st != BUNMG_LAYOUT_LOST) return 0;
  FUZZ_CHECK(sl->m.layout == BUNMG_LAYOUT_ROWS || sl->m.layout == BUNMG_LAYOUT_CYCLIC, "layout %d after LAYOUT_LOST", sl->m.layout);
  if (!sl->lying) {
    sl->truth.layout = sl->m.layout;
    sl->truth.tile = sl->m.tile;
  }
  sl->content = CONTENT_UNKNOWN;
  return 1;
}

/* A known gap (docs/reliability.md, "post-states"): when the copy back to row layout fails after
 * syevd's or potri's solver ran, the result stays in the cyclic layout, consistent and readable,
 * with a DEVICE_ERROR that says so, instead of the row layout bunmg.h promises. */
static int stuck_cyclic(const slot *sl, bunmg_status st) {
  return st == BUNMG_DEVICE_ERROR && sl->m.layout == BUNMG_LAYOUT_CYCLIC && current->armed &&
         (strstr(bunmg_last_error(), "restored to its cyclic layout") || strstr(bunmg_last_error(), "stays in its cyclic layout"));
}

static void op_redistribute(harness *h, slot *sl, int to_cyclic) {
  int64_t tile = to_cyclic ? fuzz_tile(h, sl) : 0;
  bunmg_matrix before = sl->m;
  bunmg_status st = to_cyclic ? bunmg_to_cyclic(h->mesh, &sl->m, tile) : bunmg_to_rows(h->mesh, &sl->m);
  expect_status(st, to_cyclic ? "to_cyclic" : "to_rows");
  if (lost(sl, st)) return;
  if (sl->lying) {
    after_lie(sl, st);
    return;
  }
  if (st != BUNMG_OK) {
    FUZZ_CHECK(sl->m.layout == before.layout && sl->m.tile == before.tile, "a failed redistribution changed the descriptor");
  } else {
    FUZZ_CHECK(sl->m.layout == (to_cyclic ? BUNMG_LAYOUT_CYCLIC : BUNMG_LAYOUT_ROWS), "layout after a redistribution");
    if (to_cyclic) FUZZ_CHECK(sl->m.tile == tile, "tile after to_cyclic");
  }
  sl->truth.layout = sl->m.layout;
  sl->truth.tile = sl->m.tile;
  if (sl->content == CONTENT_IDS) expect_row_ids(h, &sl->truth, to_cyclic ? "to_cyclic" : "to_rows");
}

/* Options with a fuzzed tile and path (now and then a wild one). */
static bunmg_options fuzz_options(harness *h, const slot *sl) {
  bunmg_options o = {fuzz_tile(h, sl), (int32_t)(take(&h->in, 1) % 3), 1, 0, 0};
  if (take(&h->in, 1) % 16 == 0) o.path = take_wild32(&h->in, -1, 4);
  return o;
}

static void op_cholesky(harness *h, slot *sl) {
  bunmg_options o = fuzz_options(h, sl);
  int hermitian_rows = !sl->lying && sl->content == CONTENT_HERMITIAN && sl->truth.layout == BUNMG_LAYOUT_ROWS;
  char *before = hermitian_rows ? snapshot(h, &sl->truth) : NULL;
  int32_t layout_before = sl->m.layout;
  drop_factor(sl);
  int defaults = take(&h->in, 1) % 32 == 0;
  if (defaults) o = (bunmg_options){0, BUNMG_PATH_AUTO, 1, 0, 0};
  bunmg_status st = bunmg_cholesky(h->mesh, &sl->m, defaults ? NULL : &o, &sl->factor);
  expect_status(st, "cholesky");
  if (defaults) o.taken = sl->m.layout == BUNMG_LAYOUT_CYCLIC ? BUNMG_PATH_MULTI : BUNMG_PATH_SINGLE;
  int64_t tile = o.tile;
  if (tile == 0 && bunmg_default_tile(BUNMG_ROUTINE_POTRS, sl->m.dtype, sl->m.rows, &tile) != BUNMG_OK) tile = -1;
  FUZZ_CHECK((st == BUNMG_OK) == (sl->factor != NULL), "cholesky gave status %d and factor %p", (int)st, (void *)sl->factor);
  if (lost(sl, st)) {
  } else if (sl->lying) {
    after_lie(sl, st);
  } else {
    int single = st == BUNMG_OK && o.taken == BUNMG_PATH_SINGLE;
    if (st == BUNMG_OK && !single)
      FUZZ_CHECK(sl->m.layout == BUNMG_LAYOUT_CYCLIC && sl->m.tile == tile, "cholesky OK on the multi path but not cyclic");
    if (single || st != BUNMG_OK) FUZZ_CHECK(sl->m.layout == layout_before, "cholesky changed the layout");
    sl->truth.layout = sl->m.layout;
    sl->truth.tile = sl->m.tile;
    if (before && (st != BUNMG_OK || single)) expect_snapshot(h, &sl->truth, before, single ? "single-path cholesky" : "failed cholesky");
    /* A failed cholesky rebuilds A's upper triangle from its lower one: only a Hermitian A comes
     * back bit for bit (docs/reliability.md). */
    if ((st == BUNMG_OK && !single) || (st != BUNMG_INVALID_ARGUMENT && sl->content != CONTENT_HERMITIAN))
      sl->content = CONTENT_UNKNOWN;
  }
  free(before);
}

static void op_solve(harness *h, slot *sl) {
  int64_t nrhs = take(&h->in, 1) % 8 == 0 ? take_wild(&h->in, 4) : take_in(&h->in, 1, 3);
  int64_t rows = sl->m.rows > 0 && sl->m.rows <= 4 * MAX_N ? sl->m.rows : 1;
  size_t n = nrhs > 0 && nrhs <= 4 ? (size_t)(rows * nrhs) : 0;
  double *b = calloc(n * 2 + 1, sizeof(double)); /* room for complex128 */
  for (size_t i = 0; i < n * 2; i++) b[i] = 1.0;
  bunmg_status st = bunmg_factor_solve(sl->factor, &sl->m, take(&h->in, 1) % 16 == 0 ? NULL : b, n ? nrhs : nrhs > 4 ? 0 : nrhs);
  expect_status(st, "factor_solve");
  FUZZ_CHECK(!(st == BUNMG_OK && n == 0), "factor_solve accepted nrhs %lld", (long long)nrhs);
  FUZZ_CHECK(sl->factor || st == BUNMG_INVALID_ARGUMENT, "factor_solve without a factor gave %d", (int)st);
  free(b);
}

static void op_logdet(harness *h, slot *sl) {
  double out = 0;
  bunmg_status st = bunmg_factor_logdet(sl->factor, &sl->m, take(&h->in, 1) % 8 == 0 ? NULL : &out);
  expect_status(st, "factor_logdet");
}

static void op_inverse(slot *sl) {
  bunmg_status st = bunmg_factor_inverse(sl->factor, &sl->m);
  expect_status(st, "factor_inverse");
  if (lost(sl, st)) return;
  if (sl->lying) {
    after_lie(sl, st);
    return;
  }
  if (st != BUNMG_INVALID_ARGUMENT && st != BUNMG_DISPOSED && !stuck_cyclic(sl, st))
    FUZZ_CHECK(sl->m.layout == BUNMG_LAYOUT_ROWS, "inverse ended in layout %d with status %d: %s", sl->m.layout,
                                                (int)st, bunmg_last_error());
  sl->truth.layout = sl->m.layout;
  sl->truth.tile = sl->m.tile;
  if (st != BUNMG_INVALID_ARGUMENT && st != BUNMG_DISPOSED) sl->content = CONTENT_UNKNOWN;
}

static void op_syevd(harness *h, slot *sl) {
  bunmg_options o = fuzz_options(h, sl);
  int32_t flags = take(&h->in, 1) % 8 == 0 ? (int32_t)take(&h->in, 4) : (int32_t)(take(&h->in, 1) % 4);
  int64_t rows = sl->m.rows > 0 && sl->m.rows <= 4 * MAX_N ? sl->m.rows : 1;
  double *w = calloc((size_t)rows, sizeof(double));
  int hermitian_rows = !sl->lying && sl->content == CONTENT_HERMITIAN && sl->truth.layout == BUNMG_LAYOUT_ROWS;
  char *before = hermitian_rows ? snapshot(h, &sl->truth) : NULL;
  int32_t layout_before = sl->m.layout;
  bunmg_status st = bunmg_syevd(h->mesh, &sl->m, flags, take(&h->in, 1) % 16 == 0 ? NULL : w, &o);
  expect_status(st, "syevd");
  if (lost(sl, st)) {
  } else if (sl->lying) {
    after_lie(sl, st);
  } else if (stuck_cyclic(sl, st)) {
    sl->truth.layout = sl->m.layout;
    sl->truth.tile = sl->m.tile;
    sl->content = CONTENT_UNKNOWN;
  } else {
    FUZZ_CHECK(sl->m.layout == (st == BUNMG_INVALID_ARGUMENT ? layout_before : BUNMG_LAYOUT_ROWS), "syevd ended in layout %d with status %d: %s", sl->m.layout, (int)st,
               bunmg_last_error());
    sl->truth.layout = sl->m.layout;
    sl->truth.tile = sl->m.tile;
    if (before && st != BUNMG_OK && st != BUNMG_INVALID_ARGUMENT) expect_snapshot(h, &sl->truth, before, "failed syevd");
    if (before && st == BUNMG_OK && !(flags & BUNMG_EIG_VECTORS)) expect_snapshot(h, &sl->truth, before, "syevd without vectors");
    if ((st == BUNMG_OK && (flags & BUNMG_EIG_VECTORS)) || (st != BUNMG_INVALID_ARGUMENT && sl->content != CONTENT_HERMITIAN))
      sl->content = CONTENT_UNKNOWN;
  }
  free(before);
  free(w);
}

static void op_fill(harness *h, slot *sl) {
  int32_t kind = take(&h->in, 1) % 8 == 0 ? take_wild32(&h->in, -1, 2) : (int32_t)(take(&h->in, 1) % 2);
  bunmg_status st = bunmg_fill_random(h->mesh, &sl->m, kind, take(&h->in, 8));
  expect_status(st, "fill_random");
  if (st == BUNMG_OK) sl->content = !sl->lying && kind == BUNMG_FILL_HPD ? CONTENT_HERMITIAN : CONTENT_UNKNOWN;
}

static void op_estimate(harness *h) {
  uint64_t out[3];
  int32_t routine = take_wild32(&h->in, -1, 3);
  int64_t n = take_wild(&h->in, 300);
  if (n > 3000 && n < ((int64_t)1 << 40)) n = 1 + n % 3000; /* the host's LAPACK query is O(1), the rest O(devices) */
  int32_t dtype = take_wild32(&h->in, -1, 4);
  int64_t tile = take_wild(&h->in, 300);
  if (tile > 3000 && tile < ((int64_t)1 << 40)) tile = 1 + tile % 3000;
  int64_t nrhs = take_wild(&h->in, 4);
  int32_t path = take_wild32(&h->in, -1, 3);
  bunmg_status st = bunmg_estimate_memory(h->mesh, routine, n, dtype, tile, nrhs, path, take(&h->in, 1) % 16 == 0 ? NULL : out);
  expect_status(st, "estimate_memory");
}

/* Buffers and copies with fuzzed positions, sizes and offsets. */
static void op_memory(harness *h) {
  int k = (int)(take(&h->in, 1) % MAX_ALLOCS);
  int32_t dev = take(&h->in, 1) % 8 == 0 ? take_wild32(&h->in, -1, 4) : (int32_t)(take(&h->in, 1) % h->ndev);
  switch (take(&h->in, 1) % 6) {
    case 0: { /* alloc or free */
      if (h->allocs[k]) {
        FUZZ_CHECK(bunmg_free(h->mesh, h->alloc_dev[k], h->allocs[k]) == BUNMG_OK, "free failed: %s", bunmg_last_error());
        h->allocs[k] = NULL;
        break;
      }
      uint64_t bytes = take(&h->in, 1) % 16 == 0 ? (uint64_t)take_wild(&h->in, 1 << 16) : (uint64_t)take_in(&h->in, 0, 4096);
      /* sizes the host can give are kept small (the harness writes them); absurd ones must fail */
      if (bytes > (1u << 20) && bytes < ((uint64_t)1 << 42)) bytes %= 1u << 20;
      void *p = NULL;
      bunmg_status st = bunmg_alloc(h->mesh, dev, bytes, take(&h->in, 1) % 16 == 0 ? NULL : &p);
      expect_status(st, "alloc");
      if (st == BUNMG_OK && p) {
        FUZZ_CHECK(dev >= 0 && dev < h->ndev, "alloc accepted position %d", dev);
        h->allocs[k] = p;
        h->alloc_dev[k] = dev;
        h->alloc_bytes[k] = bytes;
        memset(p, 0x5a, bytes); /* host backend: the memory is host memory; ASan checks the size */
      }
      break;
    }
    case 1: { /* double free / foreign pointer */
      int stale = h->allocs[k] == NULL;
      void *p = stale ? (void *)(uintptr_t)take(&h->in, 8) : (char *)h->allocs[k] + take_in(&h->in, 1, 8);
      bunmg_status st = bunmg_free(h->mesh, dev, p);
      FUZZ_CHECK(st == BUNMG_INVALID_ARGUMENT, "free of a pointer that is no allocation gave %d", (int)st);
      break;
    }
    default: { /* copies with fuzzed ranges, relative to a live allocation */
      if (!h->allocs[k]) break;
      int64_t offset = take(&h->in, 1) % 4 == 0 ? take_wild(&h->in, 64) : take_in(&h->in, 0, (int64_t)h->alloc_bytes[k]);
      uint64_t bytes = take(&h->in, 1) % 4 == 0 ? (uint64_t)take_wild(&h->in, 8192) : (uint64_t)take_in(&h->in, 0, 4096);
      size_t host_bytes = bytes <= 8192 ? (size_t)bytes : 0;
      char *host = calloc(host_bytes + 1, 1);
      char *p = (char *)((uintptr_t)h->allocs[k] + (uintptr_t)offset); /* may point anywhere */
      int32_t kind = (int32_t)(take(&h->in, 1) % 3);
      bunmg_status st;
      if (host_bytes != bytes) {
        /* a length beyond the host buffer: only device-side checks may decide, so give no host
         * pointer the library could read past */
        st = kind == 0 ? bunmg_copy_to_device(h->mesh, dev, p, NULL, bytes) : bunmg_copy_to_host(h->mesh, dev, NULL, p, bytes);
        FUZZ_CHECK(st != BUNMG_OK, "copy of %llu bytes with a NULL host pointer succeeded", (unsigned long long)bytes);
      } else if (kind == 0) st = bunmg_copy_to_device(h->mesh, dev, p, host, bytes);
      else if (kind == 1) st = bunmg_copy_to_host(h->mesh, dev, host, p, bytes);
      else {
        int j = (int)(take(&h->in, 1) % MAX_ALLOCS);
        void *src = h->allocs[j] ? (char *)h->allocs[j] + take_in(&h->in, 0, 64) : NULL;
        st = bunmg_copy_peer(h->mesh, dev, p, h->allocs[j] ? h->alloc_dev[j] : 0, src, bytes);
      }
      expect_status(st, "copy");
      if (st == BUNMG_OK && bytes > 0) {
        FUZZ_CHECK(offset >= 0 && (uint64_t)offset + bytes <= h->alloc_bytes[k] && dev == h->alloc_dev[k],
                   "a copy of %llu bytes at offset %lld of a %llu-byte allocation on %d was accepted on %d",
                   (unsigned long long)bytes, (long long)offset, (unsigned long long)h->alloc_bytes[k], h->alloc_dev[k], dev);
      }
      free(host);
      break;
    }
  }
}

static void op_misc(harness *h) {
  uint64_t held, free_b, total;
  int32_t dev = take_wild32(&h->in, -1, 4);
  bunmg_status st = bunmg_mesh_memory(h->mesh, dev, &held, &free_b, &total);
  expect_status(st, "mesh_memory");
  FUZZ_CHECK((st == BUNMG_OK) == (dev >= 0 && dev < h->ndev), "mesh_memory(%d) gave %d", dev, (int)st);
  int64_t cap;
  st = bunmg_shard_capacity(take_wild(&h->in, 100), take_wild(&h->in, 100), take_wild32(&h->in, -1, 40),
                            take(&h->in, 1) % 8 == 0 ? NULL : &cap);
  expect_status(st, "shard_capacity");
  int64_t index;
  int32_t device;
  bunmg_last_error_detail(&index, &device);
  bunmg_last_error_detail(NULL, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
  trace = getenv("FUZZ_TRACE") != NULL;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  harness h;
  memset(&h, 0, sizeof h);
  h.in = (fuzz_input){data, size, 0};
  current = &h;
  h.ndev = (int32_t)take_in(&h.in, 1, 4);
  int32_t ids[4] = {0, 1, 2, 3};
  FUZZ_CHECK(bunmg_mesh_create(BUNMG_BACKEND_HOST, h.ndev, ids, &h.mesh) == BUNMG_OK, "mesh_create failed");
  for (int step = 0; step < 24 && !exhausted(&h.in); step++) {
    int op = (int)(take(&h.in, 1) % 14);
    slot *sl = &h.slots[take(&h.in, 1) % SLOTS];
    if (op >= 1 && op <= 10 && !sl->live) op = 0;
    if (trace)
      fprintf(stderr, "op %d on slot %d (content %d, lying %d)\n", op, (int)(sl - h.slots), sl->content, sl->lying);
    switch (op) {
      case 0: op_new(&h, sl); break;
      case 1: op_redistribute(&h, sl, 1); break;
      case 2: op_redistribute(&h, sl, 0); break;
      case 3: op_cholesky(&h, sl); break;
      case 4: op_solve(&h, sl); break;
      case 5: op_logdet(&h, sl); break;
      case 6: op_inverse(sl); break;
      case 7: op_syevd(&h, sl); break;
      case 8: op_lie(&h, sl); break;
      case 9: op_fill(&h, sl); break;
      case 10: {
        int64_t n = take_in(&h.in, -1, 40);
        FUZZ_CHECK(bunmg_debug_inject(h.mesh, BUNMG_FAULT_COPY, n, NULL) == BUNMG_OK, "debug_inject");
        h.armed = h.armed || n >= 0;
        break;
      }
      case 11: op_estimate(&h); break;
      case 12: op_memory(&h); break;
      default: op_misc(&h); break;
    }
  }
  for (int i = 0; i < SLOTS; i++) drop_factor(&h.slots[i]); /* factors go before their mesh */
  /* Destroying the mesh frees whatever is left on it. */
  FUZZ_CHECK(bunmg_mesh_destroy(h.mesh) == BUNMG_OK, "mesh_destroy failed: %s", bunmg_last_error());
  return 0;
}
