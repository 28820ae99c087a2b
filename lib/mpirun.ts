// `bunmg launch --engine mp`: the ranks as one MPI job, started by Open MPI's mpirun with the flags
// of docs/mp-engine.md section 3.2 (a rank that dies leaves the others running, so that they
// report PEER_LOST themselves; a rank may exit without MPI_Finalize). Each rank sees bunmg's
// variables (BUNMG_RANK, BUNMG_DEVICE: one app context per rank) besides mpirun's
// OMPI_COMM_WORLD_*; values that are secret (the launch's) reach mpirun through its environment
// and `-x NAME`, never its command line, which every user can read. mpirun's exit status says
// nothing reliable about the ranks, so each rank records its pid and exit code in a private
// folder (a `bun --preload` of mp-rank-exit.ts); a rank without an exit record was killed. Each
// rank's output goes to files of its own there (--output-filename; mpirun's --tag-output cuts
// long lines and mixes ranks' pieces), which the launcher follows.
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BunmgError } from "./errors.ts";
import { exitStatus, forwardLines, KILL_AFTER_TERM_MS, type LaunchedJob, type RankExit } from "./rank-output.ts";

/** The private folder of a launch's exit records (set for the ranks). */
export const RESULT_DIR_ENV = "BUNMG_RESULT_DIR";
/** mpirun's path, when not the one on PATH. */
export const MPIRUN_ENV = "BUNMG_MPIRUN";

const PRELOAD = join(import.meta.dir, "mp-rank-exit.ts");
const FLAGS = ["--oversubscribe", "--enable-recovery", "--mca", "orte_allowed_exit_without_sync", "1"];
/** Open MPI prints it once per lost rank under --enable-recovery; the run is unaffected. */
const NOISE = /PMIX ERROR: BAD-PARAM in file .*pmix_event_notification\.c/;
const POLL_MS = 50;

/** mpirun: $BUNMG_MPIRUN, else the one on PATH; LIBRARY_NOT_FOUND naming the package. */
export function findMpirun(env: Record<string, string | undefined> = process.env): string {
  const given = env[MPIRUN_ENV];
  if (given) {
    if (!existsSync(given)) throw new BunmgError("LIBRARY_NOT_FOUND", `${MPIRUN_ENV}=${given} does not exist`);
    return given;
  }
  const found = Bun.which("mpirun", { PATH: env.PATH ?? "" });
  if (!found) throw new BunmgError("LIBRARY_NOT_FOUND", "the mp engine needs Open MPI's mpirun, which is not on PATH: install it (Debian/Ubuntu: apt-get install openmpi-bin), or set BUNMG_MPIRUN to it");
  return found;
}

export interface MpirunRanks {
  mpirun: string;
  /** where each rank's output goes: <output>/<job>/rank.<r>/{stdout,stderr} */
  output: string;
  /** the command every rank runs after `bun --preload ...` (script and arguments) */
  script: readonly string[];
  devices: readonly number[];
  /** variables every rank gets, passed by name (their values in mpirun's environment) */
  shared: readonly string[];
  /** run as root (mpirun refuses without --allow-run-as-root) */
  root: boolean;
}

/** mpirun's command line: the flags, the shared variables by name, then one app context per rank
 * with its own BUNMG_RANK and BUNMG_DEVICE. */
export function mpirunCommand(r: MpirunRanks): string[] {
  const shared = r.shared.flatMap((name) => ["-x", name]);
  const contexts = r.devices.flatMap((device, rank) => [
    ...(rank > 0 ? [":"] : []),
    "-np", "1", "-x", `BUNMG_RANK=${rank}`, "-x", `BUNMG_DEVICE=${device}`,
    process.execPath, "--preload", PRELOAD, ...r.script,
  ]);
  const output = ["--output-filename", `${r.output}:nocopy`];
  return [r.mpirun, ...FLAGS, ...output, ...(r.root ? ["--allow-run-as-root"] : []), ...shared, ...contexts];
}

/** Follows a file that may not exist yet: each call gives the lines written since the last. */
class Follow {
  #offset = 0;
  #pending = "";
  readonly #decoder = new TextDecoder();
  constructor(readonly path: () => string | undefined) {}

  lines(final = false): string[] {
    const path = this.path();
    if (path !== undefined && existsSync(path)) {
      const fd = openSync(path, "r");
      try {
        const chunk = Buffer.alloc(1 << 16);
        for (let n; (n = readSync(fd, chunk, 0, chunk.length, this.#offset)) > 0; this.#offset += n)
          this.#pending += this.#decoder.decode(chunk.subarray(0, n), { stream: true });
      } finally {
        closeSync(fd);
      }
    }
    const lines = this.#pending.split("\n");
    this.#pending = lines.pop() ?? "";
    if (final && this.#pending !== "") lines.push(this.#pending);
    return lines;
  }
}

export interface MpirunJob {
  job: string;
  script: readonly string[];
  devices: readonly number[];
  /** every rank's variables, besides BUNMG_RANK and BUNMG_DEVICE */
  env: Record<string, string>;
  graceMs: number;
  onLine: (rank: number, stream: "stdout" | "stderr", line: string) => void;
  /** once every rank has exited: removes what they left behind; returns how many */
  sweep: () => number;
}

function readRecord(dir: string, rank: number, kind: "pid" | "exit"): number | undefined {
  try {
    const text = readFileSync(join(dir, `${rank}.${kind}`), "utf8").trim();
    return /^-?\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the ranks under mpirun; `finished` resolves once mpirun has exited. */
export function startMpirun(j: MpirunJob): LaunchedJob {
  const mpirun = findMpirun();
  const dir = mkdtempSync(join(tmpdir(), "bunmg-launch-"));
  const env = { ...j.env, [RESULT_DIR_ENV]: dir };
  const output = join(dir, "output");
  const command = mpirunCommand({ mpirun, output, script: j.script, devices: j.devices, shared: Object.keys(env), root: process.getuid?.() === 0 });
  const proc = Bun.spawn(command, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const pidOf = (rank: number) => readRecord(dir, rank, "pid") ?? -1;
  const running = (rank: number) => readRecord(dir, rank, "exit") === undefined;
  const signalRank = (rank: number, signal: NodeJS.Signals) => {
    const pid = pidOf(rank);
    if (pid > 0 && running(rank)) {
      try {
        process.kill(pid, signal);
      } catch {
        // it exited meanwhile
      }
    }
  };
  const kill = (rank?: number, signal: NodeJS.Signals = "SIGTERM") => {
    if (rank !== undefined) signalRank(rank, signal);
    else if (proc.exitCode === null) proc.kill(signal); // mpirun passes it on to its ranks
  };
  // The first rank to exit starts the grace; then mpirun and every rank left are terminated.
  const terminated = new Set<number>();
  const timers: ReturnType<typeof setTimeout>[] = [];
  let firstExit: number | undefined;
  // A callback that throws must not stop the job's bookkeeping: its first error is thrown once
  // the job has ended and its folder is gone; later lines are dropped.
  let lineError: { error: unknown } | undefined;
  const onLine = (rank: number, stream: "stdout" | "stderr", line: string) => {
    if (lineError) return;
    try {
      j.onLine(rank, stream, line);
    } catch (error) {
      lineError = { error };
    }
  };
  const jobFolder = () => (existsSync(output) ? readdirSync(output)[0] : undefined); // mpirun names it after its job
  const follows = j.devices.flatMap((_, rank) =>
    (["stdout", "stderr"] as const).map((stream) => {
      const follow = new Follow(() => {
        const folder = jobFolder();
        return folder === undefined ? undefined : join(output, folder, `rank.${rank}`, stream);
      });
      return (final: boolean) => follow.lines(final).forEach((line) => onLine(rank, stream, line));
    }),
  );
  const poll = setInterval(() => {
    follows.forEach((forward) => forward(false));
    if (firstExit !== undefined) return;
    firstExit = j.devices.findIndex((_, rank) => !running(rank));
    if (firstExit < 0) {
      firstExit = undefined;
      return;
    }
    timers.push(
      setTimeout(() => {
        j.devices.forEach((_, rank) => running(rank) && terminated.add(rank));
        kill(undefined, "SIGTERM");
        timers.push(setTimeout(() => [...terminated].forEach((rank) => signalRank(rank, "SIGKILL")), KILL_AFTER_TERM_MS));
      }, j.graceMs),
    );
  }, POLL_MS);
  const emit = (stream: "stdout" | "stderr") => (line: string) => {
    if (!NOISE.test(line)) onLine(-1, stream, line); // mpirun's own
  };
  const finished = Promise.all([proc.exited, forwardLines(proc.stdout, emit("stdout")), forwardLines(proc.stderr, emit("stderr"))]).then(() => {
    clearInterval(poll);
    follows.forEach((forward) => forward(true));
    for (const t of timers) clearTimeout(t);
    const ranks: RankExit[] = j.devices.map((device, rank) => {
      const code = readRecord(dir, rank, "exit");
      return { rank, device, pid: pidOf(rank), exitCode: code ?? null, signal: null, terminated: terminated.has(rank), ...(code === undefined ? { unreported: true } : {}) };
    });
    rmSync(dir, { recursive: true, force: true });
    const failed = ranks.find((r) => exitStatus(r) !== 0);
    const removed = j.sweep();
    if (lineError) throw lineError.error;
    return { job: j.job, exitCode: failed ? exitStatus(failed) || 1 : 0, ranks, removed, firstExit };
  });
  const ranks = j.devices.map((device, rank) => ({
    rank,
    device,
    get pid() {
      return pidOf(rank);
    },
  }));
  return { job: j.job, ranks, kill, finished };
}
