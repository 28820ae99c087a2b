// Invert a Hermitian positive-definite A on every GPU (or the host backend).
//   bun examples/inverse.ts --n 4096 --dtype complex128 [--backend host|cuda] [--tile 1024]
import { parseArgs } from "node:util";
import { DTYPES, Mesh, ShardedMatrix, potri, type DType } from "bunmg";
import { element, matvec, squaredNorm } from "./matvec.ts";

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "2048" },
    dtype: { type: "string", default: "float64" },
    backend: { type: "string" },
    tile: { type: "string" },
  },
});
const n = Number(opt.n), dtype = opt.dtype as DType;
using mesh = opt.backend === "host" ? Mesh.host(2) : opt.backend === "cuda" ? Mesh.cuda() : Mesh.auto();

using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { kind: "hpd", seed: 1 });
const a = A.toHost();
const start = performance.now();
potri(A, { tileSize: opt.tile ? Number(opt.tile) : undefined }); // A becomes its inverse
const seconds = (performance.now() - start) / 1e3;
const inv = A.toHost();

// ||A A^-1 - I|| / sqrt(n) over a sample of columns of A^-1 (the full product is O(n^3) in JS)
const c = DTYPES[dtype].components;
const columns = Math.min(n, 16);
let r2 = 0;
for (let s = 0; s < columns; s++) {
  const k = Math.floor((s * n) / columns);
  const y = matvec(a, n, n, c, (j) => element(inv, j * n + k, c));
  y[2 * k] -= 1;
  r2 += squaredNorm(y);
}
console.log(`potri ${dtype} n=${n} on ${mesh}: ${seconds.toFixed(3)} s, residual ${Math.sqrt(r2 / columns).toExponential(2)} (${columns} columns of A A^-1 - I)`);
