/* Run-time LAPACK: dlopen once, a symbol table indexed by routine and dtype, typed wrappers. */
#include "host/lapack.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fortran ABI: every argument by pointer, then one hidden length per CHARACTER argument (size_t
 * since gfortran 8; older builds ignore the extra trailing arguments). */
typedef void potrf_fn(const char *uplo, const int *n, void *a, const int *lda, int *info, size_t);
typedef void potrs_fn(const char *uplo, const int *n, const int *nrhs, const void *a,
                      const int *lda, void *b, const int *ldb, int *info, size_t);
typedef void syevd_fn(const char *jobz, const char *uplo, const int *n, void *a, const int *lda,
                      void *w, void *work, const int *lwork, int *iwork, const int *liwork,
                      int *info, size_t, size_t);
typedef void heevd_fn(const char *jobz, const char *uplo, const int *n, void *a, const int *lda,
                      void *w, void *work, const int *lwork, void *rwork, const int *lrwork,
                      int *iwork, const int *liwork, int *info, size_t, size_t);

enum { POTRF, POTRS, POTRI, EIGEN, NROUTINES };
static const char *const routine_base[NROUTINES] = {"potrf", "potrs", "potri", "syevd"};
static const char dtype_prefix[4] = {'s', 'd', 'c', 'z'};
static const char *const candidates[] = {"liblapack.so.3",    "libopenblas.so.0", "libopenblas.so",
                                         "liblapack.so",      "libflexiblas.so.3", "libmkl_rt.so",
                                         "libmkl_rt.so.2"};
#define ADVICE                                                                                   \
  "install liblapack3 (Debian/Ubuntu: apt-get install liblapack3) or OpenBLAS, or set "          \
  "BUNMG_LAPACK to the library's path"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
typedef void any_fn(void);
static any_fn *fn[NROUTINES][4];
static const char *loaded;     /* the library loaded: loaded_path, or NULL */
static char loaded_path[4096];
static void *loaded_handle;
static char load_error[1536];  /* why nothing loaded; reported to every later caller */
static char tried[1024];       /* each candidate with what became of it, for bunmg doctor */
static size_t tried_len;

/* "dpotrf", "zheevd", ... */
static void routine_name(char out[8], int routine, int32_t dtype) {
  const char *base = routine == EIGEN && bunmg_dtype_is_complex(dtype) ? "heevd"
                                                                       : routine_base[routine];
  snprintf(out, 8, "%c%s", dtype_prefix[dtype], base);
}

/* Opens path and resolves every symbol, or says why not in `why`. */
static int try_library(const char *path, int verbose, char *why, size_t why_len) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, why_len, "%s", verbose || !e || strstr(e, "No such file") == NULL
                                     ? (e ? e : "dlopen failed") : "not found");
    return 0;
  }
  for (int r = 0; r < NROUTINES; r++)
    for (int32_t t = 0; t < 4; t++) {
      char name[8], sym[16];
      routine_name(name, r, t);
      snprintf(sym, sizeof sym, "%s_", name);
      void *p = dlsym(h, sym);
      memcpy(&fn[r][t], &p, sizeof p); /* POSIX's way around ISO C's object/function split */
      if (!p) {
        snprintf(why, why_len, "loaded, but has no %s", sym);
        memset(fn, 0, sizeof fn);
        dlclose(h);
        return 0;
      }
    }
  /* The file the loader found (a bare soname says nothing of where); getenv's string may change. */
  struct link_map *map = NULL;
  snprintf(loaded_path, sizeof loaded_path, "%s",
           dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name[0] ? map->l_name : path);
  loaded = loaded_path;
  loaded_handle = h;
  return 1;
}

static void note_tried(const char *candidate, const char *outcome) {
  if (tried_len >= sizeof tried) return;
  int n = snprintf(tried + tried_len, sizeof tried - tried_len, "%s%s (%s)", tried_len ? ", " : "", candidate,
                   outcome);
  tried_len = n < 0 ? sizeof tried : tried_len + (size_t)n;
}

static void load(void) {
  char why[256];
  const char *env = getenv("BUNMG_LAPACK");
  if (env && *env) {
    int ok = try_library(env, 1, why, sizeof why);
    note_tried(env, ok ? "loaded, from BUNMG_LAPACK" : why);
    if (!ok)
      snprintf(load_error, sizeof load_error,
               "LAPACK could not be loaded from BUNMG_LAPACK=%s (%s); " ADVICE, env, why);
    return;
  }
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
    int ok = try_library(candidates[i], 0, why, sizeof why);
    note_tried(candidates[i], ok ? "loaded" : why);
    if (ok) return;
  }
  snprintf(load_error, sizeof load_error, "LAPACK could not be loaded; tried %s; " ADVICE, tried);
}

int bunmg_lapack_available(void) {
  pthread_once(&load_once, load);
  return loaded != NULL;
}

/* LAPACK's own version (ilaver), once loaded; stays "" when it has none. */
static char version_text[32];
typedef void ilaver_fn(int *major, int *minor, int *patch);
static void read_version(void) {
  void *p = loaded_handle ? dlsym(loaded_handle, "ilaver_") : NULL;
  ilaver_fn *ilaver;
  memcpy(&ilaver, &p, sizeof p);
  if (!ilaver) return;
  int major = 0, minor = 0, patch = 0;
  ilaver(&major, &minor, &patch);
  snprintf(version_text, sizeof version_text, "%d.%d.%d", major, minor, patch);
}

bunmg_status bunmg_lapack_probe(const char **path, const char **version, const char **where) {
  static pthread_once_t version_once = PTHREAD_ONCE_INIT;
  bunmg_status st = bunmg_lapack_load();
  pthread_once(&version_once, read_version);
  *path = loaded ? loaded : "";
  *version = version_text;
  *where = tried;
  return st;
}

bunmg_status bunmg_lapack_load(void) {
  if (bunmg_lapack_available()) return BUNMG_OK;
  return bunmg_fail(BUNMG_LIBRARY_NOT_FOUND, "%s", load_error);
}

/* ---- argument checks: LAPACK must never see an illegal value ---- */

/* Loads LAPACK and names the routine for messages. */
static bunmg_status enter(int routine, int32_t dtype, char name[8], const int64_t *info) {
  if (bunmg_dtype_size(dtype) == 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "LAPACK x%s: dtype %d is not a bunmg_dtype",
                      routine_base[routine], (int)dtype);
  routine_name(name, routine, dtype);
  if (!info) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: info is NULL", name);
  bunmg_status st = bunmg_lapack_load();
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", name);
  return st;
}

/* A dimension in [lo, INT_MAX], converted to LAPACK's int. */
static bunmg_status dim(const char *name, const char *what, int64_t v, int64_t lo, int *out) {
  if (v < lo || v > INT_MAX)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: %s = %lld is outside [%lld, %d]%s", name,
                      what, (long long)v, (long long)lo, INT_MAX,
                      v > INT_MAX ? " (LAPACK takes 32-bit ints)" : "");
  *out = (int)v;
  return BUNMG_OK;
}

/* n, lda >= max(1, n), and a, which may be NULL only when n == 0. */
static bunmg_status matrix_args(const char *name, int64_t n, int64_t lda, int *in, int *ilda,
                                const void *a) {
  bunmg_status st = dim(name, "n", n, 0, in);
  if (st == BUNMG_OK) st = dim(name, "lda", lda, n > 1 ? n : 1, ilda);
  if (st == BUNMG_OK && n > 0 && !a)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: a is NULL with n = %lld", name, (long long)n);
  return st;
}

static bunmg_status flag(const char *name, const char *what, char c, const char *allowed,
                         char *out) {
  if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
  if (c == '\0' || !strchr(allowed, c))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: %s must be one of %s, got '%c'", name, what,
                      allowed, c ? c : '?');
  *out = c;
  return BUNMG_OK;
}

static bunmg_status finish(const char *name, int info, int64_t *out) {
  *out = info;
  if (info < 0)
    return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "%s: LAPACK rejected argument %d", name,
                         -info);
  return BUNMG_OK;
}

/* ---- routines ---- */

/* potrf and potri share a signature. */
static bunmg_status triangle(int routine, int32_t dtype, char uplo, int64_t n, void *a,
                             int64_t lda, int64_t *info) {
  char name[8], u = 'L';
  int in = 0, ilda = 1, iinfo = 0;
  bunmg_status st = enter(routine, dtype, name, info);
  if (st == BUNMG_OK) st = flag(name, "uplo", uplo, "LU", &u);
  if (st == BUNMG_OK) st = matrix_args(name, n, lda, &in, &ilda, a);
  if (st != BUNMG_OK) return st;
  ((potrf_fn *)fn[routine][dtype])(&u, &in, a, &ilda, &iinfo, 1);
  return finish(name, iinfo, info);
}

bunmg_status bunmg_lapack_potrf(int32_t dtype, char uplo, int64_t n, void *a, int64_t lda,
                                int64_t *info) {
  return triangle(POTRF, dtype, uplo, n, a, lda, info);
}

bunmg_status bunmg_lapack_potri(int32_t dtype, char uplo, int64_t n, void *a, int64_t lda,
                                int64_t *info) {
  return triangle(POTRI, dtype, uplo, n, a, lda, info);
}

bunmg_status bunmg_lapack_potrs(int32_t dtype, char uplo, int64_t n, int64_t nrhs,
                                const void *a, int64_t lda, void *b, int64_t ldb, int64_t *info) {
  char name[8], u = 'L';
  int in = 0, ilda = 1, inrhs = 0, ildb = 1, iinfo = 0;
  bunmg_status st = enter(POTRS, dtype, name, info);
  if (st == BUNMG_OK) st = flag(name, "uplo", uplo, "LU", &u);
  if (st == BUNMG_OK) st = matrix_args(name, n, lda, &in, &ilda, a);
  if (st == BUNMG_OK) st = dim(name, "nrhs", nrhs, 0, &inrhs);
  if (st == BUNMG_OK) st = dim(name, "ldb", ldb, n > 1 ? n : 1, &ildb);
  if (st == BUNMG_OK && n > 0 && nrhs > 0 && !b)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: b is NULL with n = %lld, nrhs = %lld", name,
                    (long long)n, (long long)nrhs);
  if (st != BUNMG_OK) return st;
  ((potrs_fn *)fn[POTRS][dtype])(&u, &in, &inrhs, a, &ilda, b, &ildb, &iinfo, 1);
  return finish(name, iinfo, info);
}

/* Workspace in elements: [0] work (dtype), [1] rwork (real, complex only), [2] iwork (int). */
static void eigen_minimum(int32_t dtype, int vectors, uint64_t n, uint64_t s[3]) {
  int cplx = bunmg_dtype_is_complex(dtype);
  if (n <= 1) {
    s[0] = 1, s[1] = cplx, s[2] = 1;
  } else if (!cplx) {
    s[0] = vectors ? 1 + 6 * n + 2 * n * n : 2 * n + 1, s[1] = 0, s[2] = vectors ? 3 + 5 * n : 1;
  } else {
    s[0] = vectors ? 2 * n + n * n : n + 1;
    s[1] = vectors ? 1 + 5 * n + 2 * n * n : n;
    s[2] = vectors ? 3 + 5 * n : 1;
  }
}

/* A size LAPACK returned as a floating-point number; past INT_MAX only says "too big". */
static uint64_t queried(double v) {
  if (!(v > 0)) return 0;
  return v > (double)INT_MAX ? (uint64_t)INT_MAX + 1 : (uint64_t)ceil(v);
}

static double real_at(const void *p, int32_t dtype) {
  return bunmg_dtype_real_size(dtype) == 4 ? (double)*(const float *)p : *(const double *)p;
}

/* The larger of LAPACK's query (when loaded) and the documented minimum: single-precision LAPACK
 * before 3.10 can round a large lwork down when it returns it as a float. */
static bunmg_status eigen_sizes(const char *name, int32_t dtype, char jobz, int n, int query,
                                int sizes[3]) {
  uint64_t s[3];
  eigen_minimum(dtype, jobz == 'V', (uint64_t)n, s);
  if (query) {
    double work[2] = {0}, rwork[1] = {0}, dummy[2] = {0}; /* room for one complex double */
    int iwork[1] = {0}, minus1 = -1, lda = n > 1 ? n : 1, info = 0;
    char u = 'L';
    if (bunmg_dtype_is_complex(dtype))
      ((heevd_fn *)fn[EIGEN][dtype])(&jobz, &u, &n, dummy, &lda, dummy, work, &minus1, rwork,
                                      &minus1, iwork, &minus1, &info, 1, 1);
    else
      ((syevd_fn *)fn[EIGEN][dtype])(&jobz, &u, &n, dummy, &lda, dummy, work, &minus1, iwork,
                                      &minus1, &info, 1, 1);
    if (info != 0)
      return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1,
                           "%s: workspace query for N = %d failed (info %d)", name, n, info);
    uint64_t q[3] = {queried(real_at(work, dtype)),
                     bunmg_dtype_is_complex(dtype) ? queried(real_at(rwork, dtype)) : 0,
                     (uint64_t)(iwork[0] > 0 ? iwork[0] : 0)};
    for (int i = 0; i < 3; i++) s[i] = q[i] > s[i] ? q[i] : s[i];
  }
  for (int i = 0; i < 3; i++) {
    if (s[i] > INT_MAX)
      return bunmg_fail(BUNMG_UNSUPPORTED,
                        "%s: N = %d needs a workspace of %llu elements, beyond 32-bit LAPACK",
                        name, n, (unsigned long long)s[i]);
    sizes[i] = (int)s[i];
  }
  return BUNMG_OK;
}

static uint64_t eigen_bytes(int32_t dtype, const int sizes[3]) {
  return (uint64_t)sizes[0] * bunmg_dtype_size(dtype) +
         (uint64_t)sizes[1] * bunmg_dtype_real_size(dtype) + (uint64_t)sizes[2] * sizeof(int);
}

bunmg_status bunmg_lapack_syevd_workspace(int32_t dtype, char jobz, int64_t n, uint64_t *bytes) {
  char name[8], j = 'V';
  int in = 0, sizes[3];
  if (bunmg_dtype_size(dtype) == 0 || !bytes)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "syevd workspace: bad dtype %d or NULL bytes",
                      (int)dtype);
  routine_name(name, EIGEN, dtype);
  bunmg_status st = flag(name, "jobz", jobz, "NV", &j);
  if (st == BUNMG_OK) st = dim(name, "n", n, 0, &in);
  if (st == BUNMG_OK) st = eigen_sizes(name, dtype, j, in, bunmg_lapack_available(), sizes);
  if (st == BUNMG_OK) *bytes = eigen_bytes(dtype, sizes);
  return st;
}

bunmg_status bunmg_lapack_syevd(int32_t dtype, char jobz, char uplo, int64_t n, void *a,
                                int64_t lda, void *w, int64_t *info) {
  char name[8], j = 'V', u = 'L';
  int in = 0, ilda = 1, sizes[3], iinfo = 0;
  bunmg_status st = enter(EIGEN, dtype, name, info);
  if (st == BUNMG_OK) st = flag(name, "jobz", jobz, "NV", &j);
  if (st == BUNMG_OK) st = flag(name, "uplo", uplo, "LU", &u);
  if (st == BUNMG_OK) st = matrix_args(name, n, lda, &in, &ilda, a);
  if (st == BUNMG_OK && n > 0 && !w)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: w is NULL with n = %lld", name, (long long)n);
  if (st == BUNMG_OK) st = eigen_sizes(name, dtype, j, in, 1, sizes);
  if (st != BUNMG_OK) return st;

  uint64_t bytes = eigen_bytes(dtype, sizes);
  char *work = malloc(bytes);
  if (!work)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY,
                      "%s: out of host memory allocating %llu bytes of workspace for N = %d",
                      name, (unsigned long long)bytes, in);
  /* One block: work, then rwork, then iwork; each part stays aligned to its element size. */
  char *rwork = work + (size_t)sizes[0] * bunmg_dtype_size(dtype);
  int *iwork = (int *)(rwork + (size_t)sizes[1] * bunmg_dtype_real_size(dtype));
  if (bunmg_dtype_is_complex(dtype))
    ((heevd_fn *)fn[EIGEN][dtype])(&j, &u, &in, a, &ilda, w, work, &sizes[0], rwork, &sizes[1],
                                    iwork, &sizes[2], &iinfo, 1, 1);
  else
    ((syevd_fn *)fn[EIGEN][dtype])(&j, &u, &in, a, &ilda, w, work, &sizes[0], iwork, &sizes[2],
                                    &iinfo, 1, 1);
  free(work);
  return finish(name, iinfo, info);
}
