// Solvers on a square Hermitian (symmetric when real) ShardedMatrix A in row layout. Each runs
// the redistribution into the cyclic layout and cuSOLVERMg (or LAPACK on the host backend) in
// libbunmg; A is overwritten as documented per function.
import { allocHost, checkArrayType, DTYPES, dtypeInfo, elementCount, type DType, type RealOf, type StorageOf } from "./dtypes.ts";
import { check, disposed, invalid } from "./errors.ts";
import { ENSURE_CAPACITY, HANDLE, RUN } from "./internal.ts";
import { checkMesh, type Mesh } from "./mesh.ts";
import { native } from "./native.ts";
import { ShardedMatrix } from "./sharded.ts";
import { defaultTileSize, MAX_TILE, type Routine } from "./tiles.ts";
import { checkInteger, describe } from "./validate.ts";

export interface TileOptions {
  /** rows per tile of the cyclic layout (default: defaultTileSize(routine, dtype, n)) */
  tileSize?: number;
}

export interface SyevdOptions extends TileOptions {
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
}

const EIG_VECTORS = 1; // BUNMG_EIG_VECTORS
const EIG_ROWS = 2; // BUNMG_EIG_ROWS
const ROUTINE_CODE: Record<Routine, number> = { potrs: 0, potri: 1, syevd: 2 };

/** A Cholesky factor, held in place by the matrix it was computed from (cyclic layout). */
export class CholeskyFactor<D extends DType = DType> {
  /** the factored matrix: its shards now hold the factor */
  readonly matrix: ShardedMatrix<D>;
  readonly tileSize: number;
  #consumed: string | undefined;

  /** @internal use cholesky(A) */
  constructor(matrix: ShardedMatrix<D>, tileSize: number) {
    this.matrix = matrix;
    this.tileSize = tileSize;
  }

  /** Order of the matrix. */
  get n(): number {
    return this.matrix.rows;
  }

  /** X with A X = B for B an n x nrhs row-major array (or a vector of n), as a new array of
   * B's shape and dtype. B is not modified. */
  solve(B: StorageOf<D>): StorageOf<D> {
    this.#usable();
    const { dtype, rows: n } = this.matrix;
    checkArrayType(B, dtype, "B");
    const elements = elementCount(B, dtype, "B");
    if (elements === 0 || elements % n !== 0) {
      const info = DTYPES[dtype];
      const per = info.complex ? `2*N = ${2 * n}` : `N = ${n}`;
      throw invalid(`B: expected a positive multiple of ${per} ${info.real} values (N x nrhs, row-major), got ${B.length}`);
    }
    const X = B.slice() as StorageOf<D>;
    const nrhs = elements / n;
    this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_solve(mesh, m, X, nrhs), "bunmg_cholesky_solve");
    return X;
  }

  /** log det A = 2 sum log L_ii (real: A is Hermitian positive definite). */
  logDet(): number {
    this.#usable();
    const out = new Float64Array(1);
    this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_logdet(mesh, m, out), "bunmg_cholesky_logdet");
    return out[0];
  }

  /** Turns the factor into A's inverse, in row layout, and returns the matrix. The factor is
   * consumed: later calls on it throw DISPOSED. */
  inverse(): ShardedMatrix<D> {
    this.#usable();
    try {
      this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_inverse(mesh, m), "bunmg_cholesky_inverse");
    } finally {
      // The library returns A to row layout even when the inversion fails.
      if (this.matrix.layout !== "cyclic") this.#consumed = "it was consumed by inverse()";
    }
    return this.matrix;
  }

  /** Disposes the matrix holding the factor. */
  dispose(): void {
    this.#consumed ??= "it was disposed";
    this.matrix.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #usable(): void {
    if (this.#consumed !== undefined) throw disposed(`the Cholesky factor is no longer usable: ${this.#consumed}`);
    if (this.matrix.disposed) throw disposed("the Cholesky factor is no longer usable: its matrix was disposed");
    if (this.matrix.layout !== "cyclic" || this.matrix.tileSize !== this.tileSize) {
      throw invalid(`the Cholesky factor's matrix left the cyclic layout of tile ${this.tileSize} (was fromCyclic() or toCyclic() called?), so it no longer holds the factor`);
    }
  }
}

/** Factors A = L L^H in place. A then holds the factor in the cyclic layout: use the returned
 * factor, not A's contents. A non positive definite A throws NOT_POSITIVE_DEFINITE (`index` =
 * order of the failing leading minor) and is left unchanged, in row layout. */
export function cholesky<D extends DType>(A: ShardedMatrix<D>, options: TileOptions = {}): CholeskyFactor<D> {
  const tile = prepare(A, "potrs", options);
  A[RUN]((mesh, m) => native().bunmg_cholesky(mesh, m, tile), "bunmg_cholesky");
  return new CholeskyFactor(A, tile);
}

/** Solves A X = B (B: n x nrhs row-major host array, or a vector of n) and returns X as a new
 * array. A is left holding its Cholesky factor in the cyclic layout (not A any more): factor
 * once with cholesky() to solve repeatedly. */
export function potrs<D extends DType>(A: ShardedMatrix<D>, B: StorageOf<D>, options: TileOptions = {}): StorageOf<D> {
  checkMatrix(A);
  checkArrayType(B, A.dtype, "B"); // before factoring, so a wrong B does not cost A
  return cholesky(A, options).solve(B);
}

/** Replaces A by its inverse (row layout) and returns A. */
export function potri<D extends DType>(A: ShardedMatrix<D>, options: TileOptions = {}): ShardedMatrix<D> {
  const tile = prepare(A, "potri", options);
  A[RUN]((mesh, m) => native().bunmg_cholesky(mesh, m, tile), "bunmg_cholesky");
  return new CholeskyFactor(A, tile).inverse();
}

/** Eigenvalues (ascending) and, by default, eigenvectors of A, computed in place: with vectors,
 * A holds them on return (column k for values[k], or row k with `rows: true`). Without vectors,
 * bunmg.h leaves A's contents unspecified (the current library restores A). A is in row layout
 * on return. */
export function syevd<D extends DType>(A: ShardedMatrix<D>, options: SyevdOptions = {}): SyevdResult<D> {
  const tile = prepare(A, "syevd", options);
  const vectors = options.vectors ?? true;
  const rows = options.rows ?? false;
  if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
  if (typeof rows !== "boolean") throw invalid(`rows must be a boolean, got ${describe(rows)}`);
  const flags = (vectors ? EIG_VECTORS : 0) | (rows ? EIG_ROWS : 0);
  const values = allocHost(DTYPES[A.dtype].real, A.rows) as StorageOf<RealOf<D>>;
  A[RUN]((mesh, m) => native().bunmg_syevd(mesh, m, tile, flags, values), "bunmg_syevd");
  return vectors ? { values, vectors: A } : { values };
}

export interface MemoryEstimate {
  /** one matrix shard, cyclic slack included */
  matrix: number;
  /** redistribution staging */
  staging: number;
  /** solver workspace */
  workspace: number;
  total: number;
}

export interface EstimateOptions extends TileOptions {
  /** right-hand sides (potrs; default 1) */
  nrhs?: number;
}

/** Bytes per device that `routine` needs for an n x n matrix of `dtype` on `mesh`. `matrix` is
 * a shard with room for this tile's cyclic layout: what ShardedMatrix.alloc allocates with
 * `maxTile` equal to the tile; the default maxTile (1024) can add about a tile of rows. */
export function estimateMemory(routine: Routine, n: number, dtype: DType, mesh: Mesh, options: EstimateOptions = {}): MemoryEstimate {
  if (!Object.hasOwn(ROUTINE_CODE, routine)) throw invalid(`unknown routine ${describe(routine)}: expected potrs, potri or syevd`);
  checkInteger(n, "n", 1);
  const info = dtypeInfo(dtype);
  checkMesh(mesh);
  const tile = checkTile(options.tileSize ?? defaultTileSize(routine, dtype, n), routine);
  const nrhs = checkInteger(options.nrhs ?? 1, "nrhs", 1);
  const out = new BigUint64Array(3);
  check(native().bunmg_estimate_memory(mesh[HANDLE](), ROUTINE_CODE[routine], n, info.code, tile, nrhs, out), "bunmg_estimate_memory");
  const [matrix, staging, workspace] = Array.from(out, Number);
  return { matrix, staging, workspace, total: matrix + staging + workspace };
}

function checkMatrix(A: unknown): asserts A is ShardedMatrix {
  if (!(A instanceof ShardedMatrix)) throw invalid(`A must be a ShardedMatrix, got ${describe(A)}`);
  if (A.disposed) throw disposed(`${A} was disposed`);
  if (A.rows !== A.cols) throw invalid(`A must be square, got ${A.rows} x ${A.cols}`);
}

function checkTile(tile: unknown, routine: Routine): number {
  return checkInteger(tile, "tileSize", 1, MAX_TILE[routine]);
}

/** Checks A and the tile, and makes A's shards large enough for the tile's cyclic layout. */
function prepare(A: ShardedMatrix, routine: Routine, options: TileOptions): number {
  checkMatrix(A);
  if (A.layout !== "rows") {
    throw invalid(`${A} must be in row layout (it holds a Cholesky factor, or call fromCyclic() first)`);
  }
  const tile = checkTile(options.tileSize ?? defaultTileSize(routine, A.dtype, A.rows), routine);
  A[ENSURE_CAPACITY](tile);
  return tile;
}
