// Command-line flags of `bun bench`. Lists are comma-separated; unknown flags are errors.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { cudaDeviceCount, DTYPE_NAMES, type Backend, type DType, type Routine } from "../lib/index.ts";

export const SCENARIOS = ["copy", "redistribute", "solvers", "strategy", "scaling", "tiles", "capacity", "groups", "peers"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const ROUTINES: readonly Routine[] = ["potrs", "potri", "syevd"];

export interface BenchArgs {
  scenarios: ScenarioName[];
  backend: Backend;
  /** CUDA device ids per mesh position (host: 0..count-1) */
  devices: number[];
  /** overrides of the scenario defaults (undefined: the scenario's own) */
  sizes?: number[];
  dtypes?: DType[];
  tiles?: number[];
  routines?: Routine[];
  repeats: number;
  quick: boolean;
  /** print the cases and their rough time, run nothing */
  list: boolean;
  verbose: boolean;
  /** scaling: also run the floor (build/bunmg_floor) at every size */
  withFloor: boolean;
  /** scaling: skip a case whose rough time estimate exceeds this many seconds */
  maxSeconds: number;
  out: string;
}

export const USAGE = `usage: bun bench [flags]
  --scenario copy,redistribute,solvers,strategy,scaling,tiles,capacity,groups,peers
                                         scenarios to run (default: all)
  --backend cuda|host                    default: cuda when a GPU is visible, else host
  --devices 0,1                          CUDA ids per position, repeats allowed (default: every
                                         GPU; host: 2 devices, or as many as listed)
  --sizes N,...                          matrix orders (scaling: the sizes instead of doubling from
                                         1024; capacity: the largest N tried)
  --dtypes float32,...                   element types (redistribute, solvers)
  --tiles T,...                          tile sizes (default: redistribute 256,1024; solvers
                                         the library's defaultTileSize)
  --routines potrs,potri,syevd           solvers to run (default: all)
  --repeats R                            timed repeats, median reported (default 3)
  --quick                                tiny sizes, host backend unless --backend cuda (seconds;
                                         for CI)
  --list                                 print the cases and a rough time for each, run nothing
  --verbose                              echo the peer programs' stderr
  --with-floor                           scaling, peers: also time the floor (bunmg_floor) per size
  --max-seconds S                        scaling: skip sizes whose rough estimate exceeds S
                                         (default 600)
  --out DIR                              results folder (default bench/out, git-ignored; a report
                                         to keep goes to a named folder: bench/results/<name>)`;

function fail(message: string): never {
  throw new Error(`bench: ${message}\n${USAGE}`);
}

function ints(flag: string, text: string | undefined, min: number): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(",").map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min)) {
    fail(`--${flag}: expected comma-separated integers >= ${min}, got '${text}'`);
  }
  return values;
}

function names<T extends string>(flag: string, text: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(",").map((s) => s.trim());
  for (const v of values) {
    if (!(allowed as readonly string[]).includes(v)) fail(`--${flag}: unknown '${v}' (expected ${allowed.join(", ")})`);
  }
  return values as T[];
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: "string" },
        backend: { type: "string" },
        devices: { type: "string" },
        sizes: { type: "string" },
        dtypes: { type: "string" },
        tiles: { type: "string" },
        routines: { type: "string" },
        repeats: { type: "string" },
        quick: { type: "boolean", default: false },
        list: { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        "with-floor": { type: "boolean", default: false },
        "max-seconds": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = v.quick ?? false;
  const backend = names("backend", v.backend, ["cuda", "host"] as const)?.[0] ?? (quick || cudaDeviceCount() === 0 ? "host" : "cuda");
  const listed = ints("devices", v.devices, 0);
  const devices = listed ?? (backend === "cuda" ? Array.from({ length: cudaDeviceCount() }, (_, i) => i) : [0, 1]);
  if (devices.length === 0) fail("no devices: no GPU is visible (use --backend host)");
  return {
    scenarios: names("scenario", v.scenario, SCENARIOS) ?? [...SCENARIOS],
    backend,
    devices: backend === "host" ? devices.map((_, i) => i) : devices,
    sizes: ints("sizes", v.sizes, 1),
    dtypes: names("dtypes", v.dtypes, DTYPE_NAMES),
    tiles: ints("tiles", v.tiles, 1),
    routines: names("routines", v.routines, ROUTINES),
    repeats: ints("repeats", v.repeats, 1)?.[0] ?? 3,
    quick,
    list: v.list ?? false,
    verbose: v.verbose ?? false,
    withFloor: v["with-floor"] ?? false,
    maxSeconds: ints("max-seconds", v["max-seconds"], 1)?.[0] ?? 600,
    out: v.out ?? join(import.meta.dir, "out"),
  };
}
