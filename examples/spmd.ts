// Solve A X = B with one Bun Worker per device (SPMD). Each Worker is a rank that owns its device
// and its row shard of A; rank 0 runs the solver with every rank's shard and every rank gets X.
// This one file is both the main script and the module every Worker runs.
//   bun examples/spmd.ts --n 8192 [--backend host|cuda] [--devices 0,1]
import { parseArgs } from "node:util";
import { runSpmd, type Group } from "bunmg";
import { rowsResidual } from "./matvec.ts";

interface Outcome {
  rank: number;
  rows: [number, number];
  seconds: number;
  residual: number;
}

/** What every rank runs. */
export default function solveOnRank(group: Group, { n }: { n: number }): Outcome {
  using A = group.allocShard(n);
  group.fillRandom(A, { kind: "hpd", seed: 1 }); // generated where the shards live
  const a = A.toHost(); // this rank's rows, kept for the residual: potrs overwrites A
  const b = Float64Array.from({ length: n }, (_, i) => Math.sin(i)); // the same on every rank
  const start = performance.now();
  const x = group.potrs(A, b);
  const seconds = (performance.now() - start) / 1e3;
  return { rank: group.rank, rows: [A.start, A.end], seconds, residual: rowsResidual(a, n, A.start, x, b) };
}

if (Bun.isMainThread) {
  const { values: opt } = parseArgs({ options: { n: { type: "string", default: "4096" }, backend: { type: "string" }, devices: { type: "string" } } });
  const backend = opt.backend as "host" | "cuda" | undefined;
  const n = Number(opt.n);
  const results = await runSpmd<Outcome>({ module: import.meta.path, backend, devices: opt.devices?.split(",").map(Number), data: { n } });
  for (const r of results) console.log(`rank ${r.rank}: rows ${r.rows[0]}..${r.rows[1]}, its residual ${r.residual.toExponential(2)}`);
  const worst = Math.max(...results.map((r) => r.residual));
  console.log(`potrs float64 n=${n} on ${results.length} Worker ranks: ${results[0].seconds.toFixed(3)} s, residual ${worst.toExponential(2)}`);
}
