// The `bunmg` command as a user types it (scripts/cli.ts in a child process): help and version
// exit 0, unknown commands and flags are named and exit 2, every command has its own help that
// does nothing else, and launch refuses every bad argument before a rank starts, as does
// lib/launch.ts's startLaunch for callers of the library.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_DEVICES } from "../lib/abi.ts";
import { cudaDeviceCount, startLaunch } from "../lib/index.ts";
import { parseLaunch } from "../scripts/launch.ts";
import { expectError } from "./helpers.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const root = join(import.meta.dir, "..");
const cli = join(root, "scripts", "cli.ts");
const { version } = (await Bun.file(join(root, "package.json")).json()) as { version: string };

function bunmg(...args: string[]): { code: number | null; out: string; err: string } {
  const proc = Bun.spawnSync([process.execPath, cli, ...args], { cwd: root, env: process.env });
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() };
}

/** A script that would leave a mark if any rank ran it. */
function markingScript(): { script: string; ranAny: () => boolean; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "bunmg-cli-"));
  const mark = join(dir, "ran");
  const script = join(dir, "rank.ts");
  writeFileSync(script, `await Bun.write(${JSON.stringify(mark)} + "-" + process.env.BUNMG_RANK, "ran");\n`);
  return {
    script,
    ranAny: () => Bun.spawnSync(["sh", "-c", `ls ${JSON.stringify(dir)} | grep -q ran-`]).exitCode === 0,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe("bunmg", () => {
  for (const flag of ["--help", "-h", "help"])
    test(`${flag} prints the commands and exits 0`, () => {
      const r = bunmg(flag);
      expect(r.code).toBe(0);
      for (const command of ["build", "info", "doctor", "launch"]) expect(r.out).toMatch(new RegExp(`^  ${command} `, "m"));
    });

  test("--version prints the package's version and exits 0", () => {
    const r = bunmg("--version");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`bunmg ${version}`);
  });

  test("no command: the usage, exit 2", () => {
    const r = bunmg();
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage: bunmg <command>");
  });

  test("an unknown command or option is named, exit 2", () => {
    expect(bunmg("frobnicate")).toMatchObject({ code: 2, err: expect.stringContaining("unknown command 'frobnicate'") });
    expect(bunmg("--frobnicate")).toMatchObject({ code: 2, err: expect.stringContaining("unknown option '--frobnicate'") });
  });

  for (const command of ["build", "info", "doctor", "launch"]) {
    test(`${command} --help prints its own usage, does nothing else, exits 0`, () => {
      const r = bunmg(command, "--help");
      expect(r.code).toBe(0);
      expect(r.out).toStartWith(`usage: bunmg ${command}`);
      expect(r.out + r.err).not.toContain("$ cmake"); // build --help must not build
      expect(bunmg(command, "-h").out).toBe(r.out);
    });
    test(`${command} with an unknown flag names it, exit 2`, () => {
      const r = bunmg(command, "--no-such-flag");
      expect(r.code).toBe(2);
      expect(r.err).toContain("--no-such-flag");
      expect(r.err).toContain(`usage: bunmg ${command}`);
    });
  }

  test("build --cuda --no-cuda contradict each other, exit 2", () => {
    expect(bunmg("build", "--cuda", "--no-cuda")).toMatchObject({ code: 2, err: expect.stringContaining("contradict") });
  });

  test("info tells the backends compiled in and whether LAPACK and cuSOLVER load", () => {
    const r = bunmg("info");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^backends compiled in: host/m);
    expect(r.out).toMatch(/^LAPACK: \/\S+ \(version /m);
    if (r.out.includes("cuda (CUDA")) expect(r.out).toMatch(/^cuSOLVERMg: /m);
  });

  test("doctor: the report, and exit 1 exactly when the backend asked for cannot run", () => {
    const host = bunmg("doctor", "--backend", "host");
    expect(host.code).toBe(0);
    for (const part of ["library ", "built with ", "CUDA", "  driver ", "  runtime ", "LAPACK ", "cuSOLVERMg ", "cuSOLVERDn ", "Backends", "  host  can run"]) expect(host.out).toContain(part);
    const cuda = bunmg("doctor", "--backend", "cuda");
    expect(cuda.code).toBe(cudaDeviceCount() > 0 && /cuda  can run/.test(cuda.out) ? 0 : 1);
    if (cuda.code === 1) expect(cuda.out).toMatch(/cuda  cannot run\n {8}- .+\n {10}fix: /);
    expect(bunmg("doctor", "--backend", "gpu")).toMatchObject({ code: 2, err: expect.stringContaining("--backend must be host or cuda, got 'gpu'") });
  });

  test("doctor --json is the report as data", () => {
    const r = bunmg("doctor", "--json", "--backend", "host");
    const report = JSON.parse(r.out) as { backends: { host: { canRun: boolean } }; libraries: { name: string }[] };
    expect(report.backends.host.canRun).toBe(true);
    expect(report.libraries.map((l) => l.name)).toEqual(["lapack", "cusolverMg", "cusolverDn", "mpi", "scalapack"]);
  });
});

describe("bunmg launch checks every argument before a rank starts", () => {
  const cases: [string[], string][] = [
    [["--np", "1e9"], `--np must be an integer in 1..${MAX_DEVICES}, got '1e9'`],
    [["--np", "1.5"], `--np must be an integer in 1..${MAX_DEVICES}, got '1.5'`],
    [["--np", "0"], `--np must be an integer in 1..${MAX_DEVICES}, got '0'`],
    [["--np", "-1"], `--np must be an integer in 1..${MAX_DEVICES}, got '-1'`],
    [["--np", "abc"], `--np must be an integer in 1..${MAX_DEVICES}, got 'abc'`],
    [["--np", "33"], `--np must be an integer in 1..${MAX_DEVICES}, got '33'`],
    [["--devices", ""], "--devices must be device ids (integers >= 0) separated by commas, got ''"],
    [["--devices", "0,,1"], "got '0,,1' (entry 2 is '')"],
    [["--devices", "0,x"], "got '0,x' (entry 2 is 'x')"],
    [["--devices", "-1"], "got '-1'"],
    [["--np", "2", "--devices", "0,1"], "give --devices or --np, not both"],
    [["--np", "2", "--backend", "gpu"], "--backend must be host or cuda, got 'gpu'"],
    [["--np", "2", "--timeout-ms", "0"], "--timeout-ms must be an integer >= 1, got '0'"],
    [["--np", "2", "--grace-ms", "soon"], "--grace-ms must be an integer >= 0, got 'soon'"],
    [["--np", "2", "--job", "a/b"], "--job: job id must be 1..64 characters of [A-Za-z0-9_-]"],
    [["--np", "2", "--np", "3"], "option '--np' given twice"],
    [["--ranks", "2"], "unknown option '--ranks'"],
    [["--np", "2", "--engine", "mpi"], "--engine must be group or mp, got 'mpi'"],
    [["--np", "2", "--engine", "mp", "--backend", "cuda"], "--engine mp runs ScaLAPACK on CPUs: --backend cuda is not supported with it yet"],
    [["--engine", "mp"], "--engine mp needs --np N (or --devices)"],
  ];
  for (const [args, message] of cases) {
    test(`${args.join(" ")}: '${message}', exit 2, no rank ran`, () => {
      using s = markingScript();
      const r = bunmg("launch", ...args, s.script);
      expect(r.code).toBe(2);
      expect(r.err).toStartWith("bunmg launch: ");
      expect(r.err).toContain(message);
      expect(s.ranAny()).toBe(false);
    });
  }

  test("a script that does not exist, none, or an option without its value: exit 2", () => {
    expect(bunmg("launch", "--np")).toMatchObject({ code: 2, err: expect.stringContaining("option '--np' needs a value") });
    expect(bunmg("launch", "--np", "2", "no-such-script.ts")).toMatchObject({ code: 2, err: expect.stringContaining("script 'no-such-script.ts' not found") });
    expect(bunmg("launch", "--np", "2")).toMatchObject({ code: 2, err: expect.stringContaining("no script given") });
  });

  test("--backend cuda names the visible GPUs as the bound of a device id", () => {
    using s = markingScript();
    const gpus = cudaDeviceCount();
    const r = bunmg("launch", "--backend", "cuda", "--devices", String(gpus), s.script);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(gpus === 0 ? "no CUDA device is visible" : `devices[0] must be in [0, ${gpus - 1}], got ${gpus}`);
    expect(s.ranAny()).toBe(false);
  });

  test("good arguments run every rank; everything after the script is the script's", () => {
    using s = markingScript();
    expect(parseLaunch(["--np=2", "--backend", "host", s.script, "--np", "x"])).toEqual({ script: s.script, args: ["--np", "x"], devices: [0, 1], backend: "host" });
    const r = bunmg("launch", "--np", "2", "--backend", "host", s.script, "--whatever");
    expect(r.code).toBe(0);
    expect(s.ranAny()).toBe(true);
  });
});

describe("startLaunch checks its options before a rank starts", () => {
  const bad: [string, Record<string, unknown>, string][] = [
    ["no script", { script: "" }, "script must be a path"],
    ["a missing script", { script: "/no/such/script.ts" }, "script /no/such/script.ts does not exist"],
    ["args not strings", { args: [1] }, "args must be an array of strings"],
    ["no devices", { devices: [] }, `devices must list 1..${MAX_DEVICES} device ids`],
    ["too many devices", { devices: Array(MAX_DEVICES + 1).fill(0) }, `devices must list 1..${MAX_DEVICES} device ids`],
    ["a fractional device", { devices: [0, 1.5] }, "devices[1] must be an integer"],
    ["a negative device", { devices: [-1] }, "devices[0] must be >= 0, got -1"],
    ["an unknown backend", { backend: "gpu" }, 'backend must be "host" or "cuda", got "gpu"'],
    ["a zero timeout", { timeoutMs: 0 }, "timeoutMs must be >= 1, got 0"],
    ["a negative grace", { graceMs: -1 }, "graceMs must be >= 0, got -1"],
    ["a bad job id", { job: "a b" }, "job id must be 1..64 characters of [A-Za-z0-9_-]"],
  ];
  for (const [what, change, message] of bad) {
    test(what, () => {
      using s = markingScript();
      expectError(() => startLaunch({ script: s.script, devices: [0, 1], backend: "host", ...change } as never), "INVALID_ARGUMENT", message);
      expect(s.ranAny()).toBe(false);
    });
  }

  test("backend cuda: device ids within the visible GPUs", () => {
    using s = markingScript();
    const gpus = cudaDeviceCount();
    if (gpus === 0) expectError(() => startLaunch({ script: s.script, devices: [0], backend: "cuda" }), "NO_DEVICE", "no CUDA device is visible");
    else expectError(() => startLaunch({ script: s.script, devices: [gpus], backend: "cuda" }), "INVALID_ARGUMENT", `devices[0] must be in [0, ${gpus - 1}], got ${gpus}`);
    expect(s.ranAny()).toBe(false);
  });
});
