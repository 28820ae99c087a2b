// What the GPU test files share: the visible CUDA devices, and what a file does without one. It
// registers no tests but one in their place, so a run without a GPU reports one line per file:
// a skipped test saying why, or a failing one when BUNMG_GPU_TESTS_REQUIRED=1 (set on the GPU
// machine so that a broken driver or a CPU-only build cannot pass silently).
import { test } from "bun:test";
import { probeCuda } from "../../lib/doctor.ts";
import { cudaDeviceCount } from "../../lib/index.ts";

export const gpus = cudaDeviceCount();

/** Whether `suite` can run: true with a GPU. Without one it registers the single test that
 * stands for the suite, and the file registers nothing else (`if (gpuSuite(...)) describe(...)`). */
export function gpuSuite(suite: string): boolean {
  if (gpus > 0) return true;
  const why = probeCuda().cudaError ?? "no CUDA device";
  if (process.env.BUNMG_GPU_TESTS_REQUIRED === "1") {
    test(`${suite}: a CUDA device is required (BUNMG_GPU_TESTS_REQUIRED=1)`, () => {
      throw new Error(`BUNMG_GPU_TESTS_REQUIRED=1 but there is no CUDA device: ${why}`);
    });
  } else {
    test.skip(`${suite}: skipped, no CUDA device (${why})`, () => {});
  }
  return false;
}

const named = (ids: number[]): [string, number[]] => [`cuda [${ids.join(", ")}]`, ids];

/** The two-position meshes of the GPU suite, as [name, device ids]: [0, 0] (two logical devices
 * on one GPU) always, [0, 1] with two GPUs. */
export function pairMeshes(): [string, number[]][] {
  return (gpus >= 2 ? [[0, 0], [0, 1]] : [[0, 0]]).map(named);
}

/** The meshes of the full GPU suite: one GPU alone (auto's single path), the pairs, and every
 * GPU when there are more than two. */
export function suiteMeshes(): [string, number[]][] {
  const every = Array.from({ length: gpus }, (_, i) => i);
  return [named([0]), ...pairMeshes(), ...(gpus > 2 ? [named(every)] : [])];
}

/** Wider meshes of repeated ids, so that the paths of an odd number of positions and of eight
 * (positions that hold no tile, a 4- or 8-GPU machine's width) run on any GPU machine. */
export function wideMeshes(): [string, number[]][] {
  return [[0, 0, 0], Array(8).fill(0)].map(named);
}
