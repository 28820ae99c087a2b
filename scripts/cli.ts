#!/usr/bin/env bun
// The `bunmg` command: build, info, doctor and launch (scripts/build.ts, scripts/doctor.ts,
// scripts/launch.ts). `--help` and `--version` exit 0; an unknown command or flag is named and
// exits 2; `bunmg <command> --help` prints that command's help and does nothing else.
import { buildCommand } from "./build.ts";
import { doctorCommand, infoCommand } from "./doctor.ts";
import { launchCommand } from "./launch.ts";
import { runCommand, type Command } from "./usage.ts";

const COMMANDS: readonly Command[] = [buildCommand, infoCommand, doctorCommand, launchCommand];

const USAGE = `usage: bunmg <command> [options]

${COMMANDS.map((c) => `  ${c.name.padEnd(8)}${c.summary}`).join("\n")}

  bunmg <command> --help    that command's options
  bunmg --version           the package's version`;

/** The version in bunmg's package.json (no native library needed). */
async function packageVersion(): Promise<string> {
  const pkg = (await Bun.file(new URL("../package.json", import.meta.url)).json()) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    console.log(USAGE);
    return 0;
  }
  if (first === "--version" || first === "-v") {
    console.log(`bunmg ${await packageVersion()}`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) {
    const what = first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`;
    console.error(`bunmg: ${what}\n\n${USAGE}`);
    return 2;
  }
  return runCommand(command, rest);
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
