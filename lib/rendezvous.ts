// The rendezvous across nodes (csrc/include/bunmg.h, "rendezvous across nodes"): the job's ranks
// meet over TCP at rank 0, get the rank table and rank 0's blob (the NCCL unique id), and keep
// the connections as the liveness channel, with two collectives over them: an agreement on a
// status and a broadcast from rank 0.
import { ptr } from "bun:ffi";
import { RENDEZVOUS_FAULT, RENDEZVOUS_LIMITS, RENDEZVOUS_OPTIONS, RENDEZVOUS_PEER, STATUS_NAMES, type StatusName } from "./abi.ts";
import { disposed, invalid } from "./errors.ts";
import { jobToken, launcherRank, rendezvousAddress } from "./launcher-env.ts";
import { asPointer, check, native, readPointer } from "./native.ts";
import { checkInteger, describe, optionsOf } from "./validate.ts";

export interface RendezvousOptions {
  /** rank 0's "host:port" ("[v6 address]:port"); rank 0 listens on its port */
  address: string;
  /** the job's secret (1 to 64 bytes) */
  token: string;
  rank: number;
  size: number;
  /** which device on its node */
  localRank?: number;
  /** the join's and every collective's timeout (default 60000) */
  timeoutMs?: number;
  /** rank 0's blob (up to 256 bytes); the others' is ignored */
  blob?: Uint8Array;
}

export interface RendezvousPeer {
  rank: number;
  /** undefined when its launcher did not say */
  localRank: number | undefined;
  pid: number;
  /** process start time, clock ticks after boot */
  start: bigint;
  host: string;
}

/** The outcome of an agreement: the lowest rank whose status was not OK, and its status. */
export interface RendezvousFailure {
  rank: number;
  status: StatusName;
}

export type RendezvousFault = Exclude<keyof typeof RENDEZVOUS_FAULT, "none" | "dieAtJoin">;

const encoder = new TextEncoder();

// A zero-length typed array cannot be passed to bun:ffi's `buffer`; a one-byte one stands in.
const EMPTY = new Uint8Array(1);

function readInfo(handle: number): { rank: number; size: number; blobBytes: number; refused: number } {
  const rank = new Int32Array(1);
  const size = new Int32Array(1);
  const blobBytes = new BigInt64Array(1);
  const refused = new BigInt64Array(1);
  check(native().bunmg_rendezvous_info(asPointer(handle), rank, size, blobBytes, refused), "bunmg_rendezvous_info");
  return { rank: rank[0]!, size: size[0]!, blobBytes: Number(blobBytes[0]), refused: Number(refused[0]) };
}

function cString(text: unknown, name: string): Uint8Array {
  if (typeof text !== "string") throw invalid(`${name} must be a string, got ${describe(text)}`);
  return encoder.encode(`${text}\0`);
}

/** One rank of the job. join() blocks the calling thread until every rank joined (or the
 * timeout); agree() and bcast() are collective, in the same order on every rank, and block
 * likewise; check() and the table are local. */
export class Rendezvous {
  readonly rank: number;
  readonly size: number;
  #handle: number;

  private constructor(handle: number) {
    this.#handle = handle;
    const info = readInfo(handle);
    this.rank = info.rank;
    this.size = info.size;
  }

  static join(options: RendezvousOptions): Rendezvous {
    const o = optionsOf(options);
    const address = cString(o.address as unknown, "address");
    const token = cString(o.token as unknown, "token");
    const blob = o.blob ?? new Uint8Array(0);
    if (!(blob instanceof Uint8Array)) throw invalid(`blob must be a Uint8Array, got ${describe(blob)}`);
    const bytes = new Uint8Array(RENDEZVOUS_OPTIONS.bytes);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(RENDEZVOUS_OPTIONS.offset.address, BigInt(ptr(address)), true);
    v.setBigUint64(RENDEZVOUS_OPTIONS.offset.token, BigInt(ptr(token)), true);
    v.setInt32(RENDEZVOUS_OPTIONS.offset.rank, checkInteger(o.rank, "rank", 0, 65535), true);
    v.setInt32(RENDEZVOUS_OPTIONS.offset.size, checkInteger(o.size, "size", 1, 65536), true);
    v.setInt32(RENDEZVOUS_OPTIONS.offset.localRank, checkInteger(o.localRank ?? -1, "localRank", -1, 65535), true);
    v.setBigInt64(RENDEZVOUS_OPTIONS.offset.timeoutMs, BigInt(checkInteger(o.timeoutMs ?? 0, "timeoutMs", 0)), true);
    const out = new BigUint64Array(1);
    check(native().bunmg_rendezvous_join(bytes, blob.length > 0 ? blob : EMPTY, blob.length, out), "bunmg_rendezvous_join");
    return new Rendezvous(readPointer(out));
  }

  /** Joins as the launcher's variables say (docs/mp-engine.md, section 1.1): rank, size and local
   * rank from launcherRank, the address from rendezvousAddress, the token from jobToken. */
  static fromEnvironment(
    options?: { blob?: Uint8Array; timeoutMs?: number } | null,
    env: Record<string, string | undefined> = process.env,
  ): Rendezvous {
    const me = launcherRank(env);
    if (me === undefined) throw invalid("no launcher's rank variables are set (docs/mp-engine.md, section 1.1)");
    const address = rendezvousAddress(me.launcher, env);
    if (address === undefined) throw invalid(`no rendezvous address: set BUNMG_RENDEZVOUS=host:port (launcher ${me.launcher})`);
    const token = jobToken(me.launcher, env);
    if (token === undefined) throw invalid("no job token: set BUNMG_JOB_TOKEN, or BUNMG_JOB_SECRET under SLURM");
    const o = optionsOf(options);
    return Rendezvous.join({
      address,
      token,
      rank: me.rank,
      size: me.size,
      ...(me.localRank === undefined ? {} : { localRank: me.localRank }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...(o.blob === undefined ? {} : { blob: o.blob }),
    });
  }

  /** Arms this process's next join to kill the process once its hello is sent (tests). */
  static dieAtNextJoin(): void {
    check(native().bunmg_rendezvous_debug_inject(null, RENDEZVOUS_FAULT.dieAtJoin), "bunmg_rendezvous_debug_inject");
  }

  get disposed(): boolean {
    return this.#handle === 0;
  }

  /** Connections rank 0 refused while joining (0 on the other ranks). */
  get refused(): number {
    this.#alive();
    return readInfo(this.#handle).refused;
  }

  /** Rank 0's blob. */
  blob(): Uint8Array {
    const handle = this.#alive();
    const out = new Uint8Array(readInfo(this.#handle).blobBytes);
    check(native().bunmg_rendezvous_blob(handle, out.length > 0 ? out : EMPTY, out.length), "bunmg_rendezvous_blob");
    return out;
  }

  /** The rank table, indexed by rank. */
  peers(): RendezvousPeer[] {
    const handle = this.#alive();
    const decoder = new TextDecoder();
    return Array.from({ length: this.size }, (_, rank) => {
      const bytes = new Uint8Array(RENDEZVOUS_PEER.bytes);
      check(native().bunmg_rendezvous_peer_info(handle, rank, bytes), "bunmg_rendezvous_peer_info");
      const v = new DataView(bytes.buffer);
      const host = bytes.subarray(RENDEZVOUS_PEER.offset.host, RENDEZVOUS_PEER.offset.host + RENDEZVOUS_LIMITS.hostBytes);
      const end = host.indexOf(0);
      const localRank = v.getInt32(RENDEZVOUS_PEER.offset.localRank, true);
      return {
        rank: v.getInt32(RENDEZVOUS_PEER.offset.rank, true),
        localRank: localRank < 0 ? undefined : localRank,
        pid: Number(v.getBigInt64(RENDEZVOUS_PEER.offset.pid, true)),
        start: v.getBigUint64(RENDEZVOUS_PEER.offset.start, true),
        host: decoder.decode(host.subarray(0, end < 0 ? host.length : end)),
      };
    });
  }

  /** Throws PEER_LOST or TIMEOUT (device = the rank) once the job is broken; never blocks. */
  check(): void {
    check(native().bunmg_rendezvous_check(this.#alive()), "bunmg_rendezvous_check");
  }

  /** Every rank gives its status; the lowest rank that failed and its status, or undefined. */
  agree(mine: StatusName = "OK"): RendezvousFailure | undefined {
    const status = (STATUS_NAMES as readonly string[]).indexOf(mine);
    if (status < 0) throw invalid(`mine must be a status name, got ${describe(mine)}`);
    const first = new Int32Array(1);
    const theirs = new Int32Array(1);
    check(native().bunmg_rendezvous_agree(this.#alive(), status, first, theirs), "bunmg_rendezvous_agree");
    return first[0]! < 0 ? undefined : { rank: first[0]!, status: STATUS_NAMES[theirs[0]!]! }; // C takes bunmg_status values only
  }

  /** Rank 0's bytes into every rank's `data` (every rank passes as many bytes). */
  bcast(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw invalid(`data must be a Uint8Array, got ${describe(data)}`);
    check(native().bunmg_rendezvous_bcast(this.#alive(), data.length > 0 ? data : EMPTY, data.length), "bunmg_rendezvous_bcast");
  }

  /** A fault for tests: "silent" stops this rank's heartbeats, "dieAtAgree" kills the process at
   * its next agreement. */
  debugInject(fault: RendezvousFault): void {
    const kind = RENDEZVOUS_FAULT[fault];
    if (kind === undefined) throw invalid(`unknown fault ${describe(fault)}`);
    check(native().bunmg_rendezvous_debug_inject(this.#alive(), kind), "bunmg_rendezvous_debug_inject");
  }

  /** Leaves the job (not a loss for the others), closes the connections. Idempotent. */
  dispose(): void {
    if (this.#handle === 0) return;
    const handle = asPointer(this.#handle);
    this.#handle = 0;
    check(native().bunmg_rendezvous_leave(handle), "bunmg_rendezvous_leave");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #alive() {
    if (this.#handle === 0) throw disposed("this Rendezvous was disposed (it left the job)");
    return asPointer(this.#handle);
  }
}
