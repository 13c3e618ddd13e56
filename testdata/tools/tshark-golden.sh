#!/usr/bin/env bash
# Records what tshark says about every capture in testdata/ (stream index,
# flags, relative seq/ack and the TCP analysis flags of every TCP frame) into
# testdata/tshark/*.tsv, so that tests/tshark_agreement.rs can hold tcpstate
# to it without tshark installed. Re-run after adding or re-recording a capture:
#   bash testdata/tools/tshark-golden.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "needs tshark (apt-get install tshark)" >&2; exit 1; }
mkdir -p tshark
rm -f tshark/*.tsv
tshark --version | head -n1 > tshark/VERSION
# The analysis flags, in the order of the columns after `ack`.
analysis=(retransmission fast_retransmission spurious_retransmission out_of_order
          lost_segment ack_lost_segment duplicate_ack zero_window zero_window_probe
          keep_alive keep_alive_ack window_update window_full)
fields=(-e frame.number -e tcp.stream -e tcp.flags -e tcp.seq -e tcp.ack)
header='frame\tstream\tflags\tseq\tack'
for a in "${analysis[@]}"; do
  fields+=(-e "tcp.analysis.$a")
  header+="\t$a"
done
# What tshark must be told to decode some tunnel captures as tcpstate does
# (it does not look for VXLAN on the Linux port, nor guess MPLS pseudowires).
decode_as() {
  case "$1" in
    tunnels/vxlan_8472.pcap) echo "-d udp.port==8472,vxlan" ;;
    tunnels/mpls_pw_cw.pcap) echo "-d mpls.label==3000,pwethcw" ;;
    tunnels/mpls_pw.pcap) echo "-d mpls.label==3001,pwethnocw" ;;
  esac
}
# Captures tshark cannot be the reference for: two VXLAN tunnels carrying
# the same inner 4-tuple at once are one conversation to tshark (so are a
# connection and the same 4-tuple in a tunnel, in icmp/quotes.pcap).
skip_golden() {
  case "$1" in
    tunnels/vxlan_two_tunnels.pcap) return 0 ;;
    icmp/quotes.pcap) return 0 ;;
  esac
  return 1
}
# The TCP frames: tshark also dissects the TCP header an ICMP error quotes,
# as a frame of the stream with raw numbers and no analysis; tcpstate
# attaches the error to the connection instead, so those frames are left out.
tcp='tcp && !icmp && !icmpv6'
for f in captures/*.pcap captures/*.pcapng variants/*.pcap variants/*.pcapng crafted/*.pcap tunnels/*.pcap icmp/*.pcap diagnosis/*.pcap agree/*.pcap; do
  [ -e "$f" ] || continue
  skip_golden "$f" && continue
  out="tshark/$(echo "$f" | tr '/' '_').tsv"
  {
    printf "$header\n"
    # tshark exits 2 on a file cut short, after printing every complete frame.
    # shellcheck disable=SC2046
    tshark -r "$f" $(decode_as "$f") -Y "$tcp" -T fields "${fields[@]}" 2>/dev/null || true
  } > "$out"
done
# Wireshark's conversation completeness needs two passes to be final: one
# line per capture and stream.
for f in captures/*.pcap captures/*.pcapng variants/*.pcap variants/*.pcapng crafted/*.pcap tunnels/*.pcap icmp/*.pcap diagnosis/*.pcap agree/*.pcap; do
  [ -e "$f" ] || continue
  skip_golden "$f" && continue
  # shellcheck disable=SC2046
  tshark -2 -r "$f" $(decode_as "$f") -Y "$tcp" -T fields -e tcp.stream -e tcp.completeness 2>/dev/null \
    | sort -u -n | awk -v f="$f" -F'\t' '{print f "\t" $1 "\t" $2}' || true
done > tshark/completeness.tsv.txt
ls tshark | wc -l
