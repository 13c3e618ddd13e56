#!/usr/bin/env python3
"""Makes the damaged captures of testdata/damaged/ from good ones (stdlib only).

  python3 testdata/tools/damage.py   # from the repository root

* long_epb.pcapng: variants/gcc.pcapng with the captured length of its sixth
  enhanced packet block set to 5000, more than the block holds; the block's own
  length is left sound, so a reader can skip it and go on with the next block.
* usec_overflow.pcap: captures/graceful_client_close.pcap with the microseconds
  field of frames 4 and 9 set to 1,500,000 and 2,000,000 (impossible: not below
  one second).
"""
import struct
from pathlib import Path

root = Path(__file__).resolve().parents[1]


def long_epb():
    data = bytearray((root / "variants/gcc.pcapng").read_bytes())
    big = data[8:12] == b"\x1a\x2b\x3c\x4d"
    order = ">" if big else "<"
    at, epbs = 0, 0
    while at + 12 <= len(data):
        kind, length = struct.unpack_from(order + "II", data, at)
        if kind == 0x0A0D0D0A:  # a section header says its own byte order
            big = data[at + 8 : at + 12] == b"\x1a\x2b\x3c\x4d"
            order = ">" if big else "<"
            length = struct.unpack_from(order + "I", data, at + 4)[0]
        if kind == 6:
            epbs += 1
            if epbs == 6:
                struct.pack_into(order + "I", data, at + 20, 5000)
                break
        at += length
    (root / "damaged/long_epb.pcapng").write_bytes(bytes(data))


def usec_overflow():
    data = bytearray((root / "captures/graceful_client_close.pcap").read_bytes())
    at, frame = 24, 0
    while at + 16 <= len(data):
        frame += 1
        caplen = struct.unpack_from("<I", data, at + 8)[0]
        if frame in (4, 9):
            struct.pack_into("<I", data, at + 4, 1_500_000 if frame == 4 else 2_000_000)
        at += 16 + caplen
    (root / "damaged/usec_overflow.pcap").write_bytes(bytes(data))


long_epb()
usec_overflow()
