// scaling: the three cases of the JAXMg paper (potrs float32, syevd float64, potri complex128)
// over N = 1024, 2048, 4096, ... on the mesh (strategy "multi": cuSOLVERMg's scaling) and on the
// first device alone (strategy "single"), with the floor (bunmg_floor) when --with-floor is given.
// Doubling stops where estimateMemory says the mesh cannot hold the case.
import { defaultTileSize, estimateMemory, ShardedMatrix, type DType, type Mesh, type Routine, type Strategy } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import type { CaseInfo } from "../progress.ts";
import { backendNote, fmt, type Column, type Row } from "../report.ts";
import { doesNotFit, message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { openFirst, timeSolve } from "../solve.ts";
import { estimate, flops, measureFloor } from "./solvers.ts";

interface ScalingCase extends CaseInfo {
  routine: Routine;
  dtype: DType;
  n: number;
}

export const SCALING_CASES: readonly { routine: Routine; dtype: DType }[] = [
  { routine: "potrs", dtype: "float32" },
  { routine: "syevd", dtype: "float64" },
  { routine: "potri", dtype: "complex128" },
];
const LARGEST = 131072; // listed up front; run time stops earlier where memory runs out

function sizes(args: BenchArgs): number[] {
  if (args.sizes) return args.sizes;
  if (args.quick) return [32, 64, 128];
  const out: number[] = [];
  for (let n = 1024; n <= LARGEST; n *= 2) out.push(n);
  return out;
}

/** Median seconds of `routine` on a fresh A on `mesh`, or why it did not run. */
function measure(mesh: Mesh, c: ScalingCase, strategy: Strategy, repeats: number): number | string {
  const tile = defaultTileSize(c.routine, c.dtype, c.n);
  const need = estimateMemory(c.routine, c.n, c.dtype, mesh, { tileSize: tile }).total;
  const tooBig = doesNotFit(mesh, mesh.devices.map(() => need));
  if (tooBig) return `does not fit: ${tooBig} (estimateMemory)`;
  using A = ShardedMatrix.alloc(mesh, { rows: c.n, cols: c.n, dtype: c.dtype, maxTile: tile });
  return timeSolve(c.routine, A, { strategy, tileSize: tile }, repeats).median;
}

export const scaling: Scenario = (args): Plan => {
  const cases: ScalingCase[] = [];
  const skipped: string[] = []; // over --max-seconds: not run, not listed
  for (const { routine, dtype: d } of SCALING_CASES) {
    if (args.routines && !args.routines.includes(routine)) continue;
    for (const dtype of args.dtypes ?? [d])
      for (const n of sizes(args)) {
        const c = { routine, dtype, n, label: `${routine} ${dtype} n=${n}`, estimate: estimate(args, routine, dtype, n) };
        if (args.backend === "cuda" && !args.quick && c.estimate > args.maxSeconds) skipped.push(`${c.label}: skipped, rough estimate ${c.estimate.toFixed(0)} s > --max-seconds ${args.maxSeconds}`);
        else cases.push(c);
      }
  }
  return {
    cases,
    run({ progress }) {
      const rows: Row[] = [];
      const notes = [...skipped];
      const stopped = new Set<string>(); // routine/dtype series whose mesh ran out of memory
      for (const c of cases) {
        progress.start("scaling", c);
        const series = `${c.routine} ${c.dtype}`;
        if (stopped.has(series)) continue;
        const row: Row = { routine: c.routine, dtype: c.dtype, n: c.n, flops: flops(c.routine, c.dtype, c.n) };
        for (const [key, open, strategy] of [["mesh", openMesh, "multi"], ["single", openFirst, "single"]] as const) {
          try {
            using mesh = open(args);
            const r = measure(mesh, c, strategy, args.repeats);
            if (typeof r === "number") row[key] = r;
            else row[`${key}Note`] = r;
          } catch (e) {
            row[`${key}Note`] = message(e);
          }
          progress.log(`${key}: ${typeof row[key] === "number" ? fmt.seconds(row[key]) : row[`${key}Note`]}`);
        }
        if (row.mesh === undefined && /^(does not fit|OUT_OF_MEMORY)/.test(String(row.meshNote))) {
          stopped.add(series);
          notes.push(`${series}: stopped doubling at n=${c.n}: ${row.meshNote}`);
          continue;
        }
        if (args.withFloor && args.backend === "cuda") {
          measureFloor(args, { ...c, tile: defaultTileSize(c.routine, c.dtype, c.n), nrhs: 1 }, row, (m) => progress.log(m));
          if (row.floorNote) notes.push(`${series} n=${c.n}: ${row.floorNote}`);
        }
        for (const k of ["mesh", "single", "floorSeconds"]) if (typeof row[k] === "number") row[`${k}Tflops`] = (row.flops as number) / (row[k] as number);
        if (row.singleNote) notes.push(`${series} n=${c.n}, single device: ${row.singleNote}`);
        rows.push(row);
      }
      notes.push(
        ...backendNote(
          args.backend,
          `mesh = strategy "multi" (cuSOLVERMg) on devices ${args.devices.join(",")}; single = strategy "single" on the first device alone; floor = bunmg_floor on the mesh (--with-floor), 1 GPU = its cuSOLVERDn run.`,
          `mesh = strategy "multi" on ${args.devices.length} host positions; single = strategy "single" on the first position alone (LAPACK in both).`,
        ),
        "Timed: the call, median of repeats after one warm-up, A regenerated with fillRandom outside the timed region; T = defaultTileSize.",
      );
      return { rows, columns: COLUMNS, notes };
    },
  };
};

export const COLUMNS: Column[] = [
  { key: "routine", title: "routine" },
  { key: "dtype", title: "dtype" },
  { key: "n", title: "N" },
  { key: "mesh", title: "mesh", format: fmt.seconds },
  { key: "meshTflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "single", title: "single device", format: fmt.seconds },
  { key: "singleTflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "floorSeconds", title: "floor", format: fmt.seconds },
  { key: "floorSecondsTflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "singleSeconds", title: "1 GPU (cuSOLVERDn)", format: fmt.seconds },
];
