#!/usr/bin/env bash
# Records what tshark says about every capture in testdata/ (stream index,
# flags, relative seq/ack of every TCP frame) into testdata/tshark/*.tsv, so
# that tests/tshark_agreement.rs can hold tcpstate to it without tshark
# installed. Re-run after adding or re-recording a capture:
#   bash testdata/tools/tshark-golden.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "needs tshark (apt-get install tshark)" >&2; exit 1; }
mkdir -p tshark
rm -f tshark/*.tsv
tshark --version | head -n1 > tshark/VERSION
for f in captures/*.pcap captures/*.pcapng variants/*.pcap variants/*.pcapng; do
  [ -e "$f" ] || continue
  out="tshark/$(echo "$f" | tr '/' '_').tsv"
  {
    printf 'frame\tstream\tflags\tseq\tack\n'
    # Relative numbers are tshark's defaults; -2 is not used (no reassembly needed).
    # tshark exits 2 on a file cut short, after printing every complete frame.
    tshark -r "$f" -Y tcp -T fields -e frame.number -e tcp.stream -e tcp.flags -e tcp.seq -e tcp.ack 2>/dev/null || true
  } > "$out"
done
ls tshark | wc -l
