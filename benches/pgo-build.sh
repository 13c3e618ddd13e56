#!/usr/bin/env bash
# Builds tcpstate with profile-guided optimization (PGO): an instrumented
# build runs a training workload, LLVM merges the profile, and the final
# build lays out and inlines the code by what the profile saw. Same source,
# same output byte for byte; on this project's 2-core VM, in interleaved
# rounds, the table took 6% less wall time, JSON Lines 5%, the JSON document
# 11% and the conn.log 6% (docs/performance.md, "Session 12").
#
#   benches/pgo-build.sh            prints the path of the binary it built:
#                                   target/pgo/use/release/tcpstate
#
# The training capture comes from examples/gen-capture with another seed and
# size than the benchmark capture (20,000 connections, 2,000 open at a time,
# seed 7), run in the four streaming formats, plus every capture of testdata/
# in the table and the JSON document, so that the rare paths (tunnels, damaged
# files, ICMP, the teaching views' inputs) are in the profile too.
#
# Needs llvm-profdata of the LLVM that rustc uses: rustup's `llvm-tools`
# component (installed here when missing), or `llvm-profdata-N` on the PATH
# with N the major version `rustc -vV` names.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | awk '/^host:/{print $2}')
llvm_major=$(rustc -vV | awk '/^LLVM version:/{split($3, v, "."); print v[1]}')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
  if command -v "llvm-profdata-$llvm_major" >/dev/null; then
    profdata=$(command -v "llvm-profdata-$llvm_major")
  elif command -v rustup >/dev/null && rustup component add llvm-tools >&2 && [ -x "$profdata" ]; then
    :
  else
    echo "pgo-build: needs llvm-profdata for LLVM $llvm_major: 'rustup component add llvm-tools'," >&2
    echo "or the Debian package llvm-$llvm_major (llvm-profdata-$llvm_major)" >&2
    exit 1
  fi
fi

out=target/pgo
raw="$PWD/$out/raw"
rm -rf "$raw"
mkdir -p "$raw"

echo "pgo-build: instrumented build…" >&2
RUSTFLAGS="-Cprofile-generate=$raw" cargo build --release --quiet --bin tcpstate --target-dir "$out/gen"
cargo build --release --quiet --example gen-capture
train="$out/train.pcap"
[ -f "$train" ] || target/release/examples/gen-capture --connections 20000 --concurrent 2000 --seed 7 -o "$train" >/dev/null

echo "pgo-build: training…" >&2
gen="$out/gen/release/tcpstate"
for format in table jsonl json zeek; do
  "$gen" analyze --format "$format" "$train" >/dev/null 2>&1 || true
done
find testdata -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' -o -name '*.zst' -o -name '*.xz' \) |
  sort | while read -r capture; do
    "$gen" analyze "$capture" >/dev/null 2>&1 || true
    "$gen" analyze --format json "$capture" >/dev/null 2>&1 || true
  done
"$profdata" merge -o "$out/tcpstate.profdata" "$raw"

echo "pgo-build: optimized build…" >&2
RUSTFLAGS="-Cprofile-use=$PWD/$out/tcpstate.profdata" \
  cargo build --release --quiet --bin tcpstate --target-dir "$out/use"
bin="$out/use/release/tcpstate"

# The same output as the plain build, on a capture of each kind.
cargo build --release --quiet --bin tcpstate
for capture in testdata/crafted/seed_ftp.pcap "$train"; do
  for format in table jsonl; do
    if ! cmp -s <("$bin" analyze --format "$format" "$capture" 2>&1) \
      <(target/release/tcpstate analyze --format "$format" "$capture" 2>&1); then
      echo "pgo-build: $bin and target/release/tcpstate disagree on $capture ($format)" >&2
      exit 1
    fi
  done
done
echo "$bin"
