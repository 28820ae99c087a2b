// The README works as written: its snippets labelled with an examples/ file are those files, and
// the examples run as users run them, on the host backend (or on the GPUs when there are some).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const root = join(import.meta.dir, "..");

function run(command: string[]): string {
  const proc = Bun.spawnSync(command, { cwd: root, env: process.env });
  const out = proc.stdout.toString() + proc.stderr.toString();
  if (proc.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${proc.exitCode}: ${out}`);
  return out;
}

const runExample = (name: string, args: string[]) => run([process.execPath, join(root, "examples", name), ...args]);
const residuals = (out: string) => [...out.matchAll(/residual (\S+)/g)].map((m) => Number(m[1]));

describe("README", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

  test("a snippet that starts with an examples/ file's name is that file", () => {
    const labelled = blocks.filter((b) => /^\/\/ examples\/[\w-]+\.ts/.test(b));
    expect(labelled.map((b) => /^\/\/ (examples\/[\w-]+\.ts)/.exec(b)![1])).toContain("examples/solve.ts");
    for (const block of labelled) {
      const file = /^\/\/ (examples\/[\w-]+\.ts)/.exec(block)![1]!;
      expect(block, `the README's ${file}`).toBe(readFileSync(join(root, file), "utf8"));
    }
  });

  test("every `bunx bunmg` command it shows exists", () => {
    const commands = new Set([...readme.matchAll(/bunx bunmg (\w+)/g)].map((m) => m[1]));
    const help = run([process.execPath, join(root, "scripts", "cli.ts"), "--help"]);
    for (const c of commands) expect(help, `bunmg ${c}`).toMatch(new RegExp(`^  ${c} `, "m"));
  });
});

describe("examples", () => {
  for (const [name, dtype, tolerance] of [
    ["solve.ts", "float64", 1e-13],
    ["solve.ts", "complex64", 1e-5],
    ["inverse.ts", "complex128", 1e-12],
    ["eigh.ts", "float32", 1e-5],
  ] as const) {
    test(`${name} --dtype ${dtype} prints a small residual`, () => {
      const out = runExample(name, ["--n", "67", "--dtype", dtype, "--backend", "host", "--tile", "8"]);
      expect(residuals(out)[0]).toBeLessThan(tolerance);
    });
  }

  test("solve.ts with several right-hand sides, on the mesh Mesh.auto() picks", () => {
    const out = runExample("solve.ts", ["--n", "50", "--nrhs", "3"]);
    expect(out).toContain("nrhs=3");
    expect(residuals(out)[0]).toBeLessThan(1e-13);
  });

  test("mpmd.ts started directly: one rank per GPU, or two host ranks without one", () => {
    const out = runExample("mpmd.ts", ["--n", "64"]);
    const r = residuals(out);
    expect(r.length).toBeGreaterThanOrEqual(2);
    for (const v of r) expect(v).toBeLessThan(1e-13);
  });

  test("the README's MPMD command, smaller: bunx bunmg launch --devices 0,1 examples/mpmd.ts", () => {
    const out = run(["bunx", "bunmg", "launch", "--devices", "0,1", "--backend", "host", "examples/mpmd.ts", "--n", "64"]);
    expect(out).toContain("[rank 1]");
    for (const v of residuals(out)) expect(v).toBeLessThan(1e-13);
  });
});
