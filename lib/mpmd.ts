// MPMD mode, the rank side: a process started by `bunmg launch` (launch.ts) joins its group in
// "processes" mode from the environment the launcher set.
import { invalid } from "./errors.ts";
import { checkSecret, Group } from "./group.ts";
import type { Backend } from "./mesh.ts";

/** The environment variables `bunmg launch` sets for each rank. */
export const RANK_ENV = {
  rank: "BUNMG_RANK",
  size: "BUNMG_WORLD_SIZE",
  job: "BUNMG_JOB",
  /** the launch's secret: ranks of another launch of the job id never join this one's group */
  secret: "BUNMG_JOB_SECRET",
  device: "BUNMG_DEVICE",
  /** only when the launcher was given --backend */
  backend: "BUNMG_BACKEND",
  /** only when the launcher was given --timeout-ms */
  timeoutMs: "BUNMG_TIMEOUT_MS",
} as const;

export interface RankEnvironment {
  rank: number;
  size: number;
  job: string;
  /** absent when the launcher set none */
  secret?: string | undefined;
  device: number;
  backend?: Backend | undefined;
  timeoutMs?: number | undefined;
}

function integer(env: Record<string, string | undefined>, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw invalid(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return value;
}

/** This process's rank as `bunmg launch` described it, or undefined when it was not launched. */
export function rankEnvironment(env: Record<string, string | undefined> = process.env): RankEnvironment | undefined {
  const job = env[RANK_ENV.job];
  if (job === undefined || job === "") return undefined;
  const rank = integer(env, RANK_ENV.rank);
  const size = integer(env, RANK_ENV.size);
  if (rank === undefined || size === undefined) throw invalid(`${RANK_ENV.job} is set but ${RANK_ENV.rank} or ${RANK_ENV.size} is not`);
  const backend = env[RANK_ENV.backend] || undefined;
  if (backend !== undefined && backend !== "host" && backend !== "cuda") throw invalid(`${RANK_ENV.backend} must be host or cuda, got ${JSON.stringify(backend)}`);
  const secret = env[RANK_ENV.secret] || undefined;
  checkSecret(secret, RANK_ENV.secret);
  return { rank, size, job, secret, device: integer(env, RANK_ENV.device) ?? rank, backend, timeoutMs: integer(env, RANK_ENV.timeoutMs) };
}

/** Joins this process's group (mode "processes"). Options override the launcher's backend and
 * timeout. INVALID_ARGUMENT when the process was not started by `bunmg launch`. */
export function joinFromEnv(overrides?: { backend?: Backend; timeoutMs?: number } | null): Group {
  const options = overrides ?? {};
  const env = rankEnvironment();
  if (env === undefined) throw invalid(`not started by \`bunmg launch\`: ${RANK_ENV.job} is not set`);
  return Group.join({
    mode: "processes",
    job: env.job,
    secret: env.secret,
    rank: env.rank,
    size: env.size,
    device: env.device,
    backend: options.backend ?? env.backend,
    timeoutMs: options.timeoutMs ?? env.timeoutMs,
  });
}
