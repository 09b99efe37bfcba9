#!/usr/bin/env bash
# CPU and allocation profiles of one benchmark of the root package, with
# the top entries as BENCHMARKS.md shows them.
#
#   benchmarks/profile.sh '^BenchmarkSpan$/^impl=guest$' span-guest
#
# (Anchor each level: -bench 'BenchmarkLog/...' also matches BenchmarkLogDisabled.)
#
# Writes benchmarks/profiles/NAME.{cpu,mem}.prof (not committed) and
# NAME.txt: pprof -top by flat CPU, by cumulative CPU within the observe
# package's code, and by allocated objects (every allocation sampled).
set -euo pipefail

bench="$1"
name="$2"
BENCHTIME="${BENCHTIME:-2s}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$here/profiles"
mkdir -p "$out"
bin="$out/root.test"
(cd "$root" && go test -c -o "$bin" .)

cd "$root"
"$bin" -test.run '^$' -test.bench "$bench" -test.benchtime "$BENCHTIME" -test.benchmem \
  -test.cpuprofile "$out/$name.cpu.prof" | grep -E '^Benchmark'
# Sampling every allocation is slow: a shorter run is enough to count them.
"$bin" -test.run '^$' -test.bench "$bench" -test.benchtime "${MEMBENCHTIME:-0.5s}" \
  -test.memprofile "$out/$name.mem.prof" -test.memprofilerate 1 > /dev/null

{
  echo "== $bench: CPU, flat"
  go tool pprof -top -nodecount=25 "$bin" "$out/$name.cpu.prof" 2>/dev/null | sed -n '/flat%/,$p'
  echo
  echo "== $bench: CPU, cumulative, on the paths through the observe package"
  go tool pprof -top -cum -nodecount=45 -focus='extism-observe/observe\.' "$bin" "$out/$name.cpu.prof" 2>/dev/null |
    sed -n '/flat%/,$p' | grep -Ev 'testing\.|observe_test\.|wazevo\.|Plugin\)\.CallWithContext' | head -30
  echo
  echo "== $bench: allocated objects, flat"
  go tool pprof -top -nodecount=15 -sample_index=alloc_objects "$bin" "$out/$name.mem.prof" 2>/dev/null | sed -n '/flat%/,$p'
  echo
  echo "== $bench: allocated objects, by the observe package's function that called"
  go tool pprof -top -cum -nodecount=15 -sample_index=alloc_objects -show 'extism-observe/observe\.' "$bin" "$out/$name.mem.prof" 2>/dev/null | sed -n '/flat%/,$p'
} > "$out/$name.txt"
cat "$out/$name.txt"
