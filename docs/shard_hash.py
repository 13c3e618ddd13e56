#!/usr/bin/env python3
"""The shard hash of docs/sharding.md, written from the text alone (no Rust), to check the
test vectors of src/shard.rs, or to pick a connection's shard outside tcpstate.

usage: docs/shard_hash.py               prints the test vectors
       docs/shard_hash.py A PORT B PORT N   prints the hash of a bare connection and its shard
"""
import ipaddress
import struct
import sys

MASK = (1 << 64) - 1
KIND = {'ipip': 1, 'gre': 2, 'pptp': 3, 'erspan': 4, 'etherip': 5, 'mpls_in_ip': 6,
        'vxlan': 7, 'geneve': 8, 'gtp_u': 9, 'teredo': 10}


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & MASK
    return h


def fmix64(h):
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & MASK
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & MASK
    return h ^ (h >> 33)


def order(a):
    ip = ipaddress.ip_address(a)
    return (ip.version, ip.packed)


def addr(a):
    ip = ipaddress.ip_address(a)
    return bytes([ip.version]) + ip.packed


def layer(kind, ident, src, dst):
    if kind in ('gtp_u', 'pptp'):  # a different one each direction: not part of the identity
        ident = None
    lo, hi = sorted([src, dst], key=order)
    tag = b'\x00' if ident is None else b'\x01' + struct.pack('>I', ident)
    return bytes([KIND[kind]]) + tag + addr(lo) + addr(hi)


def key(a, b, chain):
    """a, b: (address, port); chain: [(kind, id, outer src, outer dst)], outermost first,
    or None for tunnels the capture does not tell apart."""
    lo, hi = sorted([a, b], key=lambda e: order(e[0]) + (e[1],))
    tunnels = b'\xff' if chain is None else bytes([len(chain)]) + b''.join(layer(*t) for t in chain)
    return tunnels + addr(lo[0]) + struct.pack('>H', lo[1]) + addr(hi[0]) + struct.pack('>H', hi[1])


def shard_hash(a, b, chain=()):
    return fmix64(fnv1a(key(a, b, None if chain is None else list(chain))))


def main():
    if len(sys.argv) == 6:
        a, pa, b, pb, n = sys.argv[1:]
        h = shard_hash((a, int(pa)), (b, int(pb)))
        print(f'{h:#018x} shard {h % int(n)}/{n}')
        return
    c, s = ('10.0.0.1', 40000), ('10.0.0.2', 80)
    print('fmix64(fnv1a(""))     ', hex(fmix64(fnv1a(b''))))
    print('bare IPv4 key         ', key(c, s, []).hex())
    print('bare IPv4             ', hex(shard_hash(c, s)))
    print('bare IPv6             ', hex(shard_hash(('2001:db8::2', 51000), ('2001:db8::1', 443))))
    vx = [('vxlan', 42, '192.0.2.2', '192.0.2.1')]
    print('VXLAN 42 key          ', key(c, s, vx).hex())
    print('VXLAN 42              ', hex(shard_hash(c, s, vx)))
    print('GTP-U (any TEID)      ', hex(shard_hash(c, s, [('gtp_u', 7, '192.0.2.1', '192.0.2.2')])))
    print('tunnels not told apart', hex(shard_hash(c, s, None)))


if __name__ == '__main__':
    main()
