// The mp engine on a GPU (engine "cusolvermp"): a world of one without MPI on device 0, a 1 x 1
// grid. Every routine x dtype at N = 1, below a block, odd N and odd blocks, around 1000 with the
// default block (256), judged by residuals and LAPACK's eigenvalues (mp-checks.ts); not positive
// definite at the first minor, a block boundary and the last; NaN input; falsified eigen
// results; device memory back where it was after a batch of every routine (run twice: CUDA loads
// a kernel's module on its first use).
import { afterAll, describe, expect, test } from "bun:test";
import { Mesh, type DType } from "../../lib/index.ts";
import { MpWorld } from "../../lib/mp.ts";
import { runCase } from "../fixtures/mp-run.ts";
import type { MpCase } from "../fixtures/mp-spec.ts";
import { ALL_DTYPES } from "../helpers.ts";
import { expectCaseCorrect, expectCaseFailed, npdCase, spdCase, type MpJob } from "../mp-checks.ts";
import { longTimeouts } from "../timeout.ts";
import { gpuSuite } from "./gpus.ts";

longTimeouts();

/** The cases run in this process's world of one, as runMpJob's results of one rank. */
function run(world: MpWorld, cases: MpCase[]): MpJob {
  const t0 = performance.now();
  return { results: cases.map((c) => [runCase(world, c)]), exit: undefined as never, ms: performance.now() - t0, other: [] };
}

function routines(tag: string, dtype: DType, n: number, options: MpCase["options"]): MpCase[] {
  const id = `${tag}-${dtype}-${n}`;
  return [
    spdCase(`${id}-potrs`, "potrs", dtype, n, options, { nrhs: 3 }),
    spdCase(`${id}-potrs1`, "potrs", dtype, n, options, { nrhs: 1 }),
    spdCase(`${id}-cholesky`, "cholesky", dtype, n, options),
    spdCase(`${id}-potri`, "potri", dtype, n, options),
    spdCase(`${id}-syevd`, "syevd", dtype, n, options),
    spdCase(`${id}-rows`, "syevd", dtype, n, options, { rows: true }),
    spdCase(`${id}-values`, "syevd", dtype, n, options, { vectors: false }),
    spdCase(`${id}-getrs`, "getrs", dtype, n, options),
    spdCase(`${id}-sygvd`, "sygvd", dtype, n, options, { vectors: true }),
    spdCase(`${id}-sygvd0`, "sygvd", dtype, n, options, { vectors: false }),
    spdCase(`${id}-gels`, "gels", dtype, n, options, { m: n + 5 }),
    spdCase(`${id}-gesvdv`, "gesvd", dtype, n, options, { m: n + 5 }),
    spdCase(`${id}-gesvd0`, "gesvd", dtype, n, options, { m: n + 5, vectors: false }),
  ];
}

if (gpuSuite("mp engine on a GPU (cuSOLVERMp)")) {
  describe("mp engine on a GPU: a world of one on device 0 (cuSOLVERMp, 1 x 1)", () => {
    const world = MpWorld.join({ engine: "cusolvermp", device: 0 });
    const mesh = Mesh.cuda([0]);
    afterAll(() => {
      world.leave();
      mesh.dispose();
    });
    const free = () => mesh.memory(0).free;

    function expectCorrect(cases: MpCase[]): void {
      const job = run(world, cases);
      cases.forEach((k, i) => expectCaseCorrect(k, job, i));
    }

    test("the world: rank 0 of 1, engine cusolvermp; every routine once (the libraries' own first-use allocations)", () => {
      expect([world.rank, world.size, world.engine]).toEqual([0, 1, "cusolvermp"]);
      const warm = ALL_DTYPES.flatMap((d) => routines("warm", d, 9, { block: 4 }));
      const job = run(world, warm);
      warm.forEach((k, i) => expectCaseCorrect(k, job, i));
    });

    for (const dtype of ALL_DTYPES) {
      test(`every routine, ${dtype}: N = 1, N below a block (97), odd N and odd blocks (301 in 67, 130 in 13)`, () => {
        expectCorrect([...routines("one", dtype, 1, {}), ...routines("small", dtype, 97, {}), ...routines("odd", dtype, 301, { block: 67 }), ...routines("odd", dtype, 130, { block: 13 })]);
      });
    }

    test("odd N around 1000 with the default block (256): potrs, cholesky in every dtype; potri, syevd in two each", () => {
      const n = 1037;
      expectCorrect([
        ...ALL_DTYPES.flatMap((d) => [spdCase(`big-${d}-potrs`, "potrs", d, n, {}, { nrhs: 2 }), spdCase(`big-${d}-cholesky`, "cholesky", d, n, {})]),
        spdCase("big-potri-f64", "potri", "float64", n, {}),
        spdCase("big-potri-c64", "potri", "complex64", n, {}),
        spdCase("big-syevd-c128", "syevd", "complex128", n, {}),
        spdCase("big-syevd-f32", "syevd", "float32", n, {}, { rows: true }),
      ]);
    });

    test("not positive definite at the first minor, a block boundary and the last minor: NOT_POSITIVE_DEFINITE with it, A unchanged", () => {
      const n = 40;
      const cases = [0, 8, n - 1].flatMap((p) =>
        (["potrs", "cholesky", "potri"] as const).map((routine, i) => npdCase(`npd-${p}-${routine}`, routine, ALL_DTYPES[(p + i) % 4]!, n, p, 8)),
      );
      const job = run(world, cases);
      cases.forEach((k, i) => expectCaseFailed(k, job, i, "NOT_POSITIVE_DEFINITE", { index: Number(k.id.split("-")[1]) + 1, says: "not positive definite" }));
    });

    test("device memory: a batch of every routine in every dtype, failures included, leaves the device's free memory as it found it", () => {
      const batch = [...ALL_DTYPES.flatMap((d) => routines("memory", d, 301, { block: 67 })), npdCase("memory-npd", "potri", "complex64", 40, 8, 8)];
      run(world, batch); // the kernels' modules loaded
      const before = free();
      const job = run(world, batch);
      expect(job.results.map((r) => r[0]!.ok)).toEqual(batch.map((k) => k.id !== "memory-npd"));
      expect(free(), "device memory freed after the calls").toBeGreaterThanOrEqual(before);
    });

    test("a NaN in A is INVALID_ARGUMENT before the device sees it; falsified eigenvectors and eigenvalues are SOLVER_ERROR; A unchanged", () => {
      const nan = spdCase("nan", "potrs", "float64", 9, {});
      nan.a[7 * 9 + 8] = Number.NaN;
      const cases: MpCase[] = [
        nan,
        spdCase("vectors", "syevd", "float32", 33, { block: 8 }, { fault: { rank: 0, kind: "skewVectors", at: 0 } }),
        spdCase("values", "syevd", "complex128", 33, { block: 8 }, { fault: { rank: 0, kind: "skewValues", at: 0 } }),
        spdCase("after", "potrs", "complex64", 33, { block: 8 }),
      ];
      const job = run(world, cases);
      expectCaseFailed(cases[0]!, job, 0, "INVALID_ARGUMENT", { says: "A[7][8] is NaN" });
      expectCaseFailed(cases[1]!, job, 1, "SOLVER_ERROR", { says: "the eigensolver's vectors are not orthonormal" });
      expectCaseFailed(cases[2]!, job, 2, "SOLVER_ERROR", { says: "does not satisfy A V = V diag(w)" });
      expectCaseCorrect(cases[3]!, job, 3);
    });

    test("getrs, sygvd, gels and gesvd on the device: correct, A (and B) unchanged, nothing left on the device", () => {
      const cases = [
        spdCase("getrs", "getrs", "float64", 9, {}),
        spdCase("sygvd", "sygvd", "complex64", 9, {}),
        spdCase("gels", "gels", "float32", 9, {}, { m: 12 }),
        spdCase("gesvd", "gesvd", "complex128", 9, {}, { m: 12 }),
        spdCase("after", "syevd", "float64", 9, {}),
      ];
      run(world, cases); // the libraries' first-use allocations
      const before = free();
      const job = run(world, cases);
      cases.forEach((k, i) => expectCaseCorrect(k, job, i));
      expect(free(), "device memory freed after the general routines").toBeGreaterThanOrEqual(before);
    });

    test("a second join in the process is INVALID_ARGUMENT; the world stays usable", () => {
      expect(() => MpWorld.join({ engine: "cusolvermp", device: 0 })).toThrow("has joined its job already");
      expectCorrect([spdCase("again", "potrs", "float64", 5, {})]);
    });
  });
}
