// BunmgError: every failure of bunmg, native or TS-side, is one of these with a stable `code`.
import { STATUS_NAMES, type StatusName } from "./abi.ts";

export type NativeErrorCode = Exclude<StatusName, "OK">;
/** DISPOSED: a handle was used after dispose(). UNKNOWN: a status this build does not know
 * (a library newer than its TypeScript layer). */
export type BunmgErrorCode = NativeErrorCode | "DISPOSED" | "UNKNOWN";

/** Status value reported for errors raised on the TS side with no native status. */
export const NO_STATUS = -1;

export interface BunmgErrorDetail {
  status?: number;
  /** leading minor / pivot / eigensolver info (1-based, as LAPACK reports it) */
  index?: number | undefined;
  /** mesh position (or rank) the failure happened on */
  device?: number | undefined;
  cause?: unknown;
}

/** The one error type of bunmg: `code` says what went wrong, `index` and `device` where. */
export class BunmgError extends Error {
  readonly code: BunmgErrorCode;
  /** the bunmg_status value, or NO_STATUS (-1) for TS-side errors such as DISPOSED */
  readonly status: number;
  readonly index?: number;
  readonly device?: number;

  constructor(code: BunmgErrorCode, message: string, detail: BunmgErrorDetail = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = "BunmgError";
    this.code = code;
    this.status = detail.status ?? statusOf(code);
    if (detail.index !== undefined) this.index = detail.index;
    if (detail.device !== undefined) this.device = detail.device;
  }
}

function statusOf(code: BunmgErrorCode): number {
  const i = (STATUS_NAMES as readonly string[]).indexOf(code);
  return i > 0 ? i : NO_STATUS;
}

/** The error code for a bunmg_status value. */
export function codeOf(status: number): BunmgErrorCode {
  const code = STATUS_NAMES[status];
  return code === undefined || code === "OK" ? "UNKNOWN" : code;
}

/** An INVALID_ARGUMENT error with this message. */
export function invalid(message: string): BunmgError {
  return new BunmgError("INVALID_ARGUMENT", message);
}

/** A DISPOSED error (use of a disposed or stale object) with this message. */
export function disposed(message: string): BunmgError {
  return new BunmgError("DISPOSED", message);
}
