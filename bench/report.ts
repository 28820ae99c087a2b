// Results: Markdown tables for stdout, the JSON file of a scenario, number formatting, and the
// footnotes that depend on the backend.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScenarioName } from "./args.ts";

export type Row = Record<string, unknown>;

/** A result file as `bun bench` writes it under bench/results/ (the fields its readers use). */
export interface ResultFile {
  path: string;
  scenario: ScenarioName;
  backend: string;
  devices: number[];
  quick: boolean;
  date: string;
  /** wall time of the scenario's run */
  seconds?: number;
  bunmg: string;
  argv: string[];
  notes: string[];
  rows: Row[];
}

export interface Column {
  key: string;
  title: string;
  /** default: numbers with 4 significant digits, missing values as "-" */
  format?: (value: unknown, row: Row) => string;
}

export interface ScenarioResult {
  rows: Row[];
  columns: Column[];
  /** footnotes under the table (skips, peer programs missing, reference values) */
  notes: string[];
  /** scenario-wide measurements that belong in the JSON (e.g. the peer bandwidth used) */
  context?: Row;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export const fmt = {
  plain(v: unknown): string {
    if (v === undefined || v === null || (typeof v === "number" && !Number.isFinite(v))) return "-";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
    return String(v);
  },
  seconds: (v: unknown) => (isNumber(v) ? (v < 0.01 ? `${(v * 1e3).toPrecision(3)} ms` : `${v.toPrecision(3)} s`) : "-"),
  /** bytes per second as GB/s (1e9) */
  gbps: (v: unknown) => (isNumber(v) ? (v / 1e9).toFixed(v < 1e10 ? 2 : 1) : "-"),
  /** bytes as GB (1e9) */
  gb: (v: unknown) => (isNumber(v) ? (v / 1e9).toFixed(v < 1e9 ? 3 : 2) : "-"),
  gib: (v: unknown) => (isNumber(v) ? (v / 2 ** 30).toFixed(2) : "-"),
  tflops: (v: unknown) => (isNumber(v) ? (v / 1e12).toFixed(v < 1e12 ? 3 : 1) : "-"),
  ratio: (v: unknown) => (isNumber(v) ? `${v.toFixed(2)}x` : "-"),
  percent: (v: unknown) => (isNumber(v) ? `${(v * 100).toFixed(1)}%` : "-"),
};

function cell(column: Column, row: Row): string {
  const text = (column.format ?? fmt.plain)(row[column.key], row);
  return text.replaceAll("|", "\\|");
}

/** The table; a column with no value in any row (the floor on the host backend, a note column
 * without notes) is left out. */
export function markdownTable(rows: readonly Row[], columns: readonly Column[]): string {
  const shown = columns.filter((c) => rows.some((row) => cell(c, row) !== "-"));
  const lines = [`| ${shown.map((c) => c.title).join(" | ")} |`, `| ${shown.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${shown.map((c) => cell(c, row)).join(" | ")} |`);
  return lines.join("\n");
}

/** A footnote about the CUDA machinery (cuSOLVERMg, the floor program, CUDA IPC) on a CUDA run;
 * on a host run its host wording, or nothing. */
export function backendNote(backend: string, cuda: string, host?: string): string[] {
  return backend === "cuda" ? [cuda] : host === undefined ? [] : [host];
}

/** The Markdown section of one scenario: heading, table, notes. */
export function markdownSection(title: string, result: ScenarioResult): string {
  const parts = [`## ${title}`, ""];
  parts.push(result.rows.length > 0 ? markdownTable(result.rows, result.columns) : "_no results_");
  if (result.notes.length > 0) parts.push("", ...result.notes.map((n) => `- ${n}`));
  return parts.join("\n");
}

/** "cuda, devices 0,1": where a run's figures come from, in titles and headings. */
export const runLabel = (backend: string, devices: readonly number[], quick: boolean) => `${backend}, devices ${devices.join(",")}${quick ? ", quick" : ""}`;

/** A timestamp for file names: 2025-01-31-142501 (local time). */
export function stamp(date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** Writes `<dir>/<scenario>-<backend>-<stamp>.json` and returns its path. */
export function writeJson(dir: string, scenario: string, backend: string, when: string, payload: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${scenario}-${backend}-${when}.json`);
  writeFileSync(path, `${JSON.stringify(payload, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  return path;
}
