// Builds libbunmg with AddressSanitizer + UndefinedBehaviorSanitizer (host backend only) into
// build/sanitize/ (ignored with build/) and runs the CPU test suite against it. Used by .ci/run;
// by hand: `bun scripts/sanitize.ts [bun test arguments]`.
//
// Bun itself is not instrumented, so the ASan runtime must be the first library in the process:
// it is LD_PRELOADed (the compiler's own libasan.so, from `cc -print-file-name=libasan.so`).
// Options, and why:
//  - detect_leaks=0: Bun does not free everything at exit, so LeakSanitizer would report Bun's
//    allocations (the libFuzzer targets in fuzz/ check libbunmg's own leaks instead);
//  - abort_on_error=0: an ASan report exits the process with status 1 rather than SIGABRT;
//  - allocator_may_return_null=1: the out-of-memory tests ask for absurd sizes; without it ASan
//    reports "requested allocation size exceeds maximum" instead of letting malloc return NULL;
//  - UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1: the first undefined behaviour fails the
//    run, with a stack.
// Child processes the tests start (bun -e probes, examples, MPMD ranks) inherit all of this.
// Before the suite, a probe process checks that the runtime and the sanitized library are both
// mapped, so a misconfigured run cannot pass by testing the wrong library.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const buildDir = join(root, "build", "sanitize");
const library = join(buildDir, "libbunmg.so");

function run(cmd: string[], env: Record<string, string | undefined> = process.env): void {
  console.log(`$ ${cmd.join(" ")}`);
  const proc = Bun.spawnSync(cmd, { cwd: root, env, stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) {
    console.error(`sanitize: '${cmd.join(" ")}' failed with exit code ${proc.exitCode ?? proc.signalCode}`);
    process.exit(proc.exitCode || 1);
  }
}

function output(cmd: string[], env: Record<string, string | undefined> = process.env): string {
  const proc = Bun.spawnSync(cmd, { cwd: root, env, stderr: "inherit" });
  if (proc.exitCode !== 0) throw new Error(`'${cmd.join(" ")}' failed with exit code ${proc.exitCode}`);
  return proc.stdout.toString().trim();
}

// 1. Configure and build (the compiler CMake picks; its own ASan runtime is preloaded below).
run(["cmake", "-S", root, "-B", buildDir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DBUNMG_SANITIZE=ON", "-DBUNMG_CUDA=OFF"]);
run(["cmake", "--build", buildDir, "--parallel", "--target", "bunmg"]);
if (!existsSync(library)) throw new Error(`sanitize: ${library} was not built`);

const cache = await Bun.file(join(buildDir, "CMakeCache.txt")).text();
const compiler = /^CMAKE_C_COMPILER:\w+=(.*)$/m.exec(cache)?.[1] ?? "cc";
const runtime = output([compiler, "-print-file-name=libasan.so"]);
if (!runtime.startsWith("/") || !existsSync(runtime)) {
  throw new Error(`sanitize: ${compiler} does not know its ASan runtime (got "${runtime}"); install its libasan`);
}

const env = {
  ...process.env,
  BUNMG_LIBRARY: library,
  LD_PRELOAD: [runtime, process.env.LD_PRELOAD].filter(Boolean).join(" "),
  ASAN_OPTIONS: "detect_leaks=0:abort_on_error=0:allocator_may_return_null=1",
  UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
};

// 2. The probe: both the runtime and the sanitized library in one Bun process.
const probe = `
  const { Mesh } = await import(${JSON.stringify(join(root, "lib", "index.ts"))});
  Mesh.host(1).dispose();
  const maps = await Bun.file("/proc/self/maps").text();
  console.log(JSON.stringify({ asan: maps.includes("libasan"), library: maps.includes(${JSON.stringify(library)}) }));`;
const seen = JSON.parse(output([process.execPath, "-e", probe], env)) as { asan: boolean; library: boolean };
if (!seen.asan || !seen.library) throw new Error(`sanitize: the probe process did not map ${!seen.asan ? runtime : library}`);
console.log(`sanitize: ${runtime} preloaded, ${library} loaded`);

// 3. The CPU suite against the sanitized library.
run([process.execPath, "test", ...process.argv.slice(2)], env);
console.log("sanitize: the test suite passed under ASan + UBSan");
