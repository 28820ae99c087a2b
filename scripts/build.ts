// `bunmg build` (also `bun run build`): builds libbunmg with CMake into build/. Every choice is
// passed to CMake on every build (CUDA on or off, the toolkit, sanitizers), so a build never
// inherits the previous one's from the CMake cache. scripts/postinstall.ts runs it on install.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseFlags, runCommand, UsageError, type Command } from "./usage.ts";

export const packageRoot = resolve(import.meta.dir, "..");
export const buildDir = join(packageRoot, "build");
export const builtLibrary = join(buildDir, "libbunmg.so");

export interface BuildOptions {
  /** "auto": with CUDA when a toolkit is found; "on": fail without one; "off": host only */
  cuda: "auto" | "on" | "off";
  sanitize: boolean;
  /** default: build/ */
  dir?: string;
  /** one CMake target (e.g. "bunmg": the library without the bench programs); default all */
  target?: string;
}

export interface CudaToolkit {
  /** the toolkit root (bin/nvcc, include/, lib64/) */
  root: string;
  nvcc: string;
  /** how it was found, e.g. "CUDA_HOME" */
  from: string;
}

/** The CUDA toolkit a build uses: $CUDA_HOME, then $CUDA_PATH, then nvcc on PATH, then
 * /usr/local/cuda. `looked` says what each place held. */
export function findCudaToolkit(env: Record<string, string | undefined> = process.env): { toolkit?: CudaToolkit; looked: string[] } {
  const looked: string[] = [];
  const places: [string, string | undefined][] = [
    ["CUDA_HOME", env.CUDA_HOME],
    ["CUDA_PATH", env.CUDA_PATH],
    ["nvcc on PATH", Bun.which("nvcc", { PATH: env.PATH ?? "" }) ?? undefined],
    ["/usr/local/cuda", "/usr/local/cuda"],
  ];
  for (const [from, place] of places) {
    if (!place) {
      looked.push(`${from}: ${from.includes(" ") ? "none" : "not set"}`);
      continue;
    }
    const nvcc = place.endsWith("/nvcc") ? place : join(place, "bin", "nvcc");
    if (!existsSync(nvcc)) {
      looked.push(`${from}: no ${nvcc}`);
      continue;
    }
    return { toolkit: { root: resolve(nvcc, "..", ".."), nvcc, from }, looked };
  }
  return { looked };
}

/** The tools a build needs that are not on PATH. */
export function missingTools(env: Record<string, string | undefined> = process.env): string[] {
  const path = { PATH: env.PATH ?? "" };
  const missing: string[] = [];
  if (!Bun.which("cmake", path)) missing.push("cmake (>= 3.20)");
  const compilers = [env.CC, "cc", "gcc", "clang"].filter((c): c is string => Boolean(c));
  if (!compilers.some((c) => Bun.which(c, path))) missing.push("a C compiler (cc, gcc or clang)");
  return missing;
}

/** The CMake configure command for these options. */
export function configureCommand(options: BuildOptions, toolkit: CudaToolkit | undefined, env: Record<string, string | undefined> = process.env): string[] {
  const on = (b: boolean) => (b ? "ON" : "OFF");
  const cuda = options.cuda !== "off";
  const command = ["cmake", "-S", packageRoot, "-B", options.dir ?? buildDir, "-DCMAKE_BUILD_TYPE=Release", `-DBUNMG_SANITIZE=${on(options.sanitize)}`, `-DBUNMG_CUDA=${on(cuda)}`, `-DBUNMG_REQUIRE_CUDA=${on(options.cuda === "on")}`];
  if (cuda && toolkit) command.push(`-DCMAKE_CUDA_COMPILER=${toolkit.nvcc}`, `-DCUDAToolkit_ROOT=${toolkit.root}`);
  const architectures = env.BUNMG_CUDA_ARCHITECTURES?.trim();
  if (cuda && architectures) command.push(`-DCMAKE_CUDA_ARCHITECTURES=${architectures}`);
  const extra = env.BUNMG_CMAKE_ARGS?.trim();
  if (extra) command.push(...extra.split(/\s+/));
  return command;
}

/** A build that could not run or failed; the message says what to do. */
export class BuildError extends Error {}

function run(command: string[]): void {
  console.log(`$ ${command.join(" ")}`);
  const proc = Bun.spawnSync(command, { cwd: packageRoot, stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) throw new BuildError(`bunmg build: '${command.join(" ")}' failed with exit code ${proc.exitCode ?? proc.signalCode}`);
}

/** Configures and builds libbunmg.so in build/ (or options.dir). */
export function build(options: BuildOptions): void {
  const missing = missingTools();
  if (missing.length > 0) throw new BuildError(`bunmg build: ${missing.join(" and ")} not found on PATH`);
  const { toolkit, looked } = options.cuda === "off" ? { looked: [] } : findCudaToolkit();
  if (options.cuda === "on" && !toolkit) throw new BuildError(`bunmg build --cuda: no CUDA toolkit found (${looked.join("; ")}); set CUDA_HOME to one`);
  if (toolkit) console.log(`bunmg build: CUDA toolkit ${toolkit.root} (${toolkit.from})`);
  else if (options.cuda === "auto") console.log(`bunmg build: no CUDA toolkit (${looked.join("; ")}): host backend only`);
  run(configureCommand(options, toolkit));
  run(["cmake", "--build", options.dir ?? buildDir, "--parallel", ...(options.target ? ["--target", options.target] : [])]);
}

export const buildCommand: Command = {
  name: "build",
  summary: "build libbunmg from source (CMake) into the package's build/",
  usage: `usage: bunmg build [--cuda | --no-cuda] [--sanitize]

Builds libbunmg with CMake into the bunmg package's build/ folder. Needs cmake >= 3.20 and a C
compiler; the CUDA backend also needs the CUDA toolkit (nvcc, CUDA 12 or 13), looked for in
$CUDA_HOME, $CUDA_PATH, on PATH and in /usr/local/cuda. Options apply to this build only.

  --cuda        build the CUDA backend, fail when no toolkit is found (default: when found)
  --no-cuda     host backend only
  --sanitize    AddressSanitizer and UndefinedBehaviorSanitizer
  -h, --help    this text

Environment: CUDA_HOME (the toolkit), BUNMG_CUDA_ARCHITECTURES (default 80;90),
BUNMG_CMAKE_ARGS (more arguments for the configure step).`,
  run(argv) {
    const parsed = parseFlags(buildCommand, argv, { cuda: { type: "boolean" }, "no-cuda": { type: "boolean" }, sanitize: { type: "boolean" } });
    if (!parsed) return 0;
    const v = parsed.values;
    if (v.cuda && v["no-cuda"]) throw new UsageError("bunmg build: --cuda and --no-cuda contradict each other", buildCommand.usage);
    try {
      build({ cuda: v.cuda ? "on" : v["no-cuda"] ? "off" : "auto", sanitize: v.sanitize === true });
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      console.error(e.message);
      return 1;
    }
    return 0;
  },
};

if (import.meta.main) process.exitCode = await runCommand(buildCommand, process.argv.slice(2));
