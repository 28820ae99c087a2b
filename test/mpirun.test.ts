// `bunmg launch --engine mp` (lib/mpirun.ts): mpirun's command line (the flags of
// docs/mp-engine.md section 3.2, one app context per rank, nothing secret on it), a clear error
// without mpirun, and under a real mpirun: every rank sees bunmg's and Open MPI's variables, its
// lines arrive whole and prefixed, and each rank's exit is its own (mpirun's status is not).
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch } from "../lib/index.ts";
import { findMpirun, mpirunCommand } from "../lib/mpirun.ts";
import { expectError } from "./helpers.ts";
import { mpiMissing } from "./mp-checks.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const FIXTURE = join(import.meta.dir, "fixtures", "mp-env.ts");

describe("mpirun's command line", () => {
  const command = mpirunCommand({ mpirun: "/usr/bin/mpirun", output: "/tmp/x/output", script: ["s.ts", "--a"], devices: [0, 2], shared: ["BUNMG_JOB", "BUNMG_JOB_SECRET"], root: true });

  test("the flags that keep survivors alive and let ranks exit without MPI_Finalize, per-rank output files", () => {
    expect(command.slice(0, 10)).toEqual(["/usr/bin/mpirun", "--oversubscribe", "--enable-recovery", "--mca", "orte_allowed_exit_without_sync", "1", "--output-filename", "/tmp/x/output:nocopy", "--allow-run-as-root", "-x"]);
  });

  test("one app context per rank with its BUNMG_RANK and BUNMG_DEVICE; shared variables by name only", () => {
    const text = command.join(" ");
    expect(text).toContain("-x BUNMG_JOB -x BUNMG_JOB_SECRET -np 1 -x BUNMG_RANK=0 -x BUNMG_DEVICE=0 ");
    expect(text).toContain(" : -np 1 -x BUNMG_RANK=1 -x BUNMG_DEVICE=2 ");
    expect(command.filter((a) => a.includes("=")).sort()).toEqual(["BUNMG_DEVICE=0", "BUNMG_DEVICE=2", "BUNMG_RANK=0", "BUNMG_RANK=1"]);
    expect(command.filter((a) => a === "s.ts").length).toBe(2);
  });

  test("without mpirun: LIBRARY_NOT_FOUND naming what to install", () => {
    expectError(() => findMpirun({ BUNMG_MPIRUN: "/no/such/mpirun" }), "LIBRARY_NOT_FOUND", "BUNMG_MPIRUN=/no/such/mpirun does not exist");
    expectError(() => findMpirun({ PATH: "/nonexistent" }), "LIBRARY_NOT_FOUND", "the mp engine needs Open MPI's mpirun, which is not on PATH", "openmpi-bin");
  });
});

const missing = mpiMissing();
describe.skipIf(missing !== undefined)(`under mpirun${missing ? ` (skipped: ${missing})` : ""}`, () => {
  async function run(how: string) {
    const lines: [number, string, string][] = [];
    const result = await launch({ engine: "mp", script: FIXTURE, args: [how], devices: [0, 1, 2], backend: "host", env: { BUNMG_TEST_EXTRA: "x" }, onLine: (rank, stream, line) => lines.push([rank, stream, line]) });
    return { result, lines };
  }

  test("every rank sees bunmg's variables and Open MPI's, agreeing; long lines arrive whole, per rank and stream", async () => {
    const { result, lines } = await run("");
    expect(result.exitCode).toBe(0);
    for (let rank = 0; rank < 3; rank++) {
      const env = lines.find(([r, , l]) => r === rank && l.startsWith("ENV "));
      expect(JSON.parse(env![2].slice(4))).toEqual({ rank: String(rank), size: "3", ompi: String(rank), ompiSize: "3", job: result.job, secret: true, extra: "x" });
      expect(lines.filter(([r, s, l]) => r === rank && s === "stdout" && l === `LONG ${String(rank).repeat(30000)}`).length).toBe(1);
      expect(lines).toContainEqual([rank, "stderr", `to stderr from ${rank}`]);
    }
    expect(result.ranks.map((r) => r.exitCode)).toEqual([0, 0, 0]);
  });

  test("a rank's own exit code, and a killed rank as one that did not report", async () => {
    const exited = (await run("exit:1:3")).result;
    expect(exited.ranks.map((r) => r.exitCode)).toEqual([0, 3, 0]);
    expect(exited.exitCode).toBe(3);
    const killed = (await run("kill:2")).result;
    expect(killed.ranks[2]).toMatchObject({ exitCode: null, unreported: true });
    expect(killed.exitCode).toBe(1);
  });

  test("bunmg launch --engine mp: lines prefixed [rank r], the first failing rank's code, each rank's fate said", () => {
    const cli = join(import.meta.dir, "..", "scripts", "cli.ts");
    const r = Bun.spawnSync([process.execPath, cli, "launch", "--engine", "mp", "--np", "3", FIXTURE, "exit:2:5"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(5);
    for (let rank = 0; rank < 3; rank++) expect(r.stdout.toString()).toContain(`[rank ${rank}] ENV {"rank":"${rank}"`);
    expect(r.stderr.toString()).toContain("[rank 1] to stderr from 1");
    expect(r.stderr.toString()).toContain("bunmg launch: rank 2 (pid ");
    expect(r.stderr.toString()).toContain(") exited with code 5");
  });

  test("an onLine that throws: the job still ends, its folder is removed, then the error is thrown", async () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith("bunmg-launch-")));
    const run = launch({ engine: "mp", script: FIXTURE, devices: [0, 1], backend: "host", onLine: () => { throw new Error("the callback broke"); } });
    await expect(run).rejects.toThrow("the callback broke");
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("bunmg-launch-") && !before.has(f))).toEqual([]);
  });

  test("MpWorld.join refuses a launcher's variables that disagree with MPI's", () => {
    const script = `import { MpWorld } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "mp.ts"))};
      try { MpWorld.join({ timeoutMs: 10000 }); } catch (e) { console.log(e.code + ": " + e.message); }`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, BUNMG_RANK: "1", BUNMG_WORLD_SIZE: "2" }, stdout: "pipe" });
    expect(r.stdout.toString()).toContain("INVALID_ARGUMENT: the launcher says rank 1 of 2 (bunmg's variables), but MPI says rank 0 of 1");
  });
});
