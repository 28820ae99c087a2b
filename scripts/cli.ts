#!/usr/bin/env bun
// The `bunmg` command: `bunmg build [--no-cuda] [--sanitize]` builds libbunmg in the installed
// package; `bunmg info` says which library loaded and what it sees.
import { build } from "./build.ts";

const [command, ...args] = process.argv.slice(2);

async function info(): Promise<void> {
  const { cudaDeviceCount, libraryPath, version } = await import("../lib/index.ts");
  console.log(`bunmg ${version()} (${libraryPath()})`);
  console.log(`CUDA devices: ${cudaDeviceCount()}`);
}

try {
  if (command === "build") build(args);
  else if (command === "info") await info();
  else {
    console.error("usage: bunmg build [--no-cuda] [--sanitize] | bunmg info");
    process.exit(command ? 2 : 0);
  }
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
