/* The dense ops (bunmg_backend_ops.dense_*) over cuSOLVERDn, loaded at run time (loader.c) like
 * cuSOLVERMg. Per mesh position, made on its first dense call: one handle bound to the position's
 * lane-0 stream, one params object, grow-only device buffers (workspace, right-hand sides, a
 * packed diagonal; accounted in mesh->held), a grow-only host workspace, a small device block
 * for devInfo and the scan's answer, and a pinned mailbox. The routines only queue work: their
 * small host outputs (info, diagonal, X, eigenvalues) land in the mailbox, and dense_wait, the
 * one host wait of a pass, hands them over. So a whole potrs (gather, scan, potrf, diagonal,
 * potrs) costs one wait, and nothing is allocated once the buffers have grown.
 *
 * The function pointers take their types from NVIDIA's cusolverDn.h (the 64-bit cusolverDnX* API;
 * potri exists only in the legacy typed API), so a call that does not match the header's
 * signature does not compile. */
#include <limits.h>
#include <stdlib.h>

#include <cusolverDn.h>

#include "cuda/mailbox.h"

/* ---- the library ---- */

static struct {
  __typeof__(cusolverDnCreate) *create;
  __typeof__(cusolverDnDestroy) *destroy;
  __typeof__(cusolverDnSetStream) *set_stream;
  __typeof__(cusolverDnCreateParams) *create_params;
  __typeof__(cusolverDnDestroyParams) *destroy_params;
  __typeof__(cusolverDnXpotrf_bufferSize) *potrf_size;
  __typeof__(cusolverDnXpotrf) *potrf;
  __typeof__(cusolverDnXpotrs) *potrs;
  __typeof__(cusolverDnXsyevd_bufferSize) *syevd_size;
  __typeof__(cusolverDnXsyevd) *syevd;
  __typeof__(cusolverDnSpotri_bufferSize) *spotri_size;
  __typeof__(cusolverDnDpotri_bufferSize) *dpotri_size;
  __typeof__(cusolverDnCpotri_bufferSize) *cpotri_size;
  __typeof__(cusolverDnZpotri_bufferSize) *zpotri_size;
  __typeof__(cusolverDnSpotri) *spotri;
  __typeof__(cusolverDnDpotri) *dpotri;
  __typeof__(cusolverDnCpotri) *cpotri;
  __typeof__(cusolverDnZpotri) *zpotri;
} dn;

static const bunmg_symbol symbols[] = {
    {"cusolverDnCreate", &dn.create},
    {"cusolverDnDestroy", &dn.destroy},
    {"cusolverDnSetStream", &dn.set_stream},
    {"cusolverDnCreateParams", &dn.create_params},
    {"cusolverDnDestroyParams", &dn.destroy_params},
    {"cusolverDnXpotrf_bufferSize", &dn.potrf_size},
    {"cusolverDnXpotrf", &dn.potrf},
    {"cusolverDnXpotrs", &dn.potrs},
    {"cusolverDnXsyevd_bufferSize", &dn.syevd_size},
    {"cusolverDnXsyevd", &dn.syevd},
    {"cusolverDnSpotri_bufferSize", &dn.spotri_size},
    {"cusolverDnDpotri_bufferSize", &dn.dpotri_size},
    {"cusolverDnCpotri_bufferSize", &dn.cpotri_size},
    {"cusolverDnZpotri_bufferSize", &dn.zpotri_size},
    {"cusolverDnSpotri", &dn.spotri},
    {"cusolverDnDpotri", &dn.dpotri},
    {"cusolverDnCpotri", &dn.cpotri},
    {"cusolverDnZpotri", &dn.zpotri},
};

enum { POTRI_SIZE_SYMBOL = 10, POTRI_SYMBOL = 14 }; /* their first entries above (by dtype), for messages */

static bunmg_library library = {"cuSOLVERDn", "BUNMG_CUSOLVER", "libcusolver", symbols,
                                 sizeof symbols / sizeof *symbols, 0, NULL, NULL, NULL};
bunmg_library *const bunmg_cusolverdn_library = &library; /* for bunmg doctor (probe.c) */

/* ---- per-position state ---- */

enum { SCRATCH_BYTES = 256, FOUND_OFFSET = 64, ALIGN = 256 };

typedef struct grown {
  void *ptr;
  size_t bytes;
} grown;

typedef struct dn_position {
  cusolverDnHandle_t handle;
  cusolverDnParams_t params;
  grown work;   /* cuSOLVERDn's device workspace (eigenvalues after it for syevd) */
  grown rhs;    /* B, solved into X */
  grown packed; /* a diagonal, packed for one contiguous copy */
  void *host_work;
  size_t host_bytes;
  /* devInfo at 0, the scan's answer at FOUND_OFFSET; also a valid device pointer for the size
   * queries' matrix arguments (never read) */
  void *scratch;
  bunmg_mailbox mail;
} dn_position;

struct bunmg_dn {
  dn_position at[BUNMG_MAX_DEVICES];
};

void bunmg_dn_destroy(bunmg_mesh *mesh) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  bunmg_dn *s = st ? st->dn : NULL;
  if (!s) return;
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    dn_position *p = &s->at[pos];
    if (cudaSetDevice(mesh->device_ids[pos]) == cudaSuccess && p->handle) (void)cudaStreamSynchronize(st->lane[pos][0]);
    if (p->params) (void)dn.destroy_params(p->params);
    if (p->handle) (void)dn.destroy(p->handle);
    bunmg_held_free(mesh, pos, &p->work.ptr, p->work.bytes);
    bunmg_held_free(mesh, pos, &p->rhs.ptr, p->rhs.bytes);
    bunmg_held_free(mesh, pos, &p->packed.ptr, p->packed.bytes);
    bunmg_held_free(mesh, pos, &p->scratch, SCRATCH_BYTES);
    free(p->host_work);
    bunmg_mail_free(&p->mail);
  }
  (void)cudaGetLastError();
  free(s);
  st->dn = NULL;
}

static cudaStream_t stream_of(const bunmg_mesh *mesh, int32_t pos) {
  return bunmg_cuda_state_of(mesh)->lane[pos][0];
}

/* The position's handle (made on first use, with the device current) and the device current. */
static bunmg_status get_position(bunmg_mesh *mesh, int32_t pos, dn_position **out) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  bunmg_status status = bunmg_library_load(&library);
  if (status != BUNMG_OK) return status;
  if (!st->dn && !(st->dn = calloc(1, sizeof *st->dn)))
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the cuSOLVERDn state");
  dn_position *p = &st->dn->at[pos];
  status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK || p->handle) {
    *out = p;
    return status;
  }
  cusolverDnHandle_t handle = NULL;
  status = bunmg_cusolver_check(dn.create(&handle), "cusolverDnCreate");
  if (status == BUNMG_OK) p->handle = handle; /* from here bunmg_dn_destroy releases it */
  if (status == BUNMG_OK) status = bunmg_cusolver_check(dn.set_stream(handle, stream_of(mesh, pos)), "cusolverDnSetStream");
  if (status == BUNMG_OK) status = bunmg_cusolver_check(dn.create_params(&p->params), "cusolverDnCreateParams");
  if (status == BUNMG_OK) status = bunmg_held_alloc(mesh, pos, SCRATCH_BYTES, &p->scratch);
  if (status == BUNMG_OK) status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK) { /* a position is usable whole or not at all: try again next time */
    if (p->params) (void)dn.destroy_params(p->params);
    if (p->handle) (void)dn.destroy(p->handle);
    p->params = NULL;
    p->handle = NULL;
    bunmg_held_free(mesh, pos, &p->scratch, SCRATCH_BYTES);
    (void)cudaGetLastError();
  }
  *out = p;
  return status;
}

static size_t aligned(size_t bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

/* A grow-only device buffer of at least `bytes` (at least ALIGN, so it is a valid pointer). Work
 * queued on the old buffer is safe: cudaFree waits for the device. Leaves the device current. */
static bunmg_status grow(bunmg_mesh *mesh, int32_t pos, grown *g, size_t bytes, const char *what) {
  if (bytes < ALIGN) bytes = ALIGN;
  if (g->bytes >= bytes) return BUNMG_OK;
  bunmg_held_free(mesh, pos, &g->ptr, g->bytes); /* free first: room for the new one */
  g->bytes = 0;
  bunmg_status status = bunmg_held_alloc(mesh, pos, bytes, &g->ptr);
  if (status != BUNMG_OK) {
    bunmg_error_prefix("cuSOLVERDn %s (%zu bytes): ", what, bytes);
    return status;
  }
  g->bytes = bytes;
  return bunmg_cuda_use(mesh, pos);
}

static bunmg_status grow_host(dn_position *p, size_t bytes) {
  if (p->host_bytes >= bytes) return BUNMG_OK;
  void *bigger = realloc(p->host_work, bytes);
  if (!bigger)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for cuSOLVERDn's host workspace (%zu bytes)", bytes);
  p->host_work = bigger;
  p->host_bytes = bytes;
  return BUNMG_OK;
}

/* Before a routine: its position, with the device current. Copies on other lanes are ordered
 * before it by the caller's barrier. */
static bunmg_status begin(bunmg_mesh *mesh, int32_t pos, int64_t n, dn_position **p) {
  if (n < 1) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "N must be >= 1, got %lld", (long long)n);
  return get_position(mesh, pos, p);
}

/* devInfo of the call just queued, into *info at the wait. */
static bunmg_status fetch_info(bunmg_mesh *mesh, int32_t pos, dn_position *p, int64_t *info) {
  return bunmg_mail_fetch(mesh, pos, &p->mail, stream_of(mesh, pos), info, p->scratch, sizeof(int), BUNMG_MAIL_INFO);
}

bunmg_status bunmg_dn_wait(bunmg_mesh *mesh, int32_t dev) {
  bunmg_cuda_state *st = bunmg_cuda_state_of(mesh);
  if (!st->dn) return BUNMG_OK; /* nothing was ever queued */
  return bunmg_mail_deliver(mesh, dev, &st->dn->at[dev].mail, stream_of(mesh, dev));
}

/* ---- the routines (column-major, lda = n, lower triangle) ---- */

bunmg_status bunmg_dn_scan(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, int64_t *found) {
  dn_position *p = NULL;
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status != BUNMG_OK) return status;
  unsigned long long *slot = (unsigned long long *)((char *)p->scratch + FOUND_OFFSET);
  bunmg_scan scan = {dev, a, n, 0};
  status = bunmg_cuda_scan_async(mesh, &scan, n, dtype, slot, stream_of(mesh, dev));
  return status != BUNMG_OK ? status
                            : bunmg_mail_fetch(mesh, dev, &p->mail, stream_of(mesh, dev), found, slot, sizeof *slot,
                                               BUNMG_MAIL_FOUND);
}

/* Strided device to host costs one small DMA per element: pack on the device first. */
bunmg_status bunmg_dn_diagonal(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t ld, int64_t count, int32_t dtype,
                               void *host) {
  dn_position *p = NULL;
  size_t esize = bunmg_dtype_size(dtype), bytes = (size_t)count * esize;
  bunmg_status status = begin(mesh, dev, count, &p);
  if (status == BUNMG_OK) status = grow(mesh, dev, &p->packed, bytes, "diagonal");
  if (status == BUNMG_OK)
    status = bunmg_cuda_check(mesh, dev, "cudaMemcpy2DAsync",
                              cudaMemcpy2DAsync(p->packed.ptr, esize, a, ((size_t)ld + 1) * esize, esize, (size_t)count,
                                                cudaMemcpyDeviceToDevice, stream_of(mesh, dev)));
  return status != BUNMG_OK ? status
                            : bunmg_mail_fetch(mesh, dev, &p->mail, stream_of(mesh, dev), host, p->packed.ptr, bytes,
                                               BUNMG_MAIL_BYTES);
}

static bunmg_status potrf_size(dn_position *p, const void *a, int64_t n, int32_t dtype, size_t *device_bytes,
                               size_t *host_bytes) {
  int type = bunmg_cuda_data_type(dtype);
  return bunmg_cusolver_check(dn.potrf_size(p->handle, p->params, CUBLAS_FILL_MODE_LOWER, n, type, a, n, type, device_bytes, host_bytes),
                              "cusolverDnXpotrf_bufferSize");
}

bunmg_status bunmg_dn_potrf(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info) {
  dn_position *p = NULL;
  size_t device_bytes = 0, host_bytes = 0;
  int type = bunmg_cuda_data_type(dtype);
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status == BUNMG_OK) status = potrf_size(p, a, n, dtype, &device_bytes, &host_bytes);
  if (status == BUNMG_OK) status = grow(mesh, dev, &p->work, device_bytes, "workspace");
  if (status == BUNMG_OK) status = grow_host(p, host_bytes);
  if (status == BUNMG_OK)
    status = bunmg_cusolver_check(dn.potrf(p->handle, p->params, CUBLAS_FILL_MODE_LOWER, n, type, a, n, type, p->work.ptr, device_bytes,
                                           p->host_work, host_bytes, p->scratch),
                                  "cusolverDnXpotrf");
  return status == BUNMG_OK ? fetch_info(mesh, dev, p, info) : status;
}

/* potrs with B in device memory (ld n), in place. */
static bunmg_status potrs_device(bunmg_mesh *mesh, int32_t dev, dn_position *p, const void *a, int64_t n,
                                 int32_t dtype, void *b, int64_t nrhs, int64_t *info) {
  int type = bunmg_cuda_data_type(dtype);
  bunmg_status status = bunmg_cusolver_check(
      dn.potrs(p->handle, p->params, CUBLAS_FILL_MODE_LOWER, n, nrhs, type, a, n, type, b, n, p->scratch), "cusolverDnXpotrs");
  return status == BUNMG_OK ? fetch_info(mesh, dev, p, info) : status;
}

/* B (host, column-major n x nrhs) goes up through the mailbox, X comes down through it. */
bunmg_status bunmg_dn_potrs(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, const void *b,
                            void *x, int64_t nrhs, int64_t *info) {
  dn_position *p = NULL;
  size_t bytes = (size_t)n * (size_t)nrhs * bunmg_dtype_size(dtype);
  cudaStream_t stream = stream_of(mesh, dev);
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status == BUNMG_OK) status = grow(mesh, dev, &p->rhs, bytes, "right-hand sides");
  if (status == BUNMG_OK) status = bunmg_mail_send(mesh, dev, &p->mail, stream, p->rhs.ptr, b, bytes);
  if (status == BUNMG_OK) status = potrs_device(mesh, dev, p, a, n, dtype, p->rhs.ptr, nrhs, info);
  return status == BUNMG_OK ? bunmg_mail_fetch(mesh, dev, &p->mail, stream, x, p->rhs.ptr, bytes, BUNMG_MAIL_BYTES)
                            : status;
}

bunmg_status bunmg_dn_solve_identity(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype, void *dst,
                                     int64_t first, int64_t count, int64_t *info) {
  dn_position *p = NULL;
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status == BUNMG_OK) status = bunmg_cuda_set_identity(mesh, dev, dst, n, first, count, dtype, stream_of(mesh, dev));
  return status == BUNMG_OK ? potrs_device(mesh, dev, p, a, n, dtype, dst, count, info) : status;
}

static bunmg_status potri_order(int64_t n) {
  if (n > INT_MAX)
    return bunmg_fail(BUNMG_UNSUPPORTED, "cuSOLVERDn's potri takes N up to %d, got %lld", INT_MAX, (long long)n);
  return BUNMG_OK;
}

/* The typed potri of dtype (n already checked against INT_MAX). */
static cusolverStatus_t potri_size_typed(dn_position *p, int32_t dtype, void *a, int n, int *lwork) {
  const cublasFillMode_t lower = CUBLAS_FILL_MODE_LOWER;
  switch (dtype) {
  case BUNMG_FLOAT32: return dn.spotri_size(p->handle, lower, n, a, n, lwork);
  case BUNMG_FLOAT64: return dn.dpotri_size(p->handle, lower, n, a, n, lwork);
  case BUNMG_COMPLEX64: return dn.cpotri_size(p->handle, lower, n, a, n, lwork);
  default: return dn.zpotri_size(p->handle, lower, n, a, n, lwork);
  }
}

static cusolverStatus_t potri_typed(dn_position *p, int32_t dtype, void *a, int n, void *work, int lwork, int *info) {
  const cublasFillMode_t lower = CUBLAS_FILL_MODE_LOWER;
  switch (dtype) {
  case BUNMG_FLOAT32: return dn.spotri(p->handle, lower, n, a, n, work, lwork, info);
  case BUNMG_FLOAT64: return dn.dpotri(p->handle, lower, n, a, n, work, lwork, info);
  case BUNMG_COMPLEX64: return dn.cpotri(p->handle, lower, n, a, n, work, lwork, info);
  default: return dn.zpotri(p->handle, lower, n, a, n, work, lwork, info);
  }
}

static bunmg_status potri_size(dn_position *p, void *a, int64_t n, int32_t dtype, size_t *bytes) {
  int lwork = 0;
  bunmg_status status = potri_order(n);
  if (status == BUNMG_OK)
    status = bunmg_cusolver_check(potri_size_typed(p, dtype, a, (int)n, &lwork), symbols[POTRI_SIZE_SYMBOL + dtype].name);
  if (status == BUNMG_OK) *bytes = (size_t)(lwork > 0 ? lwork : 0) * bunmg_dtype_size(dtype);
  return status;
}

bunmg_status bunmg_dn_potri(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info) {
  dn_position *p = NULL;
  size_t bytes = 0;
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status == BUNMG_OK) status = potri_size(p, a, n, dtype, &bytes);
  if (status == BUNMG_OK) status = grow(mesh, dev, &p->work, bytes, "workspace");
  if (status == BUNMG_OK)
    status = bunmg_cusolver_check(
        potri_typed(p, dtype, a, (int)n, p->work.ptr, (int)(bytes / bunmg_dtype_size(dtype)), p->scratch),
        symbols[POTRI_SYMBOL + dtype].name);
  return status == BUNMG_OK ? fetch_info(mesh, dev, p, info) : status;
}

/* cusolverDnXsyevd's size query is reported to fail beyond about N = 25000: that is
 * UNSUPPORTED (the caller can take the multi-device path), not a solver failure. */
static bunmg_status syevd_size(dn_position *p, cusolverEigMode_t jobz, const void *a, int64_t n, int32_t dtype, const void *w,
                               size_t *device_bytes, size_t *host_bytes) {
  int type = bunmg_cuda_data_type(dtype);
  int s = dn.syevd_size(p->handle, p->params, jobz, CUBLAS_FILL_MODE_LOWER, n, type, a, n, bunmg_cuda_real_type(dtype), w, type,
                        device_bytes, host_bytes);
  if (s == 0) return BUNMG_OK;
  (void)cudaGetLastError();
  return bunmg_fail(BUNMG_UNSUPPORTED,
                    "cusolverDnXsyevd_bufferSize failed for N = %lld (%s, %d): the single-device eigensolver cannot "
                    "take this N; use the multi-device path",
                    (long long)n, bunmg_cusolver_status_name(s), s);
}

/* W (n reals) lives on the device after the workspace, in the same grow-only buffer. */
bunmg_status bunmg_dn_syevd(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int32_t vectors,
                            void *w, int64_t *info) {
  dn_position *p = NULL;
  size_t device_bytes = 0, host_bytes = 0, w_bytes = (size_t)n * bunmg_dtype_real_size(dtype);
  cudaDataType type = bunmg_cuda_data_type(dtype);
  cusolverEigMode_t jobz = vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  bunmg_status status = begin(mesh, dev, n, &p);
  if (status == BUNMG_OK) status = syevd_size(p, jobz, a, n, dtype, p->scratch, &device_bytes, &host_bytes);
  if (status == BUNMG_OK) status = grow(mesh, dev, &p->work, aligned(device_bytes) + w_bytes, "workspace");
  if (status == BUNMG_OK) status = grow_host(p, host_bytes);
  char *d_w = status == BUNMG_OK ? (char *)p->work.ptr + aligned(device_bytes) : NULL;
  if (status == BUNMG_OK)
    status = bunmg_cusolver_check(dn.syevd(p->handle, p->params, jobz, CUBLAS_FILL_MODE_LOWER, n, type, a, n, bunmg_cuda_real_type(dtype),
                                           d_w, type, p->work.ptr, device_bytes, p->host_work, host_bytes, p->scratch),
                                  "cusolverDnXsyevd");
  if (status == BUNMG_OK) status = fetch_info(mesh, dev, p, info);
  return status == BUNMG_OK
             ? bunmg_mail_fetch(mesh, dev, &p->mail, stream_of(mesh, dev), w, d_w, w_bytes, BUNMG_MAIL_BYTES)
             : status;
}

/* Guarded by the answer of the position's last scan, still on the device. */
bunmg_status bunmg_dn_scatter(bunmg_mesh *mesh, int32_t dev, const void *a, const bunmg_matrix *m, int32_t mode,
                              const int64_t *found) {
  (void)found; /* arrives with the wait: the kernel reads the device copy */
  dn_position *p = NULL;
  bunmg_status status = begin(mesh, dev, m->rows, &p);
  const unsigned long long *guard = (const unsigned long long *)((const char *)p->scratch + FOUND_OFFSET);
  return status != BUNMG_OK ? status : bunmg_cuda_scatter(mesh, dev, a, m, mode, guard, stream_of(mesh, dev));
}

/* Device bytes a routine allocates beyond the matrix, from cuSOLVERDn's own queries (which do
 * not read their matrix arguments: the scratch block stands in). potri runs after potrf on the
 * same workspace, so it needs the larger of the two; potrs adds its copy of B. */
bunmg_status bunmg_dn_workspace(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype,
                                int64_t nrhs, uint64_t *bytes) {
  dn_position *p = NULL;
  size_t first = 0, second = 0, host = 0;
  bunmg_status status = get_position(mesh, dev, &p);
  if (status == BUNMG_OK && routine == BUNMG_ROUTINE_SYEVD) {
    status = syevd_size(p, CUSOLVER_EIG_MODE_VECTOR, p->scratch, n, dtype, p->scratch, &first, &host);
    if (status == BUNMG_OK) first = aligned(first) + (size_t)n * bunmg_dtype_real_size(dtype);
  } else if (status == BUNMG_OK) {
    status = potrf_size(p, p->scratch, n, dtype, &first, &host);
    if (status == BUNMG_OK && routine == BUNMG_ROUTINE_POTRI) status = potri_size(p, p->scratch, n, dtype, &second);
    if (status == BUNMG_OK && routine == BUNMG_ROUTINE_POTRS) second = (size_t)n * (size_t)nrhs * bunmg_dtype_size(dtype);
    if (routine == BUNMG_ROUTINE_POTRI) first = first > second ? first : second;
    else first += second;
  }
  if (status == BUNMG_OK) *bytes = first;
  return status;
}
