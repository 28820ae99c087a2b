// lib/doctor.ts on this machine (whatever it has) and, in child processes, with the libraries
// pointed at files that do not exist: each report must name what was found, where the loader
// looked, and the fix.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { backendCompiled, cudaVersionText, diagnose, libraryFix, notLoaded, parseBuildOptions, probeCuda, type RuntimeLibraryReport } from "../lib/doctor.ts";
import { cudaDeviceCount, libraryPath } from "../lib/index.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const root = join(import.meta.dir, "..");
const { version } = (await Bun.file(join(root, "package.json")).json()) as { version: string };

/** probeLibrary(name) in a child process with `env` added. */
function probeIn(env: Record<string, string>, name: string): RuntimeLibraryReport & { fix: string } {
  const code = `const d = await import(${JSON.stringify(join(root, "lib", "doctor.ts"))}); const r = d.probeLibrary(${JSON.stringify(name)}); console.log(JSON.stringify({ ...r, fix: d.libraryFix(r) }));`;
  const proc = Bun.spawnSync([process.execPath, "-e", code], { env: { ...process.env, ...env } });
  if (proc.exitCode !== 0) throw new Error(proc.stderr.toString());
  return JSON.parse(proc.stdout.toString());
}

describe("doctor on this machine", () => {
  const report = diagnose({ memory: false });

  test("the library it loaded, and the options it was built with", () => {
    expect(report.library.path).toBe(libraryPath());
    expect(report.library.looked.length).toBeGreaterThan(0);
    expect(report.options.version).toBe(version);
    expect(["Release", "RelWithDebInfo", "Debug"]).toContain(report.options.build_type ?? "none");
    expect(report.options.cuda === "off").toBe(!backendCompiled("cuda"));
    expect(backendCompiled("host")).toBe(true);
  });

  test("LAPACK: the file loaded, its version, where the loader looked", () => {
    const lapack = report.libraries.find((l) => l.name === "lapack")!;
    expect(lapack.found).toBe(true); // test/setup.ts stops the run otherwise
    expect(lapack.path).toStartWith("/");
    expect(existsSync(lapack.path)).toBe(true);
    expect(lapack.version).toMatch(/^(\d+\.\d+\.\d+)?$/);
    expect(lapack.tried.at(-1)).toMatch(/\(loaded(, from BUNMG_LAPACK)?\)$/);
    expect(report.backends.host).toEqual({ backend: "host", compiled: true, canRun: true, problems: [] });
  });

  test("CUDA: versions, devices, and for the backend either nothing to fix or the fixes", () => {
    const cuda = probeCuda();
    expect(cuda.devices).toBe(cudaDeviceCount());
    expect(report.gpus.map((g) => g.id)).toEqual(Array.from({ length: cuda.devices }, (_, i) => i));
    expect(report.peerAccess.length).toBe(cuda.devices);
    for (const gpu of report.gpus) expect(gpu.totalBytes).toBeGreaterThan(0);
    const backend = report.backends.cuda;
    expect(backend.canRun).toBe(backend.problems.length === 0);
    if (!backend.compiled) {
      expect(report.runtimeVersion).toBe(0);
      expect(backend.problems[0]!.fix).toContain("bunmg build --cuda");
      for (const l of report.libraries.filter((l) => l.name.startsWith("cusolver"))) expect(l.error).toContain("not looked for");
    } else {
      expect(report.runtimeVersion).toBeGreaterThanOrEqual(12000);
      if (cuda.devices === 0) expect(report.cudaError).toBeTruthy();
      for (const p of backend.problems) expect(p.fix.length).toBeGreaterThan(10);
    }
  });

  test("free memory per GPU only when asked for", () => {
    for (const gpu of diagnose({ memory: true }).gpus) expect(gpu.freeBytes ?? gpu.error).toBeDefined();
  });
});

describe("the mp engine's libraries on this machine", () => {
  test("Open MPI and ScaLAPACK: found with the file and where the loader looked, or the package to install; mp can run when both load", () => {
    const report = diagnose({ memory: false });
    const libs = ["mpi", "scalapack"].map((name) => report.libraries.find((l) => l.name === name)!);
    for (const lib of libs) {
      // ScaLAPACK is looked for once MPI has loaded
      if (lib.name === "mpi" || libs[0]!.found) expect(lib.tried.length, `${lib.title}: where it looked`).toBeGreaterThan(0);
      if (lib.found) {
        expect(lib.path).toStartWith("/");
        expect(existsSync(lib.path)).toBe(true);
        expect(lib.tried.at(-1)).toMatch(/\(loaded(, from BUNMG_(MPI|SCALAPACK))?\)$/);
      }
    }
    expect(libs[0]!.tried[0]).toStartWith(process.env.BUNMG_MPI || "libmpi.so.40");
    expect(report.mp.canRun).toBe(libs.every((l) => l.found));
    expect(report.mp.problems.map((p) => p.problem.split(":")[0])).toEqual(libs.filter((l) => !l.found).map((l) => l.title));
  });
});

describe("libraries that are not there", () => {
  test("Open MPI and ScaLAPACK named by missing files: not loaded, tried says it, the fix names the variable; without it, the Debian packages", () => {
    const mpi = probeIn({ BUNMG_MPI: "/no/such/libmpi.so.40" }, "mpi");
    expect(mpi.found).toBe(false);
    expect(mpi.tried).toEqual([expect.stringMatching(/^\/no\/such\/libmpi\.so\.40 \(.*No such file/)]);
    expect(mpi.error).toContain("apt-get install libopenmpi3 openmpi-bin");
    expect(mpi.fix).toContain("BUNMG_MPI=/no/such/libmpi.so.40 does not load");
    const scalapack = probeIn({ BUNMG_SCALAPACK: "/no/such/libscalapack.so" }, "scalapack");
    expect(scalapack.found).toBe(false);
    if (diagnose({ memory: false }).libraries.find((l) => l.name === "mpi")!.found) {
      expect(scalapack.tried).toEqual([expect.stringMatching(/^\/no\/such\/libscalapack\.so \(/)]);
      expect(scalapack.error).toContain("libscalapack-openmpi2.2");
    }
    expect(scalapack.fix).toContain("BUNMG_SCALAPACK=/no/such/libscalapack.so does not load");
    const base = { found: false, path: "", version: "", tried: [] as string[] };
    expect(libraryFix({ ...base, name: "mpi", title: "Open MPI", env: "BUNMG_NO_SUCH_VARIABLE" })).toContain("apt-get install libopenmpi3 openmpi-bin");
    expect(libraryFix({ ...base, name: "scalapack", title: "ScaLAPACK", env: "BUNMG_NO_SUCH_VARIABLE" })).toContain("apt-get install libscalapack-openmpi2.2");
  });

  test("BUNMG_LAPACK naming a missing file: not loaded, tried says it, the fix names the variable", () => {
    const r = probeIn({ BUNMG_LAPACK: "/no/such/liblapack.so.3" }, "lapack");
    expect(r.found).toBe(false);
    expect(r.path).toBe("");
    expect(r.tried).toEqual([expect.stringMatching(/^\/no\/such\/liblapack\.so\.3 \(.*No such file/)]);
    expect(r.error).toContain("BUNMG_LAPACK=/no/such/liblapack.so.3");
    expect(r.fix).toContain("BUNMG_LAPACK=/no/such/liblapack.so.3 does not load");
  });

  test("cuSOLVERMg and cuSOLVERDn the same way (or not looked for without the CUDA backend)", () => {
    for (const [name, env] of [["cusolverMg", "BUNMG_CUSOLVERMG"], ["cusolverDn", "BUNMG_CUSOLVER"]] as const) {
      const r = probeIn({ [env]: "/no/such/libcusolver.so" }, name);
      expect(r.found).toBe(false);
      if (backendCompiled("cuda")) {
        expect(r.tried).toEqual([expect.stringMatching(/^\/no\/such\/libcusolver\.so \(/)]);
        expect(r.fix).toContain(`${env}=/no/such/libcusolver.so does not load`);
      } else {
        expect(r.tried).toEqual([]);
        expect(r.error).toContain("not looked for");
      }
    }
  });

  test("notLoaded and libraryFix say not found, or why a found file failed", () => {
    const base = { name: "cusolverMg", title: "cuSOLVERMg", env: "BUNMG_NO_SUCH_VARIABLE", found: false, path: "", version: "" } as const;
    expect(notLoaded({ ...base, tried: ["a.so (not found)", "/x/*/b.so (no match)"] })).toBe("not found (tried 2 places)");
    expect(notLoaded({ ...base, tried: ["a.so (undefined symbol: f)"], error: "a.so has no symbol f" })).toBe("not loadable: a.so has no symbol f");
    expect(libraryFix({ ...base, tried: [] }, 13000)).toContain("pip install --user nvidia-cusolver`");
    expect(libraryFix({ ...base, tried: [] }, 12080)).toContain("nvidia-cusolver-cu12");
    expect(libraryFix({ ...base, name: "lapack", title: "LAPACK", tried: [] })).toContain("apt-get install liblapack3");
  });
});

describe("formatting helpers", () => {
  test("build options and CUDA versions", () => {
    expect(parseBuildOptions("version=0.1.0 cuda=13.0.88 cuda_architectures=80,90 flag")).toEqual({ version: "0.1.0", cuda: "13.0.88", cuda_architectures: "80,90", flag: "" });
    expect(cudaVersionText(13000)).toBe("13.0");
    expect(cudaVersionText(12080)).toBe("12.8");
    expect(cudaVersionText(0)).toBe("none");
  });
});
