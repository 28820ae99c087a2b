// The soak of test/soak.ts on CUDA meshes: 200 consecutive mixed solves on [0], [0, 0] and, with
// two GPUs, [0, 1]; every dtype, N from 1 to 1500, random tiles and strategies, every result
// checked. Between rounds a mesh may hold no more than the solver workspaces it caches (grow-only)
// need, and rounds run again must not make it hold more. Once the soak's meshes are disposed,
// each GPU's free memory, the open file descriptors and /dev/shm must be back at their baselines,
// taken after a warm-up that makes the allocations CUDA and cuSOLVER make once per process.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { cholesky, estimateMemory, Mesh, potri, potrs, ShardedMatrix, syevd } from "../../lib/index.ts";
import { ALL_DTYPES, heldBytes, randInt, randomArray } from "../helpers.ts";
import { describeRounds, planSoak, runRounds, runSoak, SOAK_ROUTINES, tileFor, type SoakResult, type SoakRound } from "../soak.ts";
import { longTimeouts } from "../timeout.ts";
import { gpus, gpuSuite } from "./gpus.ts";

longTimeouts();

const MiB = 2 ** 20;
/** A GPU's free memory may differ from its baseline by this much (the driver's page granularity,
 * a kernel loaded on first use that the warm-up did not reach). Measured on an H100 ([0] and
 * [0, 0]): 0.0 MiB; 4.0 MiB with a warm-up of direct calls only, without its small soak. */
const FREE_TOLERANCE = 8 * MiB;
/** Held beyond the workspaces: cuSOLVERMg's stubs and cuSOLVERDn's scratch (256 bytes a position). */
const HELD_SLACK = 64 * 1024;
/** N of a round, drawn from this list: small and odd N five times each, a few hundred twice, 777,
 * 1000 and 1500 once (1 round in 63 each). The float64 references cost O(N^3) in JS: a round of
 * N = 1500 takes about 25 s on the H100 machine's CPU, one of N <= 300 well under a second; the
 * whole soak (seed 1: 11 rounds of N >= 777) about 2.5 minutes there. */
const SIZES = [
  ...[1, 2, 3, 5, 8, 17, 37, 64, 100, 129].flatMap((n) => [n, n, n, n, n]),
  ...[200, 257, 300, 400, 513].flatMap((n) => [n, n]),
  ...[777, 1000, 1500],
];
/** Any tile up to N + 2 for small N; for larger N a few widths (tile 1 over N = 1500 would make
 * cuSOLVERMg crawl), none above syevd's 1024. */
const WIDE_TILES = [32, 64, 100, 128, 256, 512, 1024];
const tile = (r: () => number, n: number) => (n <= 64 ? randInt(r, 1, n + 2) : WIDE_TILES[randInt(r, 0, WIDE_TILES.length - 1)]);

const openFds = () => readdirSync("/proc/self/fd").length;
const segments = () => readdirSync("/dev/shm").filter((f) => f.startsWith("bunmg-"));
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** What CUDA and cuSOLVER allocate once per process (library state, kernels loaded on first use)
 * put in place before the baselines: every routine, dtype and path at a small and a large N on
 * the widest mesh, then 60 rounds of a soak of small N (the error and rollback paths, odd tiles)
 * on meshes like the soak's. */
function warmUp(meshIds: number[][]): void {
  using mesh = Mesh.cuda(meshIds.at(-1)!);
  for (const dtype of ALL_DTYPES)
    for (const strategy of ["multi", "single"] as const)
      for (const n of [5, 300, 1500]) {
        const fresh = () => ShardedMatrix.random(mesh, { rows: n, cols: n, dtype }, { seed: n });
        const B = randomArray(dtype, 3 * n, n);
        using A = fresh();
        potrs(A, B, { strategy });
        using C = fresh();
        const factor = cholesky(C, { strategy });
        factor.solve(B);
        factor.logDet();
        factor.inverse();
        using D = fresh();
        potri(D, { strategy });
        using E = fresh();
        syevd(E, { strategy, vectors: false });
        syevd(E, { strategy, rows: true });
      }
  using stack = new DisposableStack();
  const meshes = meshIds.map((ids) => stack.use(Mesh.cuda(ids)));
  runSoak({ meshes, rounds: 60, seed: 2, sizes: SIZES.filter((n) => n <= 100), tile });
}

/** Per position: the most that the workspaces of the rounds so far may hold, for either path:
 * cuSOLVERMg's on every position, cuSOLVERDn's on position 0. */
class WorkspaceBound {
  #multi = 0;
  #single = 0;

  add(round: SoakRound): void {
    const { mesh, dtype, cs } = round;
    for (const routine of SOAK_ROUTINES[round.kind])
      for (const nrhs of routine === "potrs" ? [1, 2, 3] : [1]) {
        this.#multi = Math.max(this.#multi, estimateMemory(routine, cs.n, dtype, mesh, { tileSize: tileFor(round, routine), nrhs }).workspace);
        const single = estimateMemory(routine, cs.n, dtype, mesh, { strategy: "single", nrhs });
        this.#single = Math.max(this.#single, single.workspace + single.matrix); // the kept dense buffer too
      }
  }

  at(position: number): number {
    return this.#multi + (position === 0 ? this.#single : 0) + HELD_SLACK;
  }
}

/** The soak on a mesh for each of `meshIds`, disposed afterwards. Returns the soak's counts and
 * what the position that came closest to its workspace bound held after a round, and its bound. */
function soakOn(meshIds: number[][]): { soak: SoakResult; peak: { held: number; bound: number } } {
  using stack = new DisposableStack();
  const meshes = meshIds.map((ids) => stack.use(Mesh.cuda(ids)));
  const bounds = new Map(meshes.map((m) => [m, new WorkspaceBound()]));
  const peak = { held: 0, bound: 0 }; // the position that came closest to its bound
  const rounds = planSoak({ meshes, rounds: 200, seed: 1, sizes: SIZES, tile });
  const soak = runRounds(rounds, (round) => {
    bounds.get(round.mesh)!.add(round);
    for (const m of meshes)
      heldBytes(m).forEach((bytes, d) => {
        const bound = bounds.get(m)!.at(d);
        if (bytes / bound > peak.held / (peak.bound || 1)) Object.assign(peak, { held: bytes, bound });
        expect(bytes, `round ${round.index} (${round.kind} N=${round.cs.n}): ${m} position ${d} holds ${bytes} bytes, more than its workspaces need (${bound})`).toBeLessThanOrEqual(bound);
      });
  });
  // The workspaces are now as large as any of these rounds needs: running rounds again must not
  // make any mesh hold more (a leak of even one small matrix would).
  const before = meshes.map(heldBytes);
  const again = runRounds(rounds.filter((r) => r.cs.n <= 300).slice(0, 40));
  expect(meshes.map(heldBytes)).toEqual(before);
  console.log(`GPU soak: ${again.rounds.length} rounds run again (${describeRounds(again.counts)}): held unchanged`);
  return { soak, peak };
}

const hasGpu = gpuSuite("GPU soak");

if (hasGpu) describe("GPU soak", () => {
  test(`200 mixed solves on CUDA meshes: results checked; held memory bounded; free memory, file descriptors and /dev/shm back at their baselines`, () => {
    const gpuIds = gpus >= 2 ? [0, 1] : [0];
    const meshIds = gpus >= 2 ? [[0], [0, 0], [0, 1]] : [[0], [0, 0]];
    using probe = Mesh.cuda(gpuIds); // measures free memory; lives through the soak
    const free = () => gpuIds.map((_, d) => probe.memory(d).free);
    const warming = performance.now();
    warmUp(meshIds);
    const warmS = (performance.now() - warming) / 1000;
    const baseline = { free: free(), fds: openFds(), segments: segments() };

    const started = performance.now();
    const { soak, peak } = soakOn(meshIds);
    const after = { free: free(), fds: openFds(), segments: segments() };
    const leaked = baseline.free.map((bytes, d) => bytes - after.free[d]);
    console.log(
      `GPU soak: ${soak.rounds.length} rounds (${describeRounds(soak.counts)}) on ${meshIds.map((ids) => `cuda [${ids.join(", ")}]`).join(", ")}, N ${SIZES[0]}..${SIZES.at(-1)} (${soak.rounds.filter((r) => r.cs.n >= 777).length} rounds of N >= 777), ` +
        `${soak.calls} solver calls, ${soak.faults} copy faults injected, ${((performance.now() - started) / 1000).toFixed(0)} s (warm-up ${warmS.toFixed(0)} s); ` +
        `held at most ${mib(peak.held)} of a workspace bound of ${mib(peak.bound)}; free memory after minus before: ${leaked.map((b, d) => `GPU ${gpuIds[d]} ${mib(-b)}`).join(", ")}; ` +
        `open fds ${baseline.fds} -> ${after.fds}`,
    );
    expect(soak.calls).toBeGreaterThanOrEqual(200);
    for (const bytes of leaked) expect(bytes).toBeLessThanOrEqual(FREE_TOLERANCE);
    expect(after.fds).toBeLessThanOrEqual(baseline.fds);
    expect(after.segments.filter((s) => !baseline.segments.includes(s))).toEqual([]);
  }, 30 * 60_000);
});
