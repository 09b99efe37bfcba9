#!/usr/bin/env bash
# Rebuilds every guest module in this directory from the sources beside it.
# Needs Debian clang + lld, wabt (wat2wasm, wasm2wat) and Go (1.26+).
# Runnable from any working directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

# 1. cguest.wasm: freestanding C, then round-trip through wabt so the module
#    is sure to carry a `name` section (DESIGN.md says lld may write none; the
#    lld 14 here does, and the round-trip keeps those names).
rm -f cguest.wasm
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry \
  -o cguest.wasm cguest/main.c
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
wasm2wat --generate-names cguest.wasm -o "$tmp"
wat2wasm --debug-names "$tmp" -o cguest.wasm

# 2. legacy.wasm: hand-written WAT.
rm -f legacy.wasm
wat2wasm --debug-names legacy.wat -o legacy.wasm

# 3. hostcall.wasm: hand-written WAT calling an app host function.
rm -f hostcall.wasm
wat2wasm --debug-names hostcall.wat -o hostcall.wasm

# 4. instrumented*.wasm: one WAT source in the shape instrumenting compilers
#    write, in three variants: the current namespace, the legacy one
#    (instrument_enter/exit/memory_grow in dylibso_observe), and without a
#    name section.
wat2wasm --debug-names instrumented/instrumented.wat -o instrumented.wasm
wat2wasm instrumented/instrumented.wat -o instrumented_noname.wasm
sed -e 's/"dylibso:observe\/instrument" "enter"/"dylibso_observe" "instrument_enter"/' \
    -e 's/"dylibso:observe\/instrument" "exit"/"dylibso_observe" "instrument_exit"/' \
    -e 's/"dylibso:observe\/instrument" "memory-grow"/"dylibso_observe" "instrument_memory_grow"/' \
    instrumented/instrumented.wat > "$tmp"
if grep -q '"dylibso:observe/instrument"' "$tmp"; then echo "legacy variant still imports the new namespace" >&2; exit 1; fi
wat2wasm --debug-names "$tmp" -o instrumented_legacy.wasm

# 5b. pdklog.wasm: logs through extism:host/env like an Extism PDK.
wat2wasm --debug-names pdklog.wat -o pdklog.wasm

# 5d. interp.wasm: runs Observe API calls read from its input, for fuzzing.
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--initial-memory=262144 \
  -o interp.wasm interp/main.c

# 5c. hostile.wasm: a guest that does everything wrong (issue: hostile guests).
wat2wasm --debug-names hostile/hostile.wat -o hostile.wasm

# 5f. helpers.wasm: instrumented span helpers that wrap the Observe API.
wat2wasm --debug-names helpers/helpers.wat -o helpers.wasm

# 5g. http.wasm: an outbound HTTP request through extism:host/env, as PDKs make it.
wat2wasm --debug-names http/http.wat -o http.wasm

# 5e. command.wasm: a WASI command module's start-up, hand-written.
wat2wasm --debug-names command.wat -o command.wasm

# 5. plain.wasm: an ordinary module nobody instrumented, for WithFunctionSpans.
wat2wasm --debug-names plain.wat -o plain.wasm

# 6. goguest.wasm: standard Go wasip1 reactor (its own module, ./goguest).
rm -f goguest.wasm
(cd goguest && GOOS=wasip1 GOARCH=wasm GOFLAGS= "$GO" build -buildmode=c-shared -trimpath -buildvcs=false -o ../goguest.wasm .)

# 7. demo.wasm: a standard-Go wasip1 command (its own module, ./demo) that
#    handles a simulated order; the guest that extism-observe's docs run.
rm -f demo.wasm
(cd demo && GOOS=wasip1 GOARCH=wasm GOFLAGS= "$GO" build -trimpath -buildvcs=false -o ../demo.wasm .)

echo "built every guest module in $here"
