#!/usr/bin/env bash
# Builds the WASI test programs: target/wasi-programs/wasm32-wasip1/release/*.wasm
# under the main workspace. Needs `rustup target add wasm32-wasip1`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1; then
    echo "the wasm32-wasip1 target is missing: run 'rustup target add wasm32-wasip1'" >&2
    exit 1
fi
exec cargo build --release --target wasm32-wasip1 \
    --manifest-path "$here/Cargo.toml" --target-dir "$root/target/wasi-programs" "$@"
