// What the mp engine's tests share: whether MPI jobs can run here, a job of fixtures/mp-rank.ts
// under launch({ engine: "mp" }), the cases' inputs, and their checks against dense references
// (residuals, and LAPACK's eigenvalues through the host backend on the whole matrix).
import { expect } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, Mesh, ShardedMatrix, syevd, type DType, type LaunchResult } from "../lib/index.ts";
import { decode, encode, type MpCase, type MpCaseResult } from "./fixtures/mp-spec.ts";
import { adjoint, components, epsilon, identity, logDetRef, matmul, norm, randomHermitian, randomSPD, rng, scaleColumns, store, sub } from "./helpers.ts";

export const FIXTURE = join(import.meta.dir, "fixtures", "mp-rank.ts");

/** Why MPI jobs cannot run here (mpirun, Open MPI's libmpi or ScaLAPACK missing), or undefined. */
export function mpiMissing(): string | undefined {
  if (!process.env.BUNMG_MPIRUN && !Bun.which("mpirun")) return "no mpirun on PATH (Debian: apt-get install openmpi-bin)";
  // in a child: this process stays free of MPI
  const probe = `import { dlopen } from "bun:ffi";
    const libs = [[process.env.BUNMG_MPI || "libmpi.so.40", "MPI_Initialized"], [process.env.BUNMG_SCALAPACK || "libscalapack-openmpi.so.2.2", "Cblacs_gridinit"]];
    for (const [lib, symbol] of libs) {
      try { dlopen(lib, { [symbol]: { args: [], returns: "void" } }); } catch (e) { console.log(lib + ": " + e.message); process.exit(1); }
    }`;
  const r = Bun.spawnSync([process.execPath, "-e", probe], { stdout: "pipe" });
  return r.exitCode === 0 ? undefined : `cannot load ${r.stdout.toString().trim()} (Debian: apt-get install libopenmpi3 libscalapack-openmpi2.2)`;
}

/** Open MPI's vader segments and bunmg's, in /dev/shm. */
export function sharedSegments(): string[] {
  return readdirSync("/dev/shm").filter((f) => f.startsWith("vader_segment.") || f.startsWith("bunmg-"));
}

export interface MpJob {
  /** per case, per rank */
  results: (MpCaseResult | undefined)[][];
  exit: LaunchResult;
  ms: number;
  /** output lines that are not results */
  other: string[];
}

/** Runs `cases` on `ranks` ranks of one MPI job. */
export async function runMpJob(ranks: number, cases: MpCase[], timeoutMs = 5000): Promise<MpJob> {
  const file = join(tmpdir(), `bunmg-mp-spec-${process.pid}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, encode({ timeoutMs, cases }));
  const results: (MpCaseResult | undefined)[][] = cases.map(() => Array.from({ length: ranks }, () => undefined));
  const other: string[] = [];
  const t0 = performance.now();
  try {
    const exit = await launch({
      engine: "mp",
      script: FIXTURE,
      args: [file],
      devices: Array.from({ length: ranks }, (_, r) => r),
      backend: "host",
      timeoutMs,
      graceMs: timeoutMs + 5000,
      onLine: (rank, stream, line) => {
        if (line.startsWith("MPRESULT ")) {
          const r = decode(line.slice(9)) as MpCaseResult;
          results[cases.findIndex((c) => c.id === r.id)]![r.rank] = r;
        } else {
          other.push(`[${rank} ${stream}] ${line}`);
        }
      },
    });
    return { results, exit, ms: performance.now() - t0, other };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---- inputs ----

/** The case's inputs (float64 values of dtype's precision): A Hermitian positive definite, but
 * general (uniform in [-1, 1), not Hermitian) for getrs and Hermitian indefinite with a Hermitian
 * positive definite B for sygvd; B (n x nrhs) for the solves. */
export function spdCase(id: string, routine: MpCase["routine"], dtype: DType, n: number, options: MpCase["options"], extra: Partial<MpCase> = {}): MpCase {
  const c = components(dtype);
  const seed = 7 + n + id.length;
  const r = rng(seed);
  const m = extra.m ?? n; // gels: A is m x n
  const matrix =
    routine === "getrs" || routine === "gels" || routine === "gesvd"
      ? Float64Array.from({ length: m * n * c }, () => 2 * r() - 1)
      : routine === "sygvd"
        ? randomHermitian(n, c, seed)
        : randomSPD(n, c, seed);
  const a = Array.from(store(dtype, matrix));
  if (routine === "sygvd") extra = { bm: Array.from(store(dtype, randomSPD(n, c, seed + 1))), ...extra };
  const nrhs = extra.nrhs ?? 2;
  const b = Array.from(store(dtype, Float64Array.from({ length: m * nrhs * c }, (_, i) => Math.sin(i + 1))));
  return { id, routine, dtype, n, options, a, b, nrhs, ...extra };
}

/** spdCase with A[p][p] = -1: not positive definite at minor p + 1. */
export function npdCase(id: string, routine: MpCase["routine"], dtype: DType, n: number, p: number, block = 3): MpCase {
  const k = spdCase(id, routine, dtype, n, { block });
  k.a[(p * n + p) * components(dtype)] = -1;
  return k;
}

// ---- checks ----

const f64 = (a: number[]) => Float64Array.from(a);

/** The ranks' rows, in rank order: the whole matrix. */
function assembled(results: MpCaseResult[]): Float64Array {
  return f64(results.flatMap((r) => r.rows));
}

/** Every rank succeeded; the result is right (residuals within 100 N eps), and A is unchanged
 * where the routine leaves it so. */
export function expectCaseCorrect(k: MpCase, job: MpJob, index: number): void {
  const results = job.results[index]!;
  const where = `${k.id} (${k.routine} ${k.dtype} n=${k.n} ${JSON.stringify(k.options)})`;
  for (const [rank, r] of results.entries()) {
    expect(r, `${where}: rank ${rank} reported`).toBeDefined();
    expect(r!.ok, `${where}: rank ${rank}: ${r!.message}`).toBe(true);
  }
  const rs = results as MpCaseResult[];
  const { n, dtype } = k;
  const c = components(dtype);
  const a = f64(k.a);
  const tol = 100 * n * epsilon(dtype);
  const changes = k.routine === "potri" || ((k.routine === "syevd" || k.routine === "sygvd" || k.routine === "gesvd") && (k.vectors ?? true));
  if (!changes) for (const r of rs) expect(r.unchanged, `${where}: rank ${r.rank}'s A unchanged`).toBe(true);
  if (k.routine === "sygvd") for (const r of rs) expect(r.unchangedB, `${where}: rank ${r.rank}'s B unchanged`).toBe(true);
  if (k.routine === "potrs" || k.routine === "cholesky" || k.routine === "getrs") {
    const x = f64(rs[0]!.x!);
    for (const r of rs) expect(r.x, `${where}: rank ${r.rank} has rank 0's X`).toEqual(rs[0]!.x!);
    const b = f64(k.b!);
    const nrhs = k.nrhs!;
    const residual = norm(sub(matmul(a, x, n, n, nrhs, c), b)) / (norm(a) * norm(x));
    expect(residual, `${where}: ||AX - B|| / (||A|| ||X||)`).toBeLessThan(tol);
    if (k.routine === "cholesky") {
      for (const r of rs) expect(r.logDet, `${where}: logDet on rank ${r.rank}`).toBe(rs[0]!.logDet!);
      expect(Math.abs(rs[0]!.logDet! - logDetRef(a, n, c)), `${where}: logDet`).toBeLessThan(tol * n);
    }
  }
  if (k.routine === "gels") {
    const m = k.m!, nrhs = k.nrhs!;
    const x = f64(rs[0]!.x!);
    for (const r of rs) expect(r.x, `${where}: rank ${r.rank} has rank 0's X`).toEqual(rs[0]!.x!);
    expect(x.length).toBe(n * nrhs * c);
    const b = f64(k.b!);
    const normal = matmul(adjoint(a, m, n, c), sub(matmul(a, x, m, n, nrhs, c), b), n, m, nrhs, c);
    expect(norm(normal) / (norm(a) * (norm(a) * norm(x) + norm(b))), `${where}: ||A^H (A X - B)|| / (||A|| (||A|| ||X|| + ||B||))`).toBeLessThan(100 * m * epsilon(dtype));
  }
  if (k.routine === "gesvd") {
    const m = k.m ?? n;
    const w = rs[0]!.values!;
    for (const r of rs) expect(r.values, `${where}: rank ${r.rank} has every singular value`).toEqual(w);
    for (let i = 0; i < n; i++) expect(w[i]!, `${where}: s[${i}] >= 0, descending`).toBeGreaterThanOrEqual(i + 1 < n ? w[i + 1]! : 0);
    if (k.vectors ?? true) {
      const u = assembled(rs); // m x n
      const v = f64(rs.flatMap((r) => r.v!)); // n x n
      const tolM = 100 * m * epsilon(dtype);
      const us = scaleColumns(u, m, n, w, c);
      expect(norm(sub(matmul(us, adjoint(v, n, n, c), m, n, n, c), a)) / norm(a), `${where}: ||U diag(s) V^H - A|| / ||A||`).toBeLessThan(tolM);
      expect(norm(sub(matmul(adjoint(u, m, n, c), u, n, m, n, c), identity(n, c))), `${where}: ||U^H U - I||`).toBeLessThan(tolM);
      expect(norm(sub(matmul(adjoint(v, n, n, c), v, n, n, n, c), identity(n, c))), `${where}: ||V^H V - I||`).toBeLessThan(tolM);
    }
  }
  if (k.routine === "potri") {
    const inv = assembled(rs);
    expect(norm(sub(matmul(a, inv, n, n, n, c), identity(n, c))) / (norm(a) * norm(inv)), `${where}: ||A Ainv - I|| / (||A|| ||Ainv||)`).toBeLessThan(tol);
    expect(norm(sub(inv, adjoint(inv, n, n, c))), `${where}: the inverse is Hermitian, both triangles`).toBeLessThan(tol * norm(inv));
  }
  if (k.routine === "syevd") {
    const w = rs[0]!.values!;
    for (const r of rs) expect(r.values, `${where}: rank ${r.rank} has every eigenvalue`).toEqual(w);
    const ref = referenceEigenvalues(k);
    for (let i = 0; i < n; i++) expect(Math.abs(w[i]! - ref[i]!), `${where}: w[${i}] against LAPACK`).toBeLessThan(tol * norm(a));
    if (k.vectors ?? true) {
      // V with eigenvector k as column k (rows: as row k, so V = the rows' transpose)
      const v = k.rows ? transpose(assembled(rs), n, c) : assembled(rs);
      expect(norm(sub(matmul(a, v, n, n, n, c), scaleColumns(v, n, n, w, c))) / norm(a), `${where}: ||A V - V diag(w)|| / ||A||`).toBeLessThan(tol);
      expect(norm(sub(matmul(adjoint(v, n, n, c), v, n, n, n, c), identity(n, c))), `${where}: ||V^H V - I||`).toBeLessThan(tol);
    }
  }
  if (k.routine === "sygvd") {
    const w = rs[0]!.values!;
    for (const r of rs) expect(r.values, `${where}: rank ${r.rank} has every eigenvalue`).toEqual(w);
    for (let i = 1; i < n; i++) expect(w[i]!, `${where}: w ascending at ${i}`).toBeGreaterThanOrEqual(w[i - 1]!);
    if (k.vectors ?? true) {
      // A V = B V diag(w) and V^H B V = I: V is nonsingular, so w are all of the pencil's eigenvalues
      const bm = f64(k.bm!);
      const v = k.rows ? transpose(assembled(rs), n, c) : assembled(rs);
      const bv = matmul(bm, v, n, n, n, c);
      const wmax = Math.max(...w.map(Math.abs));
      const scale = (norm(a) + wmax * norm(bm)) * norm(v);
      expect(norm(sub(matmul(a, v, n, n, n, c), scaleColumns(bv, n, n, w, c))) / scale, `${where}: ||A V - B V diag(w)|| / ((||A|| + max|w| ||B||) ||V||)`).toBeLessThan(tol);
      expect(norm(sub(matmul(adjoint(v, n, n, c), bv, n, n, n, c), identity(n, c))), `${where}: ||V^H B V - I||`).toBeLessThan(tol);
    }
  }
}

/** The transpose (no conjugation) of an n x n matrix. */
function transpose(a: Float64Array, n: number, c: 1 | 2): Float64Array {
  const t = new Float64Array(a.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let q = 0; q < c; q++) t[(j * n + i) * c + q] = a[(i * n + j) * c + q];
  return t;
}

/** LAPACK's eigenvalues of the whole matrix (the host backend, one position). */
function referenceEigenvalues(k: MpCase): Float64Array {
  using mesh = Mesh.host(1);
  using A = ShardedMatrix.fromHost(mesh, store(k.dtype, f64(k.a)) as never, { rows: k.n, cols: k.n, dtype: k.dtype });
  return Float64Array.from(syevd(A, { vectors: false }).values);
}

/** Every rank failed with `code` (and `index` when given), with the same message (a failed
 * redistribution's ranks each tell it their way), A unchanged. */
export function expectCaseFailed(k: MpCase, job: MpJob, index: number, code: string, parts: { index?: number; says?: string; sameMessage?: false } = {}): void {
  const results = job.results[index]!;
  for (const [rank, r] of results.entries()) {
    const where = `${k.id}: rank ${rank}`;
    expect(r, `${where} reported`).toBeDefined();
    expect(r!.ok, `${where} failed`).toBe(false);
    expect(r!.code, `${where}: ${r!.message}`).toBe(code);
    if (parts.index !== undefined) expect(r!.index, where).toBe(parts.index);
    if (parts.says !== undefined) expect(r!.message, where).toContain(parts.says);
    if (parts.sameMessage !== false) expect(r!.message, `${where}: the same message as rank 0`).toBe(results[0]!.message!);
    expect(r!.unchanged, `${where}: A unchanged`).toBe(true);
    if (k.bm) expect(r!.unchangedB, `${where}: B unchanged`).toBe(true);
  }
}
