// strategy: every routine run three ways on the same matrices, "multi" (cuSOLVERMg), "single"
// (cuSOLVERDn on position 0) and "auto", over N; auto should be within 2% of the faster of the
// other two at every N (issue 9). Timed like solvers: the call, A regenerated before each run.
import { chooseStrategy, ShardedMatrix, type DType, type Routine, type Strategy } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import type { CaseInfo } from "../progress.ts";
import { backendNote, fmt, type Column, type Row } from "../report.ts";
import { message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { timeSolve } from "../solve.ts";

interface StrategyCase extends CaseInfo {
  routine: Routine;
  dtype: DType;
  n: number;
}

const DEFAULTS: Record<Routine, { dtypes: DType[]; sizes: number[] }> = {
  syevd: { dtypes: ["float32", "float64"], sizes: [1024, 2048, 4096, 8192, 16384] },
  potrs: { dtypes: ["float64"], sizes: [1024, 4096, 16384, 32768] },
  potri: { dtypes: ["float64"], sizes: [1024, 4096, 16384] },
};
const STRATEGIES: readonly Strategy[] = ["multi", "single", "auto"];

export const strategy: Scenario = (args: BenchArgs): Plan => {
  const cases: StrategyCase[] = [];
  for (const routine of args.routines ?? (Object.keys(DEFAULTS) as Routine[]))
    for (const dtype of args.dtypes ?? DEFAULTS[routine].dtypes)
      for (const n of args.sizes ?? (args.quick ? [64, 200] : DEFAULTS[routine].sizes))
        cases.push({ routine, dtype, n, label: `${routine} ${dtype} n=${n}`, estimate: 2 + (routine === "syevd" ? 12 : 3) * (n / 8192) ** 3 });
  return {
    cases,
    run({ progress }) {
      const rows: Row[] = [];
      for (const c of cases) {
        progress.start("strategy", c);
        const row: Row = { routine: c.routine, dtype: c.dtype, n: c.n };
        rows.push(row);
        try {
          using mesh = openMesh(args);
          const choice = chooseStrategy(c.routine, c.n, c.dtype, mesh);
          Object.assign(row, { choice: choice.strategy, reason: choice.reason });
          using A = ShardedMatrix.alloc(mesh, { rows: c.n, cols: c.n, dtype: c.dtype });
          for (const s of STRATEGIES) {
            try {
              const timed = timeSolve(c.routine, A, { strategy: s }, args.repeats);
              row[s] = timed.median;
              progress.log(`${s}: ${fmt.seconds(timed.median)}`);
            } catch (e) {
              row[`${s}Note`] = message(e);
              progress.log(`${s}: ${message(e)}`);
            }
          }
          const [multi, single, auto] = STRATEGIES.map((s) => row[s] as number | undefined);
          const best = Math.min(multi ?? Infinity, single ?? Infinity);
          if (auto !== undefined && Number.isFinite(best)) {
            row.autoOverBest = auto / best;
            row.verdict = auto <= best * 1.02 ? "ok" : "slower";
          }
        } catch (e) {
          row.note = message(e);
        }
      }
      const notes = [
        ...backendNote(
          args.backend,
          "multi = cuSOLVERMg over the mesh; single = the row shards gathered on position 0, cuSOLVERDn there, scattered back; auto = the rule in lib/strategy.ts.",
          "multi = the multi-device path over the mesh; single = the row shards gathered on position 0 and solved there; LAPACK in both; auto = the rule in lib/strategy.ts.",
        ),
        "auto/best = auto over the faster of multi and single (goal: within 1.02). Median of repeats after one warm-up.",
      ];
      for (const r of rows) if (r.multiNote || r.singleNote || r.note) notes.push(`${r.routine} ${r.dtype} n=${r.n}: ${[r.note, r.multiNote, r.singleNote].filter(Boolean).join("; ")}`);
      return { rows, columns: COLUMNS, notes };
    },
  };
};

export const COLUMNS: Column[] = [
  { key: "routine", title: "routine" },
  { key: "dtype", title: "dtype" },
  { key: "n", title: "N" },
  { key: "multi", title: "multi", format: fmt.seconds },
  { key: "single", title: "single", format: fmt.seconds },
  { key: "auto", title: "auto", format: fmt.seconds },
  { key: "choice", title: "auto chose" },
  { key: "autoOverBest", title: "auto/best", format: fmt.ratio },
  { key: "verdict", title: "within 2%" },
  { key: "reason", title: "reason" },
];
