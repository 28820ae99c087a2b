// Hostile /dev/shm, host backend, real processes: whatever sits under a bunmg name (a FIFO, a link,
// garbage, a truncated or foreign-mode copy of a segment, a dead owner's meeting, another user's
// entry) must not hang a join or a sweep and is never joined: this user's is removed, anything
// bunmg may not remove is named in an error at once. Calls that could hang run in probe
// processes, killed after a limit (a hang fails the test instead of the suite).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, closeSync, constants, existsSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { newJobId, sweepSharedMemory } from "../lib/index.ts";
import type { RankSpec } from "./fixtures/group-rank.ts";
import { expectSameAsSingleProcess, segmentsOf } from "./group-checks.ts";
import { expectAllSucceeded, launchRank0Last, newLaunch, probe, startHolder, type Holder } from "./group-launches.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const SHM = "/dev/shm";
const root = process.getuid?.() === 0;
const NOBODY = 65534;
const SPEC: RankSpec = { n: 12, dtype: "float64", tile: 4, seed: 4, ops: ["potrs"] };
const entry = (job: string) => `${SHM}/bunmg-${job}`;

/** Things left to undo after each test: FIFOs to release, private paths to remove. */
const cleanups: (() => void)[] = [];

/** A FIFO at path. It is made under a private name first and linked: whoever blocks opening it
 * (an older libbunmg's sweep in another process) is woken by a writer through the private name
 * when the test ends, even after the bunmg name is gone. */
function plantFifo(path: string): void {
  const own = `${SHM}/fifo-${newJobId()}`;
  const made = Bun.spawnSync(["mkfifo", "-m", "600", own]);
  if (made.exitCode !== 0) throw new Error(`mkfifo: ${made.stderr}`);
  cleanups.push(() => {
    try {
      closeSync(openSync(own, constants.O_WRONLY | constants.O_NONBLOCK)); // ENXIO when nobody reads
    } catch {}
    rmSync(own, { force: true });
  });
  linkSync(own, path);
}

function plantFile(path: string, data: Uint8Array, mode = 0o600): void {
  writeFileSync(path, data);
  chmodSync(path, mode);
}

let held: { job: string; holder: Holder; bytes: Buffer };

beforeAll(async () => {
  // a live meeting (no secret, owner alive) to copy heads from and to link to
  const job = newJobId();
  const holder = await startHolder({ op: "join", job, size: 2, timeoutMs: 120_000 });
  held = { job, holder, bytes: readFileSync(entry(job)) };
});

afterAll(async () => {
  await held.holder.kill();
  sweepSharedMemory({ job: held.job });
});

/** this user's entries, each removed by a sweep and never joined */
const GARBAGE: [string, (path: string, job: string) => void | Promise<void>][] = [
  ["a FIFO", (p) => plantFifo(p)],
  ["a symbolic link to a FIFO", (p) => {
    const fifo = `${SHM}/target-${newJobId()}`;
    plantFifo(fifo);
    cleanups.push(() => rmSync(fifo, { force: true }));
    symlinkSync(fifo, p);
  }],
  ["a symbolic link to another job's live meeting", (p) => symlinkSync(entry(held.job), p)],
  ["an empty file", (p) => plantFile(p, new Uint8Array(0))],
  ["4 KiB of garbage", (p) => plantFile(p, randomBytes(4096))],
  ["a live meeting's copy with its magic changed", (p) => {
    const bytes = Buffer.from(held.bytes);
    bytes[0] ^= 0xff;
    plantFile(p, bytes);
  }],
  ["a live meeting's head alone (truncated)", (p) => plantFile(p, held.bytes.subarray(0, 64))],
  ["a live meeting's copy of mode 0644", (p) => plantFile(p, held.bytes, 0o644)],
  ["a dead rank 0's meeting", async (_, job) => {
    const dead = await startHolder({ op: "join", job, secret: "crashed", size: 2, timeoutMs: 60_000 });
    await dead.kill();
  }],
];

describe("hostile /dev/shm entries (host backend)", () => {
  afterEach(() => {
    for (const undo of cleanups.splice(0)) undo();
  });

  test.each(GARBAGE)("%s at /dev/shm/bunmg-J: a sweep removes it without blocking; J launched with rank 0 last works", async (_, plant) => {
    const launch = newLaunch(2);
    const path = entry(launch.job);
    await plant(path, launch.job);
    const swept = await probe({ op: "sweep", sweep: { job: launch.job } });
    expect({ hung: swept.hung, line: swept.line }).toEqual({ hung: false, line: "SWEPT 1" });
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
    expect(existsSync(entry(held.job))).toBe(true); // a link's target stays
    await plant(path, launch.job);
    const outcomes = await launchRank0Last(launch, SPEC); // rank 1 meets the entry first
    expectSameAsSingleProcess(SPEC, expectAllSucceeded(outcomes));
    expect(segmentsOf(launch.job)).toEqual([]);
  });

  test("a FIFO at /dev/shm/bunmg-<anything> blocks neither a sweep of every job nor a join of another job", async () => {
    const [a, b] = [newJobId(), newJobId()];
    plantFifo(entry(a));
    const swept = await probe({ op: "sweep" });
    expect(swept.hung).toBe(false);
    expect(swept.line).toMatch(/^SWEPT [1-9]/);
    expect(existsSync(entry(a))).toBe(false);
    plantFifo(entry(b));
    const joined = await probe({ op: "join", job: newJobId(), timeoutMs: 1000 }); // rank 0 sweeps first
    expect({ hung: joined.hung, line: joined.line }).toEqual({ hung: false, line: "JOINED" });
    expect(existsSync(entry(b))).toBe(false);
  });

  test("what bunmg may not remove (a directory; as root: another user's file or FIFO) is named at once by every rank; a sweep leaves it", async () => {
    const plants: [string, (p: string) => void][] = [["a directory", (p) => mkdirSync(p)]];
    if (root) {
      plants.push(["a file of uid 65534", (p) => (plantFile(p, held.bytes), chownSync(p, NOBODY, NOBODY))]);
      plants.push(["a FIFO of uid 65534", (p) => (plantFifo(p), chownSync(p, NOBODY, NOBODY))]);
    } else console.log("not root: the cases of another user's entries are skipped");
    for (const [what, plant] of plants) {
      const job = newJobId();
      plant(entry(job));
      try {
        const swept = await probe({ op: "sweep", sweep: { job } });
        expect({ what, hung: swept.hung, line: swept.line }).toEqual({ what, hung: false, line: "SWEPT 0" });
        for (const rank of [0, 1]) {
          const joined = await probe({ op: "join", job, secret: "s", rank, size: 2, timeoutMs: 60_000 });
          expect({ what, rank, code: joined.error?.code }).toEqual({ what, rank, code: "INVALID_ARGUMENT" });
          expect(joined.error?.message).toContain(`${entry(job)} is ${what}, not a bunmg segment of this user: remove it or use another job id`);
        }
      } finally {
        rmSync(entry(job), { recursive: true, force: true });
      }
    }
  });

  test("segments are regular files of mode 0600 whatever the umask", async () => {
    const job = newJobId();
    const holder = await startHolder({ op: "join", job, size: 2, timeoutMs: 30_000, umask: 0 });
    const st = statSync(entry(job));
    expect({ file: st.isFile(), mode: st.mode & 0o7777, uid: st.uid }).toEqual({ file: true, mode: 0o600, uid: process.getuid!() });
    await holder.kill();
    sweepSharedMemory({ job });
    expect(segmentsOf(job)).toEqual([]);
  });

  test("a segment that cannot be made (a file size limit, as a full /dev/shm would) is OUT_OF_MEMORY, and nothing is left", () => {
    const job = newJobId();
    const script = `import { Group } from ${JSON.stringify(`${import.meta.dir}/../lib/index.ts`)};
const g = Group.join({ mode: "processes", job: ${JSON.stringify(job)}, rank: 0, size: 1, backend: "host" });
try { g.allocShard(1024); console.log("allocated"); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); } finally { g.leave(); }`;
    // 512 KiB of file size for this process: the meeting fits, an 8 MiB shard does not. SIGXFSZ
    // is ignored so that the call fails instead of the process.
    const run = Bun.spawnSync(["bash", "-c", `trap '' XFSZ; ulimit -f 512; exec "$0" -e "$1"`, process.execPath, script]);
    expect(run.exitCode).toBe(0);
    const outcome = JSON.parse(run.stdout.toString().trim());
    expect(outcome.code).toBe("OUT_OF_MEMORY");
    expect(outcome.message).toContain("is /dev/shm full?");
    expect(segmentsOf(job)).toEqual([]);
  });
});
