// Preloaded by bunfig.toml, once per `bun test`, before any test file.
//  - The default per-test timeout. Bun applies a preload's setDefaultTimeout to the first test
//    file of a run only (oven-sh/bun#43787), so every test file also calls longTimeouts() from
//    timeout.ts; this covers files that don't.
//  - libbunmg and LAPACK must load: without them most of the suite would fail, each test with the
//    same message. The run stops here instead, saying once what is missing and the fix.
import { setDefaultTimeout } from "bun:test";
import { libraryFix, probeLibrary } from "../lib/doctor.ts";
import { native } from "../lib/native.ts";
import { TEST_TIMEOUT_MS } from "./timeout.ts";

setDefaultTimeout(TEST_TIMEOUT_MS);

function stop(problem: string, fix: string): never {
  console.error(`\nbun test: ${problem}\n  fix: ${fix}\n`);
  process.exit(1);
}

try {
  native();
} catch (e) {
  stop((e as Error).message, "`bun run build`; `bunx bunmg doctor` says what is there");
}
const lapack = probeLibrary("lapack");
if (!lapack.found) stop(`LAPACK, which the host backend's solvers need, could not be loaded: ${lapack.error ?? "not found"}`, libraryFix(lapack));
