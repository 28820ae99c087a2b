// How bunmg ships: the platform package's manifest and its place in bunmg's, the glibc floor
// check of scripts/platform-package.ts, and the postinstall, which never fails an install.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLATFORM_PACKAGES } from "../lib/native.ts";
import { builtLibrary } from "../scripts/build.ts";
import { aboveFloor, FLOORS, PLATFORM_DIR, requiredVersions } from "../scripts/platform-package.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

const root = join(import.meta.dir, "..");
const read = (path: string) => Bun.file(path).json() as Promise<Record<string, unknown>>;

describe("the platform package", () => {
  test("named for its platform, with os, cpu and libc, bunmg's version, in bunmg's optionalDependencies", async () => {
    const main = await read(join(root, "package.json"));
    const platform = await read(join(PLATFORM_DIR, "package.json"));
    expect(PLATFORM_PACKAGES["linux-x64"]).toBe(platform.name as string);
    expect(platform).toMatchObject({ os: ["linux"], cpu: ["x64"], libc: ["glibc"], version: main.version });
    expect(main.optionalDependencies).toEqual({ [platform.name as string]: main.version });
    expect(platform.files).toContain("libbunmg.so");
  });

  test("its default export is the library's path inside the package", async () => {
    const { default: path } = (await import(join(PLATFORM_DIR, "index.js"))) as { default: string };
    expect(path).toBe(join(PLATFORM_DIR, "libbunmg.so"));
  });
});

describe("the glibc floor", () => {
  const readelf = `Version needs section '.gnu.version_r' contains 3 entries:
 Addr: 0x0000000000001e28  Offset: 0x001e28  Link: 7 (.dynstr)
  000000: Version: 1  File: libstdc++.so.6  Cnt: 1
  0x0010:   Name: CXXABI_1.3  Flags: none  Version: 9
  0x0020: Version: 1  File: libc.so.6  Cnt: 4
  0x0030:   Name: GLIBC_2.2.5  Flags: none  Version: 5
  0x0040:   Name: GLIBC_2.34  Flags: none  Version: 4
  0x0050:   Name: GLIBC_2.17  Flags: none  Version: 3
  0x0060:   Name: GLIBC_2.4  Flags: none  Version: 2`;

  test("the highest version of each family, compared as numbers", () => {
    expect(requiredVersions(readelf)).toEqual({ CXXABI: "1.3", GLIBC: "2.34" });
    expect(aboveFloor({ GLIBC: "2.34", CXXABI: "1.3" })).toEqual([]);
    expect(aboveFloor({ GLIBC: "2.35" })).toEqual([`GLIBC_2.35 > ${FLOORS.GLIBC}`]);
    expect(aboveFloor({ GLIBC: "2.4" }, { GLIBC: "2.17" })).toEqual([]); // 2.4 < 2.17
    expect(aboveFloor({ GLIBCXX: "3.4.30" }, { GLIBCXX: "3.4.29" })).toEqual(["GLIBCXX_3.4.30 > 3.4.29"]);
  });

  test("the library built here names what it needs", () => {
    if (!existsSync(builtLibrary)) return; // BUNMG_LIBRARY points elsewhere and nothing was built
    const proc = Bun.spawnSync(["readelf", "-V", "-W", builtLibrary]);
    expect(proc.exitCode).toBe(0);
    expect(requiredVersions(proc.stdout.toString()).GLIBC).toMatch(/^2\.\d+$/);
  });
});

describe("the postinstall", () => {
  const postinstall = join(root, "scripts", "postinstall.ts");

  test("without cmake or a compiler, it says what is missing and how to build later, and exits 0", () => {
    const bunOnly = mkdtempSync(join(tmpdir(), "bunmg-path-")); // a PATH with bun and nothing else
    symlinkSync(process.execPath, join(bunOnly, "bun"));
    try {
      const proc = Bun.spawnSync([process.execPath, postinstall], { cwd: root, env: { ...process.env, PATH: bunOnly, BUNMG_LIBRARY: "/no/such/libbunmg.so" } });
      const err = proc.stderr.toString();
      expect(proc.exitCode).toBe(0);
      expect(err).toContain("cmake (>= 3.20) and a C compiler (cc, gcc or clang) not found on PATH");
      expect(err).toContain("bunx bunmg build");
    } finally {
      rmSync(bunOnly, { recursive: true, force: true });
    }
  });

  test("with a usable library it builds nothing", () => {
    const proc = Bun.spawnSync([process.execPath, postinstall], { cwd: root, env: process.env });
    expect(proc.exitCode).toBe(0);
    expect(proc.stdout.toString()).toMatch(/^bunmg: using \S+libbunmg\.so \((local build|platform package|BUNMG_LIBRARY)\); nothing to build/m);
  });
});
