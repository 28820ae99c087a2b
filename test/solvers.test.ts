import { describe, expect, test } from "bun:test";
import {
  cholesky,
  cyclicPlan,
  DTYPES,
  estimateMemory,
  Mesh,
  potri,
  potrs,
  ShardedMatrix,
  shardCapacity,
  syevd,
  type DType,
} from "../lib/index.ts";
import { defaultTileSize } from "../lib/tiles.ts";
import { ALL_DTYPES, bitsEqual, expectError, failCopyAfter, randomSPD, store } from "./helpers.ts";
import { caseName, checkCholesky, checkNotPositiveDefinite, checkPotri, checkPotrs, checkSyevd, type SolverCase } from "./checks.ts";

interface Case extends SolverCase {
  G: number;
}
const CASES: Case[] = [
  { n: 1, G: 1 },
  { n: 1, G: 3, T: 1 },
  { n: 3, G: 2, T: 8 }, // N < tile
  { n: 3, G: 2 },
  { n: 37, G: 3, T: 8 }, // N not divisible by the tile nor by G
  { n: 64, G: 4, T: 16 },
];
const named = CASES.map((c) => [`${caseName(c)} G=${c.G}`, c] as const);

describe.each(ALL_DTYPES)("solvers, %s", (dtype) => {
  test.each(named)("potrs %s", (_, cs) => {
    using mesh = Mesh.host(cs.G);
    checkPotrs(mesh, dtype, cs, 11 * cs.n + cs.G);
  });

  test.each(named)("cholesky: many solves, logDet, inverse %s", (_, cs) => {
    using mesh = Mesh.host(cs.G);
    checkCholesky(mesh, dtype, cs, 7 * cs.n + cs.G);
  });

  test.each(named)("potri %s", (_, cs) => {
    using mesh = Mesh.host(cs.G);
    checkPotri(mesh, dtype, cs, 3 * cs.n + cs.G);
  });

  test.each(named)("syevd %s", (_, cs) => {
    using mesh = Mesh.host(cs.G);
    checkSyevd(mesh, dtype, cs, 13 * cs.n + cs.G);
  });

  test("not positive definite: index = the failing leading minor; A unchanged, in row layout", () => {
    for (const [n, G, T, p] of [
      [1, 1, 1, 0],
      [5, 2, 2, 0],
      [5, 2, 2, 3],
      [37, 3, 8, 30], // in a later tile on another position
      [64, 4, 16, 63],
    ]) {
      using mesh = Mesh.host(G);
      checkNotPositiveDefinite(mesh, dtype, n, T, p);
    }
  });
});

describe("solver failures and arguments", () => {
  test("a copy failure inside cholesky leaves A unchanged", () => {
    using mesh = Mesh.host(3);
    const host = store("complex128", randomSPD(20, 2, 4));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: 20, cols: 20, dtype: "complex128" });
    failCopyAfter(mesh, 1);
    expectError(() => cholesky(A, { tileSize: 4 }), "DEVICE_ERROR", "injected copy failure");
    failCopyAfter(mesh, -1);
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
    cholesky(A, { tileSize: 4 }); // and it works afterwards
  });

  test("argument errors name the problem", () => {
    using mesh = Mesh.host(2);
    const host = store("float64", randomSPD(6, 1, 1));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: 6, cols: 6 });
    using wide = ShardedMatrix.alloc(mesh, { rows: 3, cols: 4 });
    expectError(() => cholesky(wide), "INVALID_ARGUMENT", "A must be square, got 3 x 4");
    expectError(() => syevd(wide), "INVALID_ARGUMENT", "must be square");
    expectError(() => cholesky({} as ShardedMatrix), "INVALID_ARGUMENT", "A must be a ShardedMatrix");
    for (const bad of [0, -1]) expectError(() => cholesky(A, { tileSize: bad }), "INVALID_ARGUMENT", `tileSize must be in [1, 2147483647], got ${bad}`);
    expectError(() => potri(A, { tileSize: 1.5 }), "INVALID_ARGUMENT", "tileSize must be an integer, got number 1.5");
    expectError(() => syevd(A, { tileSize: 2048 }), "INVALID_ARGUMENT", "tileSize must be in [1, 1024], got 2048");
    expectError(() => syevd(A, { vectors: 1 as unknown as boolean }), "INVALID_ARGUMENT", "vectors must be a boolean");
    expectError(() => potrs(A, new Float32Array(6) as unknown as Float64Array), "INVALID_ARGUMENT", "B must be a Float64Array for dtype float64");
    expect(A.layout).toBe("rows"); // a wrong B is caught before A is factored
    expect(bitsEqual(A.toHost(), host)).toBe(true);

    const factor = cholesky(A, { tileSize: 2 });
    expectError(() => factor.solve(new Float64Array(7)), "INVALID_ARGUMENT", "B: expected a positive multiple of N = 6 float64 values (N x nrhs, row-major), got 7");
    expectError(() => factor.solve(new Float64Array(0)), "INVALID_ARGUMENT", "positive multiple");
    expectError(() => cholesky(A), "INVALID_ARGUMENT", "must be in row layout");
    expectError(() => syevd(A), "INVALID_ARGUMENT", "must be in row layout");
    A.toCyclic(3);
    expectError(() => factor.solve(new Float64Array(6)), "INVALID_ARGUMENT", "left the cyclic layout of tile 2");
    factor.dispose();
    expect(A.disposed).toBe(true);
    expectError(() => factor.logDet(), "DISPOSED");
    expectError(() => potri(A), "DISPOSED");

    using c64 = ShardedMatrix.fromHost(mesh, store("complex64", randomSPD(3, 2, 2)), { rows: 3, cols: 3, dtype: "complex64" });
    const f = cholesky(c64);
    expectError(() => f.solve(new Float32Array(5)), "INVALID_ARGUMENT", "length must be even");
    expectError(() => f.solve(new Float32Array(4)), "INVALID_ARGUMENT", "positive multiple of 2*N = 6 float32 values");
  });

  test("estimateMemory: shard, staging and workspace per device", () => {
    using mesh = Mesh.host(3);
    for (const dtype of ALL_DTYPES) {
      const bytes = DTYPES[dtype].bytes;
      for (const routine of ["potrs", "potri", "syevd"] as const) {
        const e = estimateMemory(routine, 37, dtype, mesh, { tileSize: 8, nrhs: 2 });
        expect(e.matrix).toBe(shardCapacity(37, 8, 3) * 37 * bytes);
        expect(e.staging % (37 * bytes)).toBe(0);
        expect(e.staging).toBeLessThanOrEqual(cyclicPlan(37, 8, 3, 64).stagingRows * 37 * bytes);
        expect(e.workspace).toBeGreaterThanOrEqual(0);
        expect(e.total).toBe(e.matrix + e.staging + e.workspace);
      }
      const d = estimateMemory("potrs", 100, dtype, mesh);
      expect(d.matrix).toBe(shardCapacity(100, defaultTileSize("potrs", dtype, 100), 3) * 100 * bytes);
    }
    expectError(() => estimateMemory("getrf" as "potrs", 10, "float64", mesh), "INVALID_ARGUMENT", 'unknown routine "getrf"');
    expectError(() => estimateMemory("potrs", 0, "float64", mesh), "INVALID_ARGUMENT", "n must be >= 1");
    expectError(() => estimateMemory("potrs", 10, "half" as DType, mesh), "INVALID_ARGUMENT", "unknown dtype");
    expectError(() => estimateMemory("syevd", 10, "float64", mesh, { tileSize: 4096 }), "INVALID_ARGUMENT", "tileSize must be in [1, 1024]");
    expectError(() => estimateMemory("potrs", 10, "float64", mesh, { nrhs: 0 }), "INVALID_ARGUMENT", "nrhs must be >= 1");
    const gone = Mesh.host(1);
    gone.dispose();
    expectError(() => estimateMemory("potrs", 10, "float64", gone), "DISPOSED");
  });
});
