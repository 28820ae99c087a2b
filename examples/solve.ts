// Solve A X = B for a Hermitian positive-definite A on every GPU (or the host backend).
//   bun examples/solve.ts --n 8192 --dtype float64 --nrhs 4 [--backend host|cuda] [--tile 1024]
import { parseArgs } from "node:util";
import { DTYPES, Mesh, ShardedMatrix, potrs, type DType } from "bunmg";
import { element, matvec, squaredNorm } from "./matvec.ts";

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "4096" },
    dtype: { type: "string", default: "float64" },
    nrhs: { type: "string", default: "1" },
    backend: { type: "string" },
    tile: { type: "string" },
  },
});
const n = Number(opt.n), nrhs = Number(opt.nrhs), dtype = opt.dtype as DType;
using mesh = opt.backend === "host" ? Mesh.host(2) : opt.backend === "cuda" ? Mesh.cuda() : Mesh.auto();

using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { kind: "hpd", seed: 1 });
const a = A.toHost(); // kept for the residual: potrs overwrites A with its Cholesky factor
const c = DTYPES[dtype].components;
const b = new DTYPES[dtype].storage(n * nrhs * c).map(() => Math.random() - 0.5);

const start = performance.now();
const x = potrs(A, b, { tileSize: opt.tile ? Number(opt.tile) : undefined });
const seconds = (performance.now() - start) / 1e3;

// ||A X - B|| / (||A|| ||X||), in float64 on the host
let r2 = 0;
for (let k = 0; k < nrhs; k++) {
  const y = matvec(a, n, n, c, (j) => element(x, j * nrhs + k, c));
  for (let i = 0; i < n; i++) {
    const [br, bi] = element(b, i * nrhs + k, c);
    r2 += (y[2 * i] - br) ** 2 + (y[2 * i + 1] - bi) ** 2;
  }
}
const residual = Math.sqrt(r2 / (squaredNorm(a) * squaredNorm(x)));
console.log(`potrs ${dtype} n=${n} nrhs=${nrhs} on ${mesh}: ${seconds.toFixed(3)} s, residual ${residual.toExponential(2)}`);
