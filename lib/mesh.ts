// Mesh: an ordered list of logical devices on one backend. Positions (0..size-1) name devices
// everywhere else in the API; the same GPU may appear at several positions.
import type { Pointer } from "bun:ffi";
import { BACKEND, MAX_DEVICES } from "./abi.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { HANDLE, RELEASE, TRACK, UNTRACK, type MeshResource } from "./internal.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { checkInteger, describe } from "./validate.ts";

export type Backend = "host" | "cuda";


export interface MemoryInfo {
  /** bytes bunmg holds on the device (buffers and workspace) */
  held: number;
  /** the device's free and total bytes (for the host backend: the machine's memory) */
  free: number;
  total: number;
}

/** Number of visible CUDA devices; 0 without a driver, a GPU or a CUDA build of libbunmg. */
export function cudaDeviceCount(): number {
  const out = new Int32Array(1);
  check(native().bunmg_cuda_device_count(out), "bunmg_cuda_device_count");
  return out[0]!;
}

/** An ordered list of logical devices on one backend; it owns the solver handles and workspaces
 * and frees, on dispose(), every buffer, matrix and factor still on it. Positions 0..size-1 name
 * its devices everywhere else; one GPU may sit at several positions. */
export class Mesh {
  readonly backend: Backend;
  /** device id at each position (host backend: 0..size-1) */
  readonly devices: readonly number[];
  #handle: number;
  #disposed = false;
  // Buffers allocated on this mesh: freed before the mesh so none outlives its allocator.
  readonly #resources = new Set<MeshResource>();

  private constructor(backend: Backend, devices: readonly number[]) {
    const ids = Int32Array.from(devices);
    const out = new BigUint64Array(1);
    check(native().bunmg_mesh_create(BACKEND[backend], ids.length, ids, out), "bunmg_mesh_create");
    this.backend = backend;
    this.devices = Object.freeze([...devices]);
    this.#handle = readPointer(out);
  }

  /** GPUs `ids` (default: every visible GPU); repeated ids give several logical devices on one
   * GPU. NO_DEVICE when there is no GPU. */
  static cuda(ids?: readonly number[]): Mesh {
    const count = cudaDeviceCount();
    if (count === 0) {
      throw new BunmgError("NO_DEVICE", "no CUDA device: no driver, no GPU, or libbunmg was built without CUDA");
    }
    const list = ids === undefined ? Array.from({ length: count }, (_, i) => i) : [...checkIdList(ids)];
    for (const [i, id] of list.entries()) {
      if (id >= count) {
        throw invalid(`device ids[${i}] = ${id} is out of range: ${count} CUDA device(s) visible (ids 0..${count - 1})`);
      }
    }
    return new Mesh("cuda", list);
  }

  /** `count` logical devices in host memory: runs everything without a GPU. */
  static host(count = 1): Mesh {
    checkInteger(count, "host device count", 1, MAX_DEVICES);
    return new Mesh("host", Array.from({ length: count }, (_, i) => i));
  }

  /** Every GPU when there is one, else one host device. */
  static auto(): Mesh {
    return cudaDeviceCount() > 0 ? Mesh.cuda() : Mesh.host(1);
  }

  /** Number of logical devices (positions). */
  get size(): number {
    return this.devices.length;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Memory of the device at `position`. */
  memory(position: number): MemoryInfo {
    checkPosition(this, position, "position");
    const held = new BigUint64Array(1);
    const free = new BigUint64Array(1);
    const total = new BigUint64Array(1);
    check(native().bunmg_mesh_memory(this[HANDLE](), position, held, free, total), "bunmg_mesh_memory");
    return { held: Number(held[0]), free: Number(free[0]), total: Number(total[0]) };
  }

  /** Measured copy bandwidth from position `src` to `dst` (the same position: within one
   * device), in bytes per second moved in total: `repeats` copies of `bytes`, in both
   * directions at once with `bothWays`. */
  copyBandwidth(dst: number, src: number, bytes: number, options: { repeats?: number; bothWays?: boolean } = {}): number {
    checkPosition(this, dst, "dst");
    checkPosition(this, src, "src");
    checkInteger(bytes, "bytes", 1);
    const repeats = checkInteger(options.repeats ?? 10, "repeats", 1, 2 ** 31 - 1);
    const out = new Float64Array(1);
    const status = native().bunmg_copy_bandwidth(this[HANDLE](), dst, src, bytes, repeats, options.bothWays ? 1 : 0, out);
    check(status, "bunmg_copy_bandwidth");
    return out[0]!;
  }

  /** Frees every buffer and matrix still allocated on this mesh, then the mesh. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    // A Worker's call holding the mesh (a shared handle): refuse now, so the mesh is not marked
    // disposed while its native side cannot be freed.
    const probe = new BigUint64Array(1);
    check(native().bunmg_mesh_memory(asPointer(this.#handle), 0, probe, probe, probe), "bunmg_mesh_memory");
    this.#disposed = true;
    let first: unknown;
    for (const resource of [...this.#resources]) {
      try {
        resource[RELEASE]("its mesh was disposed");
      } catch (e) {
        first ??= e;
      }
    }
    this.#resources.clear();
    const status = native().bunmg_mesh_destroy(asPointer(this.#handle));
    this.#handle = 0;
    check(status, "bunmg_mesh_destroy");
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `Mesh(${this.backend}: [${this.devices.join(", ")}]${this.#disposed ? ", disposed" : ""})`;
  }

  /** @internal the native handle; DISPOSED after dispose(). */
  [HANDLE](): Pointer {
    if (this.#disposed) throw disposed(`${this} was disposed`);
    return asPointer(this.#handle);
  }

  /** @internal */
  [TRACK](resource: MeshResource): void {
    if (this.#disposed) throw disposed(`${this} was disposed`);
    this.#resources.add(resource);
  }

  /** @internal */
  [UNTRACK](resource: MeshResource): void {
    this.#resources.delete(resource);
  }
}

/** A mesh position: an integer in [0, mesh.size). Also checks that the mesh is alive. */
export function checkPosition(mesh: Mesh, position: unknown, what = "device"): number {
  if (mesh.disposed) throw disposed(`${mesh} was disposed`);
  if (typeof position !== "number" || !Number.isInteger(position)) {
    throw invalid(`${what} must be an integer mesh position, got ${describe(position)}`);
  }
  if (position < 0 || position >= mesh.size) {
    throw invalid(`${what} ${position} is out of range for ${mesh} (positions 0..${mesh.size - 1})`);
  }
  return position;
}

/** Checks that `value` is a Mesh (not only one in shape). */
export function checkMesh(value: unknown, what = "mesh"): Mesh {
  if (!(value instanceof Mesh)) throw invalid(`${what} must be a Mesh, got ${describe(value)}`);
  if (value.disposed) throw disposed(`${what} ${value} was disposed`);
  return value;
}

function checkIdList(ids: unknown): number[] {
  if (!Array.isArray(ids)) throw invalid(`device ids must be an array of integers, got ${describe(ids)}`);
  if (ids.length === 0) throw invalid("device ids must not be empty");
  if (ids.length > MAX_DEVICES) throw invalid(`at most ${MAX_DEVICES} devices per mesh, got ${ids.length}`);
  return ids.map((id, i) => checkInteger(id, `device ids[${i}]`, 0));
}
