#!/usr/bin/env bun
// The `bunmg` command: `bunmg build [--no-cuda] [--sanitize]` builds libbunmg in the installed
// package; `bunmg info` says which library loaded and what it sees; `bunmg launch` runs a script
// as one process per device (MPMD; lib/launch.ts).
import { build } from "./build.ts";

const [command, ...args] = process.argv.slice(2);

const LAUNCH_USAGE =
  "usage: bunmg launch [--devices 0,1,... | --np N] [--backend host|cuda] [--timeout-ms MS] [--grace-ms MS] " +
  "[--job ID] script.ts [script arguments...]";

async function info(): Promise<void> {
  const { cudaDeviceCount, libraryPath, version } = await import("../lib/index.ts");
  console.log(`bunmg ${version()} (${libraryPath()})`);
  console.log(`CUDA devices: ${cudaDeviceCount()}`);
}

/** Options up to the script; everything after the script is the script's. */
function launchOptions(argv: string[]) {
  const values: Record<string, string> = {};
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("--"); i += 2) {
    const name = argv[i].slice(2);
    if (!["devices", "np", "backend", "timeout-ms", "grace-ms", "job"].includes(name) || argv[i + 1] === undefined) {
      throw new Error(`bunmg launch: unknown option or missing value: ${argv[i]}\n${LAUNCH_USAGE}`);
    }
    values[name] = argv[i + 1];
  }
  if (i >= argv.length) throw new Error(`bunmg launch: no script given\n${LAUNCH_USAGE}`);
  const number = (name: string) => (values[name] === undefined ? undefined : Number(values[name]));
  return { values, script: argv[i], args: argv.slice(i + 1), np: number("np"), timeoutMs: number("timeout-ms"), graceMs: number("grace-ms") };
}

async function launchCommand(argv: string[]): Promise<number> {
  const { values, script, args: scriptArgs, np, timeoutMs, graceMs } = launchOptions(argv);
  const { cudaDeviceCount, startLaunch } = await import("../lib/index.ts");
  const backend = values.backend as "host" | "cuda" | undefined;
  let devices: number[];
  if (values.devices !== undefined) devices = values.devices.split(",").map(Number);
  else if (np !== undefined) devices = Array.from({ length: np }, (_, i) => i);
  else {
    const count = backend === "host" ? 0 : cudaDeviceCount();
    if (count === 0) throw new Error(`bunmg launch: no GPU visible: pass --np N (with --backend host) or --devices\n${LAUNCH_USAGE}`);
    devices = Array.from({ length: count }, (_, i) => i);
  }
  const job = startLaunch({ script, args: scriptArgs, devices, backend, timeoutMs, graceMs, job: values.job });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => job.kill(undefined, signal));
  const result = await job.finished;
  for (const r of result.ranks) {
    const how = r.terminated ? `was still running after the grace and was terminated (${r.signal})` : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
    if (r.exitCode !== 0) console.error(`bunmg launch: rank ${r.rank} (pid ${r.pid}) ${how}`);
  }
  return result.exitCode;
}

try {
  if (command === "build") build(args);
  else if (command === "info") await info();
  else if (command === "launch") process.exit(await launchCommand(args));
  else {
    console.error(`usage: bunmg build [--no-cuda] [--sanitize] | bunmg info | bunmg launch ...\n${LAUNCH_USAGE}`);
    process.exit(command ? 2 : 0);
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
