// Timing helpers: wall-clock seconds around synchronous calls (every bunmg call returns only
// when the devices are done), medians, warm-up runs.

export function now(): number {
  return performance.now() / 1e3;
}

/** Seconds taken by `fn`. */
export function seconds(fn: () => unknown): number {
  const t0 = now();
  fn();
  return now() - t0;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export interface Timed {
  median: number;
  /** timed repeats, in order */
  all: number[];
}

export interface RepeatOptions {
  repeats: number;
  /** untimed runs first (default 1) */
  warmup?: number;
  /** run before every run, outside the timed region (regenerate inputs) */
  before?: () => void;
  /** run after every run, outside the timed region (restore layouts, sample memory) */
  after?: () => void;
  /** told about each run: index (negative for warm-ups), seconds */
  onRun?: (run: number, seconds: number) => void;
}

/** Times `body` `repeats` times after `warmup` untimed runs. */
export function timeRepeats(body: () => unknown, options: RepeatOptions): Timed {
  const warmup = options.warmup ?? 1;
  const all: number[] = [];
  for (let r = -warmup; r < options.repeats; r++) {
    options.before?.();
    const dt = seconds(body);
    options.after?.();
    options.onRun?.(r, dt);
    if (r >= 0) all.push(dt);
  }
  return { median: median(all), all };
}
