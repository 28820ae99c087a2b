// Test helpers: seeded random data and reference math in float64, written independently of lib/
// (interleaved complex: `c` = 1 for real, 2 for complex values per element).
import { expect } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BunmgError, DTYPES, type BunmgErrorCode, type DType, type Mesh, type StorageOf } from "../lib/index.ts";
import { FAULT, OPTIONS } from "../lib/abi.ts";
import { HANDLE } from "../lib/internal.ts";
import { native } from "../lib/native.ts";

export const ALL_DTYPES: readonly DType[] = ["float32", "float64", "complex64", "complex128"];

/** mulberry32: small, fast, seeded; uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi]. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function components(dtype: DType): 1 | 2 {
  return DTYPES[dtype].components;
}

export function epsilon(dtype: DType): number {
  return DTYPES[dtype].epsilon;
}

/** `elements` random elements of `dtype` in [-1, 1), stored in the dtype's typed array. */
export function randomArray<D extends DType>(dtype: D, elements: number, seed: number): StorageOf<D> {
  const r = rng(seed);
  const info = DTYPES[dtype];
  const out = new info.storage(elements * info.components);
  for (let i = 0; i < out.length; i++) out[i] = 2 * r() - 1;
  return out as StorageOf<D>;
}

/** Values that are distinct bit patterns (the global index), for exact layout checks. */
export function indexArray<D extends DType>(dtype: D, elements: number): StorageOf<D> {
  const info = DTYPES[dtype];
  const out = new info.storage(elements * info.components);
  for (let i = 0; i < out.length; i++) out[i] = i + 0.25; // + 0.25: no value is 0 or repeats
  return out as StorageOf<D>;
}

/** Stores a float64 reference array in `dtype`'s typed array (rounding for 32-bit types). */
export function store<D extends DType>(dtype: D, values: Float64Array): StorageOf<D> {
  return new DTYPES[dtype].storage(values) as StorageOf<D>;
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

export function bitsEqual(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// ---- dense reference math (float64, row-major, interleaved complex) ----

/** C = A B for A m x k, B k x n. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number, c: 1 | 2): Float64Array {
  const out = new Float64Array(m * n * c);
  if (c === 1) {
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        const aip = a[i * k + p];
        for (let j = 0; j < n; j++) out[i * n + j] += aip * b[p * n + j];
      }
    return out;
  }
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const ar = a[2 * (i * k + p)];
      const ai = a[2 * (i * k + p) + 1];
      for (let j = 0; j < n; j++) {
        const br = b[2 * (p * n + j)];
        const bi = b[2 * (p * n + j) + 1];
        out[2 * (i * n + j)] += ar * br - ai * bi;
        out[2 * (i * n + j) + 1] += ar * bi + ai * br;
      }
    }
  return out;
}

/** A^H (A^T for real) of an m x n A. */
export function adjoint(a: Float64Array, m: number, n: number, c: 1 | 2): Float64Array {
  const out = new Float64Array(m * n * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      out[(j * m + i) * c] = a[(i * n + j) * c];
      if (c === 2) out[(j * m + i) * 2 + 1] = -a[(i * n + j) * 2 + 1];
    }
  return out;
}

export function identity(n: number, c: 1 | 2): Float64Array {
  const out = new Float64Array(n * n * c);
  for (let i = 0; i < n; i++) out[(i * n + i) * c] = 1;
  return out;
}

export function sub(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v - b[i]);
}

/** Frobenius norm (for complex: over both components, which is the same thing). */
export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Scales column k of an n x m matrix by w[k] (V diag(w)). */
export function scaleColumns(v: Float64Array, n: number, m: number, w: ArrayLike<number>, c: 1 | 2): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < m; k++) for (let q = 0; q < c; q++) out[(i * m + k) * c + q] = v[(i * m + k) * c + q] * w[k];
  return out;
}

/** Hermitian random matrix with nonzero imaginary parts off the diagonal (complex). */
export function randomHermitian(n: number, c: 1 | 2, seed: number): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * n * c);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const re = 2 * r() - 1;
      const im = c === 2 && i !== j ? 2 * r() - 1 : 0;
      a[(i * n + j) * c] = re;
      a[(j * n + i) * c] = re;
      if (c === 2) {
        a[(i * n + j) * 2 + 1] = im;
        a[(j * n + i) * 2 + 1] = -im;
      }
    }
  return a;
}

/** Hermitian positive definite: M M^H / n + I with M uniform in [-1, 1). Entries of M have
 * variance v = 1/3 (2/3 complex), so by Marchenko-Pastur M M^H / n has eigenvalues in about
 * [0, 4v]: A's lie in [1, 1 + 4v] and cond(A) < 4. */
export function randomSPD(n: number, c: 1 | 2, seed: number): Float64Array {
  const r = rng(seed);
  const m = new Float64Array(n * n * c);
  for (let i = 0; i < m.length; i++) m[i] = 2 * r() - 1;
  const a = matmul(m, adjoint(m, n, n, c), n, n, n, c);
  for (let i = 0; i < a.length; i++) a[i] /= n;
  for (let i = 0; i < n; i++) {
    a[(i * n + i) * c] += 1;
    if (c === 2) a[(i * n + i) * 2 + 1] = 0;
  }
  // Exactly Hermitian (the product is only up to rounding), so a 32-bit copy is too.
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      a[(j * n + i) * c] = a[(i * n + j) * c];
      if (c === 2) a[(j * n + i) * 2 + 1] = -a[(i * n + j) * 2 + 1];
    }
  return a;
}

/** Lower L with A = L L^H (Cholesky–Banachiewicz), or the 1-based order of the first leading
 * minor that is not positive. */
export function choleskyRef(a: Float64Array, n: number, c: 1 | 2): { L: Float64Array } | { failed: number } {
  const L = new Float64Array(n * n * c);
  const at = (i: number, j: number) => (i * n + j) * c;
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      // s = A_ij - sum_k L_ik conj(L_jk)
      let sr = a[at(i, j)];
      let si = c === 2 ? a[at(i, j) + 1] : 0;
      for (let k = 0; k < j; k++) {
        const xr = L[at(i, k)], yr = L[at(j, k)];
        const xi = c === 2 ? L[at(i, k) + 1] : 0, yi = c === 2 ? L[at(j, k) + 1] : 0;
        sr -= xr * yr + xi * yi;
        si -= xi * yr - xr * yi;
      }
      if (i === j) {
        if (!(sr > 0)) return { failed: i + 1 };
        L[at(i, i)] = Math.sqrt(sr);
      } else {
        const d = L[at(j, j)];
        L[at(i, j)] = sr / d;
        if (c === 2) L[at(i, j) + 1] = si / d;
      }
    }
  return { L };
}

export function logDetRef(a: Float64Array, n: number, c: 1 | 2): number {
  const result = choleskyRef(a, n, c);
  if ("failed" in result) throw new Error(`reference: not positive definite at ${result.failed}`);
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * Math.log(result.L[(i * n + i) * c]);
  return s;
}

// ---- the cyclic layout, computed from the device's side (independent of lib/ and csrc/) ----

/** For each position d: the global row stored at each local row in the cyclic layout of tile T
 * over G positions (local slot q holds global tile q*G + d). */
export function cyclicRowsOn(rows: number, T: number, G: number): number[][] {
  const out: number[][] = [];
  const tiles = Math.ceil(rows / T);
  for (let d = 0; d < G; d++) {
    const held: number[] = [];
    for (let q = 0; q * G + d < tiles; q++) {
      const k = q * G + d;
      for (let j = k * T; j < Math.min((k + 1) * T, rows); j++) held.push(j);
    }
    out.push(held);
  }
  return out;
}

/** The global row stored at each local row of position d in row layout. */
export function rowShardRowsOn(rows: number, G: number): number[][] {
  const s = Math.ceil(rows / G);
  return Array.from({ length: G }, (_, d) => {
    const held: number[] = [];
    for (let j = d * s; j < Math.min((d + 1) * s, rows); j++) held.push(j);
    return held;
  });
}

/** Whether the NaN-free values of row `global` of `data` equal local row `local` of `shard`, bit
 * for bit. */
export function rowMatches(
  shard: Float32Array | Float64Array,
  local: number,
  data: Float32Array | Float64Array,
  global: number,
  rowValues: number,
): boolean {
  return bitsEqual(
    shard.subarray(local * rowValues, (local + 1) * rowValues),
    data.subarray(global * rowValues, (global + 1) * rowValues),
  );
}

// ---- errors ----

/** Runs `fn` and returns the BunmgError it throws (failing the test otherwise). */
export function thrown(fn: () => unknown): BunmgError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BunmgError);
    return e as BunmgError;
  }
  throw new Error("expected a BunmgError, but nothing was thrown");
}

/** Expects `fn` to throw a BunmgError with `code` whose message contains every `parts`. */
export function expectError(fn: () => unknown, code: BunmgErrorCode, ...parts: string[]): BunmgError {
  const e = thrown(fn);
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

/** Bytes the mesh holds, per position. */
export function heldBytes(mesh: Mesh): number[] {
  return Array.from({ length: mesh.size }, (_, d) => mesh.memory(d).held);
}

// ---- fault injection (bunmg_debug_inject: the n-th event of a kind fails; n < 0: off) ----

export type Fault = keyof typeof FAULT;

/** Arms (n >= 0) or disarms (n < 0) a fault; returns the previous setting: events left before
 * it fires, or -1 when it fired or was off. */
export function injectFault(mesh: Mesh, fault: Fault, n: number): number {
  const pending = new BigInt64Array(1);
  const status = native().bunmg_debug_inject(mesh[HANDLE](), FAULT[fault], n, pending);
  if (status !== 0) throw new Error(`bunmg_debug_inject failed with status ${status}`);
  return Number(pending[0]);
}

export function failCopyAfter(mesh: Mesh, n: number): void {
  injectFault(mesh, "copy", n);
}

// ---- tables generated into docs/ from the tests that check them ----

/** Expects the lines between `<!-- name:begin -->` and `<!-- name:end -->` of `file` (relative to
 * the package root) to be `text`, so a documented table cannot drift from its test. Run the tests
 * with BUNMG_WRITE_DOCS=1 to write `text` there instead. */
export function expectDocSection(file: string, name: string, text: string): void {
  const path = join(import.meta.dir, "..", file);
  const begin = `<!-- ${name}:begin -->\n`;
  const end = `<!-- ${name}:end -->`;
  const doc = readFileSync(path, "utf8");
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`${file} has no section ${name} (${begin.trim()} ... ${end})`);
  const current = doc.slice(from + begin.length, to);
  const wanted = text.endsWith("\n") ? text : `${text}\n`;
  if (process.env.BUNMG_WRITE_DOCS === "1") {
    if (current !== wanted) writeFileSync(path, doc.slice(0, from + begin.length) + wanted + doc.slice(to));
    return;
  }
  expect(current, `${file} section ${name} is out of date: run BUNMG_WRITE_DOCS=1 bun test`).toBe(wanted);
}

/** A struct bunmg_options for raw calls: auto with fallback unless `change` says otherwise
 * (values unchecked, so tests can pass bad ones). */
export function optionsStruct(change: Partial<Record<keyof typeof OPTIONS.offset, number>>): Uint8Array {
  const bytes = new Uint8Array(OPTIONS.bytes);
  const v = new DataView(bytes.buffer);
  v.setInt32(OPTIONS.offset.fallback, 1, true);
  for (const [key, value] of Object.entries(change)) {
    const at = OPTIONS.offset[key as keyof typeof OPTIONS.offset];
    if (key === "tile") v.setBigInt64(at, BigInt(value), true);
    else v.setInt32(at, value, true);
  }
  return bytes;
}
