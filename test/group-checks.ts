// Shared by the group tests: the rank fixture, the single-process reference it must match, and
// what a job leaves in /dev/shm.
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DTYPES, Mesh, potri, potrs, ShardedMatrix, syevd, type DType } from "../lib/index.ts";
import { opMatrix, opRhs, type Op, type OpResult, type RankResult, type RankSpec } from "./fixtures/group-rank.ts";
import { bitsEqual } from "./helpers.ts";

export const FIXTURE = join(import.meta.dir, "fixtures", "group-rank.ts");
/** The group timeout of the tests: short, so that failure tests stay quick. */
export const TIMEOUT_MS = 3000;
export const ALL_OPS: Op[] = ["potrs", "potri", "syevd", "eigenvalues", "fill-potrs", "npd"];

/** /dev/shm entries of `job`. */
export function segmentsOf(job: string): string[] {
  return readdirSync("/dev/shm").filter((f) => f === `bunmg-${job}` || f.startsWith(`bunmg-${job}.`));
}

function decode(dtype: DType, b64: string): Float32Array | Float64Array {
  const buf = Buffer.from(b64, "base64");
  return new DTYPES[dtype].storage(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

interface Expected {
  x?: Float32Array | Float64Array;
  values?: Float32Array | Float64Array;
  full?: Float32Array | Float64Array;
  error?: { code: string; index?: number };
}

export interface CompareOptions {
  /** the single-process mesh (default: a host mesh of one position per rank: rank 0's path) */
  mesh?: () => Mesh;
  /** 0 (default): bit for bit; else the largest difference allowed, relative to the largest
   * magnitude of the reference */
  tolerance?: number;
}

/** What single-process mode gives for `op` on the mesh (by default a host mesh of `size`
 * positions: the same code path as rank 0's, so the same bits). */
function reference(spec: RankSpec, op: Op, size: number, options: CompareOptions): Expected {
  using mesh = options.mesh?.() ?? Mesh.host(size);
  const { n, dtype, tile: tileSize } = spec;
  using A = op === "fill-potrs" ? ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { seed: spec.seed }) : ShardedMatrix.fromHost(mesh, opMatrix(spec, op) as never, { rows: n, cols: n, dtype });
  if (op === "npd") return { error: { code: "NOT_POSITIVE_DEFINITE", index: Math.floor(n / 2) + 1 } };
  if (op === "potrs" || op === "fill-potrs") {
    const x = potrs(A, opRhs(spec) as never, { tileSize, strategy: "multi" });
    return { x, full: A.fromCyclic().toHost() }; // the factor, in row layout
  }
  if (op === "potri") return { full: potri(A, { tileSize, strategy: "multi" }).toHost() };
  const { values } = syevd(A, { tileSize, vectors: op === "syevd", strategy: "multi" });
  return op === "syevd" ? { values, full: A.toHost() } : { values };
}

/** a equals b bit for bit, or within tolerance * max |b|. */
function close(a: Float32Array | Float64Array, b: Float32Array | Float64Array, tolerance: number): boolean {
  if (tolerance === 0 || a.length !== b.length) return bitsEqual(a, b);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tolerance * scale)) return false;
  return true;
}

function expectOp(spec: RankSpec, rank: RankResult, got: OpResult, want: Expected, tolerance: number): void {
  const where = `rank ${rank.rank}, ${got.op}`;
  if (want.error) {
    expect({ where, code: got.error?.code, index: got.error?.index }).toEqual({ where, code: want.error.code, index: want.error.index });
    return;
  }
  expect({ where, error: got.error }).toEqual({ where, error: undefined });
  const same = (b64: string | undefined, ref: Float32Array | Float64Array) => b64 !== undefined && close(decode(spec.dtype, b64), ref, tolerance);
  if (want.x) expect({ where, x: same(got.x, want.x) }).toEqual({ where, x: true });
  if (want.values) expect({ where, values: same(got.values, want.values) }).toEqual({ where, values: true });
  if (want.full) {
    const values = spec.n * DTYPES[spec.dtype].components;
    expect({ where, rows: same(got.rows, want.full.subarray(rank.start * values, rank.end * values)) }).toEqual({ where, rows: true });
  }
}

/** Every rank's results equal single-process mode's (bit for bit by default). */
export function expectSameAsSingleProcess(spec: RankSpec, results: RankResult[], options: CompareOptions = {}): void {
  const size = results.length;
  const s = Math.ceil(spec.n / size);
  results.forEach((r, rank) => {
    expect(r.rank).toBe(rank);
    expect([r.start, r.end]).toEqual([Math.min(rank * s, spec.n), Math.min((rank + 1) * s, spec.n)]);
    expect(r.results.map((o) => o.op)).toEqual(spec.ops);
  });
  spec.ops.forEach((op, i) => {
    const want = reference(spec, op, size, options);
    for (const r of results) expectOp(spec, r, r.results[i], want, options.tolerance ?? 0);
  });
}
