// bunmg: multi-GPU dense linear algebra for Bun over libbunmg (cuSOLVERMg, and cuSOLVERDn on one GPU).
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
export { MAX_DEVICES } from "./abi.ts";
export { cudaDeviceCount, Mesh, type Backend, type MemoryInfo } from "./mesh.ts";
export { DeviceBuffer, type CopyRange } from "./buffer.ts";
export { ShardedMatrix, shardCapacity, shardCapacityUpTo, type Layout, type MatrixShape, type RandomOptions } from "./sharded.ts";
export { cyclicPlan, type CyclicPlan, type PlanMove } from "./plan.ts";
export { defaultMaxTile, defaultTileSize, MAX_TILE, type Routine } from "./tiles.ts";
export {
  cholesky,
  CholeskyFactor,
  estimateMemory,
  potri,
  potrs,
  syevd,
  type EstimateOptions,
  type MemoryEstimate,
  type PotrsOptions,
  type SolverOptions,
  type SyevdOptions,
  type SyevdResult,
  type TileOptions,
} from "./solvers.ts";
export { chooseStrategy, type Strategy, type StrategyChoice, type StrategyOptions } from "./strategy.ts";
export {
  DEFAULT_GROUP_TIMEOUT_MS,
  Group,
  GroupShard,
  newJobId,
  sweepSharedMemory,
  type GroupMode,
  type GroupOptions,
  type GroupSyevdOptions,
  type GroupSyevdResult,
  type GroupTileOptions,
  type ShardOptions,
  type SweepOptions,
} from "./group.ts";
export { GroupError, runSpmd, type RankFunction, type SpmdOptions } from "./spmd.ts";
export { joinFromEnv, RANK_ENV, rankEnvironment, type RankEnvironment } from "./mpmd.ts";
export { launch, startLaunch, type LaunchedJob, type LaunchEngine, type LaunchOptions, type LaunchResult, type RankExit } from "./launch.ts";
export { expandHostlist, jobToken, launcherRank, LAUNCHER_VARIABLES, rendezvousAddress, slurmRendezvousPort, type Launcher, type LauncherRank } from "./launcher-env.ts";
export { Rendezvous, type RendezvousFailure, type RendezvousFault, type RendezvousOptions, type RendezvousPeer } from "./rendezvous.ts";
export { MpWorld, type MpFault, type MpGesvdOptions, type MpGesvdResult, type MpGridOptions, type MpRows, type MpSyevdOptions, type MpSyevdResult, type MpTallRows } from "./mp.ts";
export { MpFactor } from "./mp-factor.ts";
export { libraryPath, version } from "./native.ts";
export { diagnose, type BackendReport, type DoctorReport, type GpuReport, type RuntimeLibraryReport } from "./doctor.ts";
