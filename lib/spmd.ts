// runSpmd: SPMD mode. One Bun Worker per device in this process, each a rank of a group in
// "threads" mode that owns its device and its row shard; they meet in POSIX shared memory and
// rank 0 runs the solvers with every rank's pointer (group.ts).
//
// The module a Worker runs exports a function, as `default` or `main`:
//   export default function (group: Group, data: T): R | Promise<R>
// runSpmd resolves to every rank's R, in rank order, or rejects with a GroupError listing every
// rank's failure. Once one rank has ended, failed or returned, the others get `graceMs` to end
// too (after a failure they fail by themselves within the group timeout: a rank that left or
// whose thread ended is PEER_LOST at once, one that never arrives is TIMEOUT); a rank still
// running then is terminated and named (TIMEOUT). Each run is a launch of its own, with a fresh
// secret: Workers of another run with the same job id never join its group.
import { Worker } from "node:worker_threads";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BunmgError, invalid, type BunmgErrorCode } from "./errors.ts";
import { checkJob, DEFAULT_GROUP_TIMEOUT_MS, newJobId, newSecret, sweepSharedMemory, type Group } from "./group.ts";
import { MAX_DEVICES } from "./abi.ts";
import { cudaDeviceCount, type Backend } from "./mesh.ts";
import { native } from "./native.ts";
import { checkInteger, describe } from "./validate.ts";

export interface SpmdOptions {
  /** path (relative to the working directory) or URL of the module each Worker runs */
  module: string | URL;
  /** the device of each rank, or a count n for devices 0..n-1. Default: every GPU (cuda), two
   * ranks (host). On the host backend the ids only count the ranks. */
  devices?: readonly number[] | number;
  /** default: "cuda" when a GPU is visible, else "host" */
  backend?: Backend;
  /** passed (structured-cloned) to every rank's function */
  data?: unknown;
  /** the group's bound on every wait for another rank (default 60 s) */
  timeoutMs?: number;
  /** how long the other ranks may still run once one has ended, failed or returned (default
   * timeoutMs + 1 s); then they are terminated */
  graceMs?: number;
  /** the job id (default: a random one). Two runs with one job id never mix: the later one
   * waits for the earlier one's group to have formed. */
  job?: string;
}

/** The function a rank module exports. */
export type RankFunction<T = unknown, R = unknown> = (group: Group, data: T) => R | Promise<R>;

/** A failed SPMD job: code, device and index of the first rank's BunmgError (ranks that lost a
 * peer name it in `device`), every rank's error in `errors`, the root cause in `cause`. */
export class GroupError extends BunmgError {
  /** per rank: its error, or undefined where it succeeded */
  readonly errors: readonly (Error | undefined)[];

  constructor(message: string, errors: (Error | undefined)[]) {
    const failed = errors.filter((e): e is Error => e !== undefined);
    const first = failed.find((e): e is BunmgError => e instanceof BunmgError);
    const root = failed.find((e) => !(e instanceof BunmgError && PROTOCOL_CODES.includes(e.code))) ?? failed[0];
    super(first?.code ?? "UNKNOWN", message, { cause: root, index: first?.index, device: first?.device });
    this.name = "GroupError";
    this.errors = errors;
  }
}

/** What a rank reports when another rank failed it. */
const PROTOCOL_CODES: readonly BunmgErrorCode[] = ["PEER_LOST", "TIMEOUT"];

// ---- the protocol between runSpmd and spmd-worker.ts ----

/** @internal what a Worker gets as workerData */
export interface RankSpec {
  module: string;
  job: string;
  secret: string;
  rank: number;
  size: number;
  backend: Backend;
  device: number;
  timeoutMs: number;
  data: unknown;
}

/** @internal messages from a Worker */
export type WorkerMessage = { type: "ready" } | { type: "result"; value: unknown } | { type: "error"; error: ErrorRecord };

interface ErrorRecord {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: BunmgErrorCode;
  index?: number;
  device?: number;
}

/** @internal an error as plain data (errors lose their class crossing a Worker boundary) */
export function errorRecord(e: unknown): ErrorRecord {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const record: ErrorRecord = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof BunmgError) Object.assign(record, { code: e.code, index: e.index, device: e.device });
  return record;
}

function fromRecord(record: ErrorRecord): Error {
  const e =
    record.code === undefined
      ? new Error(record.message)
      : new BunmgError(record.code, record.message, { ...(record.index !== undefined ? { index: record.index } : {}), ...(record.device !== undefined ? { device: record.device } : {}) });
  e.name = record.name;
  if (record.stack) e.stack = record.stack;
  return e;
}

// ---- the parent side ----

type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

interface Rank {
  worker: Worker;
  /** undefined once the Worker is ready; its outcome when it ended first */
  ready: Promise<Outcome | undefined>;
  outcome: Promise<Outcome>;
}

const WORKER_URL = new URL("./spmd-worker.ts", import.meta.url);

function startRank(spec: RankSpec): Rank {
  const worker = new Worker(WORKER_URL, { workerData: spec });
  let onReady: () => void = () => {};
  const ready = new Promise<undefined>((r) => (onReady = () => r(undefined)));
  const outcome = new Promise<Outcome>((settle) => {
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") onReady();
      else settle(m.type === "result" ? { ok: true, value: m.value } : { ok: false, error: fromRecord(m.error) });
    });
    worker.on("error", (error) => settle({ ok: false, error: error instanceof Error ? error : new Error(String(error)) }));
    worker.on("exit", (code) => {
      const error = new BunmgError("PEER_LOST", `rank ${spec.rank}'s Worker exited (code ${code}) without a result`, { device: spec.rank });
      settle({ ok: false, error });
    });
  });
  return { worker, ready: Promise.race([ready, outcome]), outcome };
}

/** Every rank's outcome; once one has ended (either way), the others get graceMs before they
 * count as failed, named as stragglers. */
async function settle(ranks: Rank[], graceMs: number): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = ranks.map(() => undefined);
  let first = -1;
  await new Promise<void>((done) => {
    let pending = ranks.length;
    let timer: ReturnType<typeof setTimeout> | undefined;
    ranks.forEach((r, i) =>
      r.outcome.then((o) => {
        outcomes[i] = o;
        if (first < 0) {
          first = i;
          timer = setTimeout(done, graceMs);
        }
        if (--pending === 0) {
          clearTimeout(timer);
          done();
        }
      }),
    );
  });
  const how = outcomes[first]?.ok ? "returned" : "failed";
  return outcomes.map(
    (o, i) => o ?? { ok: false, error: new BunmgError("TIMEOUT", `rank ${i} was still running ${graceMs} ms after rank ${first} ${how}; it was terminated`, { device: i }) },
  );
}

function moduleUrl(module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== "string" || module === "") throw invalid(`module must be a path or URL of the rank module, got ${describe(module)}`);
  return /^[a-z]+:/i.test(module) ? module : pathToFileURL(resolve(module)).href;
}

function deviceList(devices: SpmdOptions["devices"], backend: Backend): number[] {
  if (devices === undefined) {
    if (backend === "host") return [0, 1];
    const count = cudaDeviceCount();
    if (count === 0) throw new BunmgError("NO_DEVICE", "no CUDA device: pass backend: \"host\" to run the ranks on host memory");
    return Array.from({ length: count }, (_, i) => i);
  }
  if (typeof devices === "number") return Array.from({ length: checkInteger(devices, "devices", 1, MAX_DEVICES) }, (_, i) => i);
  if (!Array.isArray(devices) || devices.length < 1 || devices.length > MAX_DEVICES) {
    throw invalid(`devices must be a count or a list of 1..${MAX_DEVICES} device ids, got ${describe(devices)}`);
  }
  return devices.map((d, i) => checkInteger(d, `devices[${i}]`, 0));
}

/** Runs `module`'s function on one Worker per device, each a rank of one group. */
export async function runSpmd<R = unknown>(options: SpmdOptions): Promise<R[]> {
  if (typeof options !== "object" || options === null) throw invalid(`runSpmd options must be an object, got ${describe(options)}`);
  const module = moduleUrl(options.module);
  const backend = options.backend ?? (cudaDeviceCount() > 0 ? "cuda" : "host");
  if (backend !== "host" && backend !== "cuda") throw invalid(`backend must be "host" or "cuda", got ${describe(backend)}`);
  const devices = deviceList(options.devices, backend);
  const timeoutMs = checkInteger(options.timeoutMs ?? DEFAULT_GROUP_TIMEOUT_MS, "timeoutMs", 1);
  const graceMs = checkInteger(options.graceMs ?? timeoutMs + 1000, "graceMs", 0);
  const job = options.job === undefined ? newJobId() : checkJob(options.job);
  const secret = newSecret();
  native(); // load the library here first: Workers loading it concurrently have crashed Bun
  const ranks: Rank[] = [];
  let outcomes: Outcome[];
  try {
    // One at a time: each Worker loads the library before the next one starts.
    for (const [rank, device] of devices.entries()) {
      const r = startRank({ module, job, secret, rank, size: devices.length, backend, device, timeoutMs, data: options.data });
      ranks.push(r);
      const early = await r.ready;
      if (early) {
        const error = early.ok ? new BunmgError("PEER_LOST", `rank ${rank} finished before the group started`, { device: rank }) : early.error;
        throw new GroupError(`SPMD job ${job}: rank ${rank} failed to start: ${error.message}`, devices.map((_, i) => (i === rank ? error : undefined)));
      }
    }
    for (const r of ranks) r.worker.postMessage("go");
    outcomes = await settle(ranks, graceMs);
  } finally {
    await Promise.all(ranks.map((r) => r.worker.terminate()));
    sweepSharedMemory({ job, secret, force: true }); // every rank is gone: what its launch left is garbage
  }
  const errors = outcomes.map((o) => (o.ok ? undefined : o.error));
  if (errors.some((e) => e !== undefined)) {
    const lines = errors.flatMap((e, rank) => (e === undefined ? [] : [`rank ${rank}: ${e instanceof BunmgError ? `[${e.code}] ` : ""}${e.message}`]));
    throw new GroupError(`SPMD job ${job} failed:\n  ${lines.join("\n  ")}`, errors);
  }
  return outcomes.map((o) => (o as { value: R }).value);
}
