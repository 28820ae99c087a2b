// Several solve jobs (test/fixtures/solve-job.ts), each in a process of its own, on the same
// devices at once: started together, let go together once every one has its mesh, and checked
// to have all succeeded while solving at the same time.
import { expect } from "bun:test";
import { join } from "node:path";
import { JOB_OPS, type SolveJobSpec } from "./fixtures/solve-job.ts";

const FIXTURE = join(import.meta.dir, "fixtures", "solve-job.ts");

export interface JobOutcome {
  spec: SolveJobSpec;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs every job at once; resolves when all have exited. */
export async function runJobsAtOnce(specs: SolveJobSpec[]): Promise<JobOutcome[]> {
  const jobs = specs.map((spec) => {
    let ready = () => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const proc = Bun.spawn([process.execPath, FIXTURE, JSON.stringify(spec)], {
      stdout: "pipe",
      stderr: "pipe",
      ipc: (message) => message === "ready" && ready(),
    });
    return { spec, proc, isReady, stdout: new Response(proc.stdout).text(), stderr: new Response(proc.stderr).text() };
  });
  // a job that fails before it is ready exits; the others still go
  await Promise.all(jobs.map((j) => Promise.race([j.isReady, j.proc.exited])));
  for (const j of jobs) if (j.proc.exitCode === null) j.proc.send("go");
  return Promise.all(jobs.map(async (j) => ({ spec: j.spec, exitCode: await j.proc.exited, stdout: await j.stdout, stderr: await j.stderr })));
}

const stamp = (stdout: string, what: "START" | "END") => Number(new RegExp(`^${what} (\\d+)$`, "m").exec(stdout)?.[1]);

/** Every job exited 0 after checking each op of each dtype, and they were all solving at once:
 * each started before any finished. Prints each job's lines. */
export function expectAllSucceededTogether(outcomes: JobOutcome[]): void {
  for (const [i, o] of outcomes.entries()) {
    console.log(`job ${i} (${o.spec.backend} ${JSON.stringify(o.spec.devices)}, N=${o.spec.n}):\n  ${o.stdout.trim().split("\n").join("\n  ")}`);
    expect({ job: i, exitCode: o.exitCode, stderr: o.stderr }).toMatchObject({ job: i, exitCode: 0 }); // stderr shows when it fails
    const done = o.stdout.split("\n").filter((line) => line.startsWith("OK "));
    expect(done.map((line) => line.split(" ").slice(1, 3).join(" "))).toEqual(o.spec.dtypes.flatMap((dtype) => JOB_OPS.map((op) => `${op} ${dtype}`)));
  }
  const starts = outcomes.map((o) => stamp(o.stdout, "START"));
  const ends = outcomes.map((o) => stamp(o.stdout, "END"));
  expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
}
