import { describe, expect, test } from "bun:test";
import { cyclicPlan, shardCapacity, type CyclicPlan } from "../lib/index.ts";
import { cyclicRowsOn, expectError, randInt, rng, rowShardRowsOn } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

/** Runs the plan's moves on a model of the shards (each slot holds a global row id) and checks
 * every move, the staging bound, the final layout and the summary. */
function simulate(plan: CyclicPlan): void {
  const { rows, tileSize: T, devices: G, capacity, stagingRows } = plan;
  const where = `plan(${rows}, ${T}, ${G}, lanes ${plan.lanes})`;
  const shards = rowShardRowsOn(rows, G).map((held) => {
    const slots = new Array<number>(capacity).fill(-1);
    held.forEach((j, l) => (slots[l] = j));
    return slots;
  });
  const staging = new Map<number, number[]>(); // per cycle
  const placed = new Map<number, Set<number>>(); // per cycle: rows written to a shard
  let rowsCopied = 0;
  for (const [i, m] of plan.moves.entries()) {
    const at = `${where} move ${i} ${JSON.stringify(m)}`;
    if (!(m.rows >= 1)) throw new Error(`${at}: empty move`);
    rowsCopied += m.rows;
    const bufferOf = (dev: number, row: number): number[] => {
      if (dev === -1) {
        if (row + m.rows > stagingRows) throw new Error(`${at}: staging rows ${row}..${row + m.rows} exceed the stated ${stagingRows}`);
        if (!staging.has(m.cycle)) staging.set(m.cycle, new Array<number>(stagingRows).fill(-1));
        return staging.get(m.cycle)!;
      }
      if (!(dev >= 0 && dev < G)) throw new Error(`${at}: device ${dev} out of range`);
      if (row < 0 || row + m.rows > capacity) throw new Error(`${at}: rows beyond the capacity ${capacity}`);
      return shards[dev];
    };
    const src = bufferOf(m.srcDevice, m.srcRow);
    const dst = bufferOf(m.dstDevice, m.dstRow);
    const piece = src.slice(m.srcRow, m.srcRow + m.rows);
    if (piece.some((j) => j < 0)) throw new Error(`${at}: reads slots that hold no row`);
    // a piece is a run of consecutive global rows (one tile or part of one)
    piece.forEach((j, k) => {
      if (j !== piece[0] + k) throw new Error(`${at}: not a contiguous run of rows`);
    });
    dst.splice(m.dstRow, m.rows, ...piece);
    if (m.dstDevice !== -1) {
      if (!placed.has(m.cycle)) placed.set(m.cycle, new Set());
      const mine = placed.get(m.cycle)!;
      for (const j of piece) {
        if (mine.has(j)) throw new Error(`${at}: row ${j} placed twice in one cycle`);
        mine.add(j);
      }
    }
  }
  // Final layout: every row where the cyclic layout puts it; rows never placed were in place.
  const expected = cyclicRowsOn(rows, T, G);
  expected.forEach((held, d) =>
    held.forEach((j, l) => {
      if (shards[d][l] !== j) throw new Error(`${where}: position ${d} local row ${l} holds ${shards[d][l]}, expected ${j}`);
    }),
  );
  const initial = rowShardRowsOn(rows, G);
  const moved = new Set([...placed.values()].flatMap((rowsOf) => [...rowsOf]));
  for (let j = 0; j < rows; j++) {
    if (moved.has(j)) continue;
    const d = initial.findIndex((held) => held.includes(j));
    if (expected[d].indexOf(j) !== initial[d].indexOf(j)) throw new Error(`${where}: row ${j} was never moved into place`);
  }

  // Summary consistency.
  expect(plan.copies).toBe(plan.moves.length);
  expect(plan.capacity).toBe(shardCapacity(rows, T, G));
  expect(plan.rowsCross + plan.rowsLocal).toBe(rowsCopied);
  const crossAtLeast = plan.moves.filter((m) => m.srcDevice >= 0 && m.dstDevice >= 0 && m.srcDevice !== m.dstDevice).reduce((s, m) => s + m.rows, 0);
  expect(plan.rowsCross).toBeGreaterThanOrEqual(crossAtLeast);
  // Jobs: the cycles, the chains and at most one shift per position (an uneven shard moved onto
  // the tile grid first).
  const jobs = new Set(plan.moves.map((m) => m.cycle)).size;
  expect(jobs).toBe(plan.cycles + plan.chains + plan.shifts);
  expect(plan.shifts).toBeLessThanOrEqual(G);
  // largest over all pieces, fixed ones included
  expect(plan.largestPiece).toBeGreaterThanOrEqual(Math.max(0, ...plan.moves.map((m) => m.rows)));
  expect(plan.fixed).toBeLessThanOrEqual(plan.pieces);
  expect(plan.pieces).toBeGreaterThanOrEqual(1);
  // Bounded staging: never O(N^2), at most a few tiles (pieces are at most a tile).
  expect(plan.largestPiece).toBeLessThanOrEqual(T);
  expect(plan.stagingRows).toBeLessThanOrEqual(plan.lanes * T);
}

describe("cyclicPlan", () => {
  test("the worked example: 10 rows, tiles of 2, 3 positions", () => {
    const plan = cyclicPlan(10, 2, 3);
    expect(plan).toMatchObject({ rows: 10, tileSize: 2, devices: 3, lanes: 1, capacity: 4 });
    simulate(plan);
  });

  test("one position: nothing moves", () => {
    for (const [rows, T] of [
      [1, 1],
      [10, 3],
      [64, 16],
    ]) {
      const plan = cyclicPlan(rows, T, 1);
      expect(plan.moves).toEqual([]);
      expect(plan.cycles + plan.chains).toBe(0);
      expect(plan.stagingRows).toBe(0);
      simulate(plan);
    }
  });

  test("shards a multiple of the tile move whole tiles", () => {
    const plan = cyclicPlan(64, 8, 4); // s = 16 = 2 tiles
    simulate(plan);
    expect(plan.moves.every((m) => m.rows === 8)).toBe(true);
  });

  test("odd shapes and random (N, T, G, lanes) cases", () => {
    const fixed: [number, number, number][] = [
      [1, 1, 2],
      [2, 1, 4],
      [3, 8, 3],
      [37, 8, 3],
      [37, 5, 4],
      [64, 16, 4],
      [100, 7, 6],
      [31, 31, 2],
      [33, 32, 2],
    ];
    for (const [rows, T, G] of fixed) simulate(cyclicPlan(rows, T, G));
    const r = rng(77);
    for (let i = 0; i < 150; i++) {
      const rows = randInt(r, 1, 300);
      simulate(cyclicPlan(rows, randInt(r, 1, Math.min(rows + 4, 64)), randInt(r, 1, 8), randInt(r, 1, 3)));
    }
  });

  test("argument errors", () => {
    expectError(() => cyclicPlan(0, 1, 1), "INVALID_ARGUMENT", "rows must be >= 1");
    expectError(() => cyclicPlan(5, 0, 1), "INVALID_ARGUMENT", "tile size must be >= 1, got 0");
    expectError(() => cyclicPlan(5, -2, 1), "INVALID_ARGUMENT", "tile size must be >= 1, got -2");
    expectError(() => cyclicPlan(5, 1.5, 1), "INVALID_ARGUMENT", "tile size must be an integer");
    expectError(() => cyclicPlan(5, 1, 33), "INVALID_ARGUMENT", "devices must be in [1, 32], got 33");
    expectError(() => cyclicPlan(5, 1, 2, 0), "INVALID_ARGUMENT", "lanes must be >= 1");
    expectError(() => cyclicPlan(5, 1, 2, 65), "INVALID_ARGUMENT", "lanes");
  });
});
