// tiles: the tile-size sweep behind lib/tiles.ts. For each routine and dtype, the call (strategy
// "multi") at T = 128 ... 2048 (syevd at most 1024); the best T next to defaultTileSize, and
// whether the default's time is within 5% of the best.
import { defaultTileSize, estimateMemory, MAX_TILE, ShardedMatrix, type DType, type Routine } from "../../lib/index.ts";
import type { CaseInfo } from "../progress.ts";
import { fmt, type Column, type Row } from "../report.ts";
import { doesNotFit, gpuCount, message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { timeSolve } from "../solve.ts";
import { flops } from "./solvers.ts";

interface TileCase extends CaseInfo {
  routine: Routine;
  dtype: DType;
  n: number;
  tile: number;
}

const DEFAULTS: Record<Routine, { dtype: DType; n: number }> = {
  potrs: { dtype: "float64", n: 32768 },
  syevd: { dtype: "float64", n: 16384 },
  potri: { dtype: "complex128", n: 16384 },
};
const TILES = [128, 256, 512, 1024, 2048];
// Rough cuSOLVERMg rates on two H100-class GPUs at a good T (the estimate only).
const RATE: Record<Routine, number> = { potrs: 6e13, potri: 2e13, syevd: 3e12 };

export const tiles: Scenario = (args): Plan => {
  const cases: TileCase[] = [];
  for (const routine of args.routines ?? (Object.keys(DEFAULTS) as Routine[]))
    for (const dtype of args.dtypes ?? [DEFAULTS[routine].dtype])
      for (const n of args.sizes ?? [args.quick ? 256 : DEFAULTS[routine].n])
        for (const tile of (args.tiles ?? TILES).filter((t) => t <= Math.min(n, MAX_TILE[routine]))) {
          const seconds = (flops(routine, dtype, n) / (RATE[routine] * Math.min(1, gpuCount(args) / 2))) * (args.repeats + 1);
          cases.push({ routine, dtype, n, tile, label: `${routine} ${dtype} n=${n} T=${tile}`, estimate: 2 + seconds });
        }
  return {
    cases,
    run({ progress }) {
      const rows: Row[] = [];
      for (const c of cases) {
        progress.start("tiles", c);
        const row: Row = { routine: c.routine, dtype: c.dtype, n: c.n, tile: c.tile, default: defaultTileSize(c.routine, c.dtype, c.n) === c.tile ? "default" : "" };
        rows.push(row);
        try {
          using mesh = openMesh(args);
          const tooBig = doesNotFit(mesh, mesh.devices.map(() => estimateMemory(c.routine, c.n, c.dtype, mesh, { tileSize: c.tile }).total));
          if (tooBig) throw new Error(`skipped: ${tooBig} (estimateMemory)`);
          using A = ShardedMatrix.alloc(mesh, { rows: c.n, cols: c.n, dtype: c.dtype, maxTile: c.tile });
          row.seconds = timeSolve(c.routine, A, { strategy: "multi", tileSize: c.tile }, args.repeats).median;
          row.tflops = flops(c.routine, c.dtype, c.n) / (row.seconds as number);
          progress.log(fmt.seconds(row.seconds));
        } catch (e) {
          row.note = message(e);
          progress.log(row.note as string);
        }
      }
      const notes = verdicts(rows);
      notes.push('Timed: the call with strategy "multi" and tileSize T, median of repeats after one warm-up, A regenerated outside the timed region. /best = time over the best time of the same case.');
      return { rows, columns: COLUMNS, notes };
    },
  };
};

/** Per case: the best T, the default T, and whether the default is within 5% of the best. */
export function verdicts(rows: Row[]): string[] {
  const notes: string[] = [];
  const groups = Map.groupBy(rows, (r) => `${r.routine} ${r.dtype} n=${r.n}`);
  for (const [name, group] of groups) {
    const timed = group.filter((r) => typeof r.seconds === "number");
    if (timed.length === 0) continue;
    const best = timed.reduce((a, b) => ((b.seconds as number) < (a.seconds as number) ? b : a));
    for (const r of timed) r.overBest = (r.seconds as number) / (best.seconds as number);
    const T = defaultTileSize(group[0].routine as Routine, group[0].dtype as DType, group[0].n as number);
    const def = timed.find((r) => r.tile === T);
    const verdict = def === undefined ? "not measured" : (def.overBest as number) <= 1.05 ? `within 5% (${fmt.ratio(def.overBest)})` : `NOT within 5% (${fmt.ratio(def.overBest)})`;
    notes.push(`${name}: best T = ${best.tile} (${fmt.seconds(best.seconds)}); defaultTileSize = ${T}: ${verdict}`);
  }
  return notes;
}

export const COLUMNS: Column[] = [
  { key: "routine", title: "routine" },
  { key: "dtype", title: "dtype" },
  { key: "n", title: "N" },
  { key: "tile", title: "T" },
  { key: "default", title: "lib default" },
  { key: "seconds", title: "time", format: fmt.seconds },
  { key: "tflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "overBest", title: "/best", format: fmt.ratio },
  { key: "note", title: "note" },
];
