// Eigenvalues and eigenvectors of a Hermitian A on every GPU (or the host backend).
//   bun examples/eigh.ts --n 4096 --dtype float64 [--backend host|cuda] [--tile 256] [--values-only]
import { parseArgs } from "node:util";
import { DTYPES, Mesh, ShardedMatrix, syevd, type DType } from "bunmg";
import { element, matvec, squaredNorm } from "./matvec.ts";

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "2048" },
    dtype: { type: "string", default: "float64" },
    backend: { type: "string" },
    tile: { type: "string" },
    "values-only": { type: "boolean", default: false },
  },
});
const n = Number(opt.n), dtype = opt.dtype as DType, vectors = !opt["values-only"];
using mesh = opt.backend === "host" ? Mesh.host(2) : opt.backend === "cuda" ? Mesh.cuda() : Mesh.auto();

using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { kind: "hpd", seed: 1 });
const a = A.toHost();
const start = performance.now();
// rows: true gives eigenvector k as row k (no transpose), handy for the residual below
const { values } = syevd(A, { vectors, rows: true, tileSize: opt.tile ? Number(opt.tile) : undefined });
const seconds = (performance.now() - start) / 1e3;
let summary = `eigenvalues ${values[0].toPrecision(6)} .. ${values[n - 1].toPrecision(6)}`;

if (vectors) {
  // max over a sample of k of ||A v_k - w_k v_k|| / ||A||_F
  const v = A.toHost(), c = DTYPES[dtype].components, a2 = squaredNorm(a);
  let worst = 0;
  for (let s = 0; s < Math.min(n, 8); s++) {
    const k = Math.floor((s * n) / Math.min(n, 8));
    const y = matvec(a, n, n, c, (j) => element(v, k * n + j, c));
    for (let i = 0; i < n; i++) {
      const [vr, vi] = element(v, k * n + i, c);
      y[2 * i] -= values[k] * vr;
      y[2 * i + 1] -= values[k] * vi;
    }
    worst = Math.max(worst, Math.sqrt(squaredNorm(y) / a2));
  }
  summary += `, residual ${worst.toExponential(2)}`;
}
console.log(`syevd ${dtype} n=${n} on ${mesh}: ${seconds.toFixed(3)} s, ${summary}`);
