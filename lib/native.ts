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

/** The prebuilt platform packages (listed in package.json's optionalDependencies), by
 * `${process.platform}-${process.arch}`. Each one's default export is its library's path. */
export const PLATFORM_PACKAGES: Readonly<Record<string, string>> = { "linux-x64": "bunmg-linux-x64-gnu" };

/** Where libbunmg comes from: $BUNMG_LIBRARY, the platform package, or the local build. */
export type LibrarySource = "BUNMG_LIBRARY" | "platform package" | "local build";

export interface LibraryLocation {
  path: string;
  source: LibrarySource;
  /** each place looked at, in order, with what was found there */
  looked: string[];
}

/** The platform package's library path, or why there is none. */
function platformLibrary(): { path?: string; why: string } {
  const name = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (name === undefined) return { why: `no prebuilt package for ${process.platform}-${process.arch}` };
  let path: unknown;
  try {
    path = (require(name) as { default?: unknown }).default;
  } catch {
    return { why: `${name}: not installed` };
  }
  if (typeof path !== "string" || !existsSync(path)) return { why: `${name}: installed, but its library is missing (${String(path)})` };
  return { path, why: `${name}: ${path}` };
}

/** Finds libbunmg: $BUNMG_LIBRARY alone when set; else the platform package when installed;
 * else <package root>/build/libbunmg.so (present or not). Nothing is loaded. */
export function locateLibrary(): LibraryLocation {
  const fromEnv = process.env.BUNMG_LIBRARY?.trim();
  if (fromEnv) return { path: resolve(fromEnv), source: "BUNMG_LIBRARY", looked: [`BUNMG_LIBRARY=${fromEnv}`] };
  const platform = platformLibrary();
  const looked = [`BUNMG_LIBRARY: not set`, `platform package: ${platform.why}`];
  if (platform.path !== undefined) return { path: platform.path, source: "platform package", looked };
  const local = join(packageRoot, "build", `libbunmg.${suffix}`);
  looked.push(`local build: ${local}${existsSync(local) ? "" : " (not built)"}`);
  return { path: local, source: "local build", looked };
}

/** The library's path, as locateLibrary() finds it. */
export function libraryPath(): string {
  return locateLibrary().path;
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
  const { path, looked } = locateLibrary();
  const howToBuild =
    "On Linux x64 the prebuilt package bunmg-linux-x64-gnu (an optional dependency of bunmg) has it; " +
    "else build it with `bunx bunmg build` (in a clone of bunmg: `bun run build`; needs cmake and " +
    "a C compiler), or set BUNMG_LIBRARY to a library built elsewhere.";
  if (!existsSync(path)) {
    throw new BunmgError("LIBRARY_NOT_FOUND", `libbunmg not found at ${path} (looked at: ${looked.join("; ")}). ${howToBuild}`);
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

/** The message of this thread's last failed libbunmg call. */
export function lastErrorMessage(): string {
  return native().bunmg_last_error() ?? "";
}

/** The leading minor or info (`index`) and mesh position (`device`) of the last failure. */
export function lastErrorDetail(): { index: number; device: number } {
  const index = new BigInt64Array(1);
  const device = new Int32Array(1);
  native().bunmg_last_error_detail(index, device);
  return { index: Number(index[0]), device: device[0]! };
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
