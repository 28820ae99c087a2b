// `bun bench`: runs the scenarios, prints one Markdown table per scenario on stdout and writes
// <out>/<scenario>-<backend>-<date>.json (default out: bench/out, git-ignored), a summary and
// plots. Progress goes to stderr. See bench/NOTES.md.
import { version } from "../lib/index.ts";
import { parseBenchArgs, USAGE } from "./args.ts";
import { applyScale, calibration } from "./estimates.ts";
import { duration, Progress } from "./progress.ts";
import { reportCharts } from "./plot.ts";
import { markdownSection, runLabel, stamp, writeJson, type ScenarioResult } from "./report.ts";
import { writeSummary } from "./summary.ts";
import { REGISTRY } from "./scenarios/index.ts";
import { now } from "./timing.ts";

async function main(): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const scales = calibration(args);
  const plans = args.scenarios.map((name) => {
    const plan = REGISTRY[name].plan(args);
    applyScale(plan.cases, scales.get(name));
    return { name, plan };
  });
  const all = plans.flatMap((p) => p.plan.cases);
  const where = runLabel(args.backend, args.devices, args.quick);
  const rough = duration(all.reduce((s, c) => s + c.estimate, 0));
  if (args.list) {
    for (const { name, plan } of plans) {
      const total = plan.cases.reduce((s, c) => s + c.estimate, 0);
      const scale = scales.get(name);
      console.log(`${name} (~${duration(total)}; ${scale ? `scaled x${scale.factor.toFixed(2)} by the recorded run ${scale.from}` : "a-priori estimate: no recorded run to scale it"})`);
      for (const c of plan.cases) console.log(`  ${c.label}  ~${duration(c.estimate)}`);
    }
    console.log(`${all.length} cases (${where}), ~${rough} in all: each scenario's estimates for GPUs of the H100 class, scaled by its newest ${args.backend} run recorded in bench/results/ where there is one`);
    return 0;
  }

  console.error(`bench: bunmg ${version()}, ${where}: ${all.length} cases${args.backend === "cuda" && !args.quick ? `, roughly ${rough}` : ""}`);
  const progress = new Progress(all);
  const when = stamp();
  const t0 = now();
  let failed = false;
  const done: { name: string; title: string; result: ScenarioResult }[] = [];
  for (const { name, plan } of plans) {
    const start = now();
    let result;
    try {
      result = await plan.run({ args, progress });
    } catch (e) {
      // A scenario-level failure (no mesh, no library): say so and go on with the others.
      progress.finish();
      console.error(`bench: ${name} failed: ${(e as Error).message}`);
      failed = true;
      continue;
    }
    progress.finish();
    done.push({ name, title: `${name} (${where})`, result });
    console.log(`${markdownSection(`${name} (${where})`, result)}\n`);
    const path = writeJson(args.out, name, args.backend, when, {
      scenario: name,
      backend: args.backend,
      devices: args.devices,
      quick: args.quick,
      repeats: args.repeats,
      date: new Date().toISOString(),
      bunmg: version(),
      bun: Bun.version,
      seconds: now() - start,
      argv: process.argv.slice(2),
      ...result.context,
      notes: result.notes,
      rows: result.rows,
    });
    console.error(`bench: ${name} done in ${duration(now() - start)}: ${path}`);
  }
  if (done.length > 0) {
    const rows = Object.fromEntries(done.map((d) => [d.name, d.result.rows]));
    const path = writeSummary(args.out, when, `bunmg ${version()}, ${where}`, done, reportCharts(rows, where));
    console.error(`bench: summary and plots: ${path}`);
  }
  console.error(`bench: finished in ${duration(now() - t0)}`);
  return failed ? 1 : 0;
}

if (process.argv.includes("--help") || process.argv.includes("-h")) console.log(USAGE);
else process.exitCode = await main();
