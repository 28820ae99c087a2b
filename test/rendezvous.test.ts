// The TCP rendezvous (lib/rendezvous.ts, csrc/src/mp/rendezvous*.c): real processes over
// loopback, each a rank of test/fixtures/rendezvous-rank.ts joining through its launcher's
// variables (plain, SLURM's, torchrun's): the table and blob on every rank, agreements and
// bcasts, refused strangers, a rank that never comes, dies or goes silent, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { LAUNCHER_VARIABLES, slurmRendezvousPort } from "../lib/launcher-env.ts";
import { Rendezvous } from "../lib/rendezvous.ts";
import { expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const FIXTURE = join(import.meta.dir, "fixtures", "rendezvous-rank.ts");
const BLOB = Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 37 + 11) & 255)).toString("hex");

interface Out {
  what: string;
  rank: number;
  value: any;
}

/** The environment without any launcher's variables of the test's own. */
function cleanEnv(): Record<string, string> {
  const names = new Set([...Object.values(LAUNCHER_VARIABLES).flat(), "BUNMG_DEVICE", "BUNMG_RENDEZVOUS", "BUNMG_JOB_TOKEN", "BUNMG_JOB_SECRET", "MASTER_ADDR", "MASTER_PORT", "SLURM_STEP_NODELIST", "SLURM_JOB_ID", "SLURM_STEP_ID"]);
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !names.has(k))) as Record<string, string>;
}

/** A port nobody listens on now, in [lo, hi) when given. */
async function freePort(lo = 0, hi = 0): Promise<number> {
  for (;;) {
    const want = lo === 0 ? 0 : lo + Math.floor(Math.random() * (hi - lo));
    try {
      const server = Bun.listen({ hostname: "0.0.0.0", port: want, socket: { data() {} } });
      const port = server.port;
      server.stop(true);
      return port;
    } catch {
      if (lo === 0) throw new Error("no free port");
    }
  }
}

interface Proc {
  rank: number;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
}

function spawnRank(scenario: string, rank: number, env: Record<string, string>): Proc {
  return { rank, proc: Bun.spawn(["bun", FIXTURE, scenario], { env: { ...cleanEnv(), ...env }, stdout: "pipe", stderr: "pipe" }) };
}

async function collect(procs: Proc[]): Promise<{ outs: Out[]; stderr: string[]; codes: (number | null)[] }> {
  const texts = await Promise.all(procs.map(async (p) => [await new Response(p.proc.stdout).text(), await new Response(p.proc.stderr).text()] as const));
  const codes = await Promise.all(procs.map((p) => p.proc.exited));
  const outs = texts.flatMap(([o]) => o.split("\n").filter((l) => l.startsWith("OUT ")).map((l) => JSON.parse(l.slice(4)) as Out));
  return { outs, stderr: texts.map(([, e]) => e), codes };
}

function plainEnv(rank: number, size: number, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return { BUNMG_RANK: String(rank), BUNMG_WORLD_SIZE: String(size), BUNMG_LOCAL_RANK: String(rank % 2), BUNMG_RENDEZVOUS: `127.0.0.1:${port}`, BUNMG_JOB_TOKEN: "tok-rv-test", RV_BLOB: BLOB, ...extra };
}

async function job(scenario: string, size: number, envOf: (rank: number) => Record<string, string>, skip: number[] = []) {
  const procs = Array.from({ length: size }, (_, r) => r)
    .filter((r) => !skip.includes(r))
    .map((r) => spawnRank(scenario, r, envOf(r)));
  return collect(procs);
}

function pick(outs: Out[], what: string): Map<number, any> {
  return new Map(outs.filter((o) => o.what === what).map((o) => [o.rank, o.value]));
}

function expectBasic(outs: Out[], size: number, localOf: (r: number) => number | null) {
  const joined = pick(outs, "joined");
  expect(joined.size).toBe(size);
  const table = joined.get(0).peers;
  for (let r = 0; r < size; r++) {
    const mine = joined.get(r);
    expect(mine.peers).toEqual(table); // the same table everywhere
    expect(mine.blob).toBe(BLOB);
    expect(table[r].pid).toBe(mine.pid);
    expect(String(table[r].start)).toBe(mine.start); // the process start time, never 0
    expect(table[r].rank).toBe(r);
    expect(table[r].localRank ?? null).toBe(localOf(r));
    expect(table[r].host.length).toBeGreaterThan(0);
    expect(pick(outs, "agree0").get(r)).toEqual({ ok: null });
    // rank 1 and the last rank fail (rank 0 is the last of one rank); the lowest wins
    expect(pick(outs, "agree1").get(r)).toEqual({ ok: size === 1 ? { rank: 0, status: "SINGULAR" } : { rank: 1, status: "SOLVER_ERROR" } });
    expect(pick(outs, "agree2").get(r)).toEqual({ ok: { rank: size - 1, status: "NOT_POSITIVE_DEFINITE" } });
    for (let i = 0; i < 4; i++) expect(pick(outs, `bcast${i}`).get(r)).toEqual({ ok: true });
    const left = pick(outs, "left").get(r);
    expect(left.after.fds).toBe(left.before.fds); // every socket closed
    expect([left.before.threads, left.joined.threads, left.after.threads]).toEqual([0, size === 1 ? 0 : 1, 0]); // the liveness thread ended
    expect(pick(outs, "afterDispose").get(r).code).toBe("DISPOSED");
  }
}

describe("joining, the table, agree and bcast", () => {
  for (const size of [1, 2, 4, 6]) {
    test(`${size} rank(s) with the plain variables`, async () => {
      const port = await freePort();
      const { outs, codes } = await job("basic", size, (r) => plainEnv(r, size, port));
      expectBasic(outs, size, (r) => r % 2);
      expect(codes.every((c) => c === 0)).toBe(true);
    });
  }

  test("3 ranks with SLURM's variables: the first node of the step, the port from the job and step ids, the token from the secret", async () => {
    const port = await freePort(20000, 30000);
    const step = 3;
    let jobId = 0;
    while (slurmRendezvousPort(String(jobId), String(step)) !== port) jobId++;
    const env = (r: number) => ({ SLURM_PROCID: String(r), SLURM_NTASKS: "3", SLURM_LOCALID: String(r), SLURM_STEP_NODELIST: "localhost,gpu[02-03]", SLURM_JOB_ID: String(jobId), SLURM_STEP_ID: String(step), BUNMG_JOB_SECRET: "s3cret-of-the-launch", RV_BLOB: BLOB });
    const { outs } = await job("basic", 3, env);
    expectBasic(outs, 3, (r) => r);
  });

  test("2 ranks with torchrun's variables (MASTER_ADDR:MASTER_PORT), no local rank", async () => {
    const port = await freePort();
    const env = (r: number) => ({ RANK: String(r), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), BUNMG_JOB_TOKEN: "t", RV_BLOB: BLOB });
    const { outs } = await job("basic", 2, env);
    expectBasic(outs, 2, () => null);
  });

  test("a bcast whose sizes differ: INVALID_ARGUMENT naming the rank on every rank, nothing written, the job still usable", async () => {
    const port = await freePort();
    const { outs } = await job("bcast-mismatch", 3, (r) => plainEnv(r, 3, port, { RV_VICTIM: "2" }));
    for (let r = 0; r < 3; r++) {
      expect(pick(outs, "bcast").get(r)).toMatchObject({ code: "INVALID_ARGUMENT", device: 2, message: "rendezvous_bcast: rank 2 passed 101 bytes, but rank 0 sent 100" });
      expect(pick(outs, "untouched").get(r)).toBe(true);
      expect(pick(outs, "agreeAfter").get(r)).toEqual({ ok: null });
    }
  });
});

describe("strangers are refused while the job joins", () => {
  test("wrong token, wrong size, a duplicate rank, garbage, a port scanner and a silent connection", async () => {
    const port = await freePort();
    const env = (r: number, extra: Record<string, string> = {}) => plainEnv(r, 3, port, { RV_HOLD_MS: "300", ...extra });
    const rank0 = spawnRank("hold", 0, env(0));
    // wait for rank 0 to listen
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((res) => {
        const s = connect(port, "127.0.0.1", () => (s.destroy(), res(true)));
        s.on("error", () => res(false));
      });
      if (ok) break;
      await Bun.sleep(20);
    }
    const silent = connect(port, "127.0.0.1"); // sends nothing, stays open
    const garbage = connect(port, "127.0.0.1", () => garbage.write(Buffer.alloc(200, "GET / HTTP/1.0\r\n")));
    const strangers = [spawnRank("hold", 1, env(1, { BUNMG_JOB_TOKEN: "another-job" })), spawnRank("hold", 1, { ...env(1), BUNMG_WORLD_SIZE: "4" })];
    const twins = [spawnRank("hold", 1, env(1)), spawnRank("hold", 1, env(1))];
    const refusedStrangers = await collect(strangers);
    await Promise.race(twins.map((t) => t.proc.exited)); // the refused twin; the other waits for rank 2
    const late = spawnRank("hold", 2, env(2));
    const { outs, stderr } = await collect([rank0, ...twins, late]);
    silent.destroy();
    garbage.destroy();
    expect(refusedStrangers.outs.map((o) => o.value)).toEqual([
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: "rendezvous: rank 0 refused rank 1: wrong job token" }),
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: "rendezvous: rank 0 refused rank 1: world size 4, but this job's is 3" }),
    ]);
    const twinJoins = outs.filter((o) => o.rank === 1).map((o) => o.what).sort();
    expect(twinJoins).toEqual(["join", "joined"]); // one twin joined, the other was refused
    expect(outs.find((o) => o.rank === 1 && o.what === "join")!.value.message).toBe("rendezvous: rank 0 refused rank 1: rank 1 has already joined");
    const joined = pick(outs, "joined");
    expect([...joined.keys()].sort()).toEqual([0, 1, 2]);
    expect(joined.get(0).refused).toBeGreaterThanOrEqual(4);
    const log = stderr[0]!;
    // the probes that waited for rank 0 to listen were port scans: connected, closed at once
    for (const why of ["wrong job token", "world size 4, but this job's is 3", "rank 1 has already joined", "not a bunmg rendezvous hello", "closed before its hello"])
      expect(log).toMatch(new RegExp(`bunmg rendezvous: refused a connection from \\S+ port \\d+: ${why}`));
  });
});

describe("failures", () => {
  test("a rank that never arrives: TIMEOUT naming it on every rank that came, within the timeout", async () => {
    const port = await freePort();
    const started = Date.now();
    const { outs } = await job("basic", 4, (r) => plainEnv(r, 4, port, { RV_TIMEOUT_MS: "1500" }), [2]);
    const elapsed = Date.now() - started;
    for (const r of [0, 1, 3]) expect(pick(outs, "join").get(r)).toEqual({ code: "TIMEOUT", device: 2, message: "rendezvous: rank 2 did not join within 1500 ms (3 of 4 ranks joined)" });
    expect(elapsed).toBeLessThan(1500 + 1000 + 3000); // the timeout, the grace, and process start-up
  });

  test("a rank dying at its join (once its hello is taken; rank 0 and another): every other rank's join or next check fails naming it", async () => {
    for (const victim of [2, 0]) {
      const port = await freePort();
      const { outs } = await job("die-at-join", 3, (r) => plainEnv(r, 3, port, { RV_VICTIM: String(victim), RV_TIMEOUT_MS: "1500" }));
      for (const r of [0, 1, 2].filter((r) => r !== victim)) {
        const failure = pick(outs, "join").get(r) ?? pick(outs, "lost").get(r);
        if (r !== 0 && failure.code === "TIMEOUT") {
          // it came after rank 0 had given up (or died): nobody listened any more
          expect(failure).toMatchObject({ device: 0, message: expect.stringContaining(`rendezvous: rank ${r} could not reach rank 0 at 127.0.0.1:${port} within 1500 ms`) });
        } else if (r !== 0 && failure.device === 0 && victim !== 0) {
          // it connected in the instant rank 0 closed its listener, after telling everyone it knew
          expect(failure).toEqual({ code: "PEER_LOST", device: 0, message: "rendezvous: rank 0 closed the connection during the join" });
        } else {
          expect(failure).toMatchObject({ code: "PEER_LOST", device: victim });
        }
      }
    }
  });

  for (const [scenario, victim] of [["kill", 2], ["kill", 0], ["silent", 1]] as const) {
    test(`rank ${victim} ${scenario === "kill" ? "killed" : "silent (no heartbeats)"} after the join: every other rank PEER_LOST naming it within 0.5 s`, async () => {
      const port = await freePort();
      const { outs } = await job(scenario, 4, (r) => plainEnv(r, 4, port, { RV_VICTIM: String(victim) }));
      const died = pick(outs, "dying").get(victim).at as number;
      for (const r of [0, 1, 2, 3].filter((r) => r !== victim)) {
        const lost = pick(outs, "lost").get(r);
        expect(lost).toMatchObject({ code: "PEER_LOST", device: victim });
        expect(lost.message).toStartWith(`rendezvous: rank ${victim} lost: `);
        expect(lost.at - died).toBeLessThan(500);
      }
      // every rank reports rank 0's verdict, the same message
      expect(new Set([...pick(outs, "lost").values()].map((l) => l.message)).size).toBe(1);
    });
  }

  test("a rank dying at an agreement: PEER_LOST naming it from that agreement on, on every other rank", async () => {
    const port = await freePort();
    const { outs } = await job("die-at-agree", 4, (r) => plainEnv(r, 4, port, { RV_VICTIM: "3" }));
    for (const r of [0, 1, 2]) {
      expect(pick(outs, "agree").get(r)).toMatchObject({ code: "PEER_LOST", device: 3 });
      expect(pick(outs, "after").get(r)).toEqual(pick(outs, "agree").get(r));
    }
    expect(pick(outs, "agree").has(3)).toBe(false);
  });

  for (const victim of [2, 0]) {
    test(`rank ${victim} leaving early: no loss for check(); the next agreement PEER_LOST "rank ${victim} left" on every other rank`, async () => {
      const port = await freePort();
      const { outs } = await job("leave-early", 3, (r) => plainEnv(r, 3, port, { RV_VICTIM: String(victim) }));
      for (const r of [0, 1, 2].filter((r) => r !== victim)) {
        expect(pick(outs, "check").get(r)).toEqual({ ok: null });
        expect(pick(outs, "agree").get(r)).toEqual({ code: "PEER_LOST", device: victim, message: `rendezvous: rank ${victim} left before agreement 1` });
      }
    });
  }

  test("a rank late to an agreement: TIMEOUT naming it on every rank, itself included", async () => {
    const port = await freePort();
    const { outs } = await job("late-agree", 3, (r) => plainEnv(r, 3, port, { RV_VICTIM: "1", RV_TIMEOUT_MS: "800" }));
    for (const r of [0, 1, 2]) expect(pick(outs, "agree").get(r)).toEqual({ code: "TIMEOUT", device: 1, message: "rendezvous: rank 1 did not arrive at agreement 1 within 800 ms" });
  });
});

describe("bad input", () => {
  const base = { address: "127.0.0.1:1", token: "t", rank: 0, size: 1 };
  test("refused before anything is opened, naming the problem", () => {
    expectError(() => Rendezvous.join({ ...base, address: "nohost" }), "INVALID_ARGUMENT", 'the address must be host:port with a port 1..65535, got "nohost"');
    expectError(() => Rendezvous.join({ ...base, address: "h:70000" }), "INVALID_ARGUMENT", "the address must be host:port");
    expectError(() => Rendezvous.join({ ...base, address: "::1:80" }), "INVALID_ARGUMENT", "the address must be host:port");
    expectError(() => Rendezvous.join({ ...base, token: "" }), "INVALID_ARGUMENT", "the token must be 1 to 64 bytes");
    expectError(() => Rendezvous.join({ ...base, token: "x".repeat(65) }), "INVALID_ARGUMENT", "the token must be 1 to 64 bytes");
    expectError(() => Rendezvous.join({ ...base, rank: 1 }), "INVALID_ARGUMENT", "rank 1 is not a rank of size 1");
    expectError(() => Rendezvous.join({ ...base, blob: new Uint8Array(257) }), "INVALID_ARGUMENT", "blob_bytes must be 0..256");
    expectError(() => Rendezvous.fromEnvironment(null, { BUNMG_RANK: "0", BUNMG_WORLD_SIZE: "2" }), "INVALID_ARGUMENT", "no rendezvous address: set BUNMG_RENDEZVOUS=host:port");
    expectError(() => Rendezvous.fromEnvironment(null, { BUNMG_RANK: "0", BUNMG_WORLD_SIZE: "2", BUNMG_RENDEZVOUS: "h:1" }), "INVALID_ARGUMENT", "no job token: set BUNMG_JOB_TOKEN");
  });

  test("a world of one joins alone; its collectives are local; use after dispose is DISPOSED", () => {
    const rv = Rendezvous.join({ ...base, blob: new Uint8Array([1, 2, 3]) });
    expect([rv.rank, rv.size, rv.refused]).toEqual([0, 1, 0]);
    expect([...rv.blob()]).toEqual([1, 2, 3]);
    expect(rv.agree("SINGULAR")).toEqual({ rank: 0, status: "SINGULAR" });
    expectError(() => rv.agree("NOPE" as "OK"), "INVALID_ARGUMENT", 'mine must be a status name, got "NOPE"');
    rv.dispose();
    rv.dispose();
    expectError(() => rv.check(), "DISPOSED", "this Rendezvous was disposed");
  });
});
