// Builds the platform package packages/bunmg-linux-x64-gnu: libbunmg with the CUDA backend
// (the toolkit from CUDA_HOME etc., as `bunmg build --cuda`; scripts/cuda-toolchain.sh installs
// one), copied into the package with bunmg's version, after checking that the library needs no
// newer glibc than GLIBC_FLOOR. With --pack, also writes the tarball.
//
//   bun scripts/platform-package.ts [--pack DIR]
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build, BuildError, buildDir, packageRoot } from "./build.ts";

export const PLATFORM_DIR = join(packageRoot, "packages", "bunmg-linux-x64-gnu");

/** The oldest glibc the prebuilt library supports (and libstdc++'s, for the CUDA runtime's C++):
 * what a build on a current distribution needs, since glibc 2.34 moved pthread and dl* into
 * libc (Debian 12, Ubuntu 22.04, RHEL 9 and newer; libstdc++ of GCC 11). */
export const FLOORS: Readonly<Record<string, string>> = { GLIBC: "2.34", GLIBCXX: "3.4.29", CXXABI: "1.3.13" };

const compare = (a: string, b: string) => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** The highest version of each family (GLIBC, GLIBCXX, CXXABI) that `readelf -V` output names
 * in the library's version needs. */
export function requiredVersions(readelf: string): Record<string, string> {
  const highest: Record<string, string> = {};
  for (const m of readelf.matchAll(/Name: (GLIBC|GLIBCXX|CXXABI)_([0-9.]+)/g)) {
    const [family, version] = [m[1]!, m[2]!];
    if (highest[family] === undefined || compare(version, highest[family]!) > 0) highest[family] = version;
  }
  return highest;
}

/** The versions above their floor, as "GLIBC_2.35 > 2.34"; empty when none is. */
export function aboveFloor(required: Record<string, string>, floors: Record<string, string> = FLOORS): string[] {
  return Object.entries(required)
    .filter(([family, version]) => floors[family] !== undefined && compare(version, floors[family]!) > 0)
    .map(([family, version]) => `${family}_${version} > ${floors[family]}`);
}

function readelf(library: string): string {
  const proc = Bun.spawnSync(["readelf", "-V", "-W", library]);
  if (proc.exitCode !== 0) throw new BuildError(`platform package: readelf -V ${library} failed: ${proc.stderr.toString()}`);
  return proc.stdout.toString();
}

/** Builds the library into build/platform, checks its floor, fills the package; returns the
 * package folder. */
export function buildPlatformPackage(): string {
  const dir = join(buildDir, "platform");
  build({ cuda: "on", sanitize: false, dir, target: "bunmg" });
  const library = join(dir, "libbunmg.so");
  const required = requiredVersions(readelf(library));
  console.log(`platform package: ${library} needs ${Object.entries(required).map(([f, v]) => `${f}_${v}`).join(", ")}`);
  const over = aboveFloor(required);
  if (over.length > 0) throw new BuildError(`platform package: the library needs a newer runtime than the stated floor: ${over.join(", ")} (build it on an older distribution)`);
  copyFileSync(library, join(PLATFORM_DIR, "libbunmg.so"));
  const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
  const manifestPath = join(PLATFORM_DIR, "package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version: string };
  if (manifest.version !== version) writeFileSync(manifestPath, `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
  console.log(`platform package: ${PLATFORM_DIR} (${version}), within the floor ${Object.entries(FLOORS).map(([f, v]) => `${f} ${v}`).join(", ")}`);
  return PLATFORM_DIR;
}

/** `bun pm pack` of a package folder into `destination`; returns the tarball's path. */
export function pack(folder: string, to: string): string {
  const destination = resolve(to); // bun pm pack runs in the package's folder
  mkdirSync(destination, { recursive: true });
  const proc = Bun.spawnSync([process.execPath, "pm", "pack", "--quiet", "--destination", destination], { cwd: folder, stderr: "inherit" });
  if (proc.exitCode !== 0) throw new BuildError(`bun pm pack in ${folder} failed with exit code ${proc.exitCode}`);
  const name = proc.stdout.toString().trim().split("\n").pop() ?? "";
  return name.startsWith("/") ? name : join(destination, name);
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({ options: { pack: { type: "string" } }, strict: true });
    const folder = buildPlatformPackage();
    if (values.pack !== undefined) console.log(`platform package: ${pack(folder, values.pack)}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
