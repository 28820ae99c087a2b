/* The solver ops over cuSOLVERMg, loaded at run time (loader.c) so that libbunmg loads (and its
 * host backend works) on machines without it. Per mesh: one handle and one 1 x G device grid (made
 * on the first solver call), cached matrix descriptors, and one grow-only workspace per position.
 * The function pointers take their types from NVIDIA's cusolverMg.h, so a call that does not
 * match the header's signature does not compile. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CUDA 13 marks cuSOLVERMg deprecated (cuSOLVERMp is its successor); it is still shipped and is
 * what this backend is built on. */
#define DISABLE_CUSOLVERMG_DEPRECATED
#include <cusolverMg.h>

#include "cuda/cuda_internal.h"

enum { IA = 1, JA = 1 }; /* cuSOLVERMg is 1-based; bunmg always works on the whole matrix */

/* ---- the library ---- */

/* potrf and potri share one signature */
typedef __typeof__(cusolverMgPotrf_bufferSize) *factor_size_fn;
typedef __typeof__(cusolverMgPotrf) *factor_fn;

static struct {
  __typeof__(cusolverMgCreate) *create;
  __typeof__(cusolverMgDestroy) *destroy;
  __typeof__(cusolverMgDeviceSelect) *device_select;
  __typeof__(cusolverMgCreateDeviceGrid) *create_grid;
  __typeof__(cusolverMgDestroyGrid) *destroy_grid;
  __typeof__(cusolverMgCreateMatrixDesc) *create_desc;
  __typeof__(cusolverMgDestroyMatrixDesc) *destroy_desc;
  factor_size_fn potrf_size, potri_size;
  factor_fn potrf, potri;
  __typeof__(cusolverMgPotrs_bufferSize) *potrs_size;
  __typeof__(cusolverMgPotrs) *potrs;
  __typeof__(cusolverMgSyevd_bufferSize) *syevd_size;
  __typeof__(cusolverMgSyevd) *syevd;
} mg;

/* The header's two factor signatures are one type, so potri fits factor()'s slots. */
_Static_assert(__builtin_types_compatible_p(__typeof__(&cusolverMgPotri_bufferSize), factor_size_fn) &&
                   __builtin_types_compatible_p(__typeof__(&cusolverMgPotri), factor_fn),
               "cusolverMgPotri and cusolverMgPotrf differ in signature");

static const bunmg_symbol symbols[] = {
    {"cusolverMgCreate", &mg.create},
    {"cusolverMgDestroy", &mg.destroy},
    {"cusolverMgDeviceSelect", &mg.device_select},
    {"cusolverMgCreateDeviceGrid", &mg.create_grid},
    {"cusolverMgDestroyGrid", &mg.destroy_grid},
    {"cusolverMgCreateMatrixDesc", &mg.create_desc},
    {"cusolverMgDestroyMatrixDesc", &mg.destroy_desc},
    {"cusolverMgPotrf_bufferSize", &mg.potrf_size},
    {"cusolverMgPotrf", &mg.potrf},
    {"cusolverMgPotrs_bufferSize", &mg.potrs_size},
    {"cusolverMgPotrs", &mg.potrs},
    {"cusolverMgPotri_bufferSize", &mg.potri_size},
    {"cusolverMgPotri", &mg.potri},
    {"cusolverMgSyevd_bufferSize", &mg.syevd_size},
    {"cusolverMgSyevd", &mg.syevd},
};

static bunmg_library library = {"cuSOLVERMg", "BUNMG_CUSOLVERMG", "libcusolverMg", symbols,
                                 sizeof symbols / sizeof *symbols, 0, NULL, NULL, NULL};
bunmg_library *const bunmg_cusolvermg_library = &library; /* for bunmg doctor (probe.c) */

static bunmg_status load_library(void) { return bunmg_library_load(&library); }

static bunmg_status check(int s, const char *routine) { return bunmg_cusolver_check(s, routine); }

/* The routines return when their results are final; waiting on every device anyway costs little
 * next to them, and an asynchronous fault then surfaces here, named, and not in the next copy. */
static bunmg_status settle(bunmg_mesh *mesh) {
  bunmg_status status = BUNMG_OK;
  for (int32_t pos = 0; pos < mesh->ndev && status == BUNMG_OK; pos++) {
    status = bunmg_cuda_use(mesh, pos);
    if (status == BUNMG_OK)
      status = bunmg_cuda_check(mesh, pos, "cudaDeviceSynchronize", cudaDeviceSynchronize());
  }
  return status;
}

/* ---- per-mesh state ---- */

enum { DESC_CACHE = 8, STUB_BYTES = 256 };

typedef struct mg_desc {
  int64_t rows, cols, tile;
  int32_t dtype;
  cudaLibMgMatrixDesc_t desc;
} mg_desc;

struct bunmg_mg {
  cusolverMgHandle_t handle;
  cudaLibMgGrid_t grid;
  mg_desc desc[DESC_CACHE]; /* least recently used first */
  int32_t ndesc;
  void *work[BUNMG_MAX_DEVICES]; /* array_d_work: grows, never shrinks */
  size_t work_bytes[BUNMG_MAX_DEVICES];
  /* A valid device pointer per position for arguments that must not be NULL but are not read:
   * B's entries off grid device 0, A's in the size queries. */
  void *stub[BUNMG_MAX_DEVICES];
};

void bunmg_mg_destroy(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  bunmg_mg *s = st ? st->mg : NULL;
  if (!s) return;
  for (int32_t i = 0; i < s->ndesc; i++) (void)mg.destroy_desc(s->desc[i].desc);
  if (s->grid) (void)mg.destroy_grid(s->grid);
  if (s->handle) (void)mg.destroy(s->handle);
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    bunmg_held_free(mesh, pos, &s->work[pos], s->work_bytes[pos]);
    bunmg_held_free(mesh, pos, &s->stub[pos], STUB_BYTES);
  }
  (void)cudaGetLastError();
  free(s);
  st->mg = NULL;
}

static bunmg_status get_state(bunmg_mesh *mesh, bunmg_mg **out) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  if (st->mg) {
    *out = st->mg;
    return BUNMG_OK;
  }
  bunmg_status status = load_library();
  if (status != BUNMG_OK) return status;
  bunmg_mg *s = calloc(1, sizeof *s);
  if (!s) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the cuSOLVERMg state");
  st->mg = s; /* from here bunmg_mg_destroy cleans up whatever exists */
  int ids[BUNMG_MAX_DEVICES];
  for (int32_t pos = 0; pos < mesh->ndev; pos++) ids[pos] = mesh->device_ids[pos];
  status = check(mg.create(&s->handle), "cusolverMgCreate");
  if (status != BUNMG_OK) s->handle = NULL;
  if (status == BUNMG_OK)
    status = check(mg.device_select(s->handle, mesh->ndev, ids), "cusolverMgDeviceSelect");
  if (status == BUNMG_OK) {
    status = check(mg.create_grid(&s->grid, 1, mesh->ndev, mesh->device_ids, CUDALIBMG_GRID_MAPPING_COL_MAJOR),
                   "cusolverMgCreateDeviceGrid");
    if (status != BUNMG_OK) s->grid = NULL;
  }
  for (int32_t pos = 0; pos < mesh->ndev && status == BUNMG_OK; pos++)
    status = bunmg_held_alloc(mesh, pos, STUB_BYTES, &s->stub[pos]);
  if (status != BUNMG_OK) {
    bunmg_mg_destroy(mesh);
    return status;
  }
  *out = s;
  return BUNMG_OK;
}

/* Descriptor for a rows x cols matrix in column tiles of `tile` (all rows in one row block). */
static bunmg_status get_desc(bunmg_mg *s, int64_t rows, int64_t cols, int64_t tile, int32_t dtype,
                             void **out) {
  for (int32_t i = 0; i < s->ndesc; i++) {
    mg_desc d = s->desc[i];
    if (d.rows == rows && d.cols == cols && d.tile == tile && d.dtype == dtype) {
      /* move to the back, so the descriptors of the current call are the last evicted */
      memmove(&s->desc[i], &s->desc[i + 1], sizeof d * (size_t)(s->ndesc - i - 1));
      s->desc[s->ndesc - 1] = d;
      *out = d.desc;
      return BUNMG_OK;
    }
  }
  if (s->ndesc == DESC_CACHE) {
    (void)mg.destroy_desc(s->desc[0].desc);
    memmove(&s->desc[0], &s->desc[1], sizeof *s->desc * (DESC_CACHE - 1));
    s->ndesc--;
  }
  void *desc = NULL;
  bunmg_status status = check(mg.create_desc(&desc, rows, cols, rows, tile, bunmg_cuda_data_type(dtype), s->grid),
                              "cusolverMgCreateMatrixDesc");
  if (status != BUNMG_OK) return status;
  s->desc[s->ndesc++] = (mg_desc){rows, cols, tile, dtype, desc};
  *out = desc;
  return BUNMG_OK;
}

/* lwork is in elements of the compute type, per device, the same on every device. */
static bunmg_status ensure_workspace(bunmg_mesh *mesh, bunmg_mg *s, int64_t lwork, int32_t dtype) {
  if (lwork < 0)
    return bunmg_fail(BUNMG_SOLVER_ERROR, "cuSOLVERMg asked for a negative workspace (%lld)",
                      (long long)lwork);
  size_t bytes = (size_t)lwork * bunmg_dtype_size(dtype);
  if (bytes < STUB_BYTES) bytes = STUB_BYTES; /* a valid pointer even when nothing is needed */
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    if (s->work_bytes[pos] >= bytes) continue;
    bunmg_held_free(mesh, pos, &s->work[pos], s->work_bytes[pos]); /* free first: room for the new one */
    s->work_bytes[pos] = 0;
    bunmg_status status = bunmg_held_alloc(mesh, pos, bytes, &s->work[pos]);
    if (status != BUNMG_OK) {
      bunmg_error_prefix("cuSOLVERMg workspace (%lld elements per device): ", (long long)lwork);
      return status;
    }
    s->work_bytes[pos] = bytes;
  }
  return BUNMG_OK;
}

/* ---- the routines ---- */

typedef struct call {
  bunmg_mg *s;
  void *desc_a;
  void **a; /* array_d_A: the shards, in mesh order */
  int n, type;
  int32_t dtype;
} call;

static bunmg_status check_order(int64_t n, const char *what) {
  if (n < 1 || n > INT_MAX)
    return bunmg_fail(BUNMG_UNSUPPORTED, "cuSOLVERMg takes %s in 1..%d, got %lld", what, INT_MAX,
                      (long long)n);
  return BUNMG_OK;
}

static bunmg_status begin(bunmg_mesh *mesh, const bunmg_matrix *a, call *c) {
  bunmg_status status = check_order(a->rows, "N");
  if (status == BUNMG_OK && a->tile < 1)
    status = bunmg_fail(BUNMG_INVALID_ARGUMENT, "cyclic tile %lld", (long long)a->tile);
  /* The routines block the host but do not wait for our lane streams. */
  if (status == BUNMG_OK) status = bunmg_cuda_sync(mesh);
  if (status == BUNMG_OK) status = get_state(mesh, &c->s);
  if (status == BUNMG_OK) status = get_desc(c->s, a->rows, a->rows, a->tile, a->dtype, &c->desc_a);
  /* NVIDIA's samples call the routines with the first grid device current. */
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, 0);
  c->a = (void **)a->shards;
  c->n = (int)a->rows;
  c->dtype = a->dtype;
  c->type = bunmg_cuda_data_type(a->dtype);
  return status;
}

/* potrf and potri: size query, workspace, run. */
static bunmg_status factor(bunmg_mesh *mesh, const bunmg_matrix *a, factor_size_fn size_fn,
                           factor_fn run_fn, const char *name, int64_t *info) {
  char size_name[64];
  call c;
  int64_t lwork = 0;
  int h_info = 0;
  snprintf(size_name, sizeof size_name, "%s_bufferSize", name);
  bunmg_status status = begin(mesh, a, &c);
  if (status == BUNMG_OK)
    status = check(size_fn(c.s->handle, CUBLAS_FILL_MODE_LOWER, c.n, c.a, IA, JA, c.desc_a, c.type, &lwork),
                   size_name);
  if (status == BUNMG_OK) status = ensure_workspace(mesh, c.s, lwork, c.dtype);
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, 0);
  if (status == BUNMG_OK)
    status = check(run_fn(c.s->handle, CUBLAS_FILL_MODE_LOWER, c.n, c.a, IA, JA, c.desc_a, c.type, c.s->work,
                          lwork, &h_info),
                   name);
  if (status == BUNMG_OK) status = settle(mesh);
  if (status == BUNMG_OK) *info = h_info;
  return status;
}

/* The library is loaded first: mg.potrf_size etc. are read as arguments before factor() runs. */
bunmg_status bunmg_mg_potrf(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info) {
  bunmg_status status = load_library();
  return status != BUNMG_OK ? status
                            : factor(mesh, a, mg.potrf_size, mg.potrf, "cusolverMgPotrf", info);
}

bunmg_status bunmg_mg_potri(bunmg_mesh *mesh, const bunmg_matrix *a, int64_t *info) {
  bunmg_status status = load_library();
  return status != BUNMG_OK ? status
                            : factor(mesh, a, mg.potri_size, mg.potri, "cusolverMgPotri", info);
}

/* B (host, column-major n x nrhs) goes to one buffer on mesh position 0: with a column tile of
 * nrhs, all of B is on grid device 0, and the other positions' entries are never read. */
bunmg_status bunmg_mg_potrs(bunmg_mesh *mesh, const bunmg_matrix *a, void *b, int64_t nrhs,
                            int64_t *info) {
  call c;
  void *desc_b = NULL, *d_b = NULL, *array_b[BUNMG_MAX_DEVICES];
  size_t b_bytes = (size_t)a->rows * (size_t)nrhs * bunmg_dtype_size(a->dtype);
  int64_t lwork = 0;
  int h_info = 0;
  bunmg_status status = check_order(nrhs, "nrhs");
  if (status == BUNMG_OK) status = begin(mesh, a, &c);
  if (status == BUNMG_OK) status = get_desc(c.s, a->rows, nrhs, nrhs, a->dtype, &desc_b);
  if (status == BUNMG_OK) status = bunmg_held_alloc(mesh, 0, b_bytes, &d_b);
  if (status == BUNMG_OK) status = mesh->ops->copy(mesh, BUNMG_COPY_H2D, 0, d_b, -1, b, b_bytes);
  if (status == BUNMG_OK) {
    array_b[0] = d_b;
    for (int32_t pos = 1; pos < mesh->ndev; pos++) array_b[pos] = c.s->stub[pos];
    status = check(mg.potrs_size(c.s->handle, CUBLAS_FILL_MODE_LOWER, c.n, (int)nrhs, c.a, IA, JA, c.desc_a,
                                 array_b, IA, JA, desc_b, c.type, &lwork),
                   "cusolverMgPotrs_bufferSize");
  }
  if (status == BUNMG_OK) status = ensure_workspace(mesh, c.s, lwork, c.dtype);
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, 0);
  if (status == BUNMG_OK)
    status = check(mg.potrs(c.s->handle, CUBLAS_FILL_MODE_LOWER, c.n, (int)nrhs, c.a, IA, JA, c.desc_a, array_b,
                            IA, JA, desc_b, c.type, c.s->work, lwork, &h_info),
                   "cusolverMgPotrs");
  if (status == BUNMG_OK) status = settle(mesh);
  if (status == BUNMG_OK) status = mesh->ops->copy(mesh, BUNMG_COPY_D2H, -1, b, 0, d_b, b_bytes);
  if (status == BUNMG_OK) *info = h_info;
  bunmg_held_free(mesh, 0, &d_b, b_bytes);
  return status;
}

bunmg_status bunmg_mg_syevd(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t vectors, void *w,
                            int64_t *info) {
  call c;
  cusolverEigMode_t jobz = vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  int64_t lwork = 0;
  int h_info = 0;
  bunmg_status status = begin(mesh, a, &c);
  if (status == BUNMG_OK)
    status = check(mg.syevd_size(c.s->handle, jobz, CUBLAS_FILL_MODE_LOWER, c.n, c.a, IA, JA, c.desc_a, w,
                                 bunmg_cuda_real_type(c.dtype), c.type, &lwork),
                   "cusolverMgSyevd_bufferSize");
  if (status == BUNMG_OK) status = ensure_workspace(mesh, c.s, lwork, c.dtype);
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, 0);
  if (status == BUNMG_OK)
    status = check(mg.syevd(c.s->handle, jobz, CUBLAS_FILL_MODE_LOWER, c.n, c.a, IA, JA, c.desc_a, w,
                            bunmg_cuda_real_type(c.dtype), c.type, c.s->work, lwork, &h_info),
                   "cusolverMgSyevd");
  if (status == BUNMG_OK) status = settle(mesh);
  if (status == BUNMG_OK) *info = h_info;
  return status;
}

/* The per-device workspace a routine will ask for, from cuSOLVERMg's own queries: potrs and potri
 * run after potrf on the same workspace, so theirs is the larger of the two. The queries do not
 * read A or B, so the stubs stand in for them and nothing big is allocated. */
bunmg_status bunmg_mg_workspace_bytes(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype,
                                      int64_t tile, int64_t nrhs, uint64_t *bytes) {
  bunmg_mg *s = NULL;
  void *desc_a = NULL, *desc_b = NULL, *w = NULL;
  int type = bunmg_cuda_data_type(dtype);
  int64_t first = 0, second = 0;
  if (!bunmg_dtype_size(dtype) || tile < 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "workspace query: dtype %d, tile %lld", dtype,
                      (long long)tile);
  bunmg_status status = check_order(n, "N");
  if (status == BUNMG_OK && routine == BUNMG_ROUTINE_POTRS) status = check_order(nrhs, "nrhs");
  if (status == BUNMG_OK) status = get_state(mesh, &s);
  if (status == BUNMG_OK) status = get_desc(s, n, n, tile, dtype, &desc_a);
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, 0);
  if (status == BUNMG_OK && routine != BUNMG_ROUTINE_SYEVD)
    status = check(mg.potrf_size(s->handle, CUBLAS_FILL_MODE_LOWER, (int)n, s->stub, IA, JA, desc_a, type, &first),
                   "cusolverMgPotrf_bufferSize");
  if (status == BUNMG_OK && routine == BUNMG_ROUTINE_POTRS) {
    status = get_desc(s, n, nrhs, nrhs, dtype, &desc_b);
    if (status == BUNMG_OK)
      status = check(mg.potrs_size(s->handle, CUBLAS_FILL_MODE_LOWER, (int)n, (int)nrhs, s->stub, IA, JA, desc_a,
                                   s->stub, IA, JA, desc_b, type, &second),
                     "cusolverMgPotrs_bufferSize");
  } else if (status == BUNMG_OK && routine == BUNMG_ROUTINE_POTRI) {
    status = check(mg.potri_size(s->handle, CUBLAS_FILL_MODE_LOWER, (int)n, s->stub, IA, JA, desc_a, type, &second),
                   "cusolverMgPotri_bufferSize");
  } else if (status == BUNMG_OK && routine == BUNMG_ROUTINE_SYEVD) {
    w = malloc((size_t)n * bunmg_dtype_real_size(dtype)); /* host W, in case the query looks */
    if (!w) status = bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory");
    if (status == BUNMG_OK)
      status = check(mg.syevd_size(s->handle, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, (int)n, s->stub, IA, JA, desc_a,
                                   w, bunmg_cuda_real_type(dtype), type, &second),
                     "cusolverMgSyevd_bufferSize");
    free(w);
  } else if (status == BUNMG_OK) {
    status = bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  }
  if (status == BUNMG_OK)
    *bytes = (uint64_t)(first > second ? first : second) * bunmg_dtype_size(dtype);
  return status;
}
