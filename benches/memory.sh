#!/usr/bin/env bash
# Peak RSS of every output mode on the inputs of issue 14 (release build,
# `/usr/bin/time -f %M`, one run each), as a table: one row per mode, one
# column per input, in MB.
#
#   benches/memory.sh             the four inputs (generated into target/bench/ if missing):
#                                 big.pcap   200,000 connections, 5,000 open (424 MB)
#                                 flood.pcap 1,000,000 unanswered SYNs
#                                 long.pcap  one connection of 2,000,000 segments
#                                 reuse.pcap 100,000 connections in a row on one 4-tuple
#   FOURX=1 benches/memory.sh     also big4.pcap (800,000 connections, 1.7 GB) and the
#                                 growth from big.pcap to it
#   MODES='--format json' benches/memory.sh   only these modes (separated by commas)
#   INPUTS='long reuse' benches/memory.sh     only these inputs
#   BIN=PATH benches/memory.sh    another tcpstate binary (an older build)
#
# Every run's output goes to /dev/null; a run that fails shows its exit status
# beside its figure. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/tcpstate}
dir=target/bench

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet --bin tcpstate --example gen-capture
gen=target/release/examples/gen-capture
mkdir -p "$dir"
make_input() {
  local name=$1
  shift
  if [ ! -f "$dir/$name.pcap" ]; then
    echo "generating $dir/$name.pcap ($*)…" >&2
    "$gen" "$@" -o "$dir/$name.pcap" >&2
  fi
}

inputs=(${INPUTS:-big flood long reuse})
if [ -n "${FOURX:-}" ]; then
  inputs+=(big4)
fi
for input in "${inputs[@]}"; do
  case $input in
    big) make_input big --connections 200000 --concurrent 5000 --seed 1 ;;
    big4) make_input big4 --connections 800000 --concurrent 5000 --seed 1 ;;
    flood) make_input flood --syn-flood 1000000 --seed 1 ;;
    long) make_input long --one-connection 2000000 --seed 1 ;;
    reuse) make_input reuse --reuse 100000 --seed 1 ;;
    *) echo "unknown input $input (big, big4, flood, long, reuse)" >&2; exit 1 ;;
  esac
done

default_modes='(table),--format json,--format json --packets,--format jsonl,--format zeek,--timeline,--timeline --explain,--format ladder,--format mermaid'
IFS=, read -r -a modes <<< "${MODES:-$default_modes}"

measure=$(mktemp)
trap 'rm -f "$measure"' EXIT
# peak ARGS…: the peak RSS in MB of one run, with its exit status if not 0 or 1
# (1: findings of severity error, an ordinary outcome).
peak() {
  local status=0
  /usr/bin/time -o "$measure" -f '%M' "$bin" analyze "$@" > /dev/null 2>&1 || status=$?
  local kb
  kb=$(tail -n1 "$measure")
  if [ "$status" -gt 1 ]; then
    awk -v k="$kb" -v s="$status" 'BEGIN{printf "%.0f (exit %s)", k/1024, s}'
  else
    awk -v k="$kb" 'BEGIN{printf "%.0f", k/1024}'
  fi
}

printf 'binary: %s\n' "$bin"
for input in "${inputs[@]}"; do
  printf '%s: %s MB\n' "$input.pcap" "$(( $(stat -L -c %s "$dir/$input.pcap") / 1000000 ))"
done
printf '\n| peak RSS (MB) |'
for input in "${inputs[@]}"; do printf ' %s |' "$input"; done
[ -n "${FOURX:-}" ] && printf ' big → big4 |'
printf '\n|---|'
for _ in "${inputs[@]}"; do printf -- '---|'; done
[ -n "${FOURX:-}" ] && printf -- '---|'
printf '\n'
for mode in "${modes[@]}"; do
  # shellcheck disable=SC2206
  args=(${mode/(table)/})
  printf '| %s |' "$mode"
  declare -A got=()
  for input in "${inputs[@]}"; do
    got[$input]=$(peak "${args[@]}" "$dir/$input.pcap")
    printf ' %s |' "${got[$input]}"
  done
  if [ -n "${FOURX:-}" ] && [ -n "${got[big]:-}" ]; then
    awk -v a="${got[big]%% *}" -v b="${got[big4]%% *}" 'BEGIN{printf " %+.1f%% |", (b-a)*100/a}'
  fi
  unset got
  printf '\n'
done
