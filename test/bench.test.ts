// Checks of the bench code that needs no devices: the SVG charts are well-formed XML with the
// expected ticks and legend, the capacity search finds the threshold, results of several runs
// merge into one report, and what a person reads (tables, progress labels, footnotes, --list's
// estimates, where ad-hoc results go) fits the run.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBenchArgs, SCENARIOS } from "../bench/args.ts";
import { applyScale, calibration } from "../bench/estimates.ts";
import { mergeResults, readResult, writeMerged } from "../bench/merge.ts";
import { lineChart, reportCharts } from "../bench/plot.ts";
import { duration, Progress } from "../bench/progress.ts";
import { backendNote, markdownTable } from "../bench/report.ts";
import { searchLargest } from "../bench/scenarios/capacity.ts";
import { REGISTRY } from "../bench/scenarios/index.ts";
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

describe("output a person reads", () => {
  const root = join(import.meta.dir, "..");

  test("ad-hoc results go to a git-ignored folder", () => {
    const out = parseBenchArgs(["--quick"]).out;
    expect(out).toBe(join(root, "bench", "out"));
    const git = Bun.spawnSync(["git", "check-ignore", "-q", join(out, "copy-host-2026-01-01-000000.json")], { cwd: root });
    if (git.exitCode === 128) return; // not a git checkout (a packed copy): nothing to ignore
    expect(git.exitCode).toBe(0);
  });

  test("progress labels do not repeat the scenario's name", () => {
    for (const argv of [["--quick"], ["--backend", "cuda", "--devices", "0,1"]]) {
      const args = parseBenchArgs(argv);
      for (const name of SCENARIOS) for (const c of REGISTRY[name].plan(args).cases) expect(c.label.split(" ")[0]).not.toBe(name);
    }
  });

  test("a column without any value is left out of the table", () => {
    const table = markdownTable([{ a: 1, b: undefined, c: "x" }, { a: 2, c: "y" }], [{ key: "a", title: "A" }, { key: "b", title: "floor" }, { key: "c", title: "C" }]);
    expect(table.split("\n")[0]).toBe("| A | C |");
    expect(table).toContain("| 2 | y |");
  });

  test("CUDA footnotes only on CUDA runs", async () => {
    expect(backendNote("cuda", "floor = cuSOLVERMg", "LAPACK")).toEqual(["floor = cuSOLVERMg"]);
    expect(backendNote("host", "floor = cuSOLVERMg", "LAPACK")).toEqual(["LAPACK"]);
    expect(backendNote("host", "floor = cuSOLVERMg")).toEqual([]);
    const silent = new (class extends Progress {
      override start(): void {}
      override log(): void {}
    })([]);
    for (const name of ["copy", "redistribute", "strategy", "scaling", "tiles", "groups"] as const) {
      const args = parseBenchArgs(["--quick", "--scenario", name, "--sizes", "48", "--tiles", "16", "--repeats", "1"]);
      const { notes } = await REGISTRY[name].plan(args).run({ args, progress: silent });
      expect(notes.filter((n) => /cuSOLVER|CUDA|JAXMg|bunmg_floor|1 GPU/.test(n)), name).toEqual([]);
    }
  });

  test("durations round once (no '2m 60s')", () => {
    expect(duration(179.6)).toBe("3m 00s");
    expect(duration(59.6)).toBe("1m 00s");
    expect(duration(0.2)).toBe("1s");
  });

  test("--list estimates are scaled by the newest recorded run of each scenario", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunmg-estimates-"));
    try {
      const args = parseBenchArgs(["--backend", "cuda", "--devices", "0,0", "--scenario", "copy"]);
      const planned = REGISTRY.copy.plan(args).cases.reduce((t, c) => t + c.estimate, 0);
      const record = (file: string, date: string, seconds: number, backend = "cuda") =>
        writeFileSync(join(dir, file), JSON.stringify({ scenario: "copy", backend, devices: [0, 0], quick: false, date, seconds, argv: ["--scenario", "copy", "--devices", "0,0"], rows: [] }));
      record("old.json", "2026-01-01T00:00:00Z", planned * 4);
      record("new.json", "2026-02-01T00:00:00Z", planned / 2);
      record("host.json", "2026-03-01T00:00:00Z", planned * 9, "host");
      writeFileSync(join(dir, "junk.json"), "{ not json");
      const scale = calibration(args, dir).get("copy");
      expect(scale?.from).toBe("new.json");
      expect(scale?.factor).toBeCloseTo(0.5, 10);
      const cases = REGISTRY.copy.plan(args).cases;
      applyScale(cases, scale);
      expect(cases.reduce((t, c) => t + c.estimate, 0)).toBeCloseTo(planned / 2, 10);
      expect(calibration({ backend: "host", quick: true }, dir).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("--list names where its estimates come from, and no file the repository lacks", () => {
    const proc = Bun.spawnSync([process.execPath, join(root, "bench", "run.ts"), "--list", "--backend", "cuda", "--devices", "0,0"], { cwd: root });
    const out = proc.stdout.toString();
    expect(proc.exitCode).toBe(0);
    expect(out).not.toContain("DESIGN.md");
    expect(out).toMatch(/scaled x[\d.]+ by the recorded run h\w+-\d{4}-\d\d-\d\d\/copy-cuda-/);
  });
});
