import { describe, expect, test } from "bun:test";
import {
  cholesky,
  chooseStrategy,
  cyclicPlan,
  DeviceBuffer,
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
import { HANDLE, STRUCT } from "../lib/internal.ts";
import { asPointer, native } from "../lib/native.ts";
import { defaultTileSize } from "../lib/tiles.ts";
import { ALL_DTYPES, bitsEqual, expectError, failCopyAfter, indexArray, randomHermitian, randomSPD, store } from "./helpers.ts";
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

describe("strategy: single or multi", () => {
  test("chooseStrategy: the host backend keeps multi under auto; explicit choices are taken as asked", () => {
    using mesh = Mesh.host(2);
    for (const routine of ["potrs", "potri", "syevd"] as const)
      for (const dtype of ALL_DTYPES) {
        const auto = chooseStrategy(routine, 100, dtype, mesh);
        expect(auto.strategy).toBe("multi");
        expect(auto.reason).toContain("host backend");
        expect(chooseStrategy(routine, 100, dtype, mesh, { strategy: "auto" })).toEqual(auto);
        expect(chooseStrategy(routine, 100, dtype, mesh, { strategy: "single" })).toEqual({ strategy: "single", reason: 'strategy "single" was requested' });
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
    expect(mesh.memory(0).held).toBe(held); // potrs frees its factor
    expect(bitsEqual(A.toHost(), host)).toBe(true);

    // inverse() writes into A, which must be in row layout; a factor that cannot is not consumed
    const again = cholesky(A, { strategy: "single" });
    A.toCyclic(4);
    expectError(() => again.inverse(), "INVALID_ARGUMENT", "must be in row layout to receive the inverse");
    A.fromCyclic();
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
      'bunmg: potrs N=2 float64 on Mesh(host: [0, 1]): single (strategy "single" was requested)',
    ]);
    const off = run({ BUNMG_DEBUG: "0" });
    expect(off.exitCode).toBe(0);
    expect(off.stderr.toString()).toBe("");
  });

  test("gather and scatter: one dense row-major copy of the row shards, bit for bit", () => {
    for (const [n, G, dev] of [[37, 4, 2], [3, 4, 0], [1, 1, 0], [64, 3, 1]]) {
      using mesh = Mesh.host(G);
      const data = indexArray("complex128", n * n);
      using A = ShardedMatrix.fromHost(mesh, data, { rows: n, cols: n, dtype: "complex128" });
      using full = DeviceBuffer.alloc(mesh, dev, "complex128", n * n);
      expect(native().bunmg_gather(mesh[HANDLE](), A[STRUCT](), dev, asPointer(full.pointer))).toBe(0);
      expect(bitsEqual(full.toHost(), data)).toBe(true);
      const changed = data.map((v) => -v);
      full.copyFromHost(changed);
      expect(native().bunmg_scatter(mesh[HANDLE](), A[STRUCT](), dev, asPointer(full.pointer))).toBe(0);
      expect(bitsEqual(A.toHost(), changed)).toBe(true);
    }
  });

  test("the dense API checks its arguments and names the problem", () => {
    using mesh = Mesh.host(2);
    const n = 6;
    using A = ShardedMatrix.fromHost(mesh, store("float64", randomSPD(n, 1, 2)), { rows: n, cols: n });
    using full = DeviceBuffer.alloc(mesh, 0, "float64", n * n);
    using small = DeviceBuffer.alloc(mesh, 0, "float64", n * n - 1);
    const h = () => mesh[HANDLE]();
    const lastError = (status: number, code: number, ...parts: string[]) => {
      expect(status).toBe(code);
      const message = native().bunmg_last_error() ?? "";
      for (const p of parts) expect(message).toContain(p);
    };
    const INVALID = 1;
    lastError(native().bunmg_gather(h(), A[STRUCT](), 0, asPointer(small.pointer)), INVALID, "gather: the dense matrix (N * N elements)", "not inside an allocation of mesh position 0");
    lastError(native().bunmg_gather(h(), A[STRUCT](), 1, asPointer(full.pointer)), INVALID, "not inside an allocation of mesh position 1");
    lastError(native().bunmg_gather(h(), A[STRUCT](), 2, asPointer(full.pointer)), INVALID, "mesh position 2 is out of range");
    lastError(native().bunmg_dense_cholesky(h(), 0, asPointer(full.pointer), 0, 1), INVALID, "dense_cholesky: N must be >= 1");
    lastError(native().bunmg_dense_cholesky(h(), 0, asPointer(full.pointer), n, 7), INVALID, "unknown dtype 7");
    lastError(native().bunmg_dense_cholesky(h(), 0, asPointer(full.pointer), n + 1, 1), INVALID, "not inside an allocation");
    lastError(native().bunmg_dense_cholesky_solve(h(), 0, asPointer(full.pointer), n, 1, new Float64Array(n), 0), INVALID, "nrhs >= 1");
    lastError(native().bunmg_dense_cholesky_logdet(h(), 1, asPointer(full.pointer), n, 1, new Float64Array(1)), INVALID, "dense_cholesky_logdet: the dense matrix");
    lastError(native().bunmg_dense_syevd(h(), 0, asPointer(full.pointer), A[STRUCT](), 4, new Float64Array(n)), INVALID, "dense_syevd: unknown flags 4");
    lastError(native().bunmg_dense_workspace(h(), 0, 3, n, 1, 1, new BigUint64Array(1)), INVALID, "unknown routine 3");
    lastError(native().bunmg_dense_workspace(h(), 0, 0, n, 1, 0, new BigUint64Array(1)), INVALID, "nrhs must be >= 1");
    A.toCyclic(2);
    lastError(native().bunmg_gather(h(), A[STRUCT](), 0, asPointer(full.pointer)), INVALID, "A must be in row layout");
    lastError(native().bunmg_dense_cholesky_inverse(h(), 0, asPointer(full.pointer), A[STRUCT]()), INVALID, "dense_cholesky_inverse: A must be in row layout");
  });

  test("dense workspace on the host: LAPACK's syevd query, B's copy for potrs, none for potri", () => {
    using mesh = Mesh.host(2);
    const out = new BigUint64Array(1);
    const workspace = (routine: number, n: number, dtype: number, nrhs = 1) => {
      expect(native().bunmg_dense_workspace(mesh[HANDLE](), 1, routine, n, dtype, nrhs, out)).toBe(0);
      return Number(out[0]);
    };
    expect(workspace(0, 100, 3, 4)).toBe(100 * 4 * 16);
    expect(workspace(1, 100, 0)).toBe(0);
    expect(workspace(2, 100, 1)).toBeGreaterThanOrEqual((1 + 6 * 100 + 2 * 100 * 100) * 8); // dsyevd's documented minimum
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
