// mp (cuSOLVERMp on a 1 x 1 grid, a world of one) beside mg (cuSOLVERMg, devices [0]) and single
// (cuSOLVERDn) on one GPU, measured side by side in one run: potrs float64 at N = 32768 and 65536,
// syevd float64 (vectors) at N = 16384 by default. Each engine gets the same HPD matrix
// (fillRandom on the device, then a host copy for mp, whose contract takes host rows); each
// time covers the whole call from host or device input to the result, as its user sees it. mp is
// called through the C ABI on malloc'd rows: Bun's typed arrays stop short of the 8 GiB of one
// 32768 float64 matrix.
//
//   bun bench/mp.ts [--cases potrs:32768,potrs:65536,syevd:16384] [--repeats 1]
import { dlopen, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { Mesh, ShardedMatrix, type Routine } from "../lib/index.ts";
import { EIG, LAYOUT, MATRIX } from "../lib/abi.ts";
import { lastErrorMessage, libraryPath } from "../lib/native.ts";
import { onesRhs, solve } from "./solve.ts";

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const cases = flag("cases", "potrs:32768,potrs:65536,syevd:16384").split(",").map((c) => {
  const [routine, n] = c.split(":");
  return { routine: routine as Routine, n: Number(n) };
});
const repeats = Number(flag("repeats", "1"));

/** Median seconds of `repeats` runs of `body` after one warm-up, `before` outside the timing;
 * a failure is the cell's text. */
function time(body: () => void, before: () => void): string {
  const runs: number[] = [];
  try {
    for (let r = 0; r <= repeats; r++) {
      before();
      const t0 = performance.now();
      body();
      if (r > 0) runs.push((performance.now() - t0) / 1000);
    }
  } catch (e) {
    return `failed: ${(e as Error).message.slice(0, 160)}`;
  }
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!.toFixed(2);
}

const libc = dlopen("libc.so.6", { malloc: { args: ["u64"], returns: "ptr" }, free: { args: ["ptr"], returns: "void" } }).symbols;
const mp = dlopen(libraryPath(), {
  bunmg_mp_join_gpu: { args: ["i64", "i32", "ptr"], returns: "i32" },
  bunmg_mp_leave: { args: ["ptr"], returns: "i32" },
  bunmg_mp_potrs: { args: ["ptr", "ptr", "ptr", "ptr", "i64"], returns: "i32" },
  bunmg_mp_syevd: { args: ["ptr", "ptr", "ptr", "i32", "ptr"], returns: "i32" },
}).symbols;

function must(status: number, what: string): void {
  if (status !== 0) throw new Error(`${what}: ${lastErrorMessage()}`);
}

const out = new BigUint64Array(1);
must(mp.bunmg_mp_join_gpu(60000, 0, ptr(out)), "bunmg_mp_join_gpu");
const world = Number(out[0]) as Pointer;

/** A's rows (the whole matrix: a world of one) from the device into malloc'd memory, in chunks
 * of typed-array views. */
function toRaw(A: ShardedMatrix<"float64">, raw: Pointer, n: number): void {
  const chunk = 1 << 27; // elements
  for (let at = 0; at < n * n; at += chunk) {
    const count = Math.min(chunk, n * n - at);
    A.shards[0]!.copyToHost(new Float64Array(toArrayBuffer(raw, at * 8, count * 8)), at);
  }
}

function matrixOf(raw: Pointer, n: number): Uint8Array {
  const bytes = new Uint8Array(MATRIX.bytes);
  const v = new DataView(bytes.buffer);
  v.setBigInt64(MATRIX.offset.rows, BigInt(n), true);
  v.setBigInt64(MATRIX.offset.cols, BigInt(n), true);
  v.setBigInt64(MATRIX.offset.capacity, BigInt(n), true);
  v.setInt32(MATRIX.offset.dtype, 1, true); // float64
  v.setInt32(MATRIX.offset.layout, LAYOUT.rows, true);
  v.setBigUint64(MATRIX.offset.shards, BigInt(raw), true);
  return bytes;
}

const rows: string[] = [];
for (const { routine, n } of cases) {
  const mesh = Mesh.cuda([0]);
  const A = ShardedMatrix.random(mesh, { rows: n, cols: n, dtype: "float64" }, { kind: "hpd", seed: 1 });
  const B = onesRhs("float64", n);
  const fresh = () => {
    if (A.layout !== "rows") A.fromCyclic();
    A.fillRandom({ kind: "hpd", seed: 1 });
  };
  const seconds: Record<string, string> = {};
  for (const strategy of ["multi", "single"] as const) seconds[strategy === "multi" ? "mg" : "single"] = time(() => solve(routine, A, B, { strategy }), fresh);
  const raw = libc.malloc(n * n * 8) as Pointer | null;
  if (!raw) seconds.mp = "no host memory";
  else {
    const matrix = matrixOf(raw, n);
    const X = new Float64Array(n);
    const w = new Float64Array(n);
    seconds.mp = time(
      () =>
        routine === "potrs"
          ? must(mp.bunmg_mp_potrs(world, ptr(matrix), null, ptr(X.fill(1)), 1), "bunmg_mp_potrs")
          : must(mp.bunmg_mp_syevd(world, ptr(matrix), null, EIG.vectors, ptr(w)), "bunmg_mp_syevd"),
      () => {
        fresh();
        toRaw(A, raw, n);
      },
    );
    libc.free(raw);
  }
  A.dispose();
  mesh.dispose();
  rows.push(`| ${routine} | ${n} | ${seconds.mp} | ${seconds.mg} | ${seconds.single} |`);
  console.error(rows.at(-1));
}
mp.bunmg_mp_leave(world);
console.log(`float64, one GPU, median of ${repeats} after one warm-up, seconds:\n`);
console.log("| routine | N | mp (cuSOLVERMp 1x1) | mg (cuSOLVERMg [0]) | single (cuSOLVERDn) |\n| --- | --- | --- | --- | --- |");
console.log(rows.join("\n"));
