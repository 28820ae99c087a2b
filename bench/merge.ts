// `bun bench/merge.ts [--out DIR] RESULT.json ...`: one summary and one set of plots from the
// JSON results of several `bun bench` runs on one machine and mesh (a suite split by scenario or
// --routines, or a run cut short after some scenarios finished). A case measured in several files
// keeps the row of the latest run.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { SCENARIOS, type ScenarioName } from "./args.ts";
import { reportCharts } from "./plot.ts";
import { runLabel, stamp, type ResultFile, type Row, type ScenarioResult } from "./report.ts";
import { writeSummary } from "./summary.ts";
import { REGISTRY } from "./scenarios/index.ts";

export interface Merged {
  where: string;
  sources: ResultFile[];
  sections: { name: ScenarioName; title: string; result: ScenarioResult }[];
}

export function readResult(path: string): ResultFile {
  let data;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`merge: ${path}: ${(e as Error).message}`);
  }
  if (!SCENARIOS.includes(data?.scenario) || !Array.isArray(data.rows) || !Array.isArray(data.devices) || typeof data.date !== "string")
    throw new Error(`merge: ${path} is not a bun bench result (scenario, devices, date and rows expected)`);
  return { argv: [], notes: [], quick: false, bunmg: "?", ...data, path };
}

const machine = (f: ResultFile) => runLabel(f.backend, f.devices, f.quick);

/** The fields that name a case; every other field is a measurement. */
const CASE_FIELDS = ["kind", "from", "to", "routine", "dtype", "n", "tile"] as const;
const GROUP_FIELDS = ["kind", "from", "to", "routine", "dtype"] as const;
const key = (row: Row, fields: readonly string[]) => JSON.stringify(fields.map((f) => row[f] ?? null));
const num = (v: unknown) => (typeof v === "number" ? v : 0);

/** Rows of the files in date order, a later row replacing an earlier one of the same case; grouped
 * as first seen (routine and dtype, copy direction), then by N and T. */
function mergeRows(files: ResultFile[]): Row[] {
  const byCase = new Map<string, Row>();
  for (const f of files) for (const row of f.rows) byCase.set(key(row, CASE_FIELDS), row);
  const rows = [...byCase.values()];
  const groupOrder = new Map<string, number>();
  for (const row of rows) if (!groupOrder.has(key(row, GROUP_FIELDS))) groupOrder.set(key(row, GROUP_FIELDS), groupOrder.size);
  const group = (row: Row) => groupOrder.get(key(row, GROUP_FIELDS)) as number;
  return rows.sort((a, b) => group(a) - group(b) || num(a.n) - num(b.n) || num(a.tile) - num(b.tile));
}

/** Notes every file gave once; the others with the files they came from. */
function mergeNotes(files: ResultFile[]): string[] {
  const from = new Map<string, string[]>();
  for (const f of files) for (const note of f.notes) from.set(note, [...(from.get(note) ?? []), basename(f.path)]);
  return [...from].map(([note, names]) => (names.length === files.length ? note : `${note} (${names.join(", ")})`));
}

export function mergeResults(files: ResultFile[]): Merged {
  if (files.length === 0) throw new Error("merge: no result files given");
  const where = machine(files[0]);
  for (const f of files)
    if (machine(f) !== where) throw new Error(`merge: ${f.path} is from ${machine(f)} but ${files[0].path} from ${where}; merge the results of one machine and mesh only`);
  const sources = [...files].sort((a, b) => a.date.localeCompare(b.date));
  const sections = SCENARIOS.flatMap((name) => {
    const own = sources.filter((f) => f.scenario === name);
    if (own.length === 0) return [];
    return [{ name, title: `${name} (${where})`, result: { rows: mergeRows(own), columns: REGISTRY[name].columns, notes: mergeNotes(own) } }];
  });
  return { where, sources, sections };
}

/** Writes the merged summary and plots into `dir`; returns the summary's path. */
export function writeMerged(dir: string, merged: Merged, when = stamp()): string {
  const versions = [...new Set(merged.sources.map((f) => f.bunmg))].join(", ");
  const rows = Object.fromEntries(merged.sections.map((s) => [s.name, s.result.rows]));
  const runs = Map.groupBy(merged.sources, (f) => `bun bench ${f.argv.join(" ")}`);
  const sources = [...runs].map(([command, files]) => `${files.map((f) => basename(f.path)).join(", ")}: \`${command}\``);
  return writeSummary(dir, when, `bunmg ${versions}, ${merged.where}; merged from ${merged.sources.length} result files`, merged.sections, reportCharts(rows, merged.where), sources);
}

if (import.meta.main) {
  try {
    const { values, positionals } = parseArgs({ options: { out: { type: "string", default: "bench/out" } }, allowPositionals: true });
    console.error(`merge: summary and plots: ${writeMerged(values.out, mergeResults(positionals.map(readResult)))}`);
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: bun bench/merge.ts [--out DIR] RESULT.json ...`);
    process.exitCode = 2;
  }
}
