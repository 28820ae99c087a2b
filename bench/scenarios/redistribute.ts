// redistribute: bunmg's in-place permutation-cycle redistribution (row shards <-> 1D block-cyclic
// layout), toCyclic and fromCyclic timed separately on a uniform random matrix, against the
// links it runs on (both-ways peer bandwidth, measured in this run) and against JAXMg's
// column-at-a-time procedure (build/bunmg_baseline, same devices, N, T and dtype).
import { cyclicPlan, DTYPES, shardCapacity, ShardedMatrix, type DType, type Mesh } from "../../lib/index.ts";
import { runPeer, type BaselineResult } from "../peers.ts";
import type { CaseInfo } from "../progress.ts";
import { backendNote, fmt, type Column, type Row } from "../report.ts";
import { deviceList, doesNotFit, message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { median, seconds } from "../timing.ts";

interface RedistCase extends CaseInfo {
  n: number;
  tile: number;
  dtype: DType;
}

/** Matrices up to this many bytes are also read back and compared (layout check). */
const CHECK_BYTES = 64 * 2 ** 20;

export const redistribute: Scenario = (args): Plan => {
  const sizes = args.sizes ?? (args.quick ? [1000] : [32768, 65536]);
  const tiles = args.tiles ?? (args.quick ? [64] : [256, 1024]);
  const dtypes = args.dtypes ?? ["float64"];
  const G = args.devices.length;
  const lanes = args.backend === "cuda" ? 2 : 1; // copy queues per device (CUDA backend: 2)
  const cases: RedistCase[] = [];
  for (const n of sizes)
    for (const tile of tiles)
      for (const dtype of dtypes) {
        const bytes = n * n * DTYPES[dtype].bytes;
        // bunmg: 8 one-way passes at ~150 GB/s; baseline: 4 runs of ~2 copies per column, and
        // its start (memset, samples).
        const estimate = 3 + (8 * bytes) / 1.5e11 + (args.repeats + 1) * 2 * n * 6e-6 + bytes / 2e11;
        cases.push({ n, tile, dtype, label: `n=${n} T=${tile} ${dtype}`, estimate });
      }

  return {
    cases,
    run({ progress }) {
      using mesh = openMesh(args);
      const rows: Row[] = [];
      const notes: string[] = [];
      // The reference rate: every device's links at the rate one pair reaches both ways.
      let peer = NaN;
      if (G > 1) {
        try {
          peer = mesh.copyBandwidth(1, 0, args.quick ? 16 * 2 ** 20 : 2 ** 30, { repeats: args.quick ? 3 : 10, bothWays: true });
        } catch (e) {
          notes.push(`peer bandwidth not measured: ${message(e)}`);
        }
      }
      const reference = (peer * G) / 2;
      for (const c of cases) {
        progress.start("redistribute", c);
        const row: Row = { n: c.n, tile: c.tile, dtype: c.dtype };
        rows.push(row);
        const plan = cyclicPlan(c.n, c.tile, G, lanes);
        const rowBytes = c.n * DTYPES[c.dtype].bytes;
        Object.assign(row, { copies: plan.copies, cycles: plan.cycles, crossBytes: plan.rowsCross * rowBytes });
        try {
          measureBunmg(mesh, c, args.repeats, row, plan.stagingRows, (m) => progress.log(m));
        } catch (e) {
          row.note = message(e);
          progress.log(`bunmg failed: ${row.note}`);
        }
        const cross = row.crossBytes as number;
        if (cross > 0 && typeof row.toSeconds === "number") {
          row.toRate = cross / row.toSeconds;
          row.fromRate = cross / (row.fromSeconds as number);
          row.toOfPeer = (row.toRate as number) / reference;
          row.fromOfPeer = (row.fromRate as number) / reference;
        }
        if (args.backend !== "cuda") continue;
        // JAXMg's procedure needs the matrix twice (padded copy): check before spawning it.
        const shard = Math.ceil(c.n / G);
        const padded = Math.ceil(shard / c.tile) * c.tile;
        const tooBig = doesNotFit(mesh, args.devices.map((_, p) => (shard + padded + (p === 0 ? 2 : 0)) * rowBytes));
        if (tooBig) {
          row.baselineNote = `baseline skipped: ${tooBig}`;
          continue;
        }
        progress.log("baseline (bunmg_baseline) ...");
        const base = runPeer<BaselineResult>("bunmg_baseline", ["--n", c.n, "--tile", c.tile, "--devices", deviceList(args), "--dtype", c.dtype, "--repeats", args.repeats, "--warmup", 1], args.verbose);
        if (!base.ok) {
          row.baselineNote = base.note;
          progress.log(base.note);
          continue;
        }
        row.baselineSeconds = base.data.seconds_median;
        row.baselineCopies = base.data.copies;
        if (typeof row.toSeconds === "number") row.speedup = base.data.seconds_median / row.toSeconds;
        progress.log(`baseline ${fmt.seconds(row.baselineSeconds)}, speed-up ${fmt.ratio(row.speedup)}`);
      }
      for (const r of rows) if (r.baselineNote) notes.push(`n=${r.n} T=${r.tile} ${r.dtype}: ${r.baselineNote}`);
      if (G === 1) notes.push("One device: nothing crosses devices, so there are no rates or ratios.");
      else notes.push(`Peer reference: positions 0 <-> 1 both ways = ${fmt.gbps(peer)} GB/s; x G/2 = ${fmt.gbps(reference)} GB/s for G = ${G} (every device's links busy); "of peer" = GB/s / reference.`);
      notes.push(
        "cross = rows crossing devices (cyclicPlan(N, T, G, lanes).rowsCross) x N x element size; GB/s = cross / seconds.",
        ...backendNote(args.backend, "speed-up = JAXMg-style baseline (pad copy + one column at a time through device 0) / bunmg toCyclic."),
      );
      return {
        rows,
        columns: COLUMNS,
        notes,
        context: { peerBothWays: peer, reference, lanes },
      };
    },
  };
};

/** Fills a uniform random matrix, then times toCyclic and fromCyclic (one warm-up pair). */
function measureBunmg(mesh: Mesh, c: RedistCase, repeats: number, row: Row, stagingRows: number, log: (m: string) => void): void {
  const rowBytes = c.n * DTYPES[c.dtype].bytes;
  const capacity = shardCapacity(c.n, c.tile, mesh.size);
  const tooBig = doesNotFit(mesh, Array.from({ length: mesh.size }, () => (capacity + stagingRows) * rowBytes));
  if (tooBig) throw new Error(`skipped: ${tooBig}`);
  using A = ShardedMatrix.random(mesh, { rows: c.n, cols: c.n, dtype: c.dtype, maxTile: c.tile }, { kind: "uniform", seed: 7 });
  const small = c.n * rowBytes <= CHECK_BYTES;
  const before = small ? A.toHost() : undefined;
  const to: number[] = [];
  const from: number[] = [];
  for (let r = -1; r < repeats; r++) {
    const t = seconds(() => A.toCyclic(c.tile));
    if (r === -1 && before) row.checked = same(before, A.toHost()) ? "ok" : "WRONG";
    const f = seconds(() => A.fromCyclic());
    if (r >= 0) to.push(t), from.push(f);
    log(`${r < 0 ? "warm-up" : `repeat ${r + 1}/${repeats}`}: toCyclic ${fmt.seconds(t)}, fromCyclic ${fmt.seconds(f)}`);
  }
  if (before && row.checked === "ok") row.checked = same(before, A.toHost()) ? "ok" : "WRONG";
  Object.assign(row, { toSeconds: median(to), fromSeconds: median(from), toAll: to, fromAll: from });
}

function same(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

export const COLUMNS: Column[] = [
  { key: "n", title: "N" },
  { key: "tile", title: "T" },
  { key: "dtype", title: "dtype" },
  { key: "crossBytes", title: "cross GB", format: fmt.gb },
  { key: "toSeconds", title: "toCyclic", format: fmt.seconds },
  { key: "toRate", title: "GB/s", format: fmt.gbps },
  { key: "toOfPeer", title: "of peer", format: fmt.percent },
  { key: "fromSeconds", title: "fromCyclic", format: fmt.seconds },
  { key: "fromRate", title: "GB/s", format: fmt.gbps },
  { key: "fromOfPeer", title: "of peer", format: fmt.percent },
  { key: "copies", title: "copies" },
  { key: "baselineSeconds", title: "baseline", format: fmt.seconds },
  { key: "speedup", title: "speed-up", format: fmt.ratio },
  { key: "checked", title: "layout check" },
  { key: "note", title: "note" },
];
