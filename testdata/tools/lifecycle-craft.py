#!/usr/bin/env python3
"""Writes the crafted lifecycle captures (issue 13) into testdata/crafted/.

Run from the repository root: /usr/bin/python3 testdata/tools/lifecycle-craft.py
Needs scapy. One connection 10.1.0.1:40000 -> 10.1.0.2:80 per file (two on
the same 4-tuple where the scenario needs them), frames 1 ms apart from
2024-01-01T00:00:00Z, like examples/craft.rs. The output is the same on every run.
"""
from scapy.all import Ether, IP, TCP, Raw, wrpcap

CLI, SRV = ("10.1.0.1", 40000), ("10.1.0.2", 80)
REQ = b"GET /tcpstate HTTP/1.0\r\n\r\n"  # 26 bytes
RESP = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"  # 38 bytes
START = 1_704_067_200


def frame(frm, flags, seq, ack=0, data=b"", syn_opts=False):
    src, dst = (CLI, SRV) if frm == "c" else (SRV, CLI)
    smac, dmac = ("02:00:00:01:00:01", "02:00:00:01:00:02")[:: 1 if frm == "c" else -1]
    opts = [("MSS", 1460), ("SAckOK", b""), ("WScale", 7)] if syn_opts else []
    win = 64240 if "S" in flags else 502
    t = TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq % 2**32,
            ack=ack % 2**32 if "A" in flags else 0, window=win, options=opts)
    p = Ether(src=smac, dst=dmac) / IP(src=src[0], dst=dst[0], ttl=64, id=0, flags="DF") / t
    if data:
        p = p / Raw(data)
    return p


def connection(x, y):
    """A full exchange: handshake, request, response, client-first close."""
    return [
        frame("c", "S", x, syn_opts=True),
        frame("s", "SA", y, x + 1, syn_opts=True),
        frame("c", "A", x + 1, y + 1),
        frame("c", "PA", x + 1, y + 1, REQ),
        frame("s", "A", y + 1, x + 27),
        frame("s", "PA", y + 1, x + 27, RESP),
        frame("c", "A", x + 27, y + 39),
        frame("c", "FA", x + 27, y + 39),
        frame("s", "FA", y + 39, x + 28),
        frame("c", "A", x + 28, y + 40),
    ]


def write(name, pkts, times=None):
    """Frames 1 ms apart, or at `times` (seconds from START) when given."""
    for i, p in enumerate(pkts):
        p.time = START + (times[i] if times else i / 1000)
    wrpcap(f"testdata/crafted/{name}", pkts)


X, Y = 1_000_000, 2_000_000
# 1: the client gives up on an attempt (RST from SYN-SENT answering the
# SYN-ACK), then connects again with another ISN: two connections.
write("syn_after_rst.pcap", [
    frame("c", "S", X, syn_opts=True),
    frame("s", "SA", Y, X + 1, syn_opts=True),
    frame("c", "R", X + 1),
] + connection(X + 500_000, Y + 700_000))
# 2: a RST from SYN-SENT, then an ACK that would complete the handshake.
write("rst_from_syn_sent.pcap", [
    frame("c", "S", X, syn_opts=True),
    frame("s", "SA", Y, X + 1, syn_opts=True),
    frame("c", "R", X + 1),
    frame("c", "A", X + 1, Y + 1),
])
# 4: both FINs, then the client resets instead of sending the last ACK.
full = connection(X, Y)
write("rst_after_fins.pcap", full[:-1] + [frame("c", "R", X + 28)])

# 5a: the SYN was sent again 1 s later and that one was answered: the
# initial RTT (SYN -> third ACK) is 2 ms, so the request sent again 10 ms
# later is a retransmission, not out-of-order.
c = connection(X, Y)
write("syn_rtx_rtt.pcap",
      [c[0], c[0].copy()] + c[1:4] + [c[3].copy()] + c[4:],
      [0, 1.0, 1.001, 1.002, 1.003, 1.013, 1.014, 1.015, 1.016, 1.017, 1.018, 1.019])
# 5b: the request sent again after the server had ACKed it: spurious.
c = connection(X, Y)
write("spurious_rtx.pcap", c[:5] + [c[3].copy()] + c[5:],
      [0, 0.001, 0.002, 0.003, 0.004, 0.300, 0.301, 0.302, 0.303, 0.304, 0.305])
# 5c: two client segments (50 bytes each at rel 101 and 151) are not
# captured; the server ACKs 151, inside the hole, then everything; then a
# client-first close whose FIN the server ACKs.
D = bytes(range(100))
write("ack_in_hole.pcap", [
    frame("c", "S", X, syn_opts=True),
    frame("s", "SA", Y, X + 1, syn_opts=True),
    frame("c", "A", X + 1, Y + 1),
    frame("c", "PA", X + 1, Y + 1, D),
    frame("c", "PA", X + 201, Y + 1, D),
    frame("s", "A", Y + 1, X + 151),
    frame("s", "A", Y + 1, X + 301),
    frame("c", "FA", X + 301, Y + 1),
    frame("s", "FA", Y + 1, X + 302),
    frame("c", "A", X + 302, Y + 2),
])
# 5d: data on the SYN, refused.
write("syn_data_refused.pcap", [
    frame("c", "S", X, data=REQ, syn_opts=True),
    frame("s", "RA", 0, X + 27),
])
# 7: a capture that sees only the client's direction (the SYN-ACK and all
# the server's segments are missing): SYN, ACK, request, a 30 s pause, a
# second request, FIN. Not an unanswered attempt: one connection.
write("one_direction_pause.pcap", [
    frame("c", "S", X, syn_opts=True),
    frame("c", "A", X + 1, Y + 1),
    frame("c", "PA", X + 1, Y + 1, REQ),
    frame("c", "PA", X + 27, Y + 39, REQ),
    frame("c", "FA", X + 53, Y + 77),
], [0, 0.002, 0.003, 30.0, 30.001])
# 8: the client's request carries an IPv4 option whose length (48) runs past
# the header's 4 bytes of options: a malformed packet, which tcpstate skips
# (malformed_ip_options) and tshark still dissects. Written byte for byte, as
# scapy would mend the option when building it.
from scapy.all import IPOption_NOP, RawPcapWriter

pkts = connection(X, Y)
bad = pkts[3].copy()
bad[IP].options = [IPOption_NOP()] * 4
raw = bytearray(bytes(bad))
raw[14 + 20 : 14 + 24] = bytes([7, 48, 4, 0])
with RawPcapWriter("testdata/crafted/ip_options_bad.pcap", linktype=1) as w:
    w.write_header(None)
    for i, p in enumerate(pkts):
        t = START + i / 1000
        data = bytes(raw) if i == 3 else bytes(p)
        w.write_packet(data, sec=int(t), usec=round((t - int(t)) * 1e6))
