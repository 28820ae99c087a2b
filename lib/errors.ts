// BunmgError: every failure of bunmg, native or TS-side, is one of these with a stable `code`.
import { lastErrorDetail, lastErrorMessage } from "./native.ts";

/** Codes mirroring csrc/include/bunmg.h `bunmg_status` (index = status value). */
const STATUS_CODES = [
  "OK",
  "INVALID_ARGUMENT",
  "OUT_OF_MEMORY",
  "LIBRARY_NOT_FOUND",
  "NO_DEVICE",
  "DEVICE_ERROR",
  "SOLVER_ERROR",
  "NOT_POSITIVE_DEFINITE",
  "NO_CONVERGENCE",
  "SINGULAR",
  "LAYOUT_LOST",
  "UNSUPPORTED",
  "TIMEOUT",
  "PEER_LOST",
] as const;

export type NativeErrorCode = Exclude<(typeof STATUS_CODES)[number], "OK">;
/** DISPOSED: a handle was used after dispose(). UNKNOWN: a status this build does not know
 * (a library newer than its TypeScript layer). */
export type BunmgErrorCode = NativeErrorCode | "DISPOSED" | "UNKNOWN";

/** Status value reported for errors raised on the TS side with no native status. */
export const NO_STATUS = -1;

export interface BunmgErrorDetail {
  status?: number;
  /** leading minor / pivot / eigensolver info (1-based, as LAPACK reports it) */
  index?: number;
  /** mesh position (or rank) the failure happened on */
  device?: number;
  cause?: unknown;
}

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
  const i = (STATUS_CODES as readonly string[]).indexOf(code);
  return i > 0 ? i : NO_STATUS;
}

/** The error code for a bunmg_status value. */
export function codeOf(status: number): BunmgErrorCode {
  const code = STATUS_CODES[status];
  return code === undefined || code === "OK" ? "UNKNOWN" : code;
}

/** Throws the calling thread's last native error when `status` is not BUNMG_OK. `what` names
 * the call, used when the library left no message. */
export function check(status: number, what: string): void {
  if (status === 0) return;
  throw nativeError(status, what);
}

/** Builds (without throwing) the BunmgError for a failed native call. */
export function nativeError(status: number, what: string): BunmgError {
  const message = lastErrorMessage() || `${what} failed with status ${status}`;
  const { index, device } = lastErrorDetail();
  return new BunmgError(codeOf(status), message, {
    status,
    ...(index >= 0 ? { index } : {}),
    ...(device >= 0 ? { device } : {}),
  });
}

export function invalid(message: string): BunmgError {
  return new BunmgError("INVALID_ARGUMENT", message);
}

export function disposed(message: string): BunmgError {
  return new BunmgError("DISPOSED", message);
}
