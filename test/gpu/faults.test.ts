// Faults on CUDA meshes: an allocation (buffers, staging, cuSOLVERMg / cuSOLVERDn workspace) and a
// solver call made to fail at every index of each routine on both paths, and a real out-of-memory
// of the solver workspace. Each failure must give the injected status, leave A in its documented
// post-state, and keep no memory beyond the mesh's cache; the device's free memory must be back
// where it started once the meshes are gone. Skipped without a GPU (see gpu.test.ts).
import { describe, expect, test } from "bun:test";
import { DeviceBuffer, estimateMemory, Mesh, potri, potrs, ShardedMatrix, syevd } from "../../lib/index.ts";
import { describeCounts, sweepFaults, type SweepShape, type SweptRoutine } from "../fault-sweep.ts";
import { bitsEqual, expectError } from "../helpers.ts";
import { longTimeouts } from "../timeout.ts";
import { gpus, gpuSuite } from "./gpus.ts";

longTimeouts();

const ids = gpus >= 2 ? [0, 1] : [0, 0];
const SHAPES: SweepShape[] = [
  { n: 300, T: 64, dtype: "float64" },
  { n: 37, T: 8, dtype: "complex64" },
];
const MiB = 2 ** 20;

/** Free bytes on each distinct GPU of the mesh, read through a one-position probe mesh. */
function freeMemory(): number[] {
  return [...new Set(ids)].map((id) => {
    using probe = Mesh.cuda([id]);
    return probe.memory(0).free;
  });
}

if (gpuSuite(`faults on CUDA ${JSON.stringify(ids)}`)) describe(`faults on CUDA ${JSON.stringify(ids)}`, () => {
  let before: number[];

  test("baseline: free device memory after a warm-up", () => {
    using mesh = Mesh.cuda(ids);
    using A = ShardedMatrix.random(mesh, { rows: 64, cols: 64, dtype: "float64" }, { seed: 1 });
    potrs(A, new Float64Array(64).fill(1), { strategy: "multi", tileSize: 16 });
    before = freeMemory();
  });

  for (const s of SHAPES)
    for (const fault of ["alloc", "solver"] as const)
      test(`${fault} failures, N=${s.n} ${s.dtype} T=${s.T}: every index, potrs / potri / syevd / syevd values, multi and single`, () => {
        const lines: string[] = [];
        let fired = 0;
        for (const routine of ["potrs", "potri", "syevd", "syevd-values"] as SweptRoutine[])
          for (const path of ["multi", "single"] as const) {
            const counts = sweepFaults(() => Mesh.cuda(ids), s, routine, path, fault);
            fired += counts.fired;
            lines.push(`${routine} ${path}: ${counts.fired} fired (${describeCounts(counts)})`);
          }
        console.log(`CUDA ${fault} faults N=${s.n} ${s.dtype}: ${fired} injected\n  ${lines.join("\n  ")}`);
      });

  test("a real out-of-memory of the cuSOLVERMg workspace: OUT_OF_MEMORY naming the position, A unchanged", () => {
    using mesh = Mesh.cuda(ids);
    const n = 4096;
    using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype: "float64", maxTile: 256 }, { seed: 3 });
    const host = A.toHost();
    const need = estimateMemory("potri", n, "float64", mesh, { tileSize: 256 });
    const baseline = mesh.memory(0).held;
    // leave the staging and less than half the workspace free on the first GPU
    const spare = need.staging + need.workspace / 2;
    using filler = DeviceBuffer.alloc(mesh, 0, "float32", Math.floor((mesh.memory(0).free - spare) / 4));
    const e = expectError(() => potri(A, { strategy: "multi", tileSize: 256 }), "OUT_OF_MEMORY", "out of memory on device");
    console.log(`real workspace OOM: ${e.message}`);
    expect(e.device).toBeGreaterThanOrEqual(0);
    expect(A.layout).toBe("rows");
    expect(bitsEqual(A.toHost(), host)).toBe(true);
    expect(mesh.memory(0).held - filler.byteLength).toBeLessThanOrEqual(baseline + need.workspace);
  });

  test("NaN and Inf in A or B: INVALID_ARGUMENT naming the element, A unchanged, on both paths", () => {
    using mesh = Mesh.cuda(ids);
    const n = 300;
    for (const dtype of ["float32", "complex128"] as const)
      for (const strategy of ["multi", "single"] as const) {
        using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { seed: 4 });
        const c = dtype === "complex128" ? 2 : 1;
        const edited = A.toHost();
        edited[(200 * n + 250) * c + c - 1] = Number.NaN; // the imaginary part for complex
        edited[(170 * n + 170) * c] = Number.NEGATIVE_INFINITY; // on the diagonal: first in row order
        using B = ShardedMatrix.fromHost(mesh, edited as never, { rows: n, cols: n, dtype });
        for (const run of [() => potrs(B, new (edited.constructor as Float64ArrayConstructor)(n * c).fill(1) as never, { strategy }), () => potri(B, { strategy }), () => syevd(B, { strategy })]) {
          const e = expectError(run, "INVALID_ARGUMENT", "A[170][170] is -Inf");
          expect(e.index).toBe(170 * n + 170);
          expect(B.layout).toBe("rows");
          expect(bitsEqual(B.toHost(), edited)).toBe(true);
        }
        const b = new (edited.constructor as Float64ArrayConstructor)(n * c).fill(1);
        b[7 * c] = Number.POSITIVE_INFINITY;
        expectError(() => potrs(A, b as never, { strategy }), "INVALID_ARGUMENT", "B[7][0] is +Inf");
        expect(A.layout).toBe("rows");
      }
  });

  // An upload from pageable memory may still be landing when cudaMemcpy returns, and the scan runs
  // on another stream: host copies now wait for their data. A NaN in the very last element of a
  // large upload is where a scan that ran early would miss it.
  test("a NaN in the last row of a matrix uploaded just before the call is found, on both paths", () => {
    using mesh = Mesh.cuda(ids);
    const n = 4096;
    const data = new Float32Array(n * n);
    for (let i = 0; i < n; i++) data[i * n + i] = n;
    data[n * n - 1] = Number.NaN;
    for (let round = 0; round < 3; round++)
      for (const strategy of ["multi", "single"] as const) {
        using A = ShardedMatrix.fromHost(mesh, data, { rows: n, cols: n, dtype: "float32" });
        const e = expectError(() => potrs(A, new Float32Array(n).fill(1), { strategy }), "INVALID_ARGUMENT", `A[${n - 1}][${n - 1}] is NaN`);
        expect(e.index).toBe(n * n - 1);
      }
  });

  test("free device memory is back at the baseline", () => {
    const after = freeMemory();
    const delta = after.map((f, i) => before[i] - f);
    console.log(`free memory change over the fault tests (bytes per GPU): ${delta.join(", ")}`);
    for (const d of delta) expect(d).toBeLessThanOrEqual(8 * MiB);
  });
});
