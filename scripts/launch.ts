// `bunmg launch`: runs a script as one process per device (MPMD; lib/launch.ts). Every argument
// is checked before any rank starts; options come before the script, everything after it is
// the script's own.
import { existsSync } from "node:fs";
import { MAX_DEVICES } from "../lib/abi.ts";
import { BunmgError } from "../lib/errors.ts";
import { checkJob } from "../lib/group.ts";
import { UsageError, type Command } from "./usage.ts";

const BACKENDS = ["host", "cuda"] as const;
const ENGINES = ["group", "mp"] as const;
const VALUED = ["devices", "np", "backend", "engine", "timeout-ms", "grace-ms", "job"] as const;
type Valued = (typeof VALUED)[number];

export interface LaunchArguments {
  script: string;
  args: string[];
  /** undefined: every GPU */
  devices?: number[];
  backend?: (typeof BACKENDS)[number];
  engine?: (typeof ENGINES)[number];
  timeoutMs?: number;
  graceMs?: number;
  job?: string;
}

function usageError(message: string): UsageError {
  return new UsageError(`bunmg launch: ${message}`, launchCommand.usage);
}

function integer(flag: string, text: string, min: number, max?: number): number {
  const bound = max === undefined ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
  if (!/^\d+$/.test(text)) throw usageError(`--${flag} must be ${bound}, got '${text}'`);
  const value = Number(text);
  if (value < min || (max !== undefined && value > max) || !Number.isSafeInteger(value)) throw usageError(`--${flag} must be ${bound}, got '${text}'`);
  return value;
}

function deviceIds(text: string): number[] {
  const ids = text.split(",");
  const bad = ids.findIndex((id) => !/^\d+$/.test(id.trim()));
  if (text.trim() === "" || bad >= 0) {
    throw usageError(`--devices must be device ids (integers >= 0) separated by commas, got '${text}'${text.trim() === "" ? "" : ` (entry ${bad + 1} is '${ids[bad]}')`}`);
  }
  if (ids.length > MAX_DEVICES) throw usageError(`--devices lists ${ids.length} devices; at most ${MAX_DEVICES}`);
  return ids.map((id) => Number(id.trim()));
}

/** The command line of `bunmg launch`, checked; undefined for --help. Pure: reads no devices. */
export function parseLaunch(argv: string[]): LaunchArguments | undefined {
  const values: Partial<Record<Valued, string>> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "-h" || arg === "--help") return undefined;
    if (!arg.startsWith("-")) break;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const name = VALUED.find((v) => `--${v}` === flag);
    if (name === undefined) throw usageError(`unknown option '${flag}'`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw usageError(`option '${flag}' needs a value`);
    if (values[name] !== undefined) throw usageError(`option '${flag}' given twice`);
    values[name] = value;
  }
  const script = argv[i];
  if (script === undefined) throw usageError("no script given");
  if (!existsSync(script)) throw usageError(`script '${script}' not found`);
  if (values.devices !== undefined && values.np !== undefined) throw usageError("give --devices or --np, not both");
  const backend = values.backend;
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) throw usageError(`--backend must be ${BACKENDS.join(" or ")}, got '${backend}'`);
  const engine = values.engine;
  if (engine !== undefined && !(ENGINES as readonly string[]).includes(engine)) throw usageError(`--engine must be ${ENGINES.join(" or ")}, got '${engine}'`);
  if (engine === "mp" && backend === "cuda") throw usageError("--engine mp runs ScaLAPACK on CPUs: --backend cuda is not supported with it yet");
  if (engine === "mp" && values.np === undefined && values.devices === undefined) throw usageError("--engine mp needs --np N (or --devices)");
  const np = values.np === undefined ? undefined : integer("np", values.np, 1, MAX_DEVICES);
  const devices = values.devices !== undefined ? deviceIds(values.devices) : np !== undefined ? Array.from({ length: np }, (_, r) => r) : undefined;
  if (values.job !== undefined) {
    try {
      checkJob(values.job);
    } catch (e) {
      throw usageError(`--job: ${(e as Error).message}`);
    }
  }
  return {
    script,
    args: argv.slice(i + 1),
    ...(devices === undefined ? {} : { devices }),
    ...(backend === undefined ? {} : { backend: backend as NonNullable<LaunchArguments["backend"]> }),
    ...(engine === undefined ? {} : { engine: engine as NonNullable<LaunchArguments["engine"]> }),
    ...(values["timeout-ms"] === undefined ? {} : { timeoutMs: integer("timeout-ms", values["timeout-ms"], 1) }),
    ...(values["grace-ms"] === undefined ? {} : { graceMs: integer("grace-ms", values["grace-ms"], 0) }),
    ...(values.job === undefined ? {} : { job: values.job }),
  };
}

export const launchCommand: Command = {
  name: "launch",
  summary: "run a script as one process per device (MPMD ranks)",
  usage: `usage: bunmg launch [options] script.ts [script arguments...]

Starts one \`bun script.ts\` per device with BUNMG_RANK, BUNMG_WORLD_SIZE, BUNMG_JOB,
BUNMG_DEVICE, BUNMG_BACKEND and BUNMG_TIMEOUT_MS set (joinFromEnv() reads them), prefixes each
output line with [rank r], and exits with the first failing rank's code. With --engine mp the
ranks are one MPI job under Open MPI's mpirun (MpWorld.join() joins it; they also see
OMPI_COMM_WORLD_*), for the distributed engine on CPUs (ScaLAPACK).

  --devices 0,1,...   the device of each rank (1..${MAX_DEVICES} ids; repeats allowed)
  --np N              N ranks on devices 0..N-1 (1..${MAX_DEVICES})
                      (neither: one rank per visible GPU)
  --backend host|cuda passed to the ranks (default: cuda when a GPU is visible, else host)
  --engine group|mp   group: processes meeting in shared memory (default); mp: one MPI job
  --timeout-ms MS     the group's timeout for every wait (default 60000)
  --grace-ms MS       how long the others may run after the first rank exited (default: timeout + 5 s)
  --job ID            the job id, 1..64 characters of [A-Za-z0-9_-] (default: random)
  -h, --help          this text`,
  async run(argv) {
    const parsed = parseLaunch(argv);
    if (!parsed) {
      console.log(launchCommand.usage);
      return 0;
    }
    const { cudaDeviceCount, startLaunch } = await import("../lib/index.ts");
    let devices = parsed.devices;
    if (devices === undefined) {
      const count = parsed.backend === "host" ? 0 : cudaDeviceCount();
      if (count === 0) throw usageError("no GPU visible: pass --np N (with --backend host) or --devices");
      devices = Array.from({ length: count }, (_, r) => r);
    }
    let job;
    try {
      job = startLaunch({ ...parsed, devices });
    } catch (e) {
      // The library's own checks (device ids against the visible GPUs, ...): still a usage error.
      if (e instanceof BunmgError && e.code === "INVALID_ARGUMENT") throw usageError(e.message);
      throw e instanceof BunmgError ? new Error(`bunmg launch: ${e.message}`) : e;
    }
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => job.kill(undefined, signal));
    const result = await job.finished;
    for (const r of result.ranks) {
      if (r.exitCode === 0) continue;
      const how = r.terminated
        ? `was still running after the grace and was terminated${r.signal ? ` (${r.signal})` : ""}`
        : r.unreported
          ? "ended without reporting its exit (killed by a signal?)"
          : r.signal
            ? `was killed by ${r.signal}`
            : `exited with code ${r.exitCode}`;
      console.error(`bunmg launch: rank ${r.rank} (pid ${r.pid}) ${how}`);
    }
    return result.exitCode;
  },
};
