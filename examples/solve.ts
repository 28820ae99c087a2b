// examples/solve.ts: solve A X = B on every GPU, or on the host backend without one.
//   bun examples/solve.ts --n 4096 [--dtype float64|float32|complex64|complex128] [--nrhs 1] [--backend host|cuda]
import { parseArgs } from "node:util";
import { DTYPES, Mesh, ShardedMatrix, potrs, type DType } from "bunmg";
import { solveResidual } from "./matvec.ts";

const { values: opt } = parseArgs({
  options: { n: { type: "string", default: "4096" }, dtype: { type: "string", default: "float64" }, nrhs: { type: "string", default: "1" }, backend: { type: "string" }, tile: { type: "string" } },
});
const n = Number(opt.n), nrhs = Number(opt.nrhs), dtype = opt.dtype as DType;
using mesh = opt.backend === "host" ? Mesh.host(2) : opt.backend === "cuda" ? Mesh.cuda() : Mesh.auto(); // auto: every GPU, or one host device

using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { kind: "hpd", seed: 1 }); // Hermitian positive definite, row shards
const a = A.toHost(); // a copy for the residual
const b = new DTYPES[dtype].storage(n * nrhs * DTYPES[dtype].components).map(() => Math.random() - 0.5); // row-major n x nrhs

const start = performance.now();
const x = potrs(A, b, opt.tile ? { tileSize: Number(opt.tile) } : {}); // x is a new array; A holds its Cholesky factor, or is unchanged
const seconds = (performance.now() - start) / 1e3;
console.log(`potrs ${dtype} n=${n} nrhs=${nrhs} on ${mesh}: ${seconds.toFixed(3)} s, residual ${solveResidual(a, n, x, b, nrhs).toExponential(2)}`);
