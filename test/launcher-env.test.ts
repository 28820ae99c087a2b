// The launcher's variables (lib/launcher-env.ts): the first launcher's set in the table's order,
// every other set present agreeing with it, and every inconsistency refused by name.
import { describe, expect, test } from "bun:test";
import { launcherRank } from "../lib/launcher-env.ts";
import { expectError } from "./helpers.ts";

describe("launcherRank", () => {
  test("none set: undefined", () => {
    expect(launcherRank({ PATH: "/bin" })).toBeUndefined();
  });

  test("each launcher's set, in the table's order", () => {
    expect(launcherRank({ BUNMG_RANK: "1", BUNMG_WORLD_SIZE: "4", BUNMG_DEVICE: "3" })).toEqual({ launcher: "bunmg", rank: 1, size: 4, localRank: 3 });
    expect(launcherRank({ SLURM_PROCID: "2", SLURM_NTASKS: "8", SLURM_LOCALID: "0" })).toEqual({ launcher: "slurm", rank: 2, size: 8, localRank: 0 });
    expect(launcherRank({ OMPI_COMM_WORLD_RANK: "0", OMPI_COMM_WORLD_SIZE: "2" })).toEqual({ launcher: "openmpi", rank: 0, size: 2, localRank: undefined });
    expect(launcherRank({ PMI_RANK: "3", PMI_SIZE: "4", MPI_LOCALRANKID: "1" })).toEqual({ launcher: "hydra", rank: 3, size: 4, localRank: 1 });
    expect(launcherRank({ RANK: "0", WORLD_SIZE: "1", LOCAL_RANK: "0" })).toEqual({ launcher: "torchrun", rank: 0, size: 1, localRank: 0 });
  });

  test("bunmg launch --engine mp: bunmg's and Open MPI's sets agree, bunmg's wins", () => {
    const env = { BUNMG_RANK: "1", BUNMG_WORLD_SIZE: "2", BUNMG_DEVICE: "1", OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_LOCAL_RANK: "1" };
    expect(launcherRank(env)).toEqual({ launcher: "bunmg", rank: 1, size: 2, localRank: 1 });
  });

  test("refused, naming the variables: disagreeing sets, half a set, a rank beyond the size, not a number", () => {
    expectError(() => launcherRank({ BUNMG_RANK: "0", BUNMG_WORLD_SIZE: "2", OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "2" }), "INVALID_ARGUMENT", "the launchers' variables disagree: BUNMG_RANK=0 BUNMG_WORLD_SIZE=2, but OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=2");
    expectError(() => launcherRank({ SLURM_PROCID: "0", SLURM_NTASKS: "4", RANK: "0", WORLD_SIZE: "2" }), "INVALID_ARGUMENT", "but RANK=0 WORLD_SIZE=2");
    expectError(() => launcherRank({ PMI_RANK: "1" }), "INVALID_ARGUMENT", "PMI_RANK is set but PMI_SIZE is not");
    expectError(() => launcherRank({ WORLD_SIZE: "2" }), "INVALID_ARGUMENT", "WORLD_SIZE is set but RANK is not");
    expectError(() => launcherRank({ BUNMG_RANK: "2", BUNMG_WORLD_SIZE: "2" }), "INVALID_ARGUMENT", "BUNMG_RANK=2 is not a rank of BUNMG_WORLD_SIZE=2");
    expectError(() => launcherRank({ SLURM_PROCID: "x", SLURM_NTASKS: "2" }), "INVALID_ARGUMENT", 'SLURM_PROCID must be a non-negative integer, got "x"');
  });
});
