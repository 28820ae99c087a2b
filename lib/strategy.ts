// Which path a solver takes: "multi" spreads the matrix over every device of the mesh
// (cuSOLVERMg over the cyclic layout), "single" gathers it onto mesh position 0 (cuSOLVERDn, or
// LAPACK on the host backend). "auto" (the default) is libbunmg's rule (csrc/src/routines/path.c,
// from 2 x H200 measurements); the routine itself decides, and chooseStrategy asks the same rule.
import { OPTIONS, PATH, ROUTINE } from "./abi.ts";
import { dtypeInfo, type DType } from "./dtypes.ts";
import { invalid } from "./errors.ts";
import { HANDLE } from "./internal.ts";
import { checkMesh, type Mesh } from "./mesh.ts";
import { check, native } from "./native.ts";
import type { Routine } from "./tiles.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

export type Strategy = keyof typeof PATH;

export interface StrategyChoice {
  /** the path taken: "single" (one device) or "multi" (every device of the mesh) */
  strategy: "single" | "multi";
  /** why, in words */
  reason: string;
}

export interface StrategyOptions {
  /** "auto" (default): the rule; "single" / "multi": taken as asked */
  strategy?: Strategy;
  /** right-hand sides (potrs; default 1): counted in the memory the single path needs */
  nrhs?: number;
}

/** The options a routine passes to libbunmg (struct bunmg_options). */
export interface PathOptions {
  tile?: number | undefined;
  strategy?: Strategy | undefined;
  /** auto may fall back from single to multi (default true) */
  fallback?: boolean | undefined;
  /** potrs: A unchanged afterwards on every path */
  keep?: boolean | undefined;
}

/** `value` as a Strategy, or INVALID_ARGUMENT naming what it was. */
export function checkStrategy(value: unknown): Strategy {
  if (typeof value !== "string" || !Object.hasOwn(PATH, value)) {
    throw invalid(`strategy must be "auto", "single" or "multi", got ${describe(value)}`);
  }
  return value as Strategy;
}

/** `value` as a Routine, or INVALID_ARGUMENT naming what it was. */
export function checkRoutine(value: unknown): Routine {
  if (typeof value !== "string" || !Object.hasOwn(ROUTINE, value)) {
    throw invalid(`unknown routine ${describe(value)}: expected potrs, potri or syevd`);
  }
  return value as Routine;
}

function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${what} must be a boolean, got ${describe(value)}`);
  return value;
}

/** struct bunmg_options for a call; `taken` reads the path that ran afterwards. */
export function pathOptions(options: PathOptions): Uint8Array {
  const bytes = new Uint8Array(OPTIONS.bytes);
  const v = new DataView(bytes.buffer);
  v.setBigInt64(OPTIONS.offset.tile, BigInt(options.tile ?? 0), true);
  v.setInt32(OPTIONS.offset.path, PATH[checkStrategy(options.strategy ?? "auto")], true);
  v.setInt32(OPTIONS.offset.fallback, checkBoolean(options.fallback ?? true, "fallback") ? 1 : 0, true);
  v.setInt32(OPTIONS.offset.keep, checkBoolean(options.keep ?? false, "keep") ? 1 : 0, true);
  return bytes;
}

/** The path a call with these options took. */
export function takenPath(options: Uint8Array): "single" | "multi" {
  return new DataView(options.buffer).getInt32(OPTIONS.offset.taken, true) === PATH.single ? "single" : "multi";
}

/** The path `routine` takes for an n x n matrix of `dtype` on `mesh`, and why. */
export function chooseStrategy(routine: Routine, n: number, dtype: DType, mesh: Mesh, options?: StrategyOptions | null): StrategyChoice {
  const { strategy, nrhs = 1 } = optionsOf(options);
  checkRoutine(routine);
  checkInteger(n, "n", 1);
  const info = dtypeInfo(dtype);
  checkMesh(mesh);
  checkInteger(nrhs, "nrhs", 1);
  const request = pathOptions({ strategy: strategy ?? "auto" });
  const path = new Int32Array(1);
  const reason = new Uint8Array(512);
  check(native().bunmg_choose_path(mesh[HANDLE](), ROUTINE[routine], n, info.code, nrhs, request, path, reason, reason.length), "bunmg_choose_path");
  const text = new TextDecoder().decode(reason.subarray(0, Math.max(0, reason.indexOf(0))));
  return { strategy: path[0] === PATH.single ? "single" : "multi", reason: text };
}
