// The distributed engine's grid layout and its in-place plan (lib/grid.ts, csrc/src/mp): every
// placement checked against a reference built here by counting from the definition (ScaLAPACK's
// 2D block-cyclic layout of the column-major view of the row-major A), the plan checked by
// running it on a model and on host buffers with one thread per rank, and failures injected at
// every transport operation.
import { describe, expect, test } from "bun:test";
import { gridCapacity, gridDescribe, gridLocate, gridPlan, runGridOnHost, type GridMove, type GridPlan, type GridShape } from "../lib/grid.ts";
import { expectError, randInt, rng } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

// ---- the reference: where A[i][j] (A is n x m, row-major) lives, by counting ----

interface Reference {
  ranks: number;
  shard: number;
  lld: number;
  localRows: number[]; // per grid row
  localCols: number[]; // per grid column
  position(rank: number): [number, number];
  /** row layout: rank and offset of A[i][j] */
  rowsAt(i: number, j: number): [number, number];
  /** grid layout: rank and offset of A[i][j] */
  gridAt(i: number, j: number): [number, number];
}

function reference(g: GridShape): Reference {
  const ranks = g.prows * g.pcols;
  const shard = Math.ceil(g.n / ranks);
  const column = g.order === "column";
  const rankOf = (pr: number, pc: number) => (column ? pc * g.prows + pr : pr * g.pcols + pc);
  const gridRowOf = (j: number) => Math.floor(j / g.mb) % g.prows;
  const gridColOf = (i: number) => Math.floor(i / g.nb) % g.pcols;
  // local index = how many earlier indices land on the same grid row (column)
  const localRow: number[] = [];
  const localRows = new Array<number>(g.prows).fill(0);
  for (let j = 0; j < g.m; j++) localRow.push(localRows[gridRowOf(j)]++);
  const localCol: number[] = [];
  const localCols = new Array<number>(g.pcols).fill(0);
  for (let i = 0; i < g.n; i++) localCol.push(localCols[gridColOf(i)]++);
  const lld = Math.max(1, ...localRows);
  return {
    ranks,
    shard,
    lld,
    localRows,
    localCols,
    position: (rank) => (column ? [rank % g.prows, Math.floor(rank / g.prows)] : [Math.floor(rank / g.pcols), rank % g.pcols]),
    rowsAt: (i, j) => [Math.floor(i / shard), (i % shard) * g.m + j],
    gridAt: (i, j) => [rankOf(gridRowOf(j), gridColOf(i)), localCol[i] * lld + localRow[j]],
  };
}

const id = (g: GridShape, i: number, j: number) => i * g.m + j;

// ---- shapes ----

/** Every grid of 1, 2, 3, 4 and 6 ranks, and shapes around the blocks: odd sizes and blocks,
 * N smaller than a block, N = 1, M = 1. */
function shapes(): GridShape[] {
  const grids: [number, number][] = [[1, 1], [2, 1], [1, 2], [3, 1], [1, 3], [2, 2], [4, 1], [1, 4], [2, 3], [3, 2], [6, 1], [1, 6]];
  const sizes: [number, number, number, number][] = [
    [7, 9, 2, 3], // odd everything
    [10, 10, 3, 3],
    [5, 13, 4, 1],
    [13, 5, 1, 4],
    [3, 2, 8, 8], // smaller than a block
    [1, 7, 1, 2], // M = 1
    [6, 1, 2, 2], // N = 1
    [1, 1, 1, 1],
    [16, 16, 4, 4], // even, a multiple of the grid's blocks
    [17, 11, 5, 3],
  ];
  const out: GridShape[] = [];
  for (const [prows, pcols] of grids)
    for (const [m, n, mb, nb] of sizes) out.push({ m, n, mb, nb, prows, pcols, order: (m + prows) % 2 === 0 ? "column" : "row" });
  return out;
}

function randomShapes(count: number, seed: number): GridShape[] {
  const r = rng(seed);
  const grids: [number, number][] = [[1, 1], [2, 1], [1, 2], [2, 2], [2, 3], [3, 2], [3, 1], [4, 1], [1, 4], [6, 1]];
  return Array.from({ length: count }, () => {
    const [prows, pcols] = grids[randInt(r, 0, grids.length - 1)];
    const m = randInt(r, 1, 40);
    const n = randInt(r, 1, 40);
    return { m, n, mb: randInt(r, 1, m + 3), nb: randInt(r, 1, n + 3), prows, pcols, order: r() < 0.5 ? "row" : "column" };
  });
}

const label = (g: GridShape) => `${g.m}x${g.n} blocks ${g.mb}x${g.nb} on ${g.prows}x${g.pcols} (${g.order ?? "row"})`;

// ---- the model: runs a plan's moves on arrays of element ids ----

type Space = { buffer: Int32Array[]; staging: Int32Array[] };

function byPhaseAndRound(moves: GridMove[], phase: "split" | "exchange"): GridMove[][] {
  const rounds: GridMove[][] = [];
  for (const m of moves.filter((m) => m.phase === phase)) (rounds[m.round] ??= []).push(m);
  return rounds;
}

/** Applies one round: checks bounds and that no move writes what another reads or writes. */
function applyRound(plan: GridPlan, space: Space, round: GridMove[], backward: boolean, where: string): void {
  const ends = (m: GridMove) => {
    const src = { rank: m.srcRank, staging: m.srcStaging, offset: m.srcOffset };
    const dst = { rank: m.dstRank, staging: m.dstStaging, offset: m.dstOffset };
    return backward ? { from: dst, to: src } : { from: src, to: dst };
  };
  const array = (e: { rank: number; staging: boolean; offset: number }, n: number, at: string) => {
    const a = (e.staging ? space.staging : space.buffer)[e.rank];
    const limit = e.staging ? plan.staging : plan.capacity;
    if (!(e.rank >= 0 && e.rank < space.buffer.length)) throw new Error(`${at}: rank ${e.rank} out of range`);
    if (e.offset < 0 || e.offset + n > limit) throw new Error(`${at}: [${e.offset}, ${e.offset + n}) beyond the ${e.staging ? "staging" : "buffer"} of ${limit}`);
    return a;
  };
  const key = (e: { rank: number; staging: boolean }) => `${e.rank}${e.staging ? "s" : "b"}`;
  const writes = new Map<string, [number, number][]>();
  const reads = new Map<string, [number, number][]>();
  const overlaps = (list: [number, number][] | undefined, a: number, b: number) => (list ?? []).some(([c, d]) => a < d && c < b);
  const data = round.map((m, k) => {
    const at = `${where} move ${k} ${JSON.stringify(m)}`;
    if (!(m.elements >= 1)) throw new Error(`${at}: empty move`);
    const { from, to } = ends(m);
    const src = array(from, m.elements, at);
    array(to, m.elements, at);
    const w: [number, number] = [to.offset, to.offset + m.elements];
    const rd: [number, number] = [from.offset, from.offset + m.elements];
    if (overlaps(writes.get(key(to)), ...w) || overlaps(reads.get(key(to)), ...w) || overlaps(writes.get(key(from)), ...rd))
      throw new Error(`${at}: overlaps another move of its round`);
    writes.set(key(to), [...(writes.get(key(to)) ?? []), w]);
    reads.set(key(from), [...(reads.get(key(from)) ?? []), rd]);
    return src.slice(from.offset, from.offset + m.elements);
  });
  round.forEach((m, k) => {
    const { to } = ends(m);
    (to.staging ? space.staging : space.buffer)[to.rank].set(data[k], to.offset);
  });
}

function runModel(plan: GridPlan, space: Space, backward: boolean): void {
  const phases: ("split" | "exchange")[] = backward ? ["exchange", "split"] : ["split", "exchange"];
  for (const phase of phases) {
    const rounds = byPhaseAndRound(plan.moves, phase);
    const order = backward ? [...rounds.keys()].reverse() : [...rounds.keys()];
    for (const t of order) applyRound(plan, space, rounds[t] ?? [], backward, `${label(plan.grid)} ${phase} round ${t}`);
  }
}

function rowLayout(g: GridShape, ref: Reference, capacity: number): Int32Array[] {
  const buffers = Array.from({ length: ref.ranks }, () => new Int32Array(capacity).fill(-1));
  for (let i = 0; i < g.n; i++)
    for (let j = 0; j < g.m; j++) {
      const [r, o] = ref.rowsAt(i, j);
      buffers[r][o] = id(g, i, j);
    }
  return buffers;
}

function expectLayout(g: GridShape, buffers: ArrayLike<number>[], at: (i: number, j: number) => [number, number], value: (id: number) => number, what: string): void {
  let wrong = 0;
  let first = "";
  for (let i = 0; i < g.n; i++)
    for (let j = 0; j < g.m; j++) {
      const [r, o] = at(i, j);
      if (buffers[r][o] !== value(id(g, i, j))) {
        if (wrong++ === 0) first = `A[${i}][${j}] expected at rank ${r} offset ${o}, found ${buffers[r][o]}`;
      }
    }
  if (wrong > 0) throw new Error(`${label(g)}, ${what}: ${wrong} elements misplaced; first: ${first}`);
}

/** The plan on the model: placement, the way back, rounds, jobs and the staging bound. */
function checkPlan(g: GridShape, lanes = 1, chunk = 0): GridPlan {
  const plan = gridPlan(g, { lanes, chunk });
  const ref = reference(g);
  const expectedChunk = chunk > 0 ? chunk : g.mb * g.nb;
  expect(plan.capacity).toBe(gridCapacity(g));
  expect(plan.lld).toBe(ref.lld);
  // capacity holds the row layout, the split rows (prows slots each) and the grid layout
  expect(plan.capacity).toBeGreaterThanOrEqual(ref.shard * g.m);
  expect(plan.capacity).toBeGreaterThanOrEqual(ref.shard * g.prows * ref.lld);
  expect(plan.capacity).toBeGreaterThanOrEqual(Math.max(...ref.localCols) * ref.lld);
  const space: Space = { buffer: rowLayout(g, ref, plan.capacity), staging: Array.from({ length: ref.ranks }, () => new Int32Array(plan.staging).fill(-1)) };
  runModel(plan, space, false);
  expectLayout(g, space.buffer, ref.gridAt, (v) => v, "to the grid");
  runModel(plan, space, true);
  expectLayout(g, space.buffer, ref.rowsAt, (v) => v, "back to rows");

  // the stated staging: one row of A for the split, one chunk per lane for the cycles
  const split = plan.moves.filter((m) => m.phase === "split");
  const exchange = plan.moves.filter((m) => m.phase === "exchange");
  const staged = exchange.filter((m) => m.dstStaging).map((m) => m.elements);
  const chunkUsed = Math.max(0, ...staged);
  expect(chunkUsed).toBeLessThanOrEqual(expectedChunk);
  expect(plan.staging).toBe(Math.max(g.prows > 1 ? g.m : 0, plan.cycles > 0 ? lanes * chunkUsed : 0));
  expect(plan.staging).toBeLessThanOrEqual(Math.max(g.m, lanes * expectedChunk));
  expect(staged.length).toBe(plan.cycles);
  // summary
  expect(plan.splitMoves).toBe(split.length);
  expect(plan.exchangeMoves).toBe(exchange.length);
  expect(plan.splitRounds).toBe(g.prows > 1 ? ref.shard * (1 + Math.ceil(g.m / g.mb)) : 0);
  expect(plan.exchangeRounds).toBe(exchange.length ? Math.max(...exchange.map((m) => m.round)) + 1 : 0);
  expect(plan.elementsCross + plan.elementsLocal).toBe(plan.moves.reduce((s, m) => s + m.elements, 0));
  expect(plan.largestMove).toBe(Math.max(0, ...plan.moves.map((m) => m.elements)));
  expect(plan.fixed).toBeLessThanOrEqual(plan.pieces);
  expect(split.every((m) => m.srcRank === m.dstRank)).toBe(true);
  // a job's moves are consecutive rounds of one lane, and a lane runs one move per round
  const jobs = new Map<number, GridMove[]>();
  for (const m of exchange) jobs.set(m.job, [...(jobs.get(m.job) ?? []), m]);
  expect(jobs.size).toBe(plan.chains + plan.cycles);
  for (const moves of jobs.values()) {
    moves.forEach((m, k) => {
      expect(m.lane).toBe(moves[0].lane);
      expect(m.round).toBe(moves[0].round + k);
    });
  }
  const laneRound = new Set(exchange.map((m) => `${m.lane}:${m.round}`));
  expect(laneRound.size).toBe(exchange.length);
  // staging is used only on the lane's own rank, in the lane's own slot
  for (const m of exchange) {
    const rank = Math.floor(m.lane / lanes);
    if (m.srcStaging) expect([m.srcRank, Math.floor(m.srcOffset / chunkUsed)]).toEqual([rank, m.lane % lanes]);
    if (m.dstStaging) expect([m.dstRank, Math.floor(m.dstOffset / chunkUsed)]).toEqual([rank, m.lane % lanes]);
  }
  return plan;
}

// ---- host buffers: elements of 4, 8 or 16 bytes holding their id ----

function hostBuffers(g: GridShape, capacity: number, bytes: number, at: (i: number, j: number) => [number, number]): Uint8Array[] {
  const ref = reference(g);
  const buffers = Array.from({ length: ref.ranks }, () => new Uint8Array(capacity * bytes).fill(0xee));
  for (let i = 0; i < g.n; i++)
    for (let j = 0; j < g.m; j++) {
      const [r, o] = at(i, j);
      buffers[r].set(pattern(id(g, i, j), bytes), o * bytes);
    }
  return buffers;
}

function pattern(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setUint32(0, value + 1, true);
  for (let b = 4; b < bytes; b++) out[b] = (value * 131 + b * 7) & 0xff;
  return out;
}

/** Element ids read back from host buffers (-1 where the bytes are no element's pattern). */
function idsOf(buffers: Uint8Array[], bytes: number): Int32Array[] {
  return buffers.map((b) => {
    const out = new Int32Array(b.length / bytes);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let e = 0; e < out.length; e++) {
      const value = v.getUint32(e * bytes, true) - 1;
      const want = pattern(value, bytes);
      out[e] = want.every((x, k) => b[e * bytes + k] === x) ? value : -1;
    }
    return out;
  });
}

function runHost(g: GridShape, bytes: number, lanes = 1, chunk = 0, agreePerPhase = false): void {
  const ref = reference(g);
  const capacity = gridCapacity(g);
  const buffers = hostBuffers(g, capacity, bytes, ref.rowsAt);
  const there = runGridOnHost(g, buffers, { direction: "toGrid", elementBytes: bytes, lanes, chunk, agreePerPhase });
  expect(there.error).toBeUndefined();
  expectLayout(g, idsOf(buffers, bytes), ref.gridAt, (v) => v, `host run to the grid (${bytes}-byte elements)`);
  const back = runGridOnHost(g, buffers, { direction: "toRows", elementBytes: bytes, lanes, chunk, agreePerPhase });
  expect(back.error).toBeUndefined();
  expectLayout(g, idsOf(buffers, bytes), ref.rowsAt, (v) => v, `host run back to rows (${bytes}-byte elements)`);
}

// ---- tests ----

describe("grid layout arithmetic", () => {
  test("describe: grid position, numroc, LLD, row shard and descriptor of every rank", () => {
    for (const g of [...shapes(), ...randomShapes(60, 5)]) {
      const ref = reference(g);
      for (let r = 0; r < ref.ranks; r++) {
        const d = gridDescribe(g, r);
        const [pr, pc] = ref.position(r);
        const first = r * ref.shard;
        const rows = Math.max(0, Math.min(ref.shard, g.n - first));
        expect({ ...d, where: label(g) }).toEqual({
          prow: pr,
          pcol: pc,
          localRows: ref.localRows[pr],
          localCols: ref.localCols[pc],
          lld: ref.lld,
          shardFirst: rows > 0 ? first : g.n,
          shardRows: rows,
          desc: [1, 0, g.m, g.n, g.mb, g.nb, 0, 0, ref.lld],
          where: label(g),
        });
      }
    }
  });

  test("locate: every element of the distributed matrix", () => {
    for (const g of shapes().filter((_, k) => k % 3 === 0)) {
      const ref = reference(g);
      for (let i = 0; i < g.n; i++)
        for (let j = 0; j < g.m; j++) {
          const { rank, offset } = gridLocate(g, j, i); // element (j, i) of the distributed matrix is A[i][j]
          expect([rank, offset]).toEqual(ref.gridAt(i, j));
        }
    }
  });

  test("argument errors name the problem", () => {
    const g: GridShape = { m: 4, n: 4, mb: 2, nb: 2, prows: 2, pcols: 1 };
    expectError(() => gridCapacity({ ...g, m: 0 }), "INVALID_ARGUMENT", "grid.m must be in [1, ");
    expectError(() => gridCapacity({ ...g, nb: 1.5 }), "INVALID_ARGUMENT", "grid.nb must be an integer");
    expectError(() => gridCapacity({ ...g, prows: 0 }), "INVALID_ARGUMENT", "grid.prows must be in [1, 4096], got 0");
    expectError(() => gridCapacity({ ...g, prows: 100, pcols: 100 }), "INVALID_ARGUMENT", "grid: 100 x 100 ranks", "<= 4096");
    expectError(() => gridCapacity({ ...g, order: "diagonal" as never }), "INVALID_ARGUMENT", 'grid.order must be "row" or "column"');
    expectError(() => gridCapacity(null as never), "INVALID_ARGUMENT", "grid must be an object");
    expectError(() => gridCapacity({ ...g, m: 2 ** 40, n: 2 ** 40, prows: 1 }), "INVALID_ARGUMENT", "needs more than 2^60 elements per rank");
    expectError(() => gridDescribe(g, 2), "INVALID_ARGUMENT", "grid_describe: rank must be in 0..1, got 2");
    expectError(() => gridLocate(g, 4, 0), "INVALID_ARGUMENT", "grid_locate: element (4, 0) is outside the 4 x 4 matrix");
    expectError(() => gridPlan(g, { lanes: 0 }), "INVALID_ARGUMENT", "lanes must be in [1, 64], got 0");
    expectError(() => gridPlan(g, { chunk: -1 }), "INVALID_ARGUMENT", "chunk must be >= 0, got -1");
  });
});

describe("grid plan", () => {
  test("a worked example: 7 x 9 in 2 x 3 blocks on a 2 x 2 grid", () => {
    const plan = checkPlan({ m: 7, n: 9, mb: 2, nb: 3, prows: 2, pcols: 2 });
    expect(plan).toMatchObject({ capacity: 24, lld: 4, staging: 7, splitRounds: 15 });
    expect(plan.cycles + plan.chains).toBeGreaterThan(0);
  });

  test("one rank: the split and local copies only; one grid row: no split", () => {
    const one = checkPlan({ m: 9, n: 7, mb: 2, nb: 3, prows: 1, pcols: 1 });
    expect(one.splitMoves).toBe(0);
    expect(one.elementsCross).toBe(0);
    const wide = checkPlan({ m: 9, n: 7, mb: 2, nb: 3, prows: 1, pcols: 3 });
    expect(wide.splitMoves).toBe(0);
    expect(wide.staging).toBeLessThanOrEqual(2 * 3);
  });

  test("every grid of 1, 2, 3, 4 and 6 ranks on odd shapes, N below a block, N = 1, M = 1", () => {
    for (const g of shapes()) checkPlan(g);
  });

  test("random shapes, lanes and chunks", () => {
    const r = rng(91);
    for (const g of randomShapes(150, 17)) checkPlan(g, randInt(r, 1, 3), r() < 0.5 ? 0 : randInt(r, 1, 12));
  });

  test("a chunk of 1 element still places everything, with one element of exchange staging per lane", () => {
    const g: GridShape = { m: 6, n: 10, mb: 2, nb: 2, prows: 1, pcols: 3 };
    const plan = checkPlan(g, 2, 1);
    if (plan.cycles > 0) expect(plan.staging).toBe(2);
  });
});

describe("the executor on host buffers, one thread per rank", () => {
  test("every grid on odd shapes, 8-byte elements, both ways", () => {
    for (const g of shapes()) runHost(g, 8);
  });

  test("agreeing once per phase, as a queueing transport does", () => {
    for (const g of shapes().filter((_, k) => k % 4 === 1)) runHost(g, 8, 2, 0, true);
  });

  test("4- and 16-byte elements, lanes and chunks", () => {
    const r = rng(23);
    for (const g of randomShapes(40, 29)) runHost(g, r() < 0.5 ? 4 : 16, randInt(r, 1, 3), r() < 0.5 ? 0 : randInt(r, 1, 9));
  });

  test("argument errors", () => {
    const g: GridShape = { m: 4, n: 4, mb: 2, nb: 2, prows: 2, pcols: 1 };
    const cap = gridCapacity(g);
    const ok = () => [new Float64Array(cap), new Float64Array(cap)];
    expectError(() => runGridOnHost(g, [new Float64Array(cap)], { direction: "toGrid", elementBytes: 8 }), "INVALID_ARGUMENT", "buffers must be an array of 2 views");
    expectError(() => runGridOnHost(g, [new Float64Array(cap), new Float64Array(cap - 1)], { direction: "toGrid", elementBytes: 8 }), "INVALID_ARGUMENT", `buffer of rank 1 must be a view of at least ${cap * 8} bytes`);
    expectError(() => runGridOnHost(g, ok(), { direction: "sideways" as never, elementBytes: 8 }), "INVALID_ARGUMENT", 'direction must be "toGrid" or "toRows"');
    expectError(() => runGridOnHost(g, ok(), { direction: "toGrid", elementBytes: 0 }), "INVALID_ARGUMENT", "elementBytes must be in [1, 1024], got 0");
    expectError(() => runGridOnHost(g, ok(), { direction: "toGrid", elementBytes: 8, fault: { kind: "fail", rank: 2, operation: 0 } }), "INVALID_ARGUMENT", "fault.rank must be in [0, 1], got 2");
    expectError(() => runGridOnHost(g, ok(), { direction: "toGrid", elementBytes: 8, fault: { kind: "none" as never, rank: 0, operation: 0 } }), "INVALID_ARGUMENT", 'fault.kind must be "fail", "die" or "stall"');
  });
});

/** Transport operations of each rank in a run of the plan: its moves, a copy counting once. */
function operations(plan: GridPlan, ranks: number): number[] {
  const ops = new Array<number>(ranks).fill(0);
  for (const m of plan.moves) {
    ops[m.srcRank]++;
    if (m.dstRank !== m.srcRank) ops[m.dstRank]++;
  }
  return ops;
}

describe("failures", () => {
  const cases: GridShape[] = [
    { m: 7, n: 9, mb: 2, nb: 3, prows: 2, pcols: 2 },
    { m: 5, n: 8, mb: 3, nb: 1, prows: 2, pcols: 3, order: "column" },
    { m: 6, n: 7, mb: 2, nb: 2, prows: 1, pcols: 3 },
  ];

  test("an operation failing anywhere, either way: every rank reports it and the matrix is back where it started", () => {
    for (const g of cases) {
      const ref = reference(g);
      const plan = gridPlan(g);
      const ops = operations(plan, ref.ranks);
      for (const direction of ["toGrid", "toRows"] as const) {
        const start = direction === "toGrid" ? ref.rowsAt : ref.gridAt;
        for (const rank of [...new Set([0, 1, ref.ranks - 1])])
          for (let operation = 0; operation < ops[rank]; operation++) {
            const buffers = hostBuffers(g, plan.capacity, 8, start);
            const run = runGridOnHost(g, buffers, { direction, elementBytes: 8, fault: { kind: "fail", rank, operation } });
            const where = `${label(g)} ${direction}, rank ${rank} operation ${operation}`;
            expect(run.error?.code, where).toBe("DEVICE_ERROR");
            expect(run.error?.device, where).toBe(rank);
            expect(run.error?.message, where).toContain(`injected failure of operation ${operation} on rank ${rank}`);
            expect(run.error?.message, where).toContain(`the matrix was restored to its ${direction === "toGrid" ? "row" : "grid"} layout`);
            expect(run.statuses, where).toEqual(new Array(ref.ranks).fill("DEVICE_ERROR"));
            expectLayout(g, idsOf(buffers, 8), start, (v) => v, `${where}: after the roll back`);
          }
      }
    }
  });

  test("agreeing once per phase: a failed exchange is LAYOUT_LOST on every rank, a failed split still rolls back", () => {
    const g = cases[0];
    const ref = reference(g);
    const plan = gridPlan(g);
    const ops = operations(plan, ref.ranks);
    const splitOps = plan.moves.filter((m) => m.phase === "split" && m.srcRank === 1).length;
    for (let operation = 0; operation < ops[1]; operation++) {
      const buffers = hostBuffers(g, plan.capacity, 8, ref.rowsAt);
      const run = runGridOnHost(g, buffers, { direction: "toGrid", elementBytes: 8, agreePerPhase: true, fault: { kind: "fail", rank: 1, operation } });
      const where = `rank 1 operation ${operation}`;
      if (operation < splitOps) {
        expect(run.error?.code, where).toBe("DEVICE_ERROR");
        expectLayout(g, idsOf(buffers, 8), ref.rowsAt, (v) => v, `${where}: after the roll back`);
      } else {
        expect(run.error?.code, where).toBe("LAYOUT_LOST");
        expect(run.error?.message, where).toContain("agrees only at its end: the layout is lost");
        expect(run.statuses, where).toEqual(["LAYOUT_LOST", "LAYOUT_LOST", "LAYOUT_LOST", "LAYOUT_LOST"]);
      }
      expect(run.error?.device, where).toBe(1);
    }
  });

  test("a fault past the rank's last operation never fires", () => {
    const g = cases[0];
    const plan = gridPlan(g);
    const ops = operations(plan, 4);
    const buffers = hostBuffers(g, plan.capacity, 8, reference(g).rowsAt);
    expect(runGridOnHost(g, buffers, { direction: "toGrid", elementBytes: 8, fault: { kind: "fail", rank: 1, operation: ops[1] } }).error).toBeUndefined();
  });

  test("a rank that dies at any operation: every other rank ends with PEER_LOST naming it, its own rows back in place when the death came in the split", () => {
    for (const g of cases) {
      const ref = reference(g);
      const plan = gridPlan(g);
      const ops = operations(plan, ref.ranks);
      for (const rank of [...new Set([0, ref.ranks - 1])]) {
        const split = plan.moves.filter((m) => m.phase === "split" && m.srcRank === rank).length;
        for (let operation = 0; operation < ops[rank]; operation++) {
          const buffers = hostBuffers(g, plan.capacity, 8, ref.rowsAt);
          const run = runGridOnHost(g, buffers, { direction: "toGrid", elementBytes: 8, fault: { kind: "die", rank, operation } });
          const where = `${label(g)}, rank ${rank} dies at operation ${operation}`;
          expect(run.error?.code, where).toBe("PEER_LOST");
          expect(run.error?.device, where).toBe(rank);
          expect(run.error?.message, where).toContain(`rank ${rank} was lost`);
          run.statuses.forEach((s, r) => expect(s, `${where}: rank ${r}`).toBe("PEER_LOST"));
          if (operation >= split) continue; // in the exchange: the matrix is lost
          expect(run.error?.message, where).toContain("nothing had crossed between ranks, and this rank's buffer is back in its row layout");
          const ids = idsOf(buffers, 8);
          for (let i = 0; i < g.n; i++)
            for (let j = 0; j < g.m; j++) {
              const [r, o] = ref.rowsAt(i, j);
              if (r !== rank && ids[r][o] !== id(g, i, j)) throw new Error(`${where}: rank ${r}'s A[${i}][${j}] is not back in place`);
            }
        }
      }
    }
  });

  test("a rank that stalls: the others give up with TIMEOUT naming it", () => {
    const g = cases[0];
    const plan = gridPlan(g);
    const ops = operations(plan, 4);
    for (const operation of [0, Math.floor(ops[2] / 2), ops[2] - 1]) {
      const buffers = hostBuffers(g, plan.capacity, 8, reference(g).rowsAt);
      const run = runGridOnHost(g, buffers, { direction: "toGrid", elementBytes: 8, timeoutMs: 150, fault: { kind: "stall", rank: 2, operation } });
      expect(run.error?.code).toBe("TIMEOUT");
      expect(run.error?.device).toBe(2);
      expect(run.error?.message).toContain("rank 2 did not");
      expect(run.statuses.filter((_, r) => r !== 2)).toEqual(["TIMEOUT", "TIMEOUT", "TIMEOUT"]);
    }
  });
});
