#!/usr/bin/env bash
# Runs tcpstate beside tcpdump, tcptrace and tshark on the same capture and
# prints wall time, packets per second, peak RSS and the ratio to the reading
# floor (`tcpdump -r FILE -w /dev/null`).
#
#   benches/compare.sh [CAPTURE]        default: target/bench/big.pcap, generated if missing
#   RUNS=5 benches/compare.sh           best of RUNS runs per tool (default 3)
#
# Needs /usr/bin/time (Debian package `time`) and tcpdump; tcptrace and tshark
# are run when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
cap=${1:-target/bench/big.pcap}

cargo build --release --quiet --bin tcpstate --example gen-capture
if [ ! -f "$cap" ]; then
  mkdir -p "$(dirname "$cap")"
  echo "generating $cap (200,000 connections, 5,000 open at a time)…" >&2
  target/release/examples/gen-capture --connections 200000 --concurrent 5000 --seed 1 -o "$cap"
fi
for tool in /usr/bin/time tcpdump; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install time tcpdump)" >&2; exit 1; }
done
if command -v capinfos >/dev/null; then
  packets=$(capinfos -c -M "$cap" | awk -F': *' '/Number of packets/{print $2}')
else
  packets=$(tcpdump -r "$cap" -n -q 2>/dev/null | wc -l)
fi
cat "$cap" > /dev/null   # warm the page cache: every tool reads from memory

measure=$(mktemp)
trap 'rm -f "$measure"' EXIT
# best_of CMD…: prints "seconds kilobytes" of the fastest of $runs runs.
best_of() {
  local best="" rss=""
  for _ in $(seq "$runs"); do
    local out
    /usr/bin/time -o "$measure" -f '%e %M' "$@" > /dev/null 2>&1 || true
    out=$(tail -n1 "$measure")
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}

printf '%s: %s packets, %s MB\n' "$cap" "$packets" "$(( $(stat -c %s "$cap") / 1000000 ))"
printf 'machine: %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
printf '\n| tool | wall (s) | packets/s | peak RSS (MB) | × floor |\n|---|---|---|---|---|\n'
floor=""
row() {
  local name=$1; shift
  read -r t m < <(best_of "$@")
  [ -n "$floor" ] || floor=$t
  awk -v n="$name" -v t="$t" -v m="$m" -v p="$packets" -v f="$floor" \
    'BEGIN{printf "| %s | %.2f | %.2fM | %.0f | %.1f |\n", n, t, (t>0?p/t/1e6:0), m/1024, (f>0?t/f:0)}'
}
row "tcpdump -r FILE -w /dev/null (floor)" tcpdump -r "$cap" -w /dev/null
row "tcpstate analyze (table)" target/release/tcpstate analyze "$cap"
row "tcpstate analyze --format jsonl" target/release/tcpstate analyze --format jsonl "$cap"
row "tcpstate analyze --format json" target/release/tcpstate analyze --format json "$cap"
if [ "$(nproc)" -ge 2 ]; then
  row "tcpstate analyze (table), the file given twice" target/release/tcpstate analyze "$cap" "$cap"
fi
command -v tcptrace >/dev/null && row "tcptrace -n" tcptrace -n "$cap"
command -v tshark >/dev/null && row "tshark -q -z conv,tcp" tshark -q -z conv,tcp -r "$cap"
exit 0
