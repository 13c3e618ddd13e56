#!/usr/bin/env python3
"""Wraps every frame of an Ethernet pcap in Ethernet/IPv4/UDP 4789/VXLAN (VNI 42), so the
same traffic can be timed bare and tunnelled (benches/compare.sh VXLAN=1).

usage: vxlan-wrap.py IN.pcap OUT.pcap
"""
import struct, sys

def main(src, dst):
    with open(src, 'rb') as f, open(dst, 'wb') as out:
        hdr = f.read(24)
        magic, = struct.unpack('<I', hdr[:4])
        if magic not in (0xa1b2c3d4, 0xa1b23c4d):
            sys.exit('little-endian pcap only')
        snap, link = struct.unpack('<II', hdr[16:24])
        if link != 1:
            sys.exit('Ethernet (link type 1) only')
        out.write(hdr[:16] + struct.pack('<II', min(snap + 50, 262144), 1))
        eth = bytes.fromhex('020000000002020000000001') + b'\x08\x00'
        vx = struct.pack('!II', 0x08000000, 42 << 8)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            ts, us, incl, orig = struct.unpack('<IIII', rec)
            data = f.read(incl)
            udp_len = 8 + 8 + len(data)
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                             bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
            udp = struct.pack('!HHHH', 49152, 4789, udp_len, 0)
            frame = eth + ip + udp + vx + data
            out.write(struct.pack('<IIII', ts, us, len(frame), orig + 50))
            out.write(frame)

if __name__ == '__main__':
    main(*sys.argv[1:3])
