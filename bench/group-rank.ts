// The rank side of the `groups` scenario: group.potrs repeated on a fresh HPD matrix, timed on
// each rank (every rank returns when the collective call does). A Worker module for runSpmd
// (default export) and, under `bunmg launch`, a process that prints its times as one line.
import { joinFromEnv, rankEnvironment, type Group } from "../lib/index.ts";

export interface GroupBenchSpec {
  n: number;
  tile: number;
  repeats: number;
}

export const SPEC_ENV = "BUNMG_BENCH_SPEC";
export const RESULT_PREFIX = "BENCH ";

/** Seconds of each timed group.potrs after one warm-up. */
export function timeGroupPotrs(group: Group, { n, tile, repeats }: GroupBenchSpec): number[] {
  using A = group.allocShard(n, { tileSize: tile });
  const b = new Float64Array(n).fill(1);
  const times: number[] = [];
  for (let r = -1; r < repeats; r++) {
    group.fillRandom(A, { kind: "hpd", seed: 1 });
    const start = performance.now();
    group.potrs(A, b, { tileSize: tile });
    if (r >= 0) times.push((performance.now() - start) / 1e3);
  }
  return times;
}

export default timeGroupPotrs;

if (import.meta.main && rankEnvironment() !== undefined) {
  using group = joinFromEnv();
  const times = timeGroupPotrs(group, JSON.parse(process.env[SPEC_ENV] ?? "{}") as GroupBenchSpec);
  console.log(RESULT_PREFIX + JSON.stringify(times));
}
