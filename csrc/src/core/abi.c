/* The ABI's numbers, pinned: the bindings (lib/abi.ts) declare the same struct offsets, enum
 * values and limits, so a change here that they do not follow fails to compile. */
#include <stddef.h>

#include "core/internal.h"

int32_t bunmg_abi_version(void) { return BUNMG_ABI_VERSION; }

_Static_assert(BUNMG_ABI_VERSION == 8, "lib/abi.ts ABI_VERSION");
_Static_assert(BUNMG_MAX_DEVICES == 32, "lib/abi.ts MAX_DEVICES");
_Static_assert(BUNMG_MAX_EXTENT == (int64_t)1 << 40, "lib/abi.ts MAX_EXTENT");

_Static_assert(offsetof(bunmg_matrix, rows) == 0, "MATRIX.rows");
_Static_assert(offsetof(bunmg_matrix, cols) == 8, "MATRIX.cols");
_Static_assert(offsetof(bunmg_matrix, capacity) == 16, "MATRIX.capacity");
_Static_assert(offsetof(bunmg_matrix, tile) == 24, "MATRIX.tile");
_Static_assert(offsetof(bunmg_matrix, dtype) == 32, "MATRIX.dtype");
_Static_assert(offsetof(bunmg_matrix, layout) == 36, "MATRIX.layout");
_Static_assert(offsetof(bunmg_matrix, generation) == 40, "MATRIX.generation");
_Static_assert(offsetof(bunmg_matrix, shards) == 48, "MATRIX.shards");
_Static_assert(sizeof(bunmg_matrix) == 48 + 8 * BUNMG_MAX_DEVICES, "MATRIX.bytes");

_Static_assert(offsetof(bunmg_options, tile) == 0, "OPTIONS.tile");
_Static_assert(offsetof(bunmg_options, path) == 8, "OPTIONS.path");
_Static_assert(offsetof(bunmg_options, fallback) == 12, "OPTIONS.fallback");
_Static_assert(offsetof(bunmg_options, taken) == 16, "OPTIONS.taken");
_Static_assert(offsetof(bunmg_options, keep) == 20, "OPTIONS.keep");
_Static_assert(sizeof(bunmg_options) == 24, "OPTIONS.bytes");

_Static_assert(offsetof(bunmg_move, cycle) == 0, "MOVE.cycle");
_Static_assert(offsetof(bunmg_move, src_dev) == 8, "MOVE.srcDev");
_Static_assert(offsetof(bunmg_move, dst_dev) == 12, "MOVE.dstDev");
_Static_assert(offsetof(bunmg_move, src_row) == 16, "MOVE.srcRow");
_Static_assert(offsetof(bunmg_move, dst_row) == 24, "MOVE.dstRow");
_Static_assert(offsetof(bunmg_move, rows) == 32, "MOVE.rows");
_Static_assert(sizeof(bunmg_move) == 40, "MOVE.bytes");

_Static_assert(sizeof(bunmg_plan_summary) == 11 * 8, "PLAN_SUMMARY_FIELDS: 11 int64");
_Static_assert(offsetof(bunmg_plan_summary, shifts) == 10 * 8, "PLAN_SUMMARY_FIELDS order");

_Static_assert(BUNMG_DISPOSED == 14, "STATUS_NAMES");
_Static_assert(BUNMG_PATH_AUTO == 0 && BUNMG_PATH_SINGLE == 1 && BUNMG_PATH_MULTI == 2, "PATH");
_Static_assert(BUNMG_COMPLEX128 == 3 && BUNMG_BACKEND_CUDA == 1 && BUNMG_LAYOUT_CYCLIC == 1, "DTYPE, BACKEND, LAYOUT");
_Static_assert(BUNMG_FILL_UNIFORM == 1 && BUNMG_ROUTINE_SYEVD == 2, "FILL, ROUTINE");
_Static_assert(BUNMG_FAULT_SOLVER == 2 && BUNMG_FAULT_FACTOR_NAN == 3 && BUNMG_FAULT_FACTOR_INFO == 4, "FAULT");
_Static_assert(BUNMG_GROUP_PROCESSES == 1 && BUNMG_EIG_VECTORS == 1 && BUNMG_EIG_ROWS == 2, "GROUP_MODE, EIG");
_Static_assert(BUNMG_LIBRARY_LAPACK == 0 && BUNMG_LIBRARY_CUSOLVERDN == 2 && BUNMG_LIBRARY_SCALAPACK == 4,
               "RUNTIME_LIBRARY");

_Static_assert(BUNMG_RENDEZVOUS_BLOB_BYTES == 256, "lib/abi.ts RENDEZVOUS_LIMITS.blobBytes");
_Static_assert(BUNMG_RENDEZVOUS_TOKEN_BYTES == 64, "lib/abi.ts RENDEZVOUS_LIMITS.tokenBytes");
_Static_assert(BUNMG_RENDEZVOUS_FAULT_SILENT == 1 && BUNMG_RENDEZVOUS_FAULT_DIE_AT_JOIN == 2 &&
                   BUNMG_RENDEZVOUS_FAULT_DIE_AT_AGREE == 3, "lib/abi.ts RENDEZVOUS_FAULT");
_Static_assert(offsetof(bunmg_rendezvous_options, address) == 0, "RENDEZVOUS_OPTIONS.address");
_Static_assert(offsetof(bunmg_rendezvous_options, token) == 8, "RENDEZVOUS_OPTIONS.token");
_Static_assert(offsetof(bunmg_rendezvous_options, rank) == 16, "RENDEZVOUS_OPTIONS.rank");
_Static_assert(offsetof(bunmg_rendezvous_options, size) == 20, "RENDEZVOUS_OPTIONS.size");
_Static_assert(offsetof(bunmg_rendezvous_options, local_rank) == 24, "RENDEZVOUS_OPTIONS.localRank");
_Static_assert(offsetof(bunmg_rendezvous_options, timeout_ms) == 32, "RENDEZVOUS_OPTIONS.timeoutMs");
_Static_assert(sizeof(bunmg_rendezvous_options) == 40, "RENDEZVOUS_OPTIONS.bytes");
_Static_assert(offsetof(bunmg_rendezvous_peer, pid) == 8, "RENDEZVOUS_PEER.pid");
_Static_assert(offsetof(bunmg_rendezvous_peer, start) == 16, "RENDEZVOUS_PEER.start");
_Static_assert(offsetof(bunmg_rendezvous_peer, host) == 24, "RENDEZVOUS_PEER.host");
_Static_assert(sizeof(bunmg_rendezvous_peer) == 88, "RENDEZVOUS_PEER.bytes");
