// Every scenario of `bun bench` with the columns of its table (bench/merge.ts re-renders the
// tables from JSON results).
import type { ScenarioName } from "../args.ts";
import type { Column } from "../report.ts";
import type { Scenario } from "../scenario.ts";
import * as capacity from "./capacity.ts";
import * as copy from "./copy.ts";
import * as groups from "./groups.ts";
import * as peers from "./peers.ts";
import * as redistribute from "./redistribute.ts";
import * as scaling from "./scaling.ts";
import * as solvers from "./solvers.ts";
import * as strategy from "./strategy.ts";
import * as tiles from "./tiles.ts";

export const REGISTRY: Record<ScenarioName, { plan: Scenario; columns: Column[] }> = {
  copy: { plan: copy.copy, columns: copy.COLUMNS },
  redistribute: { plan: redistribute.redistribute, columns: redistribute.COLUMNS },
  solvers: { plan: solvers.solvers, columns: solvers.COLUMNS },
  strategy: { plan: strategy.strategy, columns: strategy.COLUMNS },
  scaling: { plan: scaling.scaling, columns: scaling.COLUMNS },
  tiles: { plan: tiles.tiles, columns: tiles.COLUMNS },
  capacity: { plan: capacity.capacity, columns: capacity.COLUMNS },
  groups: { plan: groups.groups, columns: groups.COLUMNS },
  peers: { plan: peers.peers, columns: peers.COLUMNS },
};
