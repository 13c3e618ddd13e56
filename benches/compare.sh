#!/usr/bin/env bash
# Runs tcpstate beside tcpdump, tcptrace and tshark on the same capture and
# prints wall time, packets per second, peak RSS and the ratio to the reading
# floor (`tcpdump -r FILE -w /dev/null`).
#
#   benches/compare.sh [CAPTURE]        default: target/bench/big.pcap, generated if missing
#   RUNS=5 benches/compare.sh           RUNS rounds, each tool once a round; best run
#                                       per tool, with the median and the slowest
#                                       (default 3)
#   (it also times one shard of four, --shard 0/4, against the whole run, as a ratio)
#   FOURX=1 benches/compare.sh          also peak RSS on a capture 4x as large
#   VXLAN=1 benches/compare.sh          also the same traffic wrapped in VXLAN
#                                       (benches/vxlan-wrap.py), for the per-packet cost
#                                       of decapsulation
#   BASELINE=PATH benches/compare.sh    also runs another tcpstate binary (an older
#                                       build) on the same modes, interleaved in the
#                                       same rounds, to show a change's cost side by side
#                                       (target/bench/big4.pcap, 1.7 GB, generated if missing)
#   PGO=1 benches/compare.sh            also the profile-guided build (benches/pgo-build.sh)
#                                       in the four streaming formats, in the same rounds
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
# time_once CMD…: prints "seconds kilobytes" of one run (wall time to the
# millisecond; peak RSS from /usr/bin/time).
time_once() {
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -o "$measure" -f '%M' "$@" > /dev/null 2>&1 || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" -v m="$(tail -n1 "$measure")" 'BEGIN{printf "%.3f %s\n", b-a, m}'
}
# best_of CMD…: the fastest of $runs runs of one command.
best_of() {
  local best="" rss="" t m
  for _ in $(seq "$runs"); do
    read -r t m < <(time_once "$@")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}

printf '%s: %s packets, %s MB\n' "$cap" "$packets" "$(( $(stat -L -c %s "$cap") / 1000000 ))"
printf 'machine: %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"

names=()
cmds=()
add() {
  names+=("$1")
  shift
  cmds+=("$(printf '%q ' "$@")")
}
add "tcpdump -r FILE -w /dev/null (floor)" tcpdump -r "$cap" -w /dev/null
one=${#names[@]}
add "tcpstate analyze (table)" target/release/tcpstate analyze "$cap"
add "tcpstate analyze --format jsonl" target/release/tcpstate analyze --format jsonl "$cap"
add "tcpstate analyze --format json" target/release/tcpstate analyze --format json "$cap"
add "tcpstate analyze --format zeek" target/release/tcpstate analyze --format zeek "$cap"
shard=${#names[@]}
add "tcpstate analyze --shard 0/4 (table)" target/release/tcpstate analyze --shard 0/4 "$cap"
add "tcpstate analyze --shard 0/4 --format jsonl" target/release/tcpstate analyze --shard 0/4 --format jsonl "$cap"
html_out="$(dirname "$cap")/compare-report.html"
add "tcpstate analyze --format html -o FILE" target/release/tcpstate analyze --format html -o "$html_out" "$cap"
one_thread=${#names[@]}
add "tcpstate analyze --jobs 1 (table, one thread)" target/release/tcpstate analyze --jobs 1 "$cap"
add "tcpstate analyze --jobs 1 --format jsonl" target/release/tcpstate analyze --jobs 1 --format jsonl "$cap"
if [ -n "${BASELINE:-}" ]; then
  add "baseline analyze (table)" "$BASELINE" analyze "$cap"
  add "baseline analyze --format jsonl" "$BASELINE" analyze --format jsonl "$cap"
  add "baseline analyze --format json" "$BASELINE" analyze --format json "$cap"
  add "baseline analyze --jobs 1 (table, one thread)" "$BASELINE" analyze --jobs 1 "$cap"
fi
if [ -n "${PGO:-}" ]; then
  pgo=$(benches/pgo-build.sh)
  add "PGO build: table" "$pgo" analyze "$cap"
  add "PGO build: --format jsonl" "$pgo" analyze --format jsonl "$cap"
  add "PGO build: --format json" "$pgo" analyze --format json "$cap"
  add "PGO build: --format zeek" "$pgo" analyze --format zeek "$cap"
fi
if [ -n "${VXLAN:-}" ]; then
  vx="${cap%.pcap}-vxlan.pcap"
  [ -f "$vx" ] || python3 benches/vxlan-wrap.py "$cap" "$vx"
  bare_one=${#names[@]}
  add "tcpstate analyze --jobs 1 (table), bare" target/release/tcpstate analyze --jobs 1 "$cap"
  add "tcpstate analyze --jobs 1 (table), the same in VXLAN" target/release/tcpstate analyze --jobs 1 "$vx"
fi
two=""
if [ "$(nproc)" -ge 2 ]; then
  two=${#names[@]}
  add "tcpstate analyze (table), the file given twice" target/release/tcpstate analyze "$cap" "$cap"
fi
ours=${#names[@]}
command -v tcptrace >/dev/null && add "tcptrace -n" tcptrace -n "$cap"
command -v tshark >/dev/null && add "tshark -q -z conv,tcp" tshark -q -z conv,tcp -r "$cap"

# Rounds: each command runs once per round, so that a slow spell of the
# machine weighs on every tool alike rather than on whichever ran then;
# each keeps its fastest run. tcptrace and tshark get rounds of their own,
# after the others: they take 1.6-1.9 GB, and on a virtual machine memory
# just handed back is slow to touch again, which would weigh on whatever
# ran next (tcpstate: 0.42 -> 0.54 s right after tshark on the project's VM).
best=()
rss=()
all=()
rounds() { # first last: rounds over commands first..last-1
  for _ in $(seq "$runs"); do
    for ((i = $1; i < $2; i++)); do
      read -r t m < <(eval "time_once ${cmds[i]}")
      all[i]="${all[i]:-} $t"
      if [ -z "${best[i]:-}" ] || awk -v a="$t" -v b="${best[i]}" 'BEGIN{exit !(a<b)}'; then
        best[i]=$t
        rss[i]=$m
      fi
    done
  done
}
rounds 0 "$ours"
rounds "$ours" "${#cmds[@]}"

# The median and the slowest run of each, beside the best: on a shared
# virtual machine the spread says how far one run's ratios can be trusted.
median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
slowest() { tr ' ' '\n' <<< "$1" | grep . | sort -g | tail -1; }
floor_median=$(median "${all[0]}")
printf '\n%s rounds; wall time: the best run, the median, the slowest; × floor: best over best, median over median\n' "$runs"
printf '\n| tool | wall (s) | median (s) | slowest (s) | packets/s | peak RSS (MB) | × floor | × floor (medians) |\n|---|---|---|---|---|---|---|---|\n'
for i in "${!cmds[@]}"; do
  awk -v n="${names[i]}" -v t="${best[i]}" -v md="$(median "${all[i]}")" -v mx="$(slowest "${all[i]}")" \
    -v m="${rss[i]}" -v p="$packets" -v f="${best[0]}" -v fm="$floor_median" \
    'BEGIN{printf "| %s | %.3f | %.3f | %.3f | %.2fM | %.0f | %.2f | %.2f |\n", n, t, md, mx, (t>0?p/t/1e6:0), m/1024, (f>0?t/f:0), (fm>0?md/fm:0)}'
done
if [ -n "$two" ]; then
  awk -v a="${best[one]}" -v b="${best[one_thread]}" -v two="${best[two]}" 'BEGIN{printf "\ntwo files on two cores: %.2fx the throughput of one file (default), %.2fx that of one file on one thread (--jobs 1)\n", 2*a/two, 2*b/two}'
fi

awk -v a="${best[one]}" -v b="${best[shard]}" -v c="${best[one+1]}" -v d="${best[shard+1]}" \
  'BEGIN{printf "\none shard of 4 (--shard 0/4) against the whole run: %.2fx its time (table), %.2fx (jsonl); target <= 0.45x\n", b/a, d/c}'
# The report just written, opened in headless Chromium (benches/html-load.mjs):
# navigation start to first paint and to the load event, best of 3.
if command -v node >/dev/null && [ -f .ci/node/node_modules/puppeteer-core/package.json ] && [ -f "$html_out" ]; then
  node benches/html-load.mjs "$html_out" 3 | awk -v s="$(stat -c %s "$html_out")" '{
    match($0, /"firstPaint":[0-9.]+/); fp = substr($0, RSTART + 13, RLENGTH - 13)
    match($0, /"load":[0-9.]+/); ld = substr($0, RSTART + 7, RLENGTH - 7)
    printf "\nHTML report (%.1f MB) in Chromium: first paint %.2f s, load event %.2f s\n", s / 1e6, fp / 1000, ld / 1000 }'
fi

if [ -n "${VXLAN:-}" ]; then
  awk -v a="${best[bare_one]}" -v b="${best[bare_one+1]}" -v p="$packets" 'BEGIN{printf "\nVXLAN decapsulation: %.0f ns more per packet (one thread, best runs)\n", (b-a)/p*1e9}'
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
