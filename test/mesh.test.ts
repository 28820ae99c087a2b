import { describe, expect, test } from "bun:test";
import { cudaDeviceCount, DeviceBuffer, Mesh } from "../lib/index.ts";
import { HANDLE } from "../lib/internal.ts";
import { expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const gpus = cudaDeviceCount();

describe("Mesh", () => {
  test("host meshes of 1..4 positions", () => {
    for (let n = 1; n <= 4; n++) {
      using mesh = Mesh.host(n);
      expect(mesh.backend).toBe("host");
      expect(mesh.size).toBe(n);
      expect(mesh.devices).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(Object.isFrozen(mesh.devices)).toBe(true);
      expect(mesh.disposed).toBe(false);
      expect(String(mesh)).toBe(`Mesh(host: [${mesh.devices.join(", ")}])`);
    }
    using one = Mesh.host();
    expect(one.size).toBe(1);
  });

  test("host device count must be an integer in 1..32", () => {
    expectError(() => Mesh.host(0), "INVALID_ARGUMENT", "host device count must be in [1, 32], got 0");
    expectError(() => Mesh.host(33), "INVALID_ARGUMENT", "got 33");
    expectError(() => Mesh.host(1.5), "INVALID_ARGUMENT", "must be an integer, got number 1.5");
    expectError(() => Mesh.host(Number.NaN), "INVALID_ARGUMENT", "must be an integer");
    using big = Mesh.host(32);
    expect(big.size).toBe(32);
  });

  test("cudaDeviceCount is a count", () => {
    expect(Number.isInteger(gpus)).toBe(true);
    expect(gpus).toBeGreaterThanOrEqual(0);
  });

  test.skipIf(gpus > 0)("without a GPU: cuda() is NO_DEVICE and auto() is one host device", () => {
    expectError(() => Mesh.cuda(), "NO_DEVICE", "no CUDA device");
    expectError(() => Mesh.cuda([0, 0]), "NO_DEVICE");
    using mesh = Mesh.auto();
    expect(mesh.backend).toBe("host");
    expect(mesh.size).toBe(1);
  });

  test.skipIf(gpus === 0)("with a GPU: cuda() checks its ids", () => {
    expectError(() => Mesh.cuda([]), "INVALID_ARGUMENT", "must not be empty");
    expectError(() => Mesh.cuda([gpus]), "INVALID_ARGUMENT", `device ids[0] = ${gpus} is out of range`);
    expectError(() => Mesh.cuda([0, -1]), "INVALID_ARGUMENT", "device ids[1] must be >= 0");
    using all = Mesh.cuda();
    expect(all.size).toBe(gpus);
    using auto = Mesh.auto();
    expect(auto.backend).toBe("cuda");
  });

  test("memory(position) accounts for buffers and checks the position", () => {
    using mesh = Mesh.host(2);
    const before = mesh.memory(1);
    expect(before.total).toBeGreaterThan(0);
    expect(before.free).toBeLessThanOrEqual(before.total);
    const buffer = DeviceBuffer.alloc(mesh, 1, "complex128", 100);
    expect(mesh.memory(1).held).toBe(before.held + 1600);
    expect(mesh.memory(0).held).toBe(0);
    buffer.dispose();
    expect(mesh.memory(1).held).toBe(before.held);
    expectError(() => mesh.memory(2), "INVALID_ARGUMENT", "position 2 is out of range", "positions 0..1");
    expectError(() => mesh.memory(-1), "INVALID_ARGUMENT", "out of range");
    expectError(() => mesh.memory(0.5), "INVALID_ARGUMENT", "must be an integer mesh position");
  });

  test("copyBandwidth measures a positive rate and checks its arguments", () => {
    using mesh = Mesh.host(2);
    expect(mesh.copyBandwidth(1, 0, 1 << 16, { repeats: 3 })).toBeGreaterThan(0);
    expect(mesh.copyBandwidth(0, 0, 1 << 16, { repeats: 2, bothWays: true })).toBeGreaterThan(0);
    expectError(() => mesh.copyBandwidth(2, 0, 16), "INVALID_ARGUMENT", "dst 2 is out of range");
    expectError(() => mesh.copyBandwidth(0, 1, 0), "INVALID_ARGUMENT", "bytes must be >= 1");
    expectError(() => mesh.copyBandwidth(0, 1, 8, { repeats: 0 }), "INVALID_ARGUMENT", "repeats must be in");
  });

  test("dispose is idempotent; use after dispose is DISPOSED", () => {
    const mesh = Mesh.host(2);
    mesh.dispose();
    mesh.dispose();
    expect(mesh.disposed).toBe(true);
    expect(String(mesh)).toContain("disposed");
    expectError(() => mesh.memory(0), "DISPOSED", "was disposed");
    expectError(() => mesh[HANDLE](), "DISPOSED");
    expectError(() => DeviceBuffer.alloc(mesh, 0, "float32", 4), "DISPOSED");
  });

  test("`using` disposes at the end of the scope", () => {
    let kept: Mesh;
    {
      using mesh = Mesh.host(1);
      kept = mesh;
    }
    expect(kept.disposed).toBe(true);
  });

  test("disposing a mesh frees what was allocated on it", () => {
    const mesh = Mesh.host(3);
    const buffers = [0, 1, 2].map((d) => DeviceBuffer.alloc(mesh, d, "float64", 10));
    mesh.dispose();
    for (const b of buffers) {
      expect(b.disposed).toBe(true);
      expectError(() => b.toHost(), "DISPOSED", "its mesh was disposed");
      b.dispose(); // still idempotent, and no double free
    }
  });
});
