// Faults on the host backend (bunmg_debug_inject): a copy made to fail at every step of a
// redistribution and inside cholesky / potri / syevd, every allocation and every solver call of
// each routine made to fail, out-of-memory at allocation, and a soak
// of mixed solves. After each fault the matrix must be bit for bit what it was, in row layout (or
// in the post-state docs/reliability.md documents), and the mesh must hold exactly what it held
// before. The fault table of docs/reliability.md is generated from the scenarios below.
import { describe, expect, test } from "bun:test";
import {
  BunmgError,
  cholesky,
  cyclicPlan,
  DeviceBuffer,
  Mesh,
  potri,
  ShardedMatrix,
  syevd,
  type BunmgErrorCode,
  type DType,
} from "../lib/index.ts";
import { expectShards } from "./checks.ts";
import {
  bitsEqual,
  components,
  cyclicRowsOn,
  expectDocSection,
  expectError,
  failCopyAfter,
  indexArray,
  randomHermitian,
  randomSPD,
  rowShardRowsOn,
  store,
  heldBytes,
} from "./helpers.ts";
import { describeCounts, sweepFaults, type SweptRoutine } from "./fault-sweep.ts";
import { describeRounds, runSoak } from "./soak.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();


/** Rows of the fault table: scenario, faults injected, outcome. */
const table: string[] = [];
/** Faults that fired: copy failures that a call reported, and allocations refused. */
let injected = 0;

/** Arms a copy failure at copy index n (0-based, counted from now), runs fn, disarms, and
 * returns the BunmgError fn threw (counting the injected failures that fired). */
function withFault(mesh: Mesh, n: number, fn: () => unknown): BunmgError | undefined {
  failCopyAfter(mesh, n);
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof BunmgError)) throw e;
    if (e.message.includes("debug_inject")) injected++;
    return e;
  } finally {
    failCopyAfter(mesh, -1);
  }
}

function expectThrown(e: BunmgError | undefined, code: BunmgErrorCode, ...parts: string[]): void {
  expect(e?.code).toBe(code);
  for (const p of parts) expect(e?.message).toContain(p);
}

// ---- redistributions: every copy index of the plan, both directions ----

const SOLVER_SHAPES: Array<{ n: number; T: number; G: number; dtype: DType }> = [
  { n: 10, T: 2, G: 3, dtype: "float64" },
  { n: 13, T: 3, G: 2, dtype: "complex64" }, // uneven
  { n: 16, T: 2, G: 4, dtype: "complex128" },
];


interface Shape {
  rows: number;
  cols: number;
  T: number;
  G: number;
  dtype: DType;
}

const SHAPES: Shape[] = [
  { rows: 10, cols: 4, T: 2, G: 3, dtype: "float64" }, // the worked example of test/plan.test.ts
  { rows: 29, cols: 5, T: 3, G: 3, dtype: "float32" }, // uneven: shifts
  { rows: 37, cols: 3, T: 8, G: 3, dtype: "complex128" },
  { rows: 64, cols: 2, T: 8, G: 4, dtype: "complex64" }, // whole tiles, cycles
  { rows: 17, cols: 3, T: 4, G: 4, dtype: "float64" }, // uneven, the last position short
  { rows: 50, cols: 7, T: 7, G: 4, dtype: "float32" },
  { rows: 9, cols: 2, T: 4, G: 2, dtype: "complex128" },
  { rows: 23, cols: 1, T: 3, G: 5, dtype: "float64" },
];

describe("copy failures at every step of a redistribution", () => {
  test("the plans cover shifts, chains and cycles, and every one moves something", () => {
    const plans = [...SHAPES, ...SOLVER_SHAPES.map((s) => ({ ...s, rows: s.n }))].map((s) => cyclicPlan(s.rows, s.T, s.G));
    expect(plans.every((p) => p.copies > 0)).toBe(true);
    expect(plans.some((p) => p.shifts > 0)).toBe(true);
    expect(plans.some((p) => p.cycles > 0)).toBe(true);
    expect(plans.some((p) => p.chains > 0)).toBe(true);
  });

  for (const s of SHAPES) {
    const name = `${s.rows} x ${s.cols} ${s.dtype}, T=${s.T}, G=${s.G}`;
    test(name, () => {
      const plan = cyclicPlan(s.rows, s.T, s.G);
      using mesh = Mesh.host(s.G);
      const data = indexArray(s.dtype, s.rows * s.cols);
      using A = ShardedMatrix.fromHost(mesh, data as never, { rows: s.rows, cols: s.cols, dtype: s.dtype });
      const baseline = heldBytes(mesh);
      const rowsLayout = rowShardRowsOn(s.rows, s.G);
      const cyclic = cyclicRowsOn(s.rows, s.T, s.G);
      // n < copies: copy n fails and the matrix is rolled back; n = copies: no copy fails, which
      // pins the number of copies the executor issues to the plan's.
      for (let n = 0; n <= plan.copies; n++) {
        const e = withFault(mesh, n, () => A.toCyclic(s.T));
        const failed = e !== undefined;
        expect(failed, `${name}: copy ${n} of ${plan.copies}`).toBe(n < plan.copies);
        if (failed) expectThrown(e, "DEVICE_ERROR", "to_cyclic: redistribution failed at job", "injected copy failure", "the matrix was restored to its row layout");
        expect(heldBytes(mesh)).toEqual(baseline); // staging released
        if (failed) {
          expect(A.layout).toBe("rows");
          expectShards(A, data, rowsLayout);
          continue;
        }
        expectShards(A, data, cyclic);
        // and back: copy m of the reverse run fails, the matrix stays cyclic
        for (let m = 0; m <= plan.copies; m++) {
          const e2 = withFault(mesh, m, () => A.fromCyclic());
          const back = e2 !== undefined;
          expect(back, `${name}: back, copy ${m}`).toBe(m < plan.copies);
          if (back) expectThrown(e2, "DEVICE_ERROR", "to_rows: redistribution failed at job", "injected copy failure", "restored to its cyclic layout");
          expect(heldBytes(mesh)).toEqual(baseline);
          if (back) {
            expect([A.layout, A.tileSize]).toEqual(["cyclic", s.T]);
            expectShards(A, data, cyclic);
          }
        }
      }
      expect(A.layout).toBe("rows");
      expect(bitsEqual(A.toHost(), data)).toBe(true);
      table.push(`| toCyclic / fromCyclic ${name} | ${plan.copies} + ${plan.copies} (every copy of the plan${plan.shifts ? `, ${plan.shifts} shift job${plan.shifts > 1 ? "s" : ""}` : ""}) | \`DEVICE_ERROR\`; rolled back: row layout (resp. cyclic) bit for bit; staging freed |`);
    });
  }
});

// ---- inside the solvers ----

/** Runs `fn` with copy n failing on a fresh A (SPD, or Hermitian for syevd); returns the error
 * (or undefined) and A's state afterwards. */
function solverFault(s: (typeof SOLVER_SHAPES)[number], n: number, input: "spd" | "hermitian", fn: (A: ShardedMatrix) => unknown) {
  const c = components(s.dtype);
  const host = store(s.dtype, input === "spd" ? randomSPD(s.n, c, 5 + s.n) : randomHermitian(s.n, c, 5 + s.n));
  const mesh = Mesh.host(s.G);
  const A = ShardedMatrix.fromHost(mesh, host as never, { rows: s.n, cols: s.n, dtype: s.dtype });
  const baseline = heldBytes(mesh);
  const error = withFault(mesh, n, () => fn(A));
  return {
    error,
    A,
    host,
    unchanged: () => A.layout === "rows" && bitsEqual(A.toHost(), host),
    heldBack: () => expect(heldBytes(mesh)).toEqual(baseline),
    [Symbol.dispose]: () => mesh.dispose(),
  };
}

function expectInjected(e: BunmgError | undefined, ...parts: string[]): void {
  expectThrown(e, "DEVICE_ERROR", "injected copy failure", ...parts);
}

describe("copy failures inside the solvers", () => {
  for (const s of SOLVER_SHAPES) {
    const name = `N=${s.n} ${s.dtype}, T=${s.T}, G=${s.G}`;
    const copies = cyclicPlan(s.n, s.T, s.G).copies;

    test(`cholesky ${name}: every copy of the way in`, () => {
      for (let n = 0; n <= copies; n++) {
        using r = solverFault(s, n, "spd", (A) => cholesky(A, { tileSize: s.T, strategy: "multi" }));
        if (n < copies) {
          expectInjected(r.error, "cholesky:", "restored to its row layout");
          expect(r.unchanged()).toBe(true);
        } else {
          expect(r.error).toBeUndefined();
          expect(r.A.layout).toBe("cyclic");
        }
        r.heldBack();
      }
      table.push(`| cholesky ${name} | ${copies} (the way in) | \`DEVICE_ERROR\`; A unchanged, row layout |`);
    });

    test(`potri ${name}: every copy in and out`, () => {
      for (let n = 0; n <= 2 * copies; n++) {
        using r = solverFault(s, n, "spd", (A) => potri(A, { tileSize: s.T, strategy: "multi" }));
        if (n < copies) {
          expectInjected(r.error, "restored to its row layout");
          expect(r.unchanged()).toBe(true);
        } else if (n < 2 * copies) {
          // the inverse was computed; the way out failed and was rolled back: A stays cyclic,
          // holding potri's output (docs/reliability.md, post-states)
          expectInjected(r.error, "potri:", "restored to its cyclic layout");
          expect([r.A.layout, r.A.tileSize]).toEqual(["cyclic", s.T]);
          r.A.fromCyclic(); // still a consistent matrix
        } else {
          expect(r.error).toBeUndefined();
          expect(r.A.layout).toBe("rows");
        }
        r.heldBack();
      }
      table.push(`| potri ${name} | ${2 * copies} (in and out) | \`DEVICE_ERROR\`; in: A unchanged, row layout; out: A cyclic (potri's output), fromCyclic() works |`);
    });

    test(`syevd ${name}: every copy in and out, with and without vectors`, () => {
      for (const vectors of [true, false]) {
        for (let n = 0; n <= 2 * copies; n++) {
          using r = solverFault(s, n, "hermitian", (A) => syevd(A, { tileSize: s.T, strategy: "multi", vectors }));
          if (n < copies) {
            expectInjected(r.error, "syevd:", "restored to its row layout");
            expect(r.unchanged()).toBe(true);
          } else if (n < 2 * copies) {
            expectInjected(r.error, "syevd:", "restored to its cyclic layout");
            expect([r.A.layout, r.A.tileSize]).toEqual(["cyclic", s.T]);
            r.A.fromCyclic();
            // without vectors the solver left A alone: it comes back whole
            if (!vectors) expect(r.unchanged()).toBe(true);
          } else {
            expect(r.error).toBeUndefined();
            expect(r.A.layout).toBe("rows");
            if (!vectors) expect(r.unchanged()).toBe(true);
          }
          r.heldBack();
        }
      }
      table.push(`| syevd ${name}, vectors and values only | ${4 * copies} (in and out, twice) | \`DEVICE_ERROR\`; in: A unchanged, row layout; out: A cyclic (eigenvectors, or A itself without vectors), fromCyclic() works |`);
    });

    test(`a failed restore after NOT_POSITIVE_DEFINITE ${name}: LAYOUT_LOST, the matrix refuses use, memory comes back`, () => {
      for (let n = copies; n < 2 * copies; n++) {
        const c = components(s.dtype);
        const a = randomSPD(s.n, c, 3);
        a[(2 * s.n + 2) * c] = -1;
        using mesh = Mesh.host(s.G);
        const A = ShardedMatrix.fromHost(mesh, store(s.dtype, a) as never, { rows: s.n, cols: s.n, dtype: s.dtype });
        expectThrown(withFault(mesh, n, () => cholesky(A, { tileSize: s.T, strategy: "multi" })), "LAYOUT_LOST", "not positive definite", "restoring A failed too", "injected copy failure");
        expectError(() => A.toHost(), "LAYOUT_LOST", "lost its contents in a failed redistribution", "dispose it");
        expectError(() => A.fromCyclic(), "LAYOUT_LOST");
        A.dispose();
        expect(heldBytes(mesh).every((h) => h === 0)).toBe(true);
      }
      table.push(`| cholesky of a non-SPD A ${name}, copy failing while restoring | ${copies} (the way back) | \`LAYOUT_LOST\` (a double fault); A refuses use with \`LAYOUT_LOST\`; dispose frees it |`);
    });
  }

  test("a failed factor.inverse() leaves no usable-looking factor behind", () => {
    const s = SOLVER_SHAPES[0];
    const copies = cyclicPlan(s.n, s.T, s.G).copies;
    using mesh = Mesh.host(s.G);
    const host = store(s.dtype, randomSPD(s.n, 1, 9));
    using A = ShardedMatrix.fromHost(mesh, host as never, { rows: s.n, cols: s.n, dtype: s.dtype });
    const factor = cholesky(A, { tileSize: s.T, strategy: "multi" });
    const b = new Float64Array(s.n).fill(1);
    const x = factor.solve(b as never);
    table.push("| cholesky(A).inverse() with the last copy of the way out failing | 1 | `DEVICE_ERROR`, A cyclic holding potri's output; the factor is consumed: solve() refuses with `DISPOSED` |");
    expectInjected(withFault(mesh, copies - 1, () => factor.inverse()), "restored to its cyclic layout");
    // potri has overwritten the factor: the factor must refuse to solve rather than answer wrongly
    expect(x.length).toBe(s.n);
    expectError(() => factor.solve(b as never), "DISPOSED", "consumed by inverse()");
  });
});

// ---- allocation and solver failures: every allocation and solver call of each routine ----

describe("allocation and solver failures inside the solvers", () => {
  const routines: SweptRoutine[] = ["potrs", "potri", "syevd", "syevd-values"];
  for (const s of SOLVER_SHAPES)
    for (const fault of ["alloc", "solver"] as const) {
      const name = `N=${s.n} ${s.dtype}, T=${s.T}, G=${s.G}`;
      test(`${fault} failures ${name}: every ${fault === "alloc" ? "allocation" : "solver call"} of each routine, both paths`, () => {
        const outcomes: string[] = [];
        let fired = 0;
        for (const routine of routines)
          for (const path of ["multi", "single"] as const) {
            const counts = sweepFaults(() => Mesh.host(s.G), s, routine, path, fault);
            fired += counts.fired;
            outcomes.push(`${routine} ${path}: ${describeCounts(counts)}`);
          }
        injected += fired;
        const code = fault === "alloc" ? "OUT_OF_MEMORY" : "SOLVER_ERROR";
        table.push(`| ${fault === "alloc" ? "allocation" : "solver"} failures ${name}, potrs / potri / syevd / syevd values, multi and single | ${fired} | \`${code}\`; ${outcomes.join("; ")} |`);
      });
    }
});

// ---- out of memory ----

describe("out of memory", () => {
  test("a buffer larger than the address space: OUT_OF_MEMORY naming the position; nothing held", () => {
    using mesh = Mesh.host(2);
    const e = expectError(() => DeviceBuffer.alloc(mesh, 1, "complex128", 2 ** 44), "OUT_OF_MEMORY", "out of memory on host device 1: needed 281474976710656 bytes");
    injected++;
    expect(e.device).toBe(1);
    expect(heldBytes(mesh)).toEqual([0, 0]);
    table.push("| DeviceBuffer.alloc of 2^48 bytes | 1 (allocation) | `OUT_OF_MEMORY`, device = the position; nothing held |");
  });

  test("a matrix whose shards cannot be allocated: OUT_OF_MEMORY; nothing held", () => {
    using mesh = Mesh.host(2);
    expectError(() => ShardedMatrix.alloc(mesh, { rows: 2 ** 23, cols: 2 ** 23, dtype: "complex128", maxTile: 1 }), "OUT_OF_MEMORY", "out of memory on host device 0");
    injected++;
    expect(heldBytes(mesh)).toEqual([0, 0]);
    table.push("| ShardedMatrix.alloc of 2^23 x 2^23 complex128 | 1 (allocation) | `OUT_OF_MEMORY`; nothing held |");
  });

  test("growing the shards for a huge tile fails cleanly: A unchanged, only A held", () => {
    using mesh = Mesh.host(2);
    const data = indexArray("complex128", 64 * 64);
    using A = ShardedMatrix.fromHost(mesh, data, { rows: 64, cols: 64, dtype: "complex128", maxTile: 4 });
    const baseline = heldBytes(mesh);
    expectError(() => A.toCyclic(2 ** 40), "OUT_OF_MEMORY", "toCyclic(1099511627776): shards of 1099511627776 rows need", "bytes on mesh position 0, which has");
    injected++;
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), data)).toBe(true);
    expect(heldBytes(mesh)).toEqual(baseline);
    A.toCyclic(4); // and it still works
    expect(heldBytes(mesh)).toEqual(baseline);
    table.push("| toCyclic(2^40) of a 64 x 64 complex128 A (shards must grow to 2^50 bytes) | 1 (allocation) | `OUT_OF_MEMORY`; A unchanged, row layout; only A held |");
  });

  test("disposing matrices in any layout, factors and meshes gives everything back", () => {
    using mesh = Mesh.host(3);
    const host = store("float64", randomSPD(12, 1, 2));
    const A = ShardedMatrix.fromHost(mesh, host, { rows: 12, cols: 12 });
    A.toCyclic(5);
    A.dispose();
    const B = ShardedMatrix.fromHost(mesh, host, { rows: 12, cols: 12 });
    cholesky(B, { tileSize: 3, strategy: "multi" }).dispose();
    expect(B.disposed).toBe(true);
    const C = ShardedMatrix.fromHost(mesh, host, { rows: 12, cols: 12 });
    cholesky(C, { strategy: "single" }).dispose(); // the factor's own buffer
    expect(heldBytes(mesh)).toEqual(heldBytes(mesh).map((_, d) => C.shards[d].byteLength));
    C.dispose();
    expect(heldBytes(mesh)).toEqual([0, 0, 0]);
  });
});

// ---- soak ----

describe("soak", () => {
  test("200 mixed solves in one process: results checked, held memory back to zero after each", () => {
    const meshes = [1, 2, 3, 4].map((g) => Mesh.host(g));
    try {
      const soak = runSoak({
        meshes,
        rounds: 200,
        seed: 2024,
        sizes: Array.from({ length: 20 }, (_, i) => i + 1),
        afterRound: ({ index, kind }) => {
          for (const m of meshes) expect(heldBytes(m), `solve ${index} (${kind}) left memory behind`).toEqual(new Array(m.size).fill(0));
        },
      });
      injected += soak.faults;
      expect(soak.calls).toBeGreaterThanOrEqual(200);
      table.push(`| soak: 200 rounds (${describeRounds(soak.counts)}), N 1..20, every dtype, random tiles and strategies, meshes of 1..4 | ${soak.faults} | ${soak.calls} solver calls, each checked; held memory 0 after every round |`);
    } finally {
      for (const m of meshes) m.dispose();
    }
  });
});

// ---- the table in docs/reliability.md ----

describe("docs/reliability.md", () => {
  test("its fault table is the scenarios above", () => {
    expect(table.length).toBeGreaterThan(SHAPES.length); // the scenarios ran (this test runs last)
    const rows = ["| scenario | faults injected | outcome |", "| --- | --- | --- |", ...table, `| **total** | **${injected}** | |`];
    expectDocSection("docs/reliability.md", "faults", rows.join("\n"));
  });
});
