/* The host backend: each logical device is host memory, copies are memcpy, solvers are LAPACK.
 * It runs every layer above the memory layer on a machine with no GPU. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/finite.h"
#include "host/fixup.h"
#include "host/solver.h"
#include "core/internal.h"
#include "host/lapack.h"

static bunmg_status host_init(bunmg_mesh *mesh) { return BUNMG_OK; }
static void host_shutdown(bunmg_mesh *mesh) {}

static uint64_t available_bytes(void) {
  return (uint64_t)sysconf(_SC_AVPHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
}

static bunmg_status host_alloc(bunmg_mesh *mesh, int32_t dev, size_t bytes, void **out) {
  *out = NULL;
  if (bunmg_fault_fires(mesh, BUNMG_FAULT_ALLOC)) return bunmg_injected_out_of_memory(mesh, dev, bytes);
  *out = malloc(bytes);
  if (!*out)
    return bunmg_fail_at(BUNMG_OUT_OF_MEMORY, -1, dev, "out of memory on host device %d: needed %zu bytes, %llu free",
                         dev, bytes, (unsigned long long)available_bytes());
  return BUNMG_OK;
}

static void host_release(bunmg_mesh *mesh, int32_t dev, void *ptr) { free(ptr); }

static bunmg_status host_memory_info(bunmg_mesh *mesh, int32_t dev, uint64_t *free_b, uint64_t *total) {
  *total = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  *free_b = available_bytes();
  return BUNMG_OK;
}

static bunmg_status host_copy(bunmg_mesh *mesh, bunmg_copy_kind kind, int32_t dst_dev, void *dst,
                              int32_t src_dev, const void *src, size_t bytes) {
  memmove(dst, src, bytes);
  return BUNMG_OK;
}

static bunmg_status host_gather(bunmg_mesh *mesh, int32_t dev, void *host_dst, const void *src, size_t elem,
                                size_t stride, size_t count) {
  for (size_t i = 0; i < count; i++) memcpy((char *)host_dst + i * elem, (const char *)src + i * stride, elem);
  return BUNMG_OK;
}

static bunmg_status host_scatter(bunmg_mesh *mesh, int32_t dev, void *dst, const void *host_src, size_t elem,
                                 size_t stride, size_t count) {
  for (size_t i = 0; i < count; i++) memcpy((char *)dst + i * stride, (const char *)host_src + i * elem, elem);
  return BUNMG_OK;
}

static bunmg_status host_copy_async(bunmg_mesh *mesh, int32_t lane, int32_t dst_dev, void *dst,
                                    int32_t src_dev, const void *src, size_t bytes) {
  memcpy(dst, src, bytes);
  return BUNMG_OK;
}

static bunmg_status host_sync(bunmg_mesh *mesh) { return BUNMG_OK; }

static bunmg_status host_find_nonfinite(bunmg_mesh *mesh, const bunmg_scan *scans, int32_t count, int64_t ld,
                                        int32_t dtype, int64_t *found) {
  for (int32_t i = 0; i < count; i++)
    found[i] = bunmg_first_nonfinite(dtype, scans[i].block, scans[i].rows, ld, scans[i].row0, 1);
  return BUNMG_OK;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bunmg_status host_bandwidth(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev, size_t bytes,
                                   int32_t repeats, int32_t both_ways, double *out) {
  char *a = malloc(bytes), *b = malloc(bytes);
  if (!a || !b) {
    free(a);
    free(b);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "copy_bandwidth: out of host memory for 2 x %zu bytes", bytes);
  }
  memset(a, 1, bytes);
  memset(b, 2, bytes);
  memcpy(b, a, bytes); /* warm-up: fault the pages in */
  double start = now_seconds();
  for (int32_t r = 0; r < repeats; r++) {
    memcpy(b, a, bytes);
    if (both_ways) memcpy(a, b, bytes);
  }
  double elapsed = now_seconds() - start;
  free(a);
  free(b);
  *out = (double)bytes * repeats * (both_ways ? 2 : 1) / (elapsed > 0 ? elapsed : 1e-9);
  return BUNMG_OK;
}

static bunmg_status host_fill(bunmg_mesh *mesh, const bunmg_matrix *m, int32_t kind, uint64_t seed) {
  bunmg_fill_host(m, mesh->ndev, kind, seed);
  return BUNMG_OK;
}

static bunmg_status host_fixup(bunmg_mesh *mesh, const bunmg_matrix *a, int32_t mode) {
  bunmg_fixup_host(a, mesh->ndev, mode);
  return BUNMG_OK;
}

static bunmg_status host_barrier(bunmg_mesh *mesh) { return BUNMG_OK; } /* every copy has landed already */

static int host_same_memory(const bunmg_mesh *mesh, int32_t a, int32_t b) { return 1; }

/* ---- the single-device solvers: LAPACK on the dense column-major matrix (lda = N), at once ---- */

static bunmg_status host_dense_scan(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype,
                                    int64_t *found) {
  *found = bunmg_first_nonfinite(dtype, a, n, n, 0, 1);
  return BUNMG_OK;
}

static bunmg_status host_dense_diagonal(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t ld, int64_t count,
                                        int32_t dtype, void *host) {
  size_t esize = bunmg_dtype_size(dtype);
  return host_gather(mesh, dev, host, a, esize, ((size_t)ld + 1) * esize, (size_t)count);
}

static bunmg_status host_dense_potrf(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info) {
  return bunmg_lapack_potrf(dtype, 'L', n, a, n, info);
}

static bunmg_status host_dense_potrs(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype,
                                     const void *b, void *x, int64_t nrhs, int64_t *info) {
  if (x != b) memcpy(x, b, (size_t)n * (size_t)nrhs * bunmg_dtype_size(dtype));
  return bunmg_lapack_potrs(dtype, 'L', n, nrhs, a, n, x, n, info);
}

static bunmg_status host_dense_solve_identity(bunmg_mesh *mesh, int32_t dev, const void *a, int64_t n, int32_t dtype,
                                              void *dst, int64_t first, int64_t count, int64_t *info) {
  size_t esize = bunmg_dtype_size(dtype);
  memset(dst, 0, (size_t)n * (size_t)count * esize);
  double one[2] = {1.0, 0.0};
  float onef[2] = {1.0f, 0.0f};
  for (int64_t j = 0; j < count; j++)
    memcpy((char *)dst + ((size_t)j * (size_t)n + (size_t)(first + j)) * esize,
           bunmg_dtype_real_size(dtype) == 4 ? (const void *)onef : (const void *)one, esize);
  return bunmg_lapack_potrs(dtype, 'L', n, count, a, n, dst, n, info);
}

static bunmg_status host_dense_potri(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int64_t *info) {
  return bunmg_lapack_potri(dtype, 'L', n, a, n, info);
}

static bunmg_status host_dense_syevd(bunmg_mesh *mesh, int32_t dev, void *a, int64_t n, int32_t dtype, int32_t vectors,
                                     void *w, int64_t *info) {
  return bunmg_lapack_syevd(dtype, vectors ? 'V' : 'N', 'L', n, a, n, w, info);
}

static bunmg_status host_dense_scatter(bunmg_mesh *mesh, int32_t dev, const void *a, const bunmg_matrix *m, int32_t mode,
                                       const int64_t *found) {
  if (*found >= 0) return BUNMG_OK;
  size_t row = (size_t)m->cols * bunmg_dtype_size(m->dtype);
  int64_t s = bunmg_shard_rows(m->rows, mesh->ndev);
  for (int32_t d = 0; d < mesh->ndev; d++) {
    int64_t count = bunmg_shard_count(m->rows, mesh->ndev, d);
    if (count > 0) memcpy(m->shards[d], (const char *)a + (size_t)(d * s) * row, (size_t)count * row);
  }
  bunmg_fixup_host(m, mesh->ndev, mode);
  return BUNMG_OK;
}

static bunmg_status host_dense_wait(bunmg_mesh *mesh, int32_t dev) { return BUNMG_OK; }

/* potrs: the column-major copy of B; syevd: LAPACK's workspace with eigenvectors; potri: none. */
static bunmg_status host_dense_workspace(bunmg_mesh *mesh, int32_t dev, int32_t routine, int64_t n, int32_t dtype,
                                         int64_t nrhs, uint64_t *bytes) {
  *bytes = 0;
  if (routine == BUNMG_ROUTINE_SYEVD) return bunmg_lapack_syevd_workspace(dtype, 'V', n, bytes);
  if (routine == BUNMG_ROUTINE_POTRS) *bytes = (uint64_t)n * (uint64_t)nrhs * bunmg_dtype_size(dtype);
  return BUNMG_OK;
}

const bunmg_backend_ops bunmg_host_ops = {
    .name = "host",
    .init = host_init,
    .shutdown = host_shutdown,
    .lanes_per_device = 1,
    .keep_dense_bytes = 0, /* malloc is cheap */
    .alloc = host_alloc,
    .release = host_release,
    .memory_info = host_memory_info,
    .copy = host_copy,
    .gather_strided = host_gather,
    .scatter_strided = host_scatter,
    .copy_async = host_copy_async,
    .sync = host_sync,
    .bandwidth = host_bandwidth,
    .find_nonfinite = host_find_nonfinite,
    .fill = host_fill,
    .fixup = host_fixup,
    .barrier = host_barrier,
    .same_memory = host_same_memory,
    .potrf = bunmg_host_potrf,
    .potrs = bunmg_host_potrs,
    .potri = bunmg_host_potri,
    .syevd = bunmg_host_syevd,
    .workspace_bytes = bunmg_host_workspace_bytes,
    .dense_scan = host_dense_scan,
    .dense_diagonal = host_dense_diagonal,
    .dense_potrf = host_dense_potrf,
    .dense_potrs = host_dense_potrs,
    .dense_solve_identity = host_dense_solve_identity,
    .dense_potri = host_dense_potri,
    .dense_syevd = host_dense_syevd,
    .dense_scatter = host_dense_scatter,
    .dense_wait = host_dense_wait,
    .dense_workspace = host_dense_workspace,
};
