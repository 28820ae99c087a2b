// Grid redistributions between the ranks of a group (lib/grid-group.ts, csrc/src/mp/
// shm_transport.c, grid_group.c): real processes started as `bunmg launch` starts them, 1 to 6
// ranks, every grid they make, every dtype's element size, odd sizes and blocks, N below a
// block, N = 1, messages larger than their ring. Each rank checks its part of the grid against
// bunmg_grid_locate and its rows bit for bit after the way back (test/fixtures/grid-rank.ts).
// Then failures across processes: a failed operation at
// every move rolls every rank back; calls that differ fail every rank alike; a rank SIGKILLed at
// each step of the protocol leaves the others with PEER_LOST at once, in the documented state,
// with nothing left in /dev/shm; a rank that stalls leaves them with TIMEOUT naming it.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Group, newJobId, runSpmd, type DType } from "../lib/index.ts";
import { gridDescribe, gridLocate, gridPlan, type GridShape } from "../lib/grid.ts";
import { GroupGrid } from "../lib/grid-group.ts";
import type { CaseResult, Direction, GridCase, GridRankResult, GridRankSpec } from "./fixtures/grid-rank.ts";
import { launchJob, segmentsOf, TIMEOUT_MS, type JobOptions, type JobOutcome } from "./group-checks.ts";
import { ALL_DTYPES, expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const FIXTURE = join(import.meta.dir, "fixtures", "grid-rank.ts");

function launchGrid(spec: GridRankSpec, ranks: number, options: JobOptions = {}): Promise<JobOutcome<GridRankResult>> {
  return launchJob<GridRankResult>(spec, ranks, { script: FIXTURE, sweep: false, ...options });
}

const label = (g: GridShape) => `${g.m}x${g.n} blocks ${g.mb}x${g.nb} on ${g.prows}x${g.pcols} (${g.order ?? "row"})`;

/** Every rank ran every case through, its part placed as bunmg_grid_locate says and its rows
 * back bit for bit. */
function expectAllPlaced(results: (GridRankResult | undefined)[], cases: GridCase[]): void {
  results.forEach((result, rank) => {
    expect(result?.results.length).toBe(cases.length);
    cases.forEach((c, k) => {
      const part = gridDescribe(c.grid, rank);
      const where = `rank ${rank}, case ${k}: ${label(c.grid)} ${c.dtype}`;
      expect({ where, ...result!.results[k] }).toEqual({ where, placed: part.localRows * part.localCols, rowsBack: true });
    });
  });
}

// ---- every grid of 1, 2, 4 and 6 ranks ----

const SIZES: [number, number, number, number][] = [
  [7, 9, 2, 3], // odd everything
  [17, 11, 5, 3],
  [3, 2, 8, 8], // N (and M) smaller than a block
  [6, 1, 2, 2], // N = 1
  [1, 7, 1, 2], // M = 1
];
/** Every grid of docs/mp-engine.md section 4.7, by rank count. */
const GRIDS: Record<number, [number, number][]> = {
  1: [[1, 1]],
  2: [[2, 1], [1, 2]],
  3: [[3, 1], [1, 3]],
  4: [[2, 2], [4, 1], [1, 4]],
  6: [[2, 3], [3, 2], [6, 1], [1, 6]],
};

/** Each grid on every size, the dtypes in turn (all four on each grid), both rank orders where
 * they differ, and a few with more lanes and small chunks. */
function matrixCases(ranks: number): GridCase[] {
  return GRIDS[ranks]!.flatMap(([prows, pcols], gi) =>
    SIZES.map(([m, n, mb, nb], k): GridCase => ({
      grid: { m, n, mb, nb, prows, pcols, order: prows > 1 && pcols > 1 && (k + gi) % 2 === 1 ? "column" : "row" },
      dtype: ALL_DTYPES[(k + gi) % 4] as DType,
      ...(k === 1 ? { lanes: 2, chunk: 3 } : {}),
    })),
  );
}

/** A 2 x 2 grid of 4 ranks with a split, cycles and chains. */
const GRID: GridShape = { m: 7, n: 9, mb: 2, nb: 3, prows: 2, pcols: 2 };
const PLAN = gridPlan(GRID);

/** Rank r's copies, sends and receives in one direction: its split moves, then its exchange moves
 * (a copy within the rank counting once). */
function moves(rank: number): { split: number; exchange: number } {
  const split = PLAN.moves.filter((m) => m.phase === "split" && m.srcRank === rank).length;
  const exchange = PLAN.moves.filter((m) => m.phase === "exchange" && (m.srcRank === rank || m.dstRank === rank)).length;
  return { split, exchange };
}

describe("grid redistributions between processes (shared memory)", () => {
  test.each([1, 2, 3, 4, 6])("%d process ranks: every grid, odd sizes and blocks, N below a block, N = 1, all four dtypes, there and back", async (ranks) => {
    const cases = matrixCases(ranks);
    const job = await launchGrid({ cases }, ranks);
    expect({ exitCode: job.exitCode, other: job.other }).toEqual({ exitCode: 0, other: [] });
    expectAllPlaced(job.outputs.map((o) => o.result), cases);
    expect(segmentsOf(job.job)).toEqual([]);
  });

  test.each([
    [2, { m: 2000, n: 120, mb: 60, nb: 40, prows: 1, pcols: 2 }],
    [6, { m: 2000, n: 120, mb: 16, nb: 10, prows: 1, pcols: 6 }],
  ] as const)("%d process ranks: messages larger than their ring, which they go round many times", async (ranks, grid) => {
    const ring = Math.floor(Math.min(256 << 10, Math.max(4 << 10, (4 << 20) / (ranks * (ranks - 1)))) / 64) * 64; // bunmg.h's R
    const chunk = 1 << 20; // cycles stage whole pieces
    const cross = gridPlan(grid, { chunk }).moves.filter((m) => m.srcRank !== m.dstRank);
    expect(Math.max(...cross.map((m) => m.elements)) * 16).toBeGreaterThan(2 * ring);
    const cases: GridCase[] = [{ grid, dtype: "complex128", chunk }];
    const job = await launchGrid({ cases }, ranks);
    expect(job.exitCode).toBe(0);
    expectAllPlaced(job.outputs.map((o) => o.result), cases);
  });

  test("Workers of one process (threads mode) take the same path", async () => {
    const cases: GridCase[] = [
      { grid: { m: 7, n: 9, mb: 2, nb: 3, prows: 2, pcols: 1 }, dtype: "complex64" },
      { grid: { m: 5, n: 13, mb: 4, nb: 1, prows: 1, pcols: 2 }, dtype: "float32", lanes: 3 },
    ];
    const job = newJobId();
    const results = await runSpmd<GridRankResult>({ module: FIXTURE, backend: "host", devices: 2, data: { cases }, timeoutMs: TIMEOUT_MS, job });
    expectAllPlaced(results, cases);
    expect(segmentsOf(job)).toEqual([]);
  });
});

// ---- failures that roll back, and calls that differ ----

/** Every rank failed `direction` with `code` naming `device`, and its buffer is back in the
 * layout it started in. */
function expectRolledBack(job: JobOutcome<GridRankResult>, k: number, direction: Direction, code: string, device: number, ...parts: string[]): void {
  job.outputs.forEach((out, rank) => {
    const r = out.result!.results[k] as CaseResult;
    const where = `case ${k}, rank ${rank}`;
    const restored = direction === "toGrid" ? r.after?.rows : r.after?.grid;
    expect({ where, direction: r.error?.direction, code: r.error?.code, device: r.error?.device, restored }).toEqual({ where, direction, code, device, restored: true });
    for (const part of parts) expect(r.error?.message, where).toContain(part);
  });
}

describe("failures across processes", () => {
  test("a failed copy, send or receive at every move of two ranks, both ways: every rank reports it and is rolled back; the group goes on", async () => {
    const failing: GridCase[] = [];
    for (const direction of ["toGrid", "toRows"] as const)
      for (const rank of [1, 3]) {
        const { split, exchange } = moves(rank);
        for (let index = 0; index < split + exchange; index += direction === "toGrid" ? 1 : 2) failing.push({ grid: GRID, dtype: "float64", fault: { rank, direction, kind: "fail", at: "move", index } });
      }
    const cases: GridCase[] = [
      ...failing,
      { grid: GRID, dtype: "complex128", fault: { rank: 2, direction: "toGrid", kind: "fail", at: "join" } },
      { grid: GRID, dtype: "float32", agreePerPhase: true, fault: { rank: 0, direction: "toGrid", kind: "fail", at: "move", index: moves(0).split + 1 } },
      { grid: GRID, dtype: "float64", mismatch: { rank: 2, grid: { ...GRID, nb: 2 } } },
      { grid: GRID, dtype: "complex64", badBuffer: { rank: 1, how: "short" } },
      { grid: GRID, dtype: "float32", badBuffer: { rank: 3, how: "type" } },
      { grid: GRID, dtype: "float64" },
    ];
    const job = await launchGrid({ cases }, 4);
    expect(job.exitCode).toBe(0);
    failing.forEach((c, k) => {
      const { rank, direction, index } = c.fault!;
      expectRolledBack(job, k, direction, "DEVICE_ERROR", rank, `redistribution to the ${direction === "toGrid" ? "grid" : "row"} layout failed on rank ${rank}`, `the matrix was restored to its ${direction === "toGrid" ? "row" : "grid"} layout`);
      expect(job.outputs[rank].result!.results[k].error?.message).toContain(`injected failure at move ${index} on rank ${rank}`);
    });
    const k = failing.length;
    expectRolledBack(job, k, "toGrid", "DEVICE_ERROR", 2, "nothing moved: rank 2: ", "injected failure at its join on rank 2");
    job.outputs.forEach((out) => expect(out.result!.results[k + 1].error).toMatchObject({ code: "LAYOUT_LOST", device: 0, message: expect.stringContaining("agrees only at its end: the layout is lost") }));
    expectRolledBack(job, k + 2, "toGrid", "INVALID_ARGUMENT", 2, "rank 2 called a redistribution of 7 x 9 in 2 x 2 blocks on a 2 x 2 grid (row-major), 1 lane, 8-byte elements, to the grid, but rank 0 of 7 x 9 in 2 x 3 blocks");
    expectRolledBack(job, k + 3, "toGrid", "INVALID_ARGUMENT", 1, `nothing moved: rank 1: the buffer's ${(PLAN.capacity - 1) * 8} bytes are fewer than the plan's capacity of ${PLAN.capacity} elements of 8 bytes`);
    job.outputs.forEach((out, rank) => {
      const e = out.result!.results[k + 4]!.error;
      expect({ rank, code: e?.code, device: e?.device }).toEqual({ rank, code: "INVALID_ARGUMENT", device: rank === 3 ? undefined : 3 });
      expect(e?.message).toContain(rank === 3 ? "buffer must be a Float32Array for dtype float32, got Int32Array" : "nothing moved: rank 3: buffer is NULL"); // its own reason; the others, what it passed
    });
    job.outputs.forEach((out, rank) => expect(out.result!.results[k + 5]).toEqual({ placed: gridDescribe(GRID, rank).localRows * gridDescribe(GRID, rank).localCols, rowsBack: true }));
    expect(segmentsOf(job.job)).toEqual([]);
  });
});

// ---- a rank killed at each step of the protocol ----

interface KillCase {
  what: string;
  rank: number;
  direction: Direction;
  fault: { at: "join" | "move" | "agreement"; index?: number };
  /** the survivors' buffers hold their rows afterwards (else the matrix is lost), as their message says */
  keepsRows: boolean;
  says: string;
}

const { exchangeRounds } = PLAN;
const KILLS: KillCase[] = [
  { what: "rank 0 while joining", rank: 0, direction: "toGrid", fault: { at: "join" }, keepsRows: true, says: "broke before anything moved (this rank's buffer is as it was)" },
  { what: "rank 2 while joining", rank: 2, direction: "toGrid", fault: { at: "join" }, keepsRows: true, says: "broke before anything moved" },
  { what: "rank 3 at the agreement that ends the split", rank: 3, direction: "toGrid", fault: { at: "agreement", index: 1 }, keepsRows: true, says: "nothing had crossed between ranks, and this rank's buffer is back in its row layout" },
  { what: "rank 1 during a round of the exchange", rank: 1, direction: "toGrid", fault: { at: "move", index: moves(1).split + Math.floor(moves(1).exchange / 2) }, keepsRows: false, says: "in its exchange phase; the matrix is lost" },
  { what: "rank 2 at an agreement of the exchange", rank: 2, direction: "toGrid", fault: { at: "agreement", index: 2 + Math.floor(exchangeRounds / 2) }, keepsRows: false, says: "the matrix is lost" },
  { what: "rank 0 during a round on the way back", rank: 0, direction: "toRows", fault: { at: "move", index: Math.floor(moves(0).exchange / 2) }, keepsRows: false, says: "redistribution to the row layout broke in its exchange phase; the matrix is lost" },
  { what: "rank 1 at the last agreement of the way back", rank: 1, direction: "toRows", fault: { at: "agreement", index: exchangeRounds + 1 }, keepsRows: true, says: "this rank's buffer already holds its rows in row layout" },
];

describe("a rank SIGKILLed at each step of the protocol", () => {
  test.each(KILLS)("$what: the others end with PEER_LOST naming it at once, nothing left in /dev/shm", async (kill) => {
    const cases: GridCase[] = [{ grid: GRID, dtype: "complex64" }, { grid: GRID, dtype: "float64", fault: { rank: kill.rank, direction: kill.direction, kind: "die", ...kill.fault } }];
    const job = await launchGrid({ cases }, 4);
    const diedAt = job.outputs[kill.rank].stepAt[`1 ${kill.direction}`]!;
    console.log(`${kill.what}: the others ended ${(job.finishedAt - diedAt).toFixed(0)} ms later`);
    expect(job.ranks[kill.rank].signal).toBe("SIGKILL");
    expect(job.outputs[kill.rank].result).toBeUndefined();
    job.outputs.forEach((out, rank) => {
      if (rank === kill.rank) return;
      const [first, second] = out.result!.results;
      expect(first).toEqual({ placed: gridDescribe(GRID, rank).localRows * gridDescribe(GRID, rank).localCols, rowsBack: true });
      expect({ rank, code: second?.error?.code, device: second?.error?.device, direction: second?.error?.direction }).toEqual({ rank, code: "PEER_LOST", device: kill.rank, direction: kill.direction });
      expect(second?.error?.message).toContain(`rank ${kill.rank} died (its process`);
      expect(second?.error?.message).toContain(kill.says);
      if (kill.keepsRows) expect({ rank, rows: second?.after?.rows }).toEqual({ rank, rows: true });
      expect(out.errorAt! - diedAt).toBeLessThan(TIMEOUT_MS / 2);
    });
    expect(segmentsOf(job.job)).toEqual([]);
  });

  test("a rank killed from outside while its messages stream through the rings: the same", async () => {
    const grid: GridShape = { m: 2000, n: 120, mb: 16, nb: 10, prows: 1, pcols: 6 };
    const cases: GridCase[] = Array.from({ length: 8 }, () => ({ grid, dtype: "complex128", chunk: 1 << 20 }));
    let killedAt = 0;
    const job = await launchGrid({ cases }, 6, {
      onStep: (rank, step, launched) => {
        if (rank !== 1 || step !== "0 toGrid") return;
        setTimeout(() => {
          killedAt = performance.now();
          launched.kill(1, "SIGKILL");
        }, 150);
      },
    });
    expect(job.ranks[1].signal).toBe("SIGKILL");
    job.outputs.forEach((out, rank) => {
      if (rank === 1) return;
      expect({ rank, code: out.error?.code, device: out.error?.device }).toEqual({ rank, code: "PEER_LOST", device: 1 });
      expect(out.result!.results.length).toBeLessThan(cases.length); // it broke before the last case
      expect(out.errorAt! - killedAt).toBeLessThan(TIMEOUT_MS / 2);
    });
    expect(segmentsOf(job.job)).toEqual([]);
  });

  test("a rank that stalls in a round: the others give up with TIMEOUT naming it once the timeout has passed without data moving", async () => {
    const timeoutMs = 1000;
    const index = moves(2).split + Math.floor(moves(2).exchange / 2);
    const cases: GridCase[] = [{ grid: GRID, dtype: "float64", fault: { rank: 2, direction: "toGrid", kind: "stall", at: "move", index } }];
    const job = await launchGrid({ cases, timeoutMs }, 4, { timeoutMs, graceMs: 4 * timeoutMs });
    const stalledAt = job.outputs[2].stepAt["0 toGrid"]!;
    expect(job.ranks.map((r) => r.terminated)).toEqual([false, false, false, false]); // the stalled rank too returned, with the group's TIMEOUT
    job.outputs.forEach((out, rank) => {
      expect({ rank, code: out.error?.code, device: out.error?.device }).toEqual({ rank, code: "TIMEOUT", device: 2 });
      expect(out.error?.message).toContain(`rank 2 did not take part in the grid redistribution`);
      if (rank === 2) return;
      expect(out.errorAt! - stalledAt).toBeGreaterThanOrEqual(timeoutMs - 100);
      expect(out.errorAt! - stalledAt).toBeLessThan(timeoutMs + 1500);
    });
    expect(segmentsOf(job.job)).toEqual([]);
  });
});

// ---- the TypeScript side, in one process ----

describe("GroupGrid", () => {
  const pattern = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 0.5);

  test("a group of one: there and back, where bunmg_grid_locate says, bit for bit", () => {
    using group = Group.join({ mode: "threads", job: newJobId(), rank: 0, size: 1, backend: "host" });
    const grid: GridShape = { m: 5, n: 3, mb: 2, nb: 2, prows: 1, pcols: 1 };
    using gg = new GroupGrid(group, grid, { dtype: "complex64" });
    expect(gg.capacity).toBe(15);
    expect(gg.part).toMatchObject({ localRows: 5, localCols: 3, shardFirst: 0, shardRows: 3 });
    const buffer = gg.allocBuffer();
    buffer.set(pattern(2 * 15));
    const rows = buffer.slice();
    gg.toGrid(buffer);
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 5; c++) {
        const { offset } = gridLocate(grid, c, r);
        expect([buffer[2 * offset], buffer[2 * offset + 1]]).toEqual([rows[2 * (r * 5 + c)]!, rows[2 * (r * 5 + c) + 1]!]);
      }
    expect(gg.toRows(buffer)).toBe(buffer);
    expect(buffer).toEqual(rows);
  });

  test("bad arguments: a clear error, nothing moved, the group still usable", () => {
    using group = Group.join({ mode: "threads", job: newJobId(), rank: 0, size: 1, backend: "host" });
    const grid: GridShape = { m: 4, n: 4, mb: 2, nb: 2, prows: 1, pcols: 1 };
    using gg = new GroupGrid(group, grid);
    const buffer = gg.allocBuffer().fill(7);
    expectError(() => gg.toGrid(new Float32Array(16) as never), "INVALID_ARGUMENT", "buffer must be a Float64Array for dtype float64");
    expectError(() => gg.toGrid(new Float64Array(0)), "INVALID_ARGUMENT", "buffer is empty: it needs the plan's capacity of 16 elements");
    expectError(() => gg.toGrid(new Float64Array(15)), "INVALID_ARGUMENT", "grid_redistribute: nothing moved: rank 0: the buffer's 120 bytes are fewer than the plan's capacity of 16 elements of 8 bytes");
    using wide = new GroupGrid(group, { ...grid, prows: 2 });
    expectError(() => wide.toGrid(wide.allocBuffer()), "INVALID_ARGUMENT", "rank 0: the plan is for a 2 x 1 grid, but the group has 1 ranks");
    expectError(() => new GroupGrid({} as never, grid), "INVALID_ARGUMENT", "group must be a Group");
    expectError(() => new GroupGrid(group, { ...grid, mb: 0 }), "INVALID_ARGUMENT", "grid.mb must be in [1, ");
    expectError(() => new GroupGrid(group, grid, { dtype: "int8" as never }), "INVALID_ARGUMENT", "unknown dtype");
    expectError(() => gg.injectFault({ kind: "die", at: "move" }), "INVALID_ARGUMENT", "die kills the process, so it needs a group in process mode");
    expectError(() => gg.injectFault({ kind: "fail", at: "agreement" }), "INVALID_ARGUMENT", "an agreement cannot fail, only die or stall");
    expectError(() => gg.injectFault({ kind: "boom" as never, at: "move" }), "INVALID_ARGUMENT", 'fault.kind must be "fail", "die" or "stall"');
    expectError(() => gg.injectFault({ kind: "fail", at: "anywhere" as never }), "INVALID_ARGUMENT", 'fault.at must be "join", "move" or "agreement"');
    gg.injectFault({ kind: "fail", at: "join" }); // a 1 x 1 grid moves nothing: its layouts are the same
    expectError(() => gg.toGrid(buffer), "DEVICE_ERROR", "grid_redistribute: nothing moved: rank 0: injected failure at its join on rank 0");
    expect(buffer.every((v) => v === 7)).toBe(true);
    gg.toGrid(buffer);
    gg.toRows(buffer);
    expect(buffer.every((v) => v === 7)).toBe(true);
  });

  test("a disposed GroupGrid, or one of a group that has left, is DISPOSED", () => {
    const group = Group.join({ mode: "threads", job: newJobId(), rank: 0, size: 1, backend: "host" });
    const grid: GridShape = { m: 3, n: 3, mb: 1, nb: 1, prows: 1, pcols: 1 };
    const gg = new GroupGrid(group, grid);
    const buffer = gg.allocBuffer();
    gg.dispose();
    gg.dispose();
    expect(gg.disposed).toBe(true);
    expectError(() => gg.toGrid(buffer), "DISPOSED", "was disposed");
    using other = new GroupGrid(group, grid);
    other.toGrid(buffer); // the group took no harm
    group.leave();
    expectError(() => other.toRows(buffer), "DISPOSED", "no longer usable");
  });
});
