import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BunmgError, Mesh, shardCapacity } from "../lib/index.ts";
import { thrown } from "./helpers.ts";
import { codeOf, NO_STATUS } from "../lib/errors.ts";
import { check } from "../lib/native.ts";
import { longTimeouts } from "./timeout.ts";

longTimeouts();

describe("BunmgError", () => {
  test("carries code, status and detail, and is an Error", () => {
    const e = new BunmgError("NOT_POSITIVE_DEFINITE", "minor 3", { index: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("BunmgError");
    expect(e.code).toBe("NOT_POSITIVE_DEFINITE");
    expect(e.status).toBe(7);
    expect(e.index).toBe(3);
    expect(e.device).toBeUndefined();
    expect(e.message).toBe("minor 3");
  });

  test("DISPOSED is a native status too; UNKNOWN has none", () => {
    expect(new BunmgError("DISPOSED", "gone").status).toBe(14);
    expect(new BunmgError("UNKNOWN", "?").status).toBe(NO_STATUS);
  });

  test("every bunmg_status of csrc/include/bunmg.h maps to its code", async () => {
    const header = await Bun.file(join(import.meta.dir, "..", "csrc", "include", "bunmg.h")).text();
    const statusEnum = header.slice(header.indexOf("typedef enum bunmg_status {"), header.indexOf("} bunmg_status;"));
    const statuses = [...statusEnum.matchAll(/BUNMG_([A-Z_]+) = (\d+)/g)]
      .map(([, name, value]) => [name, Number(value)] as const)
      .filter(([name]) => name !== "OK");
    expect(statuses.length).toBeGreaterThan(0); // the slice found the enum
    for (const [name, value] of statuses) {
      expect(codeOf(value)).toBe(name as ReturnType<typeof codeOf>);
      expect(new BunmgError(codeOf(value), "x").status).toBe(value);
    }
    expect(codeOf(99)).toBe("UNKNOWN");
    expect(codeOf(0)).toBe("UNKNOWN");
  });

  test("check() passes BUNMG_OK and turns a failed call into its error and message", () => {
    expect(() => check(0, "nothing")).not.toThrow();
    const e = thrown(() => shardCapacity(0, 1, 1));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.status).toBe(1);
    expect(e.message).toContain("rows must be >= 1");
    expect(e.index).toBeUndefined();
  });

  test("a native error does not leak into the next successful call", () => {
    thrown(() => shardCapacity(5, 0, 1));
    expect(shardCapacity(5, 2, 2)).toBe(4);
    const mesh = Mesh.host(1);
    mesh.dispose();
  });
});

describe("library loading", () => {
  const probe = join(import.meta.dir, "..", "lib", "index.ts");

  test("a missing library is LIBRARY_NOT_FOUND with build instructions", () => {
    // In a child process: this process has the library loaded already.
    const script = `
      const { Mesh, BunmgError } = await import(${JSON.stringify(probe)});
      try { Mesh.host(1); console.log("loaded?"); }
      catch (e) { console.log(JSON.stringify({ bunmg: e instanceof BunmgError, code: e.code, message: e.message })); }`;
    const proc = Bun.spawnSync([process.execPath, "-e", script], {
      env: { ...process.env, BUNMG_LIBRARY: "/nonexistent/libbunmg.so" },
    });
    const out = JSON.parse(proc.stdout.toString().trim()) as { bunmg: boolean; code: string; message: string };
    expect(out.bunmg).toBe(true);
    expect(out.code).toBe("LIBRARY_NOT_FOUND");
    expect(out.message).toContain("/nonexistent/libbunmg.so");
    expect(out.message).toContain("bun run build");
    expect(out.message).toContain("bunx bunmg build");
  });

  test("a file that is not a library is LIBRARY_NOT_FOUND too, not a crash", () => {
    const script = `
      const { version } = await import(${JSON.stringify(probe)});
      try { version(); } catch (e) { console.log(e.code); }`;
    const proc = Bun.spawnSync([process.execPath, "-e", script], {
      env: { ...process.env, BUNMG_LIBRARY: join(import.meta.dir, "setup.ts") },
    });
    expect(proc.exitCode).toBe(0);
    expect(proc.stdout.toString().trim()).toBe("LIBRARY_NOT_FOUND");
  });
});
