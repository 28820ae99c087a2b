// Shared by the group tests (host and CUDA): the rank fixture, the single-process reference it
// must match, jobs of it in both modes, the failures it can be made to have at each step of the
// protocol and what the other ranks must then report, and what a job leaves in /dev/shm.
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  DTYPES,
  GroupError,
  Mesh,
  newJobId,
  potri,
  potrs,
  runSpmd,
  ShardedMatrix,
  startLaunch,
  sweepSharedMemory,
  syevd,
  type Backend,
  type DType,
  type LaunchedJob,
  type LaunchResult,
} from "../lib/index.ts";
import { opMatrix, opRhs, type Op, type OpResult, type RankResult, type RankSpec } from "./fixtures/group-rank.ts";
import { bitsEqual } from "./helpers.ts";

export const FIXTURE = join(import.meta.dir, "fixtures", "group-rank.ts");
/** The group timeout of the tests: short, so that failure tests stay quick. */
export const TIMEOUT_MS = 3000;
export const ALL_OPS: Op[] = ["potrs", "potri", "syevd", "eigenvalues", "fill-potrs", "npd", "nan-rhs"];

/** /dev/shm entries of `job`. */
export function segmentsOf(job: string): string[] {
  return readdirSync("/dev/shm").filter((f) => f === `bunmg-${job}` || f.startsWith(`bunmg-${job}.`));
}

/** The shard segments of `rank` of `job`: bunmg-<job>.<meeting id>.r<rank>.<n>. */
export function shardsOf(job: string, rank: number): string[] {
  return segmentsOf(job).filter((f) => new RegExp(`^bunmg-${job}\\.[0-9a-f]{16}\\.r${rank}\\.\\d+$`).test(f));
}

function decode(dtype: DType, b64: string): Float32Array | Float64Array {
  const buf = Buffer.from(b64, "base64");
  return new DTYPES[dtype].storage(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

interface Expected {
  x?: Float32Array | Float64Array;
  values?: Float32Array | Float64Array;
  full?: Float32Array | Float64Array;
  error?: { code: string; index?: number };
}

export interface CompareOptions {
  /** the single-process mesh (default: a host mesh of one position per rank: rank 0's path) */
  mesh?: () => Mesh;
  /** 0 (default): bit for bit; else the largest difference allowed, relative to the largest
   * magnitude of the reference */
  tolerance?: number;
}

/** What single-process mode gives for `op` on the mesh, on the path auto takes there as the
 * group's rank 0 does (by default a host mesh of `size`
 * positions: the same code path as rank 0's, so the same bits). */
function reference(spec: RankSpec, op: Op, size: number, options: CompareOptions): Expected {
  using mesh = options.mesh?.() ?? Mesh.host(size);
  const { n, dtype, tile: tileSize } = spec;
  using A = op === "fill-potrs" ? ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { seed: spec.seed }) : ShardedMatrix.fromHost(mesh, opMatrix(spec, op) as never, { rows: n, cols: n, dtype });
  if (op === "npd") return { error: { code: "NOT_POSITIVE_DEFINITE", index: Math.floor(n / 2) + 1 } };
  // B[3] is element 3, or element 1's imaginary part for complex B; A comes back as it was
  if (op === "nan-rhs") return { error: { code: "INVALID_ARGUMENT", index: Math.floor(3 / DTYPES[dtype].components) }, full: opMatrix(spec, "potrs") as Float64Array };
  if (op === "potrs" || op === "fill-potrs") {
    const x = potrs(A, opRhs(spec) as never, { tileSize, keep: true });
    return { x, full: A.toHost() }; // group potrs leaves A as it was
  }
  if (op === "potri") return { full: potri(A, { tileSize }).toHost() };
  const { values } = syevd(A, { tileSize, vectors: op === "syevd" });
  return op === "syevd" ? { values, full: A.toHost() } : { values };
}

/** a equals b bit for bit, or within tolerance * max |b|. */
function close(a: Float32Array | Float64Array, b: Float32Array | Float64Array, tolerance: number): boolean {
  if (tolerance === 0 || a.length !== b.length) return bitsEqual(a, b);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tolerance * scale)) return false;
  return true;
}

function expectOp(spec: RankSpec, rank: RankResult, got: OpResult, want: Expected, tolerance: number): void {
  const where = `rank ${rank.rank}, ${got.op}`;
  if (want.error) {
    expect({ where, code: got.error?.code, index: got.error?.index }).toEqual({ where, code: want.error.code, index: want.error.index });
    if (want.full) expect({ where, unchanged: got.rows !== undefined && bitsEqual(decode(spec.dtype, got.rows), want.full.subarray(rank.start * spec.n * DTYPES[spec.dtype].components, rank.end * spec.n * DTYPES[spec.dtype].components)) }).toEqual({ where, unchanged: true });
    return;
  }
  expect({ where, error: got.error }).toEqual({ where, error: undefined });
  const same = (b64: string | undefined, ref: Float32Array | Float64Array) => b64 !== undefined && close(decode(spec.dtype, b64), ref, tolerance);
  if (want.x) expect({ where, x: same(got.x, want.x) }).toEqual({ where, x: true });
  if (want.values) expect({ where, values: same(got.values, want.values) }).toEqual({ where, values: true });
  if (want.full) {
    const values = spec.n * DTYPES[spec.dtype].components;
    expect({ where, rows: same(got.rows, want.full.subarray(rank.start * values, rank.end * values)) }).toEqual({ where, rows: true });
  }
}

/** Every rank's results equal single-process mode's (bit for bit by default). A rank given as
 * undefined is left out (one that died after its last collective). */
export function expectSameAsSingleProcess(spec: RankSpec, results: (RankResult | undefined)[], options: CompareOptions = {}): void {
  const size = results.length;
  const s = Math.ceil(spec.n / size);
  const present = results.filter((r): r is RankResult => r !== undefined);
  results.forEach((r, rank) => {
    if (r === undefined) return;
    expect(r.rank).toBe(rank);
    expect([r.start, r.end]).toEqual([Math.min(rank * s, spec.n), Math.min((rank + 1) * s, spec.n)]);
    expect(r.results.map((o) => o.op)).toEqual(spec.ops);
  });
  spec.ops.forEach((op, i) => {
    const want = reference(spec, op, size, options);
    for (const r of present) expectOp(spec, r, r.results[i], want, options.tolerance ?? 0);
  });
}

// ---- failures at each step of the protocol ----

/** The ops of the failure tests: one of each collective solver. */
export const FAULT_OPS: Op[] = ["potrs", "potri", "syevd"];

/** Every step the fixture announces for `ops`, in order: a rank can be made to fail at each. */
export function protocolSteps(ops: readonly Op[] = FAULT_OPS): string[] {
  return ["joined", ...ops.flatMap((op) => [`before:${op}`, `after:${op}`])];
}

/** [rank, step] for each rank of `ranks` at each step of FAULT_OPS. */
export function failureCases(ranks: readonly number[]): [number, string][] {
  return ranks.flatMap((rank) => protocolSteps().map((step): [number, string] => [rank, step]));
}

/** Whether a rank failing at `step` breaks the group: the others notice unless it failed after
 * its part in the last collective. */
export function breaksGroup(step: string, ops: readonly Op[]): boolean {
  return step !== `after:${ops.at(-1)}`;
}

// ---- MPMD: a process per rank (startLaunch, as `bunmg launch` does) ----

export interface RankOutput<R = RankResult> {
  steps: string[];
  /** when each step's line arrived (performance.now()) */
  stepAt: Record<string, number>;
  result?: R;
  error?: { code: string; device?: number; message: string };
  errorAt?: number;
}

export interface JobOptions {
  backend?: Backend;
  /** the group timeout (default TIMEOUT_MS) */
  timeoutMs?: number;
  /** default: the group timeout (a rank still running that long after the first one exited is
   * terminated) */
  graceMs?: number;
  sweep?: boolean;
  /** default: a random one */
  job?: string;
  /** the rank script, given the spec in BUNMG_TEST_SPEC (default: the group fixture) */
  script?: string;
  /** called on each "STEP" line of a rank */
  onStep?: (rank: number, step: string, job: LaunchedJob) => void;
}

export type JobOutcome<R = RankResult> = LaunchResult & { outputs: RankOutput<R>[]; other: string[]; ms: number; finishedAt: number; timeoutMs: number };

/** Launches the fixture (options.script: another rank script) with `spec` on `devices` (a count:
 * host ranks 0..n-1) and waits for it. */
export async function launchJob<R = RankResult>(spec: RankSpec | object, devices: number | number[], options: JobOptions = {}): Promise<JobOutcome<R>> {
  const ids = typeof devices === "number" ? Array.from({ length: devices }, (_, i) => i) : devices;
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const outputs: RankOutput<R>[] = ids.map(() => ({ steps: [], stepAt: {} }));
  const other: string[] = [];
  const started = performance.now();
  const launched: LaunchedJob = startLaunch({
    script: options.script ?? FIXTURE,
    devices: ids,
    backend: options.backend ?? "host",
    timeoutMs,
    graceMs: options.graceMs ?? timeoutMs,
    sweep: options.sweep,
    job: options.job,
    env: { BUNMG_TEST_SPEC: JSON.stringify(spec) },
    onLine: (rank, _, line) => {
      const out = outputs[rank];
      if (line.startsWith("STEP ")) {
        const step = line.slice(5);
        out.steps.push(step);
        out.stepAt[step] = performance.now();
        options.onStep?.(rank, step, launched);
      } else if (line.startsWith("RESULT ")) out.result = JSON.parse(line.slice(7));
      else if (line.startsWith("ERROR ")) {
        out.error = JSON.parse(line.slice(6));
        out.errorAt = performance.now();
      } else other.push(`[rank ${rank}] ${line}`);
    },
  });
  const result = await launched.finished;
  const finishedAt = performance.now();
  return { ...result, outputs, other, ms: finishedAt - started, finishedAt, timeoutMs };
}

/** The ranks other than `dead` failed with `code` naming `dead`, and the job left nothing. */
export function expectFailedBy(job: JobOutcome<unknown>, dead: number, code: string): void {
  job.outputs.forEach((out, rank) => {
    if (rank === dead) return;
    expect({ rank, error: out.error?.code, device: out.error?.device }).toEqual({ rank, error: code, device: dead });
  });
  expect(job.exitCode).not.toBe(0);
  expect(segmentsOf(job.job)).toEqual([]);
}

/** Rank `dead` SIGKILLed itself at the spec's step. When that broke the group, the others failed
 * with PEER_LOST naming it, having noticed its death well before the group timeout, and removed
 * what the job had in /dev/shm (the job runs without the launcher's sweep). Killed after its
 * last collective, it leaves the others to finish with single-process mode's results; only its
 * own shard segments (host backend) may stay, for the next group's sweep. */
export function expectKilled(job: JobOutcome, spec: RankSpec, compare: CompareOptions = {}): void {
  const { rank: dead, step } = spec.die!;
  const diedAt = job.outputs[dead].stepAt[step];
  console.log(`rank ${dead} killed at ${step}: the job ended ${(job.finishedAt - diedAt).toFixed(0)} ms later (${job.ms.toFixed(0)} ms in all)`);
  expect(job.ranks[dead].signal).toBe("SIGKILL");
  expect(job.outputs[dead].steps.at(-1)).toBe(step);
  expect(job.finishedAt - diedAt).toBeLessThan(job.timeoutMs);
  if (breaksGroup(step, spec.ops)) {
    expectFailedBy(job, dead, "PEER_LOST");
    job.outputs.forEach((out, rank) => {
      if (rank === dead) return;
      expect(out.error?.message).toContain(`rank ${dead} died (its process`);
      expect(out.errorAt! - diedAt).toBeLessThan(job.timeoutMs / 2);
    });
    return;
  }
  expectSameAsSingleProcess(spec, job.outputs.map((o, rank) => (rank === dead ? undefined : o.result)), compare);
  expect(segmentsOf(job.job).filter((s) => !shardsOf(job.job, dead).includes(s))).toEqual([]);
  sweepSharedMemory({ job: job.job }); // what the next group does: its owner is gone
  expect(segmentsOf(job.job)).toEqual([]);
}

/** Rank `hung` stalled at the spec's step: the others failed with TIMEOUT naming it once the
 * group timeout had passed (within a second more), and the launcher terminated it after the
 * grace. */
export function expectStalled(job: JobOutcome, spec: RankSpec): void {
  const { rank: hung, step } = spec.die!;
  const op = step.replace(/^before:/, "");
  const stalledAt = job.outputs[hung].stepAt[step];
  expect(job.ranks[hung].signal).toBe("SIGTERM");
  expectFailedBy(job, hung, "TIMEOUT");
  job.outputs.forEach((out, rank) => {
    if (rank === hung) return;
    expect(out.error?.message).toContain(`rank ${hung} did not arrive at ${op} within ${job.timeoutMs} ms`);
    expect(out.errorAt! - stalledAt).toBeGreaterThanOrEqual(job.timeoutMs - 500);
    expect(out.errorAt! - stalledAt).toBeLessThan(job.timeoutMs + 1000);
  });
}

// ---- SPMD: a Worker per rank (runSpmd) ----

export interface SpmdOptions {
  backend?: Backend;
  graceMs?: number;
}

/** Runs the fixture on a Worker per device of `devices` (a count: host ranks 0..n-1) with the
 * group timeout TIMEOUT_MS; checks that the job left nothing in /dev/shm. */
export async function runSpmdJob(spec: RankSpec, devices: number | number[], options: SpmdOptions = {}) {
  const job = newJobId();
  const started = performance.now();
  try {
    const results = await runSpmd<RankResult>({ module: FIXTURE, backend: options.backend ?? "host", devices, data: spec, timeoutMs: TIMEOUT_MS, job, graceMs: options.graceMs });
    return { results, job, ms: performance.now() - started };
  } finally {
    expect(segmentsOf(job)).toEqual([]);
  }
}

/** Runs a job that must fail; returns its GroupError and how long it took. */
export async function failingSpmdJob(spec: RankSpec, devices: number | number[], options: SpmdOptions = {}) {
  const started = performance.now();
  const error = await runSpmdJob(spec, devices, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GroupError);
  return { error: error as GroupError, ms: performance.now() - started };
}

/** Rank `hung` stalled at the spec's step of an SPMD job: the others failed with TIMEOUT naming it
 * once the group timeout had passed, then it was terminated, all within `slackMs` more (the
 * Workers' start and the grace). */
export function expectSpmdStalled({ error, ms }: { error: GroupError; ms: number }, spec: RankSpec, slackMs: number): void {
  const { rank: hung, step } = spec.die!;
  expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
  expect(ms).toBeLessThan(TIMEOUT_MS + slackMs);
  error.errors.forEach((e, rank) => {
    expect(e).toMatchObject({ code: "TIMEOUT", device: hung });
    expect(e?.message).toContain(rank === hung ? "terminated" : `rank ${hung} did not arrive at ${step.replace(/^before:/, "")} within ${TIMEOUT_MS} ms`);
  });
}

/** Rank `dead` threw, or its Worker exited, at the spec's step. When that broke the group, every
 * other rank failed with PEER_LOST naming it, within the group timeout of the job's start;
 * failed after its last collective, it leaves the others to succeed. */
export function expectSpmdRankFailed({ error, ms }: { error: GroupError; ms: number }, spec: RankSpec): void {
  const { rank: dead, step, how } = spec.die!;
  if (how === "throw") {
    expect(error.errors[dead]?.message).toContain(`rank ${dead} fails at ${step} on purpose`);
    expect((error.cause as Error).message).toContain("on purpose"); // the root cause, not a PEER_LOST
  } else expect(error.errors[dead]).toMatchObject({ code: "PEER_LOST", device: dead });
  const broken = breaksGroup(step, spec.ops);
  if (broken) expect(error).toMatchObject({ code: "PEER_LOST", device: dead });
  error.errors.forEach((e, rank) => {
    if (rank === dead) return;
    if (!broken) return expect({ rank, error: e }).toEqual({ rank, error: undefined });
    expect(e).toMatchObject({ code: "PEER_LOST", device: dead });
    expect(e?.message).toContain(how === "throw" ? `rank ${dead} left the group` : `rank ${dead} ended (its thread`);
  });
  expect(ms).toBeLessThan(TIMEOUT_MS);
}
