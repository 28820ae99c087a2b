// DeviceBuffer: typed memory on one mesh position. Lengths and offsets are in elements (a
// complex element is one (re, im) pair); the device pointer is a plain JS number.
import { checkArrayType, dtypeInfo, elementCount, inferDType, DTYPES, type DType, type HostArray, type StorageOf } from "./dtypes.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { HANDLE, ON_WRITE, RELEASE, TRACK, UNTRACK, type MeshResource } from "./internal.ts";
import { checkMesh, checkPosition, type Mesh } from "./mesh.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { checkInteger, describe } from "./validate.ts";

/** OUT_OF_MEMORY for `bytes` on mesh position `position`, naming what needs them and what is free. */
export function outOfMemory(mesh: Mesh, position: number, bytes: number, what: string): BunmgError {
  const free = mesh.memory(position).free;
  return new BunmgError("OUT_OF_MEMORY", `${what} need ${bytes >= 2 ** 53 ? `about ${bytes.toExponential(3)}` : bytes} bytes on mesh position ${position}, which has ${free} free`, { device: position });
}

export interface CopyRange {
  /** first element written in this buffer (default 0) */
  offset?: number;
  /** first element read from the source buffer (default 0) */
  sourceOffset?: number;
  /** elements to copy (default: the rest of the source from sourceOffset) */
  length?: number;
}

/** Typed memory on one mesh position, owned until dispose() (or the mesh's). Lengths and offsets
 * are in elements; `pointer` is the device address as a number. A buffer that backs a
 * ShardedMatrix shard tells the matrix before its contents change. */
export class DeviceBuffer<D extends DType = DType> implements MeshResource {
  readonly mesh: Mesh;
  /** mesh position that holds the memory */
  readonly device: number;
  readonly dtype: D;
  /** elements */
  readonly length: number;
  #address: number;
  #disposedReason: string | undefined;
  /** @internal set by a ShardedMatrix on its shards: their writes change the matrix */
  [ON_WRITE]?: () => void;

  private constructor(mesh: Mesh, device: number, dtype: D, length: number, address: number) {
    this.mesh = mesh;
    this.device = device;
    this.dtype = dtype;
    this.length = length;
    this.#address = address;
    mesh[TRACK](this);
  }

  /** Uninitialized memory for `length` elements of `dtype` on mesh position `device`. */
  static alloc<D extends DType>(mesh: Mesh, device: number, dtype: D, length: number): DeviceBuffer<D> {
    checkMesh(mesh);
    checkPosition(mesh, device);
    const info = dtypeInfo(dtype);
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1) checkInteger(length, "length (elements)", 1);
    if (length * info.bytes > Number.MAX_SAFE_INTEGER) throw outOfMemory(mesh, device, length * info.bytes, `${length} elements of ${dtype}`);
    const out = new BigUint64Array(1);
    check(native().bunmg_alloc(mesh[HANDLE](), device, length * info.bytes, out), "bunmg_alloc");
    return new DeviceBuffer(mesh, device, dtype, length, readPointer(out));
  }

  /** A new buffer holding a copy of `array`; dtype defaults to the real type of the array. */
  static fromHost(mesh: Mesh, device: number, array: Float32Array): DeviceBuffer<"float32">;
  static fromHost(mesh: Mesh, device: number, array: Float64Array): DeviceBuffer<"float64">;
  static fromHost<D extends DType>(mesh: Mesh, device: number, array: StorageOf<D>, dtype: D): DeviceBuffer<D>;
  static fromHost(mesh: Mesh, device: number, array: HostArray, dtype?: DType): DeviceBuffer {
    const type = dtype ?? inferDType(array);
    checkArrayType(array, type);
    const buffer = DeviceBuffer.alloc(mesh, device, type, elementCount(array, type));
    try {
      return buffer.copyFromHost(array);
    } catch (e) {
      buffer.dispose();
      throw e;
    }
  }

  get byteLength(): number {
    return this.length * DTYPES[this.dtype].bytes;
  }

  get disposed(): boolean {
    return this.#disposedReason !== undefined;
  }

  /** The device address (host address on the host backend). DISPOSED after dispose(). */
  get pointer(): number {
    this.#alive();
    return this.#address;
  }

  /** Writes `array` (whole elements of this dtype) at element `offset`. */
  copyFromHost(array: StorageOf<D>, offset = 0): this {
    this.#alive();
    checkArrayType(array, this.dtype, "source array");
    const n = elementCount(array, this.dtype, "source array");
    this.#checkRange(offset, n, "copyFromHost");
    if (n === 0) return this;
    this[ON_WRITE]?.();
    const bytes = DTYPES[this.dtype].bytes;
    const status = native().bunmg_copy_to_device(
      this.mesh[HANDLE](),
      this.device,
      asPointer(this.#address + offset * bytes),
      array,
      n * bytes,
    );
    check(status, "bunmg_copy_to_device");
    return this;
  }

  /** Reads elements starting at `offset` into `array` (filling it), or, without an array, the
   * whole buffer into a new one. Returns the array. */
  copyToHost(array?: StorageOf<D>, offset = 0): StorageOf<D> {
    this.#alive();
    const info = DTYPES[this.dtype];
    if (array !== undefined) checkArrayType(array, this.dtype, "target array");
    checkInteger(offset, "copyToHost: offset", 0, this.length);
    const target = array ?? (new info.storage((this.length - offset) * info.components) as StorageOf<D>);
    const n = elementCount(target, this.dtype, "target array");
    this.#checkRange(offset, n, "copyToHost");
    if (n === 0) return target;
    const status = native().bunmg_copy_to_host(
      this.mesh[HANDLE](),
      this.device,
      target,
      asPointer(this.#address + offset * info.bytes),
      n * info.bytes,
    );
    check(status, "bunmg_copy_to_host");
    return target;
  }

  /** The whole buffer as a new host array. */
  toHost(): StorageOf<D> {
    return this.copyToHost();
  }

  /** Device-to-device copy from `source` (same mesh and dtype; any position: peer copy). */
  copyFrom(source: DeviceBuffer<D>, range: CopyRange = {}): this {
    this.#alive();
    if (!(source instanceof DeviceBuffer)) throw invalid(`copyFrom: source must be a DeviceBuffer, got ${describe(source)}`);
    if (source.mesh !== this.mesh) {
      throw invalid(`copyFrom: source is on ${source.mesh}, this buffer on ${this.mesh}: buffers of different meshes cannot be mixed`);
    }
    if (source.dtype !== this.dtype) {
      throw invalid(`copyFrom: source dtype ${source.dtype} differs from this buffer's ${this.dtype}`);
    }
    source.#alive("source");
    const sourceOffset = range.sourceOffset ?? 0;
    checkInteger(sourceOffset, "copyFrom: sourceOffset", 0, source.length);
    const n = range.length ?? source.length - sourceOffset;
    source.#checkRange(sourceOffset, n, "copyFrom (source)");
    const offset = range.offset ?? 0;
    this.#checkRange(offset, n, "copyFrom (destination)");
    if (n === 0) return this;
    this[ON_WRITE]?.();
    const bytes = DTYPES[this.dtype].bytes;
    const status = native().bunmg_copy_peer(
      this.mesh[HANDLE](),
      this.device,
      asPointer(this.#address + offset * bytes),
      source.device,
      asPointer(source.#address + sourceOffset * bytes),
      n * bytes,
    );
    check(status, "bunmg_copy_peer");
    return this;
  }

  /** Frees the memory. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this[RELEASE]("it was disposed");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `DeviceBuffer(${this.dtype}[${this.length}] on position ${this.device} of ${this.mesh})`;
  }

  /** @internal frees now; `reason` shows in later DISPOSED errors. */
  [RELEASE](reason: string): void {
    if (this.#disposedReason !== undefined) return;
    this.#disposedReason = reason;
    this.mesh[UNTRACK](this);
    const address = this.#address;
    this.#address = 0;
    if (this.mesh.disposed) return; // the mesh went first: nothing left to free through it
    check(native().bunmg_free(this.mesh[HANDLE](), this.device, asPointer(address)), "bunmg_free");
  }

  #alive(what = "this"): void {
    if (this.#disposedReason !== undefined) {
      throw disposed(`${what === "this" ? "" : `${what} `}DeviceBuffer(${this.dtype}[${this.length}] on position ${this.device}) is no longer usable: ${this.#disposedReason}`);
    }
    if (this.mesh.disposed) throw disposed(`DeviceBuffer is no longer usable: its mesh was disposed`);
  }

  #checkRange(offset: unknown, count: unknown, what: string): void {
    checkInteger(offset, `${what}: offset`, 0);
    checkInteger(count, `${what}: element count`, 0);
    const o = offset as number;
    const n = count as number;
    if (o + n > this.length) {
      throw invalid(`${what}: elements [${o}, ${o + n}) do not fit in a buffer of ${this.length} elements`);
    }
  }
}
