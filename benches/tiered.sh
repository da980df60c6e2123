#!/usr/bin/env bash
# tiered.sh: the Tiered mode against lazy Baseline and Optimized, whole process.
#
#   benches/tiered.sh [-n ROUNDS] [-m "MODES"] [--only REGEX] [--case "NAME|ARGS"]...
#
# Runs each case in every mode (default: tiered baseline optimized), the modes taking
# turns within each of ROUNDS rounds (default 5) so that a slow spell of the machine
# hits all of them alike, and prints each mode's fastest and median wall time in ms and
# the first mode's ratio to the best of the others by the fastest runs (< 1: the first
# mode wins). Timings are whole-process wall times: compile and startup included.
# The cases are each --case given, `rwamr run --mode M ARGS` (words split on spaces)
# whose exit status must be 0, then the WASI programs of ../shared/bench/wasm at scale
# 1, checked against EXPECTED.tsv (--only picks cases by name).
# Env: RWAMR (default target/release/rwamr, built if missing), SHARED (default ../shared).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$here/../shared}"
RWAMR="${RWAMR:-$here/target/release/rwamr}"
rounds=5
modes="tiered baseline optimized"
only="."
cases=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) rounds="$2"; shift 2 ;;
    -m) modes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --case) cases+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$RWAMR" ]] || (cd "$here" && cargo build --release -q -p rwamr-cli)
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# NAME|ARGS|EXPECTED (empty: only the exit status counts)
[[ ${#cases[@]} -eq 0 ]] || cases=("${cases[@]/%/|}")
if [[ -f "$SHARED/bench/EXPECTED.tsv" ]]; then
  while IFS='|' read -r name expected; do
    cases+=("$name|$SHARED/bench/wasm/$name.wasm|$expected")
  done < <(awk -F'\t' 'NR > 1 && $1 !~ /^wat\// && $2 == "" {print $1 "|" $3}' \
             "$SHARED/bench/EXPECTED.tsv")
fi

header="| case |"; sep="|---|"
for m in $modes; do header+=" $m min | $m median |"; sep+="---|---|"; done
header+=" ${modes%% *} / best other |"; sep+="---|"
echo "$header"; echo "$sep"
for c in "${cases[@]}"; do
  IFS='|' read -r name args expected <<<"$c"
  [[ "$name" =~ $only ]] || continue
  read -ra argv <<<"$args"
  declare -A times=()
  for ((r = 0; r < rounds; r++)); do
    for m in $modes; do
      start=$(date +%s%N)
      if ! "$RWAMR" run --mode "$m" "${argv[@]}" >"$tmp/out" 2>"$tmp/err"; then
        echo "$name: $m failed: $(tail -n 3 "$tmp/err")" >&2; exit 1
      fi
      end=$(date +%s%N)
      if [[ -n "$expected" && "$(head -n 1 "$tmp/out")" != "$expected" ]]; then
        echo "$name: $m printed $(head -n 1 "$tmp/out")" >&2; exit 1
      fi
      times[$m]+="$(( (end - start) / 1000000 )) "
    done
  done
  line="| $name |"; first=""; best=""
  for m in $modes; do
    read -r min median < <(tr ' ' '\n' <<<"${times[$m]}" | grep . | sort -n |
      awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)] }')
    line+=" $min | $median |"
    if [[ -z "$first" ]]; then first="$min"
    elif [[ -z "$best" || "$min" -lt "$best" ]]; then best="$min"; fi
  done
  line+=" $(awk -v a="$first" -v b="$best" 'BEGIN { printf "%.2f", a / b }') |"
  echo "$line"
  unset times
done
