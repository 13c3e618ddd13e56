#!/usr/bin/env python3
"""Writes the crafted captures of Zeek's record splitting (issue 13, branch
zeekrec) into testdata/crafted/: one tcpstate connection that Zeek's timers
or a reused 4-tuple split into several conn.log records.

Run from the repository root: /usr/bin/python3 testdata/tools/zeekrec-craft.py
Needs scapy. Same conventions as lifecycle-craft.py: 10.1.0.1:40000 ->
10.1.0.2:80, times in seconds from 2024-01-01T00:00:00Z given per frame;
the output is the same on every run. Linux cannot produce these timings (it
does not retry a SYN after a RST, and its timers differ), hence crafted.
"""
from scapy.all import Ether, IP, TCP, Raw, wrpcap

CLI, SRV = ("10.1.0.1", 40000), ("10.1.0.2", 80)
REQ = b"GET /tcpstate HTTP/1.0\r\n\r\n"  # 26 bytes
RESP = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"  # 38 bytes
START = 1_704_067_200
X, Y = 1_000_000, 2_000_000


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


def write(name, timed):
    """`timed`: (seconds from START, frame) pairs."""
    pkts = []
    for t, p in timed:
        p.time = START + t
        pkts.append(p)
    wrpcap(f"testdata/crafted/{name}", pkts)


# 1: a SYN to a closed port, answered by RST-ACK, re-sent twice with the
# same ISN (Linux gives up after the first RST): three Zeek records, REJ Sr.
write("zeek_rej_retry.pcap", [
    (0.000, frame("c", "S", X, syn_opts=True)),
    (0.001, frame("s", "RA", 0, X + 1)),
    (1.000, frame("c", "S", X, syn_opts=True)),
    (1.001, frame("s", "RA", 0, X + 1)),
    (3.000, frame("c", "S", X, syn_opts=True)),
    (3.001, frame("s", "RA", 0, X + 1)),
])

# 2: the client answers the SYN-ACK with a RST, and sends an ACK 6 s later,
# after tcp_close_delay (5 s): Zeek's record ends, the ACK begins another.
write("zeek_rst_late_ack.pcap", [
    (0.000, frame("c", "S", X, syn_opts=True)),
    (0.001, frame("s", "SA", Y, X + 1, syn_opts=True)),
    (0.002, frame("c", "R", X + 1)),
    (6.002, frame("c", "A", X + 1, Y + 1)),
])

# 3: a capture of the client's direction only: SYN, ACK, data, FIN. The FIN
# closes the record at once (the responder is inactive), and
# tcp_close_delay (5 s) later it is gone: the FIN re-sent after 4 s is in
# the record, the one re-sent exactly 5 s after the first begins the next.
write("zeek_close_delay.pcap", [
    (0.000, frame("c", "S", X, syn_opts=True)),
    (0.001, frame("c", "A", X + 1, Y + 1)),
    (0.002, frame("c", "PA", X + 1, Y + 1, REQ)),
    (0.003, frame("c", "FA", X + 27, Y + 1)),
    (4.003, frame("c", "FA", X + 27, Y + 1)),
    (5.003, frame("c", "FA", X + 27, Y + 1)),
])

# 4: an established connection idle twice: 299.999 s (less than
# tcp_inactivity_timeout, 5 min: one record) and exactly 300 s (the
# record expires: the rest is a second record). Analyzed with
# --idle-timeout 0, so that tcpstate keeps one connection.
write("zeek_inactivity.pcap", [
    (0.000, frame("c", "S", X, syn_opts=True)),
    (0.001, frame("s", "SA", Y, X + 1, syn_opts=True)),
    (0.002, frame("c", "A", X + 1, Y + 1)),
    (0.003, frame("c", "PA", X + 1, Y + 1, REQ)),
    (300.002, frame("s", "A", Y + 1, X + 27)),
    (600.002, frame("s", "PA", Y + 1, X + 27, RESP)),
    (600.003, frame("c", "A", X + 27, Y + 39)),
    (600.004, frame("c", "FA", X + 27, Y + 39)),
    (600.005, frame("s", "FA", Y + 39, X + 28)),
    (600.006, frame("c", "A", X + 28, Y + 40)),
])

# 5: the client closes (FIN), the server goes on, then the client sends a
# RST far outside the server's window: tcpstate ignores it (RL007), Zeek
# does not check RST windows and, the RST coming from CLOSED with the peer
# open, ends the record tcp_reset_delay (5 s) later; the server's data
# 6 s later begins another Zeek record in the same tcpstate connection.
write("zeek_reset_delay.pcap", [
    (0.000, frame("c", "S", X, syn_opts=True)),
    (0.001, frame("s", "SA", Y, X + 1, syn_opts=True)),
    (0.002, frame("c", "A", X + 1, Y + 1)),
    (0.003, frame("c", "FA", X + 1, Y + 1)),
    (0.004, frame("s", "A", Y + 1, X + 2)),
    (0.005, frame("c", "R", X + 2 + 1_000_000)),
    (6.005, frame("s", "PA", Y + 1, X + 2, RESP)),
    (6.006, frame("c", "R", X + 2)),
])

# 6: twenty SYNs, each refused by RST-ACK, 100 ms apart: Zeek would write
# twenty REJ records; tcpstate keeps the first 16 (the 16th goes on to the
# end) and counts the 4 splits not made (zeek_records_merged).
many = []
for i in range(20):
    many.append((i * 0.1, frame("c", "S", X, syn_opts=True)))
    many.append((i * 0.1 + 0.001, frame("s", "RA", 0, X + 1)))
write("zeek_rej_many.pcap", many)
