// MPMD mode, the launcher side (`bunmg launch`): one `bun script` process per device, each told
// its rank, the world size, the job id, the launch's secret and its device through the
// environment (mpmd.ts reads it); with engine "mp" the same ranks as one MPI job (mpirun.ts).
// Output lines are forwarded with a "[rank r] " prefix. Once a rank has exited, failed or not,
// the others get `graceMs` to exit too (after a failure the group's waits fail them within its
// timeout), then they are terminated as stragglers. When every rank has exited, the launch's
// shared-memory segments are removed.
import { existsSync } from "node:fs";
import { BunmgError, invalid } from "./errors.ts";
import { checkJob, DEFAULT_GROUP_TIMEOUT_MS, newJobId, newSecret, sweepSharedMemory } from "./group.ts";
import { MAX_DEVICES } from "./abi.ts";
import { cudaDeviceCount, type Backend } from "./mesh.ts";
import { RANK_ENV } from "./mpmd.ts";
import { startMpirun } from "./mpirun.ts";
import { exitStatus, forwardLines, KILL_AFTER_TERM_MS, writePrefixed, type LaunchedJob, type LaunchResult, type RankExit } from "./rank-output.ts";
import { checkInteger, describe } from "./validate.ts";

/** "group": one process per rank, meeting in shared memory (joinFromEnv); "mp": one MPI job under
 * Open MPI's mpirun, for the distributed engine on CPUs (MpWorld.join). */
export type LaunchEngine = "group" | "mp";

export interface LaunchOptions {
  /** the script every rank runs with `bun` */
  script: string;
  /** default "group" */
  engine?: LaunchEngine;
  args?: readonly string[];
  /** the device of each rank (host backend: the ids only count the ranks) */
  devices: readonly number[];
  /** passed to the ranks as BUNMG_BACKEND */
  backend?: Backend;
  /** passed to the ranks as BUNMG_TIMEOUT_MS */
  timeoutMs?: number;
  /** how long the other ranks may run once one has exited, failed or not (default: timeout +
   * 5 s); then they are terminated */
  graceMs?: number;
  /** default: a random one. Ranks of two launches with one job id never mix: each launch has a
   * secret of its own (BUNMG_JOB_SECRET), and the later one waits for the earlier one's group to
   * have formed. */
  job?: string;
  /** extra environment for every rank */
  env?: Record<string, string | undefined>;
  /** receives each output line; default: written to this process's stdout / stderr with a
   * "[rank r] " prefix (rank -1: mpirun's own lines) */
  onLine?: (rank: number, stream: "stdout" | "stderr", line: string) => void;
  /** remove the job's shared-memory segments once every rank has exited (default true) */
  sweep?: boolean;
}

export type { LaunchedJob, LaunchResult, RankExit } from "./rank-output.ts";

/** Removes what the job's ranks left in /dev/shm. Without a loadable libbunmg no rank could
 * have created anything, so that is not an error here. */
function sweepJob(job: string, secret: string): number {
  try {
    return sweepSharedMemory({ job, secret, force: true });
  } catch {
    return 0;
  }
}

/** Every option checked before a rank starts; INVALID_ARGUMENT naming the option and its bounds. */
function checkLaunchOptions(options: LaunchOptions) {
  if (typeof options !== "object" || options === null) throw invalid(`launch options must be an object, got ${describe(options)}`);
  if (typeof options.script !== "string" || options.script === "") throw invalid(`script must be a path, got ${describe(options.script)}`);
  if (!existsSync(options.script)) throw invalid(`script ${options.script} does not exist`);
  if (options.args !== undefined && (!Array.isArray(options.args) || options.args.some((a) => typeof a !== "string"))) {
    throw invalid(`args must be an array of strings, got ${describe(options.args)}`);
  }
  if (!Array.isArray(options.devices) || options.devices.length < 1 || options.devices.length > MAX_DEVICES) {
    throw invalid(`devices must list 1..${MAX_DEVICES} device ids, got ${describe(options.devices)}`);
  }
  if (options.backend !== undefined && options.backend !== "host" && options.backend !== "cuda") {
    throw invalid(`backend must be "host" or "cuda", got ${describe(options.backend)}`);
  }
  const gpus = options.backend === "cuda" ? cudaDeviceCount() : MAX_DEVICES;
  if (gpus === 0) throw new BunmgError("NO_DEVICE", `backend "cuda": no CUDA device is visible (\`bunmg doctor\` says why); use backend "host"`);
  const devices = options.devices.map((d, i) => checkInteger(d, `devices[${i}]`, 0, options.backend === "cuda" ? gpus - 1 : Number.MAX_SAFE_INTEGER));
  const timeoutMs = options.timeoutMs === undefined ? undefined : checkInteger(options.timeoutMs, "timeoutMs", 1);
  const graceMs = checkInteger(options.graceMs ?? (timeoutMs ?? DEFAULT_GROUP_TIMEOUT_MS) + 5000, "graceMs", 0);
  const job = options.job === undefined ? newJobId() : checkJob(options.job);
  const engine = options.engine ?? "group";
  if (engine !== "group" && engine !== "mp") throw invalid(`engine must be "group" or "mp", got ${describe(engine)}`);
  if (engine === "mp" && options.backend === "cuda") throw invalid(`engine "mp" runs ScaLAPACK on CPUs; backend "cuda" is not supported with it yet`);
  return { devices, timeoutMs, graceMs, job, engine };
}

/** Starts the ranks; `finished` resolves once all have exited. */
export function startLaunch(options: LaunchOptions): LaunchedJob {
  const { devices, timeoutMs, graceMs, job, engine } = checkLaunchOptions(options);
  const secret = newSecret();
  const onLine = options.onLine ?? writePrefixed;
  // every rank's variables besides its rank, its device and options.env
  const shared: Record<string, string> = {
    [RANK_ENV.size]: String(devices.length),
    [RANK_ENV.job]: job,
    [RANK_ENV.secret]: secret,
    ...(options.backend ? { [RANK_ENV.backend]: options.backend } : {}),
    ...(timeoutMs ? { [RANK_ENV.timeoutMs]: String(timeoutMs) } : {}),
  };
  const script = [options.script, ...(options.args ?? [])];
  const sweep = () => (options.sweep === false ? 0 : sweepJob(job, secret));
  if (engine === "mp") {
    const given = Object.entries(options.env ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
    return startMpirun({ job, script, devices, env: { ...Object.fromEntries(given), ...shared }, graceMs, onLine, sweep });
  }
  const ranks = devices.map((device, rank) => ({
    rank,
    device,
    proc: Bun.spawn([process.execPath, ...script], {
      env: { ...process.env, ...options.env, ...shared, [RANK_ENV.rank]: String(rank), [RANK_ENV.device]: String(device) },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    }),
  }));
  const running = new Set(ranks.map(({ rank }) => rank));
  const kill = (rank?: number, signal: NodeJS.Signals = "SIGTERM") => {
    for (const r of rank === undefined ? [...running] : [rank]) if (running.has(r)) ranks[r]?.proc.kill(signal);
  };
  let firstFailure: RankExit | undefined;
  let firstExit: RankExit | undefined;
  const terminated = new Set<number>();
  const timers: ReturnType<typeof setTimeout>[] = [];
  // The first rank to exit starts the grace; the first to fail (by exit time) gives the exit code.
  const onExit = ({ rank, device, proc }: (typeof ranks)[number]): RankExit => {
    running.delete(rank);
    const signal = proc.signalCode === null ? null : String(proc.signalCode);
    const exit: RankExit = { rank, device, pid: proc.pid, exitCode: proc.exitCode, signal, terminated: terminated.has(rank) };
    if (exitStatus(exit) !== 0) firstFailure ??= exit;
    if (firstExit === undefined) {
      firstExit = exit;
      timers.push(
        setTimeout(() => {
          for (const r of running) terminated.add(r);
          kill(undefined, "SIGTERM");
          timers.push(setTimeout(() => kill(undefined, "SIGKILL"), KILL_AFTER_TERM_MS));
        }, graceMs),
      );
    }
    return exit;
  };
  const waitRank = async (started: (typeof ranks)[number]): Promise<RankExit> => {
    const { rank, proc } = started;
    const [exit] = await Promise.all([
      proc.exited.then(() => onExit(started)),
      forwardLines(proc.stdout, (line) => onLine(rank, "stdout", line)),
      forwardLines(proc.stderr, (line) => onLine(rank, "stderr", line)),
    ]);
    return exit;
  };
  const finished = Promise.all(ranks.map(waitRank)).then((exits) => {
    for (const t of timers) clearTimeout(t);
    const removed = sweep();
    return { job, exitCode: firstFailure ? exitStatus(firstFailure) || 1 : 0, ranks: exits, removed, firstExit: firstExit?.rank };
  });
  return { job, ranks: ranks.map(({ rank, device, proc }) => ({ rank, device, pid: proc.pid })), kill, finished };
}

/** Runs `script` on one process per device and resolves when all have exited. */
export function launch(options: LaunchOptions): Promise<LaunchResult> {
  return startLaunch(options).finished;
}
