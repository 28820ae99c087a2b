// bunmg's own judgement of cuSOLVER's results, through the public API on CUDA: the defects seen
// on one H200 before bunmg checked factors itself. cuSOLVERDn and cuSOLVERMg returned info 0 and
// an X of NaN when only the last leading minor was not positive definite, and cuSOLVERDn named
// minor k + 1 when the failing minor k was a multiple of 64. Every case must report exactly the
// first failing minor, on both paths, and leave A as it was.
import { describe, expect, test } from "bun:test";
import { cholesky, Mesh, potri, potrs, ShardedMatrix, type DType, type Strategy } from "../../lib/index.ts";
import { ALL_DTYPES, bitsEqual, expectError } from "../helpers.ts";
import { longTimeouts } from "../timeout.ts";
import { gpuSuite } from "./gpus.ts";

longTimeouts();

const hasGpu = gpuSuite("GPU result checks");

/** A diagonally dominant Hermitian matrix with A[k-1][k-1] = value: leading minors 1..k-1 are
 * positive definite, minor k is not (for value <= 0). */
function withBadPivot(mesh: Mesh, n: number, dtype: DType, k: number, value: number): ShardedMatrix {
  const A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { seed: 5 });
  const i = k - 1;
  const position = mesh.devices.findIndex((_, d) => { const [start, end] = A.rowRange(d); return i >= start && i < end; });
  const [start] = A.rowRange(position);
  const element = new (dtype === "float32" || dtype === "complex64" ? Float32Array : Float64Array)(dtype.startsWith("complex") ? 2 : 1);
  element[0] = value;
  A.shards[position]!.copyFromHost(element as never, (i - start) * n + i);
  return A;
}

const CASES: [n: number, k: number, value: number][] = [
  [1024, 1, -1024],
  [1024, 64, -1024],
  [1024, 128, -1024],
  [1024, 256, -1024],
  [1024, 512, -1024],
  [1024, 768, -1024],
  [1024, 1024, -1024],
  [1024, 1024, -1e-3],
  [1024, 1024, 0],
  [255, 128, -255],
  [255, 255, 0],
];

describe.skipIf(!hasGpu).each([[[0]], [[0, 0]]] as const)("cuda %j", (ids) => {
  for (const strategy of ["single", "multi"] as Strategy[])
    for (const dtype of ALL_DTYPES)
      test(`${strategy} ${dtype}: the first leading minor that is not positive definite, A unchanged`, () => {
        using mesh = Mesh.cuda([...ids]);
        for (const [n, k, value] of CASES)
          for (const [name, run] of [
            ["potrs", (A: ShardedMatrix) => potrs(A, new (dtype === "float32" || dtype === "complex64" ? Float32Array : Float64Array)(n * (dtype.startsWith("complex") ? 2 : 1)).fill(1) as never, { strategy })],
            ["cholesky", (A: ShardedMatrix) => cholesky(A, { strategy })],
            ["potri", (A: ShardedMatrix) => potri(A, { strategy })],
          ] as const) {
            using A = withBadPivot(mesh, n, dtype, k, value);
            const before = A.toHost();
            const e = expectError(() => run(A), "NOT_POSITIVE_DEFINITE");
            expect({ name, n, k, value, index: e.index }).toEqual({ name, n, k, value, index: k });
            expect(A.layout).toBe("rows");
            expect(bitsEqual(A.toHost(), before)).toBe(true);
          }
      });
});
