// The one place that talks to libbunmg: the lazy loader over abi.ts's symbol table, and the
// turning of a failed call's status into its BunmgError.
import { dlopen, suffix, type Library as FFILibrary, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ABI_VERSION, symbols } from "./abi.ts";
import { BunmgError, codeOf } from "./errors.ts";



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
  let library: Library;
  try {
    library = dlopen(path, symbols);
  } catch (cause) {
    // Present but unloadable: wrong architecture, missing dependency, or an older build
    // that lacks a symbol of this version's bunmg.h.
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BunmgError("LIBRARY_NOT_FOUND", `libbunmg at ${path} could not be loaded: ${why}. ${howToBuild}`, {
      cause,
    });
  }
  const abi = library.symbols.bunmg_abi_version();
  if (abi !== ABI_VERSION) {
    library.close();
    throw new BunmgError("LIBRARY_NOT_FOUND", `libbunmg at ${path} has ABI version ${abi}, but this bunmg needs ${ABI_VERSION}: it is a stale build. ${howToBuild}`);
  }
  return library;
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

/** Throws the calling thread's last native error when `status` is not BUNMG_OK. `what` names
 * the call, used when the library left no message. */
export function check(status: number, what: string): void {
  if (status === 0) return;
  throw nativeError(status, what);
}

/** Builds (without throwing) the BunmgError for a failed native call. */
export function nativeError(status: number, what: string): BunmgError {
  const message = lastErrorMessage() || `${what} failed with status ${status}`;
  const { index, device } = lastErrorDetail();
  return new BunmgError(codeOf(status), message, {
    status,
    ...(index >= 0 ? { index } : {}),
    ...(device >= 0 ? { device } : {}),
  });
}
