// Job identity, host backend, real processes and Workers. Each launch carries a secret: a rank of
// another launch of the same job id never joins its group (it waits for the id to be free, then
// times out naming both launches by fingerprint), two launches of one id both succeed with their
// own results, and a crashed job's meeting is never joined by its relaunch.
import { describe, expect, test } from "bun:test";
import { newJobId, runSpmd } from "../lib/index.ts";
import type { RankResult, RankSpec } from "./fixtures/group-rank.ts";
import { expectSameAsSingleProcess, FIXTURE, launchJob, segmentsOf } from "./group-checks.ts";
import { expectAllSucceeded, newLaunch, probe, relaunchAfterKilledRank0, startHolder } from "./group-launches.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

/** The fingerprints a message names: "launch 1a2b3c4d". */
const fingerprints = (message = "") => [...message.matchAll(/launch ([0-9a-f]{8})/g)].map((m) => m[1]);

const spec = (n: number, seed: number, dtype: RankSpec["dtype"] = "float64"): RankSpec => ({ n, dtype, tile: 4, seed, ops: ["potrs", "syevd", "fill-potrs"] });

describe("job identity (host backend)", () => {
  test("a rank of another launch never joins: it times out naming both launches; the group it found is unharmed", async () => {
    const job = newJobId();
    const holder = await startHolder({ op: "join", job, secret: "secret-of-a", size: 2, timeoutMs: 30_000 });
    // a rank 1 of another launch, and of another size: no join, no abort of the holder's group
    const intruder = await probe({ op: "join", job, secret: "secret-of-b", rank: 1, size: 3, timeoutMs: 500 });
    expect(intruder.error).toMatchObject({ code: "TIMEOUT", device: 0 });
    expect(intruder.error?.message).toContain(`rank 0 did not open job ${job} within 500 ms; /bunmg-${job} holds the meeting of another launch (launch `);
    expect(intruder.error?.message).toContain(`rank 0 = process ${holder.pid}), not of this rank's (launch `);
    const [theirs, mine] = fingerprints(intruder.error?.message);
    expect(theirs).not.toBe(mine);
    expect(intruder.error?.message).not.toContain("secret-of");
    // a rank 0 of the other launch waits for the job id to be free, then says who holds it
    const rival = await probe({ op: "join", job, secret: "secret-of-b", rank: 0, size: 2, timeoutMs: 500 });
    expect(rival.error?.code).toBe("TIMEOUT");
    expect(rival.error?.message).toContain(`job id ${job} stayed held by another launch (launch ${theirs}, rank 0 = process ${holder.pid}) for 500 ms; this rank 0 is of launch ${mine}`);
    // a second rank 0 of the holder's own launch: at once, not after its timeout
    const twice = await probe({ op: "join", job, secret: "secret-of-a", rank: 0, size: 2, timeoutMs: 60_000 });
    expect(twice.error).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(twice.error?.message).toContain(`/bunmg-${job} already exists and its owner is alive (process ${holder.pid}, launch ${theirs})`);
    // the holder's own rank 1 joins it
    expect((await probe({ op: "join", job, secret: "secret-of-a", rank: 1, size: 2, timeoutMs: 5000 })).line).toBe("JOINED");
    expect((await holder.finished).line).toBe("JOINED");
    expect(segmentsOf(job)).toEqual([]);
  });

  test("a launch waits while another launch of its job id forms its group, then forms its own", async () => {
    const job = newJobId();
    const a = await startHolder({ op: "join", job, secret: "first", size: 2, timeoutMs: 30_000 });
    const b = [0, 1].map((rank) => probe({ op: "join", job, secret: "second", rank, size: 2, timeoutMs: 20_000 }));
    let bEnded = false;
    Promise.all(b).then(() => (bEnded = true));
    await Bun.sleep(500);
    expect(bEnded).toBe(false); // both wait: rank 0 for the job id, rank 1 for its own launch's meeting
    expect((await probe({ op: "join", job, secret: "first", rank: 1, size: 2, timeoutMs: 5000 })).line).toBe("JOINED");
    expect((await a.finished).line).toBe("JOINED");
    expect((await Promise.all(b)).map((o) => o.line)).toEqual(["JOINED", "JOINED"]);
    expect(segmentsOf(job)).toEqual([]);
  });

  /** Runs `start` for job J while a holder of another launch keeps J's id for a moment, so that
   * the launches started all wait for it and then race for it at once. */
  async function raceForHeldId<T>(start: (job: string) => Promise<T>[]): Promise<T[]> {
    const job = `raced-${newJobId()}`;
    const holder = await startHolder({ op: "join", job, secret: "holder", size: 2, timeoutMs: 30_000 });
    const runs = start(job);
    await Bun.sleep(500);
    expect((await probe({ op: "join", job, secret: "holder", rank: 1, size: 2, timeoutMs: 5000 })).line).toBe("JOINED");
    expect((await holder.finished).line).toBe("JOINED");
    const results = await Promise.all(runs);
    expect(segmentsOf(job)).toEqual([]);
    return results;
  }

  test("two launches with one job id, racing for it: each gets its own results", async () => {
    const a = spec(23, 1);
    const b = spec(17, 2, "complex128");
    const [ja, jb] = await raceForHeldId((job) => [launchJob(a, 3, { job, timeoutMs: 10_000 }), launchJob(b, 2, { job, timeoutMs: 10_000 })]);
    for (const j of [ja, jb]) expect({ exitCode: j.exitCode, other: j.other }).toEqual({ exitCode: 0, other: [] });
    expectSameAsSingleProcess(a, ja.outputs.map((o) => o.result));
    expectSameAsSingleProcess(b, jb.outputs.map((o) => o.result));
  });

  test("two runSpmd runs with one job id, racing for it: each gets its own results", async () => {
    const specs = [spec(19, 3), spec(26, 4, "float32")];
    const results = await raceForHeldId((job) => specs.map((s, i) => runSpmd<RankResult>({ module: FIXTURE, backend: "host", devices: 2 + i, data: s, timeoutMs: 10_000, job })));
    specs.forEach((s, i) => expectSameAsSingleProcess(s, results[i]));
  });

  test("two launches with one job id started together: each gets its own results", async () => {
    const job = `twice-${newJobId()}`;
    const a = spec(15, 6);
    const b = spec(15, 7);
    const [ja, jb] = await Promise.all([launchJob(a, 2, { job }), launchJob(b, 2, { job })]);
    for (const j of [ja, jb]) expect({ exitCode: j.exitCode, other: j.other }).toEqual({ exitCode: 0, other: [] });
    expectSameAsSingleProcess(a, ja.outputs.map((o) => o.result));
    expectSameAsSingleProcess(b, jb.outputs.map((o) => o.result));
    expect(segmentsOf(job)).toEqual([]);
  });

  test("a killed rank 0's meeting is never joined: the job relaunched with rank 0 last succeeds", async () => {
    const s = spec(21, 8);
    const launch = newLaunch(3);
    expectSameAsSingleProcess(s, expectAllSucceeded(await relaunchAfterKilledRank0(s, launch)));
    expect(segmentsOf(launch.job)).toEqual([]);
  });
});
