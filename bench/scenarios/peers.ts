// peers: bunmg against PyTorch on the same GPU in the same run (bench/torch/peers.py, where
// `python3` with torch is present). The call alone is timed, A already on the device: bunmg's
// potrs / potri / syevd with strategy auto (one GPU: the single path) against torch's cholesky +
// cholesky_solve, cholesky + cholesky_inverse and eigh. N = 1 rows are the fixed cost of a call.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DTYPES, potri, potrs, ShardedMatrix, syevd, type DType, type Routine } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import type { CaseInfo } from "../progress.ts";
import { fmt, type Column, type Row } from "../report.ts";
import { message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { measureFloor } from "./solvers.ts";
import { median, timeRepeats } from "../timing.ts";

interface PeerCase extends CaseInfo {
  routine: Routine;
  dtype: DType;
  n: number;
  repeats: number;
  warmup: number;
}

const SIZES = [1, 256, 1024, 4096, 16384, 32768, 65536];
const DEFAULTS: Record<Routine, { dtypes: DType[]; largest: number }> = {
  potrs: { dtypes: ["float64", "float32"], largest: 65536 },
  potri: { dtypes: ["float64", "float32", "complex128"], largest: 16384 },
  syevd: { dtypes: ["float64", "float32"], largest: 16384 },
};
// Rough one-H200 rates for the estimates.
const RATE: Record<Routine, number> = { potrs: 4.5e13, potri: 2e13, syevd: 5e12 };

function flops(routine: Routine, dtype: DType, n: number): number {
  const f = routine === "potrs" ? n ** 3 / 3 : routine === "potri" ? n ** 3 : 4 * n ** 3;
  return DTYPES[dtype].complex ? 4 * f : f;
}

export const peers: Scenario = (args): Plan => {
  const cases: PeerCase[] = [];
  for (const routine of args.routines ?? (Object.keys(DEFAULTS) as Routine[])) {
    const d = DEFAULTS[routine];
    for (const dtype of args.dtypes ?? d.dtypes)
      for (const n of args.sizes ?? (args.quick ? [1, 64] : SIZES.filter((s) => s <= d.largest))) {
        const small = n <= 4096;
        const repeats = small ? Math.max(args.repeats, 25) : args.repeats;
        const warmup = small ? 3 : 1;
        const estimate = 2 * (repeats + warmup) * (flops(routine, dtype, n) / RATE[routine] + 1e-3) + 1;
        cases.push({ routine, dtype, n, repeats, warmup, label: `${routine} ${dtype} n=${n}`, estimate });
      }
  }
  return {
    cases,
    run({ progress }) {
      const rows: Row[] = cases.map((c) => ({ routine: c.routine, dtype: c.dtype, n: c.n }));
      const notes: string[] = [];
      cases.forEach((c, i) => {
        progress.start("peers", c);
        const row = rows[i]!;
        try {
          row.seconds = measureBunmg(args, c);
        } catch (e) {
          row.note = message(e);
          progress.log(`bunmg: ${row.note}`);
        }
        if (args.withFloor && args.backend === "cuda" && c.n >= 256 && c.n <= 32768) {
          const floor: Row = {};
          measureFloor(args, { routine: c.routine, dtype: c.dtype, n: c.n, tile: Math.min(c.n, 1024), nrhs: 1 }, floor, (m) => progress.log(m));
          row.rawSeconds = floor.singleSeconds;
        }
      });
      const torch = args.backend === "cuda" ? measureTorch(cases, (m) => progress.log(m)) : { note: "PyTorch peers: CUDA backend only" };
      if ("note" in torch) notes.push(torch.note);
      else {
        notes.push(`PyTorch ${torch.version} on ${torch.gpu}, in the same run.`);
        torch.results.forEach((r, i) => {
          const row = rows[i]!;
          if (r.seconds) row.torchSeconds = median(r.seconds);
          if (r.note) row.torchNote = r.note;
        });
      }
      for (const row of rows) derive(row);
      notes.push(
        "Timed: the call alone, A already on the GPU; bunmg with strategy auto (B and X on the host: their copies are in bunmg's time), torch with B on the GPU. Median of repeats (25 up to N = 4096) after warm-ups.",
        "extra = bunmg - torch per call; at N = 1 both times are the fixed cost of a call.",
        "raw cuSOLVERDn (with --with-floor) = bunmg_floor --single on the first device (potrf+potrs, potrf + the legacy potri, syevd with vectors), on its own matrix.",
      );
      return { rows, columns: COLUMNS, notes };
    },
  };
};

export const COLUMNS: Column[] = [
  { key: "routine", title: "routine" },
  { key: "dtype", title: "dtype" },
  { key: "n", title: "N" },
  { key: "seconds", title: "bunmg", format: fmt.seconds },
  { key: "torchSeconds", title: "torch", format: fmt.seconds },
  { key: "rawSeconds", title: "raw cuSOLVERDn", format: fmt.seconds },
  { key: "ratio", title: "bunmg/torch", format: fmt.ratio },
  { key: "extraMicros", title: "extra µs", format: (v) => (typeof v === "number" ? v.toFixed(0) : "-") },
  { key: "note", title: "note" },
  { key: "torchNote", title: "torch note" },
];

function measureBunmg(args: BenchArgs, c: PeerCase): number {
  using mesh = openMesh(args);
  using A = ShardedMatrix.random(mesh, { rows: c.n, cols: c.n, dtype: c.dtype }, { seed: 1 });
  const info = DTYPES[c.dtype];
  const B = new info.storage(c.n * info.components).fill(1);
  const body = { potrs: () => potrs(A, B), potri: () => potri(A), syevd: () => syevd(A) }[c.routine];
  const timed = timeRepeats(body, {
    repeats: c.repeats,
    warmup: c.warmup,
    // potri and syevd overwrite A (and a multi-path potrs leaves its factor): a fresh A each run
    before: () => {
      if (c.routine === "potrs" && A.layout === "rows") return;
      if (A.layout !== "rows") A.fromCyclic();
      A.fillRandom({ seed: 1 });
    },
  });
  return timed.median;
}

interface TorchRun {
  version: string;
  gpu: string;
  results: { seconds?: number[]; note?: string }[];
}

function measureTorch(cases: readonly PeerCase[], log: (m: string) => void): TorchRun | { note: string } {
  log(`torch: ${cases.length} cases in one python3 process ...`);
  const input = JSON.stringify(cases.map(({ routine, dtype, n, repeats, warmup }) => ({ routine, dtype, n, repeats, warmup })));
  const proc = spawnSync("python3", [join(import.meta.dir, "..", "torch", "peers.py")], { input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (proc.error || proc.status !== 0) {
    const why = proc.error?.message ?? proc.stderr.trim().split("\n").at(-1) ?? `exit ${proc.status}`;
    return { note: `PyTorch peers not run: ${why}` };
  }
  const lines = proc.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const head = lines.shift() ?? {};
  const results: TorchRun["results"] = cases.map(() => ({}));
  for (const line of lines) results[line.case as number] = line as TorchRun["results"][number];
  return { version: String(head.torch), gpu: String(head.gpu), results };
}

function derive(row: Row): void {
  const [bunmg, torch] = [row.seconds, row.torchSeconds];
  if (typeof bunmg === "number" && typeof torch === "number") {
    row.ratio = bunmg / torch;
    row.extraMicros = (bunmg - torch) * 1e6;
  }
}
