// capacity: the largest N that potrs float64 (strategy "multi") solves on the mesh with A
// generated on the devices (ShardedMatrix.random, no host copy), next to the largest N whose
// matrix alone fits in the devices' free memory. Search: estimateMemory's prediction first, then
// real attempts (OUT_OF_MEMORY = too big), each on a fresh mesh that is disposed afterwards.
import { BunmgError, estimateMemory, potrs, ShardedMatrix, type Mesh } from "../../lib/index.ts";
import type { BenchArgs } from "../args.ts";
import { fmt, type Column, type Row } from "../report.ts";
import { doesNotFit, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { seconds } from "../timing.ts";

const DTYPE = "float64";
// The shards carry one tile of slack per device: 1024 rows costs half the memory of the default
// 2048 at these sizes, for about 5% more potrs time (bench/NOTES.md, tiles).
const TILE = 1024;

/** Free bytes summed over distinct GPUs (repeated ids share one; the host backend is one). */
export function distinctFree(mesh: Mesh): number {
  const free = new Map<number, number>();
  mesh.devices.forEach((id, p) => free.set(mesh.backend === "cuda" ? id : 0, mesh.memory(p).free));
  return [...free.values()].reduce((a, b) => a + b, 0);
}

interface Attempt {
  n: number;
  ok: boolean;
  seconds?: number;
  /** bytes bunmg held per position after the solve */
  held?: number[];
  error?: string;
}

/** One potrs on a fresh mesh; OUT_OF_MEMORY is a failed attempt, anything else is thrown. */
function attempt(args: BenchArgs, n: number): Attempt {
  using mesh = openMesh(args);
  try {
    using A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype: DTYPE, maxTile: TILE }, { kind: "hpd", seed: 1 });
    const s = seconds(() => potrs(A, new Float64Array(n).fill(1), { strategy: "multi", tileSize: TILE }));
    return { n, ok: true, seconds: s, held: mesh.devices.map((_, p) => mesh.memory(p).held) };
  } catch (e) {
    if (e instanceof BunmgError && e.code === "OUT_OF_MEMORY") return { n, ok: false, error: e.message.split("\n")[0] };
    throw e;
  }
}

/** The largest multiple of `step` up to `cap` whose estimate fits (0 if none). */
function predict(args: BenchArgs, step: number, cap: number): number {
  using mesh = openMesh(args);
  const fits = (n: number) => !doesNotFit(mesh, mesh.devices.map(() => estimateMemory("potrs", n, DTYPE, mesh, { tileSize: TILE }).total));
  let [lo, hi] = [0, Math.floor(cap / step) + 1]; // in steps: lo fits (or 0), hi does not (or past cap)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid * step)) lo = mid;
    else hi = mid;
  }
  return lo * step;
}

/** The largest multiple of `step` up to `cap` for which `fits` holds (0: none), assuming it holds
 * below some threshold only. From `first`, gallop (steps doubling) up while attempts succeed or
 * down while they fail, then bisect. */
export function searchLargest(first: number, step: number, cap: number, fits: (n: number) => boolean): number {
  let lo = 0; // largest success (0: none yet)
  let hi = Math.floor(cap / step) * step + step; // smallest failure, or past the cap
  const start = Math.min(first, hi - step);
  if (fits(start)) {
    lo = start;
    for (let k = 1; lo + k * step < hi; k *= 2) {
      if (!fits(lo + k * step)) {
        hi = lo + k * step;
        break;
      }
      lo += k * step;
    }
  } else {
    hi = start;
    for (let k = 1; hi - k * step > lo; k *= 2) {
      if (fits(hi - k * step)) {
        lo = hi - k * step;
        break;
      }
      hi -= k * step;
    }
  }
  while (hi - lo > step) {
    const mid = lo + Math.floor((hi - lo) / (2 * step)) * step;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export const capacity: Scenario = (args): Plan => {
  const step = args.quick ? 64 : 1024;
  // The host backend's "free memory" is the machine's: cap it, LAPACK at that size takes hours.
  const cap = args.sizes?.[0] ?? (args.quick ? 512 : args.backend === "host" ? 4096 : 1 << 20);
  const only = { label: `potrs ${DTYPE} largest N (steps of ${step}, at most ${cap})`, estimate: args.quick ? 1 : 150 };
  return {
    cases: [only],
    run({ progress }) {
      progress.start("capacity", only);
      const free = (() => {
        using mesh = openMesh(args);
        return distinctFree(mesh);
      })();
      const matrixOnly = Math.floor(Math.sqrt(free / 8));
      const predicted = predict(args, step, cap);
      progress.log(`free ${fmt.gib(free)} GiB over distinct devices: matrix alone up to n=${matrixOnly}; estimateMemory predicts n=${predicted}`);
      const attempts: Attempt[] = [];
      const tryN = (n: number) => {
        const a = attempt(args, n);
        attempts.push(a);
        progress.log(`n=${n}: ${a.ok ? `solved in ${fmt.seconds(a.seconds)}` : a.error}`);
        return a.ok;
      };
      const lo = searchLargest(Math.max(step, predicted), step, cap, tryN);
      const hi = Math.min(Infinity, ...attempts.filter((a) => !a.ok).map((a) => a.n));
      const reached = attempts.find((a) => a.ok && a.n === lo);
      const row: Row = {
        dtype: DTYPE,
        tile: TILE,
        predicted,
        n: lo,
        seconds: reached?.seconds,
        heldGiB: reached?.held?.map((b) => fmt.gib(b)).join(" / "),
        freeGiB: fmt.gib(free),
        matrixOnly,
        ratio: lo / matrixOnly,
        attempts: attempts.length,
      };
      const notes = [
        "N = the largest multiple of the step that potrs (strategy multi) solved, A generated on the devices; matrix alone = sqrt(free bytes over distinct devices / 8); ratio = N / matrix alone (goal >= 0.95).",
        "time = one solve on a fresh mesh (handle set-up included; no second run, which would need the matrix regenerated at the limit). held = bytes bunmg held per position after it.",
      ];
      if (hi > cap && lo >= Math.floor(cap / step) * step) notes.push(`The search reached the cap n=${cap} (--sizes, or the host/quick default): the ratio is not a capacity figure.`);
      return { rows: [row], columns: COLUMNS, notes, context: { attempts, freeBytes: free } };
    },
  };
};

export const COLUMNS: Column[] = [
  { key: "dtype", title: "dtype" },
  { key: "predicted", title: "estimateMemory N" },
  { key: "n", title: "N solved" },
  { key: "tile", title: "T" },
  { key: "seconds", title: "time", format: fmt.seconds },
  { key: "heldGiB", title: "held GiB per position" },
  { key: "freeGiB", title: "free GiB (distinct devices)" },
  { key: "matrixOnly", title: "matrix alone N" },
  { key: "ratio", title: "ratio", format: (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "-") },
  { key: "attempts", title: "attempts" },
];
