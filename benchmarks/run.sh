#!/usr/bin/env bash
# Runs every benchmark of the "Performance" issue and prints the benchstat
# tables and the ratio table of BENCHMARKS.md.
#
#   benchmarks/run.sh                  # 6 rounds, 0.4s per benchmark
#   COUNT=10 BENCHTIME=1s benchmarks/run.sh
#   benchmarks/run.sh --report        # the tables of benchmarks/results.txt
#
# Both test binaries (the root package's bench_test.go and this module's
# adapter_test.go) are built once, then run COUNT rounds one after the
# other, so that every case and its baseline are measured in every round
# (noise from the machine is spread over both, not loaded onto one).
# Results go to $OUT (default benchmarks/results.txt).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
COUNT="${COUNT:-6}"
BENCHTIME="${BENCHTIME:-0.4s}"
OUT="${OUT:-$here/results.txt}"
ROOT_BENCH='^Benchmark(Span|Log|LogDisabled|Counter|Histogram|MetricLine|Call|Paired|Instrumented|FunctionSpans|Stack)$'

# shellcheck source=benchstat.sh
source "$here/benchstat.sh"

# With --report, only print the tables of an existing $OUT.
if [ "${1:-}" != "--report" ]; then
  bin="$(mktemp -d)"
  trap 'rm -rf "$bin"' EXIT
  (cd "$root" && go test -c -o "$bin/root.test" .)
  (cd "$here" && go test -c -o "$bin/adapter.test" .)

  {
    echo "# nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(go version)"
    echo "# COUNT=$COUNT BENCHTIME=$BENCHTIME; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    # The library's code as measured: the commit, and a hash of the root
    # package's non-test sources (uncommitted edits included).
    echo "# commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none); sources: $(cd "$root" && ls *.go | grep -v _test.go | xargs cat | sha256sum | cut -c1-12)"
  } > "$OUT"
  for i in $(seq "$COUNT"); do
    echo "round $i/$COUNT" >&2
    # Test binaries run in their package directory, where testdata is.
    (cd "$root" && "$bin/root.test" -test.run '^$' -test.bench "$ROOT_BENCH" \
      -test.benchtime "$BENCHTIME" -test.benchmem) >> "$OUT"
    (cd "$here" && "$bin/adapter.test" -test.run '^$' -test.bench . \
      -test.benchtime "$BENCHTIME" -test.benchmem) >> "$OUT"
  done
  echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
fi

stat() { echo; echo "\$ benchstat $*"; "${benchstat[@]}" "$@"; }
# Everything, one row per benchmark.
stat "$OUT"
# Each target against its baseline.
stat -col '/impl@(native guest)' "$OUT"
stat -filter '.name:SpanAdapter' -col '/impl@(observe-sdk guest)' "$OUT"
stat -filter '.name:InstrumentedAdapter' -col '/impl@(observe-sdk observe)' "$OUT"
stat -filter '.name:Log' -col '/impl@(native native-equivalent guest native-equivalent-otel-logs guest-otel-logs guest-untraced)' "$OUT"
stat -filter '-.name:SpanAdapter' -col '/impl@(floor floor-listeners sampled-out noop-provider guest)' "$OUT"
stat -filter '.name:Call' -col '/impl@(unobserved listeners-only observed-noop)' "$OUT"
stat -filter '.name:(Instrumented OR FunctionSpans)' \
  -col '/impl@(unobserved clock-floor noop-provider min-20us min-0 observer-only all-min-20us all-min-0)' "$OUT"
# The paired runs: each case against its baseline, alternating in one loop.
stat -filter '.name:Paired' "$OUT"
echo
# The ratio table, with the SDK's own benchmarks when benchmarks/sdk.sh has
# written them ($SDK_OUT: check that its commit line is this run's).
SDK_OUT="${SDK_OUT:-$here/sdk-results.txt}"
sdk=()
[ -f "$SDK_OUT" ] && sdk=("$SDK_OUT")
(cd "$here" && go run ./cmd/benchtable "$OUT" "${sdk[@]}")
