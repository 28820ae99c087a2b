// The README's main job and the other examples run as users run them, on the host backend.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const root = join(import.meta.dir, "..");

function runExample(name: string, args: string[]): string {
  const proc = Bun.spawnSync(["bun", join(root, "examples", name), ...args], { cwd: root, env: process.env });
  const out = proc.stdout.toString() + proc.stderr.toString();
  if (proc.exitCode !== 0) throw new Error(`${name} exited ${proc.exitCode}: ${out}`);
  return out;
}

describe("examples", () => {
  for (const [name, dtype, tolerance] of [
    ["solve.ts", "float64", 1e-13],
    ["solve.ts", "complex64", 1e-5],
    ["inverse.ts", "complex128", 1e-12],
    ["eigh.ts", "float32", 1e-5],
  ] as const) {
    test(`${name} --dtype ${dtype} prints a small residual`, () => {
      const out = runExample(name, ["--n", "67", "--dtype", dtype, "--backend", "host", "--tile", "8"]);
      const residual = Number(/residual (\S+)/.exec(out)?.[1]);
      expect(residual).toBeLessThan(tolerance);
    });
  }
});
