#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, host backend) into build/fuzz and runs each
# for a bounded time, printing its execution count. Exits non-zero on the first crash, sanitizer
# report or failed check, with the log tail and the input that caused it.
#
#   fuzz/run.sh [seconds per target, default 60] [target ...]   (targets: plan abi)
#
# Needs clang with libFuzzer (Debian: apt-get install clang libclang-rt-<version>-dev). The corpus
# of each target is kept in build/fuzz/corpus/<target> between runs; a crash input is written to
# build/fuzz/crash-<target>-*. Replay one with: build/fuzz/fuzz_<target> <file>  (FUZZ_TRACE=1
# makes fuzz_abi print every call).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ "$#" -gt 0 ] && shift
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(plan abi); fi
build=build/fuzz
cc=${FUZZ_CC:-clang}

command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (apt-get install clang libclang-rt-\$(clang -dumpversion | cut -d. -f1)-dev)" >&2; exit 1; }
cmake -S fuzz -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel >/dev/null

# allocator_may_return_null: absurd sizes must come back as OUT_OF_MEMORY, not an ASan report.
# malloc_limit_mb: only the RSS limit (2 GB) bounds memory; single huge requests are the point.
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1

for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  log="$build/$target.log"
  mkdir -p "$corpus"
  set +e
  "$build/fuzz_$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1000000000 \
    -timeout=30 -print_final_stats=1 -artifact_prefix="$build/crash-$target-" >"$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    grep -v 'failed to allocate' "$log" | tail -60 >&2
    echo "fuzz_$target: FAILED (exit $status) after ${runs:-?} executions; the input is $(ls -t "$build"/crash-"$target"-* 2>/dev/null | head -1)" >&2
    exit 1
  fi
  echo "fuzz_$target: ${runs} executions in ${seconds} s, 0 crashes (corpus: $(ls "$corpus" | wc -l) inputs)"
done
