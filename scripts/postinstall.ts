// The install hook (package.json "postinstall"): builds libbunmg from source unless a usable one
// is already there ($BUNMG_LIBRARY, the platform package, a current local build), and never
// fails the install. When the build cannot run or fails, it says what is missing and how to
// build later; the package stays installed.
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { locateLibrary, native } from "../lib/native.ts";
import { build, BuildError, missingTools, packageRoot } from "./build.ts";

const LATER = "Build it later with `bunx bunmg build` (in a clone of bunmg: `bun run build`), or set BUNMG_LIBRARY to a built libbunmg.so.";

/** Why the library the loader would use is not usable, or undefined when it is. */
function unusable(): string | undefined {
  const { path, source } = locateLibrary();
  if (!existsSync(path)) return `${path} (${source}) does not exist`;
  try {
    native();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** In a clone bunmg is linked into its own node_modules, so an install runs this hook twice: for
 * that link (where Bun hides the output; skipped) and for the clone itself. */
function forOwnLink(): boolean {
  const manifest = process.env.npm_package_json;
  return manifest !== undefined && manifest !== join(packageRoot, "package.json") && realpathSync(dirname(manifest)) === realpathSync(packageRoot);
}

function main(): void {
  if (forOwnLink()) return;
  const why = unusable();
  if (why === undefined) {
    const { path, source } = locateLibrary();
    console.log(`bunmg: using ${path} (${source}); nothing to build`);
    return;
  }
  const missing = missingTools();
  if (missing.length > 0) {
    console.warn(`bunmg: libbunmg is not built and cannot be built here: ${missing.join(" and ")} not found on PATH. ${LATER}`);
    return;
  }
  console.log(`bunmg: building libbunmg from source (${why})`);
  try {
    build({ cuda: "auto", sanitize: false });
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.warn(`bunmg: ${e.message}. The package is installed without libbunmg; fix the cause above, then: ${LATER}`);
  }
}

try {
  main();
} catch (e) {
  console.warn(`bunmg: postinstall: ${(e as Error).message}. ${LATER}`);
}
