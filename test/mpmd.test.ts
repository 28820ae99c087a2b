// MPMD mode: one process per rank (startLaunch, as `bunmg launch` does), host backend: shards in
// shared-memory segments that rank 0 maps. Results must equal single-process mode's bit for bit;
// a rank that dies or never arrives must fail the others within the group timeout, naming it,
// and nothing may stay in /dev/shm.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Group, newJobId, RANK_ENV, rankEnvironment, sweepSharedMemory, type DType } from "../lib/index.ts";
import type { RankSpec } from "./fixtures/group-rank.ts";
import { ALL_OPS, expectFailedBy, expectKilled, expectSameAsSingleProcess, expectStalled, failureCases, FAULT_OPS, FIXTURE, launchJob, segmentsOf, TIMEOUT_MS } from "./group-checks.ts";
import { startHolder } from "./group-launches.ts";
import { expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const base = (dtype: DType, n: number, tile: number): RankSpec => ({ n, dtype, tile, seed: 3 + n, ops: ALL_OPS });

describe("MPMD (processes, host backend)", () => {
  test.each([
    [2, "float64", 37, 8],
    [3, "complex64", 26, 4],
    [4, "complex128", 33, 8],
  ] as const)("%d process ranks, %s: potrs, potri, syevd, fill equal single-process mode bit for bit", async (size, dtype, n, tile) => {
    const spec = base(dtype, n, tile);
    const job = await launchJob(spec, size);
    expect(job.other).toEqual([]);
    expect(job.exitCode).toBe(0);
    expect(job.removed).toBe(0); // the ranks cleaned up after themselves
    expectSameAsSingleProcess(spec, job.outputs.map((o) => o.result!));
    expect(segmentsOf(job.job)).toEqual([]);
  });

  // Without the launcher's sweep: the survivors clean up what the dead rank left.
  test.each(failureCases([1, 0]))("rank %d killed (SIGKILL) at %s: the others fail with PEER_LOST naming it, within the timeout", async (rank, step) => {
    const spec: RankSpec = { ...base("float64", 30, 4), ops: FAULT_OPS, die: { rank, step, how: "kill" } };
    expectKilled(await launchJob(spec, 3, { sweep: false }), spec);
  });

  test("a rank killed while it waits for rank 0's result", async () => {
    const spec = { ...base("float64", 30, 4), ops: ["potrs"], delay: { rank: 0, ms: 800 } } as RankSpec;
    const job = await launchJob(spec, 3, {
      sweep: false,
      onStep: (rank, step, launched) => {
        if (rank === 1 && step === "before:potrs") setTimeout(() => launched.kill(1, "SIGKILL"), 100);
      },
    });
    expect(job.ms).toBeLessThan(TIMEOUT_MS);
    expectFailedBy(job, 1, "PEER_LOST");
  });

  test("a rank that never arrives: TIMEOUT naming it; the launcher then terminates it and sweeps", async () => {
    const spec = { ...base("float64", 20, 4), die: { rank: 2, step: "before:potrs", how: "hang" } } as RankSpec;
    const job = await launchJob(spec, 3, { graceMs: 200 });
    expect(job.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(job.ms).toBeLessThan(TIMEOUT_MS + 4000);
    expect(job.removed).toBe(1); // the hung rank's shard
    expectStalled(job, spec);
  });

  test("two concurrent jobs do not interfere", async () => {
    const a = base("float64", 24, 4);
    const b = { ...base("float32", 31, 8), seed: 77 };
    const [ja, jb] = await Promise.all([launchJob(a, 2), launchJob(b, 3)]);
    expectSameAsSingleProcess(a, ja.outputs.map((o) => o.result!));
    expectSameAsSingleProcess(b, jb.outputs.map((o) => o.result!));
  });

  test("segments of dead processes are swept; a live owner's are kept", async () => {
    const job = newJobId();
    const holder = await startHolder({ op: "join", job, size: 2, timeoutMs: 60_000 });
    expect(segmentsOf(job)).toEqual([`bunmg-${job}`]);
    expect(sweepSharedMemory({ job })).toBe(0); // its owner is alive
    expectError(() => Group.join({ mode: "processes", job, rank: 0, size: 1, backend: "host", timeoutMs: 500 }), "INVALID_ARGUMENT", "its owner is alive");
    await holder.kill();
    expect(segmentsOf(job)).toEqual([`bunmg-${job}`]); // a crash leaves it behind
    using group = Group.join({ mode: "threads", job: newJobId(), rank: 0, size: 1, backend: "host" }); // any new job sweeps
    expect(group.size).toBe(1);
    expect(segmentsOf(job)).toEqual([]);
  });

  test("a rank that never returns after the last collective: the others succeed, it is terminated after the grace and named", async () => {
    const spec = { ...base("float64", 20, 4), ops: FAULT_OPS, die: { rank: 1, step: "after:syevd", how: "hang" } } as RankSpec;
    const job = await launchJob(spec, 3, { graceMs: 300 });
    expect(job.ranks.map((r) => [r.terminated, r.signal])).toEqual([[false, null], [true, "SIGTERM"], [false, null]]);
    expect(job.exitCode).toBe(143); // the straggler's SIGTERM: the only failure
    expect(job.firstExit).not.toBe(1);
    expect(job.ms).toBeLessThan(TIMEOUT_MS + 300 + 2000); // start, the others' work, the grace
    expectSameAsSingleProcess(spec, job.outputs.map((o, rank) => (rank === 1 ? undefined : o.result)));
    expect(segmentsOf(job.job)).toEqual([]); // the launcher swept what the straggler held
  });

  test("the rank environment: a secret that is not 1..128 characters of [A-Za-z0-9_-] is refused without quoting it", () => {
    const env = { [RANK_ENV.job]: "j", [RANK_ENV.rank]: "0", [RANK_ENV.size]: "1" };
    expect(rankEnvironment({ ...env, [RANK_ENV.secret]: "s3cr3t" })?.secret).toBe("s3cr3t");
    expect(rankEnvironment(env)?.secret).toBeUndefined();
    const e = expectError(() => rankEnvironment({ ...env, [RANK_ENV.secret]: "no spaces allowed" }), "INVALID_ARGUMENT", "BUNMG_JOB_SECRET must be 1..128 characters of [A-Za-z0-9_-], got 17 characters");
    expect(e.message).not.toContain("spaces");
    expectError(() => rankEnvironment({ ...env, [RANK_ENV.secret]: "x".repeat(129) }), "INVALID_ARGUMENT", "got 129 characters");
  });

  test("bunmg launch: rank prefixes, exit codes, the job's segments removed", () => {
    const cli = join(import.meta.dir, "..", "scripts", "cli.ts");
    const run = (spec: RankSpec, job: string) =>
      Bun.spawnSync([process.execPath, cli, "launch", "--np", "2", "--backend", "host", "--timeout-ms", String(TIMEOUT_MS), "--job", job, FIXTURE], {
        env: { ...process.env, BUNMG_TEST_SPEC: JSON.stringify(spec) },
      });
    const okJob = newJobId();
    const ok = run({ ...base("float64", 10, 4), ops: ["potrs"] }, okJob);
    const out = ok.stdout.toString();
    expect(ok.exitCode).toBe(0);
    expect(out).toContain("[rank 0] RESULT ");
    expect(out).toContain("[rank 1] RESULT ");
    expect(segmentsOf(okJob)).toEqual([]);
    const badJob = newJobId();
    const bad = run({ ...base("float64", 10, 4), ops: ["potrs"], die: { rank: 1, step: "before:potrs", how: "kill" } }, badJob);
    expect([137, 3]).toContain(bad.exitCode!); // the first failure seen: rank 1's SIGKILL or a survivor's PEER_LOST
    expect(bad.stdout.toString()).toMatch(/\[rank 0\] ERROR \{"code":"PEER_LOST","device":1/);
    expect(bad.stderr.toString()).toContain("bunmg launch: rank 1 (pid");
    expect(segmentsOf(badJob)).toEqual([]);
    const straggler = Bun.spawnSync([process.execPath, cli, "launch", "--np", "2", "--backend", "host", "--grace-ms", "300", "--job", newJobId(), FIXTURE], {
      env: { ...process.env, BUNMG_TEST_SPEC: JSON.stringify({ ...base("float64", 10, 4), ops: ["potrs"], die: { rank: 1, step: "after:potrs", how: "hang" } }) },
    });
    expect(straggler.exitCode).toBe(143);
    expect(straggler.stdout.toString()).toContain("[rank 0] RESULT ");
    expect(straggler.stderr.toString()).toMatch(/bunmg launch: rank 1 \(pid \d+\) was still running after the grace and was terminated \(SIGTERM\)/);
    const usage = Bun.spawnSync([process.execPath, cli, "launch", "--np", "2"]);
    expect(usage.exitCode).toBe(2); // a usage error
    expect(usage.stderr.toString()).toContain("no script given");
  });

  test("examples/mpmd.ts launches itself and prints a small residual on every rank", () => {
    const root = join(import.meta.dir, "..");
    const proc = Bun.spawnSync([process.execPath, join(root, "examples", "mpmd.ts"), "--n", "67", "--backend", "host", "--np", "3"], { cwd: root });
    const out = proc.stdout.toString() + proc.stderr.toString();
    expect({ exitCode: proc.exitCode, out }).toMatchObject({ exitCode: 0 });
    for (const rank of [0, 1, 2]) {
      const residual = Number(new RegExp(`\\[rank ${rank}\\] .*residual (\\S+)`).exec(out)?.[1]);
      expect(residual).toBeLessThan(1e-13);
    }
  });
});
