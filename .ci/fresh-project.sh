#!/usr/bin/env bash
# bunmg as a user gets it: packs bunmg, makes a fresh `bun init` project whose PATH holds bun and
# nothing else (no cmake, no compiler), `bun add`s the bunmg tarball and the platform package's,
# solves on the host backend through the installed package, checks that the platform package's
# library (with the CUDA backend) is the one used, and type-checks under bun init's tsconfig.
#
#   .ci/fresh-project.sh PLATFORM_TARBALL
set -euo pipefail
cd "$(dirname "$0")/.."
platform=$(realpath "${1:?usage: .ci/fresh-project.sh PLATFORM_TARBALL}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bun pm pack --quiet --destination "$work" >/dev/null
main=$(ls "$work"/bunmg-[0-9]*.tgz)

# A PATH with bun (and bunx, the same binary) only.
mkdir -p "$work/bin" "$work/app"
bun_exe=$(bun -e 'console.log(process.execPath)')
ln -s "$bun_exe" "$work/bin/bun"
ln -s "$bun_exe" "$work/bin/bunx"
in_app() { (cd "$work/app" && env PATH="$work/bin" "$@"); }

in_app bun init -y >/dev/null
in_app bun add "$main" "$platform"
cat >"$work/app/index.ts" <<'EOF'
import { Mesh, potrs, ShardedMatrix } from "bunmg";

const n = 300;
using mesh = Mesh.host(2);
const a = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = i === j ? n : 1 / (1 + Math.abs(i - j));
const b = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
using A = ShardedMatrix.fromHost(mesh, a, { rows: n, cols: n, dtype: "float64" });
const x = potrs(A, b);
let worst = 0;
for (let i = 0; i < n; i++) {
  let s = 0;
  for (let j = 0; j < n; j++) s += (a[i * n + j] ?? 0) * (x[j] ?? 0);
  worst = Math.max(worst, Math.abs(s - (b[i] ?? 0)));
}
console.log(`potrs float64 n=${n} on ${mesh}: max |A x - b| = ${worst.toExponential(2)}`);
if (!(worst < 1e-10)) process.exit(1);
EOF
echo "fresh project: bun index.ts"
in_app bun index.ts
echo "fresh project: bunx bunmg info"
info=$(in_app bunx bunmg info)
echo "$info"
grep -q '(platform package)$' <<<"$info" || { echo "fresh project: libbunmg is not the platform package's" >&2; exit 1; }
grep -q '^backends compiled in: host, cuda' <<<"$info" || { echo "fresh project: the platform package has no CUDA backend" >&2; exit 1; }

echo "fresh project: bunx tsc --noEmit (bun init's tsconfig)"
if ! in_app bunx tsc --noEmit >"$work/tsc.log" 2>&1; then
  cat "$work/tsc.log" >&2
  echo "fresh project: $(grep -c 'error TS' "$work/tsc.log" || true) type errors" >&2
  exit 1
fi
echo "fresh project: ok"
