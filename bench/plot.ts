// SVG line charts for the report, from plain string templates: log2 x axis (ticks at powers of
// two), log10 (decades) or linear y axis, one line per series, a legend and a title. Also which
// charts a run gets: time and TFLOP/s vs N per routine (scaling), time vs T per case (tiles).
import type { Row } from "./report.ts";

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Chart {
  /** file name stem, e.g. "scaling-potrs-float32-time" */
  name: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** log10 y axis (default); false: linear from 0 */
  logY?: boolean;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const [W, H] = [760, 440];
const M = { left: 80, right: 210, top: 48, bottom: 60 };
/** Legend: line sample and gap before the text, and a generous width per character of 12px sans. */
const [LEGEND_INSET, CHAR_WIDTH] = [62, 7.2];

const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const num = (v: number) => String(Number(v.toPrecision(3)));
const pow2 = (n: number) => (n >= 1024 ? `${n / 1024}k` : String(n));

/** [low, high] of the values, widened when they are all equal. */
function extent(values: number[], log: boolean): [number, number] {
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  return lo < hi ? [lo, hi] : log ? [lo / 2, hi * 2] : [lo - 1, hi + 1];
}

function yTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    const few = Math.log10(hi / lo) < 1.5; // under ~1.5 decades: 1-2-5 ticks
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of few ? [1, 2, 5] : [1]) ticks.push(m * 10 ** e);
    return ticks.filter((t) => t >= lo / 1.0001 && t <= hi * 1.0001);
  }
  const step = niceStep(hi);
  return Array.from({ length: Math.floor(hi / step + 1e-9) + 1 }, (_, i) => i * step);
}

/** 1, 2 or 5 times a power of ten: about five steps up to `hi`. */
function niceStep(hi: number): number {
  const raw = hi / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

/** The chart as an SVG document. */
export function lineChart(chart: Chart): string {
  const logY = chart.logY ?? true;
  const all = chart.series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0));
  const [x0, x1] = extent(all.map((p) => p[0]), true).map(Math.log2);
  let [y0, y1] = extent(all.map((p) => p[1]), logY);
  // log: whole decades; linear: 0 to the first tick step above the largest value
  if (logY) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))];
  else [y0, y1] = [0, niceStep(y1) * Math.ceil(y1 / niceStep(y1))];
  const [pw, ph] = [W - M.left - M.right, H - M.top - M.bottom];
  const X = (x: number) => M.left + ((Math.log2(x) - x0) / (x1 - x0 || 1)) * pw;
  const ly = (y: number) => (logY ? Math.log10(y) : y);
  const Y = (y: number) => M.top + ph - ((ly(y) - ly(y0)) / (ly(y1) - ly(y0) || 1)) * ph;
  const parts: string[] = [];
  const xs: number[] = [];
  for (let e = Math.ceil(x0 - 1e-9); e <= Math.floor(x1 + 1e-9); e++) xs.push(2 ** e);
  const every = Math.ceil(xs.length / 10);
  xs.forEach((x, i) => {
    parts.push(`<line x1="${X(x)}" y1="${M.top}" x2="${X(x)}" y2="${M.top + ph}" stroke="#e4e4e4"/>`);
    if (i % every === 0) parts.push(`<text x="${X(x)}" y="${M.top + ph + 18}" text-anchor="middle">${pow2(x)}</text>`);
  });
  for (const y of yTicks(y0, y1, logY)) {
    parts.push(`<line x1="${M.left}" y1="${Y(y)}" x2="${M.left + pw}" y2="${Y(y)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${M.left - 8}" y="${Y(y) + 4}" text-anchor="end">${num(y)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([x, y]) => x > 0 && Number.isFinite(y) && (!logY || y > 0)).sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    const ly0 = M.top + 10 + 22 * i;
    parts.push(`<line x1="${M.left + pw + 16}" y1="${ly0}" x2="${M.left + pw + 40}" y2="${ly0}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${M.left + pw + 46}" y="${ly0 + 4}">${esc(s.name)}</text>`);
  });
  // The plot keeps its size; the picture widens when a legend entry would be cut off.
  const width = Math.ceil(Math.max(W, M.left + pw + LEGEND_INSET + CHAR_WIDTH * Math.max(0, ...chart.series.map((s) => s.name.length))));
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="12">
<rect width="${width}" height="${H}" fill="white"/>
<text x="${M.left + pw / 2}" y="26" text-anchor="middle" font-size="15" font-weight="bold">${esc(chart.title)}</text>
${parts.join("\n")}
<text x="${M.left + pw / 2}" y="${H - 16}" text-anchor="middle">${esc(chart.xLabel)}</text>
<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>
</svg>
`;
}

const SCALING_SERIES = [
  ["mesh", "bunmg, mesh (multi)"],
  ["single", "bunmg, first device (single)"],
  ["floorSeconds", "floor (cuSOLVERMg)"],
  ["singleSeconds", "1 GPU (cuSOLVERDn)"],
] as const;

/** The charts for a run's results (scenario name -> rows); none when the scenarios did not run. */
export function reportCharts(rows: Partial<Record<string, Row[]>>, where: string): Chart[] {
  const charts: Chart[] = [];
  const cases = (r: Row[]) => Map.groupBy(r, (row) => `${row.routine} ${row.dtype}`);
  for (const [name, group] of cases(rows.scaling ?? [])) {
    const line = (key: string, f: (row: Row) => number) => group.filter((r) => typeof r[key] === "number").map((r) => [r.n as number, f(r)] as [number, number]);
    const series = (f: (row: Row, key: string) => number) =>
      SCALING_SERIES.map(([key, label]) => ({ name: label, points: line(key, (r) => f(r, key)) })).filter((s) => s.points.length > 0);
    const stem = `scaling-${name.replace(" ", "-")}`;
    charts.push({ name: `${stem}-time`, title: `${name}: time vs N (${where})`, xLabel: "N", yLabel: "seconds (log)", series: series((r, k) => r[k] as number) });
    charts.push({ name: `${stem}-tflops`, title: `${name}: TFLOP/s vs N (${where})`, xLabel: "N", yLabel: "TFLOP/s", logY: false, series: series((r, k) => (r.flops as number) / (r[k] as number) / 1e12) });
  }
  const tiles = (rows.tiles ?? []).filter((r) => typeof r.seconds === "number");
  if (tiles.length > 0) {
    const series = [...Map.groupBy(tiles, (r) => `${r.routine} ${r.dtype} N=${r.n}`)].map(([name, g]) => ({ name, points: g.map((r) => [r.tile as number, r.seconds as number] as [number, number]) }));
    charts.push({ name: "tiles-time", title: `Tile sweep: time vs T (${where})`, xLabel: "tile size T", yLabel: "seconds (log)", series });
  }
  return charts;
}
