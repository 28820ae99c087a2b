// The soak of mixed solves shared by the host soak (test/faults.test.ts) and the GPU soak
// (test/gpu/soak.test.ts). planSoak draws every round up front from one seed (mesh, dtype, N,
// tile, strategy, kind and the kind's own draw), so that rounds can be run again as they were;
// runRounds runs them through the reference checks of test/checks.ts.
import { expect } from "bun:test";
import { cholesky, cyclicPlan, defaultTileSize, ShardedMatrix, type DType, type Mesh, type Routine } from "../lib/index.ts";
import { checkCholesky, checkNotPositiveDefinite, checkPotri, checkPotrs, checkSyevd, type SolverCase } from "./checks.ts";
import { ALL_DTYPES, bitsEqual, components, failCopyAfter, randInt, randomSPD, rng, store } from "./helpers.ts";

/** In draw order: a round's kind is SOAK_KINDS[randInt(0, 5)]. */
export const SOAK_KINDS = ["potrs", "cholesky", "potri", "syevd", "not positive definite", "fault"] as const;
export type SoakKind = (typeof SOAK_KINDS)[number];

/** Solver calls per kind: potrs with 1 and 3 right-hand sides; cholesky, 5 solves, logDet and
 * inverse; potri; syevd with vectors twice and values only; cholesky, potrs and potri of a
 * matrix that is not positive definite; a cholesky with a copy failing, then one that works and
 * its solve. */
const CALLS: Record<SoakKind, number> = { potrs: 2, cholesky: 8, potri: 1, syevd: 3, "not positive definite": 3, fault: 2 };

/** The routines (for their workspace) each kind runs. */
export const SOAK_ROUTINES: Record<SoakKind, readonly Routine[]> = {
  potrs: ["potrs"],
  cholesky: ["potrs", "potri"],
  potri: ["potri"],
  syevd: ["syevd"],
  "not positive definite": ["potrs", "potri"],
  fault: ["potrs"],
};

export interface SoakRound {
  index: number;
  kind: SoakKind;
  mesh: Mesh;
  dtype: DType;
  cs: SolverCase;
  /** the seed of the round's data */
  seed: number;
  /** "not positive definite": the 0-based diagonal made negative; "fault": the copy that fails
   * (the plan's copy count: none fails) */
  at: number;
}

export interface SoakOptions {
  meshes: readonly Mesh[];
  rounds: number;
  seed: number;
  /** N of a round: one of these, uniformly */
  sizes: readonly number[];
  /** default: every dtype */
  dtypes?: readonly DType[];
  /** the tile of the three rounds in four that set one (default: uniform in [1, N + 2]) */
  tile?: (r: () => number, n: number) => number;
}

export interface SoakResult {
  rounds: SoakRound[];
  /** rounds per kind, in order of first appearance */
  counts: Record<string, number>;
  /** solver calls made, each checked */
  calls: number;
  /** injected copy failures that fired */
  faults: number;
}

/** The tile `routine` runs with in `round`: the round's, else what the check passes (the
 * routine's default; N for the not-positive-definite and fault rounds). */
export function tileFor(round: SoakRound, routine: Routine): number {
  const { kind, dtype, cs } = round;
  if (cs.T !== undefined) return cs.T;
  return kind === "fault" || kind === "not positive definite" ? cs.n : defaultTileSize(routine, dtype, cs.n);
}

/** Every round of a soak, drawn in the order the host soak has always drawn them. */
export function planSoak(options: SoakOptions): SoakRound[] {
  const r = rng(options.seed);
  const dtypes = options.dtypes ?? ALL_DTYPES;
  const tile = options.tile ?? ((r: () => number, n: number) => randInt(r, 1, n + 2));
  return Array.from({ length: options.rounds }, (_, index) => {
    const mesh = options.meshes[randInt(r, 0, options.meshes.length - 1)];
    const dtype = dtypes[randInt(r, 0, dtypes.length - 1)];
    const n = options.sizes[randInt(r, 0, options.sizes.length - 1)];
    const cs: SolverCase = {
      n,
      ...(r() < 0.25 ? {} : { T: tile(r, n) }),
      ...(r() < 0.25 ? { strategy: "single" as const } : r() < 0.5 ? { strategy: "multi" as const } : {}),
    };
    const round: SoakRound = { index, kind: SOAK_KINDS[randInt(r, 0, SOAK_KINDS.length - 1)], mesh, dtype, cs, seed: 1000 + index, at: 0 };
    if (round.kind === "not positive definite") round.at = randInt(r, 0, n - 1);
    if (round.kind === "fault") round.at = randInt(r, 0, cyclicPlan(n, tileFor(round, "potrs"), mesh.size).copies);
    return round;
  });
}

/** A multi-device cholesky with copy `at` failing: DEVICE_ERROR and A bit for bit in row layout
 * (or no failure when `at` is the copy count); then the same A factors and solves. Returns the
 * failures that fired (0 or 1). */
function faultThenRetry(round: SoakRound): number {
  const { mesh, dtype, cs, seed, at } = round;
  const options = { tileSize: tileFor(round, "potrs"), strategy: "multi" as const };
  const host = store(dtype, randomSPD(cs.n, components(dtype), seed));
  using A = ShardedMatrix.fromHost(mesh, host, { rows: cs.n, cols: cs.n, dtype });
  const fails = at < cyclicPlan(cs.n, options.tileSize, mesh.size).copies;
  let error: unknown;
  failCopyAfter(mesh, at);
  try {
    cholesky(A, options);
  } catch (e) {
    error = e;
  } finally {
    failCopyAfter(mesh, -1);
  }
  if (fails) {
    expect(error).toMatchObject({ code: "DEVICE_ERROR", message: expect.stringContaining("restored to its row layout") });
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
  } else expect(error).toBeUndefined();
  if (A.layout === "cyclic") A.fromCyclic();
  cholesky(A, options).solve(store(dtype, new Float64Array(cs.n * components(dtype)).fill(1)));
  return fails ? 1 : 0;
}

/** What a round of each kind runs; "fault" returns the injected failures that fired. */
const RUN: Record<SoakKind, (round: SoakRound) => number | void> = {
  potrs: ({ mesh, dtype, cs, seed }) => checkPotrs(mesh, dtype, cs, seed),
  cholesky: ({ mesh, dtype, cs, seed }) => checkCholesky(mesh, dtype, cs, seed),
  potri: ({ mesh, dtype, cs, seed }) => checkPotri(mesh, dtype, cs, seed),
  syevd: ({ mesh, dtype, cs, seed }) => checkSyevd(mesh, dtype, cs, seed),
  "not positive definite": (round) => checkNotPositiveDefinite(round.mesh, round.dtype, round.cs.n, tileFor(round, "potrs"), round.at, round.cs.strategy),
  fault: faultThenRetry,
};

/** Runs `rounds` in order, calling `afterRound` after each (for checks of the meshes). */
export function runRounds(rounds: readonly SoakRound[], afterRound?: (round: SoakRound) => void): SoakResult {
  const result: SoakResult = { rounds: [...rounds], counts: {}, calls: 0, faults: 0 };
  for (const round of rounds) {
    result.counts[round.kind] = (result.counts[round.kind] ?? 0) + 1;
    result.faults += RUN[round.kind](round) ?? 0;
    result.calls += CALLS[round.kind];
    afterRound?.(round);
  }
  return result;
}

/** planSoak, then runRounds. */
export function runSoak(options: SoakOptions & { afterRound?: (round: SoakRound) => void }): SoakResult {
  return runRounds(planSoak(options), options.afterRound);
}

/** "30 potrs, 37 potri, ...": the rounds per kind, for summaries. */
export function describeRounds(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(", ");
}
