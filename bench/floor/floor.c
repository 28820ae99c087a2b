/*
 * bunmg_floor: the performance floor the bench compares bunmg against.
 *
 * A plain C program that calls cuSOLVERMg directly on a matrix that is generated straight into
 * the 1D column block-cyclic layout on the GPUs (no host copy of the whole matrix, no
 * redistribution). The handle, grid, descriptors and workspace are created once; each repeat
 * regenerates A (outside the timed region, because the routines overwrite it) and times only the
 * solver calls. With --single it also times single-GPU cuSOLVERDn on the first device, on the
 * same matrix, with the same timed regions.
 *
 *   bunmg_floor --routine potrs|potri|syevd|potrf --dtype float32|float64|complex64|complex128
 *               --n N [--tile T] [--devices 0,1] [--nrhs 1] [--repeats 3] [--warmup 0]
 *               [--single] [--vectors 1] [--json] [--threads P]
 *
 * Timed regions: potrf = potrf; potrs = potrf + potrs; potri = potrf + potri; syevd = syevd.
 * stdout: one JSON line (--json) or a short human-readable summary; progress goes to stderr.
 * Exit status: 0 on success, 1 on a CUDA/cuSOLVER error, a non-zero info, or bad arguments.
 *
 * The matrix: a deterministic, strictly diagonally dominant symmetric (Hermitian for complex)
 * matrix, hence positive definite. Off-diagonal entries come from a hash of (min(i,j), max(i,j)):
 * real in [-1, 1); complex with real and imaginary parts in [-0.5, 0.5), the imaginary part
 * antisymmetric. The diagonal is N + 1 + u with u in [-1, 1), so every row's off-diagonal sum is
 * below its diagonal. The host builds one column tile (N x T elements) at a time, on --threads
 * threads, in a pinned staging buffer (two of them, so building the next tile overlaps the copy
 * of the previous one) and copies it to the tile's owner: global column tile k lives on grid
 * device k mod G at local tile slot k div G, column-major with leading dimension N.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#define BENCH_PROGRAM "bunmg_floor"
#include "../common/bench_util.h"
#include <cusolverMg.h>


/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static const char *solver_status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR: return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED: return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_ZERO_PIVOT: return "CUSOLVER_STATUS_ZERO_PIVOT";
    case CUSOLVER_STATUS_INVALID_LICENSE: return "CUSOLVER_STATUS_INVALID_LICENSE";
    default: return "unknown cusolverStatus_t";
  }
}

#define SOLVER_CHECK(call)                                                                    \
  do {                                                                                        \
    cusolverStatus_t s_ = (call);                                                             \
    if (s_ != CUSOLVER_STATUS_SUCCESS)                                                        \
      die("%s:%d: %s failed: status %d (%s)", __FILE__, __LINE__, #call, (int)s_,            \
          solver_status_name(s_));                                                            \
  } while (0)

static double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

/* ------------------------------------------------------------------------------------------ */
/* Data types                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* The legacy cusolverDn<t>potri (int sizes) is the only single-GPU potri; these wrappers give
   the four typed functions one void * signature so the dtype table can hold them. */
typedef cusolverStatus_t (*dn_potri_bufsize_fn)(cusolverDnHandle_t, cublasFillMode_t, int, void *,
                                                int, int *);
typedef cusolverStatus_t (*dn_potri_fn)(cusolverDnHandle_t, cublasFillMode_t, int, void *, int,
                                        void *, int, int *);

static cusolverStatus_t potri_bs_s(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a,
                                   int lda, int *lw) {
  return cusolverDnSpotri_bufferSize(h, u, n, (float *)a, lda, lw);
}
static cusolverStatus_t potri_bs_d(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a,
                                   int lda, int *lw) {
  return cusolverDnDpotri_bufferSize(h, u, n, (double *)a, lda, lw);
}
static cusolverStatus_t potri_bs_c(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a,
                                   int lda, int *lw) {
  return cusolverDnCpotri_bufferSize(h, u, n, (cuComplex *)a, lda, lw);
}
static cusolverStatus_t potri_bs_z(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a,
                                   int lda, int *lw) {
  return cusolverDnZpotri_bufferSize(h, u, n, (cuDoubleComplex *)a, lda, lw);
}
static cusolverStatus_t potri_s(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a, int lda,
                                void *w, int lw, int *info) {
  return cusolverDnSpotri(h, u, n, (float *)a, lda, (float *)w, lw, info);
}
static cusolverStatus_t potri_d(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a, int lda,
                                void *w, int lw, int *info) {
  return cusolverDnDpotri(h, u, n, (double *)a, lda, (double *)w, lw, info);
}
static cusolverStatus_t potri_c(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a, int lda,
                                void *w, int lw, int *info) {
  return cusolverDnCpotri(h, u, n, (cuComplex *)a, lda, (cuComplex *)w, lw, info);
}
static cusolverStatus_t potri_z(cusolverDnHandle_t h, cublasFillMode_t u, int n, void *a, int lda,
                                void *w, int lw, int *info) {
  return cusolverDnZpotri(h, u, n, (cuDoubleComplex *)a, lda, (cuDoubleComplex *)w, lw, info);
}

typedef struct {
  const char *name;
  cudaDataType type;      /* data type = compute type */
  cudaDataType real_type; /* type of the eigenvalues W */
  size_t elem;            /* bytes per element */
  size_t real_elem;       /* bytes per eigenvalue */
  int is_complex;
  int is_double;
  dn_potri_bufsize_fn dn_potri_bufsize;
  dn_potri_fn dn_potri;
} dtype_info;

static const dtype_info DTYPES[] = {
    {"float32", CUDA_R_32F, CUDA_R_32F, 4, 4, 0, 0, potri_bs_s, potri_s},
    {"float64", CUDA_R_64F, CUDA_R_64F, 8, 8, 0, 1, potri_bs_d, potri_d},
    {"complex64", CUDA_C_32F, CUDA_R_32F, 8, 4, 1, 0, potri_bs_c, potri_c},
    {"complex128", CUDA_C_64F, CUDA_R_64F, 16, 8, 1, 1, potri_bs_z, potri_z},
};

typedef enum { R_POTRF, R_POTRS, R_POTRI, R_SYEVD } routine_t;
static const char *const ROUTINE_NAMES[] = {"potrf", "potrs", "potri", "syevd"};

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
  routine_t routine;
  const dtype_info *dt;
  int64_t n;
  int64_t tile;
  int ndev;
  int devs[MAX_DEVICES];
  int nrhs;
  int repeats;
  int warmup;
  int single;
  int vectors;
  int json;
  int threads; /* host threads for matrix generation */
} options;

static void usage(FILE *f) {
  fputs(
      "usage: bunmg_floor --routine potrs|potri|syevd|potrf\n"
      "                   --dtype float32|float64|complex64|complex128 --n N\n"
      "                   [--tile T] [--devices 0,1] [--nrhs 1] [--repeats 3] [--warmup 0]\n"
      "                   [--single] [--vectors 1] [--json] [--threads P]\n"
      "  --tile     column block size T_A (default 256 for syevd, 1024 otherwise)\n"
      "  --devices  comma-separated CUDA device ids, repeats allowed (default 0)\n"
      "  --nrhs     right-hand sides for potrs (default 1)\n"
      "  --repeats  timed repeats; the median is reported (default 3)\n"
      "  --warmup   untimed runs before the timed ones (default 0)\n"
      "  --single   also time single-GPU cuSOLVERDn on the first device\n"
      "  --vectors  syevd: 1 = eigenvectors too (default), 0 = eigenvalues only\n"
      "  --json     print one JSON line on stdout instead of the human-readable summary\n"
      "  --threads  host threads that generate the matrix (default: online CPUs, at most 64)\n",
      f);
}

static void parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof(*o));
  o->routine = (routine_t)-1;
  o->tile = -1;
  o->ndev = 1;
  o->devs[0] = 0;
  o->nrhs = 1;
  o->repeats = 3;
  o->vectors = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(a, "--single")) {
      o->single = 1;
      continue;
    }
    if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("%s: missing value (or unknown flag)", a);
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--routine")) {
      int found = 0;
      for (int r = 0; r < 4; r++)
        if (!strcmp(v, ROUTINE_NAMES[r])) {
          o->routine = (routine_t)r;
          found = 1;
        }
      if (!found) die("--routine: expected potrs, potri, syevd or potrf, got '%s'", v);
    } else if (!strcmp(a, "--dtype")) {
      for (size_t d = 0; d < sizeof(DTYPES) / sizeof(DTYPES[0]); d++)
        if (!strcmp(v, DTYPES[d].name)) o->dt = &DTYPES[d];
      if (!o->dt) die("--dtype: expected float32, float64, complex64 or complex128, got '%s'", v);
    } else if (!strcmp(a, "--n")) {
      o->n = parse_int(a, v, 1, INT_MAX); /* cuSOLVERMg takes int N */
    } else if (!strcmp(a, "--tile")) {
      o->tile = parse_int(a, v, 1, INT_MAX);
    } else if (!strcmp(a, "--devices")) {
      o->ndev = parse_devices(v, o->devs);
    } else if (!strcmp(a, "--nrhs")) {
      o->nrhs = (int)parse_int(a, v, 1, INT_MAX);
    } else if (!strcmp(a, "--repeats")) {
      o->repeats = (int)parse_int(a, v, 1, 100000);
    } else if (!strcmp(a, "--warmup")) {
      o->warmup = (int)parse_int(a, v, 0, 100000);
    } else if (!strcmp(a, "--vectors")) {
      o->vectors = (int)parse_int(a, v, 0, 1);
    } else if (!strcmp(a, "--threads")) {
      o->threads = (int)parse_int(a, v, 1, 128);
    } else {
      usage(stderr);
      die("unknown flag '%s'", a);
    }
  }
  if ((int)o->routine < 0 || !o->dt || o->n == 0) {
    usage(stderr);
    die("--routine, --dtype and --n are required");
  }
  if (o->threads == 0) {
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
  }
  if (o->tile < 0) o->tile = o->routine == R_SYEVD ? 256 : 1024;
  if (o->routine == R_SYEVD && o->tile > 1024)
    fprintf(stderr, "bunmg_floor: note: cuSOLVERMg syevd documents T_A <= 1024 (got %" PRId64 ")\n",
            o->tile);
}

/* ------------------------------------------------------------------------------------------ */
/* Matrix generation                                                                          */
/* ------------------------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t x) { /* splitmix64 finalizer */
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

/* A value in [-1, 1) from the top 53 bits of a hash (through int64_t: one cvtsi2sd on x86-64). */
static inline double unit_value(uint64_t h) { return (double)(int64_t)(h >> 11) * 0x1.0p-52 - 1.0; }

#define SEED_RE 0x9E3779B97F4A7C15ULL
#define SEED_IM 0xD1B54A32D192ED03ULL

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Store (re, im) as element i of a column of the given type. */
static ALWAYS_INLINE void store(cudaDataType type, void *col, int64_t i, double re, double im) {
  switch (type) {
    case CUDA_R_32F: ((float *)col)[i] = (float)re; break;
    case CUDA_R_64F: ((double *)col)[i] = re; break;
    case CUDA_C_32F:
      ((float *)col)[2 * i] = (float)re;
      ((float *)col)[2 * i + 1] = (float)im;
      break;
    default:
      ((double *)col)[2 * i] = re;
      ((double *)col)[2 * i + 1] = im;
      break;
  }
}

/* Column j (all N rows) of the test matrix. A[i][j] depends only on the pair (min, max) through
   key = min * N + max; the imaginary part is +v above the diagonal and -v below it, so
   A[j][i] = conj(A[i][j]). Always inlined with a constant type, so each dtype gets its own
   branch-free loops. */
static ALWAYS_INLINE void fill_column_typed(cudaDataType type, void *col, int64_t n, int64_t j) {
  const int cplx = type == CUDA_C_32F || type == CUDA_C_64F;
  const double scale = cplx ? 0.5 : 1.0;
  const uint64_t un = (uint64_t)n, uj = (uint64_t)j;
  for (int64_t i = 0; i < j; i++) { /* above the diagonal: key = i * N + j */
    const uint64_t key = (uint64_t)i * un + uj;
    const double re = scale * unit_value(mix64(key + SEED_RE));
    const double im = cplx ? scale * unit_value(mix64(key + SEED_IM)) : 0.0;
    store(type, col, i, re, im);
  }
  store(type, col, j, unit_value(mix64(uj * un + uj + SEED_RE)) + (double)n + 1.0, 0.0);
  for (int64_t i = j + 1; i < n; i++) { /* below: key = j * N + i, imaginary part negated */
    const uint64_t key = uj * un + (uint64_t)i;
    const double re = scale * unit_value(mix64(key + SEED_RE));
    const double im = cplx ? -scale * unit_value(mix64(key + SEED_IM)) : 0.0;
    store(type, col, i, re, im);
  }
}

static void fill_column(const dtype_info *dt, void *col, int64_t n, int64_t j) {
  switch (dt->type) {
    case CUDA_R_32F: fill_column_typed(CUDA_R_32F, col, n, j); break;
    case CUDA_R_64F: fill_column_typed(CUDA_R_64F, col, n, j); break;
    case CUDA_C_32F: fill_column_typed(CUDA_C_32F, col, n, j); break;
    default: fill_column_typed(CUDA_C_64F, col, n, j); break;
  }
}

/* Columns [c0, c0 + ncols) into buf (column-major, leading dimension N), split over threads: the
   host side of generation is the slow part of a repeat at large N. */
typedef struct {
  const dtype_info *dt;
  char *buf;
  int64_t n, c0, jbegin, jend; /* local columns [jbegin, jend) */
} fill_job;

static void *fill_worker(void *arg) {
  const fill_job *f = arg;
  for (int64_t jj = f->jbegin; jj < f->jend; jj++)
    fill_column(f->dt, f->buf + (size_t)jj * (size_t)f->n * f->dt->elem, f->n, f->c0 + jj);
  return NULL;
}

static void fill_tile(const dtype_info *dt, void *buf, int64_t n, int64_t c0, int64_t ncols,
                      int nthreads) {
  enum { MAX_THREADS = 128 };
  pthread_t tid[MAX_THREADS];
  fill_job job[MAX_THREADS];
  int p = nthreads < MAX_THREADS ? nthreads : MAX_THREADS;
  if (p > ncols) p = (int)ncols;
  if (p < 1) p = 1;
  int started[MAX_THREADS] = {0};
  for (int w = 0; w < p; w++) {
    job[w] = (fill_job){dt, buf, n, c0, ncols * w / p, ncols * (w + 1) / p};
    if (w > 0) started[w] = pthread_create(&tid[w], NULL, fill_worker, &job[w]) == 0;
  }
  fill_worker(&job[0]);
  for (int w = 1; w < p; w++) {
    if (started[w])
      pthread_join(tid[w], NULL);
    else
      fill_worker(&job[w]); /* thread creation failed: do it here */
  }
}

/* Two host staging buffers of one column tile (N x T) each. Pinned where possible, so the copy of
   one tile runs while the host builds the next one. */
typedef struct {
  void *host[2];
  int pending_dev[2]; /* device whose legacy default stream still reads host[b], or -1 */
  int pinned;
  size_t bytes;
} stager;

static void stager_init(stager *s, const options *o) {
  memset(s, 0, sizeof(*s));
  s->bytes = (size_t)o->n * (size_t)o->tile * o->dt->elem;
  s->pending_dev[0] = s->pending_dev[1] = -1;
  s->pinned = 1;
  for (int b = 0; b < 2; b++) {
    if (cudaHostAlloc(&s->host[b], s->bytes, cudaHostAllocPortable) != cudaSuccess) {
      (void)cudaGetLastError();
      s->host[b] = NULL;
      s->pinned = 0;
    }
  }
  if (!s->pinned) {
    for (int b = 0; b < 2; b++)
      if (s->host[b]) CUDA_CHECK(cudaFreeHost(s->host[b]));
    fprintf(stderr, "bunmg_floor: note: pinned staging (2 x %.2f GiB) failed; using pageable\n",
            gib((double)s->bytes));
    s->host[0] = malloc(s->bytes);
    s->host[1] = NULL;
    if (!s->host[0]) die("cannot allocate %.2f GiB of host staging", gib((double)s->bytes));
  }
}

static void stager_wait(stager *s, int b) {
  if (s->pending_dev[b] >= 0) {
    CUDA_CHECK(cudaSetDevice(s->pending_dev[b]));
    CUDA_CHECK(cudaStreamSynchronize(0));
    s->pending_dev[b] = -1;
  }
}

static void stager_free(stager *s) {
  if (s->pinned) {
    for (int b = 0; b < 2; b++) {
      stager_wait(s, b);
      CUDA_CHECK(cudaFreeHost(s->host[b]));
    }
  } else {
    free(s->host[0]);
  }
  memset(s, 0, sizeof(*s));
}

/* Write the whole test matrix into the 1D column block-cyclic layout over g logical devices:
   column tile k goes to devs[k % g] at local tile slot k / g (g = 1: a plain N x N matrix). */
static void upload_matrix(stager *s, const options *o, int g, const int *devs, void *const *d_a) {
  const int64_t n = o->n, t = o->tile;
  const int64_t ntiles = (n + t - 1) / t;
  const size_t elem = o->dt->elem;
  for (int64_t k = 0; k < ntiles; k++) {
    const int b = s->pinned ? (int)(k & 1) : 0;
    stager_wait(s, b);
    const int64_t c0 = k * t;
    const int64_t ncols = n - c0 < t ? n - c0 : t;
    char *h = (char *)s->host[b];
    fill_tile(o->dt, h, n, c0, ncols, o->threads);
    const int owner = (int)(k % g);
    char *dst = (char *)d_a[owner] + (size_t)((k / g) * t) * (size_t)n * elem;
    const size_t bytes = (size_t)ncols * (size_t)n * elem;
    CUDA_CHECK(cudaSetDevice(devs[owner]));
    if (s->pinned) {
      CUDA_CHECK(cudaMemcpyAsync(dst, h, bytes, cudaMemcpyHostToDevice, 0));
      s->pending_dev[b] = devs[owner];
    } else {
      CUDA_CHECK(cudaMemcpy(dst, h, bytes, cudaMemcpyHostToDevice));
    }
  }
  stager_wait(s, 0);
  stager_wait(s, 1);
}

/* N x nrhs of ones, column-major: the right-hand side for potrs. */
static void *make_ones(const options *o) {
  const size_t count = (size_t)o->n * (size_t)o->nrhs;
  void *h = malloc(count * o->dt->elem);
  if (!h) die("cannot allocate the host right-hand side");
  for (size_t i = 0; i < count; i++) store(o->dt->type, h, (int64_t)i, 1.0, 0.0);
  return h;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Distinct physical devices among the logical ones. */
static int distinct_devices(const options *o, int *out) {
  int m = 0;
  for (int i = 0; i < o->ndev; i++) {
    int seen = 0;
    for (int k = 0; k < m; k++) seen |= out[k] == o->devs[i];
    if (!seen) out[m++] = o->devs[i];
  }
  return m;
}

static void sync_devices(const int *devs, int m) {
  for (int i = 0; i < m; i++) {
    CUDA_CHECK(cudaSetDevice(devs[i]));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
}

static void *device_alloc(int dev, size_t bytes, const char *what) {
  void *p = NULL;
  CUDA_CHECK(cudaSetDevice(dev));
  cudaError_t e = cudaMalloc(&p, bytes ? bytes : 256);
  if (e != cudaSuccess)
    die("cudaMalloc of %.3f GiB for %s on device %d failed: %s", gib((double)bytes), what, dev,
        cudaGetErrorString(e));
  return p;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(const double *v, int count) {
  if (count <= 0) return -1.0;
  double *s = malloc(sizeof(double) * (size_t)count);
  if (!s) die("out of host memory");
  memcpy(s, v, sizeof(double) * (size_t)count);
  qsort(s, (size_t)count, sizeof(double), cmp_double);
  const double m = count % 2 ? s[count / 2] : 0.5 * (s[count / 2 - 1] + s[count / 2]);
  free(s);
  return m;
}

static double flop_count(const options *o) {
  const double n = (double)o->n;
  const double potrf = n * n * n / 3.0;
  double f = 0.0;
  switch (o->routine) {
    case R_POTRF: f = potrf; break;
    case R_POTRS: f = potrf + 2.0 * n * n * (double)o->nrhs; break;
    case R_POTRI: f = potrf + 2.0 * n * n * n / 3.0; break;
    case R_SYEVD: f = o->vectors ? 4.0 * n * n * n : 4.0 * n * n * n / 3.0; break;
  }
  return o->dt->is_complex ? 4.0 * f : f;
}

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
  double *mg_times; /* repeats entries; mg_count filled */
  int mg_count;
  int mg_info;
  int64_t lwork;
  double *dn_times;
  int dn_count;
  int dn_info;
  int dn_ran;
  char dn_note[256];
} results;

/* ------------------------------------------------------------------------------------------ */
/* cuSOLVERMg                                                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
  cusolverMgHandle_t handle;
  cudaLibMgGrid_t grid;
  cudaLibMgMatrixDesc_t desc_a, desc_b;
  void *d_a[MAX_DEVICES];
  void *d_b[MAX_DEVICES];
  void *d_work[MAX_DEVICES];
  void *h_w; /* syevd eigenvalues, host */
  int64_t lwork;
} mg_state;

/* One timed region; returns the info of the first routine that reports a non-zero one. */
static int mg_run_once(const options *o, mg_state *m) {
  const cudaDataType type = o->dt->type;
  const int n = (int)o->n;
  int info = 0;
  switch (o->routine) {
    case R_SYEVD:
      SOLVER_CHECK(cusolverMgSyevd(m->handle,
                                   o->vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR,
                                   CUBLAS_FILL_MODE_LOWER, n, m->d_a, 1, 1, m->desc_a, m->h_w,
                                   o->dt->real_type, type, m->d_work, m->lwork, &info));
      return info;
    case R_POTRF:
    case R_POTRS:
    case R_POTRI:
      SOLVER_CHECK(cusolverMgPotrf(m->handle, CUBLAS_FILL_MODE_LOWER, n, m->d_a, 1, 1, m->desc_a,
                                   type, m->d_work, m->lwork, &info));
      if (info != 0) {
        fprintf(stderr, "bunmg_floor: cusolverMgPotrf info = %d\n", info);
        return info;
      }
      if (o->routine == R_POTRS) {
        SOLVER_CHECK(cusolverMgPotrs(m->handle, CUBLAS_FILL_MODE_LOWER, n, o->nrhs, m->d_a, 1, 1,
                                     m->desc_a, m->d_b, 1, 1, m->desc_b, type, m->d_work, m->lwork,
                                     &info));
        if (info != 0) fprintf(stderr, "bunmg_floor: cusolverMgPotrs info = %d\n", info);
      } else if (o->routine == R_POTRI) {
        SOLVER_CHECK(cusolverMgPotri(m->handle, CUBLAS_FILL_MODE_LOWER, n, m->d_a, 1, 1,
                                     m->desc_a, type, m->d_work, m->lwork, &info));
        if (info != 0) fprintf(stderr, "bunmg_floor: cusolverMgPotri info = %d\n", info);
      }
      return info;
  }
  return info;
}

static void run_mg(const options *o, stager *st, const void *h_ones, results *res) {
  const int g = o->ndev;
  const int64_t n = o->n, t = o->tile;
  const size_t elem = o->dt->elem;
  const int64_t ntiles = (n + t - 1) / t;
  int phys[MAX_DEVICES];
  const int nphys = distinct_devices(o, phys);
  mg_state m;
  memset(&m, 0, sizeof(m));

  enable_peer_access(phys, nphys);

  SOLVER_CHECK(cusolverMgCreate(&m.handle));
  int devs[MAX_DEVICES];
  memcpy(devs, o->devs, sizeof(int) * (size_t)g);
  SOLVER_CHECK(cusolverMgDeviceSelect(m.handle, g, devs));
  SOLVER_CHECK(cusolverMgCreateDeviceGrid(&m.grid, 1, g, devs, CUDALIBMG_GRID_MAPPING_COL_MAJOR));
  SOLVER_CHECK(cusolverMgCreateMatrixDesc(&m.desc_a, n, n, n, t, o->dt->type, m.grid));

  /* A: device d holds tiles d, d + G, d + 2G, ... Like NVIDIA's cuSOLVERMg samples, every device
     gets room for ceil(ntiles / G) full tiles (at most one tile more than it uses). */
  const int64_t tiles_per_device = (ntiles + g - 1) / g;
  const size_t a_bytes = (size_t)tiles_per_device * (size_t)t * (size_t)n * elem;
  for (int d = 0; d < g; d++) m.d_a[d] = device_alloc(o->devs[d], a_bytes, "A");
  fprintf(stderr, "bunmg_floor: cuSOLVERMg %s %s N=%" PRId64 " T=%" PRId64 " on %d logical device(s)"
                  ", %" PRId64 " tiles, %.2f GiB of A per device\n",
          ROUTINE_NAMES[o->routine], o->dt->name, n, t, g, ntiles, gib((double)a_bytes));

  /* B (potrs): one column tile of width nrhs, so all of it sits on grid device 0. The other
     entries point at valid allocations of the same (small) size, as in NVIDIA's samples. */
  if (o->routine == R_POTRS) {
    SOLVER_CHECK(cusolverMgCreateMatrixDesc(&m.desc_b, n, o->nrhs, n, o->nrhs, o->dt->type, m.grid));
    for (int d = 0; d < g; d++)
      m.d_b[d] = device_alloc(o->devs[d], (size_t)n * (size_t)o->nrhs * elem, "B");
  }
  if (o->routine == R_SYEVD) {
    m.h_w = malloc((size_t)n * o->dt->real_elem);
    if (!m.h_w) die("cannot allocate the host eigenvalue array");
  }

  /* Workspace: the largest lwork over the routines of the timed region, per device. */
  const cudaDataType type = o->dt->type;
  int64_t lw = 0;
  if (o->routine == R_SYEVD) {
    SOLVER_CHECK(cusolverMgSyevd_bufferSize(
        m.handle, o->vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR,
        CUBLAS_FILL_MODE_LOWER, (int)n, m.d_a, 1, 1, m.desc_a, m.h_w, o->dt->real_type, type, &lw));
    m.lwork = lw;
  } else {
    SOLVER_CHECK(cusolverMgPotrf_bufferSize(m.handle, CUBLAS_FILL_MODE_LOWER, (int)n, m.d_a, 1, 1,
                                            m.desc_a, type, &lw));
    m.lwork = lw;
    if (o->routine == R_POTRS) {
      SOLVER_CHECK(cusolverMgPotrs_bufferSize(m.handle, CUBLAS_FILL_MODE_LOWER, (int)n, o->nrhs,
                                              m.d_a, 1, 1, m.desc_a, m.d_b, 1, 1, m.desc_b, type,
                                              &lw));
      if (lw > m.lwork) m.lwork = lw;
    } else if (o->routine == R_POTRI) {
      SOLVER_CHECK(cusolverMgPotri_bufferSize(m.handle, CUBLAS_FILL_MODE_LOWER, (int)n, m.d_a, 1,
                                              1, m.desc_a, type, &lw));
      if (lw > m.lwork) m.lwork = lw;
    }
  }
  if (m.lwork < 0) die("cuSOLVERMg returned a negative lwork (%" PRId64 ")", m.lwork);
  res->lwork = m.lwork;
  fprintf(stderr, "bunmg_floor: workspace %" PRId64 " elements (%.3f GiB) per device\n", m.lwork,
          gib((double)m.lwork * (double)elem));
  for (int d = 0; d < g; d++)
    m.d_work[d] = device_alloc(o->devs[d], (size_t)m.lwork * elem, "workspace");

  /* Warm-up runs, then the timed repeats. */
  const int total = o->warmup + o->repeats;
  for (int r = 0; r < total; r++) {
    const int timed = r >= o->warmup;
    double tg = now_seconds();
    upload_matrix(st, o, g, o->devs, m.d_a);
    if (o->routine == R_POTRS) {
      CUDA_CHECK(cudaSetDevice(o->devs[0]));
      CUDA_CHECK(cudaMemcpy(m.d_b[0], h_ones, (size_t)n * (size_t)o->nrhs * elem,
                            cudaMemcpyHostToDevice));
    }
    sync_devices(phys, nphys);
    tg = now_seconds() - tg;

    const double t0 = now_seconds();
    const int info = mg_run_once(o, &m);
    sync_devices(phys, nphys);
    const double dt = now_seconds() - t0;

    fprintf(stderr, "bunmg_floor: mg %s %d/%d: %.4f s (generation %.2f s)%s\n",
            timed ? "repeat" : "warm-up", timed ? r - o->warmup + 1 : r + 1,
            timed ? o->repeats : o->warmup, dt, tg, info ? " [info != 0]" : "");
    if (info != 0) {
      res->mg_info = info;
      break;
    }
    if (timed) res->mg_times[res->mg_count++] = dt;
  }

  /* Free everything. */
  sync_devices(phys, nphys);
  for (int d = 0; d < g; d++) {
    CUDA_CHECK(cudaSetDevice(o->devs[d]));
    CUDA_CHECK(cudaFree(m.d_work[d]));
    CUDA_CHECK(cudaFree(m.d_a[d]));
    if (m.d_b[d]) CUDA_CHECK(cudaFree(m.d_b[d]));
  }
  free(m.h_w);
  if (m.desc_b) SOLVER_CHECK(cusolverMgDestroyMatrixDesc(m.desc_b));
  SOLVER_CHECK(cusolverMgDestroyMatrixDesc(m.desc_a));
  SOLVER_CHECK(cusolverMgDestroyGrid(m.grid));
  SOLVER_CHECK(cusolverMgDestroy(m.handle));
}

/* ------------------------------------------------------------------------------------------ */
/* cuSOLVERDn (single GPU)                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
  cusolverDnHandle_t handle;
  cusolverDnParams_t params;
  void *d_a, *d_b, *d_w, *d_work, *h_work;
  int *d_info; /* [0] first routine, [1] second routine */
  size_t work_bytes, host_bytes;
  int potri_lwork; /* elements, legacy API */
} dn_state;

/* cudaMalloc that reports failure instead of exiting (single-GPU path skips gracefully). */
static int try_alloc(void **p, size_t bytes) {
  if (cudaMalloc(p, bytes ? bytes : 256) != cudaSuccess) {
    (void)cudaGetLastError();
    *p = NULL;
    return 0;
  }
  return 1;
}

static void dn_free(dn_state *s) {
  if (s->d_a) CUDA_CHECK(cudaFree(s->d_a));
  if (s->d_b) CUDA_CHECK(cudaFree(s->d_b));
  if (s->d_w) CUDA_CHECK(cudaFree(s->d_w));
  if (s->d_work) CUDA_CHECK(cudaFree(s->d_work));
  if (s->d_info) CUDA_CHECK(cudaFree(s->d_info));
  free(s->h_work);
  if (s->params) SOLVER_CHECK(cusolverDnDestroyParams(s->params));
  if (s->handle) SOLVER_CHECK(cusolverDnDestroy(s->handle));
  memset(s, 0, sizeof(*s));
}

static void dn_run_once(const options *o, dn_state *s) {
  const cudaDataType type = o->dt->type;
  const int64_t n = o->n;
  switch (o->routine) {
    case R_SYEVD:
      SOLVER_CHECK(cusolverDnXsyevd(s->handle, s->params,
                                    o->vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR,
                                    CUBLAS_FILL_MODE_LOWER, n, type, s->d_a, n, o->dt->real_type,
                                    s->d_w, type, s->d_work, s->work_bytes, s->h_work,
                                    s->host_bytes, s->d_info));
      break;
    case R_POTRF:
    case R_POTRS:
    case R_POTRI:
      SOLVER_CHECK(cusolverDnXpotrf(s->handle, s->params, CUBLAS_FILL_MODE_LOWER, n, type, s->d_a,
                                    n, type, s->d_work, s->work_bytes, s->h_work, s->host_bytes,
                                    s->d_info));
      if (o->routine == R_POTRS)
        SOLVER_CHECK(cusolverDnXpotrs(s->handle, s->params, CUBLAS_FILL_MODE_LOWER, n, o->nrhs,
                                      type, s->d_a, n, type, s->d_b, n, s->d_info + 1));
      else if (o->routine == R_POTRI)
        SOLVER_CHECK(o->dt->dn_potri(s->handle, CUBLAS_FILL_MODE_LOWER, (int)n, s->d_a, (int)n,
                                     s->d_work, s->potri_lwork, s->d_info + 1));
      break;
  }
}

static void run_dn(const options *o, stager *st, const void *h_ones, results *res) {
  const int dev = o->devs[0];
  const int64_t n = o->n;
  const size_t elem = o->dt->elem;
  const cudaDataType type = o->dt->type;
  const size_t a_bytes = (size_t)n * (size_t)n * elem;
  const size_t b_bytes = o->routine == R_POTRS ? (size_t)n * (size_t)o->nrhs * elem : 0;
  const size_t w_bytes = o->routine == R_SYEVD ? (size_t)n * o->dt->real_elem : 0;
  dn_state s;
  memset(&s, 0, sizeof(s));

  CUDA_CHECK(cudaSetDevice(dev));
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  /* Leave headroom for what cuSOLVERDn / cuBLAS allocate internally, so a tight fit is skipped
     here rather than failing inside a solver call. */
  const double headroom = 512.0 * 1024.0 * 1024.0;
  if ((double)(a_bytes + b_bytes + w_bytes) + headroom > (double)free_b) {
    snprintf(res->dn_note, sizeof(res->dn_note),
             "single-GPU skipped: A needs %.2f GiB, device %d has %.2f GiB free", gib((double)a_bytes),
             dev, gib((double)free_b));
    fprintf(stderr, "bunmg_floor: note: %s\n", res->dn_note);
    return;
  }
  if (!try_alloc(&s.d_a, a_bytes) || (b_bytes && !try_alloc(&s.d_b, b_bytes)) ||
      (w_bytes && !try_alloc(&s.d_w, w_bytes))) {
    snprintf(res->dn_note, sizeof(res->dn_note),
             "single-GPU skipped: cannot allocate the %.2f GiB matrix on device %d",
             gib((double)a_bytes), dev);
    fprintf(stderr, "bunmg_floor: note: %s\n", res->dn_note);
    dn_free(&s);
    return;
  }
  CUDA_CHECK(cudaMalloc((void **)&s.d_info, 2 * sizeof(int)));
  SOLVER_CHECK(cusolverDnCreate(&s.handle));
  SOLVER_CHECK(cusolverDnCreateParams(&s.params));

  if (o->routine == R_SYEVD) {
    SOLVER_CHECK(cusolverDnXsyevd_bufferSize(
        s.handle, s.params, o->vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR,
        CUBLAS_FILL_MODE_LOWER, n, type, s.d_a, n, o->dt->real_type, s.d_w, type, &s.work_bytes,
        &s.host_bytes));
  } else {
    SOLVER_CHECK(cusolverDnXpotrf_bufferSize(s.handle, s.params, CUBLAS_FILL_MODE_LOWER, n, type,
                                             s.d_a, n, type, &s.work_bytes, &s.host_bytes));
    if (o->routine == R_POTRI) {
      SOLVER_CHECK(o->dt->dn_potri_bufsize(s.handle, CUBLAS_FILL_MODE_LOWER, (int)n, s.d_a, (int)n,
                                           &s.potri_lwork));
      const size_t pb = (size_t)s.potri_lwork * elem;
      if (pb > s.work_bytes) s.work_bytes = pb;
    }
  }
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  if ((double)s.work_bytes + headroom > (double)free_b || !try_alloc(&s.d_work, s.work_bytes)) {
    snprintf(res->dn_note, sizeof(res->dn_note),
             "single-GPU skipped: matrix fits but the %.2f GiB workspace does not (device %d)",
             gib((double)s.work_bytes), dev);
    fprintf(stderr, "bunmg_floor: note: %s\n", res->dn_note);
    dn_free(&s);
    return;
  }
  if (s.host_bytes) {
    s.h_work = malloc(s.host_bytes);
    if (!s.h_work) die("cannot allocate %zu bytes of cuSOLVERDn host workspace", s.host_bytes);
  }
  fprintf(stderr, "bunmg_floor: cuSOLVERDn on device %d: A %.2f GiB, workspace %.3f GiB\n", dev,
          gib((double)a_bytes), gib((double)s.work_bytes));

  res->dn_ran = 1;
  const int total = o->warmup + o->repeats;
  for (int r = 0; r < total; r++) {
    const int timed = r >= o->warmup;
    double tg = now_seconds();
    upload_matrix(st, o, 1, &dev, &s.d_a);
    CUDA_CHECK(cudaSetDevice(dev));
    if (b_bytes) CUDA_CHECK(cudaMemcpy(s.d_b, h_ones, b_bytes, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(s.d_info, 0, 2 * sizeof(int)));
    CUDA_CHECK(cudaDeviceSynchronize());
    tg = now_seconds() - tg;

    const double t0 = now_seconds();
    dn_run_once(o, &s);
    CUDA_CHECK(cudaDeviceSynchronize());
    const double dt = now_seconds() - t0;

    int infos[2] = {0, 0};
    CUDA_CHECK(cudaMemcpy(infos, s.d_info, sizeof(infos), cudaMemcpyDeviceToHost));
    const int info = infos[0] ? infos[0] : infos[1];
    fprintf(stderr, "bunmg_floor: dn %s %d/%d: %.4f s (generation %.2f s)%s\n",
            timed ? "repeat" : "warm-up", timed ? r - o->warmup + 1 : r + 1,
            timed ? o->repeats : o->warmup, dt, tg, info ? " [info != 0]" : "");
    if (info != 0) {
      fprintf(stderr, "bunmg_floor: cuSOLVERDn info = %d (first routine %d, second %d)\n", info,
              infos[0], infos[1]);
      res->dn_info = info;
      break;
    }
    if (timed) res->dn_times[res->dn_count++] = dt;
  }
  dn_free(&s);
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void print_number_or_null(double v, int valid) {
  if (valid)
    printf("%.9g", v);
  else
    fputs("null", stdout);
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", (unsigned char)*s);
    else
      putchar(*s);
  }
  putchar('"');
}

static void print_results(const options *o, const results *res, const char *gpu_name) {
  const double flops = flop_count(o);
  const int mg_ok = res->mg_count > 0;
  const int dn_ok = res->dn_count > 0;
  const double mg_med = mg_ok ? median(res->mg_times, res->mg_count) : 0.0;
  const double dn_med = dn_ok ? median(res->dn_times, res->dn_count) : 0.0;
  const double mg_tf = mg_ok && mg_med > 0 ? flops / mg_med / 1e12 : 0.0;
  const double dn_tf = dn_ok && dn_med > 0 ? flops / dn_med / 1e12 : 0.0;
  const int info = res->mg_info ? res->mg_info : res->dn_info;

  if (o->json) {
    printf("{\"routine\":\"%s\",\"dtype\":\"%s\",\"n\":%" PRId64 ",\"tile\":%" PRId64
           ",\"devices\":[",
           ROUTINE_NAMES[o->routine], o->dt->name, o->n, o->tile);
    for (int d = 0; d < o->ndev; d++) printf("%s%d", d ? "," : "", o->devs[d]);
    printf("],\"nrhs\":%d,\"vectors\":", o->nrhs);
    print_number_or_null((double)o->vectors, o->routine == R_SYEVD);
    printf(",\"repeats\":%d,\"warmup\":%d,\"threads\":%d,\"mg_seconds_median\":", o->repeats,
           o->warmup, o->threads);
    print_number_or_null(mg_med, mg_ok);
    fputs(",\"mg_seconds_all\":[", stdout);
    for (int i = 0; i < res->mg_count; i++) printf("%s%.9g", i ? "," : "", res->mg_times[i]);
    fputs("],\"dn_seconds_median\":", stdout);
    print_number_or_null(dn_med, dn_ok);
    fputs(",\"dn_seconds_all\":[", stdout);
    for (int i = 0; i < res->dn_count; i++) printf("%s%.9g", i ? "," : "", res->dn_times[i]);
    fputs("],\"tflops_mg\":", stdout);
    print_number_or_null(mg_tf, mg_ok);
    fputs(",\"tflops_dn\":", stdout);
    print_number_or_null(dn_tf, dn_ok);
    printf(",\"flops\":%.6g,\"lwork_elements\":%" PRId64 ",\"info\":%d,\"mg_info\":%d,\"dn_info\":%d",
           flops, res->lwork, info, res->mg_info, res->dn_info);
    fputs(",\"gpu\":", stdout);
    print_json_string(gpu_name);
    fputs(",\"dn_note\":", stdout);
    if (res->dn_note[0])
      print_json_string(res->dn_note);
    else
      fputs("null", stdout);
    fputs("}\n", stdout);
  } else {
    printf("%s %s N=%" PRId64 " T=%" PRId64 " devices=", ROUTINE_NAMES[o->routine], o->dt->name,
           o->n, o->tile);
    for (int d = 0; d < o->ndev; d++) printf("%s%d", d ? "," : "", o->devs[d]);
    if (o->routine == R_POTRS) printf(" nrhs=%d", o->nrhs);
    if (o->routine == R_SYEVD) printf(" vectors=%d", o->vectors);
    printf(" (%s)\n", gpu_name);
    if (mg_ok)
      printf("  cuSOLVERMg: median %.4f s, %.2f TFLOP/s over %d repeat(s); lwork %" PRId64
             " elements per device\n",
             mg_med, mg_tf, res->mg_count, res->lwork);
    else
      printf("  cuSOLVERMg: no successful repeat (info %d)\n", res->mg_info);
    if (dn_ok)
      printf("  cuSOLVERDn (device %d): median %.4f s, %.2f TFLOP/s over %d repeat(s)\n",
             o->devs[0], dn_med, dn_tf, res->dn_count);
    else if (o->single)
      printf("  cuSOLVERDn: %s\n", res->dn_note[0] ? res->dn_note : "no successful repeat");
    if (mg_ok && dn_ok) printf("  speed-up over one GPU: %.2fx\n", dn_med / mg_med);
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
  options o;
  parse_args(argc, argv, &o);

  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count));
  for (int d = 0; d < o.ndev; d++)
    if (o.devs[d] >= count) die("device %d does not exist (%d visible)", o.devs[d], count);

  struct cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, o.devs[0]));
  char gpu_name[sizeof(prop.name) + 1];
  memcpy(gpu_name, prop.name, sizeof(prop.name));
  gpu_name[sizeof(prop.name)] = '\0';

  results res;
  memset(&res, 0, sizeof(res));
  res.mg_times = calloc((size_t)o.repeats, sizeof(double));
  res.dn_times = calloc((size_t)o.repeats, sizeof(double));
  if (!res.mg_times || !res.dn_times) die("out of host memory");

  stager st;
  stager_init(&st, &o);
  void *h_ones = o.routine == R_POTRS ? make_ones(&o) : NULL;

  run_mg(&o, &st, h_ones, &res);
  if (o.single && res.mg_info == 0) run_dn(&o, &st, h_ones, &res);

  print_results(&o, &res, gpu_name);

  stager_free(&st);
  free(h_ones);
  free(res.mg_times);
  free(res.dn_times);
  return (res.mg_info != 0 || res.dn_info != 0) ? 1 : 0;
}
