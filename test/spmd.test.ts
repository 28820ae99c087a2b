// SPMD mode: one Bun Worker per rank (runSpmd), host backend. Results must equal single-process
// mode's bit for bit; a rank that fails, dies or never arrives must fail the others within the
// group timeout, naming it, and leave nothing in /dev/shm.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GroupError, runSpmd, type DType } from "../lib/index.ts";
import type { RankSpec } from "./fixtures/group-rank.ts";
import { ALL_OPS, expectSameAsSingleProcess, expectSpmdRankFailed, expectSpmdStalled, failingSpmdJob, failureCases, FAULT_OPS, FIXTURE, runSpmdJob, TIMEOUT_MS } from "./group-checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const base = (dtype: DType, n: number, tile: number): RankSpec => ({ n, dtype, tile, seed: 5 + n, ops: ALL_OPS });

describe("SPMD (Workers, host backend)", () => {
  test.each([
    [2, "float64", 37, 8],
    [3, "complex128", 29, 4],
    [4, "float32", 40, 8],
    [4, "complex64", 3, 2], // fewer rows than ranks: rank 3 holds none
  ] as const)("%d ranks, %s: potrs, potri, syevd, fill equal single-process mode bit for bit", async (size, dtype, n, tile) => {
    const spec = base(dtype, n, tile);
    const { results } = await runSpmdJob(spec, size);
    expectSameAsSingleProcess(spec, results);
  });

  test("a call that differs between ranks fails on every rank, naming the rank; the group goes on", async () => {
    const spec: RankSpec = { ...base("float64", 20, 4), ops: ["potrs", "potri"], mismatch: 2 };
    const { results } = await runSpmdJob(spec, 3);
    for (const r of results) {
      expect(r.results[0].error?.code).toBe("INVALID_ARGUMENT");
      expect(r.results[0].error?.device).toBe(2);
      expect(r.results[0].error?.message).toContain("rank 2 called potrs of a 21 x 21 float64 matrix");
    }
    expectSameAsSingleProcess({ ...spec, ops: ["potri"] }, results.map((r) => ({ ...r, results: r.results.slice(1) })));
  });

  // A rank that throws leaves the group (spmd-worker.ts); one whose Worker exits just ends.
  test.each(failureCases([1]))("rank %d throws at %s: the others fail at once with PEER_LOST naming it", async (rank, step) => {
    const spec: RankSpec = { ...base("float64", 20, 4), ops: FAULT_OPS, die: { rank, step, how: "throw" } };
    expectSpmdRankFailed(await failingSpmdJob(spec, 3), spec);
  });

  test.each(failureCases([0, 2]))("rank %d's Worker exits at %s: the others fail at once with PEER_LOST naming it", async (rank, step) => {
    const spec: RankSpec = { ...base("float64", 20, 4), ops: FAULT_OPS, die: { rank, step, how: "exit" } };
    expectSpmdRankFailed(await failingSpmdJob(spec, 4), spec);
  });

  test("a rank that never arrives: TIMEOUT naming it, then it is terminated", async () => {
    const spec: RankSpec = { ...base("float64", 20, 4), die: { rank: 0, step: "before:potri", how: "hang" } };
    expectSpmdStalled(await failingSpmdJob(spec, 2, { graceMs: 200 }), spec, 3000);
  });

  test("a rank that never returns after the last collective: the others succeed, it is terminated after the grace and named", async () => {
    const spec: RankSpec = { ...base("float64", 20, 4), ops: FAULT_OPS, die: { rank: 2, step: "after:syevd", how: "hang" } };
    const { error, ms } = await failingSpmdJob(spec, 3, { graceMs: 300 });
    expect(error.errors.map((e) => e === undefined)).toEqual([true, true, false]);
    expect(error).toMatchObject({ code: "TIMEOUT", device: 2 });
    expect(error.errors[2]?.message).toMatch(/^rank 2 was still running 300 ms after rank [01] returned; it was terminated$/);
    expect(error.message).toContain("rank 2: [TIMEOUT] rank 2 was still running 300 ms");
    expect(ms).toBeLessThan(TIMEOUT_MS);
  });

  test("two concurrent jobs do not interfere", async () => {
    const a = base("float64", 30, 4);
    const b = { ...base("complex128", 23, 8), seed: 99 };
    const [ra, rb] = await Promise.all([runSpmdJob(a, 2), runSpmdJob(b, 3)]);
    expectSameAsSingleProcess(a, ra.results);
    expectSameAsSingleProcess(b, rb.results);
  });

  test("argument errors", async () => {
    await expect(runSpmd({ module: "" })).rejects.toThrow("module must be a path or URL");
    await expect(runSpmd({ module: FIXTURE, backend: "host", devices: 0 })).rejects.toThrow("devices must be in [1, 32]");
    await expect(runSpmd({ module: FIXTURE, backend: "host", devices: [0, -1] })).rejects.toThrow("devices[1] must be >= 0");
    const missing = await runSpmd({ module: "/nonexistent/rank.ts", backend: "host", devices: 2 }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GroupError);
    expect((missing as GroupError).message).toContain("rank 0 failed to start");
  });

  test("examples/spmd.ts prints a small residual", () => {
    const root = join(import.meta.dir, "..");
    const proc = Bun.spawnSync([process.execPath, join(root, "examples", "spmd.ts"), "--n", "67", "--backend", "host", "--devices", "0,1,2"], { cwd: root });
    const out = proc.stdout.toString() + proc.stderr.toString();
    expect({ exitCode: proc.exitCode, out }).toMatchObject({ exitCode: 0 });
    const residuals = [...out.matchAll(/residual (\S+)/g)].map((m) => Number(m[1]));
    expect(residuals.length).toBe(4); // each rank's rows, and the worst
    for (const r of residuals) expect(r).toBeLessThan(1e-13);
  });
});
