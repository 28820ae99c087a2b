// Groups within this process: arguments, one-rank groups against single-process mode, join
// timeouts, shard memory and its cleanup. Multi-rank groups: spmd.test.ts (Workers) and
// mpmd.test.ts (processes).
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { Group, joinFromEnv, Mesh, newJobId, runSpmd, startLaunch, sweepSharedMemory, type GroupMode } from "../lib/index.ts";
import rank, { type RankSpec } from "./fixtures/group-rank.ts";
import { ALL_OPS, expectSameAsSingleProcess, segmentsOf, shardsOf } from "./group-checks.ts";
import { expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const join = (mode: GroupMode, extra: Partial<Parameters<typeof Group.join>[0]> = {}) =>
  Group.join({ mode, job: newJobId(), rank: 0, size: 1, backend: "host", timeoutMs: 2000, ...extra });

describe("Group", () => {
  test("join checks its arguments", () => {
    const ok = { mode: "threads", job: "job", rank: 0, size: 1, backend: "host" } as const;
    expectError(() => Group.join({ ...ok, job: "a/b" }), "INVALID_ARGUMENT", 'job id must be 1..64 characters of [A-Za-z0-9_-], got "a/b"');
    expectError(() => Group.join({ ...ok, job: "x".repeat(65) }), "INVALID_ARGUMENT", "job id");
    expectError(() => Group.join({ ...ok, job: "" }), "INVALID_ARGUMENT", "job id");
    expectError(() => Group.join({ ...ok, mode: "fork" as GroupMode }), "INVALID_ARGUMENT", 'mode must be "threads" or "processes"');
    expectError(() => Group.join({ ...ok, size: 0 }), "INVALID_ARGUMENT", "size must be in [1, 32], got 0");
    expectError(() => Group.join({ ...ok, size: 33 }), "INVALID_ARGUMENT", "size must be in [1, 32]");
    expectError(() => Group.join({ ...ok, rank: 1 }), "INVALID_ARGUMENT", "rank must be in [0, 0], got 1");
    expectError(() => Group.join({ ...ok, timeoutMs: 0 }), "INVALID_ARGUMENT", "timeoutMs must be >= 1");
    expectError(() => Group.join({ ...ok, backend: "tpu" as "host" }), "INVALID_ARGUMENT", 'backend must be "host" or "cuda"');
    expectError(() => Group.join({ ...ok, secret: "" }), "INVALID_ARGUMENT", "secret must be 1..128 characters of [A-Za-z0-9_-], got 0 characters");
    const e = expectError(() => Group.join({ ...ok, secret: "top secret" }), "INVALID_ARGUMENT", "got 10 characters");
    expect(e.message).not.toContain("top secret");
    expectError(() => Group.join({ ...ok, secret: 7 as unknown as string }), "INVALID_ARGUMENT", "secret must be 1..128 characters of [A-Za-z0-9_-], got number 7");
    expectError(() => Group.join(null as never), "INVALID_ARGUMENT", "group options must be an object");
  });

  test("null options are no options, as undefined: routines, allocShard, sweepSharedMemory, joinFromEnv, runSpmd, startLaunch", async () => {
    using group = join("threads");
    const n = 9;
    const compute = (options: null | undefined) => {
      using A = group.allocShard(n, options);
      group.fillRandom(A, options);
      const x = group.potrs(A, new Float64Array(n).fill(1), options);
      group.fillRandom(A, options);
      const inverse = group.potri(A, options).toHost();
      group.fillRandom(A, options);
      const { values } = group.syevd(A, options);
      return [x, inverse, values];
    };
    expect(compute(null)).toEqual(compute(undefined));
    using A = group.allocShard(n);
    expectError(() => group.potri(A, 5 as never), "INVALID_ARGUMENT", "options must be an object, got number 5");
    expect(sweepSharedMemory(null)).toBeGreaterThanOrEqual(0);
    expectError(() => joinFromEnv(null), "INVALID_ARGUMENT", "not started by `bunmg launch`");
    await expect(runSpmd(null as never)).rejects.toThrow("runSpmd options must be an object, got null");
    expectError(() => startLaunch(null as never), "INVALID_ARGUMENT", "launch options must be an object, got null");
  });

  test.each(["threads", "processes"] as const)("a one-rank group (%s) equals single-process mode bit for bit", async (mode) => {
    for (const spec of [
      { n: 19, dtype: "float64", tile: 4, seed: 2, ops: ALL_OPS },
      { n: 12, dtype: "complex64", tile: 8, seed: 3, ops: ALL_OPS },
    ] as RankSpec[]) {
      using group = join(mode);
      expectSameAsSingleProcess(spec, [await rank(group, spec)]);
      expect(segmentsOf(group.job)).toEqual([]); // nothing but the shards, which rank() freed
    }
  });

  test.each([0, 1])("rank %d alone: TIMEOUT naming the missing rank, within the timeout, nothing left", (r) => {
    for (const mode of ["threads", "processes"] as const) {
      const job = newJobId();
      const started = performance.now();
      const e = expectError(() => join(mode, { job, rank: r, size: 2, timeoutMs: 300 }), "TIMEOUT");
      const ms = performance.now() - started;
      expect(e.device).toBe(1 - r);
      expect(e.message).toContain(r === 0 ? "rank 1 did not join within 300 ms" : "rank 0 did not open job");
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(1500);
      expect(segmentsOf(job)).toEqual([]);
    }
  });

  test("processes mode on the host backend: shards live in /dev/shm until freed or the group is left", () => {
    const group = join("processes");
    const a = group.allocShard(10, { dtype: "complex128" });
    const b = group.allocShard(5);
    const shards = shardsOf(group.job, 0).sort();
    expect(shards.map((f) => f.replace(/\.[0-9a-f]{16}\./, ".<id>."))).toEqual([`bunmg-${group.job}.<id>.r0.0`, `bunmg-${group.job}.<id>.r0.1`]);
    expect(segmentsOf(group.job).sort()).toEqual(shards);
    a.copyFromHost(new Float64Array(200).map((_, i) => i));
    expect(Array.from(a.toHost().subarray(0, 4))).toEqual([0, 1, 2, 3]);
    for (const f of shards) expect(statSync(`/dev/shm/${f}`).mode & 0o7777).toBe(0o600);
    a.dispose();
    expect(segmentsOf(group.job)).toEqual([shards[1]]);
    group.leave();
    expect(segmentsOf(group.job)).toEqual([]);
    expect(b.disposed).toBe(true);
    expect(group.mesh.disposed).toBe(true);
  });

  test("use after leave throws DISPOSED; leaving twice is fine; disposing the mesh leaves", () => {
    const group = join("threads");
    const A = group.allocShard(4);
    group.leave();
    group.leave();
    expect(group.left).toBe(true);
    expectError(() => group.allocShard(4), "DISPOSED", "it left the group");
    expectError(() => group.potri(A), "DISPOSED");
    expectError(() => A.toHost(), "DISPOSED", "its group was left");
    const other = join("processes");
    other.allocShard(3);
    other.mesh.dispose();
    expect(other.left).toBe(true);
    expect(segmentsOf(other.job)).toEqual([]);
  });

  test("argument errors of the routines", () => {
    using group = join("threads");
    using other = join("threads");
    using A = group.allocShard(10, { tileSize: 1 }); // room for tile 1 only: 10 rows
    expect(A.capacity).toBe(group.shardCapacity(10, 1));
    const e = expectError(() => group.potri(A.copyFromHost(new Float64Array(100)), { tileSize: 8 }), "INVALID_ARGUMENT", "shard capacity 10 rows is below the 16 rows needed");
    expect(e.device).toBe(0);
    using foreign = other.allocShard(10);
    expectError(() => group.potri(foreign), "INVALID_ARGUMENT", "A belongs to Group(job");
    expectError(() => group.potrs(A, new Float64Array(7)), "INVALID_ARGUMENT", "B: expected a positive multiple of n = 10");
    expectError(() => group.potrs(A, new Float32Array(10) as never), "INVALID_ARGUMENT", "B must be a Float64Array");
    expectError(() => group.syevd(A, { tileSize: 2048 }), "INVALID_ARGUMENT", "tileSize must be in [1, 1024]");
    expectError(() => A.copyFromHost(new Float64Array(7)), "INVALID_ARGUMENT", "expected this rank's 10 rows (100 elements) or the whole 10 x 10 matrix, got 7");
    expectError(() => group.fillRandom(A, { kind: "dense" as "hpd" }), "INVALID_ARGUMENT", 'random kind must be "hpd" or "uniform"');
    group.fillRandom(A, { seed: 4 });
    group.potri(A, { tileSize: 1 }); // the group goes on
  });

  test("sweepSharedMemory checks its arguments", () => {
    expectError(() => sweepSharedMemory({ force: true }), "INVALID_ARGUMENT", "a forced sweep needs a job id");
    expectError(() => sweepSharedMemory({ job: "../x" }), "INVALID_ARGUMENT", "job id");
    expect(sweepSharedMemory({ job: newJobId(), force: true })).toBe(0);
    using mesh = Mesh.host(1); // sweeping leaves live meshes alone
    expect(mesh.disposed).toBe(false);
  });
});
