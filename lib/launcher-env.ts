// Which rank this process is, as its launcher told it (docs/mp-engine.md, section 1.1): the
// first launcher whose variables are set, in the table's order. Every launcher whose variables
// are present must agree with it (mpirun under `bunmg launch --engine mp` sets both bunmg's and
// Open MPI's); a disagreement, a rank outside the world size, or half a set is refused, naming
// the variables.
import { createHmac } from "node:crypto";
import { invalid } from "./errors.ts";

export type Launcher = "bunmg" | "slurm" | "openmpi" | "hydra" | "torchrun";

/** Each launcher's variables: rank, world size, local rank (which device on the node). */
export const LAUNCHER_VARIABLES: Readonly<Record<Launcher, readonly [rank: string, size: string, local: string]>> = {
  bunmg: ["BUNMG_RANK", "BUNMG_WORLD_SIZE", "BUNMG_LOCAL_RANK"],
  slurm: ["SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"],
  openmpi: ["OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"],
  hydra: ["PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"],
  torchrun: ["RANK", "WORLD_SIZE", "LOCAL_RANK"],
};

export interface LauncherRank {
  launcher: Launcher;
  rank: number;
  size: number;
  /** undefined when the launcher did not say */
  localRank: number | undefined;
}

function count(env: Record<string, string | undefined>, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  if (!/^\d+$/.test(text.trim())) throw invalid(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

function readSet(env: Record<string, string | undefined>, launcher: Launcher): LauncherRank | undefined {
  const [rankName, sizeName, localName] = LAUNCHER_VARIABLES[launcher];
  const rank = count(env, rankName);
  const size = count(env, sizeName);
  if (rank === undefined && size === undefined) return undefined;
  if (rank === undefined || size === undefined) throw invalid(`${rank === undefined ? sizeName : rankName} is set but ${rank === undefined ? rankName : sizeName} is not`);
  if (size < 1 || rank >= size) throw invalid(`${rankName}=${rank} is not a rank of ${sizeName}=${size}`);
  // bunmg launch names its device BUNMG_DEVICE; the plain environment, BUNMG_LOCAL_RANK
  const localRank = count(env, localName) ?? (launcher === "bunmg" ? count(env, "BUNMG_DEVICE") : undefined);
  return { launcher, rank, size, localRank };
}

/** This process's rank from its launcher's variables, or undefined when none are set. */
export function launcherRank(env: Record<string, string | undefined> = process.env): LauncherRank | undefined {
  const sets = (Object.keys(LAUNCHER_VARIABLES) as Launcher[]).flatMap((l) => readSet(env, l) ?? []);
  const first = sets[0];
  for (const other of sets.slice(1)) {
    if (other.rank === first!.rank && other.size === first!.size) continue;
    const [r1, s1] = LAUNCHER_VARIABLES[first!.launcher];
    const [r2, s2] = LAUNCHER_VARIABLES[other.launcher];
    throw invalid(`the launchers' variables disagree: ${r1}=${first!.rank} ${s1}=${first!.size}, but ${r2}=${other.rank} ${s2}=${other.size}`);
  }
  return first;
}

/** SLURM's compressed hostlist (`node[01-03,7],gpu5`) expanded as `scontrol show hostnames`
 * does: comma-separated names, each bracket a comma-separated list of numbers and ranges
 * `lo-hi` whose numbers keep lo's zero padding; several brackets in one name multiply. */
export function expandHostlist(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]" && --depth < 0) throw invalid(`hostlist ${JSON.stringify(text)}: "]" without "["`);
    else if ((c === "," && depth === 0) || i === text.length) {
      if (depth !== 0) throw invalid(`hostlist ${JSON.stringify(text)}: "[" without "]"`);
      const item = text.slice(start, i).trim();
      if (item === "") throw invalid(`hostlist ${JSON.stringify(text)}: an empty name`);
      names.push(...expandName(item, text));
      start = i + 1;
    }
  }
  return names;
}

function expandName(item: string, whole: string): string[] {
  const open = item.indexOf("[");
  if (open < 0) return [item];
  const close = item.indexOf("]", open);
  const prefix = item.slice(0, open);
  const rest = expandName(item.slice(close + 1), whole);
  return expandRanges(item.slice(open + 1, close), whole).flatMap((n) => rest.map((r) => prefix + n + r));
}

function expandRanges(list: string, whole: string): string[] {
  return list.split(",").flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw invalid(`hostlist ${JSON.stringify(whole)}: ${JSON.stringify(part)} is not a number or a range lo-hi`);
    const lo = m[1]!;
    const hi = m[2] ?? lo;
    if (Number(hi) < Number(lo)) throw invalid(`hostlist ${JSON.stringify(whole)}: the range ${part} runs backwards`);
    if (Number(hi) - Number(lo) >= 1 << 20) throw invalid(`hostlist ${JSON.stringify(whole)}: the range ${part} is too long`);
    const width = lo.length;
    const out: string[] = [];
    for (let n = Number(lo); n <= Number(hi); n++) out.push(String(n).padStart(width, "0"));
    return out;
  });
}

/** The port a SLURM step's rank 0 listens on: 20000 + (SLURM_JOB_ID * 7 + SLURM_STEP_ID) mod
 * 10000, in 20000..29999 (below Linux's ephemeral ports); the steps of a job, and jobs close in
 * number, get different ports. */
export function slurmRendezvousPort(jobId: string, stepId: string): number {
  return 20000 + Number((BigInt(jobId) * 7n + BigInt(stepId)) % 10000n);
}

/** Rank 0's rendezvous address (docs/mp-engine.md, section 1.1's table): BUNMG_RENDEZVOUS under
 * any launcher; else under SLURM the first host of SLURM_STEP_NODELIST and slurmRendezvousPort;
 * under torchrun MASTER_ADDR:MASTER_PORT; else undefined. */
export function rendezvousAddress(launcher: Launcher, env: Record<string, string | undefined> = process.env): string | undefined {
  const plain = env.BUNMG_RENDEZVOUS?.trim();
  if (plain) return plain;
  if (launcher === "slurm") {
    const nodes = env.SLURM_STEP_NODELIST?.trim();
    if (!nodes) return undefined;
    const job = count(env, "SLURM_JOB_ID");
    const step = count(env, "SLURM_STEP_ID");
    if (job === undefined || step === undefined) throw invalid(`SLURM_STEP_NODELIST is set but ${job === undefined ? "SLURM_JOB_ID" : "SLURM_STEP_ID"} is not`);
    const host = expandHostlist(nodes)[0]!;
    return `${host.includes(":") ? `[${host}]` : host}:${slurmRendezvousPort(String(job), String(step))}`;
  }
  if (launcher === "torchrun") {
    const host = env.MASTER_ADDR?.trim();
    const port = env.MASTER_PORT?.trim();
    if (!host && !port) return undefined;
    if (!host || !port) throw invalid(`${host ? "MASTER_ADDR" : "MASTER_PORT"} is set but ${host ? "MASTER_PORT" : "MASTER_ADDR"} is not`);
    return `${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  return undefined;
}

/** The job's rendezvous token: BUNMG_JOB_TOKEN; else under SLURM the job and step ids hashed
 * (HMAC-SHA256, hex) with the launch's secret BUNMG_JOB_SECRET; else undefined. Both come from
 * the environment, which other users cannot read, never from a command line. */
export function jobToken(launcher: Launcher, env: Record<string, string | undefined> = process.env): string | undefined {
  const token = env.BUNMG_JOB_TOKEN;
  if (token) return token;
  const secret = env.BUNMG_JOB_SECRET;
  if (launcher !== "slurm" || !secret) return undefined;
  const job = count(env, "SLURM_JOB_ID");
  const step = count(env, "SLURM_STEP_ID");
  if (job === undefined || step === undefined) return undefined;
  return createHmac("sha256", secret).update(`slurm ${job}.${step}`).digest("hex");
}
