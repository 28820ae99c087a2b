// The rough times of --list and of the progress lines, from the bench's own recorded figures:
// each scenario estimates its cases a priori (seconds on GPUs of the H100 class); those are
// scaled, per scenario, by the newest run of it recorded under bench/results/ on the same
// backend: that run's wall time over what the same estimates said for its own cases.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseBenchArgs, type BenchArgs, type ScenarioName } from "./args.ts";
import type { CaseInfo } from "./progress.ts";
import type { ResultFile } from "./report.ts";
import { REGISTRY } from "./scenarios/index.ts";

export const RESULTS_DIR = join(import.meta.dir, "results");

/** What a recorded result says of its run. */
type RecordedRun = Pick<ResultFile, "path" | "scenario" | "backend" | "devices" | "quick" | "date" | "argv"> & { seconds: number };

export interface Scale {
  /** recorded seconds over the a-priori estimate of the same run */
  factor: number;
  /** the result file it comes from, relative to bench/results/ */
  from: string;
}

function jsonFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []));
}

function recordedRuns(dir: string): RecordedRun[] {
  return jsonFiles(dir).flatMap((path) => {
    try {
      const d = JSON.parse(readFileSync(path, "utf8")) as Partial<RecordedRun>;
      const valid = typeof d.scenario === "string" && d.scenario in REGISTRY && typeof d.seconds === "number" && Array.isArray(d.argv) && Array.isArray(d.devices) && typeof d.date === "string";
      return valid ? [{ ...(d as RecordedRun), quick: d.quick === true, path }] : [];
    } catch {
      return [];
    }
  });
}

/** The cases the recorded run planned, as this bench would plan them now. */
function plannedSeconds(run: RecordedRun): number {
  const argv = run.argv.filter((a, i, all) => a !== "--list" && a !== "--out" && all[i - 1] !== "--out");
  const args = parseBenchArgs([...argv, "--backend", run.backend, "--devices", run.devices.join(",")]);
  return REGISTRY[run.scenario].plan(args).cases.reduce((s, c) => s + c.estimate, 0);
}

/** Per scenario, the scale from its newest recorded run on the backend (quick runs only scale
 * quick runs); scenarios without one keep their a-priori estimates. */
export function calibration(args: Pick<BenchArgs, "backend" | "quick">, dir = RESULTS_DIR): Map<ScenarioName, Scale> {
  const newest = new Map<ScenarioName, RecordedRun>();
  for (const run of recordedRuns(dir)) {
    if (run.backend !== args.backend || run.quick !== args.quick) continue;
    const seen = newest.get(run.scenario);
    if (!seen || run.date > seen.date) newest.set(run.scenario, run);
  }
  const scales = new Map<ScenarioName, Scale>();
  for (const [scenario, run] of newest) {
    let planned: number;
    try {
      planned = plannedSeconds(run);
    } catch {
      continue; // flags this bench no longer takes
    }
    if (planned > 0) scales.set(scenario, { factor: run.seconds / planned, from: relative(dir, run.path) });
  }
  return scales;
}

/** Scales the estimates of a plan's cases in place (the plan's run announces these objects). */
export function applyScale(cases: CaseInfo[], scale: Scale | undefined): void {
  if (scale !== undefined) for (const c of cases) c.estimate *= scale.factor;
}
