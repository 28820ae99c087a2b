// Preloaded by bunfig.toml: bunfig has no test timeout key, so set it here. Solver tests on the
// host backend and the GPU suite can take a while on a 2-core CI box.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(120_000);
