#!/usr/bin/env python3
"""Deterministic TCP peers for testdata/record.sh (stdlib only).

  peer.py server SCENARIO HOST PORT          # one listening side
  peer.py client SCENARIO HOST PORT [SPORT]  # the connecting side
  peer.py dual   SCENARIO                    # both sides in ONE process
  peer.py icmp   HOST SIZE                   # one ICMP echo request (raw socket)
  peer.py udp    HOST PORT SIZE              # one UDP datagram

`server`/`client` are run with `ip netns exec tcs_srv|tcs_cli`.  `dual` is run
from the root namespace: it enters tcs_cli and tcs_srv itself (setns(2) via
ctypes) so that both sockets live in one process pinned to one CPU; their
retransmission timers are then armed within microseconds of each other and
fire in the same timer-softirq run, which is what makes the crossing SYNs
(simultaneous open) and crossing FINs (simultaneous close) reproducible.

Every socket uses TCP_NODELAY so each send() is one segment.
"""
import ctypes
import os
import select
import socket
import struct
import subprocess
import sys
import time

REQ = b"GET /tcpstate HTTP/1.0\r\n\r\n"            # 26 bytes
RESP = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"  # 38 bytes
TCP_SYNCNT = 7


def log(*a):
    print(f"[peer {time.monotonic():.3f}]", *a, file=sys.stderr, flush=True)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def mksock(host):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += d
    return buf


def recv_eof(s):
    """Read until EOF; return everything read."""
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            return buf
        buf += d


# --------------------------------------------------------------------------
# server side: one function per scenario, gets the accepted socket
# --------------------------------------------------------------------------

def srv_echo(c, eof_delay=0.3):
    """Answer every request with RESP; on EOF wait `eof_delay` then close.
    eof_delay > delayed-ACK timeout => the ACK of the peer's FIN goes alone."""
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(RESP)
    time.sleep(eof_delay)
    c.close()


def srv_close_first(c):
    recv_exact(c, len(REQ))
    c.sendall(RESP)
    time.sleep(0.1)
    c.close()


def srv_quick_close(c):
    # close right after recv()==0: our FIN carries the ACK of the peer's FIN
    srv_echo(c, eof_delay=0)


def srv_half_close(c):
    recv_exact(c, len(REQ))
    rest = recv_eof(c)  # client's FIN (SHUT_WR) arrives right after REQ
    log("server got EOF, extra", len(rest))
    for i in range(5):
        c.sendall(bytes([0x30 + i]) * 200)
        time.sleep(0.05)
    c.close()


def srv_until_reset(c):
    recv_exact(c, len(REQ))
    c.sendall(RESP)
    try:
        d = c.recv(4096)
        log("server recv after RESP:", d)
    except ConnectionResetError:
        log("server: connection reset by peer (expected)")
    c.close()


def srv_abort(c):
    recv_exact(c, len(REQ))
    c.sendall(RESP)
    time.sleep(0.1)
    linger0(c)
    c.close()  # -> RST


SERVERS = {
    "graceful_client_close": srv_echo,
    "graceful_server_close": srv_close_first,
    "three_segment_close": srv_quick_close,
    "half_close_data": srv_half_close,
    "rst_abort": srv_until_reset,
    "server_rst": srv_abort,
    "port_reuse": srv_close_first,
    "mid_connection": srv_echo,
    "still_open": srv_echo,
    "many_retrans": srv_echo,
}
N_ACCEPT = {"port_reuse": 2}


def server(scen, host, port):
    fn = SERVERS[scen]
    ls = mksock(host)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(8)
    ls.settimeout(30)
    for _ in range(N_ACCEPT.get(scen, 1)):
        c, peer = ls.accept()
        c.settimeout(30)
        log("server accepted", peer)
        fn(c)
    ls.close()


# --------------------------------------------------------------------------
# client side
# --------------------------------------------------------------------------

def connect(host, port, sport=None, timeout=10.0, syncnt=None):
    s = mksock(host)
    if syncnt is not None:
        s.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, syncnt)
    if sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", int(sport)))
    s.settimeout(timeout)
    s.connect((host, int(port)))
    return s


def cli_client_close(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    s.close()


def cli_server_close(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    data = recv_eof(s)
    assert data == RESP, data
    time.sleep(0.3)  # > delayed-ACK: ACK of server FIN goes alone, then our FIN
    s.close()


def cli_half_close(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    s.shutdown(socket.SHUT_WR)
    data = recv_eof(s)
    log("client got", len(data), "bytes after half-close")
    s.close()


def cli_refused(host, port, sport=None):
    try:
        connect(host, port, sport, timeout=5)
    except ConnectionRefusedError:
        log("client: connection refused (expected)")
        return
    raise SystemExit("connection unexpectedly succeeded")


def cli_abort(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    linger0(s)
    s.close()  # -> RST


def cli_until_reset(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    try:
        d = s.recv(4096)
        log("client recv after RESP:", d)
    except ConnectionResetError:
        log("client: connection reset by peer (expected)")
    s.close()


def cli_syn_unanswered(host, port, sport=None):
    # SYN at t=0 and retransmissions at ~1 s, ~3 s, ~7 s; give up at 7.5 s
    try:
        connect(host, port, sport, timeout=7.5, syncnt=3)
    except (socket.timeout, TimeoutError):
        log("client: connect timed out (expected)")
        return
    raise SystemExit("connection unexpectedly succeeded")


def cli_port_reuse(host, port, sport=None):
    for i in range(2):
        s = connect(host, port, sport or 40100)
        log("client conn", i, "from", s.getsockname())
        s.sendall(REQ)
        assert recv_eof(s) == RESP
        s.close()   # server closed first: we go LAST_ACK -> CLOSED, no TIME-WAIT
        time.sleep(0.5)


def cli_mid_connection(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(2.5)  # record.sh starts tcpdump during this pause
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    s.close()


def cli_still_open(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(3.0)  # record.sh stops tcpdump during this pause
    s.close()


def cli_many_retrans(host, port, sport=None):
    s = connect(host, port, sport, timeout=30)
    s.sendall(REQ * 4)   # 104 bytes: record.sh drops it at the server for a while
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    s.close()


CLIENTS = {
    "graceful_client_close": cli_client_close,
    "graceful_server_close": cli_server_close,
    "three_segment_close": cli_client_close,
    "half_close_data": cli_half_close,
    "refused": cli_refused,
    "rst_abort": cli_abort,
    "server_rst": cli_until_reset,
    "syn_unanswered": cli_syn_unanswered,
    "lost_synack": cli_client_close,
    "port_reuse": cli_port_reuse,
    "mid_connection": cli_mid_connection,
    "still_open": cli_still_open,
    "many_retrans": cli_many_retrans,
}


def client(scen, host, port, sport=None):
    CLIENTS[scen](host, port, sport)


# --------------------------------------------------------------------------
# dual: both endpoints in one process (simultaneous open / close)
# --------------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(name):
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    finally:
        os.close(fd)


def nft(ns, script):
    subprocess.run(["ip", "netns", "exec", ns, "nft", script], check=True)


def wait_connected(socks, timeout):
    end = time.monotonic() + timeout
    pending = set(socks)
    while pending:
        left = end - time.monotonic()
        if left <= 0:
            raise SystemExit("timeout waiting for connect")
        _, w, _ = select.select([], list(pending), [], left)
        for s in w:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            pending.discard(s)


def exchange(a, b):
    a.sendall(REQ)
    recv_exact(b, len(REQ))
    b.sendall(RESP)
    recv_exact(a, len(RESP))


DROP_TABLE = "add table inet tcs_dual; add chain inet tcs_dual in {{ type filter hook input priority 0; policy accept; }}; add rule inet tcs_dual in {}"


def dual_simopen(a_addr=("10.99.0.1", 40001), b_addr=("10.99.0.2", 40002)):
    os.sched_setaffinity(0, {0})
    # Drop incoming *bare* SYNs on both sides, so that both initial SYNs die
    # (the first one would otherwise hit a non-listening port -> RST).
    for ns, port in (("tcs_cli", a_addr[1]), ("tcs_srv", b_addr[1])):
        nft(ns, DROP_TABLE.format(f"tcp dport {port} tcp flags & (syn|ack) == syn counter drop"))
    setns("tcs_cli")
    a = mksock(a_addr[0])
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    a.bind(a_addr)
    setns("tcs_srv")
    b = mksock(b_addr[0])
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b.bind(b_addr)
    a.setblocking(False)
    b.setblocking(False)
    # both SYN_SENT within a few microseconds; the RTO timers (1 s) land in
    # the same timer-wheel bucket and fire together -> the retransmitted
    # SYNs cross on the wire.
    assert a.connect_ex(b_addr) in (115,), "EINPROGRESS expected"
    assert b.connect_ex(a_addr) in (115,), "EINPROGRESS expected"
    log("both SYN_SENT")
    for ns in ("tcs_cli", "tcs_srv"):
        nft(ns, "delete table inet tcs_dual")
    wait_connected([a, b], 5)
    log("both connected")
    a.setblocking(True)
    b.setblocking(True)
    a.settimeout(5)
    b.settimeout(5)
    exchange(a, b)
    time.sleep(0.1)
    a.close()          # A closes first: normal release afterwards
    assert recv_eof(b) == b""
    time.sleep(0.3)
    b.close()
    time.sleep(0.2)


def dual_simclose(srv_addr=("10.99.0.2", 5555)):
    os.sched_setaffinity(0, {0})
    setns("tcs_srv")
    ls = mksock(srv_addr[0])
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(srv_addr)
    ls.listen(1)
    setns("tcs_cli")
    a = mksock(srv_addr[0])
    a.settimeout(5)
    a.connect(srv_addr)
    b, _ = ls.accept()
    ls.close()
    b.settimeout(5)
    exchange(a, b)
    time.sleep(0.3)  # let the last data be ACKed
    # Drop incoming FINs on both sides so both FINs are sent before either
    # side has seen the other's; then remove the rules so the retransmitted
    # FINs (same RTO, same timer bucket) cross.
    nft("tcs_cli", DROP_TABLE.format(f"tcp sport {srv_addr[1]} tcp flags & fin == fin counter drop"))
    nft("tcs_srv", DROP_TABLE.format(f"tcp dport {srv_addr[1]} tcp flags & fin == fin counter drop"))
    a.shutdown(socket.SHUT_WR)
    b.shutdown(socket.SHUT_WR)
    log("both FIN_WAIT_1")
    for ns in ("tcs_cli", "tcs_srv"):
        nft(ns, "delete table inet tcs_dual")
    assert recv_eof(a) == b"" and recv_eof(b) == b""
    time.sleep(0.5)
    a.close()
    b.close()


# --------------------------------------------------------------------------
# non-TCP helpers
# --------------------------------------------------------------------------

def icmp(host, size):
    size = int(size)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    payload = bytes(i & 0xFF for i in range(size))
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x7c99, 1)
    c = _csum(hdr + payload)
    s.sendto(struct.pack("!BBHHH", 8, 0, c, 0x7c99, 1) + payload, (host, 0))
    s.settimeout(2)
    while True:
        d, a = s.recvfrom(65535)
        ihl = (d[0] & 0xF) * 4
        if d[ihl] == 0:
            log("icmp echo reply from", a, len(d) - ihl - 8, "bytes")
            return


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack(f"!{len(b)//2}H", b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def udp(host, port, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"u" * int(size), (host, int(port)))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "server":
        server(*args)
    elif cmd == "client":
        client(*args)
    elif cmd == "dual":
        {"simultaneous_open": dual_simopen, "simultaneous_close": dual_simclose}[args[0]]()
    elif cmd == "icmp":
        icmp(*args)
    elif cmd == "udp":
        udp(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
