// The ABI of libbunmg (csrc/include/bunmg.h) as data: its version, enums, flags, limits, struct
// layouts and the symbol table. Declared once here; every other module reads them from here, and
// csrc/src/core/abi.c pins the same numbers with _Static_asserts.
//
// Symbol conventions: status returns are i32 (bunmg_status); every output goes through a
// typed-array out parameter passed as `buffer` (the engine pins it for the call, unlike ptr());
// handles and device pointers are `ptr` (JS numbers).

/** BUNMG_ABI_VERSION: bumped whenever a struct, enum or signature below changes. */
export const ABI_VERSION = 8;

/** bunmg_status, indexed by value. */
export const STATUS_NAMES = [
  "OK",
  "INVALID_ARGUMENT",
  "OUT_OF_MEMORY",
  "LIBRARY_NOT_FOUND",
  "NO_DEVICE",
  "DEVICE_ERROR",
  "SOLVER_ERROR",
  "NOT_POSITIVE_DEFINITE",
  "NO_CONVERGENCE",
  "SINGULAR",
  "LAYOUT_LOST",
  "UNSUPPORTED",
  "TIMEOUT",
  "PEER_LOST",
  "DISPOSED",
] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** bunmg_status values by name. */
export const STATUS = Object.fromEntries(STATUS_NAMES.map((name, value) => [name, value])) as Readonly<Record<StatusName, number>>;

/** BUNMG_MAX_DEVICES: positions of a mesh, ranks of a group. */
export const MAX_DEVICES = 32;
/** BUNMG_MAX_EXTENT: rows, columns and tiles. */
export const MAX_EXTENT = 2 ** 40;
/** Characters of a job id. */
export const JOB_MAX = 64;
/** Characters of a launch secret. */
export const SECRET_MAX = 128;

/** bunmg_dtype. */
export const DTYPE = { float32: 0, float64: 1, complex64: 2, complex128: 3 } as const;
/** bunmg_backend. */
export const BACKEND = { host: 0, cuda: 1 } as const;
/** bunmg_layout. */
export const LAYOUT = { rows: 0, cyclic: 1 } as const;
/** bunmg_fill kinds. */
export const FILL = { hpd: 0, uniform: 1 } as const;
/** bunmg_fault: the failures tests can inject. */
export const FAULT = { copy: 0, alloc: 1, solver: 2, factorNaN: 3, factorInfo: 4 } as const;
/** bunmg_routine. */
export const ROUTINE = { potrs: 0, potri: 1, syevd: 2 } as const;
/** bunmg_path. */
export const PATH = { auto: 0, single: 1, multi: 2 } as const;
/** Largest tile each routine accepts (the solvers' int; cuSOLVERMg's syevd takes at most 1024). */
export const MAX_TILE = { potrs: 2 ** 31 - 1, potri: 2 ** 31 - 1, syevd: 1024 } as const;
/** bunmg_group_mode. */
export const GROUP_MODE = { threads: 0, processes: 1 } as const;
/** bunmg_syevd flags. */
export const EIG = { vectors: 1, rows: 2 } as const;
/** bunmg_runtime_library: the libraries loaded at run time (diagnostics). */
export const RUNTIME_LIBRARY = { lapack: 0, cusolverMg: 1, cusolverDn: 2, mpi: 3, scalapack: 4 } as const;

type FieldType = "char" | "i32" | "i64" | "u64" | "ptr";
const FIELD_BYTES: Record<FieldType, number> = { char: 1, i32: 4, i64: 8, u64: 8, ptr: 8 };

/** A C struct on LP64: each field at its natural alignment, in order. `count` > 1 for arrays. */
export interface StructLayout<K extends string> {
  readonly bytes: number;
  readonly offset: Readonly<Record<K, number>>;
}

function layout<K extends string>(fields: readonly (readonly [K, FieldType, number?])[]): StructLayout<K> {
  const offset = {} as Record<K, number>;
  let at = 0;
  let align = 1;
  for (const [name, type, count = 1] of fields) {
    const size = FIELD_BYTES[type];
    at = Math.ceil(at / size) * size;
    offset[name] = at;
    at += size * count;
    align = Math.max(align, size);
  }
  return { bytes: Math.ceil(at / align) * align, offset };
}

/** struct bunmg_matrix. */
export const MATRIX = layout([
  ["rows", "i64"],
  ["cols", "i64"],
  ["capacity", "i64"],
  ["tile", "i64"],
  ["dtype", "i32"],
  ["layout", "i32"],
  ["generation", "u64"],
  ["shards", "ptr", MAX_DEVICES],
] as const);

/** struct bunmg_options. */
export const OPTIONS = layout([
  ["tile", "i64"],
  ["path", "i32"],
  ["fallback", "i32"],
  ["taken", "i32"],
  ["keep", "i32"],
] as const);

/** struct bunmg_move. */
export const MOVE = layout([
  ["cycle", "i64"],
  ["srcDev", "i32"],
  ["dstDev", "i32"],
  ["srcRow", "i64"],
  ["dstRow", "i64"],
  ["rows", "i64"],
] as const);

/** struct bunmg_plan_summary: int64 fields, in this order. */
export const PLAN_SUMMARY_FIELDS = [
  "pieces",
  "cycles",
  "chains",
  "fixed",
  "copies",
  "rowsCross",
  "rowsLocal",
  "stagingRows",
  "capacity",
  "largestPiece",
  "shifts",
] as const;

// ---- the distributed engine (mp): 2D block-cyclic grid layouts (bunmg.h's mp section) ----

export const MAX_RANKS = 4096; // BUNMG_MAX_RANKS
export const GRID_ORDER = { row: 0, column: 1 } as const;
export const GRID_PHASE = { split: 0, exchange: 1 } as const;
export const GRID_FAULT = { none: 0, fail: 1, die: 2, stall: 3 } as const;
/** bunmg_grid_exec_host and bunmg_grid_redistribute flags. */
export const GRID_FLAGS = { toRows: 1, agreePerPhase: 2 } as const;
/** bunmg_grid_fault_at: where bunmg_grid_debug_inject's fault fires. */
export const GRID_FAULT_AT = { join: 0, move: 1, agreement: 2 } as const;

/** struct bunmg_grid. */
export const GRID = layout([
  ["m", "i64"],
  ["n", "i64"],
  ["mb", "i64"],
  ["nb", "i64"],
  ["prows", "i32"],
  ["pcols", "i32"],
  ["order", "i32"],
  ["reserved", "i32"],
] as const);

/** struct bunmg_grid_rank. */
export const GRID_RANK = layout([
  ["prow", "i32"],
  ["pcol", "i32"],
  ["localRows", "i64"],
  ["localCols", "i64"],
  ["lld", "i64"],
  ["shardFirst", "i64"],
  ["shardRows", "i64"],
  ["desc", "i64", 9],
] as const);

/** struct bunmg_grid_move. */
export const GRID_MOVE = layout([
  ["job", "i64"],
  ["round", "i64"],
  ["phase", "i32"],
  ["lane", "i32"],
  ["srcRank", "i32"],
  ["dstRank", "i32"],
  ["srcStaging", "i32"],
  ["dstStaging", "i32"],
  ["srcOffset", "i64"],
  ["dstOffset", "i64"],
  ["elements", "i64"],
] as const);

/** struct bunmg_grid_plan_summary: int64 fields, in this order. */
export const GRID_SUMMARY_FIELDS = [
  "capacity",
  "lld",
  "staging",
  "splitMoves",
  "splitRounds",
  "exchangeMoves",
  "exchangeRounds",
  "pieces",
  "fixed",
  "chains",
  "cycles",
  "elementsCross",
  "elementsLocal",
  "largestMove",
] as const;

// ---- the distributed engine on CPUs: MPI ranks and ScaLAPACK (bunmg.h's mp section) ----

/** bunmg_mp_fault: the faults tests can inject into an mp rank. */
export const MP_FAULT = { none: 0, fail: 1, die: 2, dieEngine: 3, skewVectors: 4, skewValues: 5 } as const;

/** struct bunmg_mp_options. */
export const MP_OPTIONS = layout([
  ["block", "i64"],
  ["prows", "i32"],
  ["pcols", "i32"],
  ["order", "i32"],
  ["reserved", "i32"],
] as const);

// ---- rendezvous across nodes (bunmg.h's "rendezvous across nodes") ----

export const RENDEZVOUS_LIMITS = { blobBytes: 256, tokenBytes: 64, hostBytes: 64 } as const;
/** bunmg_rendezvous_fault. */
export const RENDEZVOUS_FAULT = { none: 0, silent: 1, dieAtJoin: 2, dieAtAgree: 3 } as const;

/** struct bunmg_rendezvous_options. */
export const RENDEZVOUS_OPTIONS = layout([
  ["address", "ptr"],
  ["token", "ptr"],
  ["rank", "i32"],
  ["size", "i32"],
  ["localRank", "i32"],
  ["reserved", "i32"],
  ["timeoutMs", "i64"],
] as const);

/** struct bunmg_rendezvous_peer (host: a NUL-terminated char array). */
export const RENDEZVOUS_PEER = layout([
  ["rank", "i32"],
  ["localRank", "i32"],
  ["pid", "i64"],
  ["start", "u64"],
  ["host", "char", RENDEZVOUS_LIMITS.hostBytes],
] as const);

/** Every libbunmg function bun:ffi binds, with its argument and return types. */
export const symbols = {
  // errors and versions
  bunmg_abi_version: { args: [], returns: "i32" },
  bunmg_version: { args: [], returns: "cstring" },
  bunmg_last_error: { args: [], returns: "cstring" },
  bunmg_last_error_detail: { args: ["buffer", "buffer"], returns: "void" }, // int64*, int32*

  // meshes
  bunmg_cuda_device_count: { args: ["buffer"], returns: "i32" }, // int32*
  bunmg_mesh_create: { args: ["i32", "i32", "buffer", "buffer"], returns: "i32" }, // ids, mesh**
  bunmg_mesh_destroy: { args: ["ptr"], returns: "i32" },
  bunmg_mesh_memory: { args: ["ptr", "i32", "buffer", "buffer", "buffer"], returns: "i32" }, // u64*x3

  // device buffers
  bunmg_alloc: { args: ["ptr", "i32", "u64", "buffer"], returns: "i32" }, // void**
  bunmg_free: { args: ["ptr", "i32", "ptr"], returns: "i32" },
  bunmg_copy_to_device: { args: ["ptr", "i32", "ptr", "buffer", "u64"], returns: "i32" },
  bunmg_copy_to_host: { args: ["ptr", "i32", "buffer", "ptr", "u64"], returns: "i32" },
  bunmg_copy_peer: { args: ["ptr", "i32", "ptr", "i32", "ptr", "u64"], returns: "i32" },
  bunmg_copy_bandwidth: {
    args: ["ptr", "i32", "i32", "u64", "i32", "i32", "buffer"], // double*
    returns: "i32",
  },

  // redistribution
  bunmg_shard_capacity: { args: ["i64", "i64", "i32", "buffer"], returns: "i32" }, // int64*
  bunmg_plan_create: { args: ["i64", "i64", "i32", "i32", "buffer"], returns: "i32" }, // plan**
  bunmg_plan_destroy: { args: ["ptr"], returns: "i32" },
  bunmg_plan_get_summary: { args: ["ptr", "buffer"], returns: "i32" },
  bunmg_plan_get_moves: { args: ["ptr", "buffer", "i64", "buffer"], returns: "i32" },
  bunmg_fill_random: { args: ["ptr", "buffer", "i32", "u64"], returns: "i32" },
  bunmg_to_cyclic: { args: ["ptr", "buffer", "i64"], returns: "i32" }, // bunmg_matrix*
  bunmg_to_rows: { args: ["ptr", "buffer"], returns: "i32" },
  bunmg_debug_inject: { args: ["ptr", "i32", "i64", "ptr"], returns: "i32" },

  // layout arithmetic
  bunmg_row_range: { args: ["i64", "i32", "i32", "buffer", "buffer"], returns: "i32" }, // rows, ndev, pos, int64* start, end
  bunmg_tile_location: { args: ["i64", "i64", "i32", "i64", "buffer", "buffer"], returns: "i32" }, // rows, tile, ndev, k, int32* pos, int64* local row
  bunmg_shard_capacity_upto: { args: ["i64", "i64", "i32", "i32", "buffer"], returns: "i32" }, // rows, max tile (0: default), ndev, dtype, int64*

  // solvers; `buffer` options are a struct bunmg_options
  bunmg_default_tile: { args: ["i32", "i32", "i64", "buffer"], returns: "i32" }, // routine, dtype, n, int64*
  bunmg_default_max_tile: { args: ["i32", "i64", "buffer"], returns: "i32" }, // dtype, n, int64*
  bunmg_choose_path: { args: ["ptr", "i32", "i64", "i32", "i64", "buffer", "buffer", "buffer", "i64"], returns: "i32" }, // ..., options, int32* path, reason, length
  bunmg_potrs: { args: ["ptr", "buffer", "buffer", "i64", "buffer"], returns: "i32" }, // mesh, matrix, b, nrhs, options
  bunmg_potri: { args: ["ptr", "buffer", "buffer"], returns: "i32" },
  bunmg_syevd: { args: ["ptr", "buffer", "i32", "buffer", "buffer"], returns: "i32" }, // mesh, matrix, flags, w, options
  bunmg_cholesky: { args: ["ptr", "buffer", "buffer", "buffer"], returns: "i32" }, // mesh, matrix, options, factor**
  bunmg_factor_solve: { args: ["ptr", "buffer", "buffer", "i64"], returns: "i32" }, // factor, matrix, b, nrhs
  bunmg_factor_logdet: { args: ["ptr", "buffer", "buffer"], returns: "i32" }, // double*
  bunmg_factor_inverse: { args: ["ptr", "buffer"], returns: "i32" },
  bunmg_factor_info: { args: ["ptr", "buffer", "buffer"], returns: "i32" }, // int32* path, int64* tile
  bunmg_factor_destroy: { args: ["ptr"], returns: "i32" },
  bunmg_estimate_memory: {
    args: ["ptr", "i32", "i64", "i32", "i64", "i64", "i32", "buffer"], // mesh, routine, n, dtype, tile (0: default), nrhs, path, uint64_t out[3]
    returns: "i32",
  },

  // groups (SPMD / MPMD); job ids are NUL-terminated byte buffers
  bunmg_group_join: { args: ["i32", "buffer", "buffer", "i32", "i32", "ptr", "i64", "buffer"], returns: "i32" }, // mode, job, secret, rank, size, local mesh, timeout, group**
  bunmg_group_leave: { args: ["ptr"], returns: "i32" },
  bunmg_group_alloc: { args: ["ptr", "u64", "buffer"], returns: "i32" }, // void**
  bunmg_group_free: { args: ["ptr", "ptr"], returns: "i32" },
  bunmg_group_fill_random: { args: ["ptr", "buffer", "i32", "u64"], returns: "i32" },
  bunmg_group_potrs: { args: ["ptr", "buffer", "i64", "buffer", "i64"], returns: "i32" }, // local, tile, b, nrhs
  bunmg_group_potri: { args: ["ptr", "buffer", "i64"], returns: "i32" },
  bunmg_group_syevd: { args: ["ptr", "buffer", "i64", "i32", "buffer"], returns: "i32" }, // local, tile, flags, w
  bunmg_shm_sweep: { args: ["buffer", "buffer", "i32", "buffer"], returns: "i32" }, // job ("" = every job), secret ("" = none), force, int32*

  // diagnostics (bunmg info, bunmg doctor; lib/doctor.ts)
  bunmg_backend_compiled: { args: ["i32", "buffer"], returns: "i32" }, // backend, int32*
  bunmg_build_options: { args: [], returns: "cstring" },
  bunmg_cuda_probe: { args: ["buffer", "buffer", "buffer"], returns: "i32" }, // int32* driver, runtime, devices
  bunmg_cuda_device_info: { args: ["i32", "buffer", "i32", "buffer", "buffer", "buffer"], returns: "i32" }, // id, name, bytes, int32* x2, uint64_t*
  bunmg_cuda_peer_access: { args: ["i32", "i32", "buffer"], returns: "i32" }, // from, to, int32*
  bunmg_library_probe: { args: ["i32", "buffer", "buffer", "buffer"], returns: "i32" }, // library, const char** x3

  // the distributed engine (mp): grid layouts, plans and the host executor
  bunmg_grid_describe: { args: ["buffer", "i32", "buffer"], returns: "i32" }, // grid, rank, bunmg_grid_rank*
  bunmg_grid_capacity: { args: ["buffer", "buffer"], returns: "i32" }, // grid, int64*
  bunmg_grid_locate: { args: ["buffer", "i64", "i64", "buffer", "buffer"], returns: "i32" }, // grid, i, j, int32*, int64*
  bunmg_grid_plan_create: { args: ["buffer", "i32", "i64", "buffer"], returns: "i32" }, // grid, lanes, chunk, plan**
  bunmg_grid_plan_destroy: { args: ["ptr"], returns: "i32" },
  bunmg_grid_plan_get_summary: { args: ["ptr", "buffer"], returns: "i32" },
  bunmg_grid_plan_get_moves: { args: ["ptr", "buffer", "i64", "buffer"], returns: "i32" },
  bunmg_grid_exec_host: {
    args: ["ptr", "buffer", "i32", "i32", "i64", "buffer", "buffer"], // plan, void*[ranks], element bytes, flags, timeout, int64 fault[3], int32 statuses[ranks]
    returns: "i32",
  },

  // the distributed engine (mp): grid redistributions between the ranks of a group
  // the buffer is a `ptr` (of a typed array) so that a rank with a bad one still takes part, passing NULL
  bunmg_grid_redistribute: { args: ["ptr", "ptr", "ptr", "u64", "i32", "i32"], returns: "i32" }, // group, plan, buffer, bytes, element bytes, flags
  bunmg_grid_debug_inject: { args: ["ptr", "i32", "i32", "i64"], returns: "i32" }, // group, kind, at, index

  // the distributed engine on CPUs (mp): MPI ranks and ScaLAPACK; `buffer` options are a struct bunmg_mp_options
  bunmg_mp_join: { args: ["i64", "buffer"], returns: "i32" }, // timeout, mp**
  bunmg_mp_join_gpu: { args: ["i64", "i32", "buffer"], returns: "i32" }, // timeout, device, mp**
  bunmg_mp_leave: { args: ["ptr"], returns: "i32" },
  bunmg_mp_info: { args: ["ptr", "buffer", "buffer"], returns: "i32" }, // int32* rank, size
  bunmg_mp_redistribute: { args: ["ptr", "buffer", "buffer", "i32", "i32"], returns: "i32" }, // grid, buffer, element bytes, flags
  bunmg_mp_potrs: { args: ["ptr", "buffer", "buffer", "buffer", "i64"], returns: "i32" }, // local, options, b, nrhs
  bunmg_mp_cholesky: { args: ["ptr", "buffer", "buffer", "buffer"], returns: "i32" }, // local, options, factor**
  bunmg_mp_factor_solve: { args: ["ptr", "buffer", "i64"], returns: "i32" }, // factor, b, nrhs
  bunmg_mp_factor_logdet: { args: ["ptr", "buffer"], returns: "i32" }, // double*
  bunmg_mp_factor_destroy: { args: ["ptr"], returns: "i32" },
  bunmg_mp_potri: { args: ["ptr", "buffer", "buffer"], returns: "i32" }, // local, options
  bunmg_mp_syevd: { args: ["ptr", "buffer", "buffer", "i32", "buffer"], returns: "i32" }, // local, options, flags, w
  bunmg_mp_getrs: { args: ["ptr", "buffer", "buffer", "buffer", "i64"], returns: "i32" }, // local, options, b, nrhs
  bunmg_mp_gels: { args: ["ptr", "buffer", "buffer", "buffer", "i64"], returns: "i32" }, // local (M x N), options, b (M x nrhs), nrhs
  bunmg_mp_gesvd: { args: ["ptr", "buffer", "buffer", "i32", "buffer", "ptr"], returns: "i32" }, // local (M x N), options, flags, s, v_local (N x N) or NULL
  bunmg_mp_sygvd: { args: ["ptr", "buffer", "buffer", "buffer", "i32", "buffer"], returns: "i32" }, // local A, local B, options, flags, w
  bunmg_mp_debug_inject: { args: ["ptr", "i32", "i64", "buffer"], returns: "i32" }, // fault, n, int64* events

  // rendezvous across nodes; `buffer` options are a struct bunmg_rendezvous_options
  bunmg_rendezvous_join: { args: ["buffer", "buffer", "i64", "buffer"], returns: "i32" }, // options, blob, bytes, rv**
  bunmg_rendezvous_info: { args: ["ptr", "buffer", "buffer", "buffer", "buffer"], returns: "i32" }, // int32* rank, size; int64* blob bytes, refused
  bunmg_rendezvous_blob: { args: ["ptr", "buffer", "i64"], returns: "i32" }, // out, bytes
  bunmg_rendezvous_peer_info: { args: ["ptr", "i32", "buffer"], returns: "i32" }, // rank, bunmg_rendezvous_peer*
  bunmg_rendezvous_check: { args: ["ptr"], returns: "i32" },
  bunmg_rendezvous_agree: { args: ["ptr", "i32", "buffer", "buffer"], returns: "i32" }, // mine, int32* first, status
  bunmg_rendezvous_bcast: { args: ["ptr", "buffer", "i64"], returns: "i32" }, // buf, bytes
  bunmg_rendezvous_leave: { args: ["ptr"], returns: "i32" },
  bunmg_rendezvous_debug_inject: { args: ["ptr", "i32"], returns: "i32" }, // fault
} as const;
