// The launcher's variables (lib/launcher-env.ts): the first launcher's set in the table's order,
// every other set present agreeing with it, and every inconsistency refused by name.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { expandHostlist, jobToken, launcherRank, rendezvousAddress, slurmRendezvousPort } from "../lib/launcher-env.ts";
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

describe("expandHostlist (as `scontrol show hostnames`)", () => {
  test("plain names, ranges with their padding, single numbers, several brackets, spaces", () => {
    expect(expandHostlist("node[01-03,7],gpu5")).toEqual(["node01", "node02", "node03", "node7", "gpu5"]);
    expect(expandHostlist("a")).toEqual(["a"]);
    expect(expandHostlist("n[8-11]")).toEqual(["n8", "n9", "n10", "n11"]);
    expect(expandHostlist("n[098-101]")).toEqual(["n098", "n099", "n100", "n101"]);
    expect(expandHostlist("rack[1-2]-n[01-02].x")).toEqual(["rack1-n01.x", "rack1-n02.x", "rack2-n01.x", "rack2-n02.x"]);
    expect(expandHostlist("x[5],y[2,0-1] , z")).toEqual(["x5", "y2", "y0", "y1", "z"]);
    expect(expandHostlist("10.0.0.1,10.0.0.2")).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  test("refused, naming the problem", () => {
    expectError(() => expandHostlist("node[01-03"), "INVALID_ARGUMENT", '"[" without "]"');
    expectError(() => expandHostlist("node]1["), "INVALID_ARGUMENT", '"]" without "["');
    expectError(() => expandHostlist("a,,b"), "INVALID_ARGUMENT", "an empty name");
    expectError(() => expandHostlist(""), "INVALID_ARGUMENT", "an empty name");
    expectError(() => expandHostlist("n[3-1]"), "INVALID_ARGUMENT", "the range 3-1 runs backwards");
    expectError(() => expandHostlist("n[a-b]"), "INVALID_ARGUMENT", '"a-b" is not a number or a range lo-hi');
    expectError(() => expandHostlist("n[]"), "INVALID_ARGUMENT", '"" is not a number or a range lo-hi');
  });
});

describe("rendezvousAddress and jobToken", () => {
  test("BUNMG_RENDEZVOUS under any launcher, first", () => {
    for (const launcher of ["bunmg", "slurm", "openmpi", "hydra", "torchrun"] as const) {
      expect(rendezvousAddress(launcher, { BUNMG_RENDEZVOUS: "h0:4242", MASTER_ADDR: "m", MASTER_PORT: "1", SLURM_STEP_NODELIST: "s1" })).toBe("h0:4242");
    }
    expect(rendezvousAddress("openmpi", {})).toBeUndefined();
  });

  test("SLURM: the step's first node and a port from the job and step ids, in 20000..29999", () => {
    const env = { SLURM_STEP_NODELIST: "gpu[07-09],cpu1", SLURM_JOB_ID: "123456", SLURM_STEP_ID: "2" };
    expect(rendezvousAddress("slurm", env)).toBe(`gpu07:${20000 + ((123456 * 7 + 2) % 10000)}`);
    expect(slurmRendezvousPort("123456", "2")).toBe(24194);
    expect(slurmRendezvousPort("123456", "3")).not.toBe(slurmRendezvousPort("123456", "2"));
    expect(slurmRendezvousPort("123457", "2")).not.toBe(slurmRendezvousPort("123456", "2"));
    for (const job of ["0", "9999", "4294967295", "99999999999"]) {
      const port = slurmRendezvousPort(job, "4294967294");
      expect(port >= 20000 && port <= 29999).toBe(true);
    }
    expect(rendezvousAddress("slurm", { SLURM_JOB_ID: "1" })).toBeUndefined();
    expectError(() => rendezvousAddress("slurm", { SLURM_STEP_NODELIST: "a", SLURM_JOB_ID: "1" }), "INVALID_ARGUMENT", "SLURM_STEP_NODELIST is set but SLURM_STEP_ID is not");
  });

  test("torchrun: MASTER_ADDR:MASTER_PORT, both or neither; a v6 address in brackets", () => {
    expect(rendezvousAddress("torchrun", { MASTER_ADDR: "10.1.2.3", MASTER_PORT: "29500" })).toBe("10.1.2.3:29500");
    expect(rendezvousAddress("torchrun", { MASTER_ADDR: "fe80::1", MASTER_PORT: "29500" })).toBe("[fe80::1]:29500");
    expect(rendezvousAddress("torchrun", {})).toBeUndefined();
    expectError(() => rendezvousAddress("torchrun", { MASTER_ADDR: "x" }), "INVALID_ARGUMENT", "MASTER_ADDR is set but MASTER_PORT is not");
  });

  test("the token: BUNMG_JOB_TOKEN, else under SLURM an HMAC of the job and step with the secret", () => {
    expect(jobToken("bunmg", { BUNMG_JOB_TOKEN: "abc", BUNMG_JOB_SECRET: "s" })).toBe("abc");
    const slurm = { SLURM_JOB_ID: "77", SLURM_STEP_ID: "0", BUNMG_JOB_SECRET: "secret" };
    const token = jobToken("slurm", slurm)!;
    expect(token).toBe(createHmac("sha256", "secret").update("slurm 77.0").digest("hex"));
    expect(token).toHaveLength(64);
    expect(jobToken("slurm", { ...slurm, SLURM_STEP_ID: "1" })).not.toBe(token);
    expect(jobToken("slurm", { ...slurm, BUNMG_JOB_SECRET: "other" })).not.toBe(token);
    expect(jobToken("slurm", { SLURM_JOB_ID: "77", SLURM_STEP_ID: "0" })).toBeUndefined(); // no secret: no token
    expect(jobToken("torchrun", { BUNMG_JOB_SECRET: "secret" })).toBeUndefined();
  });
});
