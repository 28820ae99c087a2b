// `bunmg info` (the library, its backends and whether the solver libraries load) and `bunmg
// doctor` (all of lib/doctor.ts's report, and per backend the fix when it cannot run).
import type { Backend } from "../lib/mesh.ts";
import { cudaVersionText, diagnose, notLoaded, type DoctorReport, type RuntimeLibraryReport } from "../lib/doctor.ts";
import { parseFlags, UsageError, type Command } from "./usage.ts";

const GiB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

function compiledBackends(report: DoctorReport): string {
  const { options } = report;
  return report.backends.cuda.compiled ? `host, cuda (CUDA ${options.cuda}, architectures ${options.cuda_architectures})` : "host (no CUDA backend)";
}

function libraryLine(lib: RuntimeLibraryReport): string {
  if (!lib.found) return `${lib.title}: ${notLoaded(lib)}`;
  const version = lib.version ? `version ${lib.version}` : "version not reported by the library";
  return `${lib.title}: ${lib.path} (${version})`;
}

/** The short report of `bunmg info`. */
export function formatInfo(report: DoctorReport): string {
  const cuda = report.backends.cuda.compiled
    ? `CUDA devices: ${report.gpus.length}${report.cudaError ? ` (${report.cudaError})` : ""}`
    : "CUDA devices: none (no CUDA backend)";
  return [
    `bunmg ${report.options.version}: ${report.library.path} (${report.library.source})`,
    `backends compiled in: ${compiledBackends(report)}`,
    cuda,
    ...report.libraries.filter((l) => !l.name.startsWith("cusolver") || report.backends.cuda.compiled).map(libraryLine),
  ].join("\n");
}

function peerTable(peer: boolean[][]): string[] {
  if (peer.length < 2) return [];
  const cell = (text: string) => text.padStart(4);
  return [
    "  peer access (row reads column directly):",
    `      ${peer.map((_, b) => cell(String(b))).join("")}`,
    ...peer.map((row, a) => `    ${String(a).padStart(2)}${row.map((ok, b) => cell(a === b ? "-" : ok ? "yes" : "no")).join("")}`),
  ];
}

/** The full report of `bunmg doctor`. */
export function formatDoctor(report: DoctorReport): string {
  const { library, options } = report;
  const lines = [
    `library     ${library.path} (${library.source})`,
    `            looked at: ${library.looked.join("; ")}`,
    `built with  ${Object.entries(options).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    `backends    ${compiledBackends(report)}`,
    "",
    "CUDA",
    `  driver    ${report.driverVersion > 0 ? `CUDA ${cudaVersionText(report.driverVersion)}` : "none"}`,
    `  runtime   ${report.runtimeVersion > 0 ? `CUDA ${cudaVersionText(report.runtimeVersion)} (linked in)` : "none (no CUDA backend)"}`,
  ];
  if (report.gpus.length === 0) lines.push(`  GPUs      none${report.cudaError ? `: ${report.cudaError}` : ""}`);
  for (const gpu of report.gpus) {
    const free = gpu.freeBytes === undefined ? `free memory unknown: ${gpu.error}` : `${gib(gpu.freeBytes)} free`;
    lines.push(`  GPU ${gpu.id}     ${gpu.name}, compute capability ${gpu.capability}, ${gib(gpu.totalBytes)} (${free})`);
  }
  lines.push(...peerTable(report.peerAccess), "", "Libraries loaded at run time (override the search with the variable shown)");
  for (const lib of report.libraries) {
    lines.push(`  ${lib.title.padEnd(11)} ${lib.found ? lib.path : "not loaded"}${lib.found ? `, version ${lib.version || "not reported by the library"}` : ""}   [${lib.env}]`);
    if (lib.tried.length > 0) lines.push(...lib.tried.map((t, i) => `              ${i === 0 ? "tried:" : "      "} ${t}`));
    else if (!lib.found && lib.error) lines.push(`              ${lib.error}`);
  }
  lines.push("", "Backends");
  for (const b of Object.values(report.backends)) {
    lines.push(`  ${b.backend.padEnd(5)} ${b.canRun ? "can run" : "cannot run"}`);
    for (const p of b.problems) lines.push(`        - ${p.problem}`, `          fix: ${p.fix}`);
  }
  lines.push("", "Engines", `  mp    ${report.mp.canRun ? "can run (under mpirun: bunmg launch --engine mp)" : "cannot run"}`);
  for (const p of report.mp.problems) lines.push(`        - ${p.problem}`, `          fix: ${p.fix}`);
  return lines.join("\n");
}

export const infoCommand: Command = {
  name: "info",
  summary: "which libbunmg loads, its backends, and whether LAPACK and cuSOLVER load",
  usage: `usage: bunmg info

Which libbunmg is used (BUNMG_LIBRARY, the platform package, or the local build), the backends
compiled into it, the CUDA devices it sees, and whether LAPACK and cuSOLVER can be loaded.
\`bunmg doctor\` tells more, and how to fix what is missing.

  -h, --help    this text`,
  run(argv) {
    if (!parseFlags(infoCommand, argv, {})) return 0;
    console.log(formatInfo(diagnose({ memory: false })));
    return 0;
  },
};

export const doctorCommand: Command = {
  name: "doctor",
  summary: "what can run here, and the exact fix for what cannot",
  usage: `usage: bunmg doctor [--backend host|cuda] [--json]

Reports the backends and options compiled into libbunmg, the CUDA driver and runtime versions,
each GPU with its memory and the peer-access matrix, the cuSOLVERMg, cuSOLVERDn and LAPACK
libraries and the mp engine's Open MPI and ScaLAPACK found (path, version, where the loader
looked), and for each backend and the mp engine whether it can run and, if not, the fix. Exits 1 when the backend asked for cannot run (default: the one
Mesh.auto() picks: cuda when a GPU is visible, else host).

  --backend host|cuda   the backend that must be able to run
  --json                the report as JSON
  -h, --help            this text`,
  run(argv) {
    const parsed = parseFlags(doctorCommand, argv, { backend: { type: "string" }, json: { type: "boolean" } });
    if (!parsed) return 0;
    const asked = parsed.values.backend;
    if (asked !== undefined && asked !== "host" && asked !== "cuda") throw new UsageError(`bunmg doctor: --backend must be host or cuda, got '${asked}'`, doctorCommand.usage);
    const report = diagnose({ memory: true });
    const backend: Backend = (asked as Backend | undefined) ?? (report.gpus.length > 0 ? "cuda" : "host");
    console.log(parsed.values.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
    const { canRun } = report.backends[backend];
    if (!parsed.values.json) console.log(`\n${backend} backend ${canRun ? "can run" : "cannot run"}${asked === undefined ? " (the backend Mesh.auto() picks here)" : ""}`);
    return canRun ? 0 : 1;
  },
};
