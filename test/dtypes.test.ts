import { describe, expect, test } from "bun:test";
import { DTYPES, DTYPE_NAMES, dtypeInfo, isDType } from "../lib/index.ts";
import { allocHost, checkArray, checkArrayType, elementCount, inferDType } from "../lib/dtypes.ts";
import { thrown } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

describe("dtypes", () => {
  test("table mirrors bunmg_dtype and the storage convention", () => {
    expect(DTYPE_NAMES).toEqual(["float32", "float64", "complex64", "complex128"]);
    expect(DTYPE_NAMES.map((d) => DTYPES[d].code)).toEqual([0, 1, 2, 3]);
    expect(DTYPE_NAMES.map((d) => DTYPES[d].bytes)).toEqual([4, 8, 8, 16]);
    expect(DTYPE_NAMES.map((d) => DTYPES[d].components)).toEqual([1, 1, 2, 2]);
    expect(DTYPE_NAMES.map((d) => DTYPES[d].storage)).toEqual([Float32Array, Float64Array, Float32Array, Float64Array]);
    expect(DTYPE_NAMES.map((d) => DTYPES[d].real)).toEqual(["float32", "float64", "float32", "float64"]);
    expect(DTYPES.complex64.epsilon).toBe(2 ** -23);
    expect(DTYPES.float64.epsilon).toBe(2 ** -52);
  });

  test("isDType / dtypeInfo", () => {
    for (const d of DTYPE_NAMES) expect(isDType(d)).toBe(true);
    for (const bad of ["int8", "", "toString", 1, null, undefined]) {
      expect(isDType(bad)).toBe(false);
      const e = thrown(() => dtypeInfo(bad));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toContain("unknown dtype");
    }
  });

  test("allocHost sizes complex arrays at two values per element", () => {
    expect(allocHost("complex64", 5)).toBeInstanceOf(Float32Array);
    expect(allocHost("complex64", 5).length).toBe(10);
    expect(allocHost("float64", 5).length).toBe(5);
  });

  test("inferDType", () => {
    expect(inferDType(new Float32Array(1))).toBe("float32");
    expect(inferDType(new Float64Array(1))).toBe("float64");
    const e = thrown(() => inferDType(new Int32Array(2), "data"));
    expect(e.message).toBe("data must be a Float32Array or Float64Array, got Int32Array of length 2");
  });

  test("checkArrayType names the expected array", () => {
    const e = thrown(() => checkArrayType(new Float64Array(4), "complex64", "B"));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe("B must be a Float32Array for dtype complex64, got Float64Array of length 4");
    expect(thrown(() => checkArrayType([1, 2], "float64")).message).toContain("got Array of length 2");
  });

  test("checkArray names the formula and the counts", () => {
    const e = thrown(() => checkArray(new Float32Array(20), "complex64", 12, "rows*cols", "data"));
    expect(e.message).toBe("data: expected 2*rows*cols = 24 float32 values for dtype complex64, got 20");
    const f = thrown(() => checkArray(new Float64Array(20), "float64", 12, "rows*cols", "data"));
    expect(f.message).toBe("data: expected rows*cols = 12 float64 values for dtype float64, got 20");
    expect(checkArray(new Float64Array(24), "complex128", 12, "rows*cols").length).toBe(24);
  });

  test("elementCount rejects half a complex number", () => {
    expect(elementCount(new Float32Array(6), "complex64")).toBe(3);
    expect(elementCount(new Float32Array(7), "float32")).toBe(7);
    expect(thrown(() => elementCount(new Float32Array(7), "complex64")).message).toContain("length must be even, got 7");
  });
});
