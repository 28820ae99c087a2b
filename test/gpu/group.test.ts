// Groups on CUDA: SPMD Workers (pointers shared in one process) and MPMD processes (CUDA IPC), on
// [0, 1] with two GPUs or [0, 0] with one, against single-process mode on the same devices; two
// MPMD jobs on the same GPUs at once, also with one job id; a killed rank 0's meeting, never
// joined by the job's relaunch; and a rank failing at each step of the protocol (killed,
// throwing, its Worker exiting, stalling), after which the others must name it within the group
// timeout and nothing of the job may stay in /dev/shm. Skipped without a GPU.
import { describe, expect, test } from "bun:test";
import { Mesh, newJobId, runSpmd } from "../../lib/index.ts";
import type { RankResult, RankSpec } from "../fixtures/group-rank.ts";
import {
  expectKilled,
  expectSameAsSingleProcess,
  expectSpmdRankFailed,
  expectSpmdStalled,
  expectStalled,
  failingSpmdJob,
  failureCases,
  FAULT_OPS,
  FIXTURE,
  launchJob,
  segmentsOf,
  TIMEOUT_MS,
} from "../group-checks.ts";
import { expectAllSucceeded, newLaunch, relaunchAfterKilledRank0 } from "../group-launches.ts";
import { longTimeouts } from "../timeout.ts";
import { gpus, gpuSuite } from "./gpus.ts";

longTimeouts();

const ids = gpus >= 2 ? [0, 1] : [0, 0];
const spec: RankSpec = { n: 700, dtype: "float64", tile: 64, seed: 11, ops: ["potrs", "potri", "syevd", "eigenvalues", "fill-potrs", "npd"], timeoutMs: 30_000 };
const compare = { mesh: () => Mesh.cuda(ids), tolerance: 1e-9 };
/** The failure cases: small, so that each costs little beyond its processes' start. */
const failing = (die: RankSpec["die"]): RankSpec => ({ n: 200, dtype: "complex128", tile: 32, seed: 5, ops: FAULT_OPS, die });
const cuda = { backend: "cuda" } as const;

const hasGpu = gpuSuite(`groups on CUDA ${JSON.stringify(ids)}`);

if (hasGpu) describe(`groups on CUDA ${JSON.stringify(ids)}`, () => {
  test("SPMD: a Worker per GPU equals single-process mode", async () => {
    const results = await runSpmd<RankResult>({ module: FIXTURE, backend: "cuda", devices: ids, data: spec, timeoutMs: 30_000 });
    expectSameAsSingleProcess(spec, results, compare);
  });

  test("MPMD: a process per GPU (CUDA IPC) equals single-process mode", async () => {
    const job = await launchJob(spec, ids, { ...cuda, timeoutMs: 30_000 });
    expect(job.other).toEqual([]);
    expect(job.exitCode).toBe(0);
    expectSameAsSingleProcess(spec, job.outputs.map((o) => o.result), compare);
    expect(segmentsOf(job.job)).toEqual([]);
  });

  test("MPMD: two jobs on the same GPUs at once, each equal to single-process mode", async () => {
    const other: RankSpec = { ...spec, dtype: "complex128", n: 531, tile: 32, seed: 12 };
    const jobs = await Promise.all([spec, other].map((s) => launchJob(s, ids, { ...cuda, timeoutMs: 30_000 })));
    jobs.forEach((job, i) => {
      expect({ job: i, exitCode: job.exitCode, other: job.other }).toEqual({ job: i, exitCode: 0, other: [] });
      expectSameAsSingleProcess([spec, other][i], job.outputs.map((o) => o.result), compare);
      expect(segmentsOf(job.job)).toEqual([]);
    });
  });

  test("MPMD: two launches with one job id at once, each equal to single-process mode (never mixed)", async () => {
    const job = `twice-${newJobId()}`;
    const other: RankSpec = { ...spec, dtype: "complex64", n: 433, tile: 32, seed: 13 };
    const jobs = await Promise.all([spec, other].map((s) => launchJob(s, ids, { ...cuda, timeoutMs: 30_000, job })));
    jobs.forEach((j, i) => {
      expect({ job: i, exitCode: j.exitCode, other: j.other }).toEqual({ job: i, exitCode: 0, other: [] });
      expectSameAsSingleProcess([spec, other][i], j.outputs.map((o) => o.result), compare);
    });
    expect(segmentsOf(job)).toEqual([]);
  });

  test("MPMD: a killed rank 0's meeting is never joined; the job relaunched with rank 0 last equals single-process mode", async () => {
    const s: RankSpec = { n: 200, dtype: "complex128", tile: 32, seed: 6, ops: FAULT_OPS, timeoutMs: 30_000 };
    const launch = newLaunch(ids.length, { backend: "cuda", devices: ids });
    // rank 0 starts once the others have had time to load CUDA and meet the dead meeting
    expectSameAsSingleProcess(s, expectAllSucceeded(await relaunchAfterKilledRank0(s, launch, 5000)), compare);
    expect(segmentsOf(launch.job)).toEqual([]);
  });

  // Without the launcher's sweep: what the job leaves, the survivors must have removed. The
  // grace lets the survivors exit by themselves, however slowly CUDA tears down.
  test.each(failureCases([1, 0]))("MPMD: rank %d killed (SIGKILL) at %s: the others fail with PEER_LOST naming it", async (rank, step) => {
    const s = failing({ rank, step, how: "kill" });
    expectKilled(await launchJob(s, ids, { ...cuda, sweep: false, graceMs: TIMEOUT_MS }), s, compare);
  });

  test("MPMD: a rank that never arrives: TIMEOUT naming it after the group timeout; the launcher terminates it", async () => {
    const s = failing({ rank: 1, step: "before:potri", how: "hang" });
    const job = await launchJob(s, ids, { ...cuda, graceMs: 200 });
    expectStalled(job, s);
    expect(job.ms).toBeLessThan(TIMEOUT_MS + 10_000); // the processes' start, the timeout, the grace
  });

  test.each(failureCases([1]))("SPMD: rank %d throws at %s: the others fail at once with PEER_LOST naming it", async (rank, step) => {
    const s = failing({ rank, step, how: "throw" });
    expectSpmdRankFailed(await failingSpmdJob(s, ids, cuda), s);
  });

  test.each(failureCases([0]))("SPMD: rank %d's Worker exits at %s: the others fail at once with PEER_LOST naming it", async (rank, step) => {
    const s = failing({ rank, step, how: "exit" });
    expectSpmdRankFailed(await failingSpmdJob(s, ids, cuda), s);
  });

  test("SPMD: a rank that never arrives: TIMEOUT naming it after the group timeout, then it is terminated", async () => {
    const s = failing({ rank: 1, step: "before:potri", how: "hang" });
    expectSpmdStalled(await failingSpmdJob(s, ids, { ...cuda, graceMs: 200 }), s, 5000);
  });
});
