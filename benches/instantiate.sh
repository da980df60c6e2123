#!/usr/bin/env bash
# instantiate.sh: instantiation cost of a small module with a memory, per instance, in
# rwamr's modes and memory settings and in wasmtime with its default (on-demand) and
# pooling allocators, on the same bytes in one run.
#
#   benches/instantiate.sh [-n INSTANCES] [-r ROUNDS]
#
# Each round runs `cargo bench --bench instantiate` (every mode: default, small and
# pooled memories) and `peer-run --instances N` / `--instances-pooling N`; the minimum
# of the rounds counts. Env: PEER_RUN (default /tmp/peers-target/release/peer-run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER_RUN="${PEER_RUN:-/tmp/peers-target/release/peer-run}"
n=50000
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    -r) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$PEER_RUN" ]] || { echo "peer-run not built; see ../shared/tools/peers/README.md" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$here" && cargo bench -q --bench instantiate --no-run 2>/dev/null)
for r in $(seq "$rounds"); do
  (cd "$here" && cargo bench -q --bench instantiate -- "$n" "$tmp/m.wasm") |
    awk -F'|' '/^\| [a-z]/ && $2 !~ /mode/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4); print "rwamr-" $2 "-" $3, $4 }' >> "$tmp/runs"
  for alloc in instances instances-pooling; do
    "$PEER_RUN" --engine wasmtime "--$alloc" "$n" "$tmp/m.wasm" |
      sed -n 's/.*allocator=\([a-z-]*\).*instantiate_us_each=\([0-9.]*\).*/wasmtime-\1 \2/p' >> "$tmp/runs"
  done
done
pool="$(awk '$1 == "wasmtime-pooling" { if (!m || $2 < m) m = $2 } END { print m }' "$tmp/runs")"
echo "| runtime, setting | us per instance (min of $rounds) | vs wasmtime pooling |"
echo "|---|---|---|"
awk -v pool="$pool" '{ if (!($1 in m) || $2 < m[$1]) m[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END { for (i = 1; i <= k; i++) printf "| %s | %.2f | %.2f |\n", order[i], m[order[i]], m[order[i]] / pool }' "$tmp/runs"
