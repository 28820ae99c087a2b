// Preloaded by bunfig.toml (bunfig has no test timeout key). Bun applies a preload's
// setDefaultTimeout to the first test file of a run only (oven-sh/bun#43787), so every test file
// also calls longTimeouts() from helpers.ts; this covers files that don't.
import { setDefaultTimeout } from "bun:test";
import { TEST_TIMEOUT_MS } from "./timeout.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);
