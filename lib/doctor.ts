// What this machine can run: the backends and options compiled into libbunmg, the CUDA driver and
// runtime, the GPUs and their peer access, the run-time libraries (LAPACK, cuSOLVERMg,
// cuSOLVERDn, and the mp engine's Open MPI and ScaLAPACK) with where the loader looked, and per
// backend (and for the mp engine) whether it can run and the fix when not. Behind `bunmg info` and `bunmg doctor` (scripts/cli.ts).
import { CString, type Pointer } from "bun:ffi";
import { BACKEND, RUNTIME_LIBRARY, STATUS } from "./abi.ts";
import { Mesh, type Backend } from "./mesh.ts";
import { lastErrorMessage, locateLibrary, native, type LibraryLocation } from "./native.ts";

export type RuntimeLibraryName = keyof typeof RUNTIME_LIBRARY;

export interface RuntimeLibraryReport {
  name: RuntimeLibraryName;
  /** "LAPACK", "cuSOLVERMg", "cuSOLVERDn", "Open MPI", "ScaLAPACK" */
  title: string;
  /** the environment variable that names the file, bypassing the search */
  env: string;
  found: boolean;
  /** the file loaded ("" when none) */
  path: string;
  /** as the library reports it ("" when it cannot) */
  version: string;
  /** each candidate in search order, with what became of it */
  tried: string[];
  /** why it could not be loaded (or was not looked for) */
  error?: string;
}

export interface GpuReport {
  id: number;
  name: string;
  /** compute capability, "9.0" */
  capability: string;
  totalBytes: number;
  /** from a mesh on the GPU; undefined when making one failed (error says why) */
  freeBytes?: number;
  error?: string;
}

export interface BackendReport {
  backend: Backend;
  compiled: boolean;
  canRun: boolean;
  /** what stops it, and the exact fix, one line each */
  problems: { problem: string; fix: string }[];
}

export interface DoctorReport {
  library: LibraryLocation;
  /** bunmg_build_options as key=value pairs */
  options: Record<string, string>;
  /** 1000 * major + 10 * minor; 0 where there is none */
  driverVersion: number;
  runtimeVersion: number;
  /** why no CUDA device is usable, when none is */
  cudaError?: string;
  gpus: GpuReport[];
  /** peerAccess[a][b]: GPU a reads and writes GPU b's memory directly (false on the diagonal) */
  peerAccess: boolean[][];
  libraries: RuntimeLibraryReport[];
  backends: Record<Backend, BackendReport>;
  /** the distributed engine on CPUs (lib/mp.ts): Open MPI and ScaLAPACK */
  mp: { canRun: boolean; problems: { problem: string; fix: string }[] };
}

const TITLES: Record<RuntimeLibraryName, { title: string; env: string }> = {
  lapack: { title: "LAPACK", env: "BUNMG_LAPACK" },
  cusolverMg: { title: "cuSOLVERMg", env: "BUNMG_CUSOLVERMG" },
  cusolverDn: { title: "cuSOLVERDn", env: "BUNMG_CUSOLVER" },
  mpi: { title: "Open MPI", env: "BUNMG_MPI" },
  scalapack: { title: "ScaLAPACK", env: "BUNMG_SCALAPACK" },
};

/** "13.0" from 13000. */
export function cudaVersionText(version: number): string {
  return version > 0 ? `${Math.floor(version / 1000)}.${(version % 1000) / 10}` : "none";
}

/** bunmg_build_options ("version=0.1.0 cuda=off ...") as a record. */
export function parseBuildOptions(text: string): Record<string, string> {
  return Object.fromEntries(text.split(" ").filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    return at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

/** Whether `backend` is compiled into the loaded libbunmg. */
export function backendCompiled(backend: Backend): boolean {
  const out = new Int32Array(1);
  if (native().bunmg_backend_compiled(BACKEND[backend], out) !== STATUS.OK) throw new Error(lastErrorMessage());
  return out[0] === 1;
}

function readString(out: BigUint64Array): string {
  return out[0] === 0n ? "" : new CString(Number(out[0]) as Pointer).toString();
}

/** Loads one run-time library as the solvers would, and says what was found. */
export function probeLibrary(name: RuntimeLibraryName): RuntimeLibraryReport {
  const [path, version, tried] = [new BigUint64Array(1), new BigUint64Array(1), new BigUint64Array(1)];
  const status = native().bunmg_library_probe(RUNTIME_LIBRARY[name], path, version, tried);
  const triedText = readString(tried);
  return {
    name,
    ...TITLES[name],
    found: status === STATUS.OK,
    path: readString(path),
    version: readString(version),
    tried: triedText === "" ? [] : triedText.split(", "),
    ...(status === STATUS.OK ? {} : { error: lastErrorMessage() }),
  };
}

/** The CUDA driver and runtime versions, the devices visible, and why there are none. */
export function probeCuda(): Pick<DoctorReport, "driverVersion" | "runtimeVersion" | "cudaError"> & { devices: number } {
  const out = new Int32Array(3);
  const status = native().bunmg_cuda_probe(out.subarray(0, 1), out.subarray(1, 2), out.subarray(2, 3));
  const [driverVersion = 0, runtimeVersion = 0, devices = 0] = out;
  return {
    driverVersion,
    runtimeVersion,
    devices,
    ...(status === STATUS.OK ? {} : { cudaError: lastErrorMessage() }),
  };
}

function probeGpu(id: number, memory: boolean): GpuReport {
  const name = new Uint8Array(256);
  const [major, minor, total] = [new Int32Array(1), new Int32Array(1), new BigUint64Array(1)];
  if (native().bunmg_cuda_device_info(id, name, name.length, major, minor, total) !== STATUS.OK) {
    return { id, name: "?", capability: "?", totalBytes: 0, error: lastErrorMessage() };
  }
  const gpu: GpuReport = { id, name: new TextDecoder().decode(name.subarray(0, name.indexOf(0))), capability: `${major[0]}.${minor[0]}`, totalBytes: Number(total[0]) };
  if (!memory) return gpu;
  try {
    using mesh = Mesh.cuda([id]); // a context on the GPU: what a solve there would get
    gpu.freeBytes = mesh.memory(0).free;
  } catch (e) {
    gpu.error = (e as Error).message;
  }
  return gpu;
}

function peerMatrix(count: number): boolean[][] {
  const out = new Int32Array(1);
  return Array.from({ length: count }, (_, a) =>
    Array.from({ length: count }, (_, b) => native().bunmg_cuda_peer_access(a, b, out) === STATUS.OK && out[0] === 1),
  );
}

/** The pip wheel that carries cuSOLVER for this runtime's CUDA major version. */
function cusolverWheel(runtimeVersion: number): string {
  return Math.floor(runtimeVersion / 1000) >= 13 ? "nvidia-cusolver" : "nvidia-cusolver-cu12";
}

/** "not found (tried 10 places)", or the loader's reason when it found a file but could not use it. */
export function notLoaded(lib: RuntimeLibraryReport): string {
  const foundSomething = lib.tried.some((t) => !/\((not found|no match)\)$/.test(t));
  return foundSomething || lib.tried.length === 0 ? `not loadable: ${lib.error ?? "unknown error"}` : `not found (tried ${lib.tried.length} places)`;
}

/** The fix for a library that did not load, as a command where there is one. */
export function libraryFix(lib: RuntimeLibraryReport, runtimeVersion = 0): string {
  const chosen = process.env[lib.env];
  if (chosen) return `${lib.env}=${chosen} does not load: point it at a working ${lib.title} library, or unset it to search the usual places`;
  if (lib.name === "lapack") {
    return "install LAPACK: `sudo apt-get install liblapack3` (Debian, Ubuntu), `sudo dnf install lapack` (Fedora, RHEL) or OpenBLAS; or set BUNMG_LAPACK to the library's path";
  }
  if (lib.name === "mpi") return "install Open MPI: `sudo apt-get install libopenmpi3 openmpi-bin` (Debian, Ubuntu; mpirun starts the ranks); or set BUNMG_MPI to its libmpi.so.40";
  if (lib.name === "scalapack") return "install ScaLAPACK for Open MPI: `sudo apt-get install libscalapack-openmpi2.2` (Debian, Ubuntu); or set BUNMG_SCALAPACK to its library";
  return `install cuSOLVER: \`python3 -m pip install --user ${cusolverWheel(runtimeVersion)}\` or the CUDA toolkit; or set ${lib.env} to the library's path`;
}

function hostReport(lapack: RuntimeLibraryReport): BackendReport {
  const problems = lapack.found ? [] : [{ problem: `its solvers need LAPACK: ${notLoaded(lapack)}`, fix: libraryFix(lapack, 0) }];
  return { backend: "host", compiled: true, canRun: lapack.found, problems };
}

function cudaReport(compiled: boolean, cuda: ReturnType<typeof probeCuda>, libraries: RuntimeLibraryReport[], source: LibraryLocation["source"]): BackendReport {
  const problems: BackendReport["problems"] = [];
  if (!compiled) {
    problems.push({
      problem: "this libbunmg was built without the CUDA backend",
      fix:
        source === "local build"
          ? "install the CUDA toolkit (nvcc, CUDA 12 or 13), then rebuild: `bunx bunmg build --cuda` (CUDA_HOME=<toolkit> when nvcc is not on PATH); or install the prebuilt package bunmg-linux-x64-gnu"
          : `use a libbunmg built with CUDA (this one comes from the ${source}): unset BUNMG_LIBRARY, or rebuild with \`bunx bunmg build --cuda\``,
    });
    return { backend: "cuda", compiled, canRun: false, problems };
  }
  const runtime = cudaVersionText(cuda.runtimeVersion);
  if (cuda.driverVersion === 0) {
    problems.push({ problem: `no NVIDIA driver (${cuda.cudaError ?? "cudaDriverGetVersion gives 0"})`, fix: `install the NVIDIA driver for CUDA ${runtime} or newer; \`nvidia-smi\` must list the GPUs` });
  } else if (cuda.driverVersion < cuda.runtimeVersion) {
    problems.push({
      problem: `the driver supports CUDA ${cudaVersionText(cuda.driverVersion)}, older than this libbunmg's runtime ${runtime}`,
      fix: `update the NVIDIA driver to one for CUDA ${runtime} or newer, or rebuild libbunmg with the CUDA toolkit the driver supports (\`bunx bunmg build --cuda\`)`,
    });
  } else if (cuda.devices === 0) {
    problems.push({ problem: `no CUDA device: ${cuda.cudaError ?? "none visible"}`, fix: "check `nvidia-smi`; unset CUDA_VISIBLE_DEVICES or list the GPUs in it" });
  }
  for (const lib of libraries) {
    if ((lib.name === "cusolverMg" || lib.name === "cusolverDn") && !lib.found) problems.push({ problem: `${lib.title}: ${notLoaded(lib)}`, fix: libraryFix(lib, cuda.runtimeVersion) });
  }
  return { backend: "cuda", compiled, canRun: problems.length === 0, problems };
}

function mpReport(libraries: RuntimeLibraryReport[]): DoctorReport["mp"] {
  const problems = libraries
    .filter((l) => (l.name === "mpi" || l.name === "scalapack") && !l.found)
    .map((l) => ({ problem: `${l.title}: ${notLoaded(l)}`, fix: libraryFix(l) }));
  return { canRun: problems.length === 0, problems };
}

/** Everything `bunmg doctor` reports. Loads libbunmg (throws LIBRARY_NOT_FOUND when it cannot)
 * and, through it, LAPACK, (with the CUDA backend) cuSOLVER, and Open MPI and ScaLAPACK (loaded,
 * not initialized). With `memory` (the default) it
 * makes a mesh on each GPU to read its free memory (a CUDA context each). */
export function diagnose({ memory = true }: { memory?: boolean } = {}): DoctorReport {
  const library = locateLibrary();
  const options = parseBuildOptions(native().bunmg_build_options() ?? "");
  const cudaCompiled = backendCompiled("cuda");
  const cuda = probeCuda();
  const gpus = Array.from({ length: cuda.devices }, (_, id) => probeGpu(id, memory));
  const lapack = probeLibrary("lapack");
  const libraries = [lapack, probeLibrary("cusolverMg"), probeLibrary("cusolverDn"), probeLibrary("mpi"), probeLibrary("scalapack")];
  return {
    library,
    options,
    driverVersion: cuda.driverVersion,
    runtimeVersion: cuda.runtimeVersion,
    ...(cuda.cudaError === undefined ? {} : { cudaError: cuda.cudaError }),
    gpus,
    peerAccess: peerMatrix(cuda.devices),
    libraries,
    backends: { host: hostReport(lapack), cuda: cudaReport(cudaCompiled, cuda, libraries, library.source) },
    mp: mpReport(libraries),
  };
}
