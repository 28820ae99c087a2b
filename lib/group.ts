// Group: one rank of a job whose ranks (Bun Workers: runSpmd; processes: `bunmg launch`) each own
// one device and their row shard of an n x n matrix. The collective routines run the sharded
// solvers over every rank's shard: rank 0 runs them with every rank's pointer while the others
// wait, and every rank gets the same outcome (csrc/include/bunmg.h, "groups"). Every rank must
// call the same routines in the same order, with the same n, dtype and options.
import type { Pointer } from "bun:ffi";
import { allocHost, checkArrayType, DTYPES, dtypeInfo, elementCount, type DType, type RealOf, type StorageOf } from "./dtypes.ts";
import { EIG, GROUP_MODE, JOB_MAX, LAYOUT, MATRIX, MAX_DEVICES, SECRET_MAX } from "./abi.ts";
import { disposed, invalid } from "./errors.ts";
import { HANDLE, RELEASE, STRUCT, TRACK, UNTRACK, type MeshResource } from "./internal.ts";
import { cudaDeviceCount, Mesh, type Backend } from "./mesh.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { shardCapacity, shardCapacityUpTo, type RandomOptions } from "./sharded.ts";
import type { SyevdOptions, TileOptions } from "./solvers.ts";
import { defaultTileSize, MAX_TILE, type Routine } from "./tiles.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

/** "threads": the ranks are Bun Workers of one process (SPMD); "processes": one process per
 * rank (MPMD). */
export type GroupMode = "threads" | "processes";

/** Default bound of every wait for another rank. */
export const DEFAULT_GROUP_TIMEOUT_MS = 60_000;

export interface GroupOptions {
  mode: GroupMode;
  /** the job id shared by every rank: [A-Za-z0-9_-], 1..64 characters */
  job: string;
  /** this launch's secret ([A-Za-z0-9_-], 1..128 characters), the same on every rank of the
   * launch (runSpmd and `bunmg launch` make one per launch). A rank joins only the group of its
   * own secret: while another launch of the job id holds it, it waits for it to be free. Without
   * one, the job id alone says who belongs together. */
  secret?: string | undefined;
  rank: number;
  size: number;
  /** default: "cuda" when a GPU is visible, else "host" */
  backend?: Backend | undefined;
  /** this rank's CUDA device (default: the rank); ignored by the host backend */
  device?: number | undefined;
  /** bound of every wait for another rank, in ms (default 60 s). Rank 0's solver itself is
   * not bounded, only its liveness is watched. */
  timeoutMs?: number | undefined;
}

/** tileSize: rows per tile of the cyclic layout (default: defaultTileSize(routine, dtype, n)), the
 * same on every rank. */
export type GroupTileOptions = Pick<TileOptions, "tileSize">;
/** As syevd's: tileSize, vectors (default true), rows (eigenvector k as row k). */
export type GroupSyevdOptions = Pick<SyevdOptions, "tileSize" | "vectors" | "rows">;

export interface GroupSyevdResult<D extends DType> {
  /** all n eigenvalues, ascending, on every rank */
  values: StorageOf<RealOf<D>>;
  /** A itself: this rank's rows of the eigenvector matrix */
  vectors?: GroupShard<D>;
}

export interface ShardOptions<D extends DType> {
  /** default float64 */
  dtype?: D;
  /** room for this tile's cyclic layout (default: the default tiles of potrs, potri and syevd) */
  tileSize?: number;
}

const JOB_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${JOB_MAX}}$`);
const SECRET_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${SECRET_MAX}}$`);

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A fresh random job id: 16 hex digits. */
export function newJobId(): string {
  return randomHex(8);
}

/** @internal a fresh launch secret: 32 hex digits */
export function newSecret(): string {
  return randomHex(16);
}

/** A job id as given, or INVALID_ARGUMENT naming the rule. */
export function checkJob(job: unknown): string {
  if (typeof job !== "string" || !JOB_PATTERN.test(job)) {
    throw invalid(`job id must be 1..${JOB_MAX} characters of [A-Za-z0-9_-], got ${describe(job)}`);
  }
  return job;
}

/** @internal a launch secret, or "" for none; never quoted back in a message */
export function checkSecret(secret: unknown, what = "secret"): string {
  if (secret === undefined) return "";
  if (typeof secret !== "string" || !SECRET_PATTERN.test(secret)) {
    throw invalid(`${what} must be 1..${SECRET_MAX} characters of [A-Za-z0-9_-], got ${typeof secret === "string" ? `${secret.length} characters` : describe(secret)}`);
  }
  return secret;
}

function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

export interface SweepOptions {
  /** only this job's entries */
  job?: string;
  /** with force: only the segments of this launch */
  secret?: string;
  /** every segment of `job` whatever its owner (only once all of its ranks have exited) */
  force?: boolean;
}

/** Removes this user's /dev/shm/bunmg-* entries that are garbage (not a complete segment: a
 * FIFO, a link, an empty or truncated file) or whose owner process is gone (only `job`'s with a
 * job id); with `force`, every segment of `job` (of the launch of `secret`, when given). Never
 * blocks. Returns how many were removed. Every group's rank 0 does the first kind when it
 * starts. */
export function sweepSharedMemory(options?: SweepOptions | null): number {
  const { job: jobOption, secret: secretOption, force } = optionsOf(options);
  const job = jobOption === undefined ? "" : checkJob(jobOption);
  const secret = checkSecret(secretOption);
  if (force && !job) throw invalid("a forced sweep needs a job id");
  const removed = new Int32Array(1);
  check(native().bunmg_shm_sweep(cString(job), cString(secret), force ? 1 : 0, removed), "bunmg_shm_sweep");
  return removed[0]!;
}

// struct bunmg_matrix: this rank's view of the matrix (tile 0, row layout).
function matrixView(n: number, capacity: number, dtypeCode: number, address: number): Uint8Array {
  const bytes = new Uint8Array(MATRIX.bytes);
  const v = new DataView(bytes.buffer);
  v.setBigInt64(MATRIX.offset.rows, BigInt(n), true);
  v.setBigInt64(MATRIX.offset.cols, BigInt(n), true);
  v.setBigInt64(MATRIX.offset.capacity, BigInt(capacity), true);
  v.setInt32(MATRIX.offset.dtype, dtypeCode, true);
  v.setInt32(MATRIX.offset.layout, LAYOUT.rows, true);
  v.setBigUint64(MATRIX.offset.shards, BigInt(address), true); // shards[0]
  return bytes;
}

/** One rank of a job (a Worker of runSpmd, or a process of `bunmg launch`): its device, its mesh
 * and its shards. Its routines are collective: every rank calls them in the same order with the
 * same n, dtype and options, and every rank gets the same outcome. leave() (or dispose) ends it. */
export class Group implements MeshResource {
  readonly mode: GroupMode;
  readonly job: string;
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  /** this rank's one-device mesh: shards and any other buffers of the rank live on it. Leaving
   * the group disposes it. */
  readonly mesh: Mesh;
  #handle: number;
  #left: string | undefined;
  readonly #shards = new Set<GroupShard>();

  private constructor(options: Pick<GroupOptions, "mode" | "job" | "rank" | "size"> & { timeoutMs: number }, mesh: Mesh, handle: number) {
    this.mode = options.mode;
    this.job = options.job;
    this.rank = options.rank;
    this.size = options.size;
    this.timeoutMs = options.timeoutMs;
    this.mesh = mesh;
    this.#handle = handle;
    mesh[TRACK](this);
  }

  /** Joins the job; returns once every rank has joined, or throws TIMEOUT (`device` = the first
   * rank missing) / PEER_LOST. */
  static join(options: GroupOptions): Group {
    if (typeof options !== "object" || options === null) throw invalid("group options must be an object");
    if (!Object.hasOwn(GROUP_MODE, options.mode)) throw invalid(`mode must be "threads" or "processes", got ${describe(options.mode)}`);
    const job = checkJob(options.job);
    const secret = checkSecret(options.secret);
    const size = checkInteger(options.size, "size", 1, MAX_DEVICES);
    const rank = checkInteger(options.rank, "rank", 0, size - 1);
    const timeoutMs = checkInteger(options.timeoutMs ?? DEFAULT_GROUP_TIMEOUT_MS, "timeoutMs", 1);
    const backend = options.backend ?? (cudaDeviceCount() > 0 ? "cuda" : "host");
    if (backend !== "host" && backend !== "cuda") throw invalid(`backend must be "host" or "cuda", got ${describe(backend)}`);
    const mesh = backend === "cuda" ? Mesh.cuda([checkInteger(options.device ?? rank, "device", 0)]) : Mesh.host(1);
    const out = new BigUint64Array(1);
    try {
      check(native().bunmg_group_join(GROUP_MODE[options.mode], cString(job), cString(secret), rank, size, mesh[HANDLE](), timeoutMs, out), "bunmg_group_join");
    } catch (e) {
      mesh.dispose();
      throw e;
    }
    return new Group({ mode: options.mode, job, rank, size, timeoutMs }, mesh, readPointer(out));
  }

  get backend(): Backend {
    return this.mesh.backend;
  }

  get left(): boolean {
    return this.#left !== undefined;
  }

  /** Rows each rank's shard needs for an n x n matrix and `tile` (bunmg_shard_capacity). */
  shardCapacity(n: number, tile: number): number {
    return shardCapacity(n, tile, this.size);
  }

  /** This rank's shard of an n x n matrix (uninitialized), with room for the cyclic layout of
   * every tile up to `tileSize` (default: the largest default tile at this size), the same
   * capacity ShardedMatrix gives its shards. */
  allocShard<D extends DType = "float64">(n: number, options?: ShardOptions<D> | null): GroupShard<D> {
    this.#alive();
    checkInteger(n, "n", 1);
    const { dtype = "float64" as D, tileSize } = optionsOf(options);
    const info = dtypeInfo(dtype);
    const capacity = shardCapacityUpTo(n, tileSize === undefined ? 0 : checkInteger(tileSize, "tileSize", 1), this.size, dtype);
    const out = new BigUint64Array(1);
    check(native().bunmg_group_alloc(this[HANDLE](), capacity * n * info.bytes, out), "bunmg_group_alloc");
    const shard = new GroupShard(this, n, dtype, capacity, readPointer(out));
    this.#shards.add(shard);
    return shard;
  }

  /** Fills A (every rank's rows) as ShardedMatrix.random does: the same seed gives the same
   * matrix as in single-process mode. */
  fillRandom<D extends DType>(A: GroupShard<D>, options?: RandomOptions | null): GroupShard<D> {
    this.#check(A);
    const { kind = "hpd", seed = 1 } = optionsOf(options);
    if (kind !== "hpd" && kind !== "uniform") throw invalid(`random kind must be "hpd" or "uniform", got ${String(kind)}`);
    checkInteger(seed, "seed", 0);
    check(native().bunmg_group_fill_random(this[HANDLE](), A[STRUCT](), kind === "hpd" ? 0 : 1, BigInt(seed)), "bunmg_group_fill_random");
    return A;
  }

  /** Solves A X = B with rank 0's B (n x nrhs row-major; every rank passes one of that shape)
   * and returns X, on every rank. A holds its Cholesky factor afterwards (in row layout). */
  potrs<D extends DType>(A: GroupShard<D>, B: StorageOf<D>, options?: GroupTileOptions | null): StorageOf<D> {
    const tile = this.#tile(A, "potrs", options);
    checkArrayType(B, A.dtype, "B");
    const elements = elementCount(B, A.dtype, "B");
    if (elements === 0 || elements % A.n !== 0) throw invalid(`B: expected a positive multiple of n = ${A.n} elements (n x nrhs, row-major), got ${elements}`);
    const X = B.slice() as StorageOf<D>;
    check(native().bunmg_group_potrs(this[HANDLE](), A[STRUCT](), tile, X, elements / A.n), "bunmg_group_potrs");
    return X;
  }

  /** A becomes its inverse (each rank: its rows). */
  potri<D extends DType>(A: GroupShard<D>, options?: GroupTileOptions | null): GroupShard<D> {
    const tile = this.#tile(A, "potri", options);
    check(native().bunmg_group_potri(this[HANDLE](), A[STRUCT](), tile), "bunmg_group_potri");
    return A;
  }

  /** Eigenvalues (on every rank) and, by default, eigenvectors (each rank: its rows of the
   * eigenvector matrix, in A). */
  syevd<D extends DType>(A: GroupShard<D>, syevdOptions?: GroupSyevdOptions | null): GroupSyevdResult<D> {
    const options = optionsOf(syevdOptions);
    const tile = this.#tile(A, "syevd", options);
    const vectors = options.vectors ?? true;
    const rows = options.rows ?? false;
    if (typeof vectors !== "boolean") throw invalid(`vectors must be a boolean, got ${describe(vectors)}`);
    if (typeof rows !== "boolean") throw invalid(`rows must be a boolean, got ${describe(rows)}`);
    const values = allocHost(DTYPES[A.dtype].real, A.n) as StorageOf<RealOf<D>>;
    const flags = (vectors ? EIG.vectors : 0) | (rows ? EIG.rows : 0);
    check(native().bunmg_group_syevd(this[HANDLE](), A[STRUCT](), tile, flags, values), "bunmg_group_syevd");
    return vectors ? { values, vectors: A } : { values };
  }

  /** Leaves the group (the other ranks' waits for this one fail with PEER_LOST), frees the
   * shards and disposes the mesh. Idempotent. */
  leave(): void {
    if (this.#left !== undefined) return;
    this.#left = "it left the group";
    this.mesh[UNTRACK](this);
    for (const shard of this.#shards) shard[RELEASE]("its group was left"); // the library frees them
    this.#shards.clear();
    const status = native().bunmg_group_leave(asPointer(this.#handle));
    this.#handle = 0;
    this.mesh.dispose();
    check(status, "bunmg_group_leave");
  }

  dispose(): void {
    this.leave();
  }

  [Symbol.dispose](): void {
    this.leave();
  }

  toString(): string {
    return `Group(job ${this.job}, rank ${this.rank} of ${this.size}, ${this.mode}, ${this.backend}${this.left ? ", left" : ""})`;
  }

  /** @internal the native handle. */
  [HANDLE](): Pointer {
    this.#alive();
    return asPointer(this.#handle);
  }

  /** @internal disposing the mesh leaves the group first. */
  [RELEASE](): void {
    this.leave();
  }

  /** @internal a shard freed by its own dispose() */
  [UNTRACK](shard: GroupShard): void {
    this.#shards.delete(shard);
  }

  #alive(): void {
    if (this.#left !== undefined) throw disposed(`${this} is no longer usable: ${this.#left}`);
  }

  #check(A: unknown): asserts A is GroupShard {
    this.#alive();
    if (!(A instanceof GroupShard)) throw invalid(`A must be a GroupShard, got ${describe(A)}`);
    if (A.group !== this) throw invalid(`A belongs to ${A.group}, not ${this}`);
    if (A.disposed) throw disposed(`${A} was disposed`);
  }

  #tile(A: GroupShard, routine: Routine, options: GroupTileOptions | null | undefined): number {
    this.#check(A);
    return checkInteger(optionsOf(options).tileSize ?? defaultTileSize(routine, A.dtype, A.n), "tileSize", 1, MAX_TILE[routine]);
  }

}

/** This rank's shard of an n x n matrix: global rows [start, end) at the start of a buffer of
 * `capacity` rows on the rank's device. */
export class GroupShard<D extends DType = DType> {
  readonly group: Group;
  readonly n: number;
  readonly dtype: D;
  readonly capacity: number;
  readonly start: number;
  readonly end: number;
  #address: number;
  #released: string | undefined;
  readonly #view: Uint8Array;

  /** @internal use group.allocShard */
  constructor(group: Group, n: number, dtype: D, capacity: number, address: number) {
    this.group = group;
    this.n = n;
    this.dtype = dtype;
    this.capacity = capacity;
    const s = Math.ceil(n / group.size);
    this.start = Math.min(group.rank * s, n);
    this.end = Math.min((group.rank + 1) * s, n);
    this.#address = address;
    this.#view = matrixView(n, capacity, DTYPES[dtype].code, address);
  }

  /** Rows this rank holds. */
  get rows(): number {
    return this.end - this.start;
  }

  get disposed(): boolean {
    return this.#released !== undefined;
  }

  /** The buffer's device address (host address on the host backend). */
  get pointer(): number {
    this.#alive();
    return this.#address;
  }

  /** Writes this rank's rows from `data`: either just those rows (rows * n elements) or the
   * whole n x n matrix (row-major), whose rows [start, end) are taken. */
  copyFromHost(data: StorageOf<D>): this {
    this.#alive();
    checkArrayType(data, this.dtype, "data");
    const count = elementCount(data, this.dtype, "data");
    const values = this.n * DTYPES[this.dtype].components;
    let rows = data;
    if (count === this.n * this.n && this.rows !== this.n) rows = data.subarray(this.start * values, this.end * values) as StorageOf<D>;
    else if (count !== this.rows * this.n) throw invalid(`data: expected this rank's ${this.rows} rows (${this.rows * this.n} elements) or the whole ${this.n} x ${this.n} matrix, got ${count} elements`);
    if (rows.length === 0) return this;
    check(native().bunmg_copy_to_device(this.group.mesh[HANDLE](), 0, asPointer(this.#address), rows, rows.byteLength), "bunmg_copy_to_device");
    return this;
  }

  /** This rank's rows, as a new host array (rows * n elements, row-major). */
  toHost(): StorageOf<D> {
    this.#alive();
    const out = allocHost(this.dtype, this.rows * this.n);
    if (out.length > 0) check(native().bunmg_copy_to_host(this.group.mesh[HANDLE](), 0, out, asPointer(this.#address), out.byteLength), "bunmg_copy_to_host");
    return out;
  }

  /** Frees the buffer. Idempotent. */
  dispose(): void {
    if (this.#released !== undefined) return;
    this.#released = "it was disposed";
    this.group[UNTRACK](this);
    check(native().bunmg_group_free(this.group[HANDLE](), asPointer(this.#address)), "bunmg_group_free");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `GroupShard(rows ${this.start}..${this.end} of ${this.n} x ${this.n} ${this.dtype}, rank ${this.group.rank})`;
  }

  /** @internal the bunmg_matrix this rank passes to the collective routines. */
  [STRUCT](): Uint8Array {
    this.#alive();
    return this.#view;
  }

  /** @internal marks the buffer gone (the group freed it). */
  [RELEASE](reason: string): void {
    this.#released ??= reason;
  }

  #alive(): void {
    if (this.#released !== undefined) throw disposed(`${this} is no longer usable: ${this.#released}`);
  }
}
