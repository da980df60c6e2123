#!/usr/bin/env bash
# metering.sh: what fuel and epoch deadlines cost, in rwamr's modes and in peer engines,
# side by side in one run.
#
#   benches/metering.sh [-n REPS] [-m "MODES"] [-e "ENGINES"] [--only REGEX]
#
# Runs the WASI programs of ../shared/bench/wasm at scale 1 and the WAT microbenchmarks
# of ../shared/bench/wat at their timing counts, each plain, with fuel (`rwamr run
# --fuel`, `peer-run --fuel`: more than the run needs) and with an epoch deadline that
# never comes (`rwamr run --timeout 1h`, `peer-run --epoch`), on each rwamr mode (default:
# interp baseline optimized) and each peer engine (default: wasmtime wasmtime-winch wasmi; wasmi
# has no epochs). Every configuration of a program runs once per round, rounds repeat
# REPS times (default 3) and the minimum wall time counts (alternating runs share the
# machine's drift). Prints, per program and engine, the plain time and the fuel and
# epoch times as ratios to it, then each engine's geometric mean of those ratios.
# Env: PEER_RUN (default /tmp/peers-target/release/peer-run), RWAMR (default
# target/release/rwamr, built if missing), SHARED (default ../shared).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$here/../shared}"
PEER_RUN="${PEER_RUN:-/tmp/peers-target/release/peer-run}"
RWAMR="${RWAMR:-$here/target/release/rwamr}"
reps=3
modes="interp baseline optimized"
engines="wasmtime wasmtime-winch wasmi"
only="."
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) reps="$2"; shift 2 ;;
    -m) modes="$2"; shift 2 ;;
    -e) engines="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x "$RWAMR" ]] || (cd "$here" && cargo build --release -q -p rwamr-cli)
[[ -z "$engines" || -x "$PEER_RUN" ]] || { echo "peer-run not built; see $SHARED/tools/peers/README.md" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fuel=9000000000000000000

# name|file|export (empty: a WASI program)|arg|expected
cases=()
while IFS='|' read -r name expected; do
  cases+=("$name|$SHARED/bench/wasm/$name.wasm||1|$expected")
done < <(awk -F'\t' 'NR > 1 && $1 !~ /^wat\// && $2 == "" {print $1 "|" $3}' "$SHARED/bench/EXPECTED.tsv")
for w in loop_arith call_indirect memory_copy br_table f64_math; do
  row="$(awk -F'\t' -v n="wat/$w" '$1 == n && $2 != "1000" {print $2 "|" $3}' "$SHARED/bench/EXPECTED.tsv")"
  cases+=("$w|$SHARED/bench/wat/$w.wasm|run|${row%%|*}|${row##*|}")
done

# runners: "rwamr MODE" or "peer ENGINE"; meters: plain fuel epoch
runners=()
for m in $modes; do runners+=("rwamr $m"); done
for e in $engines; do runners+=("peer $e"); done
meters_of() { [[ "$1" == "peer wasmi" ]] && echo "plain fuel" || echo "plain fuel epoch"; }

# the command line of a runner with a meter, for case fields file/export/arg
command_of() {
  local kind="$1" who="$2" meter="$3" file="$4" export="$5" arg="$6"
  if [[ "$kind" == rwamr ]]; then
    local m=()
    [[ "$meter" == fuel ]] && m=(--fuel "$fuel")
    [[ "$meter" == epoch ]] && m=(--timeout 1h)
    if [[ -n "$export" ]]; then
      echo "$RWAMR" run --mode "$who" "${m[@]}" --invoke "$export" "$file" "$arg"
    else
      echo "$RWAMR" run --mode "$who" "${m[@]}" "$file" "$arg"
    fi
  else
    local m=()
    [[ "$meter" == fuel ]] && m=(--fuel "$fuel")
    [[ "$meter" == epoch ]] && m=(--epoch)
    if [[ -n "$export" ]]; then
      echo "$PEER_RUN" --engine "$who" "${m[@]}" "$file" --invoke "$export" "$arg"
    else
      echo "$PEER_RUN" --engine "$who" "${m[@]}" "$file" -- "$arg"
    fi
  fi
}

declare -A best
for ((r = 0; r < reps; r++)); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name file export arg expected <<<"$c"
    [[ "$name" =~ $only ]] || continue
    for runner in "${runners[@]}"; do
      for meter in $(meters_of "$runner"); do
        read -ra cmd <<<"$(command_of $runner "$meter" "$file" "$export" "$arg")"
        key="$name|$runner|$meter"
        if /usr/bin/time -f '%e' -o "$tmp/t" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" \
           && [[ "$(head -n 1 "$tmp/out")" == "$expected" ]]; then
          t="$(cat "$tmp/t")"
          if [[ -z "${best[$key]:-}" ]] || awk -v a="$t" -v b="${best[$key]}" 'BEGIN { exit !(a < b) }'; then
            best[$key]="$t"
          fi
        else
          best[$key]="FAIL"
          echo "FAIL: ${cmd[*]}: $(head -c 300 "$tmp/err")" >&2
        fi
      done
    done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
header="| program |"; sep="|---|"
for runner in "${runners[@]}"; do
  header+=" ${runner#* } s | fuel | epoch |"; sep+="---|---|---|"
done
echo "$header"; echo "$sep"
declare -A logsum count
for c in "${cases[@]}"; do
  IFS='|' read -r name _ <<<"$c"
  [[ "$name" =~ $only ]] || continue
  line="| $name |"
  for runner in "${runners[@]}"; do
    plain="${best[$name|$runner|plain]:-}"
    line+=" $plain |"
    for meter in fuel epoch; do
      t="${best[$name|$runner|$meter]:-}"
      x="$(ratio "${t:-0}" "${plain:-0}")"
      line+=" $x |"
      if [[ "$x" != "-" ]]; then
        logsum[$runner|$meter]="$(awk -v s="${logsum[$runner|$meter]:-0}" -v r="$x" 'BEGIN { printf "%.6f", s + log(r) }')"
        count[$runner|$meter]=$(( ${count[$runner|$meter]:-0} + 1 ))
      fi
    done
  done
  echo "$line"
done
for runner in "${runners[@]}"; do
  for meter in fuel epoch; do
    [[ -n "${count[$runner|$meter]:-}" ]] || continue
    awk -v w="${runner#* }" -v m="$meter" -v s="${logsum[$runner|$meter]}" -v n="${count[$runner|$meter]}" \
      'BEGIN { printf "geometric mean of %s with %s / without: %.3f (%d programs)\n", w, m, exp(s / n), n }'
  done
done
