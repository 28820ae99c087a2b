// scripts/build.ts: where the CUDA toolkit is looked for, that every option reaches CMake on every
// build (none sticks through the CMake cache), and the configure step itself in a scratch build
// folder: after --no-cuda (or --sanitize) a plain build is back to the defaults.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDir, configureCommand, findCudaToolkit, missingTools, type BuildOptions } from "../scripts/build.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const AUTO: BuildOptions = { cuda: "auto", sanitize: false };

function fakeToolkit(): { root: string; [Symbol.dispose](): void } {
  const root = mkdtempSync(join(tmpdir(), "bunmg-toolkit-"));
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "bin", "nvcc"), "#!/bin/sh\n");
  chmodSync(join(root, "bin", "nvcc"), 0o755);
  return { root, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

describe("the CUDA toolkit", () => {
  test("CUDA_HOME first, then CUDA_PATH, nvcc on PATH, /usr/local/cuda", () => {
    using a = fakeToolkit();
    using b = fakeToolkit();
    expect(findCudaToolkit({ CUDA_HOME: a.root, CUDA_PATH: b.root, PATH: "" }).toolkit).toEqual({ root: a.root, nvcc: join(a.root, "bin", "nvcc"), from: "CUDA_HOME" });
    expect(findCudaToolkit({ CUDA_PATH: b.root, PATH: "" }).toolkit?.from).toBe("CUDA_PATH");
    expect(findCudaToolkit({ PATH: join(b.root, "bin") }).toolkit).toEqual({ root: b.root, nvcc: join(b.root, "bin", "nvcc"), from: "nvcc on PATH" });
  });

  test("when none is found, it says what each place held", () => {
    const { toolkit, looked } = findCudaToolkit({ CUDA_HOME: "/no/such/cuda", PATH: "" });
    if (toolkit) expect(toolkit.from).toBe("/usr/local/cuda"); // a machine with a system toolkit
    else expect(looked).toEqual(["CUDA_HOME: no /no/such/cuda/bin/nvcc", "CUDA_PATH: not set", "nvcc on PATH: none", "/usr/local/cuda: no /usr/local/cuda/bin/nvcc"]);
  });

  test("cmake and a C compiler, named when missing", () => {
    expect(missingTools({ PATH: "" })).toEqual(["cmake (>= 3.20)", "a C compiler (cc, gcc or clang)"]);
    expect(missingTools()).toEqual([]); // this machine builds the library
  });
});

describe("options reach CMake on every build", () => {
  const flag = (command: string[], name: string) => command.find((a) => a.startsWith(`-D${name}=`));

  test("CUDA and sanitizers are always passed, on or off", () => {
    expect(flag(configureCommand(AUTO, undefined, {}), "BUNMG_CUDA")).toBe("-DBUNMG_CUDA=ON");
    expect(flag(configureCommand(AUTO, undefined, {}), "BUNMG_SANITIZE")).toBe("-DBUNMG_SANITIZE=OFF");
    expect(flag(configureCommand({ cuda: "off", sanitize: true }, undefined, {}), "BUNMG_CUDA")).toBe("-DBUNMG_CUDA=OFF");
    expect(flag(configureCommand({ cuda: "off", sanitize: true }, undefined, {}), "BUNMG_SANITIZE")).toBe("-DBUNMG_SANITIZE=ON");
    expect(flag(configureCommand({ cuda: "on", sanitize: false }, undefined, {}), "BUNMG_REQUIRE_CUDA")).toBe("-DBUNMG_REQUIRE_CUDA=ON");
    expect(flag(configureCommand(AUTO, undefined, {}), "BUNMG_REQUIRE_CUDA")).toBe("-DBUNMG_REQUIRE_CUDA=OFF");
  });

  test("the toolkit found is given to CMake, and not with --no-cuda", () => {
    using t = fakeToolkit();
    const toolkit = findCudaToolkit({ CUDA_HOME: t.root }).toolkit;
    const command = configureCommand(AUTO, toolkit, { BUNMG_CUDA_ARCHITECTURES: "90" });
    expect(flag(command, "CMAKE_CUDA_COMPILER")).toBe(`-DCMAKE_CUDA_COMPILER=${join(t.root, "bin", "nvcc")}`);
    expect(flag(command, "CUDAToolkit_ROOT")).toBe(`-DCUDAToolkit_ROOT=${t.root}`);
    expect(flag(command, "CMAKE_CUDA_ARCHITECTURES")).toBe("-DCMAKE_CUDA_ARCHITECTURES=90");
    expect(flag(configureCommand({ cuda: "off", sanitize: false }, toolkit, {}), "CMAKE_CUDA_COMPILER")).toBeUndefined();
    expect(configureCommand(AUTO, undefined, {})).toContain(buildDir);
  });

  /** Configures (no build) into a scratch folder; returns CMake's bunmg lines and the cache. */
  function configure(dir: string, options: BuildOptions): { lines: string; cache: string } {
    const { toolkit } = findCudaToolkit();
    // Not under the sanitizer run's LD_PRELOAD (its ASan runtime is for libbunmg, not for nvcc).
    const proc = Bun.spawnSync(configureCommand({ ...options, dir }, toolkit), { env: { ...process.env, LD_PRELOAD: undefined } });
    const out = proc.stdout.toString() + proc.stderr.toString();
    if (proc.exitCode !== 0) throw new Error(out);
    return { lines: out.split("\n").filter((l) => l.startsWith("-- bunmg:")).join("\n"), cache: readFileSync(join(dir, "CMakeCache.txt"), "utf8") };
  }

  test("after --sanitize and --no-cuda, a plain configure is back to the defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunmg-configure-"));
    try {
      const first = configure(dir, { cuda: "off", sanitize: true });
      expect(first.lines).toContain("CUDA backend OFF: disabled (BUNMG_CUDA=OFF)");
      expect(first.cache).toMatch(/^BUNMG_SANITIZE:BOOL=ON$/m);
      const plain = configure(dir, AUTO);
      expect(plain.cache).toMatch(/^BUNMG_SANITIZE:BOOL=OFF$/m);
      expect(plain.cache).toMatch(/^BUNMG_CUDA:BOOL=ON$/m);
      // With a toolkit (CI installs one) the CUDA backend is back on; without, CMake says why not.
      expect(plain.lines).toMatch(findCudaToolkit().toolkit ? /CUDA backend ON: nvcc / : /CUDA backend OFF: no CUDA compiler found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
