// Two solve jobs, each in a process of its own, on the same GPUs at once (test/jobs.ts; the host
// version is test/jobs.test.ts): both must succeed, each checking its own residuals.
import { describe, test } from "bun:test";
import { expectAllSucceededTogether, runJobsAtOnce } from "../jobs.ts";
import { longTimeouts } from "../timeout.ts";
import { gpuSuite, pairMeshes } from "./gpus.ts";

longTimeouts();

const hasGpu = gpuSuite("GPU jobs");

if (hasGpu) describe("two solve jobs in two processes on the same GPUs at once", () => {
  test.each(pairMeshes())("%s in both: potrs, syevd and potri, N 2000 and 1500, every dtype", async (_, ids) => {
    const outcomes = await runJobsAtOnce([
      { backend: "cuda", devices: ids, n: 2000, dtypes: ["float64", "complex64"], seed: 1, strategy: "multi", tileSize: 256 },
      { backend: "cuda", devices: ids, n: 1500, dtypes: ["float32", "complex128"], seed: 2 }, // auto: one GPU
    ]);
    expectAllSucceededTogether(outcomes);
  });
});
