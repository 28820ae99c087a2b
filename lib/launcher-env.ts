// Which rank this process is, as its launcher told it (docs/mp-engine.md, section 1.1): the
// first launcher whose variables are set, in the table's order. Every launcher whose variables
// are present must agree with it (mpirun under `bunmg launch --engine mp` sets both bunmg's and
// Open MPI's); a disagreement, a rank outside the world size, or half a set is refused, naming
// the variables.
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
