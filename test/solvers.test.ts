import { describe, expect, test } from "bun:test";
import {
  cholesky,
  chooseStrategy,
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
import { OPTIONS, PATH, STATUS } from "../lib/abi.ts";
import { HANDLE, STRUCT } from "../lib/internal.ts";
import { native } from "../lib/native.ts";
import { defaultTileSize } from "../lib/tiles.ts";
import { ALL_DTYPES, bitsEqual, expectError, failCopyAfter, optionsStruct, randomHermitian, randomSPD, store } from "./helpers.ts";
import { caseName, checkCholesky, checkNotPositiveDefinite, checkPotri, checkPotrs, checkSyevd, type SolverCase } from "./checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

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
  // the single-device path: gather onto position 0, LAPACK there, scatter back
  { n: 1, G: 1, strategy: "single" },
  { n: 1, G: 3, strategy: "single" },
  { n: 3, G: 2, strategy: "single" },
  { n: 3, G: 4, strategy: "single" }, // position 3 holds no rows
  { n: 37, G: 3, strategy: "single" },
  { n: 37, G: 4, strategy: "single" },
  { n: 64, G: 4, strategy: "single" },
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
      checkNotPositiveDefinite(mesh, dtype, n, T, p, "single");
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
    A.toCyclic(3); // any change to A makes its factor stale
    expectError(() => factor.solve(new Float64Array(6)), "DISPOSED", "the Cholesky factor is stale: its matrix changed after it was factored");
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

describe("strategy: single or multi", () => {
  test("chooseStrategy: the host backend keeps multi under auto; explicit choices are taken as asked", () => {
    using mesh = Mesh.host(2);
    for (const routine of ["potrs", "potri", "syevd"] as const)
      for (const dtype of ALL_DTYPES) {
        const auto = chooseStrategy(routine, 100, dtype, mesh);
        expect(auto.strategy).toBe("multi");
        expect(auto.reason).toContain("host backend");
        expect(chooseStrategy(routine, 100, dtype, mesh, { strategy: "auto" })).toEqual(auto);
        expect(chooseStrategy(routine, 100, dtype, mesh, { strategy: "single" })).toEqual({ strategy: "single", reason: '"single" was requested' });
        expect(chooseStrategy(routine, 100, dtype, mesh, { strategy: "multi" }).strategy).toBe("multi");
      }
    expectError(() => chooseStrategy("potrs", 10, "float64", mesh, { strategy: "fast" as "auto" }), "INVALID_ARGUMENT", 'strategy must be "auto", "single" or "multi", got "fast"');
    expectError(() => chooseStrategy("getrf" as "potrs", 10, "float64", mesh), "INVALID_ARGUMENT", 'unknown routine "getrf"');
    expectError(() => chooseStrategy("potrs", 0, "float64", mesh), "INVALID_ARGUMENT", "n must be >= 1");
    expectError(() => chooseStrategy("potrs", 10, "half" as DType, mesh), "INVALID_ARGUMENT", "unknown dtype");
    expectError(() => chooseStrategy("potrs", 10, "float64", mesh, { nrhs: 0 }), "INVALID_ARGUMENT", "nrhs must be >= 1");
    const gone = Mesh.host(1);
    gone.dispose();
    expectError(() => chooseStrategy("potrs", 10, "float64", gone), "DISPOSED");
  });

  test("the routines report the path they took", () => {
    using mesh = Mesh.host(2);
    const host = store("float64", randomSPD(9, 1, 3));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: 9, cols: 9 });
    expect(syevd(A, { vectors: false }).strategy).toBe("multi"); // auto on the host
    expect(syevd(A, { vectors: false, strategy: "single" }).strategy).toBe("single");
    const factor = cholesky(A, { strategy: "single" });
    expect(factor.strategy).toBe("single");
    expect(factor.tileSize).toBeUndefined();
    factor.dispose();
    expect(cholesky(A).strategy).toBe("multi");
    expectError(() => potri(A, { strategy: "single" }), "INVALID_ARGUMENT", "must be in row layout");
  });

  test("a bad strategy is caught before A is touched", () => {
    using mesh = Mesh.host(2);
    const host = store("float64", randomSPD(6, 1, 1));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: 6, cols: 6 });
    for (const bad of ["fast", 1, true])
      expectError(() => cholesky(A, { strategy: bad as "auto" }), "INVALID_ARGUMENT", "strategy must be");
    expectError(() => syevd(A, { strategy: "singel" as "single" }), "INVALID_ARGUMENT", 'got "singel"');
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
  });

  test("a single-path factor owns a buffer on position 0: freed by dispose (A stays usable), inverse and potrs", () => {
    using mesh = Mesh.host(3);
    const n = 20;
    const host = store("complex64", randomSPD(n, 2, 5));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype: "complex64" });
    const held = mesh.memory(0).held;
    const factor = cholesky(A, { strategy: "single" });
    expect(mesh.memory(0).held).toBe(held + n * n * 8);
    factor.dispose();
    expect(mesh.memory(0).held).toBe(held);
    expect(A.disposed).toBe(false);
    expectError(() => factor.solve(new Float32Array(2 * n)), "DISPOSED", "it was disposed");
    expect(bitsEqual(A.toHost(), host)).toBe(true);

    potrs(A, new Float32Array(2 * n).fill(1), { strategy: "single" });
    expect(mesh.memory(0).held).toBe(held); // potrs frees its factor (the host keeps no buffer)
    expect(bitsEqual(A.toHost(), host)).toBe(true);

    // inverse() writes into A and consumes the factor
    const again = cholesky(A, { strategy: "single" });
    expect(again.logDet()).toBeGreaterThan(0);
    expect(again.inverse()).toBe(A);
    expect(mesh.memory(0).held).toBe(held);
    expectError(() => again.logDet(), "DISPOSED", "consumed by inverse()");

    // disposing the mesh frees the buffer with everything else
    const last = cholesky(A, { strategy: "single" });
    mesh.dispose();
    expectError(() => last.logDet(), "DISPOSED");
  });

  test("BUNMG_DEBUG=1 logs the choice on stderr, one line per call", () => {
    const script = `
      import { Mesh, ShardedMatrix, syevd, potrs } from "${import.meta.dir}/../lib/index.ts";
      using mesh = Mesh.host(2);
      using A = ShardedMatrix.fromHost(mesh, new Float64Array([4, 1, 1, 3]), { rows: 2, cols: 2 });
      syevd(A, { vectors: false });
      potrs(A, new Float64Array([1, 2]), { strategy: "single" });`;
    const run = (env: Record<string, string>) =>
      Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ...env }, stderr: "pipe", stdout: "pipe" });
    const on = run({ BUNMG_DEBUG: "1" });
    expect(on.exitCode).toBe(0);
    const lines = on.stderr.toString().trim().split("\n");
    expect(lines).toEqual([
      "bunmg: syevd N=2 float64 on Mesh(host: [0, 1]): multi (host backend: auto keeps the multi-device path (the choice is for GPUs))",
      'bunmg: potrs N=2 float64 on Mesh(host: [0, 1]): single ("single" was requested)',
    ]);
    const off = run({ BUNMG_DEBUG: "0" });
    expect(off.exitCode).toBe(0);
    expect(off.stderr.toString()).toBe("");
  });

  test("the C entry points check their options and report the path taken", () => {
    using mesh = Mesh.host(2);
    const n = 6;
    const host = store("float64", randomSPD(n, 1, 2));
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n });
    const options = optionsStruct;
    const refused = (bytes: Uint8Array, ...parts: string[]) => {
      expect(native().bunmg_potri(mesh[HANDLE](), A[STRUCT](), bytes)).toBe(STATUS.INVALID_ARGUMENT);
      for (const p of parts) expect(native().bunmg_last_error()).toContain(p);
      expect(bitsEqual(A.toHost(), host)).toBe(true);
    };
    refused(options({ path: 3 }), "potri: unknown path 3");
    refused(options({ fallback: 2 }), "fallback must be 0 or 1, got 2");
    refused(options({ keep: -1 }), "keep must be 0 or 1, got -1");
    refused(options({ tile: -1 }), "tile size must be in 1..2147483647 (0: the default), got -1");
    expect(native().bunmg_syevd(mesh[HANDLE](), A[STRUCT](), 0, new Float64Array(n), options({ tile: 1025 }))).toBe(STATUS.INVALID_ARGUMENT);
    expect(native().bunmg_last_error()).toContain("tile size must be in 1..1024");
    const w = new Float64Array(n);
    const taken = options({ path: PATH.single });
    expect(native().bunmg_syevd(mesh[HANDLE](), A[STRUCT](), 0, w, taken)).toBe(0);
    expect(new DataView(taken.buffer).getInt32(OPTIONS.offset.taken, true)).toBe(PATH.single);
  });

  test("a factor refuses a matrix that is not its own, and one that changed since", () => {
    using mesh = Mesh.host(2);
    const n = 7;
    const host = store("float64", randomSPD(n, 1, 4));
    for (const strategy of ["single", "multi"] as const) {
      using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n });
      using other = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n });
      const factor = cholesky(A, { strategy, tileSize: 2 });
      const b = new Float64Array(n).fill(1);
      expect(factor.solve(b).length).toBe(n);
      // a write into a shard, a fill, a layout change: each makes the factor stale
      const stale = () => expectError(() => factor.solve(b), "DISPOSED", "the Cholesky factor is stale");
      if (strategy === "single") {
        A.shards[0]!.copyFromHost(new Float64Array(n), 0);
        stale();
      } else {
        A.fromCyclic();
        stale();
      }
      factor.dispose();
      other.fillRandom({ seed: 3 });
      const f2 = cholesky(other, { strategy });
      if (other.layout === "cyclic") other.fromCyclic();
      else other.fillRandom({ seed: 4 });
      expectError(() => f2.logDet(), "DISPOSED", "stale");
      f2.dispose();
    }
    // the same matrix factored again: the first factor must not answer with the second's
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n });
    const f1 = cholesky(A, { tileSize: 2 });
    A.fromCyclic();
    A.fillRandom({ seed: 9 });
    const f2 = cholesky(A, { tileSize: 2 });
    expectError(() => f1.solve(new Float64Array(n)), "DISPOSED", "stale");
    expect(f2.solve(new Float64Array(n).fill(1)).length).toBe(n);
    f1[Symbol.dispose]();
  });

  test("single: eigenvectors of a Hermitian A in both conventions match multi's", () => {
    for (const dtype of ["complex128", "float64"] as const) {
      using mesh = Mesh.host(3);
      const n = 10;
      const host = store(dtype, randomHermitian(n, dtype === "float64" ? 1 : 2, 21));
      for (const rows of [false, true]) {
        using S = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
        using M = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
        const s = syevd(S, { rows, strategy: "single" });
        const m = syevd(M, { rows, strategy: "multi", tileSize: 2 });
        expect(bitsEqual(s.values, m.values)).toBe(true); // the same LAPACK call on the same data
        expect(bitsEqual(S.toHost(), M.toHost())).toBe(true);
      }
    }
  });
});
