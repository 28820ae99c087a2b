// A Cholesky factor kept by the distributed engine (csrc/include/bunmg.h, bunmg_mp_factor):
// MpWorld.cholesky makes it, solve() is collective like the world's routines.
import type { Pointer } from "bun:ffi";
import { checkArrayType, elementCount, type DType, type StorageOf } from "./dtypes.ts";
import { disposed, invalid } from "./errors.ts";
import { RELEASE, UNTRACK } from "./internal.ts";
import { asPointer, check, native } from "./native.ts";

/** What a factor needs of the world that made it (MpWorld). */
export interface MpFactorOwner {
  readonly rank: number;
  /** @internal forgets a disposed factor */
  [UNTRACK](factor: MpFactor<DType, MpFactorOwner>): void;
}

/** A Cholesky factor of A in the grid layout, in memory of its own (A is unchanged), for
 * repeated solves. Collective: solve(); local: logDet(), dispose(). */
export class MpFactor<D extends DType = DType, W extends MpFactorOwner = MpFactorOwner> {
  /** the world that made it */
  readonly world: W;
  readonly n: number;
  readonly dtype: D;
  #handle: number;
  #released: string | undefined;

  /** @internal use world.cholesky */
  constructor(world: W, n: number, dtype: D, handle: number) {
    this.world = world;
    this.n = n;
    this.dtype = dtype;
    this.#handle = handle;
  }

  get disposed(): boolean {
    return this.#handle === 0;
  }

  /** X for rank 0's B (n x nrhs row-major; every rank passes an array of that shape), on every
   * rank. */
  solve(B: StorageOf<D>): StorageOf<D> {
    const handle = this.#alive();
    const nrhs = rhsCount(B, this.n, this.dtype);
    const X = B.slice() as StorageOf<D>;
    check(native().bunmg_mp_factor_solve(handle, X, nrhs), "bunmg_mp_factor_solve");
    return X;
  }

  /** log det A = 2 sum log L_ii (the same on every rank). */
  logDet(): number {
    const out = new Float64Array(1);
    check(native().bunmg_mp_factor_logdet(this.#alive(), out), "bunmg_mp_factor_logdet");
    return out[0]!;
  }

  /** Frees the factor (not collective). Idempotent. */
  dispose(): void {
    this[RELEASE]("it was disposed");
  }

  /** @internal frees the factor; `reason` says why in later messages */
  [RELEASE](reason: string): void {
    if (this.#handle === 0) return;
    const handle = asPointer(this.#handle);
    this.#handle = 0;
    this.#released = reason;
    this.world[UNTRACK](this);
    check(native().bunmg_mp_factor_destroy(handle), "bunmg_mp_factor_destroy");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `MpFactor(${this.n} x ${this.n} ${this.dtype}, rank ${this.world.rank}${this.disposed ? ", disposed" : ""})`;
  }

  #alive(): Pointer {
    if (this.#handle === 0) throw disposed(`${this} is no longer usable: ${this.#released}`);
    return asPointer(this.#handle);
  }
}

/** nrhs of a B with `rows` rows (row-major rows x nrhs). */
export function rhsCount(B: unknown, n: number, dtype: DType): number {
  checkArrayType(B, dtype, "B");
  const elements = elementCount(B as StorageOf<DType>, dtype, "B");
  if (elements === 0 || elements % n !== 0) throw invalid(`B: expected a positive multiple of n = ${n} elements (n x nrhs, row-major), got ${elements}`);
  return elements / n;
}

