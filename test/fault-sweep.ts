// An allocation or solver failure injected at every allocation / solver call of a routine, one
// run per index on a fresh mesh, until the routine runs through. Shared by the host fault tests
// and the GPU ones: each failure must be OUT_OF_MEMORY / SOLVER_ERROR from the injection, leave
// A in its documented post-state (docs/reliability.md) and give back every byte beyond what the
// mesh caches (the warm level of a successful run; 0 on the host backend).
import { expect } from "bun:test";
import { BunmgError, type BunmgErrorCode, Mesh, potri, potrs, ShardedMatrix, syevd, type DType } from "../lib/index.ts";
import { bitsEqual, components, heldBytes, injectFault, randomHermitian, randomSPD, store, type Fault } from "./helpers.ts";

export type SweptRoutine = "potrs" | "potri" | "syevd" | "syevd-values";
export type SweptPath = "multi" | "single";

export interface SweepShape {
  n: number;
  T: number;
  dtype: DType;
}

/** How the failures ended, by post-state. */
export interface SweepCounts {
  /** faults that fired */
  fired: number;
  unchanged: number;
  /** potrs, multi: the solve step failed, A holds the factor (cyclic), as after success */
  factor: number;
  /** potri / syevd: the copy home failed after the solver ran: A cyclic, holding the result */
  cyclic: number;
  /** syevd with vectors / potri, multi: the solver ran in place, A in row layout, contents undefined */
  overwritten: number;
  /** the fault fired and the library worked around it (an allocation-free fallback): success */
  absorbed: number;
}

/** The faults that count events (the FACTOR_* ones falsify a result instead: test/verify.test.ts). */
export type SweptFault = Extract<Fault, "alloc" | "solver">;
const EXPECTED_CODE: Record<SweptFault, BunmgErrorCode> = { alloc: "OUT_OF_MEMORY", solver: "SOLVER_ERROR" };

function runRoutine(routine: SweptRoutine, A: ShardedMatrix, path: SweptPath, T: number): void {
  const options = { tileSize: T, strategy: path } as const;
  if (routine === "potrs") {
    const b = new (A.dtype === "float32" || A.dtype === "complex64" ? Float32Array : Float64Array)(A.rows * components(A.dtype)).fill(1);
    potrs(A, b as never, options);
  } else if (routine === "potri") potri(A, options);
  else syevd(A, { ...options, vectors: routine === "syevd" });
}

/** One run with `fault` armed at index `at` (or none): the error, and A's state. */
function attempt(makeMesh: () => Mesh, s: SweepShape, routine: SweptRoutine, path: SweptPath, fault: SweptFault, at: number) {
  using mesh = makeMesh();
  const c = components(s.dtype);
  const host = store(s.dtype, routine.startsWith("syevd") ? randomHermitian(s.n, c, 7 + s.n) : randomSPD(s.n, c, 7 + s.n));
  const A = ShardedMatrix.fromHost(mesh, host as never, { rows: s.n, cols: s.n, dtype: s.dtype });
  let error: BunmgError | undefined;
  let pending = -1;
  injectFault(mesh, fault, at);
  try {
    runRoutine(routine, A, path, s.T);
  } catch (e) {
    if (!(e instanceof BunmgError)) throw e;
    error = e;
  } finally {
    pending = injectFault(mesh, fault, -1);
  }
  const layout = A.layout;
  const unchanged = layout === "rows" && bitsEqual(A.toHost(), host);
  if (layout === "cyclic") A.fromCyclic(); // a consistent matrix in every post-state
  A.dispose();
  return { error, fired: at >= 0 && pending < 0, layout, unchanged, leftover: heldBytes(mesh) };
}

/** Sweeps every index; `makeMesh` gives a fresh mesh per run. */
export function sweepFaults(makeMesh: () => Mesh, s: SweepShape, routine: SweptRoutine, path: SweptPath, fault: SweptFault): SweepCounts {
  const warm = attempt(makeMesh, s, routine, path, fault, -1);
  expect(warm.error).toBeUndefined();
  const counts: SweepCounts = { fired: 0, unchanged: 0, factor: 0, cyclic: 0, overwritten: 0, absorbed: 0 };
  for (let at = 0; ; at++) {
    const r = attempt(makeMesh, s, routine, path, fault, at);
    const where = `${routine} ${path} ${s.dtype} N=${s.n} T=${s.T}, ${fault} fault #${at}`;
    if (!r.fired) {
      expect(r.error, where).toBeUndefined();
      break; // the routine has fewer than `at` + 1 such events: every one was tried
    }
    counts.fired++;
    if (r.error === undefined) {
      counts.absorbed++;
      continue;
    }
    expect(r.error.code, `${where}: ${r.error.message}`).toBe(EXPECTED_CODE[fault]);
    expect(r.error.message, where).toContain("injected: debug_inject");
    r.leftover.forEach((bytes, d) => expect(bytes, `${where}: bytes held on position ${d}`).toBeLessThanOrEqual(warm.leftover[d]));
    const message = r.error.message;
    if (r.unchanged) counts.unchanged++;
    else if (r.layout === "cyclic" && routine === "potrs" && path === "multi" && message.startsWith("cholesky_solve:")) counts.factor++;
    else if (r.layout === "cyclic" && routine !== "potrs" && /(restored to|stays in) its cyclic layout/.test(message)) counts.cyclic++;
    else if (r.layout === "rows" && (routine === "syevd" || routine === "potri") && message.includes("overwritten by the solver")) counts.overwritten++;
    else throw new Error(`${where}: A is neither unchanged nor in a documented post-state (${r.layout}): ${message}`);
    if (at > 500) throw new Error(`${where}: the routine never ran through`);
  }
  expect(counts.fired, `${routine} ${path}: no ${fault} fault fired`).toBeGreaterThan(0);
  return counts;
}

/** "3 unchanged, 1 cyclic", the non-zero outcomes. */
export function describeCounts(c: SweepCounts): string {
  return (["unchanged", "factor", "cyclic", "overwritten", "absorbed"] as const)
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}`)
    .join(", ");
}
