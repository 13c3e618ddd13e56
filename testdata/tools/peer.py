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
TCP_FASTOPEN = 23
TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 4, 5, 6
DL_TOTAL, DL_CHUNK = 6000, 500     # zero_window: server -> client download
LS_N, LS_SIZE = 6, 1448            # lost_segment: 6 full-sized client segments
EXTRA = b"unread-by-the-server"    # rst_while_closing: 20 bytes never read


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


# --- servers for the anomaly captures ------------------------------------

def srv_slow_reader_source(c):
    """zero_window: send DL_TOTAL bytes in DL_CHUNK-byte writes to a client
    that does not read for a while, then close first (the FIN is queued
    behind the data)."""
    recv_exact(c, len(REQ))
    for i in range(DL_TOTAL // DL_CHUNK):
        c.sendall(bytes([0x41 + i % 26]) * DL_CHUNK)
    log("server: all data queued")
    c.close()


def srv_read_all_then_echo(c):
    """lost_segment: read LS_N * LS_SIZE bytes, answer, close after the peer."""
    recv_exact(c, LS_N * LS_SIZE)
    c.sendall(RESP)
    assert recv_eof(c) == b""
    time.sleep(0.3)
    c.close()


def srv_unread_reset(c):
    """rst_while_closing: read only the request; the client's extra bytes and
    its FIN stay unread, so close() sends RST instead of FIN (RFC 2525 2.17)."""
    recv_exact(c, len(REQ))
    c.sendall(RESP)
    time.sleep(0.2)     # extra data and the client's FIN arrive meanwhile
    c.close()


def srv_close_wait(c):
    """half_open_end: ACK the client's FIN but stay in CLOSE-WAIT for 3 s."""
    recv_exact(c, len(REQ))
    c.sendall(RESP)
    assert recv_eof(c) == b""
    time.sleep(3.0)     # record.sh stops tcpdump during this pause
    c.close()


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
    "zero_window": srv_slow_reader_source,
    "keepalive": srv_echo,
    "lost_segment": srv_read_all_then_echo,
    "retransmission": srv_echo,
    "handshake_no_final_ack": None,     # listen only, never accept()
    "final_ack_missing": srv_echo,
    "rst_while_closing": srv_unread_reset,
    "half_open_end": srv_close_wait,
    "tfo_syn_data": srv_echo,
}
N_ACCEPT = {"port_reuse": 2, "tfo_syn_data": 2}
LISTEN_ONLY_SECS = 4.5
# lost_segment: a fixed receive buffer (window scale 0, window fixed at its
# clamp), so the duplicate ACKs really are duplicates; with autotuning the
# window grows with every ACK and tshark calls them window updates instead
LISTEN_RCVBUF = {"lost_segment": 12288}


def server(scen, host, port):
    fn = SERVERS[scen]
    ls = mksock(host)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    if scen == "tfo_syn_data":
        ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 8)
    if scen in LISTEN_RCVBUF:   # inherited by the accepted socket
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LISTEN_RCVBUF[scen])
    ls.listen(8)
    if fn is None:
        time.sleep(LISTEN_ONLY_SECS)
        ls.close()
        return
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


# --- clients for the anomaly captures ------------------------------------

def nft_here(script):
    """nft in the namespace this process runs in (clients: tcs_cli)."""
    subprocess.run(["nft", script], check=True)


def cli_zero_window(host, port, sport=None):
    s = mksock(host)
    # tiny, locked receive buffer (=> window scale 0, window of ~2 KB);
    # must be set before connect() to shape the SYN's window
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.settimeout(10)
    s.connect((host, int(port)))
    log("client rcvbuf", s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    s.sendall(REQ)
    time.sleep(1.5)    # not reading: window fills, zero window, probes
    data = recv_eof(s)  # read: window updates, the rest, server FIN
    assert len(data) == DL_TOTAL, len(data)
    time.sleep(0.1)
    s.close()


def cli_keepalive(host, port, sport=None):
    s = connect(host, port, sport)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, 3)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(3.5)    # idle: keep-alive probes at ~1, 2 and 3 s
    s.close()


def cli_lost_segment(host, port, sport=None):
    s = connect(host, port, sport)
    # one write of 6 MSS-sized segments, "aaa...", "bbb...", ... "fff...",
    # sent back to back; record.sh loses the first transmission of "ccc..."
    s.sendall(b"".join(bytes([0x61 + i]) * LS_SIZE for i in range(LS_N)))
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    s.close()


def cli_no_final_ack(host, port, sport=None):
    # connect() succeeds (we got the SYN-ACK); our ACK never leaves (nft)
    s = connect(host, port, sport)
    time.sleep(3.5)
    linger0(s)
    s.close()          # RST, dropped as well


def cli_final_ack_missing(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    time.sleep(0.1)
    # from now on, drop every bare ACK we send: the ACK of the server's FIN
    # (and every re-ACK from TIME-WAIT of its retransmissions) never leaves
    nft_here("add table inet tcs_out; add chain inet tcs_out out { type filter hook output priority 0; policy accept; }; "
             f"add rule inet tcs_out out tcp dport {port} tcp flags == ack counter drop")
    s.close()


def cli_rst_while_closing(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    recv_exact(s, len(RESP))
    s.sendall(EXTRA)
    time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)   # FIN-WAIT-1 -> FIN-WAIT-2
    try:
        d = s.recv(4096)
        raise SystemExit(f"expected a reset, got {d!r}")
    except ConnectionResetError:
        log("client: connection reset by peer while closing (expected)")
    s.close()


def cli_half_open_end(host, port, sport=None):
    s = connect(host, port, sport)
    s.sendall(REQ)
    s.shutdown(socket.SHUT_WR)
    assert recv_exact(s, len(RESP)) == RESP
    assert recv_eof(s) == b""   # the server closes after 3 s
    s.close()


def cli_tfo(host, port, sport=None):
    for _ in range(2):
        s = mksock(host)
        # 1st: SYN with a TFO cookie request, data after the handshake;
        # 2nd: SYN with the cookie and the request as SYN data.
        # Blocking socket: with a timeout, sendto() returns EINPROGRESS.
        s.sendto(REQ, socket.MSG_FASTOPEN, (host, int(port)))
        s.settimeout(10)
        recv_exact(s, len(RESP))
        time.sleep(0.1)
        s.close()
        time.sleep(0.5)


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
    "zero_window": cli_zero_window,
    "keepalive": cli_keepalive,
    "lost_segment": cli_lost_segment,
    "retransmission": cli_client_close,
    "handshake_no_final_ack": cli_no_final_ack,
    "final_ack_missing": cli_final_ack_missing,
    "rst_while_closing": cli_rst_while_closing,
    "half_open_end": cli_half_open_end,
    "tfo_syn_data": cli_tfo,
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
