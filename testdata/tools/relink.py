#!/usr/bin/env python3
"""Rewrite the link layer and/or file format of an Ethernet pcap (stdlib only).

  relink.py IN.pcap OUT --link LINK [--format FORMAT]

LINK (what each frame's link-layer header becomes):
  eth     unchanged Ethernet                         LINKTYPE_ETHERNET   1
  raw     Ethernet header stripped (IPv4 or IPv6)     LINKTYPE_RAW      101
  raw12   same bytes, but DLT 12 in the header        (DLT_RAW on BSDs)  12
  ipv4    same bytes, IPv4 only                       LINKTYPE_IPV4     228
  ipv6    same bytes, IPv6 only                       LINKTYPE_IPV6     229
  null    4-byte AF in the file's byte order          LINKTYPE_NULL       0
  loop    4-byte AF in network byte order             LINKTYPE_LOOP     108
  sll     16-byte Linux cooked v1 header              LINKTYPE_LINUX_SLL 113
  sll2    20-byte Linux cooked v2 header              LINKTYPE_LINUX_SLL2 276
  vlan    one 802.1Q tag (TPID 0x8100, VID 10) inserted after the MACs
  qinq    802.1ad tag (0x88a8, VID 100) + 802.1Q tag (0x8100, VID 20)

FORMAT:
  pcap        little-endian, microsecond (a1b2c3d4)          [default]
  pcap-ns     little-endian, nanosecond  (a1b23c4d)
  pcap-be     big-endian, microsecond
  pcapng      one section, one IDB with if_tsresol=9 (ns), EPBs, ISB
  pcapng-multi  a leading empty little-endian section (SHB + IDB of
              LINKTYPE_LINUX_SLL, no packets), then a BIG-endian section with
              two IDBs: #0 LINKTYPE_RAW (default usec resolution) and
              #1 the chosen LINK with if_tsresol=9; packets alternate between
              them (odd frames on #1, even frames on #0 with the Ethernet
              header stripped), with a custom block (0x00000BAD) and an ISB
              mixed in.  Exercises per-section byte order, per-section
              interface numbering, per-interface link type and resolution,
              and skipping of unknown blocks.

SLL/SLL2 details: packet type is OUTGOING (4) for frames whose source MAC
equals the first frame's source MAC (the capturing host = the client) and
HOST (0) otherwise; ARPHRD_ETHER; address = the source MAC; the SLL2
interface index is 2.  Timestamps, caplen/origlen (adjusted for the header
change) and frame order are preserved; the input must be an Ethernet pcap.
"""
import argparse
import struct
import sys

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
AF_INET = 2  # null/loop headers are only produced for IPv4 here

LINKTYPES = {"eth": 1, "raw": 101, "raw12": 12, "ipv4": 228, "ipv6": 229,
             "null": 0, "loop": 108, "sll": 113, "sll2": 276, "vlan": 1, "qinq": 1}


def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        sys.exit(f"{path}: not a pcap file")
    e, mul = table[magic]
    _, _, _, _, _, snaplen, linktype = struct.unpack(e + "IHHiIII", data[:24])
    if linktype != 1:
        sys.exit(f"{path}: input must be Ethernet (linktype 1), got {linktype}")
    off, pkts = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        if len(frame) < incl:
            sys.exit(f"{path}: truncated record at offset {off}")
        pkts.append((sec * 1_000_000_000 + frac * mul, frame, orig))
        off += 16 + incl
    return snaplen, pkts


def relink(frame, orig, link, local_mac):
    """Return (new_frame, new_orig_len)."""
    dst, src, etype = frame[:6], frame[6:12], struct.unpack("!H", frame[12:14])[0]
    l3 = frame[14:]
    if link == "eth":
        out = frame
    elif link in ("raw", "raw12", "ipv4", "ipv6"):
        want = {"ipv4": ETH_P_IP, "ipv6": ETH_P_IPV6}.get(link)
        if etype not in (ETH_P_IP, ETH_P_IPV6) or (want and etype != want):
            sys.exit(f"frame with ethertype {etype:#06x} cannot become {link}")
        out = l3
    elif link in ("null", "loop"):
        if etype != ETH_P_IP:
            sys.exit("null/loop conversion is only done for IPv4 here")
        out = struct.pack("<I" if link == "null" else "!I", AF_INET) + l3
    elif link == "sll":
        ptype = 4 if src == local_mac else 0
        out = struct.pack("!HHH8sH", ptype, 1, 6, src + b"\0\0", etype) + l3
    elif link == "sll2":
        ptype = 4 if src == local_mac else 0
        out = struct.pack("!HHIHBB8s", etype, 0, 2, 1, ptype, 6, src + b"\0\0") + l3
    elif link == "vlan":
        out = dst + src + struct.pack("!HHH", 0x8100, 10, etype) + l3
    elif link == "qinq":
        out = dst + src + struct.pack("!HHHHH", 0x88A8, 100, 0x8100, 20, etype) + l3
    else:
        raise ValueError(link)
    return out, orig - len(frame) + len(out)


# ----------------------------------------------------------------- writers

def write_pcap(path, snaplen, linktype, pkts, fmt):
    e = ">" if fmt == "pcap-be" else "<"
    ns = fmt == "pcap-ns"
    magic = 0xA1B23C4D if ns else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for ts, frame, orig in pkts:
            sec, nsec = divmod(ts, 1_000_000_000)
            frac = nsec if ns else nsec // 1000
            f.write(struct.pack(e + "IIII", sec, frac, len(frame), orig) + frame)


def _opt(e, code, value):
    pad = (-len(value)) % 4
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * pad


def _end_opts(e):
    return struct.pack(e + "HH", 0, 0)


def block(e, btype, body):
    body += b"\0" * ((-len(body)) % 4)
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def shb(e, appl):
    body = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    body += _opt(e, 4, appl.encode()) + _end_opts(e)  # shb_userappl
    return block(e, 0x0A0D0D0A, body)


def idb(e, linktype, snaplen, name, tsresol=None):
    body = struct.pack(e + "HHI", linktype, 0, snaplen)
    body += _opt(e, 2, name.encode())                 # if_name
    if tsresol is not None:
        body += _opt(e, 9, bytes([tsresol]))          # if_tsresol
    body += _end_opts(e)
    return block(e, 1, body)


def epb(e, ifid, ts_units, frame, orig):
    hi, lo = ts_units >> 32, ts_units & 0xFFFFFFFF
    body = struct.pack(e + "IIIII", ifid, hi, lo, len(frame), orig) + frame
    return block(e, 6, body)


def isb(e, ifid, ts_units, count):
    hi, lo = ts_units >> 32, ts_units & 0xFFFFFFFF
    body = struct.pack(e + "III", ifid, hi, lo)
    body += _opt(e, 4, struct.pack(e + "Q", count))   # isb_ifrecv
    body += _opt(e, 5, struct.pack(e + "Q", 0))       # isb_ifdrop
    body += _end_opts(e)
    return block(e, 5, body)


def write_pcapng(path, snaplen, linktype, pkts, multi, raw_pkts=None):
    appl = "tcpstate testdata/tools/relink.py"
    out = []
    if not multi:
        e = "<"
        out += [shb(e, appl), idb(e, linktype, snaplen, "veth_cli", tsresol=9)]
        for ts, frame, orig in pkts:
            out.append(epb(e, 0, ts, frame, orig))
        out.append(isb(e, 0, pkts[-1][0], len(pkts)))
    else:
        # leading, empty little-endian section
        out += [shb("<", appl + " (empty leading section)"),
                idb("<", 113, 65535, "unused0")]
        e = ">"
        out += [shb(e, appl),
                idb(e, 101, snaplen, "raw0"),                     # usec
                idb(e, linktype, snaplen, "veth_cli", tsresol=9)]  # nsec
        for i, (ts, frame, orig) in enumerate(pkts):
            if i % 2 == 0:   # frame 1, 3, 5, ...: interface 1 (ns)
                out.append(epb(e, 1, ts, frame, orig))
            else:            # frame 2, 4, 6, ...: interface 0 (RAW, usec)
                rts, rframe, rorig = raw_pkts[i]
                out.append(epb(e, 0, rts // 1000, rframe, rorig))
            if i == 2:
                # a block of a local-use type (0x80000001) every reader must skip
                out.append(block(e, 0x80000001, b"tcpstate local-use block"))
        out.append(isb(e, 1, pkts[-1][0], (len(pkts) + 1) // 2))
    with open(path, "wb") as f:
        f.write(b"".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--link", choices=sorted(LINKTYPES), default="eth")
    ap.add_argument("--format", default="pcap",
                    choices=["pcap", "pcap-ns", "pcap-be", "pcapng", "pcapng-multi"])
    a = ap.parse_args()
    snaplen, pkts = read_pcap(a.input)
    if not pkts:
        sys.exit("no packets")
    local_mac = pkts[0][1][6:12]
    conv = []
    for ts, frame, orig in pkts:
        f2, o2 = relink(frame, orig, a.link, local_mac)
        conv.append((ts, f2, o2))
    lt = LINKTYPES[a.link]
    if a.format.startswith("pcapng"):
        raw = [(ts,) + relink(fr, o, "raw", local_mac) for ts, fr, o in pkts]
        write_pcapng(a.output, snaplen, lt, conv, a.format == "pcapng-multi", raw)
    else:
        write_pcap(a.output, snaplen, lt, conv, a.format)


if __name__ == "__main__":
    main()
