// cyclicPlan: the redistribution plan libbunmg would run to move a row-sharded matrix into the
// cyclic layout, as plain data (for tests, benchmarks and curiosity; nothing is executed).
import { MAX_DEVICES, MOVE, PLAN_SUMMARY_FIELDS } from "./abi.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { checkInteger } from "./validate.ts";

export interface PlanMove {
  /** the cycle or chain this move belongs to; moves run in order within it */
  cycle: number;
  /** mesh positions; -1 = the staging buffer */
  srcDevice: number;
  dstDevice: number;
  /** local row offsets in the shard (or staging) buffers */
  srcRow: number;
  dstRow: number;
  rows: number;
}

export interface CyclicPlan {
  rows: number;
  tileSize: number;
  devices: number;
  lanes: number;
  /** runs of rows that move as one contiguous copy */
  pieces: number;
  /** disjoint cycles (each needs one staging piece while it runs) */
  cycles: number;
  /** open chains starting at a free slot (no staging) */
  chains: number;
  /** pieces already in place */
  fixed: number;
  /** copies issued, staging copies included */
  copies: number;
  /** rows copied between different positions */
  rowsCross: number;
  /** rows copied within one position (staging included) */
  rowsLocal: number;
  /** staging rows per device the executor allocates */
  stagingRows: number;
  /** rows per shard buffer (bunmg_shard_capacity) */
  capacity: number;
  /** rows */
  largestPiece: number;
  /** shards first moved up their buffer onto the tile grid (uneven shapes), through staging */
  shifts: number;
  /** the forward plan, in execution order within each cycle */
  moves: PlanMove[];
}


/** The plan for `rows` rows, tiles of `tileSize`, over `devices` positions with `lanes` copy
 * queues per device (default 1). */
export function cyclicPlan(rows: number, tileSize: number, devices: number, lanes = 1): CyclicPlan {
  checkInteger(rows, "rows", 1);
  checkInteger(tileSize, "tile size", 1);
  checkInteger(devices, "devices", 1, MAX_DEVICES);
  checkInteger(lanes, "lanes", 1);
  const lib = native();
  const out = new BigUint64Array(1);
  check(lib.bunmg_plan_create(rows, tileSize, devices, lanes, out), "bunmg_plan_create");
  const plan = asPointer(readPointer(out));
  let result: CyclicPlan;
  try {
    const summary = new BigInt64Array(PLAN_SUMMARY_FIELDS.length);
    check(lib.bunmg_plan_get_summary(plan, summary), "bunmg_plan_get_summary");
    const count = new BigInt64Array(1);
    // A first call with room for none gives the count (the buffer only needs to be non-null).
    check(lib.bunmg_plan_get_moves(plan, new Uint8Array(MOVE.bytes), 0, count), "bunmg_plan_get_moves");
    const n = Number(count[0]);
    const bytes = new Uint8Array(Math.max(1, n) * MOVE.bytes);
    check(lib.bunmg_plan_get_moves(plan, bytes, n, count), "bunmg_plan_get_moves");
    const v = new DataView(bytes.buffer);
    const moves: PlanMove[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * MOVE.bytes;
      moves.push({
        cycle: Number(v.getBigInt64(o + MOVE.offset.cycle, true)),
        srcDevice: v.getInt32(o + MOVE.offset.srcDev, true),
        dstDevice: v.getInt32(o + MOVE.offset.dstDev, true),
        srcRow: Number(v.getBigInt64(o + MOVE.offset.srcRow, true)),
        dstRow: Number(v.getBigInt64(o + MOVE.offset.dstRow, true)),
        rows: Number(v.getBigInt64(o + MOVE.offset.rows, true)),
      });
    }
    const fields = Object.fromEntries(PLAN_SUMMARY_FIELDS.map((k, i) => [k, Number(summary[i])])) as Record<
      (typeof PLAN_SUMMARY_FIELDS)[number],
      number
    >;
    result = { rows, tileSize, devices, lanes, ...fields, moves };
  } catch (e) {
    lib.bunmg_plan_destroy(plan); // the first error is the one to report
    throw e;
  }
  check(lib.bunmg_plan_destroy(plan), "bunmg_plan_destroy");
  return result;
}
