// Two solve jobs, each in a process of its own, on the host backend at once (test/jobs.ts; the
// GPU version is test/gpu/jobs.test.ts): both must succeed with correct results.
import { describe, test } from "bun:test";
import { expectAllSucceededTogether, runJobsAtOnce } from "./jobs.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

describe("two solve jobs in two processes at once (host backend)", () => {
  test("potrs, syevd and potri of every dtype, each job checking its residuals", async () => {
    const outcomes = await runJobsAtOnce([
      { backend: "host", devices: [0, 1], n: 200, dtypes: ["float64", "complex64"], seed: 1, tileSize: 16 },
      { backend: "host", devices: [0, 1, 2], n: 171, dtypes: ["float32", "complex128"], seed: 2, strategy: "single" },
    ]);
    expectAllSucceededTogether(outcomes);
  });
});
