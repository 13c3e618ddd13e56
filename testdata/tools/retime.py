#!/usr/bin/env python3
"""Delays every record of a classic little-endian pcap from a frame on.

usage: retime.py IN OUT FRAME SECONDS

Frames FRAME, FRAME+1, … of IN (numbered from 1) are written to OUT
SECONDS later; the others unchanged. Made
agree/keepalive_idle_split.pcap from agree/keepalive_s.pcap (frame 8, 400 s:
the keep-alives come after tcpstate's 300 s idle timeout).
"""
import struct
import sys


def main():
    src, dst, frame, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(src, 'rb').read()
    assert data[:4] == b'\xd4\xc3\xb2\xa1', 'a little-endian microsecond pcap'
    out, off, n = bytearray(data[:24]), 24, 0
    while off + 16 <= len(data):
        ts, us, incl, orig = struct.unpack('<IIII', data[off:off + 16])
        n += 1
        if n >= frame:
            ts += secs
        out += struct.pack('<IIII', ts, us, incl, orig) + data[off + 16:off + 16 + incl]
        off += 16 + incl
    open(dst, 'wb').write(out)


if __name__ == '__main__':
    main()
