// Groups on CUDA: SPMD Workers (pointers shared in one process) and MPMD processes (CUDA IPC), on
// [0, 1] with two GPUs or [0, 0] with one, against single-process mode on the same devices.
// Skipped without a GPU.
import { describe, expect, test } from "bun:test";
import { cudaDeviceCount, Mesh, runSpmd, startLaunch } from "../../lib/index.ts";
import type { RankResult, RankSpec } from "../fixtures/group-rank.ts";
import { expectSameAsSingleProcess, FIXTURE, segmentsOf } from "../group-checks.ts";
import { longTimeouts } from "../timeout.ts";

longTimeouts();

const gpus = cudaDeviceCount();
const ids = gpus >= 2 ? [0, 1] : [0, 0];
const spec: RankSpec = { n: 700, dtype: "float64", tile: 64, seed: 11, ops: ["potrs", "potri", "syevd", "eigenvalues", "fill-potrs", "npd"], timeoutMs: 30_000 };
const compare = { mesh: () => Mesh.cuda(ids), tolerance: 1e-9 };

describe.skipIf(gpus === 0)(`groups on CUDA ${JSON.stringify(ids)}`, () => {
  test("SPMD: a Worker per GPU equals single-process mode", async () => {
    const results = await runSpmd<RankResult>({ module: FIXTURE, backend: "cuda", devices: ids, data: spec, timeoutMs: 30_000 });
    expectSameAsSingleProcess(spec, results, compare);
  });

  test("MPMD: a process per GPU (CUDA IPC) equals single-process mode; a killed rank fails the others", async () => {
    for (const die of [undefined, { rank: 1, step: "before:potri", how: "kill" } as const]) {
      const results: RankResult[] = [];
      const errors: { code: string; device: number }[] = [];
      const job = startLaunch({
        script: FIXTURE,
        devices: ids,
        backend: "cuda",
        timeoutMs: 30_000,
        env: { BUNMG_TEST_SPEC: JSON.stringify({ ...spec, die }) },
        onLine: (rank, _, line) => {
          if (line.startsWith("RESULT ")) results[rank] = JSON.parse(line.slice(7));
          else if (line.startsWith("ERROR ")) errors[rank] = JSON.parse(line.slice(6));
          else if (!line.startsWith("STEP ")) console.log(`[rank ${rank}] ${line}`);
        },
      });
      const done = await job.finished;
      expect(segmentsOf(job.job)).toEqual([]);
      if (die === undefined) {
        expect(done.exitCode).toBe(0);
        expectSameAsSingleProcess(spec, results, compare);
      } else {
        expect(errors[0]).toMatchObject({ code: "PEER_LOST", device: 1 });
      }
    }
  });
});
