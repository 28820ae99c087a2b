// The distributed engine on CPUs (lib/mp.ts): real MPI ranks under mpirun (launch({ engine: "mp" })),
// ScaLAPACK on every grid of 1, 2, 4 and 6 ranks. Results are judged by residuals and against
// LAPACK on the whole matrix; failures must reach every rank with the same status and message,
// leave A unchanged everywhere, and a rank killed at any step must leave the others with
// PEER_LOST naming it, within their timeout, and nothing in /dev/shm.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { DType } from "../lib/index.ts";
import type { MpCase } from "./fixtures/mp-spec.ts";
import { ALL_DTYPES, components, epsilon } from "./helpers.ts";
import { expectCaseCorrect, expectCaseFailed, mpiMissing, npdCase, runMpJob, sharedSegments, spdCase, type MpJob } from "./mp-checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const missing = mpiMissing();
if (missing) test.skip(`mp engine: skipped, ${missing}`, () => {});

type Grid = MpCase["options"];
const ROUTINES = [
  ["potrs", {}],
  ["cholesky", {}],
  ["potri", {}],
  ["syevd", { vectors: true }],
  ["syevd", { vectors: true, rows: true }],
  ["syevd", { vectors: false }],
  ["getrs", {}],
  ["sygvd", { vectors: true }],
  ["sygvd", { vectors: true, rows: true }],
  ["sygvd", { vectors: false }], // the same A and B as the cases above (same id length): the same values
] as const;

/** Every routine in `dtypes` on `grid` (gels with A (n + 5) x n and n x 1), and the
 * redistribution of two element sizes. */
function routineCases(tag: string, grid: Grid, dtypes: readonly DType[], n: number): MpCase[] {
  const cases = dtypes.flatMap((dtype) => [
    ...ROUTINES.map(([routine, extra], i) => spdCase(`${tag}-${routine}${i}-${dtype}`, routine, dtype, n, grid, extra)),
    spdCase(`${tag}-gels-${dtype}`, "gels", dtype, n, grid, { m: n + 5 }),
    spdCase(`${tag}-gels1-${dtype}`, "gels", dtype, 1, grid, { m: n }),
    spdCase(`${tag}-gesvdv-${dtype}`, "gesvd", dtype, n, grid, { m: n + 5 }),
    spdCase(`${tag}-gesvd0-${dtype}`, "gesvd", dtype, n, grid, { m: n + 5, vectors: false }),
    spdCase(`${tag}-gesvd1-${dtype}`, "gesvd", dtype, 1, grid, { m: n }),
  ]);
  for (const dtype of ["float64", "complex128"] as const) cases.push(spdCase(`${tag}-redistribute-${dtype}`, "redistribute", dtype, n, grid));
  return cases;
}

function expectAllCorrect(cases: MpCase[], job: MpJob): void {
  expect(job.other.filter((l) => !l.includes("[-1 ")), "no other output from the ranks").toEqual([]);
  cases.forEach((k, i) => {
    if (k.routine === "redistribute") {
      for (const r of job.results[i]!) expect(r?.misplaced, `${k.id}: rank ${r?.rank} ${r?.message ?? ""}`).toBe(0);
    } else {
      expectCaseCorrect(k, job, i);
    }
    if ((k.routine === "sygvd" || k.routine === "gesvd") && k.vectors === false) {
      // judged by the vectors' case of the same input, whose residuals pin its values
      const j = cases.findIndex((o) => o.routine === k.routine && o.vectors !== false && o.n === k.n && o.dtype === k.dtype && o.id.length === k.id.length && o.id.split("-")[0] === k.id.split("-")[0]);
      const w = job.results[i]![0]!.values!, ref = job.results[j]![0]!.values!;
      const scale = Math.max(...ref.map(Math.abs));
      ref.forEach((v, q) => expect(Math.abs(w[q]! - v), `${k.id}: w[${q}] against the vectors' case`).toBeLessThan(100 * k.n * epsilon(k.dtype) * scale));
    }
  });
  expect(job.exit.exitCode).toBe(0);
}

describe.skipIf(missing !== undefined)("mp engine: every routine, dtype and grid (ScaLAPACK under mpirun)", () => {
  test("1 rank, 1 x 1: every routine x dtype, N = 13, blocks of 3", async () => {
    const cases = routineCases("1x1", { block: 3 }, ALL_DTYPES, 13);
    expectAllCorrect(cases, await runMpJob(1, cases));
  });

  test("2 ranks, 2 x 1 and 1 x 2: every routine x dtype, N = 17, blocks of 5 and 3", async () => {
    const cases = [
      ...routineCases("2x1", { block: 5, prows: 2, pcols: 1 }, ALL_DTYPES, 17),
      ...routineCases("1x2", { block: 3, prows: 1, pcols: 2 }, ALL_DTYPES, 17),
    ];
    expectAllCorrect(cases, await runMpJob(2, cases));
  });

  test("4 ranks, 2 x 2 in both rank orders, N = 23, blocks of 3 and 5; the default grid and block", async () => {
    const cases = [
      ...routineCases("2x2", { block: 3 }, ["float32", "complex128"], 23),
      ...routineCases("2x2c", { block: 5, order: "column" }, ["float64", "complex64"], 23),
      ...routineCases("default", {}, ["float64", "complex64"], 23), // one block of 64: everything on rank 0
    ];
    expectAllCorrect(cases, await runMpJob(4, cases));
  });

  test("6 ranks, 2 x 3 and 3 x 2, N = 19, blocks of 3", async () => {
    const cases = [
      ...routineCases("2x3", { block: 3 }, ["float64", "complex64"], 19),
      ...routineCases("3x2", { block: 3, prows: 3, pcols: 2, order: "column" }, ["float32", "complex128"], 19),
    ];
    expectAllCorrect(cases, await runMpJob(6, cases));
  });
});

/** A made not positive definite at 0-based diagonal p (leading minor p + 1 fails). */
/** Runs `code` (after importing MpWorld) in a child with `env`; its stdout. */
function child(code: string, env: Record<string, string>): string {
  const script = `import { MpWorld } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "mp.ts"))};\n${code}`;
  return Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ...env }, stdout: "pipe" }).stdout.toString();
}

test("mp engine: MPI that cannot be loaded is LIBRARY_NOT_FOUND naming where from and what to install", () => {
  const out = child(`try { MpWorld.join(); } catch (e) { console.log(e.code + ": " + e.message); }`, { BUNMG_MPI: "/no/such/libmpi.so.40" });
  expect(out).toContain("LIBRARY_NOT_FOUND: mp_join: MPI could not be loaded from /no/such/libmpi.so.40 (BUNMG_MPI)");
  expect(out).toContain("apt-get install libopenmpi3 openmpi-bin");
});

describe.skipIf(missing !== undefined)("mp engine: handles (one process, an MPI singleton)", () => {
  test("ScaLAPACK that cannot be loaded: LIBRARY_NOT_FOUND from the first routine, A unchanged", () => {
    const out = child(
      `using w = MpWorld.join(); const A = w.allocRows(3); A.data.fill(1);
       try { w.potri(A); } catch (e) { console.log(e.code + ": " + e.message + " | " + A.data.every((v) => v === 1)); }`,
      { BUNMG_SCALAPACK: "/no/such/libscalapack.so" },
    );
    expect(out).toContain("LIBRARY_NOT_FOUND: mp_potri: ScaLAPACK could not be loaded; tried /no/such/libscalapack.so");
    expect(out).toContain("libscalapack-openmpi2.2");
    expect(out.trim()).toEndWith("| true");
  });

  test("bad arguments are INVALID_ARGUMENT before MPI sees them; a factor or world used after it ended is DISPOSED", () => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "fixtures", "mp-handles.ts")], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode, r.stderr.toString()).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual({
      solve: "ok",
      logDet: "ok",
      "a second join": "INVALID_ARGUMENT: mp_join: this process has joined its MPI job already; leave first",
      "rows of the wrong length": "INVALID_ARGUMENT: A.data: expected this rank's rows (5) * n = 25 float64 values for dtype float64, got 5",
      "a Float32Array for float64": "INVALID_ARGUMENT: A.data must be a Float64Array for dtype float64, got Float32Array of length 25",
      "B of the wrong length": "INVALID_ARGUMENT: B: expected a positive multiple of n = 5 elements (n x nrhs, row-major), got 6",
      "an unknown order": 'INVALID_ARGUMENT: order must be "row" or "column", got "diagonal"',
      "an unknown fault": 'INVALID_ARGUMENT: fault must be one of fail, die, dieEngine, skewVectors, skewValues, got "explode"',
      "solve after dispose": "DISPOSED: MpFactor(5 x 5 float64, rank 0, disposed) is no longer usable: it was disposed",
      "a factor after its world left": "DISPOSED: MpFactor(5 x 5 float64, rank 0, disposed) is no longer usable: its MpWorld left",
      "potrs after leave": "DISPOSED: MpWorld(rank 0 of 1, left) is no longer usable: it left",
      "join again after leave": "ok",
    });
  });
});

describe.skipIf(missing !== undefined)("mp engine: failures reach every rank, A unchanged", () => {
  test("not positive definite at the first minor, a block boundary and the last minor (4 ranks)", async () => {
    const n = 17;
    const cases = [0, 3, n - 1].flatMap((p) =>
      (["potrs", "cholesky", "potri"] as const).map((routine, i) => npdCase(`npd-${p}-${routine}`, routine, ALL_DTYPES[(p + i) % 4]!, n, p)),
    );
    const job = await runMpJob(4, cases);
    cases.forEach((k, i) => expectCaseFailed(k, job, i, "NOT_POSITIVE_DEFINITE", { index: Number(k.id.split("-")[1]) + 1, says: "not positive definite" }));
  });

  test("getrs: a singular A (a zero row) at the first pivot, a block boundary and the last pivot; sygvd: B not positive definite at three minors; gels: a zero column there (4 ranks)", async () => {
    const n = 17;
    const cases = [0, 3, n - 1].flatMap((p, i) => {
      const singular = spdCase(`singular-${p}`, "getrs", ALL_DTYPES[i]!, n, { block: 3 });
      const c = components(singular.dtype);
      singular.a.fill(0, p * n * c, (p + 1) * n * c);
      const npd = spdCase(`npd-${p}`, "sygvd", ALL_DTYPES[3 - i]!, n, { block: 3 });
      npd.bm![(p * n + p) * components(npd.dtype)] = -1;
      const deficient = spdCase(`deficient-${p}`, "gels", ALL_DTYPES[(i + 1) % 4]!, n, { block: 3 }, { m: n + 4 });
      const cd = components(deficient.dtype);
      for (let row = 0; row < n + 4; row++) deficient.a.fill(0, (row * n + p) * cd, (row * n + p + 1) * cd); // column p
      return [singular, npd, deficient];
    });
    const job = await runMpJob(4, cases);
    cases.forEach((k, i) => {
      const p = Number(k.id.split("-")[1]);
      if (k.routine === "getrs") expectCaseFailed(k, job, i, "SINGULAR", { index: p + 1, says: `A is singular: pivot ${p + 1} of its LU factorization` });
      else if (k.routine === "gels") expectCaseFailed(k, job, i, "SINGULAR", { index: p + 1, says: "A does not have full column rank" });
      else expectCaseFailed(k, job, i, "NOT_POSITIVE_DEFINITE", { index: p + 1, says: "B: " });
    });
  });

  test("bad input on one rank, disagreeing ranks, an impossible grid, a failed transfer, falsified eigen and singular vectors and values (2 ranks)", async () => {
    const nan = spdCase("nan", "potrs", "float64", 9, { block: 2 });
    nan.a[7 * 9 + 8] = Number.NaN; // A[7][8]: on rank 1
    const cases: MpCase[] = [
      nan,
      spdCase("deviant", "syevd", "complex64", 9, { block: 2 }, { deviant: { rank: 1, options: { block: 3 } } }),
      spdCase("grid", "potri", "float32", 9, { block: 2, prows: 3 }),
      spdCase("fail", "redistribute", "float64", 9, { block: 2, prows: 2, pcols: 1 }, { fault: { rank: 1, kind: "fail", at: 3 } }),
      spdCase("vectors", "syevd", "float32", 9, { block: 2 }, { fault: { rank: 1, kind: "skewVectors", at: 0 } }),
      spdCase("values", "syevd", "complex128", 9, { block: 2 }, { fault: { rank: 0, kind: "skewValues", at: 0 } }),
      spdCase("after", "potrs", "float64", 9, { block: 2 }), // the ranks carry on
      spdCase("nan-getrs", "getrs", "complex64", 9, { block: 2 }), // below the diagonal: getrs reads all of A
      spdCase("nan-sygvd", "sygvd", "float32", 9, { block: 2 }),
      spdCase("vectors-sygvd", "sygvd", "complex128", 9, { block: 2 }, { fault: { rank: 0, kind: "skewVectors", at: 0 } }),
      spdCase("values-sygvd", "sygvd", "float64", 9, { block: 2 }, { fault: { rank: 1, kind: "skewValues", at: 0 } }),
      spdCase("nan-gels", "gels", "float32", 9, { block: 2 }, { m: 11 }),
      spdCase("wide-gels", "gels", "float64", 9, { block: 2 }, { m: 8 }),
      spdCase("vectors-gesvd", "gesvd", "complex64", 9, { block: 2 }, { m: 12, fault: { rank: 1, kind: "skewVectors", at: 0 } }),
      spdCase("values-gesvd", "gesvd", "float64", 9, { block: 2 }, { m: 12, fault: { rank: 0, kind: "skewValues", at: 0 } }),
      spdCase("nan-gesvd", "gesvd", "complex128", 9, { block: 2 }, { m: 12 }),
    ];
    cases[15]!.a[(11 * 9 + 0) * 2] = Number.NEGATIVE_INFINITY; // A[11][0]: on rank 1
    cases[11]!.a[10 * 9 + 2] = Number.NaN; // A[10][2]: on rank 1
    cases[7]!.a[(8 * 9 + 1) * 2 + 1] = Number.NaN; // A[8][1]'s imaginary part: on rank 1
    cases[8]!.bm![7 * 9 + 8] = Number.POSITIVE_INFINITY; // B[7][8]: on rank 1
    const job = await runMpJob(2, cases);
    expectCaseFailed(cases[0]!, job, 0, "INVALID_ARGUMENT", { says: "rank 1: A[7][8] is NaN" });
    expectCaseFailed(cases[1]!, job, 1, "INVALID_ARGUMENT", { says: "the ranks disagree on options.block" });
    expectCaseFailed(cases[2]!, job, 2, "INVALID_ARGUMENT", { says: "prows = 3 does not divide the job's 2 ranks" });
    expectCaseFailed(cases[3]!, job, 3, "DEVICE_ERROR", { says: "failed on rank 1", sameMessage: false });
    for (const r of job.results[3]!) {
      expect(r!.device, "the failed rank is named").toBe(1);
      expect(r!.misplaced, "rolled back to the row layout").toBe(0);
    }
    expectCaseFailed(cases[4]!, job, 4, "SOLVER_ERROR", { says: "the eigensolver's vectors are not orthonormal" });
    expectCaseFailed(cases[5]!, job, 5, "SOLVER_ERROR", { says: "does not satisfy A V = V diag(w)" });
    expectCaseCorrect(cases[6]!, job, 6);
    expectCaseFailed(cases[7]!, job, 7, "INVALID_ARGUMENT", { says: "rank 1: A[8][1] is NaN" });
    expectCaseFailed(cases[8]!, job, 8, "INVALID_ARGUMENT", { says: "rank 1: B[7][8] is +Inf" });
    expectCaseFailed(cases[9]!, job, 9, "SOLVER_ERROR", { says: "the generalized eigensolver's vectors are not B-orthonormal" });
    expectCaseFailed(cases[10]!, job, 10, "SOLVER_ERROR", { says: "does not satisfy A V = B V diag(w)" });
    expectCaseFailed(cases[11]!, job, 11, "INVALID_ARGUMENT", { says: "rank 1: A[10][2] is NaN" });
    expectCaseFailed(cases[12]!, job, 12, "INVALID_ARGUMENT", { says: "A must have m >= n, got 8 x 9" });
    expectCaseFailed(cases[13]!, job, 13, "SOLVER_ERROR", { says: "the SVD's singular vectors are not orthonormal" });
    expectCaseFailed(cases[14]!, job, 14, "SOLVER_ERROR", { says: "the SVD" });
    expectCaseFailed(cases[15]!, job, 15, "INVALID_ARGUMENT", { says: "rank 1: A[11][0] is -Inf" });
  });
});

describe.skipIf(missing !== undefined)("mp engine: a rank that does not arrive (3 ranks)", () => {
  test("the others fail with TIMEOUT after the timeout; the late one reports the same when it comes", async () => {
    const TIMEOUT_MS = 1500;
    const k = spdCase("stall", "potrs", "float64", 11, { block: 2 }, { stall: { rank: 1, ms: 2500 } });
    const job = await runMpJob(3, [k], TIMEOUT_MS);
    for (const r of job.results[0]!) {
      expect(r?.code, `rank ${r?.rank}: ${r?.message}`).toBe("TIMEOUT");
      expect(r!.message).toContain(`within ${TIMEOUT_MS} ms`);
      expect(r!.message).toBe(job.results[0]![0]!.message!);
      expect(r!.unchanged).toBe(true);
      if (r!.rank !== 1) expect(r!.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      if (r!.rank !== 1) expect(r!.ms).toBeLessThan(TIMEOUT_MS + 1000);
    }
  });
});

describe.skipIf(missing !== undefined)("mp engine: a rank killed during each routine (4 ranks, 2 x 2)", () => {
  const TIMEOUT_MS = 4000;
  // [when, routine, dtype, fault, where the others notice it ("a|b": either; a rank killed at its
  // last step may be noticed by a slower rank still polling the step before, once the 100 ms
  // grace for a rank that exits after its last operation has passed)]
  const kills: [string, MpCase["routine"], DType, NonNullable<MpCase["fault"]>, string][] = [
    ["redistributing to the grid", "potrs", "float64", { rank: 1, kind: "die", at: 3 }, "redistribution to the grid layout"],
    ["inside p?potrf", "cholesky", "complex64", { rank: 2, kind: "dieEngine", at: 0 }, "during p?potrf"],
    ["inside p?potri", "potri", "float32", { rank: 3, kind: "dieEngine", at: 1 }, "during p?potri"],
    ["inside p?syevd", "syevd", "complex128", { rank: 1, kind: "dieEngine", at: 1 }, "during p?syevd"],
    ["on potri's way back to rows", "potri", "float64", { rank: 0, kind: "die", at: "late" }, "redistribution to the row layout"],
    ["on syevd's way back to rows", "syevd", "complex64", { rank: 2, kind: "die", at: "late" }, "redistribution to the row layout"],
    ["inside p?getrf", "getrs", "complex128", { rank: 2, kind: "dieEngine", at: 0 }, "during p?getrf"],
    ["on getrs's gathering of X", "getrs", "float32", { rank: 1, kind: "die", at: "late" }, "the gathering of X|noticed during getrs"],
    ["inside p?sygst", "sygvd", "float64", { rank: 3, kind: "dieEngine", at: 1 }, "during p?sygst"],
    ["on sygvd's way back to rows", "sygvd", "complex64", { rank: 0, kind: "die", at: "late" }, "redistribution to the row layout"],
    ["inside p?gels", "gels", "complex64", { rank: 1, kind: "dieEngine", at: 0 }, "during p?gels"],
    ["inside p?gesvd", "gesvd", "float32", { rank: 2, kind: "dieEngine", at: 0 }, "during p?gesvd"],
    ["on gesvd's way back to rows", "gesvd", "complex128", { rank: 3, kind: "die", at: "late" }, "redistribution to the row layout"],
    ["in a redistribution", "redistribute", "complex128", { rank: 3, kind: "die", at: 7 }, "redistribution to the grid layout"],
  ];
  test.each(kills)("killed %s (%s, %s): PEER_LOST naming it on every other rank, nothing left in /dev/shm", async (_, routine, dtype, fault, where) => {
    const before = new Set(sharedSegments());
    const k = spdCase(`kill-${routine}`, routine, dtype, 21, { block: 3 }, { fault });
    const job = await runMpJob(4, [k], TIMEOUT_MS);
    const results = job.results[0]!;
    expect(results[fault.rank], "the killed rank reports nothing").toBeUndefined();
    expect(job.exit.ranks[fault.rank]!.unreported).toBe(true);
    for (const r of results) {
      if (r === undefined) continue;
      expect(r.code, `rank ${r.rank}: ${r.message}`).toBe("PEER_LOST");
      expect(r.device, `rank ${r.rank} names the killed rank`).toBe(fault.rank);
      expect(r.message).toContain(`rank ${fault.rank} died`);
      expect(where.split("|").some((w) => (r.message ?? "").includes(w)), `rank ${r.rank} noticed it at ${where}: ${r.message}`).toBe(true);
      expect(r.ms, "within the timeout").toBeLessThan(TIMEOUT_MS);
      expect(r.unchanged, `rank ${r.rank}'s A unchanged`).toBe(true);
    }
    expect(results.filter((r) => r !== undefined).length).toBe(3);
    expect(sharedSegments().filter((s) => !before.has(s)), "segments left behind").toEqual([]);
  });
});
