// Preloaded into every rank of `bunmg launch --engine mp` (bun --preload, mpirun.ts): records the
// rank's pid when it starts and its exit code when it exits, in the launch's private folder, as
// mpirun's own exit status says nothing reliable about its ranks. A rank killed by a signal
// leaves no exit record.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.BUNMG_RESULT_DIR;
const rank = process.env.BUNMG_RANK;
if (dir && rank && /^\d+$/.test(rank)) {
  writeFileSync(join(dir, `${rank}.pid`), String(process.pid));
  process.on("exit", (code) => writeFileSync(join(dir, `${rank}.exit`), String(code)));
}
