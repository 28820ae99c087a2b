// The summary of a run (or of merged runs): every scenario's table and notes, with the plots
// written beside it as SVG files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChart, type Chart } from "./plot.ts";
import { markdownSection, type ScenarioResult } from "./report.ts";

/** Writes `<dir>/<stamp>-summary.md` (the sources it was made from, every scenario's table and
 * notes, the plots inline) and one `<stamp>-<chart>.svg` per chart; returns the summary's path. */
export function writeSummary(dir: string, when: string, heading: string, sections: { title: string; result: ScenarioResult }[], charts: Chart[], sources: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const parts = [`# bunmg benchmark ${when}`, "", `${heading}. JSON per scenario beside this file; see bench/NOTES.md.`, ""];
  if (sources.length > 0) parts.push(...sources.map((s) => `- ${s}`), "");
  for (const s of sections) parts.push(markdownSection(s.title, s.result), "");
  if (charts.length > 0) parts.push("## Plots", "");
  for (const chart of charts) {
    const file = `${when}-${chart.name}.svg`;
    writeFileSync(join(dir, file), lineChart(chart));
    parts.push(`![${chart.title}](${file})`, "");
  }
  const path = join(dir, `${when}-summary.md`);
  writeFileSync(path, parts.join("\n"));
  return path;
}
