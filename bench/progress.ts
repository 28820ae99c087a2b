// Progress lines on stderr: "[3/7] redistribute n=32768 T=256 float64 ... (~2m 10s left)".
// Each case carries a rough estimate (bench/estimates.ts); once a case has finished, the
// estimates of the rest are scaled by how the finished ones compared.
import { now } from "./timing.ts";

export interface CaseInfo {
  /** e.g. "n=32768 T=256 float64" */
  label: string;
  /** rough seconds (a-priori for GPUs of the H100 class; bench/estimates.ts scales them) */
  estimate: number;
}

export function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const whole = Math.max(1, Math.round(s));
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m ${String(whole - 60 * m).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export class Progress {
  readonly total: number;
  #index = 0;
  #remaining: number;
  #estimatedDone = 0;
  #spentDone = 0;
  #current: { estimate: number; start: number } | undefined;

  constructor(cases: readonly CaseInfo[]) {
    this.total = cases.length;
    this.#remaining = cases.reduce((s, c) => s + c.estimate, 0);
  }

  /** Announces the next case (and closes the previous one). */
  start(scenario: string, info: CaseInfo): void {
    this.finish();
    this.#index++;
    const left = this.#estimatedDone > 0 ? ` (~${duration((this.#remaining * this.#spentDone) / this.#estimatedDone)} left)` : "";
    process.stderr.write(`[${this.#index}/${this.total}] ${scenario} ${info.label} ...${left}\n`);
    this.#current = { estimate: info.estimate, start: now() };
  }

  /** A detail line under the current case. */
  log(message: string): void {
    process.stderr.write(`      ${message}\n`);
  }

  /** Closes the current case; called by start() and at the end. */
  finish(): void {
    if (this.#current === undefined) return;
    this.#estimatedDone += this.#current.estimate;
    this.#spentDone += now() - this.#current.start;
    this.#remaining -= this.#current.estimate;
    this.#current = undefined;
  }
}
