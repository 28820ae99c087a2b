// The distributed engine (csrc/include/bunmg.h, "MPI ranks and ScaLAPACK"): this process is one
// rank, holding its own rows of an n x n matrix; the collective routines run ScaLAPACK on CPUs
// (the ranks of an MPI job: `bunmg launch --engine mp`, or mpirun) or cuSOLVERMp on one GPU per
// rank (engine "cusolvermp": a world of one without MPI, or the ranks of an MPI job) over a 2D
// block-cyclic grid of every rank, and give each rank X, its rows of the inverse or of the
// eigenvectors, and every eigenvalue (potrs, cholesky, potri, syevd for Hermitian A; getrs for a
// general A; sygvd for a pair; gels and gesvd for a tall m x n A: ScaLAPACK only so far).
// Every rank calls the same routines in the same order with the same n, dtype and options.
import { ptr, type Pointer } from "bun:ffi";
import { EIG, GRID_FLAGS, LAYOUT, MATRIX, MP_FAULT, MP_OPTIONS } from "./abi.ts";
import { allocHost, checkArray, DTYPES, dtypeInfo, type DType, type RealOf, type StorageOf } from "./dtypes.ts";
import { disposed, invalid } from "./errors.ts";
import { RELEASE, UNTRACK } from "./internal.ts";
import { encodeGrid, gridCapacity, type GridOrder, type GridShape } from "./grid.ts";
import { DEFAULT_GROUP_TIMEOUT_MS } from "./group.ts";
import { launcherRank } from "./launcher-env.ts";
import { MpFactor, rhsCount } from "./mp-factor.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

/** This rank's rows of an n x n matrix: rows [start, end) of rowRange(n), row-major, in `data`
 * (exactly (end - start) * n elements). */
export interface MpRows<D extends DType = DType> {
  n: number;
  dtype: D;
  data: StorageOf<D>;
}

/** This rank's rows of an m x n matrix (m >= n, for gels): rows [start, end) of rowRange(m),
 * row-major, in `data` (exactly (end - start) * n elements). */
export interface MpTallRows<D extends DType = DType> {
  m: number;
  n: number;
  dtype: D;
  data: StorageOf<D>;
}

/** The grid layout the engine redistributes into. Every rank passes the same. */
export interface MpGridOptions {
  /** MB = NB (square blocks); default 64 (ScaLAPACK), 256 (cuSOLVERMp) */
  block?: number;
  /** the process grid (prows * pcols = ranks); default the squarest with prows <= pcols */
  prows?: number;
  pcols?: number;
  /** rank order on the grid (default "row", BLACS "Row") */
  order?: GridOrder;
}

export interface MpSyevdOptions extends MpGridOptions {
  /** compute eigenvectors into A (default true) */
  vectors?: boolean;
  /** eigenvector k as row k of A instead of column k */
  rows?: boolean;
}

export interface MpSyevdResult<D extends DType> {
  /** all n eigenvalues, ascending, on every rank */
  values: StorageOf<RealOf<D>>;
}

export interface MpGesvdOptions extends MpGridOptions {
  /** compute the singular vectors: A becomes U, and V is returned (default true) */
  vectors?: boolean;
}

export interface MpGesvdResult<D extends DType> {
  /** all n singular values, descending, on every rank */
  values: StorageOf<RealOf<D>>;
  /** with vectors: this rank's rows of V (n x n), A = U diag(s) V^H */
  V?: MpRows<D>;
}

export type MpFault = Exclude<keyof typeof MP_FAULT, "none">;

/** The engine a world runs: ScaLAPACK on CPUs (default), or cuSOLVERMp on this rank's GPU. */
export type MpEngine = "scalapack" | "cusolvermp";

export interface MpJoinOptions {
  timeoutMs?: number;
  engine?: MpEngine;
  /** the CUDA device of this rank (engine "cusolvermp"); default the launcher's local rank, else 0 */
  device?: number;
}

function encodeOptions(options: MpGridOptions | null | undefined): Uint8Array {
  const o = optionsOf(options);
  const bytes = new Uint8Array(MP_OPTIONS.bytes);
  const v = new DataView(bytes.buffer);
  v.setBigInt64(MP_OPTIONS.offset.block, BigInt(checkInteger(o.block ?? 0, "block", 0)), true);
  v.setInt32(MP_OPTIONS.offset.prows, checkInteger(o.prows ?? 0, "prows", 0, 4096), true);
  v.setInt32(MP_OPTIONS.offset.pcols, checkInteger(o.pcols ?? 0, "pcols", 0, 4096), true);
  const order = o.order ?? "row";
  if (order !== "row" && order !== "column") throw invalid(`order must be "row" or "column", got ${describe(order)}`);
  v.setInt32(MP_OPTIONS.offset.order, order === "row" ? 0 : 1, true);
  return bytes;
}

/** One rank of the distributed engine. leave() (or dispose) ends it; MPI itself (when used)
 * stays up until the process exits. After PEER_LOST or TIMEOUT the world is broken: every later
 * routine throws the same error, and the process should exit. */
export class MpWorld {
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  readonly engine: MpEngine;
  #handle: number;
  readonly #factors = new Set<MpFactor>();

  private constructor(rank: number, size: number, timeoutMs: number, engine: MpEngine, handle: number) {
    this.rank = rank;
    this.size = size;
    this.timeoutMs = timeoutMs;
    this.engine = engine;
    this.#handle = handle;
  }

  /** Joins the MPI job (collective: every rank joins). The launcher's variables, when set
   * (BUNMG_RANK, OMPI_COMM_WORLD_RANK, ...), must agree with MPI's rank and size. */
  static join(options?: MpJoinOptions | null): MpWorld {
    const o = optionsOf(options);
    const timeoutMs = checkInteger(o.timeoutMs ?? envTimeout() ?? DEFAULT_GROUP_TIMEOUT_MS, "timeoutMs", 1);
    const engine = o.engine ?? "scalapack";
    if (engine !== "scalapack" && engine !== "cusolvermp") throw invalid(`engine must be "scalapack" or "cusolvermp", got ${describe(engine)}`);
    if (engine === "scalapack" && o.device !== undefined) throw invalid(`device: the scalapack engine runs on CPUs; pass engine: "cusolvermp" for a GPU`);
    const launched = launcherRank();
    const device = checkInteger(o.device ?? launched?.localRank ?? 0, "device", 0, 63);
    const lib = native();
    const out = new BigUint64Array(1);
    if (engine === "cusolvermp") check(lib.bunmg_mp_join_gpu(timeoutMs, device, out), "bunmg_mp_join_gpu");
    else check(lib.bunmg_mp_join(timeoutMs, out), "bunmg_mp_join");
    const handle = readPointer(out);
    const rank = new Int32Array(1);
    const size = new Int32Array(1);
    check(lib.bunmg_mp_info(asPointer(handle), rank, size), "bunmg_mp_info");
    if (launched && (launched.rank !== rank[0] || launched.size !== size[0])) {
      lib.bunmg_mp_leave(asPointer(handle));
      throw invalid(`the launcher says rank ${launched.rank} of ${launched.size} (${launched.launcher}'s variables), but MPI says rank ${rank[0]} of ${size[0]}: was this process started by another launcher than its MPI job's?`);
    }
    return new MpWorld(rank[0]!, size[0]!, timeoutMs, engine, handle);
  }

  get left(): boolean {
    return this.#handle === 0;
  }

  /** A's rows this rank holds: [start, end), s = ceil(n / size) rows per rank. */
  rowRange(n: number): { start: number; end: number } {
    checkInteger(n, "n", 1);
    const s = Math.ceil(n / this.size);
    return { start: Math.min(this.rank * s, n), end: Math.min((this.rank + 1) * s, n) };
  }

  /** An n x n matrix's rows for this rank, zeroed. */
  allocRows<D extends DType = "float64">(n: number, dtype: D = "float64" as D): MpRows<D> {
    dtypeInfo(dtype);
    const { start, end } = this.rowRange(n);
    return { n, dtype, data: allocHost(dtype, (end - start) * n) };
  }

  /** Solves A X = B with rank 0's B (n x nrhs row-major; every rank passes an array of that
   * shape) and returns X on every rank. A is unchanged. */
  potrs<D extends DType>(A: MpRows<D>, B: StorageOf<D>, options?: MpGridOptions | null): StorageOf<D> {
    const matrix = this.#matrix(A);
    const nrhs = rhsCount(B, A.n, A.dtype);
    const X = B.slice() as StorageOf<D>;
    check(native().bunmg_mp_potrs(this.#alive(), matrix, encodeOptions(options), X, nrhs), "bunmg_mp_potrs");
    return X;
  }

  /** Solves A X = B for a general A (every element read) by LU with partial pivoting; B as
   * potrs's. A is unchanged; a singular A throws SINGULAR naming the zero pivot. */
  getrs<D extends DType>(A: MpRows<D>, B: StorageOf<D>, options?: MpGridOptions | null): StorageOf<D> {
    const matrix = this.#matrix(A);
    const nrhs = rhsCount(B, A.n, A.dtype);
    const X = B.slice() as StorageOf<D>;
    check(native().bunmg_mp_getrs(this.#alive(), matrix, encodeOptions(options), X, nrhs), "bunmg_mp_getrs");
    return X;
  }

  /** The least squares solution X (n x nrhs) of min ||A X - B|| for this rank's rows of an
   * m x n A (m >= n, full column rank) and rank 0's B (m x nrhs row-major; every rank passes an
   * array of that shape). A is unchanged. */
  gels<D extends DType>(A: MpTallRows<D>, B: StorageOf<D>, options?: MpGridOptions | null): StorageOf<D> {
    const { m, n } = this.#tall(A);
    const matrix = this.#matrixOf(A, m, n, "A");
    const nrhs = rhsCount(B, m, A.dtype);
    const X = B.slice() as StorageOf<D>;
    check(native().bunmg_mp_gels(this.#alive(), matrix, encodeOptions(options), X, nrhs), "bunmg_mp_gels");
    return X.slice(0, n * nrhs * DTYPES[A.dtype].components) as StorageOf<D>;
  }

  /** The thin SVD A = U diag(s) V^H of this rank's rows of an m x n A (m >= n): the singular
   * values on every rank and, by default, U into A (this rank's rows) and this rank's rows of V. */
  gesvd<D extends DType>(A: MpTallRows<D>, gesvdOptions?: MpGesvdOptions | null): MpGesvdResult<D> {
    const o = optionsOf(gesvdOptions);
    const vectors = o.vectors ?? true;
    if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
    const { m, n } = this.#tall(A);
    const matrix = this.#matrixOf(A, m, n, "A");
    const values = allocHost(DTYPES[A.dtype].real, n) as StorageOf<RealOf<D>>;
    const V = vectors ? this.allocRows(n, A.dtype) : undefined;
    const flags = vectors ? EIG.vectors : 0;
    const vMatrix = V ? this.#matrix(V, "V") : undefined;
    check(native().bunmg_mp_gesvd(this.#alive(), matrix, encodeOptions(o), flags, values, vMatrix ? ptr(vMatrix) : null), "bunmg_mp_gesvd");
    return V ? { values, V } : { values };
  }

  /** A Cholesky factor of A (A is unchanged). */
  cholesky<D extends DType>(A: MpRows<D>, options?: MpGridOptions | null): MpFactor<D, MpWorld> {
    const matrix = this.#matrix(A);
    const out = new BigUint64Array(1);
    check(native().bunmg_mp_cholesky(this.#alive(), matrix, encodeOptions(options), out), "bunmg_mp_cholesky");
    const factor = new MpFactor<D, MpWorld>(this, A.n, A.dtype, readPointer(out));
    this.#factors.add(factor);
    return factor;
  }

  /** A becomes its inverse (this rank's rows, in A.data). */
  potri<D extends DType>(A: MpRows<D>, options?: MpGridOptions | null): MpRows<D> {
    check(native().bunmg_mp_potri(this.#alive(), this.#matrix(A), encodeOptions(options)), "bunmg_mp_potri");
    return A;
  }

  /** Eigenvalues on every rank and, by default, eigenvectors into A (this rank's rows of the
   * eigenvector matrix: column k is the eigenvector of value k, or row k with `rows`). */
  syevd<D extends DType>(A: MpRows<D>, syevdOptions?: MpSyevdOptions | null): MpSyevdResult<D> {
    const o = optionsOf(syevdOptions);
    const matrix = this.#matrix(A);
    const values = allocHost(DTYPES[A.dtype].real, A.n) as StorageOf<RealOf<D>>;
    check(native().bunmg_mp_syevd(this.#alive(), matrix, encodeOptions(o), eigenFlags(o), values), "bunmg_mp_syevd");
    return { values };
  }

  /** The generalized eigenproblem A x = w B x (A, B Hermitian, B positive definite, both this
   * rank's rows): eigenvalues on every rank and, by default, eigenvectors into A as syevd's,
   * normalized V^H B V = I. B is unchanged. */
  sygvd<D extends DType>(A: MpRows<D>, B: MpRows<D>, syevdOptions?: MpSyevdOptions | null): MpSyevdResult<D> {
    const o = optionsOf(syevdOptions);
    const flags = eigenFlags(o);
    const matrix = this.#matrix(A);
    const second = this.#matrix(B, "B");
    if (B.n !== A.n || B.dtype !== A.dtype) throw invalid(`B must be ${A.n} x ${A.n} ${A.dtype} like A, got ${B.n} x ${B.n} ${B.dtype}`);
    const values = allocHost(DTYPES[A.dtype].real, A.n) as StorageOf<RealOf<D>>;
    check(native().bunmg_mp_sygvd(this.#alive(), matrix, second, encodeOptions(o), flags, values), "bunmg_mp_sygvd");
    return { values };
  }

  /** This rank's buffer (gridCapacity(grid) elements of elementBytes) from the row layout to the
   * grid layout or back, over MPI (collective; every rank passes the same grid). */
  redistribute(grid: GridShape, buffer: ArrayBufferView, options: { elementBytes: number; direction: "toGrid" | "toRows" }): void {
    const elementBytes = checkInteger(options?.elementBytes, "elementBytes", 1, 1024);
    if (options.direction !== "toGrid" && options.direction !== "toRows") throw invalid(`direction must be "toGrid" or "toRows", got ${describe(options.direction)}`);
    const need = gridCapacity(grid) * elementBytes;
    if (!ArrayBuffer.isView(buffer) || buffer.byteLength < need) throw invalid(`buffer must be a view of at least ${need} bytes, got ${describe(buffer)}`);
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const flags = options.direction === "toRows" ? GRID_FLAGS.toRows : 0;
    check(native().bunmg_mp_redistribute(this.#alive(), encodeGrid(grid), bytes, elementBytes, flags), "bunmg_mp_redistribute");
  }

  /** For tests: `fault` at this rank's n-th event of its kind from now (n < 0: off). Returns
   * how many events of that kind this rank had since the previous call. */
  debugInject(fault: MpFault, n: number): number {
    if (!Object.hasOwn(MP_FAULT, fault) || fault === ("none" as string)) throw invalid(`fault must be one of ${Object.keys(MP_FAULT).slice(1).join(", ")}, got ${describe(fault)}`);
    const events = new BigInt64Array(1);
    check(native().bunmg_mp_debug_inject(this.#alive(), MP_FAULT[fault], checkInteger(n, "n", -1), events), "bunmg_mp_debug_inject");
    return Number(events[0]);
  }

  /** Frees the handle and its factors (not collective). Idempotent. */
  leave(): void {
    if (this.#handle === 0) return;
    for (const f of [...this.#factors]) f[RELEASE]("its MpWorld left");
    const handle = asPointer(this.#handle);
    this.#handle = 0;
    check(native().bunmg_mp_leave(handle), "bunmg_mp_leave");
  }

  dispose(): void {
    this.leave();
  }

  [Symbol.dispose](): void {
    this.leave();
  }

  toString(): string {
    return `MpWorld(rank ${this.rank} of ${this.size}${this.left ? ", left" : ""})`;
  }

  /** @internal a factor disposed by its own dispose() */
  [UNTRACK](factor: MpFactor): void {
    this.#factors.delete(factor);
  }

  #alive(): Pointer {
    if (this.#handle === 0) throw disposed(`${this} is no longer usable: it left`);
    return asPointer(this.#handle);
  }

  /** The bunmg_matrix of this rank's rows. */
  #matrix(A: MpRows, name = "A"): Uint8Array {
    if (typeof A !== "object" || A === null) throw invalid(`${name} must be { n, dtype, data }, got ${describe(A)}`);
    const n = checkInteger(A.n, `${name}.n`, 1);
    return this.#matrixOf(A, n, n, name);
  }

  /** A's shape, m >= n. */
  #tall(A: MpTallRows): { m: number; n: number } {
    if (typeof A !== "object" || A === null) throw invalid(`A must be { m, n, dtype, data }, got ${describe(A)}`);
    const m = checkInteger(A.m, "A.m", 1);
    const n = checkInteger(A.n, "A.n", 1);
    if (n > m) throw invalid(`A must have m >= n, got ${m} x ${n}`);
    return { m, n };
  }

  /** The bunmg_matrix of this rank's rows of an m x n matrix. */
  #matrixOf(A: { dtype: DType; data: StorageOf<DType> }, m: number, n: number, name: string): Uint8Array {
    const info = dtypeInfo(A.dtype);
    const { start, end } = this.rowRange(m);
    checkArray(A.data, A.dtype, (end - start) * n, `this rank's rows (${end - start}) * n`, `${name}.data`);
    const bytes = new Uint8Array(MATRIX.bytes);
    const v = new DataView(bytes.buffer);
    v.setBigInt64(MATRIX.offset.rows, BigInt(m), true);
    v.setBigInt64(MATRIX.offset.cols, BigInt(n), true);
    v.setBigInt64(MATRIX.offset.capacity, BigInt(end - start), true);
    v.setInt32(MATRIX.offset.dtype, info.code, true);
    v.setInt32(MATRIX.offset.layout, LAYOUT.rows, true);
    v.setBigUint64(MATRIX.offset.shards, end > start ? BigInt(ptr(A.data)) : 0n, true);
    return bytes;
  }
}

/** The BUNMG_EIG_* flags of syevd's and sygvd's options. */
function eigenFlags(o: MpSyevdOptions): number {
  const vectors = o.vectors ?? true;
  const rows = o.rows ?? false;
  if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
  if (typeof rows !== "boolean") throw invalid(`rows must be a boolean, got ${describe(rows)}`);
  return (vectors ? EIG.vectors : 0) | (rows ? EIG.rows : 0);
}

/** BUNMG_TIMEOUT_MS, which `bunmg launch` sets from --timeout-ms. */
function envTimeout(): number | undefined {
  const text = process.env.BUNMG_TIMEOUT_MS;
  return text ? checkInteger(Number(text), "BUNMG_TIMEOUT_MS", 1) : undefined;
}
