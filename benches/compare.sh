#!/usr/bin/env bash
# compare.sh: rwamr's modes against peer engines, side by side in one run.
#
#   benches/compare.sh [-n REPS] [-e "ENGINES"] [-m "MODES"] [--programs [SCALE]] [--only REGEX]
#
# Runs every WAT microbenchmark of ../shared/bench/wat at its timing count (from
# EXPECTED.tsv) and recursive fib (examples/fib.wat, n=35) -- or, with --programs, the WASI
# programs of ../shared/bench/wasm at SCALE (1 or 2, the scales EXPECTED.tsv lists) -- on
# each rwamr mode and each peer engine (../shared/tools/peers' peer-run), checks each
# output against EXPECTED.tsv, and prints the median wall time per program and engine with
# its ratio to rwamr's first mode (ratio > 1: the peer is slower), then each mode's and
# each peer's geometric mean. Timings are whole-process wall times, compile and startup
# included.
# Env: PEER_RUN (default /tmp/peers-target/release/peer-run), RWAMR (default
# target/release/rwamr, built if missing), SHARED (default ../shared).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$here/../shared}"
PEER_RUN="${PEER_RUN:-/tmp/peers-target/release/peer-run}"
RWAMR="${RWAMR:-$here/target/release/rwamr}"
reps=3
engines="wasmi pulley"
modes="interp"
programs=""
only="."
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) reps="$2"; shift 2 ;;
    -e) engines="$2"; shift 2 ;;
    -m) modes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --programs)
      programs=1; shift
      if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then programs="$1"; shift; fi ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$RWAMR" ]] || (cd "$here" && cargo build --release -q -p rwamr-cli)
[[ -z "$engines" || -x "$PEER_RUN" ]] || { echo "peer-run not built; see $SHARED/tools/peers/README.md" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# name|file|export (empty: a WASI program)|arg|expected
cases=()
if [[ -n "$programs" ]]; then
  # EXPECTED.tsv lists scale 1 with an empty args column.
  col="$programs"; [[ "$col" == 1 ]] && col=""
  # (awk, not `read`: a tab is whitespace to `read`, which would merge the empty column)
  while IFS='|' read -r name expected; do
    cases+=("$name|$SHARED/bench/wasm/$name.wasm||$programs|$expected")
  done < <(awk -F'\t' -v col="$col" 'NR > 1 && $1 !~ /^wat\// && $2 == col {print $1 "|" $3}' \
             "$SHARED/bench/EXPECTED.tsv")
else
  for w in loop_arith call_indirect memory_copy br_table f64_math; do
    row="$(awk -F'\t' -v n="wat/$w" '$1 == n && $2 != "1000" {print $2 "|" $3}' "$SHARED/bench/EXPECTED.tsv")"
    cases+=("$w|$SHARED/bench/wat/$w.wasm|run|${row%%|*}|${row##*|}")
  done
  if wat2wasm "$here/examples/fib.wat" -o "$tmp/fib.wasm" 2>/dev/null; then
    cases+=("fib(35)|$tmp/fib.wasm|fib|35|9227465")
  else
    echo "(wat2wasm not found: recursive fib left out; apt-get install wabt)" >&2
  fi
fi

# median wall seconds of REPS runs of a command; fails if the output is not EXPECTED
measure() {
  local expected="$1"; shift
  local times=()
  for ((i = 0; i < reps; i++)); do
    /usr/bin/time -f '%e' -o "$tmp/t" "$@" >"$tmp/out" 2>"$tmp/err" || { echo "FAIL"; return; }
    [[ "$(head -n 1 "$tmp/out")" == "$expected" ]] || { echo "WRONG"; return; }
    times+=("$(cat "$tmp/t")")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((reps + 1) / 2))p"
}

# `-m "baseline+eager"` runs `rwamr run --mode baseline --eager`.
mode_args() {
  local base="${1%%+*}" rest="${1#*+}" f
  echo "--mode"; echo "$base"
  [[ "$rest" == "$1" ]] && return
  IFS=+ read -ra flags <<<"$rest"
  for f in "${flags[@]}"; do echo "--$f"; done
}

declare -A logsum count mlogsum mcount
header="| program |"; sep="|---|"
for m in $modes; do header+=" rwamr $m s |"; sep+="---|"; done
for e in $engines; do header+=" $e s | $e / rwamr |"; sep+="---|---|"; done
echo "$header"; echo "$sep"
for c in "${cases[@]}"; do
  IFS='|' read -r name file export arg expected <<<"$c"
  [[ "$name" =~ $only ]] || continue
  line="| $name |"; base=""
  for m in $modes; do
    mapfile -t margs < <(mode_args "$m")
    if [[ -n "$export" ]]; then
      t="$(measure "$expected" "$RWAMR" run "${margs[@]}" --invoke "$export" "$file" "$arg")"
    else
      t="$(measure "$expected" "$RWAMR" run "${margs[@]}" "$file" "$arg")"
    fi
    [[ -z "$base" ]] && base="$t"
    line+=" $t |"
    if awk -v t="$t" 'BEGIN { exit !(t + 0 > 0) }'; then
      mlogsum[$m]="$(awk -v s="${mlogsum[$m]:-0}" -v t="$t" 'BEGIN { printf "%.6f", s + log(t) }')"
      mcount[$m]=$(( ${mcount[$m]:-0} + 1 ))
    fi
  done
  for e in $engines; do
    if [[ -n "$export" ]]; then
      t="$(measure "$expected" "$PEER_RUN" --engine "$e" "$file" --invoke "$export" "$arg")"
    else
      t="$(measure "$expected" "$PEER_RUN" --engine "$e" "$file" -- "$arg")"
    fi
    ratio="$(awk -v a="$t" -v b="$base" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }')"
    line+=" $t | $ratio |"
    if [[ "$ratio" != "-" ]]; then
      logsum[$e]="$(awk -v s="${logsum[$e]:-0}" -v r="$ratio" 'BEGIN { printf "%.6f", s + log(r) }')"
      count[$e]=$(( ${count[$e]:-0} + 1 ))
    fi
  done
  echo "$line"
done
for m in $modes; do
  [[ -n "${mcount[$m]:-}" ]] || continue
  awk -v m="$m" -v s="${mlogsum[$m]}" -v n="${mcount[$m]}" \
    'BEGIN { printf "geometric mean of rwamr %s: %.3f s (%d programs)\n", m, exp(s / n), n }'
done
for e in $engines; do
  [[ -n "${count[$e]:-}" ]] || continue
  awk -v e="$e" -v s="${logsum[$e]}" -v n="${count[$e]}" -v m="${modes%% *}" \
    'BEGIN { printf "geometric mean of %s / rwamr %s: %.2f (%d programs)\n", e, m, exp(s / n), n }'
done
