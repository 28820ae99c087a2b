// Default tile sizes (rows per tile of the cyclic layout). Placeholders until the benchmarks
// tune them: cuSOLVERMg advises T >= 256; syevd accepts T <= 1024.
import type { DType } from "./dtypes.ts";

export type Routine = "potrs" | "potri" | "syevd";

/** Largest tile each routine accepts. */
export const MAX_TILE: Readonly<Record<Routine, number>> = { potrs: 2 ** 31 - 1, potri: 2 ** 31 - 1, syevd: 1024 };

// Per routine and dtype, so benchmark results can be dropped in per case.
const TILE: Readonly<Record<Routine, Readonly<Record<DType, number>>>> = {
  potrs: { float32: 256, float64: 256, complex64: 256, complex128: 256 },
  potri: { float32: 256, float64: 256, complex64: 256, complex128: 256 },
  syevd: { float32: 256, float64: 256, complex64: 256, complex128: 256 },
};

/** The tile size used when none is given, for an n x n matrix. */
export function defaultTileSize(routine: Routine, dtype: DType, n: number): number {
  const tile = Math.min(TILE[routine][dtype], MAX_TILE[routine]);
  // A matrix smaller than a tile is one tile: a larger T would only pad the shards.
  return Math.max(1, Math.min(n, tile));
}
