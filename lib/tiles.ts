// Tile sizes of the multi path's cyclic layout. The rule lives in libbunmg (csrc/src/core/tiles.c,
// from the tile sweeps in bench/NOTES.md); this module asks it.
import { MAX_TILE, ROUTINE } from "./abi.ts";
import { dtypeInfo, type DType } from "./dtypes.ts";
import { check, native } from "./native.ts";
import { checkInteger } from "./validate.ts";

export type Routine = keyof typeof ROUTINE;
export { MAX_TILE };

/** The tile size the multi path uses when none is given, for an n x n matrix of `dtype`. */
export function defaultTileSize(routine: Routine, dtype: DType, n: number): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_default_tile(ROUTINE[routine], dtypeInfo(dtype).code, checkInteger(n, "n", 1), out), "bunmg_default_tile");
  return Number(out[0]);
}

/** The largest default tile of any routine at this n: the room every matrix's shards get. */
export function defaultMaxTile(dtype: DType, n: number): number {
  const out = new BigInt64Array(1);
  check(native().bunmg_default_max_tile(dtypeInfo(dtype).code, checkInteger(n, "n", 1), out), "bunmg_default_max_tile");
  return Number(out[0]);
}
