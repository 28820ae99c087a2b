// groups: potrs float64 in single-process mode against SPMD (a Worker per device, pointers shared
// through POSIX shm) and MPMD (a process per device, cudaIpc), same devices, N and T (issue 5:
// the group modes within 2% of single-process mode). A group's potrs brings A back to row layout
// (its factor is not kept), so the like-for-like single-process time is potrs + fromCyclic.
import { defaultTileSize, launch, potrs, runSpmd, ShardedMatrix, type Backend } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import { RESULT_PREFIX, SPEC_ENV, type GroupBenchSpec } from "../group-rank.ts";
import type { CaseInfo } from "../progress.ts";
import { fmt, type Column, type Row } from "../report.ts";
import { message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { median, seconds, timeRepeats } from "../timing.ts";

const RANK_MODULE = new URL("../group-rank.ts", import.meta.url).pathname;

/** Single-process potrs (strategy multi) and potrs + fromCyclic, medians. */
function singleProcess(args: BenchArgs, spec: GroupBenchSpec): Row {
  using mesh = openMesh(args);
  using A = ShardedMatrix.alloc(mesh, { rows: spec.n, cols: spec.n, dtype: "float64", maxTile: spec.tile });
  const b = new Float64Array(spec.n).fill(1);
  const back: number[] = [];
  const timed = timeRepeats(() => potrs(A, b, { tileSize: spec.tile, strategy: "multi" }), {
    repeats: spec.repeats,
    before: () => A.fillRandom({ kind: "hpd", seed: 1 }),
    after: () => back.push(seconds(() => A.fromCyclic())),
  });
  const fromCyclic = median(back.slice(1)); // the first belongs to the warm-up
  return { potrs: timed.median, fromCyclic, single: timed.median + fromCyclic };
}

async function mpmdTimes(devices: readonly number[], backend: Backend, spec: GroupBenchSpec): Promise<number[]> {
  let times: number[] | undefined;
  const output: string[] = [];
  const result = await launch({
    script: RANK_MODULE,
    devices,
    backend,
    env: { [SPEC_ENV]: JSON.stringify(spec) },
    onLine: (rank, _, line) => {
      if (rank === 0 && line.startsWith(RESULT_PREFIX)) times = JSON.parse(line.slice(RESULT_PREFIX.length)) as number[];
      else output.push(`[rank ${rank}] ${line}`);
    },
  });
  if (result.exitCode !== 0 || !times) throw new Error(`bunmg launch exited ${result.exitCode}: ${output.slice(-3).join(" | ")}`);
  return times;
}

export const groups: Scenario = (args): Plan => {
  const sizes = args.sizes ?? (args.quick ? [256] : [32768]);
  const cases = sizes.map((n): CaseInfo & { n: number } => ({ n, label: `potrs float64 n=${n}`, estimate: 10 + 12 * (n / 32768) ** 3 }));
  return {
    cases,
    async run({ progress }) {
      const rows: Row[] = [];
      const notes = notesFor(args.backend);
      for (const c of cases) {
        progress.start("groups", c);
        const spec: GroupBenchSpec = { n: c.n, tile: args.tiles?.[0] ?? defaultTileSize("potrs", "float64", c.n), repeats: args.repeats };
        const row: Row = { n: c.n, tile: spec.tile };
        rows.push(row);
        const modes: [string, () => Row | Promise<Row>][] = [
          ["single process", () => singleProcess(args, spec)],
          ["SPMD", async () => ({ spmd: median((await runSpmd<number[]>({ module: RANK_MODULE, devices: args.devices, backend: args.backend, data: spec }))[0]) })],
          ["MPMD", async () => ({ mpmd: median(await mpmdTimes(args.devices, args.backend, spec)) })],
        ];
        for (const [mode, measure] of modes) {
          try {
            Object.assign(row, await measure());
            progress.log(`${mode} done`);
          } catch (e) {
            notes.push(`n=${c.n} ${mode}: ${message(e)}`);
          }
        }
        const single = row.single as number | undefined;
        if (single) for (const m of ["spmd", "mpmd"]) if (typeof row[m] === "number") row[`${m}Overhead`] = (row[m] as number) / single - 1;
      }
      return { rows, columns: COLUMNS, notes };
    },
  };
};

const notesFor = (backend: Backend) => [
  `single process = potrs(A, B, { strategy: "multi" }) + A.fromCyclic() on one Mesh of the devices; SPMD = runSpmd, a Worker per device; MPMD = bunmg launch, a process per device (${backend === "cuda" ? "CUDA IPC" : "shared-memory segments"}); each group call = group.potrs on every rank, timed on rank 0. Medians after one warm-up.`,
  "overhead = group time / single-process time - 1 (goal: within 2%).",
];

export const COLUMNS: Column[] = [
  { key: "n", title: "N" },
  { key: "tile", title: "T" },
  { key: "potrs", title: "potrs", format: fmt.seconds },
  { key: "fromCyclic", title: "fromCyclic", format: fmt.seconds },
  { key: "single", title: "single process", format: fmt.seconds },
  { key: "spmd", title: "SPMD", format: fmt.seconds },
  { key: "spmdOverhead", title: "SPMD overhead", format: fmt.percent },
  { key: "mpmd", title: "MPMD", format: fmt.seconds },
  { key: "mpmdOverhead", title: "MPMD overhead", format: fmt.percent },
];
