import { describe, expect, test } from "bun:test";
import { Mesh, ShardedMatrix, shardCapacity } from "../lib/index.ts";
import {
  ALL_DTYPES,
  bitsEqual,
  cyclicRowsOn,
  expectError,
  failCopyAfter,
  indexArray,
  randInt,
  randomArray,
  rng,
  rowShardRowsOn,
} from "./helpers.ts";
import { checkRandomFill, expectShards, roundTrip } from "./checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

describe("ShardedMatrix", () => {
  test("row shards: s = ceil(rows / G) rows per position, possibly none", () => {
    using mesh = Mesh.host(4);
    using A = ShardedMatrix.alloc(mesh, { rows: 5, cols: 3 });
    expect(A.dtype).toBe("float64");
    expect(A.shardRows).toBe(2);
    expect([0, 1, 2, 3].map((d) => A.rowRange(d))).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
      [5, 5],
    ]);
    expect(A.shards.length).toBe(4);
    expect(A.shards.every((s, d) => s.device === d && s.mesh === mesh)).toBe(true);
  });

  test("random: the same matrix for a seed on every mesh; hpd is Hermitian and factors", () => {
    using reference = Mesh.host(1);
    using mesh = Mesh.host(3);
    for (const dtype of ALL_DTYPES) checkRandomFill(mesh, reference, dtype);
    using A = ShardedMatrix.alloc(mesh, { rows: 4, cols: 5 });
    expectError(() => A.fillRandom({ kind: "hpd" }), "INVALID_ARGUMENT", "square");
    expectError(() => A.fillRandom({ seed: -1 }), "INVALID_ARGUMENT", "seed");
  });

  test("round trips and cyclic layouts: every dtype, 1..4 positions, odd shapes", () => {
    const shapes: [rows: number, cols: number, tiles: number[]][] = [
      [1, 1, [1, 2]],
      [2, 3, [1, 2, 5]], // rows < devices for G = 3, 4
      [5, 5, [1, 2, 3, 5]],
      [7, 3, [2, 3, 4, 8]],
      [10, 1, [1, 3, 4]],
      [37, 37, [8, 5, 37]], // N not divisible by the tile, nor by G = 2, 3, 4
    ];
    let seed = 100;
    for (let G = 1; G <= 4; G++) {
      using mesh = Mesh.host(G);
      for (const dtype of ALL_DTYPES)
        for (const [rows, cols, tiles] of shapes) for (const T of tiles) roundTrip(mesh, dtype, rows, cols, T, seed++);
    }
  });

  test("random (N, T, G) cases against the reference cyclic layout", () => {
    const r = rng(20240601);
    for (let i = 0; i < 60; i++) {
      const G = randInt(r, 1, 5);
      const rows = randInt(r, 1, 70);
      const cols = randInt(r, 1, 6);
      const T = randInt(r, 1, Math.max(1, Math.ceil(rows / 2) + 2));
      const dtype = ALL_DTYPES[randInt(r, 0, 3)];
      using mesh = Mesh.host(G);
      roundTrip(mesh, dtype, rows, cols, T, i % 2 === 0 ? -1 : 1000 + i);
    }
  });

  test("capacity fits the cyclic layout of every tile up to maxTile", () => {
    for (const [rows, G, maxTile] of [
      [37, 3, 1024],
      [100, 4, 16],
      [1, 2, 1024],
      [64, 2, 64],
    ]) {
      using mesh = Mesh.host(G);
      using A = ShardedMatrix.alloc(mesh, { rows, cols: 2, dtype: "float32", maxTile });
      let need = 0;
      for (let T = 1; T <= Math.min(maxTile, rows); T++) need = Math.max(need, shardCapacity(rows, T, G));
      expect(A.capacity).toBe(need);
      expect(A.capacity).toBeGreaterThanOrEqual(Math.ceil(rows / G));
      for (const s of A.shards) expect(s.length).toBe(need * 2);
    }
  });

  test("a tile beyond maxTile reallocates the shards and keeps the data", () => {
    using mesh = Mesh.host(3);
    const data = indexArray("complex64", 40 * 4);
    using A = ShardedMatrix.fromHost(mesh, data, { rows: 40, cols: 4, dtype: "complex64", maxTile: 2 });
    const small = A.capacity;
    const oldShards = A.shards;
    A.toCyclic(16); // 3 tiles of 16: needs ceil(3/3)*16 = 16 rows, more than ceil(40/3) = 14
    expect(A.capacity).toBe(shardCapacity(40, 16, 3));
    expect(A.capacity).toBeGreaterThan(small);
    expect(oldShards.every((s) => s.disposed)).toBe(true);
    expectShards(A, data, cyclicRowsOn(40, 16, 3));
    expect(mesh.memory(0).held).toBe(A.capacity * 4 * 8); // the old shard was freed
    A.fromCyclic();
    expect(bitsEqual(A.toHost(), data)).toBe(true);
  });

  test("toCyclic with the current tile is a no-op; another tile goes through rows", () => {
    using mesh = Mesh.host(2);
    const data = indexArray("float64", 9 * 9);
    using A = ShardedMatrix.fromHost(mesh, data, { rows: 9, cols: 9 });
    A.toCyclic(2).toCyclic(2);
    expect(A.tileSize).toBe(2);
    A.toCyclic(4);
    expect(A.tileSize).toBe(4);
    expectShards(A, data, cyclicRowsOn(9, 4, 2));
    A.fromCyclic().fromCyclic();
    expect(A.layout).toBe("rows");
    expectShards(A, data, rowShardRowsOn(9, 2));
  });

  test("toHost into a given array", () => {
    using mesh = Mesh.host(2);
    const data = randomArray("complex128", 12, 3);
    using A = ShardedMatrix.fromHost(mesh, data, { rows: 4, cols: 3, dtype: "complex128" });
    const out = new Float64Array(24);
    expect(A.toHost(out)).toBe(out);
    expect(bitsEqual(out, data)).toBe(true);
    expectError(() => A.toHost(new Float64Array(12)), "INVALID_ARGUMENT", "out: expected 2*rows*cols = 24 float64 values for dtype complex128, got 12");
  });

  test("a failed redistribution leaves the matrix as it was (injected copy failures)", () => {
    using mesh = Mesh.host(3);
    const data = indexArray("float32", 29 * 5);
    using A = ShardedMatrix.fromHost(mesh, data, { rows: 29, cols: 5 });
    let failures = 0;
    let backFailures = 0;
    for (let n = 0; n < 12; n++) {
      failCopyAfter(mesh, n);
      let failed = false;
      try {
        A.toCyclic(3);
      } catch (e) {
        failed = true;
        failures++;
        expectError(() => {
          throw e;
        }, "DEVICE_ERROR", "injected copy failure", "restored");
        expect(A.layout).toBe("rows");
        expect(A.tileSize).toBeUndefined();
        expectShards(A, data, rowShardRowsOn(29, 3));
      }
      failCopyAfter(mesh, -1);
      if (!failed) {
        // n beyond the plan's copies: the move went through; go back for the next round
        expectShards(A, data, cyclicRowsOn(29, 3, 3));
        A.fromCyclic();
      }
      // the way back fails too, and stays cyclic
      A.toCyclic(3);
      failCopyAfter(mesh, n);
      try {
        A.fromCyclic();
      } catch {
        backFailures++;
        expect(A.layout).toBe("cyclic");
        expect(A.tileSize).toBe(3);
        expectShards(A, data, cyclicRowsOn(29, 3, 3));
      }
      failCopyAfter(mesh, -1);
      A.fromCyclic();
      expect(bitsEqual(A.toHost(), data)).toBe(true);
    }
    expect(failures).toBeGreaterThan(0);
    expect(backFailures).toBe(failures);
  });

  test("argument errors name the problem", () => {
    using mesh = Mesh.host(2);
    const opts = { rows: 3, cols: 4 };
    expectError(() => ShardedMatrix.alloc(mesh, { rows: 0, cols: 4 }), "INVALID_ARGUMENT", "rows must be in [1, 2^40], got 0");
    expectError(() => ShardedMatrix.alloc(mesh, { rows: 2, cols: 1.5 }), "INVALID_ARGUMENT", "cols must be an integer");
    expectError(() => ShardedMatrix.alloc(mesh, { ...opts, maxTile: 0 }), "INVALID_ARGUMENT", "maxTile must be in [1, 2^40], got 0");
    expectError(() => ShardedMatrix.alloc(mesh, { ...opts, dtype: "bf16" as "float32" }), "INVALID_ARGUMENT", "unknown dtype");
    expectError(() => ShardedMatrix.fromHost(mesh, new Float32Array(20), { ...opts, dtype: "complex64" }), "INVALID_ARGUMENT", "data: expected 2*rows*cols = 24 float32 values for dtype complex64, got 20");
    expectError(() => ShardedMatrix.fromHost(mesh, new Float64Array(12), { ...opts, dtype: "float32" } as never), "INVALID_ARGUMENT", "data must be a Float32Array for dtype float32");
    expectError(() => ShardedMatrix.fromHost(mesh, [1, 2] as unknown as Float64Array, opts), "INVALID_ARGUMENT", "data must be a Float32Array or Float64Array");
    using A = ShardedMatrix.alloc(mesh, opts);
    for (const bad of [0, -1]) expectError(() => A.toCyclic(bad), "INVALID_ARGUMENT", `tile size must be in [1, 2^40], got ${bad}`);
    expectError(() => A.toCyclic(1.5), "INVALID_ARGUMENT", "tile size must be an integer, got number 1.5");
    expectError(() => A.toCyclic(Number.NaN), "INVALID_ARGUMENT", "tile size must be an integer");
    expectError(() => A.rowRange(2), "INVALID_ARGUMENT", "position 2 is out of range");
    expect(A.layout).toBe("rows");
  });

  test("use after dispose: the matrix, a shard, or its mesh", () => {
    const mesh = Mesh.host(2);
    const A = ShardedMatrix.alloc(mesh, { rows: 4, cols: 4 });
    const shards = A.shards;
    A.dispose();
    A.dispose();
    expect(A.disposed).toBe(true);
    expect(shards.every((s) => s.disposed)).toBe(true);
    for (const use of [() => A.toHost(), () => A.toCyclic(2), () => A.fromCyclic(), () => A.shards]) {
      expectError(use, "DISPOSED", "it was disposed");
    }
    const B = ShardedMatrix.alloc(mesh, { rows: 4, cols: 4 });
    B.shards[1].dispose();
    expectError(() => B.toCyclic(2), "DISPOSED", "its shard 1 was disposed");
    const C = ShardedMatrix.alloc(mesh, { rows: 4, cols: 4 });
    mesh.dispose();
    expect(C.disposed).toBe(true);
    expectError(() => C.toHost(), "DISPOSED", "its mesh was disposed");
    expectError(() => ShardedMatrix.alloc(mesh, { rows: 4, cols: 4 }), "DISPOSED");
  });
});
