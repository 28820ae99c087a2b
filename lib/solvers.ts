// The solvers on a square Hermitian (symmetric when real) ShardedMatrix A in row layout. Each
// is one call of libbunmg's entry point for the routine, which holds the whole contract: the
// inputs checked before anything moves, the path chosen (strategy.ts) and run, the result
// checked by bunmg itself, and A restored on failure. This module only shapes the arguments.
import { EIG, MAX_TILE, PATH, ROUTINE } from "./abi.ts";
import { allocHost, checkArrayType, DTYPES, dtypeInfo, elementCount, type DType, type RealOf, type StorageOf } from "./dtypes.ts";
import { disposed, invalid } from "./errors.ts";
import { ENSURE_CAPACITY, HANDLE, RELEASE, RUN, STRUCT, TRACK, UNTRACK, type MeshResource } from "./internal.ts";
import { checkMesh, type Mesh } from "./mesh.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { ShardedMatrix } from "./sharded.ts";
import { checkRoutine, checkStrategy, pathOptions, takenPath, type Strategy } from "./strategy.ts";
import type { Routine } from "./tiles.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

export interface TileOptions {
  /** rows per tile of the multi path's cyclic layout (default: defaultTileSize(routine, dtype, n)) */
  tileSize?: number;
}

export interface SolverOptions extends TileOptions {
  /** "auto" (default): chooseStrategy's rule; "multi": every device of the mesh (cuSOLVERMg);
   * "single": the whole matrix on mesh position 0 (cuSOLVERDn, LAPACK on the host backend). */
  strategy?: Strategy;
  /** With "auto": a single path that cannot run (UNSUPPORTED, OUT_OF_MEMORY, before A is
   * touched) gives way to multi (default true). An explicit "single" reports the error. */
  fallback?: boolean;
}

export interface PotrsOptions extends SolverOptions {
  /** Leave A unchanged and in row layout on every path (default false: the multi path leaves
   * A holding its factor). The multi path then rebuilds A: one redistribution more. */
  keep?: boolean;
}

export interface SyevdOptions extends SolverOptions {
  /** compute eigenvectors into A (default true) */
  vectors?: boolean;
  /** eigenvector k as row k of A instead of column k (default false; skips a transpose) */
  rows?: boolean;
}

export interface SyevdResult<D extends DType> {
  /** eigenvalues, ascending */
  values: StorageOf<RealOf<D>>;
  /** A itself, holding the eigenvectors (column k, or row k with `rows`, belongs to values[k]) */
  vectors?: ShardedMatrix<D>;
  /** the path taken */
  strategy: "single" | "multi";
}

/** A Cholesky factor A = L L^H on the devices. With strategy "multi" it is held in place by the
 * matrix it was computed from (cyclic layout); with "single" it is a separate dense buffer on
 * mesh position 0, and the matrix stays unchanged, in row layout. Any change to the matrix after
 * factoring (a fill, a layout change, a write into a shard) makes the factor stale: its calls
 * then throw DISPOSED. */
export class CholeskyFactor<D extends DType = DType> implements MeshResource {
  /** the factored matrix: "multi": its shards now hold the factor; "single": A, unchanged */
  readonly matrix: ShardedMatrix<D>;
  /** the tile of the cyclic layout holding the factor; undefined with "single" */
  readonly tileSize: number | undefined;
  /** the path that computed (and holds) the factor */
  readonly strategy: "single" | "multi";
  #handle: number;
  #gone: string | undefined;

  /** @internal use cholesky(A) */
  constructor(matrix: ShardedMatrix<D>, handle: number) {
    this.matrix = matrix;
    this.#handle = handle;
    const path = new Int32Array(1);
    const tile = new BigInt64Array(1);
    check(native().bunmg_factor_info(asPointer(handle), path, tile), "bunmg_factor_info");
    this.strategy = path[0] === PATH.single ? "single" : "multi";
    this.tileSize = this.strategy === "multi" ? Number(tile[0]) : undefined;
    matrix.mesh[TRACK](this);
  }

  /** Order of the matrix. */
  get n(): number {
    return this.matrix.rows;
  }

  /** X with A X = B for B an n x nrhs row-major array (or a vector of n), as a new array of
   * B's shape and dtype. B is not modified. */
  solve(B: StorageOf<D>): StorageOf<D> {
    const handle = this.#live();
    const X = B.slice() as StorageOf<D>;
    const nrhs = rightHandSides(B, this.matrix.dtype, this.n);
    this.matrix[RUN]((_, m) => native().bunmg_factor_solve(handle, m, X, nrhs), "bunmg_factor_solve");
    return X;
  }

  /** log det A = 2 sum log L_ii (real: A is Hermitian positive definite). */
  logDet(): number {
    const handle = this.#live();
    const out = new Float64Array(1);
    this.matrix[RUN]((_, m) => native().bunmg_factor_logdet(handle, m, out), "bunmg_factor_logdet");
    return out[0]!;
  }

  /** Turns the factor into A's inverse, in row layout (the full Hermitian matrix), and returns
   * the matrix. The factor is consumed: later calls on it throw DISPOSED. With "single" the
   * inverse is written into the matrix, which must still be in row layout. */
  inverse(): ShardedMatrix<D> {
    const handle = this.#live();
    try {
      this.matrix[RUN]((_, m) => native().bunmg_factor_inverse(handle, m), "bunmg_factor_inverse");
    } finally {
      // potri overwrote the factor, whatever happened after it.
      this[RELEASE]("it was consumed by inverse()");
    }
    return this.matrix;
  }

  /** Frees the factor: with "multi", disposes the matrix holding it; with "single", frees the
   * factor's own buffer (the matrix stays usable). Idempotent. */
  dispose(): void {
    this[RELEASE]("it was disposed");
    if (this.strategy === "multi") this.matrix.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal frees the handle now (also when its mesh goes first). */
  [RELEASE](reason: string): void {
    if (this.#gone !== undefined) return;
    this.#gone = reason;
    this.matrix.mesh[UNTRACK](this);
    const handle = this.#handle;
    this.#handle = 0;
    check(native().bunmg_factor_destroy(asPointer(handle)), "bunmg_factor_destroy");
  }

  #live() {
    if (this.#gone !== undefined) throw disposed(`the Cholesky factor is no longer usable: ${this.#gone}`);
    if (this.matrix.disposed) throw disposed("the Cholesky factor is no longer usable: its matrix was disposed");
    return asPointer(this.#handle);
  }
}

/** Factors A = L L^H. With strategy "multi", in place: A then holds the factor in the cyclic
 * layout (use the returned factor, not A's contents). With "single" (auto's choice for small N on
 * GPUs, see chooseStrategy), the factor lives in a separate N x N buffer on mesh position 0 and A
 * itself stays unchanged, in row layout (`A.layout` tells; `factor.strategy` says which). A non
 * positive definite A throws NOT_POSITIVE_DEFINITE (`index` = order of the first leading minor
 * that is not, found by bunmg from the factor) and is left unchanged, in row layout. */
export function cholesky<D extends DType>(A: ShardedMatrix<D>, options?: SolverOptions | null): CholeskyFactor<D> {
  const request = prepare(A, "potrs", options);
  const out = new BigUint64Array(1);
  A[RUN]((mesh, m) => native().bunmg_cholesky(mesh, m, request, out), "bunmg_cholesky");
  return new CholeskyFactor(A, readPointer(out));
}

/** Solves A X = B (B: n x nrhs row-major host array, or a vector of n) and returns X as a new
 * array. With strategy "multi", A is left holding its Cholesky factor in the cyclic layout (not A
 * any more) unless `keep`; with "single" (auto's choice for small N on GPUs), A is left
 * unchanged, in row layout (`A.layout` tells). Factor once with cholesky() to solve repeatedly. */
export function potrs<D extends DType>(A: ShardedMatrix<D>, B: StorageOf<D>, options?: PotrsOptions | null): StorageOf<D> {
  const { keep } = optionsOf(options);
  const request = prepare(A, "potrs", options, keep);
  const nrhs = rightHandSides(B, A.dtype, A.rows);
  const X = B.slice() as StorageOf<D>;
  A[RUN]((mesh, m) => native().bunmg_potrs(mesh, m, X, nrhs, request), "bunmg_potrs");
  return X;
}

/** Replaces A by its inverse (row layout, the full Hermitian matrix) and returns A. On failure
 * A is unchanged (docs/reliability.md lists the exceptions). */
export function potri<D extends DType>(A: ShardedMatrix<D>, options?: SolverOptions | null): ShardedMatrix<D> {
  const request = prepare(A, "potri", options);
  A[RUN]((mesh, m) => native().bunmg_potri(mesh, m, request), "bunmg_potri");
  return A;
}

/** Eigenvalues (ascending) and, by default, eigenvectors of A, computed in place: with vectors,
 * A holds them on return (column k for values[k], or row k with `rows: true`). Without vectors,
 * A is unchanged. A is in row layout on return. `strategy` in the result says which path ran. */
export function syevd<D extends DType>(A: ShardedMatrix<D>, options?: SyevdOptions | null): SyevdResult<D> {
  const { vectors = true, rows = false } = optionsOf(options);
  if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
  if (typeof rows !== "boolean") throw invalid(`rows must be a boolean, got ${describe(rows)}`);
  const request = prepare(A, "syevd", options);
  const flags = (vectors ? EIG.vectors : 0) | (rows ? EIG.rows : 0);
  const values = allocHost(DTYPES[A.dtype].real, A.rows) as StorageOf<RealOf<D>>;
  A[RUN]((mesh, m) => native().bunmg_syevd(mesh, m, flags, values, request), "bunmg_syevd");
  const strategy = takenPath(request);
  return vectors ? { values, vectors: A, strategy } : { values, strategy };
}

export interface MemoryEstimate {
  /** one matrix shard, cyclic slack included */
  matrix: number;
  /** redistribution staging (an upper bound) */
  staging: number;
  /** solver workspace */
  workspace: number;
  total: number;
}

export interface EstimateOptions extends TileOptions {
  /** right-hand sides (potrs; default 1) */
  nrhs?: number;
  /** the path to estimate (default "multi"; "auto": the one chooseStrategy picks) */
  strategy?: Strategy;
}

/** Bytes that `routine` needs for an n x n matrix of `dtype` on `mesh`, in closed form (nothing
 * is allocated or planned). Multi path, per device: `matrix` is a shard with room for this
 * tile's cyclic layout (what ShardedMatrix.alloc allocates with `maxTile` equal to the tile).
 * Single path, on position 0 beyond A's shards: `matrix` is the dense N x N copy. */
export function estimateMemory(routine: Routine, n: number, dtype: DType, mesh: Mesh, options?: EstimateOptions | null): MemoryEstimate {
  const { tileSize = 0, nrhs = 1, strategy = "multi" } = optionsOf(options);
  checkRoutine(routine);
  checkInteger(n, "n", 1);
  const info = dtypeInfo(dtype);
  checkMesh(mesh);
  checkInteger(tileSize, "tileSize", options?.tileSize === undefined ? 0 : 1, MAX_TILE[routine]);
  checkInteger(nrhs, "nrhs", 1);
  const out = new BigUint64Array(3);
  const path = PATH[checkStrategy(strategy)];
  check(native().bunmg_estimate_memory(mesh[HANDLE](), ROUTINE[routine], n, info.code, tileSize, nrhs, path, out), "bunmg_estimate_memory");
  const [matrix, staging, workspace] = Array.from(out, Number) as [number, number, number];
  return { matrix, staging, workspace, total: matrix + staging + workspace };
}

/** The number of right-hand sides of B (n x nrhs row-major, or a vector of n), checked. */
function rightHandSides(B: StorageOf<DType>, dtype: DType, n: number): number {
  checkArrayType(B, dtype, "B");
  const elements = elementCount(B, dtype, "B");
  if (elements === 0 || elements % n !== 0) {
    const info = DTYPES[dtype];
    const per = info.complex ? `2*N = ${2 * n}` : `N = ${n}`;
    throw invalid(`B: expected a positive multiple of ${per} ${info.real} values (N x nrhs, row-major), got ${B.length}`);
  }
  return elements / n;
}

/** A checked, its options as a struct bunmg_options. */
function prepare(A: unknown, routine: Routine, options: SolverOptions | null | undefined, keep?: boolean): Uint8Array {
  if (!(A instanceof ShardedMatrix)) throw invalid(`A must be a ShardedMatrix, got ${describe(A)}`);
  if (A.disposed) throw disposed(`${A} was disposed`);
  if (A.rows !== A.cols) throw invalid(`A must be square, got ${A.rows} x ${A.cols}`);
  const { tileSize, strategy, fallback } = optionsOf(options);
  const tile = tileSize === undefined ? 0 : checkInteger(tileSize, "tileSize", 1, MAX_TILE[routine]);
  const request = pathOptions({ tile, strategy, fallback, keep });
  // An explicit tile beyond the shards' maxTile needs larger shards, which only their owner can
  // allocate; the default tiles always fit.
  if (tile > 0 && strategy !== "single" && A.layout === "rows") A[ENSURE_CAPACITY](tile);
  else A[STRUCT](); // usable (not disposed, not lost)
  return request;
}
