// Builds libbunmg with CMake into build/. Used by `bun install` (postinstall), `bun run build`
// and `bunx bunmg build`. Flags: --if-missing (skip when the library exists), --sanitize,
// --no-cuda. BUNMG_CMAKE_ARGS adds arguments to the configure step.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const packageRoot = resolve(import.meta.dir, "..");
export const buildDir = join(packageRoot, "build");
export const libraryPath = join(buildDir, "libbunmg.so");

function run(cmd: string[]): void {
  const proc = Bun.spawnSync(cmd, { cwd: packageRoot, stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) {
    throw new Error(`bunmg build: '${cmd.join(" ")}' failed with exit code ${proc.exitCode}`);
  }
}

export function build(args: string[] = []): void {
  if (args.includes("--if-missing") && existsSync(libraryPath)) return;
  if (!Bun.which("cmake")) {
    throw new Error("bunmg build: cmake is not on PATH (install cmake >= 3.20 and a C compiler)");
  }
  const configure = ["cmake", "-S", packageRoot, "-B", buildDir, "-DCMAKE_BUILD_TYPE=Release"];
  if (args.includes("--sanitize")) configure.push("-DBUNMG_SANITIZE=ON");
  if (args.includes("--no-cuda")) configure.push("-DBUNMG_CUDA=OFF");
  const extra = process.env.BUNMG_CMAKE_ARGS?.trim();
  if (extra) configure.push(...extra.split(/\s+/));
  run(configure);
  run(["cmake", "--build", buildDir, "--parallel"]);
}

if (import.meta.main) {
  try {
    build(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
