// Eigenvalues and eigenvectors of a Hermitian A on every GPU (or the host backend).
//   bun examples/eigh.ts --n 4096 --dtype float64 [--backend host|cuda] [--tile 256] [--values-only]
import { parseArgs } from "node:util";
import { DTYPES, Mesh, ShardedMatrix, syevd, type DType } from "bunmg";

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
  const v = A.toHost(), c = DTYPES[dtype].components;
  let a2 = 0, worst = 0;
  for (const x of a) a2 += x * x;
  for (let s = 0; s < Math.min(n, 8); s++) {
    const k = Math.floor((s * n) / Math.min(n, 8));
    let r2 = 0;
    for (let i = 0; i < n; i++) {
      let re = -values[k] * v[c * (k * n + i)], im = c === 2 ? -values[k] * v[c * (k * n + i) + 1] : 0;
      for (let j = 0; j < n; j++) {
        const ar = a[c * (i * n + j)], vr = v[c * (k * n + j)];
        if (c === 1) re += ar * vr;
        else {
          const ai = a[c * (i * n + j) + 1], vi = v[c * (k * n + j) + 1];
          re += ar * vr - ai * vi;
          im += ar * vi + ai * vr;
        }
      }
      r2 += re * re + im * im;
    }
    worst = Math.max(worst, Math.sqrt(r2 / a2));
  }
  summary += `, residual ${worst.toExponential(2)}`;
}
console.log(`syevd ${dtype} n=${n} on ${mesh}: ${seconds.toFixed(3)} s, ${summary}`);
