// Grid redistributions between the ranks of a group (bunmg.h, "grid redistributions between the
// ranks of a group"): each rank moves its own host buffer between its row shard and its part of
// the 2D block-cyclic grid layout, together with the group's other ranks, through shared memory
// on one node (`bunmg launch` processes, or runSpmd's Workers).
import { ptr, type Pointer } from "bun:ffi";
import { GRID_FAULT, GRID_FAULT_AT, GRID_FLAGS } from "./abi.ts";
import { allocHost, checkArrayType, dtypeInfo, type DType, type StorageOf } from "./dtypes.ts";
import { BunmgError, disposed, invalid } from "./errors.ts";
import { createGridPlan, gridDescribe, readSummary, type GridPlanOptions, type GridPlanSummary, type GridRankInfo, type GridShape } from "./grid.ts";
import { Group } from "./group.ts";
import { HANDLE } from "./internal.ts";
import { asPointer, check, native } from "./native.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

export interface GroupGridOptions<D extends DType> extends GridPlanOptions {
  /** the elements' type (default float64) */
  dtype?: D;
  /** agree on failures once per phase, as a transport that only queues work does, instead of
   * after every round: a failure in the exchange is then LAYOUT_LOST rather than rolled back */
  agreePerPhase?: boolean;
}

/** A fault for tests (bunmg_grid_debug_inject): at the join, at this rank's `index`-th copy,
 * send or receive, or at its `index`-th agreement (0 = the join's). */
export interface GridFault {
  kind: Exclude<keyof typeof GRID_FAULT, "none">;
  at: keyof typeof GRID_FAULT_AT;
  index?: number;
}

/** This rank's side of a grid layout over its group: the plan (the same on every rank), its
 * part, and the moves of its host buffer between its row shard and that part. toGrid and toRows
 * are collective: every rank of the group calls them in the same order, with the same grid,
 * options and dtype, and every rank gets the same outcome (bunmg_grid_redistribute). Owns the
 * native plan: dispose() frees it. */
export class GroupGrid<D extends DType = "float64"> {
  readonly group: Group;
  readonly grid: GridShape;
  readonly dtype: D;
  readonly summary: GridPlanSummary;
  /** this rank's part of the grid layout, and its rows in row layout */
  readonly part: GridRankInfo;
  readonly #flags: number;
  #plan: number;

  constructor(group: Group, grid: GridShape, options?: GroupGridOptions<D> | null) {
    if (!(group instanceof Group)) throw invalid(`group must be a Group, got ${describe(group)}`);
    const { dtype = "float64" as D, agreePerPhase = false, ...planOptions } = optionsOf(options);
    dtypeInfo(dtype);
    if (typeof agreePerPhase !== "boolean") throw invalid(`agreePerPhase must be a boolean, got ${describe(agreePerPhase)}`);
    this.group = group;
    this.grid = grid;
    this.dtype = dtype;
    this.#flags = agreePerPhase ? GRID_FLAGS.agreePerPhase : 0;
    this.part = gridDescribe(grid, group.rank); // checks the grid and the rank
    this.#plan = createGridPlan(grid, planOptions);
    this.summary = readSummary(asPointer(this.#plan));
  }

  /** Elements of every rank's buffer. */
  get capacity(): number {
    return this.summary.capacity;
  }

  get disposed(): boolean {
    return this.#plan === 0;
  }

  /** A zeroed host buffer of `capacity` elements. */
  allocBuffer(): StorageOf<D> {
    return allocHost(this.dtype, this.capacity);
  }

  /** Moves the buffer from this rank's rows (at its start) to its part of the grid layout. */
  toGrid(buffer: StorageOf<D>): StorageOf<D> {
    return this.#run(buffer, this.#flags);
  }

  /** Moves the buffer from its part of the grid layout back to this rank's rows. */
  toRows(buffer: StorageOf<D>): StorageOf<D> {
    return this.#run(buffer, this.#flags | GRID_FLAGS.toRows);
  }

  /** @internal arms one fault for this rank's next toGrid or toRows (tests) */
  injectFault(fault: GridFault): void {
    const { kind, at, index = 0 } = optionsOf(fault, "fault");
    if (kind === undefined || !Object.hasOwn(GRID_FAULT, kind) || kind === ("none" as string)) throw invalid(`fault.kind must be "fail", "die" or "stall", got ${describe(kind)}`);
    if (at === undefined || !Object.hasOwn(GRID_FAULT_AT, at)) throw invalid(`fault.at must be "join", "move" or "agreement", got ${describe(at)}`);
    check(native().bunmg_grid_debug_inject(this.group[HANDLE](), GRID_FAULT[kind], GRID_FAULT_AT[at], checkInteger(index, "fault.index", 0)), "bunmg_grid_debug_inject");
  }

  /** Frees the plan. Idempotent. */
  dispose(): void {
    if (this.#plan === 0) return;
    const plan = this.#plan;
    this.#plan = 0;
    check(native().bunmg_grid_plan_destroy(asPointer(plan)), "bunmg_grid_plan_destroy");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    const g = this.grid;
    return `GroupGrid(${g.m} x ${g.n} ${this.dtype} in ${g.mb} x ${g.nb} blocks on ${g.prows} x ${g.pcols}, rank ${this.group.rank}${this.disposed ? ", disposed" : ""})`;
  }

  /** A rank whose own arguments are bad still takes part, passing NULL, so that every rank
   * fails alike (INVALID_ARGUMENT naming it) and the group stays usable; it then throws its own
   * reason. */
  #run(buffer: StorageOf<D>, flags: number): StorageOf<D> {
    const group = this.group[HANDLE](); // a rank that has left cannot take part
    let problem: BunmgError | undefined;
    if (this.#plan === 0) problem = disposed(`${this} was disposed`);
    else {
      try {
        if (checkArrayType(buffer, this.dtype, "buffer").length === 0) problem = invalid(`buffer is empty: it needs the plan's capacity of ${this.capacity} elements`);
      } catch (e) {
        problem = e as BunmgError;
      }
    }
    const address: Pointer | null = problem ? null : ptr(buffer);
    const status = native().bunmg_grid_redistribute(group, this.#plan === 0 ? null : asPointer(this.#plan), address, problem ? 0 : buffer.byteLength, dtypeInfo(this.dtype).bytes, flags);
    if (problem) throw problem;
    check(status, "bunmg_grid_redistribute");
    return buffer;
  }
}
