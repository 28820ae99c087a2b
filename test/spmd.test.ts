// SPMD mode: one Bun Worker per rank (runSpmd), host backend. Results must equal single-process
// mode's bit for bit; a rank that fails, dies or never arrives must fail the others within the
// group timeout, naming it, and leave nothing in /dev/shm.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GroupError, newJobId, runSpmd, type DType } from "../lib/index.ts";
import type { RankResult, RankSpec } from "./fixtures/group-rank.ts";
import { ALL_OPS, expectSameAsSingleProcess, FIXTURE, segmentsOf, TIMEOUT_MS } from "./group-checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

async function run(spec: RankSpec, size: number, options: { graceMs?: number } = {}) {
  const job = newJobId();
  const started = performance.now();
  try {
    const results = await runSpmd<RankResult>({ module: FIXTURE, backend: "host", devices: size, data: spec, timeoutMs: TIMEOUT_MS, job, ...options });
    return { results, job, ms: performance.now() - started };
  } finally {
    expect(segmentsOf(job)).toEqual([]);
  }
}

/** Runs a job that must fail; returns its GroupError. */
async function failing(spec: RankSpec, size: number, options: { graceMs?: number } = {}) {
  const started = performance.now();
  const error = await run(spec, size, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GroupError);
  return { error: error as GroupError, ms: performance.now() - started };
}

const base = (dtype: DType, n: number, tile: number): RankSpec => ({ n, dtype, tile, seed: 5 + n, ops: ALL_OPS });

describe("SPMD (Workers, host backend)", () => {
  test.each([
    [2, "float64", 37, 8],
    [3, "complex128", 29, 4],
    [4, "float32", 40, 8],
    [4, "complex64", 3, 2], // fewer rows than ranks: rank 3 holds none
  ] as const)("%d ranks, %s: potrs, potri, syevd, fill equal single-process mode bit for bit", async (size, dtype, n, tile) => {
    const spec = base(dtype, n, tile);
    const { results } = await run(spec, size);
    expectSameAsSingleProcess(spec, results);
  });

  test("a call that differs between ranks fails on every rank, naming the rank; the group goes on", async () => {
    const spec: RankSpec = { ...base("float64", 20, 4), ops: ["potrs", "potri"], mismatch: 2 };
    const { results } = await run(spec, 3);
    for (const r of results) {
      expect(r.results[0].error?.code).toBe("INVALID_ARGUMENT");
      expect(r.results[0].error?.device).toBe(2);
      expect(r.results[0].error?.message).toContain("rank 2 called potrs of a 21 x 21 float64 matrix");
    }
    expectSameAsSingleProcess({ ...spec, ops: ["potri"] }, results.map((r) => ({ ...r, results: r.results.slice(1) })));
  });

  test("a rank that throws fails the others at once with PEER_LOST naming it", async () => {
    const { error, ms } = await failing({ ...base("float64", 20, 4), die: { rank: 1, step: "before:potri", how: "throw" } }, 3);
    expect(ms).toBeLessThan(TIMEOUT_MS);
    expect(error.errors[1]?.message).toContain("rank 1 fails at before:potri on purpose");
    expect((error.cause as Error).message).toContain("on purpose");
    for (const rank of [0, 2]) {
      expect(error.errors[rank]).toMatchObject({ code: "PEER_LOST", device: 1 });
      expect(error.errors[rank]?.message).toContain("rank 1 left the group");
    }
    expect(error).toMatchObject({ code: "PEER_LOST", device: 1 });
  });

  test("a Worker that exits mid-protocol: PEER_LOST, its thread is gone", async () => {
    const { error, ms } = await failing({ ...base("float64", 20, 4), die: { rank: 2, step: "before:syevd", how: "exit" } }, 4);
    expect(ms).toBeLessThan(TIMEOUT_MS);
    expect(error.errors[2]).toMatchObject({ code: "PEER_LOST", device: 2 });
    for (const rank of [0, 1, 3]) {
      expect(error.errors[rank]).toMatchObject({ code: "PEER_LOST", device: 2 });
      expect(error.errors[rank]?.message).toContain("rank 2 ended (its thread");
    }
  });

  test("a rank that never arrives: TIMEOUT naming it, then it is terminated", async () => {
    const { error, ms } = await failing({ ...base("float64", 20, 4), die: { rank: 0, step: "before:potri", how: "hang" } }, 2, { graceMs: 200 });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(TIMEOUT_MS + 3000);
    expect(error.errors[1]).toMatchObject({ code: "TIMEOUT", device: 0 });
    expect(error.errors[1]?.message).toContain(`rank 0 did not arrive at potri within ${TIMEOUT_MS} ms`);
    expect(error.errors[0]).toMatchObject({ code: "TIMEOUT", device: 0 });
    expect(error.errors[0]?.message).toContain("terminated");
  });

  test("two concurrent jobs do not interfere", async () => {
    const a = base("float64", 30, 4);
    const b = { ...base("complex128", 23, 8), seed: 99 };
    const [ra, rb] = await Promise.all([run(a, 2), run(b, 3)]);
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
