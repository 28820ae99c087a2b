// Processes for the tests of job identity and of hostile /dev/shm entries (host and CUDA):
// probes (one join or sweep in a process of its own, killed when it hangs), ranks of the rank
// fixture started one by one with a launch's environment, and the scenarios both suites run.
import { expect } from "bun:test";
import { join } from "node:path";
import { newJobId, RANK_ENV, type Backend } from "../lib/index.ts";
import type { ProbeSpec } from "./fixtures/group-probe.ts";
import type { RankResult, RankSpec } from "./fixtures/group-rank.ts";
import { FIXTURE, segmentsOf, TIMEOUT_MS } from "./group-checks.ts";

const PROBE = join(import.meta.dir, "fixtures", "group-probe.ts");

export interface ProbeError {
  code?: string;
  device?: number;
  message: string;
}

export interface ProbeOutcome {
  /** its last output line: "JOINED", "SWEPT <n>" or "ERROR <json>" */
  line: string;
  error?: ProbeError;
  exitCode: number | null;
  ms: number;
  /** it had not exited after the limit and was killed */
  hung: boolean;
}

async function outcome(proc: Bun.Subprocess<"ignore", "pipe", "pipe">, started: number, limitMs: number): Promise<ProbeOutcome> {
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill("SIGKILL");
  }, limitMs);
  const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const error = line.startsWith("ERROR ") ? (JSON.parse(line.slice(6)) as ProbeError) : undefined;
  return { line, error, exitCode, ms: performance.now() - started, hung };
}

function spawnProbe(spec: ProbeSpec) {
  return Bun.spawn([process.execPath, PROBE, JSON.stringify(spec)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
}

/** Runs a probe to its end; one still running after limitMs is killed and reported hung. */
export function probe(spec: ProbeSpec, limitMs = 10_000): Promise<ProbeOutcome> {
  return outcome(spawnProbe(spec), performance.now(), limitMs);
}

export interface Holder {
  pid: number;
  kill(): Promise<void>;
  /** its outcome once it has exited */
  finished: Promise<ProbeOutcome>;
}

/** Starts a probe joining as rank 0 of a group larger than one, and resolves once its meeting
 * segment is in /dev/shm (it then waits there for the other ranks). */
export async function startHolder(spec: ProbeSpec): Promise<Holder> {
  const proc = spawnProbe({ ...spec, op: "join", rank: 0 });
  const finished = outcome(proc, performance.now(), 120_000);
  const deadline = Date.now() + 15_000;
  while (!segmentsOf(spec.job!).includes(`bunmg-${spec.job}`)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`the holder of job ${spec.job} did not make its meeting: ${(await finished).line}`);
    await Bun.sleep(10);
  }
  return {
    pid: proc.pid,
    kill: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    finished,
  };
}

export interface RankOutcome {
  exitCode: number | null;
  result?: RankResult;
  error?: ProbeError;
  output: string;
}

export interface StartedRank {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  finished: Promise<RankOutcome>;
}

export interface Launch {
  job: string;
  secret: string;
  size: number;
  backend?: Backend;
  /** rank r's device (default r) */
  devices?: number[];
}

/** Starts rank `rank` of the rank fixture with the environment `bunmg launch` gives it. */
export function startRank(launch: Launch, rank: number, spec: RankSpec): StartedRank {
  const proc = Bun.spawn([process.execPath, FIXTURE], {
    env: {
      ...process.env,
      [RANK_ENV.rank]: String(rank),
      [RANK_ENV.size]: String(launch.size),
      [RANK_ENV.job]: launch.job,
      [RANK_ENV.secret]: launch.secret,
      [RANK_ENV.device]: String(launch.devices?.[rank] ?? rank),
      [RANK_ENV.backend]: launch.backend ?? "host",
      [RANK_ENV.timeoutMs]: String(spec.timeoutMs ?? TIMEOUT_MS),
      BUNMG_TEST_SPEC: JSON.stringify(spec),
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const finished = (async () => {
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const line = (prefix: string) => stdout.split("\n").find((l) => l.startsWith(prefix))?.slice(prefix.length);
    const result = line("RESULT ");
    const error = line("ERROR ");
    return { exitCode, result: result && JSON.parse(result), error: error && JSON.parse(error), output: stdout + stderr };
  })();
  return { proc, finished };
}

/** Starts ranks 1.. of the launch first and rank 0 `delayMs` later, once the others are
 * waiting (none may have exited by then); resolves to every rank's outcome, in rank order. */
export async function launchRank0Last(launch: Launch, spec: RankSpec, delayMs = 300): Promise<RankOutcome[]> {
  const others = Array.from({ length: launch.size - 1 }, (_, i) => startRank(launch, i + 1, spec));
  await Bun.sleep(delayMs);
  for (const r of others) expect({ waiting: r.proc.exitCode }).toEqual({ waiting: null });
  const ranks = [startRank(launch, 0, spec), ...others];
  return Promise.all(ranks.map((r) => r.finished));
}

/** A fresh launch of a fresh job id. */
export function newLaunch(size: number, extra: Partial<Launch> = {}): Launch {
  return { job: newJobId(), secret: `launch-${newJobId()}`, size, ...extra };
}

/** Every rank exited 0 with a result (printing the outputs of the others). */
export function expectAllSucceeded(outcomes: RankOutcome[]): RankResult[] {
  outcomes.forEach((o, rank) => expect({ rank, exitCode: o.exitCode, error: o.error, output: o.exitCode === 0 ? "" : o.output }).toEqual({ rank, exitCode: 0, error: undefined, output: "" }));
  return outcomes.map((o) => o.result!);
}

/** Job J's rank 0 is SIGKILLed while it waits for the others in its meeting, which stays behind
 * with a dead owner; J is then launched again with rank 0 started last, so that rank 1 finds the
 * dead meeting first. Returns the new launch's outcomes (each rank must succeed). */
export async function relaunchAfterKilledRank0(spec: RankSpec, launch: Launch, delayMs?: number): Promise<RankOutcome[]> {
  const old = await startHolder({ op: "join", job: launch.job, secret: `old-${launch.secret}`, size: launch.size, backend: launch.backend, device: launch.devices?.[0], timeoutMs: 60_000 });
  await old.kill();
  expect(segmentsOf(launch.job)).toEqual([`bunmg-${launch.job}`]); // left behind, its owner dead
  return launchRank0Last(launch, spec, delayMs);
}
