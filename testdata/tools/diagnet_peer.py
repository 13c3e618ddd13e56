#!/usr/bin/env python3
"""TCP peers for testdata/tools/record-diagnet.sh (stdlib only).

  diagnet_peer.py server SCENARIO HOST PORT READY   # run in dn-s
  diagnet_peer.py client SCENARIO HOST PORT         # run in dn-c

Scenarios:
  pmtu       the client sends a 25-byte request; the server answers with a
             100-byte header, then 8,000 bytes in full-size segments
  zw_resume  the client (SO_RCVBUF 4096) sends a request and does not read
             for 4 s; the server sends 20,000 bytes; the client then reads
             everything and both close
  zw_stuck   the same, but the client never reads: after 6 s it is killed
             by the script (SIGKILL), and the kernel resets the connection
             (data left unread)
  vanish     the client uploads 500-byte writes every 50 ms; the script
             makes the server vanish mid-transfer (the router drops it)
  keepalive  the client sets SO_KEEPALIVE, TCP_KEEPIDLE 1, TCP_KEEPINTVL 1,
             TCP_KEEPCNT 3 and idles after one exchange; the script makes the
             server vanish during the idle time
"""
import socket
import sys
import time

REQ = b"GET /diagnet HTTP/1.0\r\n\r\n"  # 25 bytes
TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 4, 5, 6


def log(*a):
    print(f"[diagnet {time.monotonic():.3f}]", *a, file=sys.stderr, flush=True)


def server(scenario, host, port, ready):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(4)
    open(ready, "w").close()
    s, _ = ls.accept()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(30)
    try:
        if scenario == "vanish":
            while s.recv(65536):
                pass
            return
        s.recv(100)
        if scenario == "pmtu":
            s.sendall(b"h" * 100)
            time.sleep(0.3)
            s.sendall(b"b" * 8000)
        elif scenario in ("zw_resume", "zw_stuck"):
            s.sendall(b"z" * 20000)
        elif scenario == "keepalive":
            s.sendall(b"ok\n")
            while s.recv(65536):
                pass
            return
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        s.close()
    except OSError as e:
        log("server:", e)


def client(scenario, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if scenario.startswith("zw_"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if scenario == "keepalive":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, 3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(30)
    s.connect((host, port))
    try:
        if scenario == "vanish":
            while True:
                s.send(b"u" * 500)
                time.sleep(0.05)
        s.sendall(REQ)
        if scenario == "zw_stuck":
            time.sleep(60)  # killed by the script before
        if scenario == "zw_resume":
            time.sleep(4)
        if scenario == "keepalive":
            log("client got", s.recv(100))
            time.sleep(60)  # the keep-alive timer ends it
        got = 0
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
        log("client got", got)
        s.close()
    except OSError as e:
        log("client:", e)


if __name__ == "__main__":
    role, scenario, host, port = sys.argv[1:5]
    if role == "server":
        server(scenario, host, int(port), sys.argv[5])
    else:
        client(scenario, host, int(port))
