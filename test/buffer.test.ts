import { describe, expect, test } from "bun:test";
import { DeviceBuffer, DTYPES, Mesh } from "../lib/index.ts";
import { ALL_DTYPES, bitsEqual, expectError, randomArray } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

describe("DeviceBuffer", () => {
  test("round trips are bit-exact for every dtype, length and position", () => {
    using mesh = Mesh.host(3);
    let seed = 1;
    for (const dtype of ALL_DTYPES)
      for (const length of [1, 2, 7, 64, 1000])
        for (let d = 0; d < 3; d++) {
          const data = randomArray(dtype, length, seed++);
          using b = DeviceBuffer.fromHost(mesh, d, data, dtype);
          expect(b.dtype).toBe(dtype);
          expect(b.length).toBe(length);
          expect(b.device).toBe(d);
          expect(b.byteLength).toBe(length * DTYPES[dtype].bytes);
          expect(b.pointer).toBeGreaterThan(0);
          const back = b.toHost();
          expect(back).toBeInstanceOf(DTYPES[dtype].storage);
          expect(bitsEqual(back, data)).toBe(true);
        }
  });

  test("special values survive: NaN payloads, -0, infinities, subnormals", () => {
    using mesh = Mesh.host(1);
    const f64 = new Float64Array([Number.NaN, -0, Infinity, -Infinity, 5e-324, Number.MAX_VALUE]);
    new DataView(f64.buffer).setBigUint64(0, 0x7ff8dead_beef0001n, true);
    expect(bitsEqual(DeviceBuffer.fromHost(mesh, 0, f64).toHost(), f64)).toBe(true);
    const f32 = new Float32Array([Number.NaN, -0, Infinity, 1e-45, 3.4e38, -1]);
    expect(bitsEqual(DeviceBuffer.fromHost(mesh, 0, f32, "complex64").toHost(), f32)).toBe(true);
  });

  test("dtype defaults to the array's real type", () => {
    using mesh = Mesh.host(1);
    expect(DeviceBuffer.fromHost(mesh, 0, new Float32Array(3)).dtype).toBe("float32");
    expect(DeviceBuffer.fromHost(mesh, 0, new Float64Array(3)).dtype).toBe("float64");
  });

  test("partial copies at element offsets", () => {
    using mesh = Mesh.host(2);
    using b = DeviceBuffer.alloc(mesh, 1, "complex64", 10);
    b.copyFromHost(new Float32Array(20)); // zero it
    b.copyFromHost(new Float32Array([1, 2, 3, 4]), 3); // elements 3 and 4
    const all = b.toHost();
    expect(Array.from(all.subarray(4, 12))).toEqual([0, 0, 1, 2, 3, 4, 0, 0]);
    const part = new Float32Array(4);
    expect(b.copyToHost(part, 3)).toBe(part);
    expect(Array.from(part)).toEqual([1, 2, 3, 4]);
    expect(Array.from(b.copyToHost(undefined, 8))).toEqual([0, 0, 0, 0]);
    // the last element, exactly at the end
    b.copyFromHost(new Float32Array([9, 9]), 9);
    expect(Array.from(b.copyToHost(undefined, 9))).toEqual([9, 9]);
    // empty copies are no-ops
    b.copyFromHost(new Float32Array(0), 10);
    expect(b.copyToHost(undefined, 10).length).toBe(0);
  });

  test("copyFrom: peer copies between positions and within one", () => {
    using mesh = Mesh.host(3);
    for (const dtype of ALL_DTYPES) {
      const data = randomArray(dtype, 50, 7);
      using a = DeviceBuffer.fromHost(mesh, 0, data, dtype);
      using b = DeviceBuffer.alloc(mesh, 2, dtype, 50);
      b.copyFrom(a);
      expect(bitsEqual(b.toHost(), data)).toBe(true);
      using c = DeviceBuffer.alloc(mesh, 2, dtype, 60);
      c.copyFrom(b, { offset: 10 });
      expect(bitsEqual(c.copyToHost(undefined, 10), data)).toBe(true);
      // a sub-range, same position
      using e = DeviceBuffer.alloc(mesh, 0, dtype, 5);
      e.copyFrom(a, { sourceOffset: 45 });
      const k = DTYPES[dtype].components;
      expect(bitsEqual(e.toHost(), data.subarray(45 * k))).toBe(true);
      e.copyFrom(a, { sourceOffset: 10, offset: 1, length: 2 });
      expect(bitsEqual(e.copyToHost(undefined, 1).subarray(0, 2 * k), data.subarray(10 * k, 12 * k))).toBe(true);
    }
  });

  test("argument errors name the problem", () => {
    using mesh = Mesh.host(2);
    using other = Mesh.host(2);
    expectError(() => DeviceBuffer.alloc(mesh, 2, "float32", 4), "INVALID_ARGUMENT", "device 2 is out of range", "positions 0..1");
    expectError(() => DeviceBuffer.alloc(mesh, -1, "float32", 4), "INVALID_ARGUMENT", "device -1 is out of range");
    expectError(() => DeviceBuffer.alloc(mesh, 0.5, "float32", 4), "INVALID_ARGUMENT", "device must be an integer");
    expectError(() => DeviceBuffer.alloc(mesh, 0, "float32", 0), "INVALID_ARGUMENT", "length (elements) must be >= 1");
    expectError(() => DeviceBuffer.alloc(mesh, 0, "float32", 2.5), "INVALID_ARGUMENT", "must be an integer");
    expectError(() => DeviceBuffer.alloc(mesh, 0, "int32" as "float32", 4), "INVALID_ARGUMENT", "unknown dtype");
    expectError(() => DeviceBuffer.alloc({} as Mesh, 0, "float32", 4), "INVALID_ARGUMENT", "mesh must be a Mesh");
    expectError(() => DeviceBuffer.fromHost(mesh, 0, new Float64Array(3), "complex64" as "complex128"), "INVALID_ARGUMENT", "must be a Float32Array for dtype complex64");
    expectError(() => DeviceBuffer.fromHost(mesh, 0, new Float64Array(3), "complex128"), "INVALID_ARGUMENT", "length must be even, got 3");
    using b = DeviceBuffer.alloc(mesh, 0, "float64", 4);
    expectError(() => b.copyFromHost(new Float64Array(5)), "INVALID_ARGUMENT", "elements [0, 5) do not fit in a buffer of 4 elements");
    expectError(() => b.copyFromHost(new Float64Array(2), 3), "INVALID_ARGUMENT", "elements [3, 5) do not fit");
    expectError(() => b.copyFromHost(new Float64Array(1), -1), "INVALID_ARGUMENT", "offset must be >= 0");
    expectError(() => b.copyFromHost(new Float32Array(1) as unknown as Float64Array), "INVALID_ARGUMENT", "source array must be a Float64Array");
    expectError(() => b.copyToHost(new Float64Array(2), 3), "INVALID_ARGUMENT", "do not fit");
    expectError(() => b.copyToHost(undefined, 5), "INVALID_ARGUMENT", "copyToHost: offset must be in [0, 4], got 5");
    using f32 = DeviceBuffer.alloc(mesh, 1, "float32", 4);
    expectError(() => b.copyFrom(f32 as unknown as DeviceBuffer<"float64">), "INVALID_ARGUMENT", "source dtype float32 differs from this buffer's float64");
    using foreign = DeviceBuffer.alloc(other, 0, "float64", 4);
    expectError(() => b.copyFrom(foreign), "INVALID_ARGUMENT", "different meshes cannot be mixed");
    using big = DeviceBuffer.alloc(mesh, 1, "float64", 8);
    expectError(() => b.copyFrom(big), "INVALID_ARGUMENT", "copyFrom (destination): elements [0, 8) do not fit");
    expectError(() => b.copyFrom(big, { sourceOffset: 9 }), "INVALID_ARGUMENT", "sourceOffset must be in [0, 8]");
  });

  test("use after dispose is DISPOSED, on either side of a copy", () => {
    using mesh = Mesh.host(2);
    const a = DeviceBuffer.alloc(mesh, 0, "float32", 4);
    using b = DeviceBuffer.alloc(mesh, 1, "float32", 4);
    a.dispose();
    a.dispose();
    expect(a.disposed).toBe(true);
    expectError(() => a.pointer, "DISPOSED", "it was disposed");
    expectError(() => a.toHost(), "DISPOSED");
    expectError(() => a.copyFromHost(new Float32Array(4)), "DISPOSED");
    expectError(() => b.copyFrom(a), "DISPOSED", "source DeviceBuffer");
    expectError(() => a.copyFrom(b), "DISPOSED");
    expect(mesh.memory(0).held).toBe(0);
  });
});
