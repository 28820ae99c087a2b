// solvers: bunmg end to end (potrs / potri / syevd on a row-sharded HPD matrix generated on the
// devices) against the floor (build/bunmg_floor: cuSOLVERMg called directly on a matrix generated
// in the block-cyclic layout) and single-GPU cuSOLVERDn (the floor's --single), in the same run.
// bunmg = floor + redistribution + other overhead; the redistribution is timed separately.
import { defaultTileSize, DTYPES, estimateMemory, potri, potrs, ShardedMatrix, syevd, type DType, type MemoryInfo, type Routine } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import { runPeer, type FloorResult } from "../peers.ts";
import type { CaseInfo } from "../progress.ts";
import { backendNote, fmt, type Column, type Row } from "../report.ts";
import { deviceList, doesNotFit, gpuCount, message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { median, seconds, timeRepeats } from "../timing.ts";

interface SolverCase extends CaseInfo {
  routine: Routine;
  dtype: DType;
  n: number;
  tile: number;
  nrhs: number;
}

const DEFAULTS: Record<Routine, { dtypes: DType[]; sizes: number[] }> = {
  potrs: { dtypes: ["float32", "float64"], sizes: [32768, 65536] },
  syevd: { dtypes: ["float64"], sizes: [16384] },
  potri: { dtypes: ["complex128"], sizes: [16384] },
};

/** Standard flop counts (as bunmg_floor counts them): potrf N^3/3, potrs 2 N^2 nrhs, potri
 * about N^3 with potrf, syevd with vectors about 4 N^3; complex x4. */
export function flops(routine: Routine, dtype: DType, n: number, nrhs = 1): number {
  const potrf = n ** 3 / 3;
  const f = routine === "potrs" ? potrf + 2 * n * n * nrhs : routine === "potri" ? n ** 3 : 4 * n ** 3;
  return DTYPES[dtype].complex ? 4 * f : f;
}

// Rough rates for the estimates: cuSOLVERMg on two H100-class GPUs (bench/NOTES.md's 2 x H200 reference figures)
// and cuSOLVERDn on one.
const RATE_MG: Record<Routine, number> = { potrs: 7e13, potri: 2.5e13, syevd: 3.2e12 };
const RATE_DN: Record<Routine, number> = { potrs: 4.5e13, potri: 1.5e13, syevd: 5.5e12 };

/** Rough seconds of one solvers case (bunmg, floor and 1 GPU, warm-up and repeats). */
export function estimate(args: BenchArgs, routine: Routine, dtype: DType, n: number): number {
  const runs = args.repeats + 1;
  const f = flops(routine, dtype, n);
  const mg = RATE_MG[routine] * Math.min(1, gpuCount(args) / 2);
  const generation = (2 * n * n * DTYPES[dtype].bytes) / 1.2e10; // the floor builds A on the host
  return 5 + runs * ((2 * f) / mg + f / RATE_DN[routine] + generation);
}

export const solvers: Scenario = (args): Plan => {
  const cases: SolverCase[] = [];
  for (const routine of args.routines ?? (Object.keys(DEFAULTS) as Routine[])) {
    const d = DEFAULTS[routine];
    for (const n of args.sizes ?? (args.quick ? [200] : d.sizes))
      for (const dtype of args.dtypes ?? d.dtypes)
        // Quick mode's N = 200 is one default tile: T = 64 keeps the redistribution in the smoke.
        for (const tile of args.tiles ?? [args.quick ? 64 : defaultTileSize(routine, dtype, n)]) {
          const label = `${routine} ${dtype} n=${n} T=${tile}`;
          cases.push({ routine, dtype, n, tile, nrhs: 1, label, estimate: estimate(args, routine, dtype, n) });
        }
  }
  return {
    cases,
    run({ progress }) {
      const rows: Row[] = [];
      const notes: string[] = [];
      for (const c of cases) {
        progress.start("solvers", c);
        const row: Row = { routine: c.routine, dtype: c.dtype, n: c.n, tile: c.tile, nrhs: c.nrhs, flops: flops(c.routine, c.dtype, c.n, c.nrhs) };
        rows.push(row);
        try {
          measureBunmg(args, c, row, (m) => progress.log(m));
        } catch (e) {
          row.note = message(e);
          progress.log(`bunmg: ${row.note}`);
        }
        if (args.backend === "cuda") measureFloor(args, c, row, (m) => progress.log(m));
        else row.floorNote = "floor: CUDA backend only";
        derive(row);
      }
      for (const r of rows) if (r.floorNote && args.backend === "cuda") notes.push(`${r.routine} ${r.dtype} n=${r.n}: ${r.floorNote}`);
      notes.push(
        ...backendNote(
          args.backend,
          "Timed: bunmg = the potrs/potri/syevd call (redistribution, solver, copies of B and X); floor = potrf+potrs, potrf+potri or syevd on a block-cyclic matrix. Median of repeats after one warm-up.",
          "Host backend (LAPACK): no floor and no single-GPU figures. Timed: bunmg = the potrs/potri/syevd call (redistribution, solver, copies of B and X). Median of repeats after one warm-up.",
        ),
        ...backendNote(args.backend, "redist = toCyclic (potrs: the factor stays cyclic) or toCyclic + fromCyclic (potri, syevd), timed separately; redist % and other % are of the floor time: bunmg/floor = 1 + redist % + other %."),
        ...backendNote(args.backend, "1 GPU = cuSOLVERDn on the first device (bunmg_floor --single); speed-up = 1 GPU / bunmg."),
        "held = bytes bunmg holds after a call (largest seen; staging is freed within the call), per position, with estimateMemory's total; free = the device's free memory before A was allocated and after the runs.",
      );
      return { rows, columns: COLUMNS, notes };
    },
  };
};

export const COLUMNS: Column[] = [
  { key: "routine", title: "routine" },
  { key: "dtype", title: "dtype" },
  { key: "n", title: "N" },
  { key: "tile", title: "T" },
  { key: "seconds", title: "bunmg", format: fmt.seconds },
  { key: "tflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "floorSeconds", title: "floor", format: fmt.seconds },
  { key: "floorTflops", title: "TFLOP/s", format: fmt.tflops },
  { key: "ratio", title: "bunmg/floor", format: fmt.ratio },
  { key: "redistSeconds", title: "redist", format: fmt.seconds },
  { key: "redistShare", title: "redist %", format: fmt.percent },
  { key: "otherShare", title: "other %", format: fmt.percent },
  { key: "singleSeconds", title: "1 GPU", format: fmt.seconds },
  { key: "speedup", title: "speed-up", format: fmt.ratio },
  { key: "heldGiB", title: "held GiB (estimate)" },
  { key: "freeGiB", title: "free GiB before -> after" },
  { key: "check", title: "check" },
  { key: "note", title: "note" },
];

function measureBunmg(args: BenchArgs, c: SolverCase, row: Row, log: (m: string) => void): void {
  using mesh = openMesh(args); // a fresh mesh: its workspace is gone before the floor runs
  const positions = [...mesh.devices.keys()];
  const estimate = estimateMemory(c.routine, c.n, c.dtype, mesh, { tileSize: c.tile, nrhs: c.nrhs });
  row.estimate = estimate;
  const tooBig = doesNotFit(mesh, positions.map(() => estimate.total));
  if (tooBig) throw new Error(`skipped: ${tooBig} (estimateMemory)`);
  row.memoryBefore = positions.map((p) => mesh.memory(p));
  using A = ShardedMatrix.alloc(mesh, { rows: c.n, cols: c.n, dtype: c.dtype, maxTile: c.tile });
  const info = DTYPES[c.dtype];
  const B = new info.storage(c.n * c.nrhs * info.components).fill(1);
  const peak = positions.map(() => 0);
  // The timed call keeps X (potrs) or the eigenvalues (syevd); `after` checks them, untimed.
  let out: Float32Array | Float64Array | undefined;
  let check: string | undefined;
  const body = {
    // "multi": this scenario measures the cuSOLVERMg path against its floor (strategy.ts: auto)
    potrs: () => (out = potrs(A, B, { tileSize: c.tile, strategy: "multi" })),
    potri: () => potri(A, { tileSize: c.tile, strategy: "multi" }),
    syevd: () => (out = syevd(A, { tileSize: c.tile, vectors: true, strategy: "multi" }).values),
  }[c.routine];
  const timed = timeRepeats(body, {
    repeats: args.repeats,
    before: () => {
      if (A.layout !== "rows") A.fromCyclic(); // potrs leaves the factor cyclic
      A.fillRandom({ kind: "hpd", seed: 1 });
    },
    after: () => {
      positions.forEach((p) => (peak[p] = Math.max(peak[p], mesh.memory(p).held)));
      if (out && check === undefined) check = c.routine === "potrs" ? (finite(out) ? "ok" : "non-finite X") : ascendingPositive(out) ? "ok" : "bad eigenvalues";
    },
    onRun: (r, s) => log(`bunmg ${r < 0 ? "warm-up" : `repeat ${r + 1}/${args.repeats}`}: ${fmt.seconds(s)}`),
  });
  Object.assign(row, { seconds: timed.median, all: timed.all, check, heldMax: peak });
  row.heldGiB = `${peak.map((b) => fmt.gib(b)).join(" / ")} (${fmt.gib(estimate.total)})`;

  // The redistribution the call ran, alone: to (potrs) or to + from (potri, syevd).
  if (A.layout !== "rows") A.fromCyclic();
  const to: number[] = [];
  const from: number[] = [];
  for (let r = -1; r < args.repeats; r++) {
    const t = seconds(() => A.toCyclic(c.tile));
    const f = seconds(() => A.fromCyclic());
    if (r >= 0) to.push(t), from.push(f);
  }
  Object.assign(row, { toSeconds: median(to), fromSeconds: median(from) });
  row.redistSeconds = median(to) + (c.routine === "potrs" ? 0 : median(from));
  log(`redistribution: toCyclic ${fmt.seconds(median(to))}, fromCyclic ${fmt.seconds(median(from))}`);
  const before = row.memoryBefore as MemoryInfo[];
  const after = positions.map((p) => mesh.memory(p));
  row.memoryAfter = after;
  row.freeGiB = positions.map((p) => `${fmt.gib(before[p].free)} -> ${fmt.gib(after[p].free)}`).join(" / ");
}

/** Runs bunmg_floor --single for the case; fills floorSeconds, singleSeconds (cuSOLVERDn) or floorNote. */
export function measureFloor(args: BenchArgs, c: Pick<SolverCase, "routine" | "dtype" | "n" | "tile" | "nrhs">, row: Row, log: (m: string) => void): void {
  log("floor (bunmg_floor --single) ...");
  const flags = ["--json", "--routine", c.routine, "--dtype", c.dtype, "--n", c.n, "--tile", c.tile, "--devices", deviceList(args)];
  flags.push("--nrhs", c.nrhs, "--repeats", args.repeats, "--warmup", 1, "--single");
  if (c.routine === "syevd") flags.push("--vectors", 1);
  const run = runPeer<FloorResult>("bunmg_floor", flags, args.verbose);
  if (!run.ok) {
    row.floorNote = run.note;
    log(run.note);
    return;
  }
  const f = run.data;
  Object.assign(row, { floorSeconds: f.mg_seconds_median ?? undefined, floorAll: f.mg_seconds_all, gpu: f.gpu });
  Object.assign(row, { singleSeconds: f.dn_seconds_median ?? undefined, singleAll: f.dn_seconds_all, floorLwork: f.lwork_elements });
  if (f.info !== 0) row.floorNote = `floor info = ${f.info}`;
  if (f.dn_note) row.floorNote = f.dn_note;
  log(`floor ${fmt.seconds(row.floorSeconds)}, 1 GPU ${fmt.seconds(row.singleSeconds)} (${run.seconds.toFixed(0)} s with generation)`);
}

/** The ratios, where their inputs exist. */
function derive(row: Row): void {
  const num = (k: string) => (typeof row[k] === "number" && Number.isFinite(row[k]) ? (row[k] as number) : undefined);
  const [bunmg, floor, redist, single, f] = [num("seconds"), num("floorSeconds"), num("redistSeconds"), num("singleSeconds"), num("flops")!];
  if (bunmg) row.tflops = f / bunmg;
  if (floor) row.floorTflops = f / floor;
  if (bunmg && floor) row.ratio = bunmg / floor;
  if (floor && redist !== undefined) row.redistShare = redist / floor;
  if (bunmg && floor && redist !== undefined) {
    const other = bunmg - floor - redist;
    Object.assign(row, { otherSeconds: other, otherShare: other / floor });
  }
  if (bunmg && single) row.speedup = single / bunmg;
  if (floor && single) row.floorSpeedup = single / floor;
}

function finite(x: Float32Array | Float64Array): boolean {
  return x.every(Number.isFinite);
}

function ascendingPositive(w: Float32Array | Float64Array): boolean {
  return w.length > 0 && w[0] > 0 && w.every((v, i) => Number.isFinite(v) && (i === 0 || v >= w[i - 1]));
}
