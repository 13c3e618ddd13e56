#!/usr/bin/env bash
# Print a markdown table cross-checking every capture with tshark:
# link type, frame count, TCP frame count, number of tcp.stream values and the
# flag sequence.  Used to generate the table in testdata/README.md:
#
#   bash testdata/tools/summarize.sh [FILE...]   (default: captures/* variants/* crafted/*)
#
# Flag sequence notation: one token per frame.  TCP: direction + flags, where
# '>' = sent by the endpoint that sent the stream's first captured segment
# (the client whenever the SYN is captured) and '<' = the other endpoint;
# flags in the order S F R P A (SA = SYN+ACK, FA = FIN+ACK, PA = PSH+ACK,
# RA = RST+ACK).  "X*N" = N consecutive identical tokens.  " | " separates
# TCP streams.  Non-TCP frames: arp, icmp, udp, frag (IPv4 fragment with
# offset > 0, not decoded further; tshark run with ip.defragment:FALSE).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$HERE"
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(captures/* variants/* crafted/*)

fmt() { # file format from the magic number (+ link type number for pcap)
    local m
    m=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
    case $m in
        d4c3b2a1) echo "pcap LE usec, DLT $(od -An -tu4 -j20 -N4 --endian=little "$1" | tr -d ' ')" ;;
        4d3cb2a1) echo "pcap LE nsec, DLT $(od -An -tu4 -j20 -N4 --endian=little "$1" | tr -d ' ')" ;;
        a1b2c3d4) echo "pcap BE usec, DLT $(od -An -tu4 -j20 -N4 --endian=big "$1" | tr -d ' ')" ;;
        a1b23c4d) echo "pcap BE nsec, DLT $(od -An -tu4 -j20 -N4 --endian=big "$1" | tr -d ' ')" ;;
        0a0d0d0a) echo "pcapng" ;;
        *) echo "unknown ($m)" ;;
    esac
}

echo "| file | format | link type (tshark) | frames | TCP frames | tcp.stream values | flag sequence |"
echo "|---|---|---|---|---|---|---|"
for f in "${files[@]}"; do
    format=$(fmt "$f")
    enc=$(capinfos -E "$f" 2>/dev/null | sed -n 's/^File encapsulation: *//p' || true)
    # tshark exits non-zero on a cut-short file (truncated.pcap): keep going
    { tshark -n -r "$f" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
        -T fields -E separator=/t -E occurrence=f \
        -e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport \
        -e tcp.flags.syn -e tcp.flags.fin -e tcp.flags.reset -e tcp.flags.push \
        -e tcp.flags.ack -e frame.protocols -e ip.frag_offset 2>/dev/null || true; } |
    awk -F'\t' -v file="$f" -v enc="${enc:-?}" -v format="$format" '
    function on(v) { return v == "1" || v == "True" }
    function tok(t) {
        if (t == last) { n++; return }
        flush(); last = t; n = 1
    }
    function flush() {
        if (last != "") seq = seq (seq == "" ? "" : " ") last (n > 1 ? "*" n : "")
        last = ""; n = 0
    }
    {
        frames++
        if ($2 != "") {
            tcp++
            st = $2
            src = ($3 != "" ? $3 : $4) ":" $5
            if (!(st in first)) { first[st] = src; streams++ }
            if (prevst != "" && st != prevst) { flush(); seq = seq " |" }
            prevst = st
            s = (on($6) ? "S" : "") (on($7) ? "F" : "") (on($8) ? "R" : "") \
                (on($9) ? "P" : "") (on($10) ? "A" : "")
            tok((src == first[st] ? ">" : "<") s)
        } else {
            p = $11
            if ($12 != "" && $12 + 0 > 0) t = "frag"
            else if (p ~ /:arp/) t = "arp"
            else if (p ~ /:icmp/) t = "icmp"
            else if (p ~ /:udp/) t = "udp"
            else { t = p; sub(/.*:/, "", t) }
            tok(t)
        }
    }
    END {
        flush()
        printf "| %s | %s | %s | %d | %d | %d | %s |\n", file, format, enc, frames, tcp, streams, seq
    }'
done
