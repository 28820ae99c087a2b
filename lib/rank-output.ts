// What a launch reports, whichever engine started its ranks (launch.ts: one process per rank;
// mpirun.ts: one MPI job): each rank's output lines and how it ended.
import { constants } from "node:os";

export interface RankExit {
  rank: number;
  device: number;
  pid: number;
  exitCode: number | null;
  signal: string | null;
  /** the launcher terminated it: it was still running graceMs after the first rank exited */
  terminated: boolean;
  /** an MPI job's rank that ended without reporting how (killed by a signal, or never started):
   * exitCode and signal are then null */
  unreported?: boolean;
}

export interface LaunchResult {
  job: string;
  /** 0 when every rank exited 0; else the exit code of the first rank seen to fail (128 + n
   * for signal n). Ranks that die together may be seen in either order. */
  exitCode: number;
  ranks: RankExit[];
  /** segments removed by the final sweep */
  removed: number;
  /** the first rank to exit, which started the grace (undefined when none did before) */
  firstExit?: number | undefined;
}

export interface LaunchedJob {
  job: string;
  ranks: readonly { rank: number; device: number; pid: number }[];
  /** sends a signal (default SIGTERM) to one rank, or to every rank still running */
  kill(rank?: number, signal?: NodeJS.Signals): void;
  finished: Promise<LaunchResult>;
}

/** How long a terminated rank has between SIGTERM and SIGKILL. */
export const KILL_AFTER_TERM_MS = 2000;

/** Calls `emit` with each line of `stream` (the last one even without its newline). */
export async function forwardLines(stream: ReadableStream<Uint8Array>, emit: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) emit(line);
  }
  pending += decoder.decode();
  if (pending !== "") emit(pending);
}

/** The default output of a launch: each line on this process's stream, prefixed "[rank r] "
 * ("[mpirun] " for mpirun's own lines, rank -1). */
export function writePrefixed(rank: number, stream: "stdout" | "stderr", line: string): void {
  (stream === "stdout" ? process.stdout : process.stderr).write(`${rank < 0 ? "[mpirun]" : `[rank ${rank}]`} ${line}\n`);
}

/** A rank's exit as one status: its code, or 128 + n for signal n (1 when unknown). */
export function exitStatus(exit: RankExit): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal as NodeJS.Signals] ?? 0);
  return exit.exitCode ?? 1;
}
