// The distributed engine's 2D block-cyclic grid layout (bunmg.h, "the distributed engine"): where
// each element lives, the in-place plan between row shards and the grid, and a run of that plan
// over host buffers with one thread per rank (for tests and for inspection; nothing here talks
// to another process).
import { ptr, type Pointer } from "bun:ffi";
import {
  GRID,
  GRID_FAULT,
  GRID_FLAGS,
  GRID_MOVE,
  GRID_ORDER,
  GRID_PHASE,
  GRID_RANK,
  GRID_SUMMARY_FIELDS,
  MAX_EXTENT,
  MAX_RANKS,
  STATUS_NAMES,
  type StatusName,
} from "./abi.ts";
import { BunmgError, invalid } from "./errors.ts";
import { asPointer, check, native, nativeError, readPointer } from "./native.ts";
import { checkInteger, describe } from "./validate.ts";

export type GridOrder = keyof typeof GRID_ORDER;

/** The distributed matrix is the column-major view of the row-major A: `m` = A's row length,
 * `n` = A's rows (the sharded dimension); MB x NB blocks over a prows x pcols grid. */
export interface GridShape {
  m: number;
  n: number;
  mb: number;
  nb: number;
  prows: number;
  pcols: number;
  /** rank order of the grid positions (default "row": rank = pr * pcols + pc, BLACS "Row") */
  order?: GridOrder;
}

export interface GridRankInfo {
  prow: number;
  pcol: number;
  /** elements of the distributed matrix this rank holds: numroc of m and of n */
  localRows: number;
  localCols: number;
  /** leading dimension of the local column-major matrix (the same on every rank) */
  lld: number;
  /** A's rows this rank holds in row layout */
  shardFirst: number;
  shardRows: number;
  /** ScaLAPACK's descriptor (context 0: the engine sets its own) */
  desc: number[];
}

export type GridPhase = keyof typeof GRID_PHASE;

export interface GridMove {
  job: number;
  round: number;
  phase: GridPhase;
  lane: number;
  srcRank: number;
  dstRank: number;
  /** the offset is in the rank's staging buffer rather than its matrix buffer */
  srcStaging: boolean;
  dstStaging: boolean;
  srcOffset: number;
  dstOffset: number;
  elements: number;
}

export type GridPlanSummary = Record<(typeof GRID_SUMMARY_FIELDS)[number], number>;

export interface GridPlan extends GridPlanSummary {
  grid: GridShape;
  lanes: number;
  /** SPLIT moves, then EXCHANGE moves, each by round */
  moves: GridMove[];
}

export interface GridPlanOptions {
  /** staging slots per rank, 1..64 (default 1) */
  lanes?: number;
  /** elements per staged run in the exchange (default MB * NB) */
  chunk?: number;
}

/** @internal the struct bunmg_grid of a shape, checked. */
export function encodeGrid(grid: GridShape): Uint8Array {
  if (typeof grid !== "object" || grid === null) throw invalid(`grid must be an object { m, n, mb, nb, prows, pcols, order? }, got ${describe(grid)}`);
  const bytes = new Uint8Array(GRID.bytes);
  const v = new DataView(bytes.buffer);
  for (const key of ["m", "n", "mb", "nb"] as const) v.setBigInt64(GRID.offset[key], BigInt(checkInteger(grid[key], `grid.${key}`, 1, MAX_EXTENT)), true);
  v.setInt32(GRID.offset.prows, checkInteger(grid.prows, "grid.prows", 1, MAX_RANKS), true);
  v.setInt32(GRID.offset.pcols, checkInteger(grid.pcols, "grid.pcols", 1, MAX_RANKS), true);
  const order = grid.order ?? "row";
  if (!(order in GRID_ORDER)) throw invalid(`grid.order must be "row" or "column", got ${describe(order)}`);
  v.setInt32(GRID.offset.order, GRID_ORDER[order], true);
  return bytes;
}

/** Rank `rank`'s part of the grid layout. */
export function gridDescribe(grid: GridShape, rank: number): GridRankInfo {
  const out = new Uint8Array(GRID_RANK.bytes);
  check(native().bunmg_grid_describe(encodeGrid(grid), checkInteger(rank, "rank", 0, MAX_RANKS - 1), out), "bunmg_grid_describe");
  const v = new DataView(out.buffer);
  const i64 = (offset: number) => Number(v.getBigInt64(offset, true));
  return {
    prow: v.getInt32(GRID_RANK.offset.prow, true),
    pcol: v.getInt32(GRID_RANK.offset.pcol, true),
    localRows: i64(GRID_RANK.offset.localRows),
    localCols: i64(GRID_RANK.offset.localCols),
    lld: i64(GRID_RANK.offset.lld),
    shardFirst: i64(GRID_RANK.offset.shardFirst),
    shardRows: i64(GRID_RANK.offset.shardRows),
    desc: Array.from({ length: 9 }, (_, k) => i64(GRID_RANK.offset.desc + 8 * k)),
  };
}

/** Elements each rank's buffer needs for both layouts and the plan's intermediate one. */
export function gridCapacity(grid: GridShape): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_grid_capacity(encodeGrid(grid), out), "bunmg_grid_capacity");
  return Number(out[0]);
}

/** Where element (i, j) of the distributed matrix (A[j][i]) lives in the grid layout. */
export function gridLocate(grid: GridShape, i: number, j: number): { rank: number; offset: number } {
  const rank = new Int32Array(1);
  const offset = new BigInt64Array(1);
  check(native().bunmg_grid_locate(encodeGrid(grid), checkInteger(i, "i", 0), checkInteger(j, "j", 0), rank, offset), "bunmg_grid_locate");
  return { rank: rank[0]!, offset: Number(offset[0]) };
}

/** @internal a new native plan (the caller destroys it with bunmg_grid_plan_destroy) */
export function createGridPlan(grid: GridShape, options: GridPlanOptions): Pointer {
  const lanes = checkInteger(options.lanes ?? 1, "lanes", 1, 64);
  const chunk = checkInteger(options.chunk ?? 0, "chunk", 0);
  const out = new BigUint64Array(1);
  check(native().bunmg_grid_plan_create(encodeGrid(grid), lanes, chunk, out), "bunmg_grid_plan_create");
  return asPointer(readPointer(out));
}

/** Creates the plan, hands it to `fn`, and destroys it (the first error is the one reported). */
function withPlan<T>(grid: GridShape, options: GridPlanOptions, fn: (plan: Pointer) => T): T {
  const lib = native();
  const plan = createGridPlan(grid, options);
  let result: T;
  try {
    result = fn(plan);
  } catch (e) {
    lib.bunmg_grid_plan_destroy(plan);
    throw e;
  }
  check(lib.bunmg_grid_plan_destroy(plan), "bunmg_grid_plan_destroy");
  return result;
}

/** @internal a native plan's summary */
export function readSummary(plan: Pointer): GridPlanSummary {
  const summary = new BigInt64Array(GRID_SUMMARY_FIELDS.length);
  check(native().bunmg_grid_plan_get_summary(plan, summary), "bunmg_grid_plan_get_summary");
  return Object.fromEntries(GRID_SUMMARY_FIELDS.map((k, i) => [k, Number(summary[i])])) as GridPlanSummary;
}

const PHASES = Object.keys(GRID_PHASE) as GridPhase[];

function readMoves(plan: Pointer): GridMove[] {
  const lib = native();
  const count = new BigInt64Array(1);
  // A first call with room for none gives the count (the buffer only needs to be non-null).
  check(lib.bunmg_grid_plan_get_moves(plan, new Uint8Array(GRID_MOVE.bytes), 0, count), "bunmg_grid_plan_get_moves");
  const n = Number(count[0]);
  const bytes = new Uint8Array(Math.max(1, n) * GRID_MOVE.bytes);
  check(lib.bunmg_grid_plan_get_moves(plan, bytes, n, count), "bunmg_grid_plan_get_moves");
  const v = new DataView(bytes.buffer);
  const moves: GridMove[] = [];
  for (let k = 0; k < n; k++) {
    const at = (field: keyof typeof GRID_MOVE.offset) => k * GRID_MOVE.bytes + GRID_MOVE.offset[field];
    const i64 = (field: keyof typeof GRID_MOVE.offset) => Number(v.getBigInt64(at(field), true));
    const i32 = (field: keyof typeof GRID_MOVE.offset) => v.getInt32(at(field), true);
    moves.push({
      job: i64("job"),
      round: i64("round"),
      phase: PHASES[i32("phase")]!, // the C planner writes only bunmg_grid_phase values
      lane: i32("lane"),
      srcRank: i32("srcRank"),
      dstRank: i32("dstRank"),
      srcStaging: i32("srcStaging") !== 0,
      dstStaging: i32("dstStaging") !== 0,
      srcOffset: i64("srcOffset"),
      dstOffset: i64("dstOffset"),
      elements: i64("elements"),
    });
  }
  return moves;
}

/** The plan between the row layout and the grid layout, as data (nothing is executed). */
export function gridPlan(grid: GridShape, options: GridPlanOptions = {}): GridPlan {
  return withPlan(grid, options, (plan) => ({ grid, lanes: options.lanes ?? 1, ...readSummary(plan), moves: readMoves(plan) }));
}

export interface HostRunOptions extends GridPlanOptions {
  /** "toGrid": the buffers hold row shards and end in the grid layout; "toRows": back */
  direction: "toGrid" | "toRows";
  /** bytes per element, 1..1024 */
  elementBytes: number;
  /** bound of every wait (default 60000) */
  timeoutMs?: number;
  /** agree on failures once per phase, as a queueing transport (NCCL) does, instead of after
   * every round: a failure in the exchange is then LAYOUT_LOST rather than rolled back */
  agreePerPhase?: boolean;
  /** one injected fault: the rank's `operation`-th transport operation (0 = its first) */
  fault?: { kind: Exclude<keyof typeof GRID_FAULT, "none">; rank: number; operation: number };
}

export interface HostRunResult {
  /** every rank's outcome ("UNKNOWN": a status this build does not know) */
  statuses: (StatusName | "UNKNOWN")[];
  /** the run's error (the failed rank's own, else the lowest live rank's), when any rank failed */
  error?: BunmgError;
}

/** Runs the plan for `grid` over one host buffer per rank (each at least gridCapacity elements
 * of elementBytes), every rank on its own thread, as the engine runs it across processes. */
export function runGridOnHost(grid: GridShape, buffers: readonly ArrayBufferView[], options: HostRunOptions): HostRunResult {
  const elementBytes = checkInteger(options.elementBytes, "elementBytes", 1, 1024);
  if (options.direction !== "toGrid" && options.direction !== "toRows") throw invalid(`direction must be "toGrid" or "toRows", got ${describe(options.direction)}`);
  const timeoutMs = checkInteger(options.timeoutMs ?? 0, "timeoutMs", 0);
  const need = gridCapacity(grid) * elementBytes; // checks the grid first
  const ranks = grid.prows * grid.pcols;
  if (!Array.isArray(buffers) || buffers.length !== ranks) throw invalid(`buffers must be an array of ${ranks} views (one per rank), got ${describe(buffers)}`);
  const addresses = new BigUint64Array(ranks);
  buffers.forEach((b, r) => {
    if (!ArrayBuffer.isView(b) || b.byteLength < need) throw invalid(`buffer of rank ${r} must be a view of at least ${need} bytes, got ${describe(b)}`);
    addresses[r] = BigInt(ptr(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
  });
  const fault = new BigInt64Array(3);
  if (options.fault) {
    const { kind, rank, operation } = options.fault;
    if (!(kind in GRID_FAULT) || kind === ("none" as string)) throw invalid(`fault.kind must be "fail", "die" or "stall", got ${describe(kind)}`);
    fault.set([BigInt(GRID_FAULT[kind]), BigInt(checkInteger(rank, "fault.rank", 0, ranks - 1)), BigInt(checkInteger(operation, "fault.operation", 0))]);
  }
  const statuses = new Int32Array(ranks);
  return withPlan(grid, options, (plan) => {
    const flags = (options.direction === "toRows" ? GRID_FLAGS.toRows : 0) | (options.agreePerPhase ? GRID_FLAGS.agreePerPhase : 0);
    const status = native().bunmg_grid_exec_host(plan, addresses, elementBytes, flags, timeoutMs, fault, statuses);
    const names = Array.from(statuses, (s) => STATUS_NAMES[s] ?? "UNKNOWN");
    return status === 0 ? { statuses: names } : { statuses: names, error: nativeError(status, "bunmg_grid_exec_host") };
  });
}
