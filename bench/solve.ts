// One solver call as the scaling, tiles and strategy scenarios time it: A (an HPD matrix on the
// devices) regenerated with fillRandom before every run, outside the timed region.
import { DTYPES, Mesh, potri, potrs, ShardedMatrix, syevd, type DType, type Routine, type Strategy } from "../lib/index.ts";
import type { BenchArgs } from "./args.ts";
import { timeRepeats, type Timed } from "./timing.ts";

export interface SolveOptions {
  strategy: Strategy;
  /** the multi path's tile (default: the library's defaultTileSize) */
  tileSize?: number;
}

/** One call of `routine` on A (B: potrs' right-hand side). */
export function solve(routine: Routine, A: ShardedMatrix, B: Float32Array | Float64Array, options: SolveOptions): void {
  if (routine === "potrs") potrs(A, B, options);
  else if (routine === "potri") potri(A, options);
  else syevd(A, { vectors: true, ...options });
}

/** A right-hand side of ones for an n x n matrix of `dtype`. */
export function onesRhs(dtype: DType, n: number): Float32Array | Float64Array {
  const info = DTYPES[dtype];
  return new info.storage(n * info.components).fill(1);
}

/** Median seconds of `repeats` calls after one warm-up, A regenerated before each. */
export function timeSolve(routine: Routine, A: ShardedMatrix, options: SolveOptions, repeats: number, onRun?: (run: number, s: number) => void): Timed {
  const B = onesRhs(A.dtype, A.rows);
  return timeRepeats(() => solve(routine, A, B, options), {
    repeats,
    before: () => {
      if (A.layout !== "rows") A.fromCyclic(); // multi potrs leaves the factor cyclic
      A.fillRandom({ kind: "hpd", seed: 1 });
    },
    onRun,
  });
}

/** The first device of the mesh alone: Mesh.cuda([first]) or Mesh.host(1). */
export function openFirst(args: BenchArgs): Mesh {
  return args.backend === "cuda" ? Mesh.cuda([args.devices[0]]) : Mesh.host(1);
}
