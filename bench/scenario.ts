// What a scenario is, and the helpers the scenarios share.
import { BunmgError, Mesh } from "../lib/index.ts";
import type { BenchArgs } from "./args.ts";
import type { CaseInfo, Progress } from "./progress.ts";
import type { ScenarioResult } from "./report.ts";

export interface Context {
  args: BenchArgs;
  progress: Progress;
}

/** A scenario's cases for these flags (listed up front, for progress and --list), and the run. */
export interface Plan {
  cases: CaseInfo[];
  run(ctx: Context): ScenarioResult | Promise<ScenarioResult>;
}

export type Scenario = (args: BenchArgs) => Plan;

export function openMesh(args: BenchArgs): Mesh {
  return args.backend === "cuda" ? Mesh.cuda(args.devices) : Mesh.host(args.devices.length);
}

/** Distinct GPUs (host: 1): what the rough time estimates scale with. */
export function gpuCount(args: BenchArgs): number {
  return args.backend === "cuda" ? new Set(args.devices).size : 1;
}

/** "0,1": the device list as the peer programs take it. */
export function deviceList(args: BenchArgs): string {
  return args.devices.join(",");
}

/** Whether `bytes[p]` more bytes on each mesh position fit in the free memory. Positions that
 * share a GPU (repeated ids), or all host positions, add up. Returns why not, or undefined. */
export function doesNotFit(mesh: Mesh, bytes: readonly number[], headroom = 256 * 2 ** 20): string | undefined {
  const need = new Map<number, { bytes: number; free: number }>();
  for (let p = 0; p < mesh.size; p++) {
    const key = mesh.backend === "cuda" ? mesh.devices[p] : 0;
    const entry = need.get(key) ?? { bytes: headroom, free: mesh.memory(p).free };
    entry.bytes += bytes[p];
    need.set(key, entry);
  }
  for (const [id, { bytes: b, free }] of need) {
    if (b > free) {
      const where = mesh.backend === "cuda" ? `GPU ${id}` : "host memory";
      return `needs ${(b / 2 ** 30).toFixed(1)} GiB on ${where}, ${(free / 2 ** 30).toFixed(1)} GiB free`;
    }
  }
  return undefined;
}

/** The message of an error, one line. */
export function message(e: unknown): string {
  const text = e instanceof BunmgError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}
