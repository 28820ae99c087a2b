// MpWorld.join's GPU engine where it can run without a GPU: its arguments, and a library that
// cannot be loaded (LIBRARY_NOT_FOUND naming it, where from and its package) or a build without
// the engine (UNSUPPORTED saying so). Each case in a child: a join claims the process.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { backendCompiled } from "../lib/doctor.ts";

function child(code: string, env: Record<string, string> = {}): string {
  const script = `import { MpWorld } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "mp.ts"))};
    try { ${code}; console.log("ok"); } catch (e) { console.log(e.code + ": " + e.message); }`;
  return Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ...env }, stdout: "pipe" }).stdout.toString().trim();
}

test("join's options: an unknown engine, a device for the CPU engine, a device out of range are INVALID_ARGUMENT", () => {
  expect(child(`MpWorld.join({ engine: "magma" })`)).toBe('INVALID_ARGUMENT: engine must be "scalapack" or "cusolvermp", got "magma"');
  expect(child(`MpWorld.join({ device: 1 })`)).toContain('INVALID_ARGUMENT: device: the scalapack engine runs on CPUs; pass engine: "cusolvermp"');
  expect(child(`MpWorld.join({ engine: "cusolvermp", device: -1 })`)).toStartWith("INVALID_ARGUMENT: device");
});

test("NCCL that cannot be loaded: LIBRARY_NOT_FOUND naming it and where from (UNSUPPORTED in a build without the engine)", () => {
  const out = child(`MpWorld.join({ engine: "cusolvermp", device: 0 })`, { BUNMG_NCCL_LIBRARY: "/no/such/libnccl.so.2" });
  if (backendCompiled("cuda")) expect(out).toStartWith("LIBRARY_NOT_FOUND: mp_join_gpu: cannot load NCCL from BUNMG_NCCL_LIBRARY=/no/such/libnccl.so.2");
  else expect(out).toStartWith("UNSUPPORTED: mp_join_gpu: this libbunmg was built without the mp GPU engine: the CUDA backend is off");
});
