// Checks of the report code that needs no devices: the SVG charts are well-formed XML with the
// expected ticks and legend, and the capacity search finds the threshold.
import { describe, expect, test } from "bun:test";
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
