// ShardedMatrix: a rows x cols row-major matrix split by rows over a mesh. With s =
// ceil(rows / G), position d holds rows [d*s, min((d+1)*s, rows)) (possibly none) at the start of
// its shard. The same shards also hold the cyclic layout cuSOLVERMg needs (tile k of T rows on
// position k % G at local tile slot floor(k / G)), so each shard has room for `capacity` rows.
import type { Pointer } from "bun:ffi";
import { DeviceBuffer } from "./buffer.ts";
import { LAYOUT, MATRIX, MAX_DEVICES, STATUS } from "./abi.ts";
import { checkArray, dtypeInfo, inferDType, allocHost, DTYPES, type DType, type StorageOf } from "./dtypes.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { ENSURE_CAPACITY, HANDLE, RUN, STRUCT } from "./internal.ts";
import { checkMesh, checkPosition, type Mesh } from "./mesh.ts";
import { check, native, nativeError } from "./native.ts";
import { defaultTileSize } from "./tiles.ts";
import { checkInteger } from "./validate.ts";

export type Layout = "rows" | "cyclic";

export interface MatrixShape<D extends DType = DType> {
  rows: number;
  cols: number;
  /** default: from the data's array type (fromHost), float64 (alloc) */
  dtype?: D;
  /** shards get room for the cyclic layout of every tile size up to this (default: the largest
   * default tile of any routine at this size, see lib/tiles.ts); a larger tile later costs a
   * reallocation, and each unit of maxTile costs a row of slack per device */
  maxTile?: number;
}

/** The largest tile any routine uses by default (lib/tiles.ts): `maxTile`'s default for large
 * matrices; smaller ones get their own largest default tile. */
export const DEFAULT_MAX_TILE = 2048;

function defaultMaxTile(dtype: DType, rows: number): number {
  return Math.max(...(["potrs", "potri", "syevd"] as const).map((r) => defaultTileSize(r, dtype, rows)));
}

export interface RandomOptions {
  /** "hpd": Hermitian positive definite (default); "uniform": components in [-1, 1) */
  kind?: "hpd" | "uniform";
  /** a non-negative integer (default 1) */
  seed?: number;
}


/** Rows a shard needs for the cyclic layout of `tile` (and for row layout): bunmg_shard_capacity. */
export function shardCapacity(rows: number, tile: number, devices: number): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_shard_capacity(rows, tile, devices, out), "bunmg_shard_capacity");
  return Number(out[0]);
}

/** Capacity that fits every tile size in [1, maxTile]. Capacity is not monotonic in the tile
 * (whole tiles per device), so take the maximum; tiles above `rows` are left out, since they
 * only pad a matrix that one tile already covers. */
function capacityFor(rows: number, maxTile: number, devices: number): number {
  let capacity = 0;
  for (let t = 1, top = Math.min(maxTile, rows); t <= top; t++) {
    capacity = Math.max(capacity, shardCapacity(rows, t, devices));
  }
  return capacity;
}

export class ShardedMatrix<D extends DType = DType> {
  readonly mesh: Mesh;
  readonly rows: number;
  readonly cols: number;
  readonly dtype: D;
  #shards: DeviceBuffer<D>[];
  // The bunmg_matrix the library reads and updates: the source of truth for layout and tile.
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
    v.setBigInt64(MATRIX.offset.tile, 0n, true);
    v.setInt32(MATRIX.offset.dtype, DTYPES[dtype].code, true);
    v.setInt32(MATRIX.offset.layout, LAYOUT.rows, true);
    this.#writeShardPointers();
  }

  /** An uninitialized matrix. */
  static alloc<D extends DType = "float64">(mesh: Mesh, shape: MatrixShape<D>): ShardedMatrix<D> {
    checkMesh(mesh);
    const { rows, cols, maxTile } = checkShape(shape); // first: shape may be no object at all
    const dtype = (shape.dtype ?? "float64") as D;
    dtypeInfo(dtype);
    const capacity = capacityFor(rows, maxTile, mesh.size);
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
  static random<D extends DType = "float64">(mesh: Mesh, shape: MatrixShape<D>, options: RandomOptions = {}): ShardedMatrix<D> {
    const matrix = ShardedMatrix.alloc(mesh, shape);
    try {
      return matrix.fillRandom(options);
    } catch (e) {
      matrix.dispose();
      throw e;
    }
  }

  /** Overwrites the matrix (row layout) as ShardedMatrix.random does. */
  fillRandom({ kind = "hpd", seed = 1 }: RandomOptions = {}): this {
    this.#usable();
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
        if (end > start) m.#shards[d].copyFromHost(data.subarray(start * values, end * values));
      }
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }

  /** Rows per shard in row layout: ceil(rows / mesh.size). */
  get shardRows(): number {
    return Math.ceil(this.rows / this.mesh.size);
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

  /** The shard buffers, one per mesh position, each `capacity * cols` elements. */
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
    const s = this.shardRows;
    return [Math.min(position * s, this.rows), Math.min((position + 1) * s, this.rows)];
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
        if (end > start) this.#shards[d].copyToHost(rowsOf(start, end), 0);
      }
    } else {
      // Tile k (rows kT .. kT+T-1, contiguous on both sides) sits on position k % G at local
      // row floor(k / G) * T: one copy per tile.
      const G = this.mesh.size;
      for (let k = 0, start = 0; start < this.rows; k++, start += tile) {
        const end = Math.min(start + tile, this.rows);
        const local = Math.floor(k / G) * tile;
        this.#shards[k % G].copyToHost(rowsOf(start, end), local * this.cols);
      }
    }
    return target;
  }

  /** Moves the data in place into the cyclic layout of `tile` rows per tile. */
  toCyclic(tile: number): this {
    this.#usable();
    checkInteger(tile, "tile size", 1);
    if (this.layout === "cyclic" && this.tileSize === tile) return this;
    if (this.layout === "cyclic") this.fromCyclic();
    this[ENSURE_CAPACITY](tile);
    this[RUN]((mesh, m) => native().bunmg_to_cyclic(mesh, m, tile), "bunmg_to_cyclic");
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
      const old = this.#shards[d];
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
      this.#writeShardPointers();
      old.dispose();
    }
    this.#view.setBigInt64(MATRIX.offset.capacity, BigInt(need), true);
  }

  #writeShardPointers(): void {
    for (let d = 0; d < MAX_DEVICES; d++) {
      const address = d < this.#shards.length ? this.#shards[d].pointer : 0;
      this.#view.setBigUint64(MATRIX.offset.shards + 8 * d, BigInt(address), true);
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
  const rows = checkInteger(shape.rows, "rows", 1);
  return {
    rows,
    cols: checkInteger(shape.cols, "cols", 1),
    // an unknown dtype is reported by the caller's dtype check
    maxTile: checkInteger(shape.maxTile ?? defaultMaxTile(shape.dtype ?? "float64", rows), "maxTile", 1),
  };
}
