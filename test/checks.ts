// Checks shared by the host tests and the GPU tests (test/gpu/): each runs one scenario on a
// given mesh and asserts against independent float64 references from helpers.ts.
import { expect } from "bun:test";
import { cholesky, chooseStrategy, DTYPES, potri, potrs, ShardedMatrix, shardCapacity, syevd, type DType, type HostArray, type Mesh, type Strategy } from "../lib/index.ts";
import { defaultTileSize } from "../lib/tiles.ts";
import {
  adjoint,
  bitsEqual,
  choleskyRef,
  components,
  cyclicRowsOn,
  epsilon,
  expectError,
  identity,
  indexArray,
  logDetRef,
  matmul,
  norm,
  randomArray,
  randomHermitian,
  randomSPD,
  rowMatches,
  rowShardRowsOn,
  scaleColumns,
  store,
  sub,
  toF64,
} from "./helpers.ts";

// ---- layouts ----

/** Checks, shard by shard, that each local row holds the global row `expected[d][l]`. */
export function expectShards(A: ShardedMatrix, data: HostArray, expected: number[][]): void {
  const rowValues = A.cols * DTYPES[A.dtype].components;
  A.shards.forEach((shard, d) => {
    expect(shard.length).toBe(A.capacity * A.cols);
    const contents = shard.toHost();
    expected[d].forEach((global, local) => {
      if (!rowMatches(contents, local, data, global, rowValues)) {
        throw new Error(`${A}: position ${d} local row ${local} should hold global row ${global}`);
      }
    });
  });
}

/** The full round: row shards, cyclic layout of T, back, with bit-exact checks at each step.
 * seed < 0: index-valued data (every value distinct). */
export function roundTrip(mesh: Mesh, dtype: DType, rows: number, cols: number, T: number, seed: number): void {
  const data = seed < 0 ? indexArray(dtype, rows * cols) : randomArray(dtype, rows * cols, seed);
  using A = ShardedMatrix.fromHost(mesh, data, { rows, cols, dtype });
  expect(A.layout).toBe("rows");
  expect(A.tileSize).toBeUndefined();
  expectShards(A, data, rowShardRowsOn(rows, mesh.size));
  expect(bitsEqual(A.toHost(), data)).toBe(true);

  expect(A.toCyclic(T)).toBe(A);
  expect(A.layout).toBe("cyclic");
  expect(A.tileSize).toBe(T);
  expect(A.capacity).toBeGreaterThanOrEqual(shardCapacity(rows, T, mesh.size));
  expectShards(A, data, cyclicRowsOn(rows, T, mesh.size));
  expect(bitsEqual(A.toHost(), data)).toBe(true);

  expect(A.fromCyclic()).toBe(A);
  expect(A.layout).toBe("rows");
  expectShards(A, data, rowShardRowsOn(rows, mesh.size));
  expect(bitsEqual(A.toHost(), data)).toBe(true);
}

// ---- solvers ----
//
// Tolerances. u = machine epsilon of the real type (2^-23 or 2^-52). Cholesky and the
// eigensolver are backward stable: the computed results are exact for A + dA with
// ||dA|| <= p(n) u ||A||, p(n) a small multiple of n. Hence, in Frobenius norms:
//  - solve:   ||A X - B|| / (||A|| ||X||) <= c n u;
//  - inverse: ||A Ainv - I|| <= c n u cond(A) ||I|| = c n u cond(A) sqrt(n), cond(A) < 4 for
//             randomSPD;
//  - eigen:   ||A V - V diag(w)|| / ||A|| and ||V^H V - I|| <= c n u sqrt(n) (n columns, each
//             within c n u);
//  - logdet:  |d log det| = |tr(A^-1 dA)| <= n ||A^-1||_2 ||dA||_2 <= n * c n u * ||A||_2, with
//             ||A^-1||_2 <= 1 and ||A||_2 < 4 for randomSPD.
// c = 10 leaves room for the norm conversions. Measured errors sit about 1e-3 of these bounds;
// real bugs (a wrong layout, a missed conjugate) give errors of order 1, far above them.
const C = 10;

export interface SolverCase {
  n: number;
  /** tile size; undefined: the default */
  T?: number;
  /** the solver's strategy option; undefined: the default ("auto") */
  strategy?: Strategy;
}

export const caseName = (c: SolverCase) => `N=${c.n} T=${c.T ?? "default"}${c.strategy === undefined ? "" : ` ${c.strategy}`}`;
const opts = (c: SolverCase) => ({
  ...(c.T === undefined ? {} : { tileSize: c.T }),
  ...(c.strategy === undefined ? {} : { strategy: c.strategy }),
});
/** The path a case takes: chooseStrategy's answer for its strategy. */
const pathOf = (mesh: Mesh, routine: "potrs" | "potri" | "syevd", dtype: DType, c: SolverCase) =>
  chooseStrategy(routine, c.n, dtype, mesh, { strategy: c.strategy }).strategy;

/** Post-state of A after a Cholesky on `path`: "multi" leaves the factor in the cyclic layout of
 * the case's tile; "single" leaves A bit-exact and in row layout. */
function expectFactored(A: ShardedMatrix, host: HostArray, path: "single" | "multi", cs: SolverCase, dtype: DType): void {
  if (path === "multi") {
    expect(A.layout).toBe("cyclic");
    expect(A.tileSize).toBe(cs.T ?? defaultTileSize("potrs", dtype, cs.n));
  } else {
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
  }
}

/** ||A X - B|| / (||A|| ||X||) with everything in float64. */
function solveResidual(a: Float64Array, x: Float64Array, b: Float64Array, n: number, nrhs: number, c: 1 | 2): number {
  return norm(sub(matmul(a, x, n, n, nrhs, c), b)) / (norm(a) * norm(x));
}

function spd(dtype: DType, n: number, seed: number) {
  const c = components(dtype);
  const host = store(dtype, randomSPD(n, c, seed));
  return { host, a: toF64(host), c };
}

function inverseResidualBound(dtype: DType, n: number): number {
  return C * n * epsilon(dtype) * 4 * Math.sqrt(n);
}

export function checkPotrs(mesh: Mesh, dtype: DType, cs: SolverCase, seed: number): void {
  const { n } = cs;
  const { host, a, c } = spd(dtype, n, seed);
  const path = pathOf(mesh, "potrs", dtype, cs);
  for (const nrhs of [1, 3]) {
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
    const B = randomArray(dtype, n * nrhs, seed + nrhs);
    const before = B.slice();
    const X = potrs(A, B, opts(cs));
    expect(X).toBeInstanceOf(DTYPES[dtype].storage);
    expect(X.length).toBe(B.length);
    expect(bitsEqual(B, before)).toBe(true); // B is not modified
    expect(solveResidual(a, toF64(X), toF64(B), n, nrhs, c)).toBeLessThanOrEqual(C * n * epsilon(dtype));
    // multi: A is left holding the factor, in the cyclic layout; single: A is unchanged
    expectFactored(A, host, path, cs, dtype);
  }
}

export function checkCholesky(mesh: Mesh, dtype: DType, cs: SolverCase, seed: number): void {
  const { n } = cs;
  const u = epsilon(dtype);
  const { host, a, c } = spd(dtype, n, seed);
  using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
  const path = pathOf(mesh, "potrs", dtype, cs);
  const factor = cholesky(A, opts(cs));
  expect(factor.matrix).toBe(A);
  expect(factor.n).toBe(n);
  expect(factor.strategy).toBe(path);
  expect(factor.tileSize).toBe(path === "multi" ? (cs.T ?? defaultTileSize("potrs", dtype, n)) : undefined);
  expectFactored(A, host, path, cs, dtype);
  for (let k = 0; k < 5; k++) {
    const nrhs = 1 + (k % 3);
    const B = randomArray(dtype, n * nrhs, seed + 100 + k);
    const X = factor.solve(B);
    expect(solveResidual(a, toF64(X), toF64(B), n, nrhs, c)).toBeLessThanOrEqual(C * n * u);
  }
  // logDet against 2 sum log L_ii of an independent float64 factorization of the same A
  expect(Math.abs(factor.logDet() - logDetRef(a, n, c))).toBeLessThanOrEqual(4 * C * n * n * u);

  const inv = toF64(factor.inverse().toHost());
  expect(A.layout).toBe("rows");
  expect(norm(sub(matmul(a, inv, n, n, n, c), identity(n, c)))).toBeLessThanOrEqual(inverseResidualBound(dtype, n));
  expectError(() => factor.solve(randomArray(dtype, n, 1)), "DISPOSED", "consumed by inverse()");
  expectError(() => factor.logDet(), "DISPOSED");
  expectError(() => factor.inverse(), "DISPOSED");
}

export function checkPotri(mesh: Mesh, dtype: DType, cs: SolverCase, seed: number): void {
  const { n } = cs;
  const { host, a, c } = spd(dtype, n, seed);
  using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
  expect(potri(A, opts(cs))).toBe(A);
  expect(A.layout).toBe("rows");
  const invHost = A.toHost();
  const inv = toF64(invHost);
  expect(norm(sub(matmul(a, inv, n, n, n, c), identity(n, c)))).toBeLessThanOrEqual(inverseResidualBound(dtype, n));
  // The full Hermitian inverse, both triangles: exactly Hermitian, with a real diagonal.
  const offDiagonal: string[] = [];
  const diagonal: string[] = [];
  for (let i = 0; i < n; i++) {
    if (c === 2 && invHost[(i * n + i) * 2 + 1] !== 0) diagonal.push(`Im Ainv[${i}][${i}] = ${invHost[(i * n + i) * 2 + 1]}`);
    for (let j = i + 1; j < n; j++)
      for (let q = 0; q < c; q++) {
        const upper = invHost[(i * n + j) * c + q];
        const lower = invHost[(j * n + i) * c + q];
        if (upper !== (q === 1 ? -lower : lower)) offDiagonal.push(`(${i}, ${j})`);
      }
  }
  expect(offDiagonal.slice(0, 3)).toEqual([]); // entries that are not conjugate mirrors
  expect(diagonal.slice(0, 3)).toEqual([]); // a Hermitian matrix has a real diagonal
}

function transpose(a: Float64Array, n: number, c: 1 | 2): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let q = 0; q < c; q++) out[(j * n + i) * c + q] = a[(i * n + j) * c + q];
  return out;
}

export function checkSyevd(mesh: Mesh, dtype: DType, cs: SolverCase, seed: number): void {
  const { n } = cs;
  const c = components(dtype);
  const host = store(dtype, randomHermitian(n, c, seed));
  const a = toF64(host);
  const tol = C * n * Math.sqrt(n) * epsilon(dtype);
  let reference: Float64Array | undefined;
  for (const rows of [false, true]) {
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
    const { values, vectors, strategy } = syevd(A, { ...opts(cs), rows });
    expect(strategy).toBe(pathOf(mesh, "syevd", dtype, cs));
    expect(values).toBeInstanceOf(DTYPES[DTYPES[dtype].real].storage);
    expect(values.length).toBe(n);
    for (let k = 1; k < n; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
    expect(vectors).toBe(A);
    expect(A.layout).toBe("rows");
    const got = toF64(A.toHost());
    // Convention: column k of the row-major result is the eigenvector of values[k]; with
    // rows: true, row k is (a plain transpose, no conjugate).
    const V = rows ? transpose(got, n, c) : got;
    const w = toF64(values);
    expect(norm(sub(matmul(a, V, n, n, n, c), scaleColumns(V, n, n, w, c))) / norm(a)).toBeLessThanOrEqual(tol);
    expect(norm(sub(matmul(adjoint(V, n, n, c), V, n, n, n, c), identity(n, c)))).toBeLessThanOrEqual(tol);
    // sum of eigenvalues = trace
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[(i * n + i) * c];
    expect(Math.abs(w.reduce((s, x) => s + x, 0) - trace)).toBeLessThanOrEqual(tol * norm(a));
    if (reference) for (let k = 0; k < n; k++) expect(Math.abs(w[k] - reference[k])).toBeLessThanOrEqual(tol * norm(a));
    reference = w;
  }
  // values only: A is unchanged
  using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
  const result = syevd(A, { ...opts(cs), vectors: false });
  expect(result.vectors).toBeUndefined();
  expect(result.strategy).toBe(pathOf(mesh, "syevd", dtype, cs));
  expect(A.layout).toBe("rows");
  expect(bitsEqual(A.toHost(), host)).toBe(true);
  for (let k = 0; k < n; k++) expect(Math.abs(result.values[k] - reference![k])).toBeLessThanOrEqual(tol * norm(a));
}

/** A made non positive definite at 0-based diagonal p: cholesky, potrs and potri all throw
 * NOT_POSITIVE_DEFINITE with index p + 1 and leave A bit-exact, in row layout. */
export function checkNotPositiveDefinite(mesh: Mesh, dtype: DType, n: number, T: number, p: number, strategy?: Strategy): void {
  const c = components(dtype);
  const a = randomSPD(n, c, 99 + n);
  a[(p * n + p) * c] = -1; // leading minors 1..p stay positive, minor p+1 does not
  const ref = choleskyRef(a, n, c);
  expect("failed" in ref && ref.failed).toBe(p + 1);
  const host = store(dtype, a);
  const options = { tileSize: T, ...(strategy === undefined ? {} : { strategy }) };
  for (const run of [
    (A: ShardedMatrix) => cholesky(A, options),
    (A: ShardedMatrix) => potrs(A, randomArray(dtype, n, 1) as never, options),
    (A: ShardedMatrix) => potri(A, options),
  ]) {
    using A = ShardedMatrix.fromHost(mesh, host, { rows: n, cols: n, dtype });
    const e = expectError(() => run(A), "NOT_POSITIVE_DEFINITE", "not positive definite");
    expect(e.index).toBe(p + 1);
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
  }
}

// ---- generated matrices ----

/** ShardedMatrix.random on `mesh` equals the one-device host result bit for bit; hpd matrices
 * are exactly Hermitian with a real diagonal and factor; uniform components lie in [-1, 1). */
export function checkRandomFill(mesh: Mesh, reference: Mesh, dtype: DType): void {
  const c = components(dtype);
  for (const [rows, cols, kind] of [[37, 37, "hpd"], [5, 9, "uniform"], [1, 1, "hpd"]] as const) {
    using A = ShardedMatrix.random(mesh, { rows, cols, dtype }, { kind, seed: 7 });
    using R = ShardedMatrix.random(reference, { rows, cols, dtype }, { kind, seed: 7 });
    const a = A.toHost();
    expect(bitsEqual(a, R.toHost())).toBe(true);
    using other = ShardedMatrix.random(reference, { rows, cols, dtype }, { kind, seed: 8 });
    if (rows * cols > 1) expect(bitsEqual(a, other.toHost())).toBe(false);
    if (kind === "uniform") {
      expect(a.every((v) => v >= -1 && v < 1)).toBe(true);
      continue;
    }
    for (let i = 0; i < rows; i++) {
      if (c === 2) expect(a[2 * (i * rows + i) + 1]).toBe(0);
      for (let j = 0; j < i; j++)
        for (let k = 0; k < c; k++) {
          const sign = k === 1 ? -1 : 1;
          expect(a[c * (i * rows + j) + k]).toBe(sign * a[c * (j * rows + i) + k]);
        }
    }
    expect(() => cholesky(A).dispose()).not.toThrow(); // positive definite (dispose: a single-path factor owns a buffer)
  }
}
