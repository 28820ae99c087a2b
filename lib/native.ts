// The one place that talks to libbunmg: symbol table of csrc/include/bunmg.h and the lazy loader.
// Conventions: status returns are i32 (bunmg_status); every output goes through a typed-array
// out parameter passed as `buffer` (the engine pins it for the call, unlike ptr()); handles and
// device pointers are `ptr` (JS numbers).
import { dlopen, suffix, type Library as FFILibrary, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { BunmgError } from "./errors.ts";

const symbols = {
  // errors and versions
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
  bunmg_check_rhs: { args: ["i32", "ptr", "i64", "i64"], returns: "i32" },
  bunmg_potri: { args: ["ptr", "ptr", "i64"], returns: "i32" },

  // solvers
  bunmg_cholesky: { args: ["ptr", "buffer", "i64"], returns: "i32" },
  bunmg_cholesky_solve: { args: ["ptr", "buffer", "buffer", "i64"], returns: "i32" },
  bunmg_cholesky_logdet: { args: ["ptr", "buffer", "buffer"], returns: "i32" }, // double*
  bunmg_cholesky_inverse: { args: ["ptr", "buffer"], returns: "i32" },
  bunmg_syevd: { args: ["ptr", "buffer", "i64", "i32", "buffer"], returns: "i32" },
  bunmg_estimate_memory: {
    args: ["ptr", "i32", "i64", "i32", "i64", "i64", "buffer"], // uint64_t out[3]
    returns: "i32",
  },

  // groups (SPMD / MPMD); job ids are NUL-terminated byte buffers
  bunmg_group_join: { args: ["i32", "buffer", "i32", "i32", "ptr", "i64", "buffer"], returns: "i32" }, // mode, job, rank, size, local mesh, timeout, group**
  bunmg_group_leave: { args: ["ptr"], returns: "i32" },
  bunmg_group_alloc: { args: ["ptr", "u64", "buffer"], returns: "i32" }, // void**
  bunmg_group_free: { args: ["ptr", "ptr"], returns: "i32" },
  bunmg_group_fill_random: { args: ["ptr", "buffer", "i32", "u64"], returns: "i32" },
  bunmg_group_potrs: { args: ["ptr", "buffer", "i64", "buffer", "i64"], returns: "i32" }, // local, tile, b, nrhs
  bunmg_group_potri: { args: ["ptr", "buffer", "i64"], returns: "i32" },
  bunmg_group_syevd: { args: ["ptr", "buffer", "i64", "i32", "buffer"], returns: "i32" }, // local, tile, flags, w
  bunmg_shm_sweep: { args: ["buffer", "i32", "buffer"], returns: "i32" }, // job ("" = every job), force, int32*

  // the single-device path: `full` is a device pointer on mesh position `dev`
  bunmg_gather: { args: ["ptr", "buffer", "i32", "ptr"], returns: "i32" }, // mesh, matrix, dev, full
  bunmg_scatter: { args: ["ptr", "buffer", "i32", "ptr"], returns: "i32" },
  bunmg_dense_cholesky: { args: ["ptr", "i32", "ptr", "i64", "i32"], returns: "i32" }, // dev, full, n, dtype
  bunmg_dense_cholesky_solve: { args: ["ptr", "i32", "ptr", "i64", "i32", "buffer", "i64"], returns: "i32" }, // ..., b, nrhs
  bunmg_dense_cholesky_logdet: { args: ["ptr", "i32", "ptr", "i64", "i32", "buffer"], returns: "i32" }, // double*
  bunmg_dense_cholesky_inverse: { args: ["ptr", "i32", "ptr", "buffer"], returns: "i32" }, // dev, factor, matrix
  bunmg_dense_syevd: { args: ["ptr", "i32", "ptr", "buffer", "i32", "buffer"], returns: "i32" }, // dev, full, matrix, flags, w
  bunmg_dense_workspace: {
    args: ["ptr", "i32", "i32", "i64", "i32", "i64", "buffer"], // dev, routine, n, dtype, nrhs, uint64_t*
    returns: "i32",
  },
} as const;

type Library = FFILibrary<typeof symbols>;
export type Symbols = Library["symbols"];

/** Package root: lib/ lives directly under it. */
export const packageRoot = resolve(import.meta.dir, "..");

/** Where the library is looked up: $BUNMG_LIBRARY, else <package root>/build/libbunmg.so. */
export function libraryPath(): string {
  const fromEnv = process.env.BUNMG_LIBRARY?.trim();
  return fromEnv ? resolve(fromEnv) : join(packageRoot, "build", `libbunmg.${suffix}`);
}

let loaded: Library | undefined;

/** The library's symbols, loading it on first use. dlopen is synchronous, so within one JS
 * thread the load happens once and serially; each Worker loads its own copy (Workers that
 * load at the same moment have crashed Bun: start them one after the other). */
export function native(): Symbols {
  if (loaded === undefined) loaded = load();
  return loaded.symbols;
}

function load(): Library {
  const path = libraryPath();
  const howToBuild =
    "Build it with `bun run build` in the bunmg package (needs cmake and a C compiler), or, in " +
    "a project that did `bun add bunmg`, run `bunx bunmg build` (or `bun pm trust bunmg` so the " +
    "postinstall build runs); set BUNMG_LIBRARY to use a library built elsewhere.";
  if (!existsSync(path)) {
    throw new BunmgError("LIBRARY_NOT_FOUND", `libbunmg not found at ${path}. ${howToBuild}`);
  }
  try {
    return dlopen(path, symbols);
  } catch (cause) {
    // Present but unloadable: wrong architecture, missing dependency, or an older build
    // that lacks a symbol of this version's bunmg.h.
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BunmgError("LIBRARY_NOT_FOUND", `libbunmg at ${path} could not be loaded: ${why}. ${howToBuild}`, {
      cause,
    });
  }
}

/** The library's version string. */
export function version(): string {
  return native().bunmg_version() ?? "";
}

export function lastErrorMessage(): string {
  return native().bunmg_last_error() ?? "";
}

export function lastErrorDetail(): { index: number; device: number } {
  const index = new BigInt64Array(1);
  const device = new Int32Array(1);
  native().bunmg_last_error_detail(index, device);
  return { index: Number(index[0]), device: device[0] };
}

/** Device pointers and handles are plain JS numbers; bun:ffi brands them as Pointer. */
export function asPointer(address: number): Pointer {
  return address as Pointer;
}

/** Reads a pointer written by the library into an 8-byte out parameter. */
export function readPointer(out: BigUint64Array): number {
  return Number(out[0]);
}
