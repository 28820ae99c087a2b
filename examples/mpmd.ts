// Solve A X = B with one process per device (MPMD). Each process is a rank that owns its device
// and its row shard of A; rank 0 opens the other ranks' shards (CUDA IPC, or shared memory on
// the host backend), runs the solver, and every rank gets X.
//   bunx bunmg launch --devices 0,1 examples/mpmd.ts --n 8192 [--backend host|cuda]
//   bun examples/mpmd.ts --n 8192 [--backend host|cuda] [--np 2]   (launches itself)
import { parseArgs } from "node:util";
import { cudaDeviceCount, joinFromEnv, launch, rankEnvironment } from "bunmg";
import { rowsResidual } from "./matvec.ts";

const { values: opt } = parseArgs({ options: { n: { type: "string", default: "4096" }, backend: { type: "string" }, np: { type: "string" } } });
const backend = opt.backend as "host" | "cuda" | undefined;
const n = Number(opt.n);

if (rankEnvironment() === undefined) {
  // Started directly: run this script once per device, as `bunmg launch` does; without a GPU,
  // two ranks on the host backend (as examples/spmd.ts falls back to host Workers).
  const gpus = cudaDeviceCount();
  const ranks = backend ?? (gpus > 0 ? "cuda" : "host");
  if (ranks === "cuda" && gpus === 0) {
    console.error("mpmd.ts: --backend cuda, but no CUDA device is visible (`bunx bunmg doctor` says why); try --backend host");
    process.exit(1);
  }
  const count = opt.np ? Number(opt.np) : ranks === "host" ? 2 : gpus;
  if (ranks === "host" && backend === undefined) console.log(`no GPU visible: ${count} ranks on the host backend`);
  const { exitCode } = await launch({ script: import.meta.path, args: process.argv.slice(2), devices: Array.from({ length: count }, (_, i) => i), backend: ranks });
  process.exit(exitCode);
}

using group = joinFromEnv({ backend });
using A = group.allocShard(n);
group.fillRandom(A, { kind: "hpd", seed: 1 }); // generated where the shards live
const a = A.toHost(); // this rank's rows, kept for the residual: potrs overwrites A
const b = Float64Array.from({ length: n }, (_, i) => Math.sin(i)); // the same on every rank
const start = performance.now();
const x = group.potrs(A, b);
const seconds = (performance.now() - start) / 1e3;

const residual = rowsResidual(a, n, A.start, x, b); // ||A_r x - b_r|| / (||A_r|| ||x||), this rank's rows
console.log(`potrs float64 n=${n}, rank ${group.rank} of ${group.size} (${group.backend}), rows ${A.start}..${A.end}: ${seconds.toFixed(3)} s, residual ${residual.toExponential(2)}`);
