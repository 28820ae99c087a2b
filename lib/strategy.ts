// Which path a solver takes: "multi" spreads the matrix over every device of the mesh
// (cuSOLVERMg, after the redistribution into the cyclic layout); "single" gathers the row shards
// into one dense buffer on mesh position 0 (peer copies), solves there (cuSOLVERDn, or LAPACK on
// the host backend) and scatters the result back. "auto" (the default) picks by the rule below.
//
// The rule comes from measurements on 2 x H200 (NVLink, CUDA 13.0; /work/shared/DESIGN.md):
//  - syevd: cuSOLVERMg's eigensolver is slower on two GPUs than cuSOLVERDn's on one
//    (f64 N = 16384: 5.52 s vs 3.17 s; f32: 5.03 s vs 2.52 s), so auto takes one GPU whenever the
//    problem fits there and cuSOLVERDn accepts N (its workspace query is reported to fail beyond
//    about N = 25000; then auto keeps the multi-device path).
//  - potrs / potri (Cholesky): cuSOLVERMg wins only on large matrices (potrf f64 N = 32768:
//    0.180 s on two GPUs (T = 1024) vs 0.246 s on one; N = 65536: 1.14 s vs 1.93 s), and at
//    N = 16384 the two are even (potrf + potri c128: 0.77 s on two GPUs vs 0.79 s for PyTorch on
//    one); below that the redistribution and the multi-GPU overheads dominate. So auto takes one
//    GPU for N < 16384 when it fits, and every GPU from N = 16384 on.
//  - A mesh of one distinct GPU (e.g. [0, 0]) gains nothing from cuSOLVERMg: one GPU whenever it
//    fits.
//  - "Fits": N * N elements plus cuSOLVERDn's workspace (its own size query), plus 5%, within
//    position 0's free memory.
//  - The host backend is unaffected: auto keeps the multi-device path there (both paths run
//    LAPACK in the same memory); "single" can still be asked for, and is tested, on it.
import { ROUTINE } from "./abi.ts";
import { dtypeInfo, type DType } from "./dtypes.ts";
import { BunmgError, invalid } from "./errors.ts";
import { HANDLE } from "./internal.ts";
import { checkMesh, type Mesh } from "./mesh.ts";
import { check, native } from "./native.ts";
import type { Routine } from "./tiles.ts";
import { checkInteger, describe } from "./validate.ts";

export type Strategy = "auto" | "single" | "multi";

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


/** Cholesky-based routines (potrs, potri) take one GPU below this N (see the rule above). */
export const SINGLE_CHOLESKY_MAX_N = 16384;

/** Headroom over the single path's computed need (matrix + workspace). */
export const MEMORY_MARGIN = 1.05;

const STRATEGIES: readonly string[] = ["auto", "single", "multi"];

export function checkStrategy(value: unknown): Strategy {
  if (typeof value !== "string" || !STRATEGIES.includes(value)) {
    throw invalid(`strategy must be "auto", "single" or "multi", got ${describe(value)}`);
  }
  return value as Strategy;
}

export function checkRoutine(value: unknown): Routine {
  if (typeof value !== "string" || !Object.hasOwn(ROUTINE, value)) {
    throw invalid(`unknown routine ${describe(value)}: expected potrs, potri or syevd`);
  }
  return value as Routine;
}

// The workspace query depends only on the mesh and the problem's shape; "auto" asks on every
// call, so its answers (and refusals) are kept per mesh.
const workspaceAnswers = new WeakMap<Mesh, Map<string, number | BunmgError>>();

/** Bytes the single-device routine needs on mesh position 0 beyond the N x N matrix, from the
 * backend's own workspace query. Throws UNSUPPORTED where that solver cannot take n. */
export function denseWorkspace(routine: Routine, n: number, dtype: DType, mesh: Mesh, nrhs = 1): number {
  let answers = workspaceAnswers.get(mesh);
  if (!answers) workspaceAnswers.set(mesh, (answers = new Map()));
  const key = `${routine} ${n} ${dtype} ${nrhs}`;
  let answer = answers.get(key);
  if (answer === undefined) {
    const out = new BigUint64Array(1);
    try {
      check(native().bunmg_dense_workspace(mesh[HANDLE](), 0, ROUTINE[routine], n, dtypeInfo(dtype).code, nrhs, out), "bunmg_dense_workspace");
      answer = Number(out[0]);
    } catch (e) {
      // Only lasting refusals are kept: a transient failure is asked again next time.
      if (!(e instanceof BunmgError) || (e.code !== "UNSUPPORTED" && e.code !== "LIBRARY_NOT_FOUND")) throw e;
      answer = e;
    }
    answers.set(key, answer);
  }
  if (answer instanceof BunmgError) throw answer;
  return answer;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** The path `routine` takes for an n x n matrix of `dtype` on `mesh`, and why. */
export function chooseStrategy(routine: Routine, n: number, dtype: DType, mesh: Mesh, options: StrategyOptions = {}): StrategyChoice {
  checkRoutine(routine);
  checkInteger(n, "n", 1);
  const info = dtypeInfo(dtype);
  checkMesh(mesh);
  const strategy = checkStrategy(options.strategy ?? "auto");
  const nrhs = checkInteger(options.nrhs ?? 1, "nrhs", 1);
  if (strategy !== "auto") return { strategy, reason: `strategy "${strategy}" was requested` };
  if (mesh.backend === "host") {
    return { strategy: "multi", reason: "host backend: auto keeps the multi-device path (the choice is for GPUs)" };
  }
  const gpus = new Set(mesh.devices).size;
  if (gpus > 1 && routine !== "syevd" && n >= SINGLE_CHOLESKY_MAX_N) {
    return {
      strategy: "multi",
      reason: `${routine} with N = ${n} >= ${SINGLE_CHOLESKY_MAX_N} on ${gpus} GPUs: cuSOLVERMg's Cholesky scales (potrf f64 N = 32768: 0.180 s on 2 x H200 vs 0.246 s on one)`,
    };
  }
  let workspace: number;
  try {
    workspace = denseWorkspace(routine, n, dtype, mesh, nrhs);
  } catch (e) {
    if (!(e instanceof BunmgError)) throw e;
    return { strategy: "multi", reason: `the single-device ${routine} is not available for N = ${n} (${e.code}: ${e.message})` };
  }
  const need = Math.ceil((n * n * info.bytes + workspace) * MEMORY_MARGIN);
  const free = mesh.memory(0).free;
  if (need > free) {
    return {
      strategy: "multi",
      reason: `one GPU is too small: the single path needs ${gib(need)} on position 0 (matrix, workspace and 5%), ${gib(free)} free`,
    };
  }
  if (gpus === 1) {
    return { strategy: "single", reason: `one GPU in ${mesh}: cuSOLVERDn on it beats cuSOLVERMg over logical devices` };
  }
  if (routine === "syevd") {
    return {
      strategy: "single",
      reason: "syevd: cuSOLVERDn on one GPU beats cuSOLVERMg on several (f64 N = 16384 on 2 x H200: 3.17 s vs 5.52 s; f32: 2.52 s vs 5.03 s)",
    };
  }
  return {
    strategy: "single",
    reason: `${routine} with N = ${n} < ${SINGLE_CHOLESKY_MAX_N}: one GPU beats cuSOLVERMg's redistribution and multi-GPU overheads (cuSOLVERMg wins from N = 32768 on)`,
  };
}

/** BUNMG_DEBUG=1: one line on stderr per decision. */
export function debugLog(line: string): void {
  if (process.env.BUNMG_DEBUG === "1") console.error(`bunmg: ${line}`);
}
