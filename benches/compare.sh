#!/usr/bin/env bash
# Runs tcpstate beside tcpdump, tcptrace and tshark on the same capture and
# prints wall time, packets per second, peak RSS and the ratio to the reading
# floor (`tcpdump -r FILE -w /dev/null`).
#
#   benches/compare.sh [CAPTURE]        default: target/bench/big.pcap, generated if missing
#   RUNS=5 benches/compare.sh           best of RUNS runs per tool (default 3)
#   FOURX=1 benches/compare.sh          also peak RSS on a capture 4x as large
#                                       (target/bench/big4.pcap, 1.7 GB, generated if missing)
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
# best_of CMD…: prints "seconds kilobytes" of the fastest of $runs runs
# (wall time to the millisecond; peak RSS from /usr/bin/time).
best_of() {
  local best="" rss=""
  for _ in $(seq "$runs"); do
    local start end t m
    start=$(date +%s.%N)
    /usr/bin/time -o "$measure" -f '%M' "$@" > /dev/null 2>&1 || true
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.3f", b-a}')
    m=$(tail -n1 "$measure")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}

printf '%s: %s packets, %s MB\n' "$cap" "$packets" "$(( $(stat -c %s "$cap") / 1000000 ))"
printf 'machine: %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
printf '\n| tool | wall (s) | packets/s | peak RSS (MB) | × floor |\n|---|---|---|---|---|\n'
floor=""
t=""
row() {
  local name=$1; shift
  read -r t m < <(best_of "$@")
  [ -n "$floor" ] || floor=$t
  awk -v n="$name" -v t="$t" -v m="$m" -v p="$packets" -v f="$floor" \
    'BEGIN{printf "| %s | %.3f | %.2fM | %.0f | %.2f |\n", n, t, (t>0?p/t/1e6:0), m/1024, (f>0?t/f:0)}'
}
row "tcpdump -r FILE -w /dev/null (floor)" tcpdump -r "$cap" -w /dev/null
row "tcpstate analyze (table)" target/release/tcpstate analyze "$cap"
one=$t
row "tcpstate analyze --format jsonl" target/release/tcpstate analyze --format jsonl "$cap"
row "tcpstate analyze --format json" target/release/tcpstate analyze --format json "$cap"
row "tcpstate analyze --jobs 1 (table, one thread)" target/release/tcpstate analyze --jobs 1 "$cap"
one_thread=$t
row "tcpstate analyze --jobs 1 --format jsonl" target/release/tcpstate analyze --jobs 1 --format jsonl "$cap"
if [ "$(nproc)" -ge 2 ]; then
  row "tcpstate analyze (table), the file given twice" target/release/tcpstate analyze "$cap" "$cap"
  two=$t
fi
command -v tcptrace >/dev/null && row "tcptrace -n" tcptrace -n "$cap"
command -v tshark >/dev/null && row "tshark -q -z conv,tcp" tshark -q -z conv,tcp -r "$cap"
if [ -n "${two:-}" ]; then
  awk -v a="$one" -v b="$one_thread" -v two="$two" 'BEGIN{printf "\ntwo files on two cores: %.2fx the throughput of one file (default), %.2fx that of one file on one thread (--jobs 1)\n", 2*a/two, 2*b/two}'
fi

if [ -n "${FOURX:-}" ]; then
  big4=target/bench/big4.pcap
  if [ ! -f "$big4" ]; then
    echo "generating $big4 (800,000 connections, 5,000 open at a time)…" >&2
    target/release/examples/gen-capture --connections 800000 --concurrent 5000 --seed 1 -o "$big4"
  fi
  printf '\n| peak RSS (MB) | %s | %s (4x) | growth |\n|---|---|---|---|\n' "$cap" "$big4"
  for fmt in table jsonl; do
    read -r _ m1 < <(best_of target/release/tcpstate analyze --format "$fmt" "$cap")
    read -r _ m4 < <(best_of target/release/tcpstate analyze --format "$fmt" "$big4")
    awk -v f="$fmt" -v a="$m1" -v b="$m4" 'BEGIN{printf "| %s | %.1f | %.1f | %+.1f%% |\n", f, a/1024, b/1024, (b/a-1)*100}'
  done
fi
exit 0
