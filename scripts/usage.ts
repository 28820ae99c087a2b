// What every `bunmg` command shares: the usage error (exit 2, naming the bad argument), flag
// parsing on node:util's parseArgs with --help on every command, and the command's shape.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command line that names something unknown or malformed: the CLI prints it with the
 * command's usage and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export interface Command {
  name: string;
  /** one line for `bunmg --help` */
  summary: string;
  usage: string;
  /** the exit code */
  run(argv: string[]): Promise<number> | number;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags of `bunmg <command>`: strict (an unknown flag or a missing value is a UsageError naming
 * it), no positionals unless allowed. Returns undefined after printing the usage for --help/-h. */
export function parseFlags<O extends Options>(command: Command | { name: string; usage: string }, argv: string[], options: O, allowPositionals = false) {
  const withHelp = { ...options, help: { type: "boolean", short: "h" } } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: withHelp, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError(`bunmg ${command.name}: ${(e as Error).message.split("\n")[0]}`, command.usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(command.usage);
    return undefined;
  }
  return parsed;
}

/** Runs a command: a UsageError is printed with the usage (exit 2), any other error as its
 * message (exit 1). */
export async function runCommand(command: Command, argv: string[]): Promise<number> {
  try {
    return await command.run(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${e.usage}`);
      return 2;
    }
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
}
