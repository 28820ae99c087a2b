// ShardedMatrix: a rows x cols row-major matrix split by rows over a mesh. Position d holds the
// rows rowRange(d) (possibly none) at the start of its shard. The same shards also hold the
// cyclic layout cuSOLVERMg needs (tile k of T rows on position k % G at local tile slot
// floor(k / G)), so each shard has room for `capacity` rows. The layout arithmetic is
// libbunmg's (bunmg_row_range, bunmg_tile_location, bunmg_shard_capacity*); this module asks.
import type { Pointer } from "bun:ffi";
import { LAYOUT, MATRIX, MAX_DEVICES, MAX_EXTENT, STATUS } from "./abi.ts";
import { DeviceBuffer, outOfMemory } from "./buffer.ts";
import { allocHost, checkArray, dtypeInfo, DTYPES, inferDType, type DType, type StorageOf } from "./dtypes.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { ENSURE_CAPACITY, HANDLE, ON_WRITE, RUN, STRUCT } from "./internal.ts";
import { checkMesh, checkPosition, type Mesh } from "./mesh.ts";
import { check, native, nativeError } from "./native.ts";
import { checkInteger, optionsOf } from "./validate.ts";

export type Layout = "rows" | "cyclic";

export interface MatrixShape<D extends DType = DType> {
  rows: number;
  cols: number;
  /** default: from the data's array type (fromHost), float64 (alloc) */
  dtype?: D;
  /** shards get room for the cyclic layout of every tile size up to this (default: the largest
   * default tile of any routine at this size); a larger tile later costs a reallocation, and
   * each unit of maxTile costs a row of slack per device */
  maxTile?: number;
}

export interface RandomOptions {
  /** "hpd": Hermitian positive definite (default); "uniform": components in [-1, 1) */
  kind?: "hpd" | "uniform";
  /** a non-negative integer (default 1) */
  seed?: number;
}

/** Rows a shard needs for row layout and the cyclic layout of exactly `tile`. */
export function shardCapacity(rows: number, tile: number, devices: number): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_shard_capacity(rows, tile, devices, out), "bunmg_shard_capacity");
  return Number(out[0]);
}

/** Rows a shard needs for row layout and the cyclic layout of every tile in 1..maxTile (0: the
 * largest default tile at this size): the capacity of matrices and group shards alike. */
export function shardCapacityUpTo(rows: number, maxTile: number, devices: number, dtype: DType): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_shard_capacity_upto(rows, maxTile, devices, dtypeInfo(dtype).code, out), "bunmg_shard_capacity_upto");
  return Number(out[0]);
}

/** Global rows [start, end) that `position` of `devices` holds in row layout. */
export function rowRange(rows: number, devices: number, position: number): [start: number, end: number] {
  const start = new BigInt64Array(1);
  const end = new BigInt64Array(1);
  check(native().bunmg_row_range(rows, devices, position, start, end), "bunmg_row_range");
  return [Number(start[0]), Number(end[0])];
}

/** Where global tile k of the cyclic layout lives: [position, first local row]. */
function tileLocation(rows: number, tile: number, devices: number, k: number): [position: number, row: number] {
  const position = new Int32Array(1);
  const row = new BigInt64Array(1);
  check(native().bunmg_tile_location(rows, tile, devices, k, position, row), "bunmg_tile_location");
  return [position[0]!, Number(row[0])];
}

/** A rows x cols row-major matrix split by rows over a mesh (position d holds rowRange(d)), whose
 * shards have room for the cyclic layout the multi path needs (`capacity` rows each). `layout`
 * says which layout the shards hold now; the solvers take it in row layout. */
export class ShardedMatrix<D extends DType = DType> {
  readonly mesh: Mesh;
  readonly rows: number;
  readonly cols: number;
  readonly dtype: D;
  #shards: DeviceBuffer<D>[];
  // The bunmg_matrix the library reads and updates: the source of truth for layout, tile and
  // generation.
  readonly #struct = new Uint8Array(MATRIX.bytes);
  readonly #view = new DataView(this.#struct.buffer);
  #disposedReason: string | undefined;
  #lost: string | undefined;

  private constructor(mesh: Mesh, rows: number, cols: number, dtype: D, shards: DeviceBuffer<D>[], capacity: number) {
    this.mesh = mesh;
    this.rows = rows;
    this.cols = cols;
    this.dtype = dtype;
    this.#shards = shards;
    const v = this.#view;
    v.setBigInt64(MATRIX.offset.rows, BigInt(rows), true);
    v.setBigInt64(MATRIX.offset.cols, BigInt(cols), true);
    v.setBigInt64(MATRIX.offset.capacity, BigInt(capacity), true);
    v.setInt32(MATRIX.offset.dtype, DTYPES[dtype].code, true);
    v.setInt32(MATRIX.offset.layout, LAYOUT.rows, true);
    this.#adopt();
  }

  /** An uninitialized matrix. */
  static alloc<D extends DType = "float64">(mesh: Mesh, shape: MatrixShape<D>): ShardedMatrix<D> {
    checkMesh(mesh);
    const { rows, cols, maxTile } = checkShape(shape); // first: shape may be no object at all
    const dtype = (shape.dtype ?? "float64") as D;
    dtypeInfo(dtype);
    const capacity = shardCapacityUpTo(rows, maxTile, mesh.size, dtype);
    const shards: DeviceBuffer<D>[] = [];
    try {
      for (let d = 0; d < mesh.size; d++) shards.push(DeviceBuffer.alloc(mesh, d, dtype, capacity * cols));
    } catch (e) {
      for (const s of shards) s.dispose();
      throw e;
    }
    return new ShardedMatrix(mesh, rows, cols, dtype, shards, capacity);
  }

  /** A matrix generated where its shards live, with no host copy: `hpd` (the default) is
   * Hermitian positive definite (square only), `uniform` has components uniform in [-1, 1).
   * The same seed gives the same matrix on every backend and mesh. */
  static random<D extends DType = "float64">(mesh: Mesh, shape: MatrixShape<D>, options?: RandomOptions | null): ShardedMatrix<D> {
    const matrix = ShardedMatrix.alloc(mesh, shape);
    try {
      return matrix.fillRandom(options);
    } catch (e) {
      matrix.dispose();
      throw e;
    }
  }

  /** Overwrites the matrix (row layout) as ShardedMatrix.random does. */
  fillRandom(options?: RandomOptions | null): this {
    this.#usable();
    const { kind = "hpd", seed = 1 } = optionsOf(options);
    if (kind !== "hpd" && kind !== "uniform") throw invalid(`random kind must be "hpd" or "uniform", got ${String(kind)}`);
    checkInteger(seed, "seed", 0);
    if (this.layout !== "rows") throw invalid(`${this} must be in row layout to be filled`);
    this[RUN]((mesh, m) => native().bunmg_fill_random(mesh, m, kind === "hpd" ? 0 : 1, BigInt(seed)), "bunmg_fill_random");
    return this;
  }

  /** A matrix holding a copy of `data` (rows x cols, row-major; complex interleaved). */
  static fromHost(mesh: Mesh, data: Float32Array, shape: MatrixShape<"float32">): ShardedMatrix<"float32">;
  static fromHost(mesh: Mesh, data: Float64Array, shape: MatrixShape<"float64">): ShardedMatrix<"float64">;
  static fromHost<D extends DType>(mesh: Mesh, data: StorageOf<D>, shape: MatrixShape<D> & { dtype: D }): ShardedMatrix<D>;
  static fromHost(mesh: Mesh, data: Float32Array | Float64Array, shape: MatrixShape): ShardedMatrix {
    const { rows, cols } = checkShape(shape);
    const dtype = shape.dtype ?? inferDType(data, "data");
    checkArray(data, dtype, rows * cols, "rows*cols", "data");
    const m = ShardedMatrix.alloc(mesh, { ...shape, dtype });
    try {
      const values = cols * DTYPES[dtype].components;
      for (let d = 0; d < mesh.size; d++) {
        const [start, end] = m.rowRange(d);
        if (end > start) m.#shards[d]!.copyFromHost(data.subarray(start * values, end * values));
      }
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }

  /** Rows per shard in row layout (position 0 holds this many). */
  get shardRows(): number {
    const [start, end] = rowRange(this.rows, this.mesh.size, 0);
    return end - start;
  }

  /** Rows each shard buffer can hold. */
  get capacity(): number {
    return Number(this.#view.getBigInt64(MATRIX.offset.capacity, true));
  }

  get layout(): Layout {
    return this.#view.getInt32(MATRIX.offset.layout, true) === LAYOUT.cyclic ? "cyclic" : "rows";
  }

  /** Rows per tile in the cyclic layout; undefined in row layout. */
  get tileSize(): number | undefined {
    return this.layout === "cyclic" ? Number(this.#view.getBigInt64(MATRIX.offset.tile, true)) : undefined;
  }

  /** Bumped by every change of the shards' contents; factors check it (a changed matrix
   * invalidates its factors). */
  get generation(): bigint {
    return this.#view.getBigUint64(MATRIX.offset.generation, true);
  }

  /** The shard buffers, one per mesh position, each `capacity * cols` elements. Writing into
   * them counts as a change of the matrix. */
  get shards(): readonly DeviceBuffer<D>[] {
    this.#alive();
    return Object.freeze([...this.#shards]);
  }

  get disposed(): boolean {
    return this.#disposedReason !== undefined || this.mesh.disposed;
  }

  /** Global rows [start, end) that `position` holds in row layout. */
  rowRange(position: number): [start: number, end: number] {
    checkPosition(this.mesh, position, "position");
    return rowRange(this.rows, this.mesh.size, position);
  }

  /** A host copy (rows x cols, row-major), read from whichever layout the matrix is in. */
  toHost(out?: StorageOf<D>): StorageOf<D> {
    this.#usable();
    const values = this.cols * DTYPES[this.dtype].components;
    const target = out === undefined ? allocHost(this.dtype, this.rows * this.cols) : checkArray(out, this.dtype, this.rows * this.cols, "rows*cols", "out");
    const rowsOf = (start: number, end: number) => target.subarray(start * values, end * values) as StorageOf<D>;
    const tile = this.tileSize;
    if (tile === undefined) {
      for (let d = 0; d < this.mesh.size; d++) {
        const [start, end] = this.rowRange(d);
        if (end > start) this.#shards[d]!.copyToHost(rowsOf(start, end), 0);
      }
    } else {
      // Tile k (rows kT .. kT+T-1) is contiguous on both sides: one copy per tile.
      for (let k = 0, start = 0; start < this.rows; k++, start += tile) {
        const [position, local] = tileLocation(this.rows, tile, this.mesh.size, k);
        this.#shards[position]!.copyToHost(rowsOf(start, Math.min(start + tile, this.rows)), local * this.cols);
      }
    }
    return target;
  }

  /** Moves the data in place into the cyclic layout of `tile` rows per tile. On failure the
   * matrix is back in the layout it started in. */
  toCyclic(tile: number): this {
    this.#usable();
    checkInteger(tile, "tile size", 1, MAX_EXTENT);
    if (this.layout === "cyclic" && this.tileSize === tile) return this;
    const need = shardCapacity(this.rows, tile, this.mesh.size);
    if (need <= this.capacity) {
      // libbunmg moves cyclic to cyclic through row layout and back on failure.
      this[RUN]((mesh, m) => native().bunmg_to_cyclic(mesh, m, tile), "bunmg_to_cyclic");
      return this;
    }
    // The shards must grow first, which they can only in row layout.
    this.#checkRoom(need, `toCyclic(${tile})`);
    const old = this.tileSize;
    if (old !== undefined) this.fromCyclic();
    try {
      this[ENSURE_CAPACITY](tile);
      this[RUN]((mesh, m) => native().bunmg_to_cyclic(mesh, m, tile), "bunmg_to_cyclic");
    } catch (e) {
      if (old !== undefined && this.layout === "rows" && this.#lost === undefined) {
        try {
          this.toCyclic(old);
        } catch {
          // the first failure is the one to report; `layout` says where the matrix is
        }
      }
      throw e;
    }
    return this;
  }

  /** Moves the data in place back to row shards. */
  fromCyclic(): this {
    this.#usable();
    if (this.layout === "rows") return this;
    this[RUN]((mesh, m) => native().bunmg_to_rows(mesh, m), "bunmg_to_rows");
    return this;
  }

  /** Frees the shards. Idempotent. */
  dispose(): void {
    if (this.#disposedReason !== undefined) return;
    this.#disposedReason = "it was disposed";
    let first: unknown;
    for (const s of this.#shards) {
      try {
        s.dispose();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    const layout = this.layout === "cyclic" ? `cyclic, tile ${this.tileSize}` : "rows";
    return `ShardedMatrix(${this.rows} x ${this.cols} ${this.dtype}, ${layout}, over ${this.mesh})`;
  }

  /** @internal the bunmg_matrix bytes, checked usable. */
  [STRUCT](): Uint8Array {
    this.#usable();
    return this.#struct;
  }

  /** @internal Runs a native call on this matrix. The library records the layout it left in the
   * struct (also on failure), which the getters read; LAYOUT_LOST marks the matrix unusable. */
  [RUN](call: (mesh: Pointer, matrix: Uint8Array) => number, what: string): void {
    this.#usable();
    const status = call(this.mesh[HANDLE](), this.#struct);
    if (status === 0) return;
    const error = nativeError(status, what);
    if (status === STATUS.LAYOUT_LOST) this.#lost = error.message;
    throw error;
  }

  /** @internal Makes room for the cyclic layout of `tile`. Shards are allocated for every tile
   * up to `maxTile`; a larger tile reallocates them here: each shard in turn is copied into a
   * larger buffer (a full copy of the matrix, and one extra shard's memory at a time). Only in
   * row layout, where each shard holds just its own rows. */
  [ENSURE_CAPACITY](tile: number): void {
    this.#usable();
    const need = shardCapacity(this.rows, tile, this.mesh.size);
    if (need <= this.capacity) return;
    if (this.layout !== "rows") throw invalid(`cannot grow the shards of ${this} while in the cyclic layout`);
    for (let d = 0; d < this.mesh.size; d++) {
      const old = this.#shards[d]!;
      if (old.length >= need * this.cols) continue; // grown by an earlier, interrupted attempt
      const grown = DeviceBuffer.alloc(this.mesh, d, this.dtype, need * this.cols);
      try {
        const [start, end] = this.rowRange(d);
        if (end > start) grown.copyFrom(old, { length: (end - start) * this.cols });
      } catch (e) {
        grown.dispose();
        throw e;
      }
      // Until every shard has grown, `capacity` keeps the old value, which each buffer still
      // satisfies, so a failure part way leaves a consistent matrix.
      this.#shards[d] = grown;
      this.#adopt();
      old.dispose();
    }
    this.#view.setBigInt64(MATRIX.offset.capacity, BigInt(need), true);
  }

  /** Writes the shard pointers into the struct, and makes writes into the shards count as
   * changes of the matrix. */
  #adopt(): void {
    for (let d = 0; d < MAX_DEVICES; d++) {
      const shard = this.#shards[d];
      if (shard) shard[ON_WRITE] = () => this.#changed();
      this.#view.setBigUint64(MATRIX.offset.shards + 8 * d, BigInt(shard?.pointer ?? 0), true);
    }
    this.#changed();
  }

  #changed(): void {
    this.#view.setBigUint64(MATRIX.offset.generation, this.generation + 1n, true);
  }

  /** OUT_OF_MEMORY before anything moves when shards of `rows` rows cannot be allocated. */
  #checkRoom(rows: number, what: string): void {
    const bytes = rows * this.cols * DTYPES[this.dtype].bytes;
    for (let d = 0; d < this.mesh.size; d++) {
      const { free } = this.mesh.memory(d);
      if (!(bytes <= free)) throw outOfMemory(this.mesh, d, bytes, `${what}: shards of ${rows} rows`);
    }
  }

  #alive(): void {
    if (this.mesh.disposed) throw disposed(`ShardedMatrix(${this.rows} x ${this.cols} ${this.dtype}) is no longer usable: its mesh was disposed`);
    if (this.#disposedReason !== undefined) {
      throw disposed(`ShardedMatrix(${this.rows} x ${this.cols} ${this.dtype}) is no longer usable: ${this.#disposedReason}`);
    }
    for (const [d, s] of this.#shards.entries()) {
      if (s.disposed) throw disposed(`${this} is no longer usable: its shard ${d} was disposed`);
    }
  }

  #usable(): void {
    this.#alive();
    if (this.#lost !== undefined) {
      throw new BunmgError("LAYOUT_LOST", `${this} lost its contents in a failed redistribution (${this.#lost}); dispose it`);
    }
  }
}

function checkShape(shape: MatrixShape): { rows: number; cols: number; maxTile: number } {
  if (typeof shape !== "object" || shape === null) throw invalid("shape must be an object { rows, cols, dtype? }");
  return {
    rows: checkInteger(shape.rows, "rows", 1, MAX_EXTENT),
    cols: checkInteger(shape.cols, "cols", 1, MAX_EXTENT),
    // 0: libbunmg's default, the largest default tile of any routine at this size
    maxTile: checkInteger(shape.maxTile ?? 0, "maxTile", shape.maxTile === undefined ? 0 : 1, MAX_EXTENT),
  };
}
