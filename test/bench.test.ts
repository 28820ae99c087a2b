// Checks of the report code that needs no devices: the SVG charts are well-formed XML with the
// expected ticks and legend, the capacity search finds the threshold, and results of several runs
// merge into one report.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeResults, readResult, writeMerged } from "../bench/merge.ts";
import { lineChart, reportCharts } from "../bench/plot.ts";
import { searchLargest } from "../bench/scenarios/capacity.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

/** Minimal well-formedness check: tags balance, attributes are quoted, entities are known. */
function wellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, "");
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos);)/g)) {
    if (m[2] === undefined) throw new Error(`stray '${m[0]}' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[4]) continue;
    if (!m[1]) stack.push(m[2]);
    else if (stack.pop() !== m[2]) throw new Error(`unbalanced </${m[2]}> at ${m.index}`);
  }
  expect(stack).toEqual([]);
}

describe("plot", () => {
  const rows = [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072].map((n, i) => ({
    routine: "potrs", dtype: "float32", n, flops: n ** 3 / 3,
    mesh: 1e-3 * 7 ** i, single: 1.5e-3 * 7 ** i, floorSeconds: 0.9e-3 * 7 ** i,
  }));
  const tiles = [128, 256, 512, 1024].map((tile) => ({ routine: "syevd", dtype: "float64", n: 16384, tile, seconds: 5 + tile / 1000 }));
  const charts = reportCharts({ scaling: rows, tiles }, "test & <devices>");

  test("one time and one TFLOP/s chart per case, one tile chart", () => {
    expect(charts.map((c) => c.name)).toEqual(["scaling-potrs-float32-time", "scaling-potrs-float32-tflops", "tiles-time"]);
    expect(charts[0].series.map((s) => s.name)).toEqual(["bunmg, mesh (multi)", "bunmg, first device (single)", "floor (cuSOLVERMg)"]);
  });

  test("SVGs are well-formed, with power-of-two and decade ticks", () => {
    for (const c of charts) wellFormed(lineChart(c));
    const time = lineChart(charts[0]);
    for (const label of [">1k<", ">4k<", ">128k<", ">0.001<", ">100<", "test &amp; &lt;devices&gt;"]) expect(time).toContain(label);
    expect(lineChart(charts[2])).toContain(">5<"); // under 1.5 decades: 1-2-5 ticks
  });

  test("a long legend entry widens the picture, the plot keeps its size", () => {
    const width = (svg: string) => Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
    const frame = (svg: string) => /<rect x="80" y="48" width="(\d+)"/.exec(svg)?.[1];
    const named = (name: string) => lineChart({ ...charts[2], series: [{ name, points: [[128, 1], [256, 2]] }] });
    const [short, long] = [named("potrs float64"), named("potri complex128 N=16384 and then some")];
    expect(width(short)).toBe(760);
    expect(width(long)).toBeGreaterThan(80 + 470 + 46 + 7 * 38);
    expect(frame(long)).toBe(frame(short));
  });
});

describe("capacity search", () => {
  for (const [first, limit] of [[4096, 10240], [20480, 10240], [1024, 1024], [1024, 0], [10240, 10240], [8192, 99999]])
    test(`from ${first}, threshold ${limit}`, () => {
      const tried: number[] = [];
      const found = searchLargest(first, 1024, 65536, (n) => (tried.push(n), n <= limit));
      expect(found).toBe(Math.min(65536, Math.floor(limit / 1024) * 1024));
      expect(tried.length).toBeLessThan(12);
      expect(tried.every((n) => n % 1024 === 0 && n > 0 && n <= 65536)).toBe(true);
    });
});

describe("merge", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunmg-merge-"));
  afterAll(() => rmSync(dir, { recursive: true }));
  const timing = "Timed: median of repeats.";
  const result = (file: string, scenario: string, date: string, rows: object[], notes: string[], devices = [0, 1]) => {
    const path = join(dir, file);
    writeFileSync(path, JSON.stringify({ scenario, backend: "cuda", devices, quick: false, date, bunmg: "0.1.0", argv: ["--scenario", scenario], notes, rows }));
    return path;
  };
  const scaling = (n: number, mesh: number, extra = {}) => ({ routine: "potrs", dtype: "float32", n, flops: n ** 3 / 3, mesh, single: 2 * mesh, ...extra });
  const early = result("scaling-early.json", "scaling", "2026-12-02T01:05:00Z", [scaling(1024, 1e-3), scaling(2048, 4e-3), { routine: "potri", dtype: "complex128", n: 1024, flops: 4e9, mesh: 5e-3 }], [timing, "potrs float32 n=4096: skipped"]);
  const late = result("scaling-late.json", "scaling", "2026-12-02T01:18:00Z", [scaling(4096, 0.02, { floorSeconds: 0.019 }), scaling(2048, 3e-3)], [timing]);
  const tiles = result("tiles.json", "tiles", "2026-12-02T01:10:00Z", [{ routine: "syevd", dtype: "float64", n: 16384, tile: 256, seconds: 7 }], []);

  test("rows of one case keep the latest run's; grouped as first seen, then by N", () => {
    const merged = mergeResults([late, tiles, early].map(readResult));
    expect(merged.where).toBe("cuda, devices 0,1");
    expect(merged.sections.map((s) => s.name)).toEqual(["scaling", "tiles"]);
    const rows = merged.sections[0].result.rows;
    expect(rows.map((r) => `${r.routine} ${r.n} ${r.mesh}`)).toEqual(["potrs 1024 0.001", "potrs 2048 0.003", "potrs 4096 0.02", "potri 1024 0.005"]);
  });

  test("a note every file gave appears once; the others name their file", () => {
    const notes = mergeResults([early, late].map(readResult)).sections[0].result.notes;
    expect(notes).toEqual([timing, "potrs float32 n=4096: skipped (scaling-early.json)"]);
  });

  test("writes one summary with its sources, tables and plots", () => {
    const out = join(dir, "out");
    const summary = readFileSync(writeMerged(out, mergeResults([early, late, tiles].map(readResult)), "merged"), "utf8");
    expect(summary).toContain("merged from 3 result files");
    expect(summary).toContain("- scaling-early.json, scaling-late.json: `bun bench --scenario scaling`");
    expect(summary).toContain("| potrs | float32 | 4096 |");
    expect(readdirSync(out).sort()).toEqual(["merged-scaling-potri-complex128-tflops.svg", "merged-scaling-potri-complex128-time.svg", "merged-scaling-potrs-float32-tflops.svg", "merged-scaling-potrs-float32-time.svg", "merged-summary.md", "merged-tiles-time.svg"]);
    const time = readFileSync(join(out, "merged-scaling-potrs-float32-time.svg"), "utf8");
    wellFormed(time);
    expect(time).toContain("floor (cuSOLVERMg)");
  });

  test("results of another mesh, files that are not results, and no files are errors", () => {
    const other = result("other.json", "copy", "2026-12-02T01:00:00Z", [], [], [0, 0]);
    expect(() => mergeResults([early, other].map(readResult))).toThrow(/other.json is from cuda, devices 0,0 but .*scaling-early.json from cuda, devices 0,1/);
    writeFileSync(join(dir, "junk.json"), JSON.stringify({ rows: [] }));
    expect(() => readResult(join(dir, "junk.json"))).toThrow(/junk.json is not a bun bench result/);
    expect(() => readResult(join(dir, "missing.json"))).toThrow(/missing.json/);
    expect(() => mergeResults([])).toThrow(/no result files/);
  });
});
