#!/usr/bin/env bash
# Runs the Extism Go SDK's own benchmarks (BenchmarkNoop, BenchmarkReplace,
# BenchmarkInitializeWithCache) with and without the observer, and prints
# the benchstat table of BENCHMARKS.md, "The Extism SDK's benchmarks".
#
#   benchmarks/sdk.sh                # 6 rounds, 0.5s per benchmark
#   COUNT=10 BENCHTIME=1s benchmarks/sdk.sh
#
# The benchmarks run in a copy of the SDK from the module cache whose
# plugins are created through the observer when OBSERVE_COMPAT=bench (see
# compat/): every call sampled, spans batched to an exporter that drops
# them, metrics to a reader; and with OBSERVE_COMPAT=bench-noop, through an
# observer with the no-op OpenTelemetry providers of an app that set none
# up; and with OBSERVE_COMPAT=bench-floor, without an observer but with as
# many host functions that do nothing, under the Observe API's names: the
# floor of what the observer costs at plugin creation; and with
# OBSERVE_COMPAT=bench-listeners, that floor plus empty wazero listeners
# where the observer has its own, on the exports: the floor of what it
# costs per call (a listener is how it sees a call begin and end). One
# test binary runs the five ways (observer=off, floor, listeners, noop,
# on), alternating round by round. Results go to $OUT (default
# benchmarks/sdk-results.txt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
COUNT="${COUNT:-6}"
BENCHTIME="${BENCHTIME:-0.5s}"
OUT="${OUT:-$here/sdk-results.txt}"
BENCH='^Benchmark(Noop|Replace|InitializeWithCache)$'

# shellcheck source=benchstat.sh
source "$here/benchstat.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root/compat" && go run ./cmd/sdkcopy "$work/go-sdk")
(cd "$work/go-sdk" && go test -c -o "$work/sdk.test" .)

{
  echo "# nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(go version)"
  echo "# COUNT=$COUNT BENCHTIME=$BENCHTIME; commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)"
} > "$OUT"
for i in $(seq "$COUNT"); do
  echo "round $i/$COUNT" >&2
  for mode in off floor listeners noop on; do
    env=""
    [ "$mode" = on ] && env=bench
    [ "$mode" = noop ] && env=bench-noop
    [ "$mode" = floor ] && env=bench-floor
    [ "$mode" = listeners ] && env=bench-listeners
    # The binary runs in the copy, where the SDK's wasm/ is; each result
    # line gets the mode as a sub-benchmark key for benchstat.
    (cd "$work/go-sdk" && OBSERVE_COMPAT="$env" "$work/sdk.test" -test.run '^$' -test.bench "$BENCH" \
      -test.benchtime "$BENCHTIME" -test.benchmem) |
      sed -E "s#^(Benchmark[^ \t]*)-([0-9]+)#\1/observer=$mode-\2#" >> "$OUT"
  done
done

echo
echo "\$ benchstat -col /observer $OUT"
"${benchstat[@]}" -col /observer "$OUT"
