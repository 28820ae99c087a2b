// Element types. Complex values are interleaved (re, im) in a real typed array, so an array of
// n complex64 elements is a Float32Array of 2n values.
import { DTYPE } from "./abi.ts";
import { invalid } from "./errors.ts";
import { describe } from "./validate.ts";

export type DType = "float32" | "float64" | "complex64" | "complex128";
export type RealDType = "float32" | "float64";
export type HostArray = Float32Array | Float64Array;

/** The typed array that stores a dtype's values. */
export type StorageOf<D extends DType> = D extends "float32" | "complex64" ? Float32Array : Float64Array;
/** The real dtype of a (possibly complex) dtype: eigenvalues and norms come in it. */
export type RealOf<D extends DType> = D extends "float32" | "complex64" ? "float32" : "float64";

type StorageConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

export interface DTypeInfo {
  readonly name: DType;
  /** bunmg_dtype value */
  readonly code: number;
  /** bytes per element (a complex element is two reals) */
  readonly bytes: number;
  /** reals per element: 1, or 2 for complex */
  readonly components: 1 | 2;
  readonly complex: boolean;
  readonly real: RealDType;
  readonly storage: StorageConstructor;
  /** machine epsilon of the real type */
  readonly epsilon: number;
}

const EPS32 = 2 ** -23;
const EPS64 = Number.EPSILON;

/** Per dtype: its host storage array, real counterpart, components per element and epsilon. */
export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { name: "float32", code: DTYPE.float32, bytes: 4, components: 1, complex: false, real: "float32", storage: Float32Array, epsilon: EPS32 },
  float64: { name: "float64", code: DTYPE.float64, bytes: 8, components: 1, complex: false, real: "float64", storage: Float64Array, epsilon: EPS64 },
  complex64: { name: "complex64", code: DTYPE.complex64, bytes: 8, components: 2, complex: true, real: "float32", storage: Float32Array, epsilon: EPS32 },
  complex128: { name: "complex128", code: DTYPE.complex128, bytes: 16, components: 2, complex: true, real: "float64", storage: Float64Array, epsilon: EPS64 },
};

/** The four dtypes, in the ABI's order. */
export const DTYPE_NAMES: readonly DType[] = ["float32", "float64", "complex64", "complex128"];

/** Whether `value` names one of the four dtypes. */
export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.hasOwn(DTYPES, value);
}

/** Facts about a dtype; INVALID_ARGUMENT for anything that is not one. */
export function dtypeInfo(dtype: unknown): DTypeInfo {
  if (!isDType(dtype)) {
    throw invalid(`unknown dtype ${describe(dtype)}: expected one of ${DTYPE_NAMES.join(", ")}`);
  }
  return DTYPES[dtype];
}

/** A zeroed host array holding `elements` elements of `dtype`. */
export function allocHost<D extends DType>(dtype: D, elements: number): StorageOf<D> {
  const info = DTYPES[dtype];
  return new info.storage(elements * info.components) as StorageOf<D>;
}

/** The dtype an array stores when none is given: real, matching its element type. */
export function inferDType(array: unknown, what = "array"): RealDType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  throw invalid(`${what} must be a Float32Array or Float64Array, got ${describe(array)}`);
}

/** Checks that `array` is the storage typed array of `dtype` (Float32Array for float32 and
 * complex64, Float64Array for float64 and complex128). */
export function checkArrayType<D extends DType>(array: unknown, dtype: D, what = "array"): StorageOf<D> {
  const info = dtypeInfo(dtype);
  if (!(array instanceof info.storage)) {
    throw invalid(`${what} must be a ${info.storage.name} for dtype ${dtype}, got ${describe(array)}`);
  }
  return array as StorageOf<D>;
}

/** Checks type and exact length: `elements` elements, described by `formula` (e.g. "rows*cols")
 * in the message: "expected 2*rows*cols = 24 float32 values, got 20". */
export function checkArray<D extends DType>(
  array: unknown,
  dtype: D,
  elements: number,
  formula: string,
  what = "array",
): StorageOf<D> {
  const typed = checkArrayType(array, dtype, what);
  const info = DTYPES[dtype];
  const values = elements * info.components;
  if (typed.length !== values) {
    const f = info.complex ? `2*${formula}` : formula;
    throw invalid(`${what}: expected ${f} = ${values} ${info.real} values for dtype ${dtype}, got ${typed.length}`);
  }
  return typed;
}

/** Number of whole elements in a storage array; complex arrays must have an even length. */
export function elementCount(array: HostArray, dtype: DType, what = "array"): number {
  const info = DTYPES[dtype];
  if (array.length % info.components !== 0) {
    throw invalid(`${what}: a ${dtype} array holds (re, im) pairs, so its length must be even, got ${array.length}`);
  }
  return array.length / info.components;
}
