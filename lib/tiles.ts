// Default tile sizes (rows per tile of the cyclic layout), from the tile sweeps in bench/NOTES.md
// (2 x H200 in DESIGN.md, and `bun bench --scenario tiles` on an H100): Cholesky-based routines
// gain from wide tiles once N is large (potri c128 N = 16384 on 2 x H200: T = 2048 0.70 s, 1024
// 0.77 s, 256 2.45 s; on the H100, potrs f64 N = 32768: 2048 0.307 s, 1024 0.322 s, 256 0.780 s),
// while syevd is fastest at T = 256 (f64 N = 16384: 5.52 s, vs 5.81 s at 512 and 6.20 s at 1024
// on 2 x H200; 256 best on the H100 too) and accepts at most 1024. Small matrices keep tiles small
// so every device holds some.
import type { DType } from "./dtypes.ts";

export type Routine = "potrs" | "potri" | "syevd";

/** Largest tile each routine accepts. */
export const MAX_TILE: Readonly<Record<Routine, number>> = { potrs: 2 ** 31 - 1, potri: 2 ** 31 - 1, syevd: 1024 };

/** The tile size used when none is given, for an n x n matrix. The rule is the same for every
 * dtype: the measurements above did not separate them. */
export function defaultTileSize(routine: Routine, _dtype: DType, n: number): number {
  let tile = 256;
  if (routine !== "syevd") tile = n >= 16384 ? 2048 : n >= 8192 ? 1024 : n >= 4096 ? 512 : 256;
  // A matrix smaller than a tile is one tile: a larger T would only pad the shards.
  return Math.max(1, Math.min(n, tile));
}
