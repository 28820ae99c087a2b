/* Run-time ScaLAPACK and BLACS: dlopen once, a symbol table indexed by routine and dtype, typed
 * wrappers (see scalapack.h). */
#include "mp/scalapack.h"

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diagnostics.h"
#include "mp/grid.h"

/* Fortran ABI: every argument by pointer, one hidden length per CHARACTER argument at the end. */
typedef void potrf_fn(const char *uplo, const int *n, void *a, const int *ia, const int *ja, const int *desca, int *info,
                      size_t);
typedef void potrs_fn(const char *uplo, const int *n, const int *nrhs, const void *a, const int *ia, const int *ja,
                      const int *desca, void *b, const int *ib, const int *jb, const int *descb, int *info, size_t);
typedef void syevd_fn(const char *jobz, const char *uplo, const int *n, void *a, const int *ia, const int *ja,
                      const int *desca, void *w, void *z, const int *iz, const int *jz, const int *descz, void *work,
                      const int *lwork, int *iwork, const int *liwork, int *info, size_t, size_t);
typedef void heevd_fn(const char *jobz, const char *uplo, const int *n, void *a, const int *ia, const int *ja,
                      const int *desca, void *w, void *z, const int *iz, const int *jz, const int *descz, void *work,
                      const int *lwork, void *rwork, const int *lrwork, int *iwork, const int *liwork, int *info, size_t,
                      size_t);
typedef void tran_fn(const int *m, const int *n, const void *alpha, const void *a, const int *ia, const int *ja,
                     const int *desca, const void *beta, void *c, const int *ic, const int *jc, const int *descc);
typedef void gemm_fn(const char *ta, const char *tb, const int *m, const int *n, const int *k, const void *alpha,
                     const void *a, const int *ia, const int *ja, const int *desca, const void *b, const int *ib,
                     const int *jb, const int *descb, const void *beta, void *c, const int *ic, const int *jc,
                     const int *descc, size_t, size_t);
typedef void hemm_fn(const char *side, const char *uplo, const int *m, const int *n, const void *alpha, const void *a,
                     const int *ia, const int *ja, const int *desca, const void *b, const int *ib, const int *jb,
                     const int *descb, const void *beta, void *c, const int *ic, const int *jc, const int *descc, size_t,
                     size_t);
typedef float lange_float_fn(const char *norm, const int *m, const int *n, const void *a, const int *ia, const int *ja,
                             const int *desca, void *work, size_t);
typedef double lange_double_fn(const char *norm, const int *m, const int *n, const void *a, const int *ia,
                               const int *ja, const int *desca, void *work, size_t);
typedef void getrf_fn(const int *m, const int *n, void *a, const int *ia, const int *ja, const int *desca, int *ipiv,
                      int *info);
typedef void getrs_fn(const char *trans, const int *n, const int *nrhs, const void *a, const int *ia, const int *ja,
                      const int *desca, const int *ipiv, void *b, const int *ib, const int *jb, const int *descb, int *info,
                      size_t);
typedef void sygst_fn(const int *ibtype, const char *uplo, const int *n, void *a, const int *ia, const int *ja,
                      const int *desca, const void *b, const int *ib, const int *jb, const int *descb, void *scale,
                      int *info, size_t);
typedef void trsm_fn(const char *side, const char *uplo, const char *transa, const char *diag, const int *m, const int *n,
                     const void *alpha, const void *a, const int *ia, const int *ja, const int *desca, void *b,
                     const int *ib, const int *jb, const int *descb, size_t, size_t, size_t, size_t);
typedef void gels_fn(const char *trans, const int *m, const int *n, const int *nrhs, void *a, const int *ia, const int *ja,
                     const int *desca, void *b, const int *ib, const int *jb, const int *descb, void *work,
                     const int *lwork, int *info, size_t);
typedef void gesvd_fn(const char *jobu, const char *jobvt, const int *m, const int *n, void *a, const int *ia,
                      const int *ja, const int *desca, void *s, void *u, const int *iu, const int *ju, const int *descu,
                      void *vt, const int *ivt, const int *jvt, const int *descvt, void *work, const int *lwork,
                      int *info, size_t, size_t);
typedef void zgesvd_fn(const char *jobu, const char *jobvt, const int *m, const int *n, void *a, const int *ia,
                       const int *ja, const int *desca, void *s, void *u, const int *iu, const int *ju, const int *descu,
                       void *vt, const int *ivt, const int *jvt, const int *descvt, void *work, const int *lwork,
                       void *rwork, int *info, size_t, size_t);
typedef int sys2blacs_fn(bunmg_mpi_handle comm);
typedef void gridinit_fn(int *context, const char *order, int prows, int pcols);
typedef void gridinfo_fn(int context, int *prows, int *pcols, int *prow, int *pcol);
typedef void context_fn(int context);

enum { POTRF, POTRS, POTRI, EIGEN, TRANC, GEMM, HEMM, LANGE, GETRF, GETRS, SYGST, TRSM, GELS, GESVD, NROUTINES };
/* per routine: the names for s, d, c, z */
static const char *const names[NROUTINES][4] = {
    {"pspotrf_", "pdpotrf_", "pcpotrf_", "pzpotrf_"}, {"pspotrs_", "pdpotrs_", "pcpotrs_", "pzpotrs_"},
    {"pspotri_", "pdpotri_", "pcpotri_", "pzpotri_"}, {"pssyevd_", "pdsyevd_", "pcheevd_", "pzheevd_"},
    {"pstran_", "pdtran_", "pctranc_", "pztranc_"},   {"psgemm_", "pdgemm_", "pcgemm_", "pzgemm_"},
    {"pssymm_", "pdsymm_", "pchemm_", "pzhemm_"},     {"pslange_", "pdlange_", "pclange_", "pzlange_"},
    {"psgetrf_", "pdgetrf_", "pcgetrf_", "pzgetrf_"}, {"psgetrs_", "pdgetrs_", "pcgetrs_", "pzgetrs_"},
    {"pssygst_", "pdsygst_", "pchegst_", "pzhegst_"}, {"pstrsm_", "pdtrsm_", "pctrsm_", "pztrsm_"},
    {"psgels_", "pdgels_", "pcgels_", "pzgels_"},     {"psgesvd_", "pdgesvd_", "pcgesvd_", "pzgesvd_"},
};
enum { SYS2BLACS, GRIDINIT, GRIDINFO, GRIDEXIT, FREE_SYSTEM, NBLACS };
static const char *const blacs_names[NBLACS] = {"Csys2blacs_handle", "Cblacs_gridinit", "Cblacs_gridinfo",
                                                "Cblacs_gridexit", "Cfree_blacs_system_handle"};
static const char *const candidates[] = {"libscalapack-openmpi.so.2.2", "libscalapack-openmpi.so"};
#define ADVICE \
  "install ScaLAPACK for Open MPI (Debian/Ubuntu: apt-get install libscalapack-openmpi2.2), or set BUNMG_SCALAPACK " \
  "to its library"

typedef void any_fn(void);
static pthread_once_t once = PTHREAD_ONCE_INIT;
static any_fn *fn[NROUTINES][4];
static any_fn *blacs[NBLACS];
static int loaded;
static char load_error[1536];
static char tried[1024];  /* each candidate with what became of it, for bunmg doctor */
static char path[4096];   /* the file loaded */

static any_fn *symbol(void *h, const char *name) {
  void *p = dlsym(h, name);
  any_fn *f;
  memcpy(&f, &p, sizeof p);
  return f;
}

/* Opens path and resolves every symbol, or says why not. */
static int try_library(const char *candidate, char *why, size_t len) {
  void *h = dlopen(candidate, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, len, "%s", e ? e : "dlopen failed");
    return 0;
  }
  const char *missing = NULL;
  for (int r = 0; r < NROUTINES && !missing; r++)
    for (int t = 0; t < 4 && !missing; t++)
      if (!(fn[r][t] = symbol(h, names[r][t]))) missing = names[r][t];
  for (int b = 0; b < NBLACS && !missing; b++)
    if (!(blacs[b] = symbol(h, blacs_names[b]))) missing = blacs_names[b];
  if (missing) {
    snprintf(why, len, "loaded, but has no %s", missing);
    dlclose(h);
    return 0;
  }
  struct link_map *map = NULL;
  snprintf(path, sizeof path, "%s", dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name[0] ? map->l_name : candidate);
  return 1;
}

static void load(void) {
  char why[512];
  size_t used = 0;
  const char *env = getenv("BUNMG_SCALAPACK");
  size_t count = env && *env ? 1 : sizeof candidates / sizeof *candidates;
  for (size_t i = 0; i < count; i++) {
    const char *candidate = env && *env ? env : candidates[i];
    int ok = try_library(candidate, why, sizeof why);
    if (ok) snprintf(why, sizeof why, "loaded%s", env && *env ? ", from BUNMG_SCALAPACK" : "");
    int n = snprintf(tried + used, sizeof tried - used, "%s%s (%s)", used ? ", " : "", candidate, why);
    if (n > 0 && (size_t)n < sizeof tried - used) used += (size_t)n;
    if (ok) {
      loaded = 1;
      return;
    }
  }
  snprintf(load_error, sizeof load_error, "ScaLAPACK could not be loaded; tried %s%s; " ADVICE, tried,
           env && *env ? " (BUNMG_SCALAPACK)" : "");
}

bunmg_status bunmg_scalapack_load(void) {
  const bunmg_mpi *mpi;
  bunmg_status st = bunmg_mpi_load(&mpi); /* first: ScaLAPACK resolves MPI through it */
  if (st != BUNMG_OK) return st;
  pthread_once(&once, load);
  return loaded ? BUNMG_OK : bunmg_fail(BUNMG_LIBRARY_NOT_FOUND, "%s", load_error);
}

bunmg_status bunmg_scalapack_probe(const char **out_path, const char **version, const char **where) {
  bunmg_status st = bunmg_scalapack_load();
  *out_path = loaded ? path : "";
  *version = "";
  *where = tried;
  return st;
}

/* ---- BLACS grids ---- */

typedef struct grid_task {
  bunmg_mpi_handle comm;
  int32_t system;
  mp_blacs b;
} grid_task;

static bunmg_status run_gridinit(void *arg) {
  grid_task *t = arg;
  if (t->system < 0) t->system = ((sys2blacs_fn *)blacs[SYS2BLACS])(t->comm);
  t->b.context = t->system;
  ((gridinit_fn *)blacs[GRIDINIT])(&t->b.context, t->b.order == BUNMG_GRID_COL_MAJOR ? "C" : "R", t->b.prows, t->b.pcols);
  int prows = 0, pcols = 0;
  ((gridinfo_fn *)blacs[GRIDINFO])(t->b.context, &prows, &pcols, &t->b.prow, &t->b.pcol);
  if (prows != t->b.prows || pcols != t->b.pcols || t->b.prow < 0)
    return bunmg_fail(BUNMG_SOLVER_ERROR, "Cblacs_gridinit made a %d x %d grid, not %d x %d", prows, pcols, t->b.prows,
                      t->b.pcols);
  return BUNMG_OK;
}

bunmg_status bunmg_blacs_grid(bunmg_mp *mp, int32_t prows, int32_t pcols, int32_t order, const mp_blacs **out) {
  bunmg_status st = bunmg_scalapack_load();
  if (st != BUNMG_OK) return st;
  if ((int64_t)prows * pcols != mp->size)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "a %d x %d BLACS grid needs %lld ranks, the job has %d", prows, pcols,
                      (long long)prows * pcols, mp->size);
  mp_blacs *free_slot = NULL;
  for (int i = 0; i < MP_BLACS_GRIDS; i++) {
    mp_blacs *b = &mp->blacs[i];
    if (b->used && b->prows == prows && b->pcols == pcols && b->order == order) {
      *out = b;
      return BUNMG_OK;
    }
    if (!b->used && !free_slot) free_slot = b;
  }
  if (!free_slot)
    return bunmg_fail(BUNMG_UNSUPPORTED, "an mp handle keeps at most %d BLACS grids (shapes); this is one more",
                      MP_BLACS_GRIDS);
  grid_task *t = calloc(1, sizeof *t);
  if (!t) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
  t->comm = mp->comm;
  t->system = mp->blacs_system;
  t->b = (mp_blacs){1, prows, pcols, order, 0, 0, 0};
  int abandoned = 0;
  st = bunmg_mp_run(mp, mp->timeout_ms, run_gridinit, t, "Cblacs_gridinit", &abandoned);
  if (abandoned) return st;
  mp->blacs_system = t->system;
  if (st == BUNMG_OK) {
    *free_slot = t->b;
    *out = free_slot;
  }
  free(t);
  return st;
}

static bunmg_status run_gridexit(void *arg) {
  bunmg_mp *mp = arg;
  for (int i = 0; i < MP_BLACS_GRIDS; i++) {
    mp_blacs *b = &mp->blacs[i];
    if (!b->used) continue;
    ((context_fn *)blacs[GRIDEXIT])(b->context);
    b->used = 0;
  }
  ((context_fn *)blacs[FREE_SYSTEM])(mp->blacs_system);
  mp->blacs_system = -1;
  return BUNMG_OK;
}

void bunmg_blacs_release(bunmg_mp *mp) {
  int abandoned = 0;
  if (mp->blacs_system >= 0) bunmg_mp_run(NULL, mp->timeout_ms, run_gridexit, mp, "Cblacs_gridexit", &abandoned);
}

/* ---- descriptors and arguments ---- */

static bunmg_status fits(int64_t v, const char *what) {
  if (v < 0 || v > INT_MAX)
    return bunmg_fail(BUNMG_UNSUPPORTED, "ScaLAPACK: %s = %lld does not fit its 32-bit int", what, (long long)v);
  return BUNMG_OK;
}

bunmg_status bunmg_scalapack_desc(bunmg_desc *d, const mp_blacs *grid, int64_t m, int64_t n, int64_t mb, int64_t nb,
                                  int64_t lld) {
  bunmg_status st = fits(m, "M");
  if (st == BUNMG_OK) st = fits(n, "N");
  if (st == BUNMG_OK) st = fits(mb, "MB");
  if (st == BUNMG_OK) st = fits(nb, "NB");
  if (st == BUNMG_OK) st = fits(lld, "LLD");
  if (st == BUNMG_OK && lld * bunmg_numroc(n, nb, grid->pcol, 0, grid->pcols) > INT_MAX)
    st = bunmg_fail(BUNMG_UNSUPPORTED, "ScaLAPACK: a local matrix of %lld x %lld exceeds its 32-bit indexing",
                    (long long)lld, (long long)bunmg_numroc(n, nb, grid->pcol, 0, grid->pcols));
  if (st != BUNMG_OK) return st;
  *d = (bunmg_desc){{1, grid->context, (int)m, (int)n, (int)mb, (int)nb, 0, 0, (int)(lld > 0 ? lld : 1)}};
  return BUNMG_OK;
}

static const int one_index = 1;
#define AT1 &one_index, &one_index /* ia = ja = 1 */

static int real_dtype(int32_t dtype) { return !bunmg_dtype_is_complex(dtype); }

/* Scalars in the dtype: 1 and 0 (room for a complex double). */
static void scalar(int32_t dtype, double value, double out[2]) {
  out[1] = 0;
  if (bunmg_dtype_real_size(dtype) == 4) {
    float f[2] = {(float)value, 0};
    memcpy(out, f, sizeof f);
  } else {
    out[0] = value;
  }
}

static bunmg_status finish(const char *routine, int info, int64_t *out) {
  *out = info;
  if (info < 0) return bunmg_fail_at(BUNMG_SOLVER_ERROR, info, -1, "%s rejected argument %d", routine, -info);
  return BUNMG_OK;
}

/* ---- routines ---- */

bunmg_status bunmg_pxpotrf(int32_t dtype, void *a, const bunmg_desc *da, int64_t *info) {
  int i = 0;
  ((potrf_fn *)fn[POTRF][dtype])("L", &da->v[3], a, AT1, da->v, &i, 1);
  return finish(names[POTRF][dtype], i, info);
}

bunmg_status bunmg_pxpotri(int32_t dtype, void *a, const bunmg_desc *da, int64_t *info) {
  int i = 0;
  ((potrf_fn *)fn[POTRI][dtype])("L", &da->v[3], a, AT1, da->v, &i, 1);
  return finish(names[POTRI][dtype], i, info);
}

bunmg_status bunmg_pxpotrs(int32_t dtype, const void *a, const bunmg_desc *da, void *b, const bunmg_desc *db,
                           int64_t *info) {
  int i = 0;
  ((potrs_fn *)fn[POTRS][dtype])("L", &da->v[3], &db->v[3], a, AT1, da->v, b, AT1, db->v, &i, 1);
  return finish(names[POTRS][dtype], i, info);
}

/* A workspace size ScaLAPACK returned as a floating-point number. */
static int64_t size_of(const void *p, int32_t dtype) {
  double v = bunmg_dtype_real_size(dtype) == 4 ? (double)*(const float *)p : *(const double *)p;
  return v > 0 ? (int64_t)ceil(v) : 0;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

bunmg_status bunmg_pxsyevd(int32_t dtype, void *a, const bunmg_desc *da, void *w, void *z, const bunmg_desc *dz,
                           int64_t *info) {
  const int *n = &da->v[3];
  int i = 0, minus1 = -1, iquery = 0;
  double query[2] = {0}, rquery[2] = {0};
  int cplx = bunmg_dtype_is_complex(dtype);
  if (cplx)
    ((heevd_fn *)fn[EIGEN][dtype])("V", "L", n, a, AT1, da->v, w, z, AT1, dz->v, query, &minus1, rquery, &minus1, &iquery,
                                   &minus1, &i, 1, 1);
  else
    ((syevd_fn *)fn[EIGEN][dtype])("V", "L", n, a, AT1, da->v, w, z, AT1, dz->v, query, &minus1, &iquery, &minus1, &i,
                                   1, 1);
  if (i != 0)
    return bunmg_fail_at(BUNMG_SOLVER_ERROR, i, -1, "%s: the workspace query failed (info %d)", names[EIGEN][dtype], i);
  /* ScaLAPACK's queries have come back short; its documented minimums bound them from below. */
  int32_t prows = 0, pcols = 0, prow = 0, pcol = 0;
  ((gridinfo_fn *)blacs[GRIDINFO])(da->v[1], &prows, &pcols, &prow, &pcol);
  int64_t nn = *n, nb = da->v[5], np = bunmg_numroc(nn, nb, prow, 0, prows), nq = bunmg_numroc(nn, nb, pcol, 0, pcols);
  int64_t big = max64(max64(nn, nb), 2);
  int64_t np0 = bunmg_numroc(big, nb, 0, 0, prows), mq0 = bunmg_numroc(big, nb, 0, 0, pcols);
  int64_t lwork = size_of(query, dtype), lrwork = cplx ? size_of(rquery, dtype) : 0, liwork = iquery;
  if (cplx) {
    lwork = max64(lwork, nn + (np0 + mq0 + nb) * nb);
    lrwork = max64(lrwork, 1 + 9 * nn + 3 * np * nq);
  } else {
    lwork = max64(lwork, max64(1 + 6 * nn + 2 * np * nq, 3 * nn + max64(nb * (np + 1), 3 * nb)) + 2 * nn);
  }
  /* and p?syevd's own formula misses what it hands p?ormtr / p?unmtr (its workspace after 2N):
   * with NB > N that call failed on its LWORK (PXERBLA printed "parameter number 16") */
  lwork = max64(lwork, 2 * nn + nb * nb + max64(nb * (nb - 1) / 2, (np + nq) * nb));
  liwork = max64(liwork, 7 * nn + 8 * pcols + 2);
  bunmg_status st = fits(lwork, "LWORK");
  if (st == BUNMG_OK) st = fits(lrwork, "LRWORK");
  if (st == BUNMG_OK) st = fits(liwork, "LIWORK");
  if (st != BUNMG_OK) return st;
  size_t esize = bunmg_dtype_size(dtype), rsize = bunmg_dtype_real_size(dtype);
  size_t bytes = (size_t)lwork * esize + (size_t)lrwork * rsize + (size_t)liwork * sizeof(int);
  char *work = malloc(bytes);
  if (!work)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory for %zu bytes of workspace", names[EIGEN][dtype], bytes);
  char *rwork = work + (size_t)lwork * esize;
  int *iwork = (int *)(rwork + (size_t)lrwork * rsize);
  int lw = (int)lwork, lrw = (int)lrwork, liw = (int)liwork;
  if (cplx)
    ((heevd_fn *)fn[EIGEN][dtype])("V", "L", n, a, AT1, da->v, w, z, AT1, dz->v, work, &lw, rwork, &lrw, iwork, &liw, &i,
                                   1, 1);
  else
    ((syevd_fn *)fn[EIGEN][dtype])("V", "L", n, a, AT1, da->v, w, z, AT1, dz->v, work, &lw, iwork, &liw, &i, 1, 1);
  free(work);
  return finish(names[EIGEN][dtype], i, info);
}

bunmg_status bunmg_pxtranc(int32_t dtype, const void *a, const bunmg_desc *da, void *c, const bunmg_desc *dc) {
  double one[2], zero[2];
  scalar(dtype, 1, one);
  scalar(dtype, 0, zero);
  ((tran_fn *)fn[TRANC][dtype])(&dc->v[2], &dc->v[3], one, a, AT1, da->v, zero, c, AT1, dc->v);
  return BUNMG_OK;
}

bunmg_status bunmg_pxgemm(int32_t dtype, char op, const void *a, const bunmg_desc *da, const void *b,
                          const bunmg_desc *db, void *c, const bunmg_desc *dc) {
  double one[2], zero[2];
  scalar(dtype, 1, one);
  scalar(dtype, 0, zero);
  char ta = op == 'N' ? 'N' : real_dtype(dtype) ? 'T' : 'C';
  const int *k = op == 'N' ? &da->v[3] : &da->v[2];
  ((gemm_fn *)fn[GEMM][dtype])(&ta, "N", &dc->v[2], &dc->v[3], k, one, a, AT1, da->v, b, AT1, db->v, zero, c, AT1, dc->v,
                               1, 1);
  return BUNMG_OK;
}

bunmg_status bunmg_pxhemm(int32_t dtype, const void *a, const bunmg_desc *da, const void *b, const bunmg_desc *db,
                          void *c, const bunmg_desc *dc) {
  double one[2], zero[2];
  scalar(dtype, 1, one);
  scalar(dtype, 0, zero);
  ((hemm_fn *)fn[HEMM][dtype])("L", "L", &dc->v[2], &dc->v[3], one, a, AT1, da->v, b, AT1, db->v, zero, c, AT1, dc->v,
                               1, 1);
  return BUNMG_OK;
}

/* The Frobenius norm of columns [j, j + cols) of a. */
static double norm_columns(int32_t dtype, const void *a, const bunmg_desc *da, int64_t j, int cols) {
  int ja = (int)j + 1;
  double work[1];
  if (bunmg_dtype_real_size(dtype) == 4)
    return ((lange_float_fn *)fn[LANGE][dtype])("F", &da->v[2], &cols, a, &one_index, &ja, da->v, work, 1);
  return ((lange_double_fn *)fn[LANGE][dtype])("F", &da->v[2], &cols, a, &one_index, &ja, da->v, work, 1);
}

double bunmg_pxnorm_column(int32_t dtype, const void *a, const bunmg_desc *da, int64_t j) {
  return norm_columns(dtype, a, da, j, 1);
}

double bunmg_pxnorm(int32_t dtype, const void *a, const bunmg_desc *da) { return norm_columns(dtype, a, da, 0, da->v[3]); }

bunmg_status bunmg_pxgetrf(int32_t dtype, void *a, const bunmg_desc *da, int *ipiv, int64_t *info) {
  int i = 0;
  ((getrf_fn *)fn[GETRF][dtype])(&da->v[2], &da->v[3], a, AT1, da->v, ipiv, &i);
  return finish(names[GETRF][dtype], i, info);
}

bunmg_status bunmg_pxgetrs(int32_t dtype, const void *a, const bunmg_desc *da, const int *ipiv, void *b,
                           const bunmg_desc *db, int64_t *info) {
  int i = 0;
  ((getrs_fn *)fn[GETRS][dtype])("T", &da->v[3], &db->v[3], a, AT1, da->v, ipiv, b, AT1, db->v, &i, 1);
  return finish(names[GETRS][dtype], i, info);
}

bunmg_status bunmg_pxsygst(int32_t dtype, void *a, const bunmg_desc *da, const void *l, const bunmg_desc *dl,
                           double *scale, int64_t *info) {
  int i = 0, ibtype = 1;
  double s[1] = {1};
  float sf[1] = {1};
  int single = bunmg_dtype_real_size(dtype) == 4;
  ((sygst_fn *)fn[SYGST][dtype])(&ibtype, "L", &da->v[3], a, AT1, da->v, l, AT1, dl->v, single ? (void *)sf : (void *)s,
                                 &i, 1);
  *scale = single ? (double)sf[0] : s[0];
  return finish(names[SYGST][dtype], i, info);
}

bunmg_status bunmg_pxtrsm_lower_adjoint(int32_t dtype, const void *l, const bunmg_desc *dl, void *b,
                                        const bunmg_desc *db) {
  double one[2];
  scalar(dtype, 1, one);
  const char *op = real_dtype(dtype) ? "T" : "C";
  ((trsm_fn *)fn[TRSM][dtype])("L", "L", op, "N", &db->v[2], &db->v[3], one, l, AT1, dl->v, b, AT1, db->v, 1, 1, 1, 1);
  return BUNMG_OK;
}

bunmg_status bunmg_pxgels(int32_t dtype, void *a, const bunmg_desc *da, void *b, const bunmg_desc *db, int64_t *info) {
  int i = 0, minus1 = -1;
  double query[2] = {0};
  const char *op = real_dtype(dtype) ? "T" : "C";
  gels_fn *gels = (gels_fn *)fn[GELS][dtype];
  gels(op, &da->v[2], &da->v[3], &db->v[3], a, AT1, da->v, b, AT1, db->v, query, &minus1, &i, 1);
  if (i != 0)
    return bunmg_fail_at(BUNMG_SOLVER_ERROR, i, -1, "%s: the workspace query failed (info %d)", names[GELS][dtype], i);
  int64_t lwork = size_of(query, dtype);
  bunmg_status st = fits(lwork, "LWORK");
  if (st != BUNMG_OK) return st;
  size_t bytes = (size_t)(lwork > 0 ? lwork : 1) * bunmg_dtype_size(dtype);
  void *work = malloc(bytes);
  if (!work)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory for %zu bytes of workspace", names[GELS][dtype], bytes);
  int lw = (int)lwork;
  gels(op, &da->v[2], &da->v[3], &db->v[3], a, AT1, da->v, b, AT1, db->v, work, &lw, &i, 1);
  free(work);
  return finish(names[GELS][dtype], i, info);
}

bunmg_status bunmg_pxgesvd(int32_t dtype, void *a, const bunmg_desc *da, void *s, void *u, const bunmg_desc *du, void *vt,
                           const bunmg_desc *dvt, int64_t *info) {
  int i = 0, minus1 = -1, cplx = bunmg_dtype_is_complex(dtype);
  double query[2] = {0}, rquery[2] = {0};
  const int *m = &da->v[2], *n = &da->v[3];
  if (cplx)
    ((zgesvd_fn *)fn[GESVD][dtype])("V", "V", m, n, a, AT1, da->v, s, u, AT1, du->v, vt, AT1, dvt->v, query, &minus1,
                                    rquery, &i, 1, 1);
  else
    ((gesvd_fn *)fn[GESVD][dtype])("V", "V", m, n, a, AT1, da->v, s, u, AT1, du->v, vt, AT1, dvt->v, query, &minus1, &i,
                                   1, 1);
  if (i != 0)
    return bunmg_fail_at(BUNMG_SOLVER_ERROR, i, -1, "%s: the workspace query failed (info %d)", names[GESVD][dtype], i);
  int64_t lwork = size_of(query, dtype), lrwork = cplx ? max64(size_of(rquery, dtype), 1 + 4 * max64(*m, *n)) : 0;
  bunmg_status st = fits(lwork, "LWORK");
  if (st == BUNMG_OK) st = fits(lrwork, "LRWORK");
  if (st != BUNMG_OK) return st;
  size_t bytes = (size_t)(lwork > 0 ? lwork : 1) * bunmg_dtype_size(dtype) + (size_t)lrwork * bunmg_dtype_real_size(dtype);
  char *work = malloc(bytes);
  if (!work)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory for %zu bytes of workspace", names[GESVD][dtype], bytes);
  char *rwork = work + (size_t)(lwork > 0 ? lwork : 1) * bunmg_dtype_size(dtype);
  int lw = (int)lwork;
  if (cplx)
    ((zgesvd_fn *)fn[GESVD][dtype])("V", "V", m, n, a, AT1, da->v, s, u, AT1, du->v, vt, AT1, dvt->v, work, &lw, rwork,
                                    &i, 1, 1);
  else
    ((gesvd_fn *)fn[GESVD][dtype])("V", "V", m, n, a, AT1, da->v, s, u, AT1, du->v, vt, AT1, dvt->v, work, &lw, &i, 1, 1);
  free(work);
  return finish(names[GESVD][dtype], i, info);
}
