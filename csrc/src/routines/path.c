/* Which path a routine takes. "multi" spreads the matrix over every position of the mesh
 * (cuSOLVERMg after the redistribution into the cyclic layout); "single" gathers the row shards
 * into one dense buffer on mesh position 0 (peer copies) and solves there (cuSOLVERDn; LAPACK on
 * the host backend). AUTO's rule, from measurements on 2 x H200 (NVLink, CUDA 13.0):
 *  - syevd: cuSOLVERMg's eigensolver is slower on two GPUs than cuSOLVERDn's on one (f64
 *    N = 16384: 5.52 s vs 3.17 s; f32: 5.03 s vs 2.52 s): one GPU whenever the problem fits there
 *    and cuSOLVERDn accepts N (its workspace query fails beyond about N = 25000).
 *  - potrs / potri: cuSOLVERMg wins only on large matrices (potrf f64 N = 32768: 0.180 s on two
 *    GPUs (T = 1024) vs 0.246 s on one; N = 65536: 1.14 s vs 1.93 s), and at N = 16384 the two are
 *    even; below that the redistribution and the multi-GPU overheads dominate: one GPU for
 *    N < 16384 when it fits, every GPU from N = 16384 on.
 *  - A mesh of one distinct GPU (e.g. [0, 0]) gains nothing from cuSOLVERMg: one GPU whenever it
 *    fits. "Fits": N x N plus cuSOLVERDn's workspace (its own size query) plus 5% within position
 *    0's free memory.
 *  - The host backend keeps the multi path (both run LAPACK in the same memory); "single" can
 *    still be asked for, and is tested, there. */
#include <stdio.h>
#include <string.h>

#include "core/tiles.h"
#include "routines/routines.h"

enum { SINGLE_CHOLESKY_MAX_N = 16384 };
#define MEMORY_MARGIN 1.05
/* Below this, asking the device for its free memory costs more than a doomed try, which auto's
 * fallback catches anyway. */
#define SMALL_NEED_BYTES ((uint64_t)64 << 20)

static const char *const routine_names[] = {"potrs", "potri", "syevd"};

bunmg_status bunmg_check_options(const bunmg_options *options, int32_t routine, int64_t n, int64_t *tile) {
  if (!options) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "options are NULL");
  if (options->path < BUNMG_PATH_AUTO || options->path > BUNMG_PATH_MULTI)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown path %d (AUTO 0, SINGLE 1, MULTI 2)", options->path);
  if (options->fallback != 0 && options->fallback != 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "fallback must be 0 or 1, got %d", options->fallback);
  if (options->keep != 0 && options->keep != 1)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "keep must be 0 or 1, got %d", options->keep);
  int64_t most = bunmg_max_tile_of(routine);
  if (options->tile < 0 || options->tile > most)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "tile size must be in 1..%lld (0: the default), got %lld",
                      (long long)most, (long long)options->tile);
  *tile = options->tile ? options->tile : bunmg_default_tile_of(routine, n);
  return BUNMG_OK;
}

static int lasting(bunmg_status st) { return st == BUNMG_UNSUPPORTED || st == BUNMG_LIBRARY_NOT_FOUND; }

bunmg_status bunmg_dense_workspace_of(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                                      uint64_t *bytes) {
  struct bunmg_dense_answer *answers = mesh->dense_answers;
  const size_t count = sizeof mesh->dense_answers / sizeof *answers;
  for (size_t i = 0; i < count; i++) {
    struct bunmg_dense_answer a = answers[i];
    if (a.n == n && a.routine == routine && a.dtype == dtype && a.nrhs == nrhs) {
      if (a.status != BUNMG_OK)
        return bunmg_fail(a.status, "the single-device %s is not available for N = %lld (asked before)",
                          routine_names[routine], (long long)n);
      *bytes = a.bytes;
      return BUNMG_OK;
    }
  }
  uint64_t answer = 0;
  bunmg_status st = mesh->ops->dense_workspace(mesh, BUNMG_SINGLE_POSITION, routine, n, dtype, nrhs, &answer);
  if (st != BUNMG_OK && !lasting(st)) return st; /* transient: asked again next time */
  memmove(&answers[1], &answers[0], sizeof *answers * (count - 1));
  answers[0] = (struct bunmg_dense_answer){routine, dtype, n, nrhs, st, answer};
  if (st == BUNMG_OK) *bytes = answer;
  return st;
}

static int32_t distinct_gpus(const bunmg_mesh *mesh) {
  int32_t count = 0;
  for (int32_t pos = 0; pos < mesh->ndev; pos++) {
    int seen = 0;
    for (int32_t q = 0; q < pos && !seen; q++) seen = mesh->device_ids[q] == mesh->device_ids[pos];
    count += !seen;
  }
  return count;
}

static double gib(uint64_t bytes) { return (double)bytes / (double)(1ull << 30); }

static bunmg_status choose(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs, int32_t *path,
                           char *reason, size_t len) {
  const char *name = routine_names[routine];
  if (mesh->backend == BUNMG_BACKEND_HOST) {
    *path = BUNMG_PATH_MULTI;
    snprintf(reason, len, "host backend: auto keeps the multi-device path (the choice is for GPUs)");
    return BUNMG_OK;
  }
  int32_t gpus = distinct_gpus(mesh);
  if (gpus > 1 && routine != BUNMG_ROUTINE_SYEVD && n >= SINGLE_CHOLESKY_MAX_N) {
    *path = BUNMG_PATH_MULTI;
    snprintf(reason, len,
             "%s with N = %lld >= %d on %d GPUs: cuSOLVERMg's Cholesky scales (potrf f64 N = 32768: 0.180 s on "
             "2 x H200 vs 0.246 s on one)",
             name, (long long)n, SINGLE_CHOLESKY_MAX_N, gpus);
    return BUNMG_OK;
  }
  uint64_t workspace = 0;
  bunmg_status st = bunmg_dense_workspace_of(mesh, routine, n, dtype, nrhs, &workspace);
  if (st != BUNMG_OK) {
    if (!lasting(st)) return st;
    *path = BUNMG_PATH_MULTI;
    snprintf(reason, len, "the single-device %s is not available for N = %lld (%s)", name, (long long)n,
             bunmg_last_error());
    bunmg_clear_error();
    return BUNMG_OK;
  }
  uint64_t need = (uint64_t)((double)((uint64_t)n * (uint64_t)n * bunmg_dtype_size(dtype) + workspace) * MEMORY_MARGIN);
  uint64_t free_b = 0, total = 0;
  if (need > SMALL_NEED_BYTES && (st = mesh->ops->memory_info(mesh, BUNMG_SINGLE_POSITION, &free_b, &total)) != BUNMG_OK)
    return st;
  if (need > SMALL_NEED_BYTES && need > free_b + mesh->dense_bytes) { /* the kept buffer would be reused */
    *path = BUNMG_PATH_MULTI;
    snprintf(reason, len,
             "one GPU is too small: the single path needs %.2f GiB on position 0 (matrix, workspace and 5%%), %.2f "
             "GiB free",
             gib(need), gib(free_b));
    return BUNMG_OK;
  }
  *path = BUNMG_PATH_SINGLE;
  if (gpus == 1)
    snprintf(reason, len, "one GPU in the mesh: cuSOLVERDn on it beats cuSOLVERMg over logical devices");
  else if (routine == BUNMG_ROUTINE_SYEVD)
    snprintf(reason, len,
             "syevd: cuSOLVERDn on one GPU beats cuSOLVERMg on several (f64 N = 16384 on 2 x H200: 3.17 s vs 5.52 s; "
             "f32: 2.52 s vs 5.03 s)");
  else
    snprintf(reason, len,
             "%s with N = %lld < %d: one GPU beats cuSOLVERMg's redistribution and multi-GPU overheads (cuSOLVERMg "
             "wins from N = 32768 on)",
             name, (long long)n, SINGLE_CHOLESKY_MAX_N);
  return BUNMG_OK;
}

bunmg_status bunmg_path_for(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                            int32_t requested, int32_t *path, char *reason, size_t reason_len) {
  static const char *const requested_names[] = {"auto", "single", "multi"};
  if (requested != BUNMG_PATH_AUTO) {
    *path = requested;
    snprintf(reason, reason_len, "\"%s\" was requested", requested_names[requested]);
    return BUNMG_OK;
  }
  return choose(mesh, routine, n, dtype, nrhs, path, reason, reason_len);
}

bunmg_status bunmg_choose_path(bunmg_mesh *mesh, int32_t routine, int64_t n, int32_t dtype, int64_t nrhs,
                               const bunmg_options *options, int32_t *path, char *reason, int64_t reason_len) {
  bunmg_status st = bunmg_mesh_enter(mesh, "choose_path");
  if (st != BUNMG_OK) return st;
  char scratch[8];
  int64_t tile;
  if (routine < BUNMG_ROUTINE_POTRS || routine > BUNMG_ROUTINE_SYEVD)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown routine %d", routine);
  else if (!bunmg_dtype_size(dtype))
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown dtype %d", dtype);
  else if (n < 1 || n > BUNMG_MAX_EXTENT)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "n must be in 1..2^40, got %lld", (long long)n);
  else if (nrhs < 1)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "nrhs must be >= 1, got %lld", (long long)nrhs);
  else if (!path)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "path output is NULL");
  else if ((st = bunmg_check_options(options, routine, n, &tile)) == BUNMG_OK)
    st = bunmg_path_for(mesh, routine, n, dtype, nrhs, options->path, path, reason && reason_len > 0 ? reason : scratch,
                        reason && reason_len > 0 ? (size_t)reason_len : sizeof scratch);
  if (st != BUNMG_OK) bunmg_error_prefix("choose_path: ");
  bunmg_mesh_leave(mesh);
  return st;
}
