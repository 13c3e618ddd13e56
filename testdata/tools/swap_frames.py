#!/usr/bin/env python3
"""Swap the packet data of two records of a pcap, keeping the timestamps.

  swap_frames.py IN.pcap OUT.pcap A B      (1-based frame numbers)

Used to derive a capture with reordered segments from a real one: the
frames keep their capture times, so the later-sent segment now arrives
first, as a reordering path would deliver them.
"""
import struct
import sys


def main():
    src, dst, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(src, "rb").read()
    header, pos, records = data[:24], 24, []
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    while pos + 16 <= len(data):
        ts_sec, ts_frac, caplen, origlen = struct.unpack(endian + "IIII", data[pos:pos + 16])
        records.append([ts_sec, ts_frac, origlen, data[pos + 16:pos + 16 + caplen]])
        pos += 16 + caplen
    ra, rb = records[a - 1], records[b - 1]
    ra[2], rb[2] = rb[2], ra[2]
    ra[3], rb[3] = rb[3], ra[3]
    with open(dst, "wb") as out:
        out.write(header)
        for ts_sec, ts_frac, origlen, payload in records:
            out.write(struct.pack(endian + "IIII", ts_sec, ts_frac, len(payload), origlen))
            out.write(payload)


if __name__ == "__main__":
    main()
