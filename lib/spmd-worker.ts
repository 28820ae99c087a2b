// The body of every Worker that runSpmd starts: loads libbunmg and the user's module, says
// "ready", waits for "go" (every rank loaded), joins the group, runs the module's function and
// posts its result or error. The group is always left, so that a failing rank fails the others
// with PEER_LOST at once instead of after the timeout.
import { parentPort, workerData } from "node:worker_threads";
import { invalid } from "./errors.ts";
import { Group } from "./group.ts";
import { version } from "./native.ts";
import { errorRecord, type RankSpec, type WorkerMessage } from "./spmd.ts";

const spec = workerData as RankSpec;
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);

async function main(): Promise<void> {
  version(); // dlopen here, before the parent starts the next Worker
  const module = await import(spec.module);
  const fn = module.default ?? module.main;
  if (typeof fn !== "function") throw invalid(`${spec.module} must export a function (default or "main") to run on each rank`);
  post({ type: "ready" });
  await new Promise((resolve) => port.once("message", resolve));
  const group = Group.join({ mode: "threads", job: spec.job, secret: spec.secret, rank: spec.rank, size: spec.size, backend: spec.backend, device: spec.device, timeoutMs: spec.timeoutMs });
  let value: unknown;
  try {
    value = await fn(group, spec.data);
  } finally {
    group.leave();
  }
  post({ type: "result", value });
}

try {
  await main();
} catch (e) {
  post({ type: "error", error: errorRecord(e) });
}
