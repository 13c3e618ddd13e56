#!/usr/bin/python3
"""Wraps real recorded connections in every encapsulation tcpstate decodes.

  /usr/bin/python3 testdata/tools/tunnels-craft.py     # writes testdata/tunnels/*.pcap

The inner packets are the recorded Linux connections of
testdata/captures/graceful_client_close.pcap (IPv4) and ipv6.pcap (IPv6),
byte for byte with their timestamps, so the inner numbers (ISNs, windows,
options, checksums) are real. Only the outer layers are crafted, with scapy
for the outer Ethernet/IP/UDP headers (lengths and checksums computed) and
struct for the tunnel headers, field by field as their RFCs lay them out.
Packets from the inner client go outer A -> B, the others B -> A.
Outer addresses are documentation ranges (192.0.2.0/24, 2001:db8::/32).

The VXLAN captures are recorded for real instead: record-vxlan.sh.
"""
import os
import struct
import sys
import zlib

from scapy.all import IP, UDP, Ether, IPv6, PcapWriter, Raw, rdpcap

TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
HERE = os.path.join(TESTDATA, "tunnels")
CAPTURES = os.path.join(TESTDATA, "captures")

A4, B4 = "192.0.2.1", "192.0.2.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
MAC_A, MAC_B = "02:00:00:00:0a:01", "02:00:00:00:0b:01"


def inner(name):
    """(time, inner IP bytes, from_client) of every frame of a recorded capture."""
    pkts = rdpcap(os.path.join(CAPTURES, name))
    first = bytes(pkts[0])[14:]
    client = first[12:16] if first[0] >> 4 == 4 else first[8:24]
    out = []
    for p in pkts:
        ip = bytes(p)[14:]
        src = ip[12:16] if ip[0] >> 4 == 4 else ip[8:24]
        out.append((p.time, ip, src == client))
    return out


V4 = inner("graceful_client_close.pcap")
V6 = inner("ipv6.pcap")


def write(name, linktype, frames):
    """Writes (time, bytes) frames as a microsecond pcap of `linktype`."""
    w = PcapWriter(os.path.join(HERE, name), linktype=linktype, sync=True)
    for t, b in frames:
        p = Raw(b)
        p.time = t
        w.write(p)
    w.close()


def eth(payload, ether_type, fwd, src=MAC_A, dst=MAC_B):
    s, d = (src, dst) if fwd else (dst, src)
    return bytes(Ether(src=s, dst=d, type=ether_type) / Raw(payload))


def mac_bytes(fwd):
    a = bytes.fromhex(MAC_A.replace(":", ""))
    b = bytes.fromhex(MAC_B.replace(":", ""))
    return (b + a) if fwd else (a + b)  # destination, then source


def ether_frame(ip, fwd):
    """The inner frame as Ethernet, ethertype by IP version."""
    return mac_bytes(fwd) + struct.pack("!H", 0x0800 if ip[0] >> 4 == 4 else 0x86DD) + ip


def outer_ip(payload, proto, fwd, v6=False):
    if v6:
        s, d = (A6, B6) if fwd else (B6, A6)
        return bytes(IPv6(src=s, dst=d, nh=proto, hlim=64) / Raw(payload))
    s, d = (A4, B4) if fwd else (B4, A4)
    return bytes(IP(src=s, dst=d, proto=proto, ttl=64, id=0) / Raw(payload))


def outer_udp(payload, sport, dport, fwd):
    s, d = (A4, B4) if fwd else (B4, A4)
    return bytes(IP(src=s, dst=d, ttl=64, id=0) / UDP(sport=sport, dport=dport) / Raw(payload))


def on_ethernet(ip):
    return eth(ip, 0x0800 if ip[0] >> 4 == 4 else 0x86DD, True)


def fragment4(packet, sizes):
    """Splits an IPv4 packet's payload: pieces of the given sizes (multiples
    of 8), then the rest."""
    hl = (packet[0] & 0x0F) * 4
    total = struct.unpack("!H", packet[2:4])[0]
    payload = packet[hl:total]
    out, at = [], 0
    for size in sizes + [len(payload)]:
        piece = payload[at:at + size]
        if not piece:
            break
        more = at + len(piece) < len(payload)
        h = IP(packet[:hl] + piece)
        h.flags = "MF" if more else 0
        h.frag = at // 8
        h.len = hl + len(piece)
        del h.chksum
        out.append(bytes(h))
        at += len(piece)
    return out


def fragment6(packet, sizes, ident):
    """Splits an IPv6 packet (no extension headers) with fragment headers."""
    nh = packet[6]
    payload = packet[40:40 + struct.unpack("!H", packet[4:6])[0]]
    out, at = [], 0
    for size in sizes + [len(payload)]:
        piece = payload[at:at + size]
        if not piece:
            break
        more = at + len(piece) < len(payload)
        fh = struct.pack("!BBHI", nh, 0, at | int(more), ident)
        hdr = bytearray(packet[:40])
        hdr[4:6] = struct.pack("!H", 8 + len(piece))
        hdr[6] = 44
        out.append(bytes(hdr) + fh + piece)
        at += len(piece)
    return out


def each(conn, wrap):
    return [(t, wrap(ip, fwd)) for t, ip, fwd in conn]


def gre(flags, proto, fields, payload):
    return struct.pack("!HH", flags, proto) + fields + payload


def mpls(labels, payload):
    out = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (bottom << 8) | 64)
    return out + payload


def ppp_proto(ip):
    return 0x0021 if ip[0] >> 4 == 4 else 0x0057


def wlan_data(ip, fwd, qos=False):
    """An 802.11 data frame (to the AP when fwd, from it otherwise), LLC/SNAP body."""
    subtype = 0x88 if qos else 0x08
    fc1 = 0x01 if fwd else 0x02
    a = bytes.fromhex(MAC_A.replace(":", ""))
    b = bytes.fromhex(MAC_B.replace(":", ""))
    bssid = bytes.fromhex("020000000c01")
    addrs = (bssid + a + b) if fwd else (a + bssid + b)
    hdr = struct.pack("<BBH", subtype, fc1, 0) + addrs + struct.pack("<H", 0x10)
    if qos:
        hdr += b"\x00\x00"
    snap = b"\xaa\xaa\x03\x00\x00\x00" + struct.pack("!H", 0x0800 if ip[0] >> 4 == 4 else 0x86DD)
    return hdr + snap + ip


def main():
    n = 0
    # IP-in-IP, all four ways.
    write("ipip_4in4.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(ip, 4, f), 0x0800, f)))
    write("ipip_6in4.pcap", 1, each(V6, lambda ip, f: eth(outer_ip(ip, 41, f), 0x0800, f)))
    write("ipip_4in6.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(ip, 4, f, True), 0x86DD, f)))
    write("ipip_6in6.pcap", 1, each(V6, lambda ip, f: eth(outer_ip(ip, 41, f, True), 0x86DD, f)))
    # GRE version 0: plain IPv4; checksum, key and sequence around IPv6;
    # NVGRE (Ethernet, key = VSID 0x1234 << 8); MPLS.
    write("gre.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(gre(0, 0x0800, b"", ip), 47, f), 0x0800, f)))
    seq = iter(range(1, 1000))
    write("gre_csum_key_seq.pcap", 1, each(V6, lambda ip, f: eth(outer_ip(
        gre(0xB000, 0x86DD, struct.pack("!HHII", 0, 0, 77, next(seq)), ip), 47, f), 0x0800, f)))
    write("nvgre.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(
        gre(0x2000, 0x6558, struct.pack("!I", 0x1234 << 8), ether_frame(ip, f)), 47, f), 0x0800, f)))
    write("gre_mpls.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(
        gre(0, 0x8847, b"", mpls([100], ip)), 47, f), 0x0800, f)))
    # PPTP: enhanced GRE (version 1, key = payload length + call id), PPP.
    seq = iter(range(1, 1000))

    def pptp(ip, f):
        ppp = b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + ip
        fields = struct.pack("!HHI", len(ppp), 7 if f else 9, next(seq))
        return eth(outer_ip(gre(0x3001, 0x880B, fields, ppp), 47, f), 0x0800, f)
    write("pptp.pcap", 1, each(V4, pptp))
    # ERSPAN type I (no header), II (version 1, session 5), III (version 2,
    # session 6, with the platform sub-header).
    write("erspan1.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(
        gre(0, 0x88BE, b"", ether_frame(ip, f)), 47, f), 0x0800, f)))
    seq = iter(range(1, 1000))
    write("erspan2.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(
        gre(0x1000, 0x88BE, struct.pack("!I", next(seq)),
            struct.pack("!HHI", 0x1000, 5, 0) + ether_frame(ip, f)), 47, f), 0x0800, f)))
    seq = iter(range(1, 1000))
    write("erspan3.pcap", 1, each(V4, lambda ip, f: eth(outer_ip(
        gre(0x1000, 0x22EB, struct.pack("!I", next(seq)),
            struct.pack("!HHIHH", 0x2000, 6, 0, 0, 0x0001) + struct.pack("!HHI", 0x0800, 0, 0)
            + ether_frame(ip, f)), 47, f), 0x0800, f)))
    # UDP tunnels: Geneve with one 8-byte option, GTP-U with a PDU session
    # container extension header (IPv4 and IPv6 inside), Teredo with an
    # origin indicator.
    def geneve(ip, f):
        opt = struct.pack("!HBB", 0x0103, 0x80, 1) + b"\x00\x00\x00\x2a"
        hdr = struct.pack("!BBHI", 2, 0, 0x6558, 99 << 8) + opt
        return eth(outer_udp(hdr + ether_frame(ip, f), 50000, 6081, f), 0x0800, f)
    write("geneve.pcap", 1, each(V4, geneve))

    def gtpu(ip, f):
        ext = struct.pack("!BBBB", 1, 0x00 if f else 0x10, 9, 0)
        body = struct.pack("!HBB", 0, 0, 0x85) + ext + ip
        hdr = struct.pack("!BBHI", 0x34, 0xFF, len(body), 0x1000 if f else 0x2000)
        return eth(outer_udp(hdr + body, 2152, 2152, f), 0x0800, f)
    write("gtpu.pcap", 1, each(V4, gtpu))
    write("gtpu_ipv6.pcap", 1, each(V6, gtpu))

    def teredo(ip, f):
        origin = struct.pack("!HH", 0, 40000 ^ 0xFFFF) + bytes(b ^ 0xFF for b in bytes([198, 51, 100, 7]))
        sport, dport = (40000, 3544) if f else (3544, 40000)
        return eth(outer_udp((origin if not f else b"") + ip, sport, dport, f), 0x0800, f)
    write("teredo.pcap", 1, each(V6, teredo))
    # MPLS: a two-label stack to IPv4 and IPv6; Ethernet pseudowires with and
    # without the control word.
    write("mpls.pcap", 1, each(V4, lambda ip, f: eth(mpls([16, 1000], ip), 0x8847, f)))
    write("mpls_ipv6.pcap", 1, each(V6, lambda ip, f: eth(mpls([2000], ip), 0x8847, f)))
    write("mpls_pw_cw.pcap", 1, each(V4, lambda ip, f: eth(
        mpls([16, 3000], b"\x00\x00\x00\x00" + ether_frame(ip, f)), 0x8847, f)))
    write("mpls_pw.pcap", 1, each(V4, lambda ip, f: eth(
        mpls([16, 3001], ether_frame(ip, f)), 0x8847, f)))
    # PPPoE session, also inside QinQ.
    def pppoe(ip):
        ppp = struct.pack("!H", ppp_proto(ip)) + ip
        return struct.pack("!BBHH", 0x11, 0, 0x0042, len(ppp)) + ppp
    write("pppoe.pcap", 1, each(V4, lambda ip, f: eth(pppoe(ip), 0x8864, f)))
    write("pppoe_qinq.pcap", 1, each(V6, lambda ip, f: eth(
        struct.pack("!HHHH", 100, 0x8100, 200, 0x8864) + pppoe(ip), 0x88A8, f)))
    # PPP link types and Cisco HDLC.
    write("ppp.pcap", 9, each(V4, lambda ip, f: b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + ip))
    write("ppp_hdlc.pcap", 50, each(V6, lambda ip, f: b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + ip))
    write("chdlc.pcap", 104, each(V4, lambda ip, f: b"\x0f\x00\x08\x00" + ip))
    # Provider and fabric tags: 802.1ah PBB (I-SID 0x10000), 802.1BR E-Tag,
    # Cisco FabricPath.
    write("pbb.pcap", 1, each(V4, lambda ip, f: eth(
        struct.pack("!I", 0x00010000) + ether_frame(ip, f), 0x88E7, f)))
    write("etag.pcap", 1, each(V4, lambda ip, f: eth(
        struct.pack("!HHH", 0, 0x0005, 0) + struct.pack("!H", 0x0800) + ip, 0x893F, f)))

    def fabricpath(ip, f):
        outer = bytes.fromhex("020000000f02020000000f01") if f else bytes.fromhex("020000000f01020000000f02")
        frame = outer + struct.pack("!HH", 0x8903, 0x003F) + ether_frame(ip, f)
        # FabricPath frames end with their own FCS, which Wireshark expects.
        return frame + struct.pack("<I", zlib.crc32(frame))
    write("fabricpath.pcap", 1, each(V4, fabricpath))
    # 802.11: bare (105), QoS data under radiotap (127), PPI (192), Prism (119), AVS (163).
    write("wlan.pcap", 105, each(V4, wlan_data))
    radiotap = struct.pack("<BBHI", 0, 0, 8, 0)
    write("radiotap.pcap", 127, each(V4, lambda ip, f: radiotap + wlan_data(ip, f, qos=True)))
    ppi = struct.pack("<BBHI", 0, 0, 8, 105)
    write("ppi.pcap", 192, each(V6, lambda ip, f: ppi + wlan_data(ip, f)))
    prism = struct.pack("<II", 0x44, 144) + b"wlan0".ljust(16, b"\0") + bytes(144 - 24)
    write("prism.pcap", 119, each(V4, lambda ip, f: prism + wlan_data(ip, f)))
    avs = struct.pack("!II", 0x80211001, 64) + bytes(56)
    write("avs.pcap", 163, each(V4, lambda ip, f: avs + wlan_data(ip, f)))
    # NFLOG: hardware protocol, prefix ("tcpstate", padded) and payload TLVs.
    def nflog(ip, f):
        family = 2 if ip[0] >> 4 == 4 else 10
        hw = struct.pack("<HH", 8, 1) + struct.pack("!HBB", 0x0800 if family == 2 else 0x86DD, 0, 0)
        prefix = b"tcpstate\0"
        pre = struct.pack("<HH", 4 + len(prefix), 10) + prefix
        pre += bytes((-len(pre)) % 4)
        pay = struct.pack("<HH", 4 + len(ip), 9) + ip
        pay += bytes((-len(pay)) % 4)
        return struct.pack("!BBH", family, 0, 1) + hw + pre + pay
    write("nflog.pcap", 239, each(V4, nflog))
    # FDDI (LLC/SNAP), ARCNET (BSD and Linux, RFC 1201).
    # IPoIB: a 40-byte pseudo GRH (zero: only the destination address, QPN
    # and GID, is set), then the RFC 4391 header.
    def ipoib(ip, f):
        dst = struct.pack("!I", 0x48 if f else 0x49) + bytes.fromhex("fe800000000000000002c90300000001" if f else "fe800000000000000002c90300000002")
        return bytes(20) + dst + struct.pack("!HH", 0x86DD, 0) + ip
    write("ipoib.pcap", 242, each(V6, ipoib))
    write("fddi.pcap", 10, each(V4, lambda ip, f: b"\x50" + mac_bytes(f)
                               + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ip))
    write("arcnet_bsd.pcap", 7, each(V4, lambda ip, f: struct.pack(
        "!BBBBH", 1 if f else 2, 2 if f else 1, 212, 0, 0) + ip))
    write("arcnet_linux.pcap", 129, each(V4, lambda ip, f: struct.pack(
        "!BBHBBH", 1 if f else 2, 2 if f else 1, 0, 212, 0, 0) + ip))
    # Ethernet with the FCS announced in the pcap link-type field (4 bytes:
    # F bit, length 2 sixteen-bit words) and appended to every frame.
    write("ethernet_fcs.pcap", 0x24000001, each(V4, lambda ip, f: eth(ip, 0x0800, f) + b"\xde\xad\xbe\xef"))
    # IP fragments: the SYN in two fragments, the request (frame 4) in three;
    # IPv6 with fragment headers, the fragments of the request in reverse
    # order; and GRE whose outer packet carrying the request is fragmented.
    def fragmented(conn, frames, sizes, reverse=False, wrap=lambda ip, f: ip):
        out = []
        for i, (t, ip, f) in enumerate(conn):
            whole = wrap(ip, f)
            if i + 1 in frames:
                pieces = fragment4(whole, sizes) if whole[0] >> 4 == 4 else fragment6(whole, sizes, 0x7000 + i)
                if reverse and i + 1 != 1:
                    pieces.reverse()
                out += [(t, on_ethernet(p)) for p in pieces]
            else:
                out.append((t, on_ethernet(whole)))
        return out
    write("fragments_ipv4.pcap", 1, fragmented(V4, {1, 4}, [16, 24]))
    write("fragments_ipv6.pcap", 1, fragmented(V6, {1, 4}, [16, 24], reverse=True))
    write("gre_fragmented.pcap", 1, fragmented(V4, {4, 6}, [48],
                                                wrap=lambda ip, f: outer_ip(gre(0, 0x0800, b"", ip), 47, f)))
    n = len([x for x in os.listdir(HERE) if x.endswith(".pcap")])
    print(f"{n} captures in {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
