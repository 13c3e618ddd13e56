#!/usr/bin/env python3
"""How often tcpstate agrees with tshark over a set of captures, in percent.

usage: agreement.py [--bin PATH] [--each] CAPTURE...   (default PATH: target/release/tcpstate)

For every TCP frame tshark dissects (not the TCP header an ICMP error quotes)
it compares tcpstate's relative seq/ack (ack only where the ACK flag is set)
and analysis flags (the tcp.analysis.* flags below) with tshark's; for every
tshark stream, whether tcpstate has one connection with exactly its frames
(the split into connections) and, for those, the same two-pass
tcp.completeness. Prints the totals (and with --each one line per capture
that differs). The measurement of docs/zeek.md, "Agreement with tshark
(session 7)". Needs tshark (Debian package).
"""
import json
import subprocess
import sys
from collections import defaultdict

FLAGS = ['retransmission', 'fast_retransmission', 'spurious_retransmission', 'out_of_order',
         'lost_segment', 'ack_lost_segment', 'duplicate_ack', 'zero_window', 'zero_window_probe',
         'zero_window_probe_ack', 'keep_alive', 'keep_alive_ack', 'window_update', 'window_full']
FIELDS = ['frame.number', 'frame.protocols', 'tcp.stream', 'tcp.flags.ack', 'tcp.seq', 'tcp.ack',
          'tcp.completeness'] + ['tcp.analysis.' + f for f in FLAGS]


def tshark(cap):
    cmd = ['tshark', '-2', '-n', '-r', cap, '-Y', 'tcp && !icmp && !icmpv6', '-T', 'fields',
           '-E', 'separator=/t', '-E', 'occurrence=f'] + sum((['-e', f] for f in FIELDS), [])
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    rows = {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split('\t')))
        v['flags'] = {f for f in FLAGS if v.get('tcp.analysis.' + f)}
        rows[int(v['frame.number'])] = v
    return rows


def num(s):
    return int(s) if s not in (None, '') else None


def measure(binp, cap):
    ref = tshark(cap)
    r = subprocess.run([binp, 'analyze', cap, '--format', 'json', '--packets', '--fail-on', 'never'],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    doc = json.loads(r.stdout)
    ours, conn_frames = {}, defaultdict(set)
    for c in doc.get('connections', []):
        for p in c.get('packets') or []:
            ours[p['frame']] = (c, p)
            conn_frames[c['id']].add(p['frame'])
    m = defaultdict(int)
    m['captures'] = 1
    for f, t in ref.items():
        m['frames'] += 1
        if f not in ours:
            continue
        c, p = ours[f]
        m['analyzed'] += 1
        ack = num(t['tcp.ack']) if t['tcp.flags.ack'] in ('1', 'True') else None
        m['seq'] += num(t['tcp.seq']) == p.get('rel_seq')
        m['ack'] += ack == p.get('rel_ack')
        m['seqack'] += num(t['tcp.seq']) == p.get('rel_seq') and ack == p.get('rel_ack')
        m['flags'] += set(p.get('analysis') or []) & set(FLAGS) == t['flags']
    streams = defaultdict(set)
    for f, t in ref.items():
        streams[t['tcp.stream']].add(f)
    by_frames = {frozenset(v): k for k, v in conn_frames.items()}
    conns = {c['id']: c for c in doc.get('connections', [])}
    m['connections'] = len(conns)
    for s, frames in streams.items():
        m['streams'] += 1
        cid = by_frames.get(frozenset(frames))
        if cid is None:
            continue
        m['split'] += 1
        want = num(ref[max(frames)]['tcp.completeness'])
        got = conns[cid].get('completeness')
        got = got.get('value') if isinstance(got, dict) else got
        m['completeness'] += want == got
    return m


def pct(a, b):
    return f'{100.0 * a / b:.3f}%' if b else 'n/a'


def main():
    args = sys.argv[1:]
    binp, each = 'target/release/tcpstate', False
    while args[:1] in (['--bin'], ['--each']):
        if args[0] == '--bin':
            binp, args = args[1], args[2:]
        else:
            each, args = True, args[1:]
    if not args:
        sys.exit(__doc__)
    total = defaultdict(int)
    for cap in args:
        m = measure(binp, cap)
        if each and (m['seqack'] != m['frames'] or m['flags'] != m['frames']
                     or m['completeness'] != m['streams']):
            print(f"{cap}: frames {m['frames']}, seq/ack {m['seqack']}, flags {m['flags']}, "
                  f"streams {m['streams']} (as one connection {m['split']}, same completeness "
                  f"{m['completeness']}), connections {m['connections']}")
        for k, v in m.items():
            total[k] += v
    t = total
    print(f"captures {t['captures']}, TCP frames {t['frames']} (analyzed {pct(t['analyzed'], t['frames'])})")
    print(f"relative seq {pct(t['seq'], t['frames'])}, ack {pct(t['ack'], t['frames'])}, "
          f"both {pct(t['seqack'], t['frames'])} of frames")
    print(f"analysis flags identical {pct(t['flags'], t['frames'])} of frames")
    print(f"tshark streams {t['streams']}, tcpstate connections {t['connections']}; "
          f"streams that are one connection {pct(t['split'], t['streams'])}, "
          f"with the same completeness {pct(t['completeness'], t['streams'])}")


if __name__ == '__main__':
    main()
