// Argument checks shared by the modules; each names the argument and the problem.
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

/** A whole number in [min, max]; names the problem otherwise. */
export function checkInteger(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw invalid(`${what} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw invalid(`${what} must be ${range}, got ${value}`);
  }
  return value;
}
