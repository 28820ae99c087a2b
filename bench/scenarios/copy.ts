// copy: the bandwidths everything else is measured against. Per mesh position: host to device
// and device to host (DeviceBuffer copies of one large pageable host array, median of repeats)
// and device to device within the position; per pair of positions: peer one way and both ways
// at once (Mesh.copyBandwidth: 10 copies of 1 GiB, timed with events).
import { DeviceBuffer, type Mesh } from "../../lib/index.ts";
import type { CaseInfo } from "../progress.ts";
import { fmt, type Column, type Row } from "../report.ts";
import { message, openMesh, type Plan, type Scenario } from "../scenario.ts";
import { timeRepeats } from "../timing.ts";

type Kind = "host to device" | "device to host" | "within device" | "peer one way" | "peer both ways";

interface CopyCase extends CaseInfo {
  kind: Kind;
  src: number;
  dst: number;
}

const GIB = 2 ** 30;

export const copy: Scenario = (args): Plan => {
  const bytes = args.quick ? 16 * 2 ** 20 : GIB;
  const peerRepeats = args.quick ? 3 : 10;
  const G = args.devices.length;
  const cases: CopyCase[] = [];
  const add = (kind: Kind, src: number, dst: number) => {
    const wire = kind.startsWith("peer") || kind === "within device" ? (peerRepeats + 1) * bytes / 3e11 : (args.repeats + 1) * bytes / 1e10;
    cases.push({ kind, src, dst, label: `${kind} ${src === dst ? src : `${src} -> ${dst}`}`, estimate: 0.5 + wire });
  };
  for (let p = 0; p < G; p++) {
    add("host to device", p, p);
    add("device to host", p, p);
    add("within device", p, p);
  }
  for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) if (i !== j) add("peer one way", i, j);
  for (let i = 0; i < G; i++) for (let j = i + 1; j < G; j++) add("peer both ways", i, j);

  return {
    cases,
    run({ progress }) {
      using mesh = openMesh(args);
      const where = (p: number) => (mesh.backend === "cuda" ? `${p} (GPU ${mesh.devices[p]})` : String(p));
      let host: Float64Array | undefined; // one pageable host array, made on first use
      const rows: Row[] = [];
      for (const c of cases) {
        progress.start("copy", c);
        const row: Row = { kind: c.kind, bytes };
        row.from = c.kind === "host to device" ? "host" : where(c.src);
        row.to = c.kind === "device to host" ? "host" : where(c.dst);
        if (c.src !== c.dst && mesh.devices[c.src] === mesh.devices[c.dst] && mesh.backend === "cuda") row.note = "same GPU";
        try {
          if (c.kind === "host to device" || c.kind === "device to host") {
            host ??= new Float64Array(bytes / 8).fill(1.25);
            row.method = `median of ${args.repeats}`;
            row.bandwidth = bytes / hostCopy(mesh, c.src, host, c.kind, args.repeats);
          } else {
            row.method = `${peerRepeats} copies, events`;
            row.bandwidth = mesh.copyBandwidth(c.dst, c.src, bytes, { repeats: peerRepeats, bothWays: c.kind === "peer both ways" });
          }
          progress.log(`${fmt.gbps(row.bandwidth)} GB/s`);
        } catch (e) {
          row.note = message(e);
          progress.log(`failed: ${row.note}`);
        }
        rows.push(row);
      }
      return {
        rows,
        columns: COLUMNS,
        notes: [
          "GB/s = 1e9 bytes per second; both ways counts the bytes moved in both directions.",
          "Host copies use pageable memory (a plain Float64Array), as users' arrays are.",
        ],
      };
    },
  };
};

/** Median seconds of one copy between `host` and a fresh buffer on `position`. */
function hostCopy(mesh: Mesh, position: number, host: Float64Array, kind: Kind, repeats: number): number {
  using buffer = DeviceBuffer.alloc(mesh, position, "float64", host.length);
  const body = kind === "host to device" ? () => buffer.copyFromHost(host) : () => buffer.copyToHost(host);
  return timeRepeats(body, { repeats }).median;
}

export const COLUMNS: Column[] = [
  { key: "kind", title: "copy" },
  { key: "from", title: "from" },
  { key: "to", title: "to" },
  { key: "bytes", title: "GiB", format: fmt.gib },
  { key: "method", title: "timing" },
  { key: "bandwidth", title: "GB/s", format: fmt.gbps },
  { key: "note", title: "note" },
];
