// Keys for internal accessors. They are not exported from index.ts, so the public objects show
// no native handles, yet the modules of this package can reach them.
export const HANDLE = Symbol("bunmg.handle"); // Mesh: native mesh handle, throws when disposed
export const TRACK = Symbol("bunmg.track"); // Mesh: register a resource to free before the mesh
export const UNTRACK = Symbol("bunmg.untrack");
export const STRUCT = Symbol("bunmg.struct"); // ShardedMatrix: its bunmg_matrix bytes
export const RUN = Symbol("bunmg.run"); // ShardedMatrix: a native call that may change its layout
export const ENSURE_CAPACITY = Symbol("bunmg.ensureCapacity"); // ShardedMatrix: room for a tile
export const RELEASE = Symbol("bunmg.release"); // MeshResource: free native memory now
export const ON_WRITE = Symbol("bunmg.onWrite"); // DeviceBuffer: called before its contents change

/** Something a mesh must release before the mesh itself goes. */
export interface MeshResource {
  /** Frees native memory; `reason` says why for later use-after-dispose messages. */
  [RELEASE](reason: string): void;
}
