#!/usr/bin/env python3
"""Writes the crafted ICMP captures into testdata/icmp/ (the recorded ones
come from record-icmp.sh): what a Linux router does not send on request.

Run from the repository root: /usr/bin/python3 testdata/tools/record-icmp.py
Needs scapy. Frames 1 ms apart from 2024-01-01T00:00:00Z; the output is the
same on every run.

  redirect.pcap   a whole connection 10.1.0.1:40000 -> 10.1.0.2:80 whose SYN
                  draws an ICMP redirect (type 5 code 1, gateway 10.1.0.253)
                  and whose request draws a parameter problem (type 12)
  quotes.pcap     hostile and odd quotes: an unreachable quoting only 2 bytes
                  of the TCP header (icmp_truncated_quote), one quoting the
                  ports but not the sequence number, one quoting a sequence
                  number the client never sent, an ICMP error about UDP
                  (not_tcp), and the same SYN carried in VXLAN VNI 42 with an
                  unreachable inside the tunnel (attached to the tunnelled
                  connection) and one in VNI 43, which carries no connection
                  (icmp_no_connection)
"""
from scapy.all import Ether, IP, TCP, UDP, ICMP, Raw, VXLAN, wrpcap

CLI, SRV = ("10.1.0.1", 40000), ("10.1.0.2", 80)
ROUTER = "10.1.0.254"
CMAC, SMAC = "02:00:00:01:00:01", "02:00:00:01:00:02"
REQ = b"GET /tcpstate HTTP/1.0\r\n\r\n"  # 26 bytes
RESP = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"  # 38 bytes
START = 1_704_067_200


def ip_tcp(frm, flags, seq, ack=0, data=b""):
    src, dst = (CLI, SRV) if frm == "c" else (SRV, CLI)
    win = 64240 if "S" in flags else 502
    t = TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq % 2**32,
            ack=ack % 2**32 if "A" in flags else 0, window=win)
    p = IP(src=src[0], dst=dst[0], ttl=64, id=0, flags="DF") / t
    if data:
        p = p / Raw(data)
    return p


def eth(frm, p):
    smac, dmac = (CMAC, SMAC) if frm == "c" else (SMAC, CMAC)
    return Ether(src=smac, dst=dmac) / p


def icmp_about(quoted, type_, code, quote_len=None, **kw):
    """An ICMP error from the router to the client quoting `quoted`: its IP
    header and 8 bytes, or `quote_len` bytes."""
    raw = bytes(quoted)
    ihl = (raw[0] & 0x0F) * 4
    raw = raw[: quote_len if quote_len is not None else ihl + 8]
    return IP(src=ROUTER, dst=CLI[0], ttl=64, id=0) / ICMP(type=type_, code=code, **kw) / Raw(raw)


def write(name, pkts):
    for i, p in enumerate(pkts):
        p.time = START + i / 1000
    wrpcap(f"testdata/icmp/{name}", pkts)


X, Y = 1_000_000, 2_000_000
syn = ip_tcp("c", "S", X)
req = ip_tcp("c", "PA", X + 1, Y + 1, REQ)
write("redirect.pcap", [
    eth("c", syn),
    eth("s", icmp_about(syn, 5, 1, gw="10.1.0.253")),
    eth("s", ip_tcp("s", "SA", Y, X + 1)),
    eth("c", ip_tcp("c", "A", X + 1, Y + 1)),
    eth("c", req),
    eth("s", icmp_about(req, 12, 0, ptr=9)),
    eth("s", ip_tcp("s", "A", Y + 1, X + 27)),
    eth("s", ip_tcp("s", "PA", Y + 1, X + 27, RESP)),
    eth("c", ip_tcp("c", "A", X + 27, Y + 39)),
    eth("c", ip_tcp("c", "FA", X + 27, Y + 39)),
    eth("s", ip_tcp("s", "FA", Y + 39, X + 28)),
    eth("c", ip_tcp("c", "A", X + 28, Y + 40)),
])

# Outer Ethernet, IPv4, UDP 4789, VXLAN VNI 42, then the inner frame.
def vxlan(inner, vni=42):
    return (Ether(src="02:00:00:0a:00:01", dst="02:00:00:0a:00:02")
            / IP(src="192.168.0.1", dst="192.168.0.2", ttl=64, id=0)
            / UDP(sport=49152, dport=4789) / VXLAN(vni=vni, flags=0x08) / inner)


udp = IP(src=CLI[0], dst=SRV[0], ttl=64, id=0) / UDP(sport=5000, dport=53) / Raw(b"q" * 8)
never_sent = ip_tcp("c", "A", X + 999, Y + 1)
write("quotes.pcap", [
    eth("c", syn),
    eth("s", icmp_about(syn, 3, 1, quote_len=22)),  # cut inside the ports
    eth("s", icmp_about(syn, 3, 1, quote_len=24)),  # ports, no seq
    eth("s", icmp_about(never_sent, 3, 1)),  # a seq the client never sent
    eth("s", icmp_about(udp, 3, 3)),  # about UDP: not TCP
    vxlan(eth("c", syn)),
    vxlan(eth("s", icmp_about(syn, 3, 10))),  # in the tunnel: attached
    vxlan(eth("s", icmp_about(syn, 3, 10)), vni=43),  # another tunnel: no connection
])
