// Argument checks shared by the modules; each names the argument, the problem and the bound.
import { invalid } from "./errors.ts";

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (ArrayBuffer.isView(value)) {
    const length = "length" in value ? ` of length ${String(value.length)}` : "";
    return `${value.constructor.name}${length}`;
  }
  if (Array.isArray(value)) return `Array of length ${value.length}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return `${typeof value} ${String(value)}`;
}

/** A bound as people write it: 2^53 - 1, 2^40, or the number. */
export function bound(value: number): string {
  if (value === Number.MAX_SAFE_INTEGER) return "2^53 - 1";
  const power = Math.log2(value);
  return Number.isInteger(power) && power >= 20 ? `2^${power}` : String(value);
}

/** A whole number in [min, max]; names the problem otherwise. */
export function checkInteger(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalid(`${what} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (value < min ? `>= ${min}` : `<= ${bound(max)}`) : `in [${min}, ${bound(max)}]`;
    throw invalid(`${what} must be ${range}, got ${value}`);
  }
  return value;
}

/** Options objects: undefined and null both mean "none given". */
export function optionsOf<T extends object>(options: T | null | undefined, what = "options"): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw invalid(`${what} must be an object, got ${describe(options)}`);
  return options;
}
