// Solvers on a square Hermitian (symmetric when real) ShardedMatrix A in row layout. Each takes
// one of two paths (strategy.ts says which and why): "multi" redistributes A into the cyclic
// layout and runs cuSOLVERMg over every device; "single" gathers A into one dense buffer on mesh
// position 0 and runs cuSOLVERDn there (LAPACK on the host backend). A is overwritten as
// documented per function.
import { EIG, ROUTINE } from "./abi.ts";
import { DeviceBuffer } from "./buffer.ts";
import { allocHost, checkArrayType, DTYPES, dtypeInfo, elementCount, type DType, type RealOf, type StorageOf } from "./dtypes.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { ENSURE_CAPACITY, HANDLE, RUN } from "./internal.ts";
import { checkMesh, type Mesh } from "./mesh.ts";
import { asPointer, check, native } from "./native.ts";
import { ShardedMatrix } from "./sharded.ts";
import { checkRoutine, chooseStrategy, debugLog, type Strategy, type StrategyChoice } from "./strategy.ts";
import { defaultTileSize, MAX_TILE, type Routine } from "./tiles.ts";
import { checkInteger, describe } from "./validate.ts";

export interface TileOptions {
  /** rows per tile of the cyclic layout (default: defaultTileSize(routine, dtype, n)); unused by
   * the single-device path */
  tileSize?: number;
}

export interface SolverOptions extends TileOptions {
  /** "auto" (default): chooseStrategy's rule; "multi": every device of the mesh (cuSOLVERMg);
   * "single": the whole matrix on mesh position 0 (cuSOLVERDn, LAPACK on the host backend). When
   * auto picked "single" and that path turns out unable (UNSUPPORTED, OUT_OF_MEMORY), the
   * routine runs on the multi-device path instead; an explicit "single" reports the error. */
  strategy?: Strategy;
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

const SINGLE_POSITION = 0; // the mesh position the single-device path runs on

/** A Cholesky factor. With strategy "multi" it is held in place by the matrix it was computed
 * from (cyclic layout); with "single" it is a separate dense buffer on mesh position 0, and the
 * matrix stays unchanged, in row layout. */
export class CholeskyFactor<D extends DType = DType> {
  /** the factored matrix: "multi": its shards now hold the factor; "single": A, unchanged */
  readonly matrix: ShardedMatrix<D>;
  /** the tile of the cyclic layout holding the factor; undefined with "single" */
  readonly tileSize: number | undefined;
  /** the path that computed (and holds) the factor */
  readonly strategy: "single" | "multi";
  #full: DeviceBuffer<D> | undefined;
  #consumed: string | undefined;

  /** @internal use cholesky(A) */
  constructor(matrix: ShardedMatrix<D>, tileSize: number | undefined, full?: DeviceBuffer<D>) {
    this.matrix = matrix;
    this.tileSize = tileSize;
    this.strategy = full === undefined ? "multi" : "single";
    this.#full = full;
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
    const nrhs = rightHandSides(B, dtype, n);
    const X = B.slice() as StorageOf<D>;
    const full = this.#full;
    if (full === undefined) {
      this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_solve(mesh, m, X, nrhs), "bunmg_cholesky_solve");
    } else {
      const status = native().bunmg_dense_cholesky_solve(this.matrix.mesh[HANDLE](), full.device, asPointer(full.pointer), n, DTYPES[dtype].code, X, nrhs);
      check(status, "bunmg_dense_cholesky_solve");
    }
    return X;
  }

  /** log det A = 2 sum log L_ii (real: A is Hermitian positive definite). */
  logDet(): number {
    this.#usable();
    const out = new Float64Array(1);
    const full = this.#full;
    if (full === undefined) {
      this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_logdet(mesh, m, out), "bunmg_cholesky_logdet");
    } else {
      const { mesh, rows, dtype } = this.matrix;
      check(native().bunmg_dense_cholesky_logdet(mesh[HANDLE](), full.device, asPointer(full.pointer), rows, DTYPES[dtype].code, out), "bunmg_dense_cholesky_logdet");
    }
    return out[0];
  }

  /** Turns the factor into A's inverse, in row layout (the full Hermitian matrix), and returns
   * the matrix. The factor is consumed: later calls on it throw DISPOSED. With "single" the
   * inverse is written into the matrix, which must still be in row layout. */
  inverse(): ShardedMatrix<D> {
    this.#usable();
    const full = this.#full;
    if (full !== undefined) {
      if (this.matrix.layout !== "rows") throw invalid(`${this.matrix} must be in row layout to receive the inverse (call fromCyclic() first)`);
      try {
        this.matrix[RUN]((mesh, m) => native().bunmg_dense_cholesky_inverse(mesh, full.device, asPointer(full.pointer), m), "bunmg_dense_cholesky_inverse");
      } finally {
        // potri overwrote the factor, whatever happened after it.
        this.#consumed = "it was consumed by inverse()";
        this.#release();
      }
      return this.matrix;
    }
    try {
      this.matrix[RUN]((mesh, m) => native().bunmg_cholesky_inverse(mesh, m), "bunmg_cholesky_inverse");
    } finally {
      // potri overwrote the factor, whatever happened after it (even a failed copy back that
      // left the matrix block-cyclic): solving with it now would give wrong answers.
      this.#consumed = "it was consumed by inverse()";
    }
    return this.matrix;
  }

  /** Frees the factor: with "multi", disposes the matrix holding it; with "single", frees the
   * factor's own buffer (the matrix stays usable). */
  dispose(): void {
    this.#consumed ??= "it was disposed";
    if (this.#full === undefined) this.matrix.dispose();
    else this.#release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #release(): void {
    this.#full?.dispose();
  }

  #usable(): void {
    if (this.#consumed !== undefined) throw disposed(`the Cholesky factor is no longer usable: ${this.#consumed}`);
    if (this.#full !== undefined) {
      if (this.#full.disposed) throw disposed("the Cholesky factor is no longer usable: its buffer was freed (was the mesh disposed?)");
      if (this.matrix.mesh.disposed) throw disposed("the Cholesky factor is no longer usable: its mesh was disposed");
      return;
    }
    if (this.matrix.disposed) throw disposed("the Cholesky factor is no longer usable: its matrix was disposed");
    if (this.matrix.layout !== "cyclic" || this.matrix.tileSize !== this.tileSize) {
      throw invalid(`the Cholesky factor's matrix left the cyclic layout of tile ${this.tileSize} (was fromCyclic() or toCyclic() called?), so it no longer holds the factor`);
    }
  }
}

/** Factors A = L L^H. With strategy "multi", in place: A then holds the factor in the cyclic
 * layout (use the returned factor, not A's contents). With "single" (auto's choice for small N on
 * GPUs, see chooseStrategy), the factor lives in a separate N x N buffer on mesh position 0 and A
 * itself stays unchanged, in row layout (`A.layout` tells; `factor.strategy` says which). A non
 * positive definite A throws NOT_POSITIVE_DEFINITE (`index` = order of the failing leading minor)
 * and is left unchanged, in row layout. */
export function cholesky<D extends DType>(A: ShardedMatrix<D>, options: SolverOptions = {}): CholeskyFactor<D> {
  return factorize(A, "potrs", "cholesky", options);
}

/** Solves A X = B (B: n x nrhs row-major host array, or a vector of n) and returns X as a new
 * array. With strategy "multi", A is left holding its Cholesky factor in the cyclic layout (not A
 * any more); with "single" (auto's choice for small N on GPUs), A is left unchanged, in row
 * layout (`A.layout` tells). Factor once with cholesky() to solve repeatedly. */
export function potrs<D extends DType>(A: ShardedMatrix<D>, B: StorageOf<D>, options: SolverOptions = {}): StorageOf<D> {
  checkMatrix(A);
  const nrhs = rightHandSides(B, A.dtype, A.rows); // before factoring, so a wrong B does not cost A
  check(native().bunmg_check_rhs(DTYPES[A.dtype].code, B, A.rows, nrhs), "bunmg_check_rhs"); // the solve checks again, too late for A
  const factor = factorize(A, "potrs", "potrs", options, nrhs);
  try {
    return factor.solve(B);
  } finally {
    if (factor.strategy === "single") factor.dispose(); // frees the factor's buffer, not A
  }
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

/** Replaces A by its inverse (row layout, the full Hermitian matrix) and returns A. On failure
 * A is unchanged (docs/reliability.md lists the one exception). */
export function potri<D extends DType>(A: ShardedMatrix<D>, options: SolverOptions = {}): ShardedMatrix<D> {
  const plan = prepare(A, "potri", "potri", options);
  run(
    A,
    plan,
    () => {
      using full = denseFactor(A);
      A[RUN]((mesh, m) => native().bunmg_dense_cholesky_inverse(mesh, full.device, asPointer(full.pointer), m), "bunmg_dense_cholesky_inverse");
    },
    () => {
      A[ENSURE_CAPACITY](plan.tile);
      A[RUN]((mesh, m) => native().bunmg_potri(mesh, m, plan.tile), "bunmg_potri");
    },
  );
  return A;
}

/** Eigenvalues (ascending) and, by default, eigenvectors of A, computed in place: with vectors,
 * A holds them on return (column k for values[k], or row k with `rows: true`). Without vectors,
 * A is unchanged. A is in row layout on return. `strategy` in the result says which path ran. */
export function syevd<D extends DType>(A: ShardedMatrix<D>, options: SyevdOptions = {}): SyevdResult<D> {
  const vectors = options.vectors ?? true;
  const rows = options.rows ?? false;
  if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
  if (typeof rows !== "boolean") throw invalid(`rows must be a boolean, got ${describe(rows)}`);
  const plan = prepare(A, "syevd", "syevd", options);
  const flags = (vectors ? EIG.vectors : 0) | (rows ? EIG.rows : 0);
  const values = allocHost(DTYPES[A.dtype].real, A.rows) as StorageOf<RealOf<D>>;
  const strategy = run(
    A,
    plan,
    () => {
      using full = DeviceBuffer.alloc(A.mesh, SINGLE_POSITION, A.dtype, A.rows * A.rows);
      A[RUN]((mesh, m) => native().bunmg_dense_syevd(mesh, full.device, asPointer(full.pointer), m, flags, values), "bunmg_dense_syevd");
    },
    () => {
      A[ENSURE_CAPACITY](plan.tile);
      A[RUN]((mesh, m) => native().bunmg_syevd(mesh, m, plan.tile, flags, values), "bunmg_syevd");
    },
  );
  return vectors ? { values, vectors: A, strategy } : { values, strategy };
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
  checkRoutine(routine);
  checkInteger(n, "n", 1);
  const info = dtypeInfo(dtype);
  checkMesh(mesh);
  const tile = checkTile(options.tileSize ?? defaultTileSize(routine, dtype, n), routine);
  const nrhs = checkInteger(options.nrhs ?? 1, "nrhs", 1);
  const out = new BigUint64Array(3);
  check(native().bunmg_estimate_memory(mesh[HANDLE](), ROUTINE[routine], n, info.code, tile, nrhs, out), "bunmg_estimate_memory");
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

interface Plan extends StrategyChoice {
  /** the tile of the multi-device path */
  tile: number;
  /** chosen by auto, so an unable single path may fall back to multi */
  auto: boolean;
  /** for messages: the call and its matrix */
  label: string;
}

/** Checks A, the tile and the strategy, and decides the path (logged with BUNMG_DEBUG=1). */
function prepare(A: ShardedMatrix, routine: Routine, call: string, options: SolverOptions, nrhs = 1): Plan {
  checkMatrix(A);
  if (A.layout !== "rows") {
    throw invalid(`${A} must be in row layout (it holds a Cholesky factor, or call fromCyclic() first)`);
  }
  const tile = checkTile(options.tileSize ?? defaultTileSize(routine, A.dtype, A.rows), routine);
  const choice = chooseStrategy(routine, A.rows, A.dtype, A.mesh, { strategy: options.strategy, nrhs });
  const label = `${call} N=${A.rows} ${A.dtype} on ${A.mesh}`;
  debugLog(`${label}: ${choice.strategy} (${choice.reason})`);
  return { ...choice, tile, auto: (options.strategy ?? "auto") === "auto", label };
}

/** Runs the planned path and returns the one that ran: an auto-chosen single path that cannot
 * take the problem (UNSUPPORTED, OUT_OF_MEMORY; A is untouched then) gives way to multi. */
function run(A: ShardedMatrix, plan: Plan, single: () => void, multi: () => void): "single" | "multi" {
  if (plan.strategy === "single") {
    try {
      single();
      return "single";
    } catch (e) {
      const unable = e instanceof BunmgError && (e.code === "UNSUPPORTED" || e.code === "OUT_OF_MEMORY");
      if (!plan.auto || !unable || A.layout !== "rows") throw e;
      debugLog(`${plan.label}: the single path failed (${e.code}: ${e.message}); running multi`);
    }
  }
  multi();
  return "multi";
}

/** The single path's factor: A gathered into a new dense buffer, factored there (A untouched). */
function denseFactor<D extends DType>(A: ShardedMatrix<D>): DeviceBuffer<D> {
  const full = DeviceBuffer.alloc(A.mesh, SINGLE_POSITION, A.dtype, A.rows * A.rows);
  try {
    A[RUN]((mesh, m) => native().bunmg_gather(mesh, m, full.device, asPointer(full.pointer)), "bunmg_gather");
    check(native().bunmg_dense_cholesky(A.mesh[HANDLE](), full.device, asPointer(full.pointer), A.rows, DTYPES[A.dtype].code), "bunmg_dense_cholesky");
    return full;
  } catch (e) {
    full.dispose();
    throw e;
  }
}

/** The Cholesky factor of A on the planned path. */
function factorize<D extends DType>(A: ShardedMatrix<D>, routine: Routine, call: string, options: SolverOptions, nrhs = 1): CholeskyFactor<D> {
  const plan = prepare(A, routine, call, options, nrhs);
  let factor: CholeskyFactor<D> | undefined;
  run(
    A,
    plan,
    () => {
      factor = new CholeskyFactor(A, undefined, denseFactor(A));
    },
    () => {
      A[ENSURE_CAPACITY](plan.tile);
      A[RUN]((mesh, m) => native().bunmg_cholesky(mesh, m, plan.tile), "bunmg_cholesky");
      factor = new CholeskyFactor(A, plan.tile);
    },
  );
  return factor!;
}
