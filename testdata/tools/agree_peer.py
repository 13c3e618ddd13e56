#!/usr/bin/env python3
"""TCP peers for testdata/tools/record-agree.sh (stdlib only).

  agree_peer.py server MODE HOST PORT READY [N]   # run in ag-s
  agree_peer.py client MODE HOST PORT [N]         # run in ag-c

HOST may be IPv4 or IPv6. N is a byte count or a repetition count, by mode:
  down      the server sends N bytes (default 150,000) after a 16-byte
            request, then both close (the server first)
  up        the client sends N bytes, the server counts them and answers
            "ok"; the client closes first
  slowread  the client (SO_RCVBUF 2048) reads 1,000 bytes every 20 ms while
            the server sends N bytes: zero windows and window-full stalls
  reuse     N short exchanges from the same client port (SO_REUSEADDR,
            bound to PORT+1), the server closing first each time
  simclose  one exchange, then both sides shut down their sending half at
            the same moment (a shared start time a second ahead)
  rstmid    the server sends N bytes; the client reads 20,000 and closes
            with SO_LINGER 0 (a RST in the middle of the transfer)
  stall     the client (SO_RCVBUF 4096) sends the request and reads nothing
            for 3 s while the server sends N bytes: zero-window probes
  upabort   the client sends N bytes; the server reads 20,000 and closes
            with the rest unread (its kernel resets the connection)
  keepalive the client sets TCP_KEEPIDLE 1, TCP_KEEPINTVL 1 and idles 3.5 s
            after one exchange, then closes
  tfo       N connections with TCP Fast Open (sendto MSG_FASTOPEN): the first
            asks for a cookie, the next carry data on the SYN
"""
import socket
import struct
import sys
import time

REQ = b"GET /agree HTTP\n"  # 16 bytes
TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 4, 5, 6
TCP_FASTOPEN = 23
MSG_FASTOPEN = 0x20000000


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def recv_all(s):
    n = 0
    while True:
        b = s.recv(65536)
        if not b:
            return n
        n += len(b)


def server(mode, host, port, ready, n):
    ls = socket.socket(family(host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "tfo":
        ls.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    ls.bind((host, port))
    ls.listen(16)
    open(ready, "w").close()
    ls.settimeout(30)
    rounds = n if mode in ("reuse", "tfo") else 1
    for _ in range(rounds):
        s, _ = ls.accept()
        s.settimeout(30)
        if mode == "upabort":
            got = 0
            while got < 20000:
                got += len(s.recv(4096))
            s.close()
            continue
        if mode == "up":
            recv_all(s)
            s.sendall(b"ok\n")
            s.close()
            continue
        req = s.recv(100)
        if mode in ("down", "slowread", "rstmid", "stall"):
            try:
                s.sendall(b"d" * n)
                s.shutdown(socket.SHUT_WR)
                recv_all(s)
            except OSError:
                pass
        elif mode in ("reuse", "tfo"):
            s.sendall(b"reply to " + req)
        elif mode == "simclose":
            start = struct.unpack("!d", req[:8])[0]
            s.sendall(b"ready\n")
            time.sleep(max(0, start - time.time()))
            s.shutdown(socket.SHUT_WR)
            recv_all(s)
        elif mode == "keepalive":
            s.sendall(b"ok\n")
            recv_all(s)
        s.close()


def client(mode, host, port, n):
    fam = family(host)
    if mode == "reuse":
        for i in range(n):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", port + 1))
            for _ in range(50):
                try:
                    s.connect((host, port))
                    break
                except OSError:
                    time.sleep(0.1)
            s.sendall(REQ)
            recv_all(s)
            s.close()
            time.sleep(0.3)
        return
    if mode == "tfo":
        for i in range(n):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.sendto(REQ, MSG_FASTOPEN, (host, port))
            recv_all(s)
            s.close()
            time.sleep(0.2)
        return
    s = socket.socket(fam, socket.SOCK_STREAM)
    if mode == "slowread":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    if mode == "stall":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if mode == "keepalive":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, 5)
    s.settimeout(30)
    s.connect((host, port))
    if mode == "upabort":
        try:
            s.sendall(b"u" * n)
        except OSError:
            pass
    elif mode == "up":
        s.sendall(b"u" * n)
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
    elif mode == "down":
        s.sendall(REQ)
        recv_all(s)
    elif mode == "stall":
        s.sendall(REQ)
        time.sleep(3)
        recv_all(s)
    elif mode == "slowread":
        s.sendall(REQ)
        while s.recv(1000):
            time.sleep(0.02)
    elif mode == "rstmid":
        s.sendall(REQ)
        got = 0
        while got < 20000:
            got += len(s.recv(4096))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "simclose":
        start = time.time() + 1.0
        s.sendall(struct.pack("!d", start) + b"simclose")
        s.recv(100)
        time.sleep(max(0, start - time.time()))
        s.shutdown(socket.SHUT_WR)
        recv_all(s)
    elif mode == "keepalive":
        s.sendall(REQ)
        s.recv(100)
        time.sleep(3.5)
    s.close()


def main():
    role, mode, host, port = sys.argv[1:5]
    if role == "server":
        ready = sys.argv[5]
        n = int(sys.argv[6]) if len(sys.argv) > 6 else 150000
        server(mode, host, int(port), ready, n)
    else:
        n = int(sys.argv[5]) if len(sys.argv) > 5 else 150000
        client(mode, host, int(port), n)


if __name__ == "__main__":
    main()
