// bunmg judges a solver's results itself (csrc/src/routines/verify.c): a Cholesky factor only
// with a real, finite, positive diagonal, and the failing minor read from the factor, whatever
// info says. The solvers' results are falsified here on the host backend (debug_inject's
// FACTOR_NAN and FACTOR_INFO), on both paths, for every routine that factors.
import { describe, expect, test } from "bun:test";
import { cholesky, Mesh, potri, potrs, ShardedMatrix, type DType, type Strategy } from "../lib/index.ts";
import { ALL_DTYPES, bitsEqual, components, expectError, injectFault, randomArray, randomSPD, store } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const N = 13;
const PATHS: readonly Strategy[] = ["single", "multi"];

const ROUTINES = ["cholesky", "potrs", "potri"] as const;

/** An SPD matrix whose leading minors up to `failing` - 1 are positive and minor `failing` is not
 * (0: positive definite). */
function matrix(dtype: DType, failing = 0): Float32Array | Float64Array {
  const c = components(dtype);
  const a = randomSPD(N, c, 40 + failing);
  if (failing > 0) a[((failing - 1) * N + failing - 1) * c] = -N;
  return store(dtype, a);
}

function run(dtype: DType, strategy: Strategy, routine: (typeof ROUTINES)[number], host: Float32Array | Float64Array, arm: (mesh: Mesh) => void) {
  using mesh = Mesh.host(3);
  using A = ShardedMatrix.fromHost(mesh, host as never, { rows: N, cols: N, dtype });
  arm(mesh);
  const options = { tileSize: 4, strategy };
  const call = routine === "cholesky" ? () => cholesky(A, options) : routine === "potrs" ? () => potrs(A, randomArray(dtype, N, 5) as never, options) : () => potri(A, options);
  const e = expectError(call, "NOT_POSITIVE_DEFINITE", "A is not positive definite: its leading minor of order");
  expect(A.layout).toBe("rows");
  expect(bitsEqual(A.toHost(), host)).toBe(true); // unchanged
  return e;
}

describe("a factor is accepted only with a real, finite, positive diagonal", () => {
  for (const dtype of ALL_DTYPES)
    for (const strategy of PATHS)
      for (const routine of ROUTINES)
        test(`${routine} ${strategy} ${dtype}: a NaN pivot with info 0 (first, a tile boundary, the last) is the failing minor`, () => {
          for (const k of [0, 4, N - 1]) {
            const e = run(dtype, strategy, routine, matrix(dtype), (mesh) => injectFault(mesh, "factorNaN", k));
            expect(e.index).toBe(k + 1);
          }
        });
});

describe("the failing minor is bunmg's, not the solver's info", () => {
  for (const dtype of ALL_DTYPES)
    for (const strategy of PATHS)
      test(`${strategy} ${dtype}: info off by one at a block edge, info 0 for the last minor, info on a good factor`, () => {
        for (const failing of [1, 4, 8, N]) {
          // cuSOLVERDn named minor k + 1 when k was a multiple of 64: a wrong info changes nothing
          expect(run(dtype, strategy, "potrs", matrix(dtype, failing), (mesh) => injectFault(mesh, "factorInfo", Math.min(failing + 1, N))).index).toBe(failing);
          // and it reported info 0 when only the last minor failed (X came back NaN)
          expect(run(dtype, strategy, "cholesky", matrix(dtype, failing), (mesh) => injectFault(mesh, "factorInfo", 0)).index).toBe(failing);
        }
        // a factorization reported failed is never accepted: without a bad pivot, its minor is named
        expect(run(dtype, strategy, "potri", matrix(dtype), (mesh) => injectFault(mesh, "factorInfo", 5)).index).toBe(5);
      });
});
