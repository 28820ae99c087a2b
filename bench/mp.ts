// mp (cuSOLVERMp on a 1 x 1 grid, a world of one) beside mg (cuSOLVERMg, devices [0]) and single
// (cuSOLVERDn) on one GPU, measured side by side in one run: potrs float64 at N = 32768 and 65536,
// syevd float64 (vectors) at N = 16384 by default. Each engine gets the same HPD matrix
// (fillRandom on the device, then a host copy for mp, whose contract takes host rows); each
// time covers the whole call from host or device input to the result, as its user sees it.
//
//   bun bench/mp.ts [--cases potrs:32768,potrs:65536,syevd:16384] [--repeats 1]
import { Mesh, ShardedMatrix, type Routine } from "../lib/index.ts";
import { MpWorld } from "../lib/mp.ts";
import { onesRhs, solve } from "./solve.ts";

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const cases = flag("cases", "potrs:32768,potrs:65536,syevd:16384").split(",").map((c) => {
  const [routine, n] = c.split(":");
  return { routine: routine as Routine, n: Number(n) };
});
const repeats = Number(flag("repeats", "1"));

/** Median seconds of `repeats` runs of `body` after one warm-up, `before` outside the timing;
 * a failure is the cell's text. */
function time(body: () => void, before: () => void): string {
  const runs: number[] = [];
  try {
    for (let r = 0; r <= repeats; r++) {
      before();
      const t0 = performance.now();
      body();
      if (r > 0) runs.push((performance.now() - t0) / 1000);
    }
  } catch (e) {
    return `failed: ${(e as Error).message.slice(0, 160)}`;
  }
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!.toFixed(2);
}

const world = MpWorld.join({ engine: "cusolvermp", device: 0 });
const rows: string[] = [];
for (const { routine, n } of cases) {
  const mesh = Mesh.cuda([0]);
  const A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype: "float64" }, { kind: "hpd", seed: 1 });
  const B = onesRhs("float64", n);
  const fresh = () => {
    if (A.layout !== "rows") A.fromCyclic();
    A.fillRandom({ kind: "hpd", seed: 1 });
  };
  const seconds: Record<string, string> = {};
  for (const strategy of ["multi", "single"] as const) seconds[strategy === "multi" ? "mg" : "single"] = time(() => solve(routine, A, B, { strategy }), fresh);
  fresh();
  let host: Float64Array | undefined;
  try {
    host = A.toHost() as Float64Array; // one typed array of N^2 elements: the host's limit shows here
  } catch (e) {
    seconds.mp = `no host copy: ${(e as Error).message.slice(0, 120)}`;
  }
  A.dispose();
  mesh.dispose();
  if (host) {
    const rowsOfA = { n, dtype: "float64" as const, data: host };
    const original = routine === "syevd" ? host.slice() : undefined; // syevd overwrites A with the vectors
    seconds.mp = time(
      () => (routine === "potrs" ? world.potrs(rowsOfA, B as Float64Array) : world.syevd(rowsOfA, { vectors: true })),
      () => original && host.set(original),
    );
  }
  rows.push(`| ${routine} | ${n} | ${seconds.mp} | ${seconds.mg} | ${seconds.single} |`);
  console.error(rows.at(-1));
}
world.leave();
console.log(`float64, one GPU, median of ${repeats} after one warm-up, seconds:\n`);
console.log("| routine | N | mp (cuSOLVERMp 1x1) | mg (cuSOLVERMg [0]) | single (cuSOLVERDn) |\n| --- | --- | --- | --- | --- |");
console.log(rows.join("\n"));
