#!/usr/bin/env bash
# threads.sh: a parallel Rust program (tests/threads-programs/src/bin/parallel.rs,
# built for wasm32-wasip1-threads) on 1 and 2 threads in each mode, and natively.
#
#   benches/threads.sh [-n ROUNDS] [-m "MODES"] [-N LIMIT]
#
# The program counts the primes below LIMIT (default 3,000,000) split over T threads.
# Each mode runs T=1 and T=2 in turns, ROUNDS times (default 5); the fastest run counts.
# Times are the program's run (`--timings` run_us: loading and compiling excluded) and,
# for the native build, the whole process. Prints per mode: T=1 and T=2 in ms, the
# speedup T1/T2 (the goal is 1.8 on 2 cores), and T=2 against the native T=2.
# Env: RWAMR (default target/release/rwamr, built if missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RWAMR="${RWAMR:-$here/target/release/rwamr}"
rounds=5
modes="interp baseline optimized aot tiered"
limit=3000000
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) rounds="$2"; shift 2 ;;
    -m) modes="$2"; shift 2 ;;
    -N) limit="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$RWAMR" ]] || (cd "$here" && cargo build --release -q -p rwamr-cli)
rustup target list --installed | grep -qx wasm32-wasip1-threads \
  || rustup target add wasm32-wasip1-threads >/dev/null
progs="$here/tests/threads-programs"
target="$here/target/threads-programs"
cargo build --release -q --manifest-path "$progs/Cargo.toml" --target-dir "$target" \
  --target wasm32-wasip1-threads --bin parallel
cargo build --release -q --manifest-path "$progs/Cargo.toml" --target-dir "$target" \
  --bin parallel
wasm="$target/wasm32-wasip1-threads/release/parallel.wasm"
native="$target/release/parallel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$RWAMR" compile "$wasm" -o "$tmp/parallel.aot"
expected="$("$native" "$limit" 1)"

# The fastest of `rounds` values of "$@" (one number per line on stdout).
fastest() { sort -n | head -n 1; }

# run_us of one run in mode $1 with $2 threads, checking the answer.
run_us() {
  local file="$wasm" extra=()
  [[ "$1" == aot ]] && { file="$tmp/parallel.aot"; extra=(--allow-precompiled); }
  "$RWAMR" run --mode "$1" "${extra[@]}" --timings "$file" "$limit" "$2" >"$tmp/out" 2>"$tmp/err"
  [[ "$(cat "$tmp/out")" == "$expected" ]] || { echo "$1 T=$2: wrong answer" >&2; exit 1; }
  sed -n 's/.*run_us=\([0-9]*\).*/\1/p' "$tmp/err" | head -n 1
}

native_us() {
  local start end
  start=$(date +%s%N); "$native" "$limit" "$1" >/dev/null; end=$(date +%s%N)
  echo $(((end - start) / 1000))
}

declare -A best
for t in 1 2; do
  for ((r = 0; r < rounds; r++)); do native_us "$t"; done | fastest >"$tmp/n$t"
  best[native,$t]=$(cat "$tmp/n$t")
done
for m in $modes; do
  for t in 1 2; do : >"$tmp/$m$t"; done
  for ((r = 0; r < rounds; r++)); do
    for t in 1 2; do run_us "$m" "$t" >>"$tmp/$m$t"; done
  done
  for t in 1 2; do best[$m,$t]=$(fastest <"$tmp/$m$t"); done
done
ms() { awk -v us="$1" 'BEGIN { printf "%.0f", us / 1000 }'; }
echo "primes below $limit; fastest of $rounds; ms"
echo "| mode | 1 thread | 2 threads | speedup | 2 threads / native 2 threads |"
echo "|---|---|---|---|---|"
for m in native $modes; do
  t1=${best[$m,1]} t2=${best[$m,2]} n2=${best[native,2]}
  echo "| $m | $(ms "$t1") | $(ms "$t2") | $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$t2" -v b="$n2" 'BEGIN{printf "%.2f", a/b}') |"
done
