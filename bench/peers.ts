// The peer programs built next to libbunmg: build/bunmg_floor (plain cuSOLVERMg, the floor) and
// build/bunmg_baseline (JAXMg's column-at-a-time redistribution). Each prints one JSON line on
// stdout. A missing program is a note, not a failure: CMake builds them only where CUDA (and for
// the floor, cuSOLVERMg) is present.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export type PeerName = "bunmg_floor" | "bunmg_baseline";

/** BUNMG_BUILD_DIR, else the package's build/ folder. */
export const buildDir = process.env.BUNMG_BUILD_DIR ?? resolve(import.meta.dir, "..", "build");

export type PeerRun<T> = { ok: true; data: T; seconds: number } | { ok: false; note: string };

export function peerPath(name: PeerName): string | undefined {
  const path = join(buildDir, name);
  return existsSync(path) ? path : undefined;
}

/** Runs a peer program and parses the last JSON line it printed. A non-zero exit with a JSON
 * line still counts (the floor exits 1 on a non-zero info and says so in its JSON). */
export function runPeer<T>(name: PeerName, args: readonly (string | number)[], verbose = false): PeerRun<T> {
  const path = peerPath(name);
  if (path === undefined) {
    return { ok: false, note: `${name} not built (${join(buildDir, name)}): it needs CUDA${name === "bunmg_floor" ? " and cuSOLVERMg" : ""}; run \`bun run build\`` };
  }
  const argv = [path, ...args.map(String)];
  const t0 = performance.now();
  const proc = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  const seconds = (performance.now() - t0) / 1e3;
  const stdout = proc.stdout.toString();
  const stderr = proc.stderr.toString();
  if (verbose && stderr.trim()) process.stderr.write(`${stderr.trimEnd().replace(/^/gm, "      | ")}\n`);
  const line = stdout.split("\n").reverse().find((l) => l.trim().startsWith("{"));
  if (line !== undefined) {
    try {
      return { ok: true, data: JSON.parse(line) as T, seconds };
    } catch {
      // fall through to the failure note
    }
  }
  const last = stderr.trim().split("\n").at(-1) ?? "";
  return { ok: false, note: `${name} failed (exit ${proc.exitCode}): ${last || "no output"} [${argv.slice(1).join(" ")}]` };
}

/** What bunmg_floor --json prints (the fields the bench reads). */
export interface FloorResult {
  routine: string;
  dtype: string;
  n: number;
  tile: number;
  devices: number[];
  mg_seconds_median: number | null;
  mg_seconds_all: number[];
  dn_seconds_median: number | null;
  dn_seconds_all: number[];
  tflops_mg: number | null;
  tflops_dn: number | null;
  flops: number;
  lwork_elements: number;
  info: number;
  gpu: string;
  dn_note: string | null;
}

/** What bunmg_baseline prints. */
export interface BaselineResult {
  n: number;
  tile: number;
  devices: number[];
  dtype_bytes: number;
  seconds_median: number;
  seconds_all: number[];
  columns_moved: number;
  copies: number;
  cycles: number;
  padded_columns: number;
  verified_columns: number;
}
