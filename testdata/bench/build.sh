#!/usr/bin/env bash
# Rebuilds the benchmark guests in this directory from the WAT beside them.
# Needs Debian wabt (wat2wasm). Runnable from any working directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
for src in loops calls; do
  wat2wasm --debug-names "$src.wat" -o "$src.wasm"
done
echo "built: $(pwd)/loops.wasm $(pwd)/calls.wasm"
