// bunmg: multi-GPU dense linear algebra for Bun over libbunmg (cuSOLVERMg).
export { BunmgError, type BunmgErrorCode } from "./errors.ts";
export {
  DTYPES,
  DTYPE_NAMES,
  dtypeInfo,
  isDType,
  type DType,
  type DTypeInfo,
  type HostArray,
  type RealDType,
  type RealOf,
  type StorageOf,
} from "./dtypes.ts";
export { cudaDeviceCount, Mesh, MAX_DEVICES, type Backend, type MemoryInfo } from "./mesh.ts";
export { DeviceBuffer, type CopyRange } from "./buffer.ts";
export { DEFAULT_MAX_TILE, ShardedMatrix, shardCapacity, type Layout, type MatrixShape, type RandomOptions } from "./sharded.ts";
export { cyclicPlan, type CyclicPlan, type PlanMove } from "./plan.ts";
export { defaultTileSize, MAX_TILE, type Routine } from "./tiles.ts";
export {
  cholesky,
  CholeskyFactor,
  estimateMemory,
  potri,
  potrs,
  syevd,
  type EstimateOptions,
  type MemoryEstimate,
  type SyevdOptions,
  type SyevdResult,
  type TileOptions,
} from "./solvers.ts";
export { libraryPath, version } from "./native.ts";
