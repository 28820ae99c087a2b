import { setDefaultTimeout } from "bun:test";

/** Solver tests on the host backend and the GPU suite can take a while on a 2-core CI box. */
export const TEST_TIMEOUT_MS = 120_000;

/** Call at the top of a test file: the default timeout is per file in Bun. */
export function longTimeouts(): void {
  setDefaultTimeout(TEST_TIMEOUT_MS);
}
