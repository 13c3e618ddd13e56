#!/usr/bin/env bash
# Records the diagnosis captures about resets and one-way captures for real,
# in network namespaces (all named dr-*, removed on exit):
#
#   bash testdata/tools/record-diagrst.sh     # (root) writes testdata/diagnosis/*
#
# Topology 1: the client dr-c (10.96.1.1), the router dr-r (10.96.1.254 /
# 10.96.2.254, forwarding) and the server dr-s (10.96.2.1), two veth pairs.
# tcpdump captures the client's veth, so the server's packets arrive with
# TTL 63 (64, one hop) and the router's own with TTL 64.
#
#   refused_firewall.pcap  three connections in one capture: to port 5555,
#                          open on the server (request, answer, close: the
#                          server's TTL is known); to port 5556, closed on
#                          the server (its kernel answers the SYN with a
#                          RST, TTL 63); to port 5557, which the router
#                          rejects with `nft ... reject with tcp reset`
#                          (the RST comes from the router, TTL 64)
#   injected_rst.pcap      a connection to port 5555 whose server answers
#                          in four 400-byte chunks 300 ms apart; scapy on the
#                          router (the third namespace on the path) sees the
#                          first chunk and injects a RST "from the server" at
#                          the exact next sequence number, with TTL 47 and
#                          IP ID 0x3039 (the server's are 63 and a counter).
#                          The client accepts it; the server's next chunks
#                          draw the client's own RSTs
#   injected_rst_race.pcap the same with a RST whose IP header fits the
#                          server's (TTL 63, IP ID 0 with DF, as Linux sends
#                          its RSTs): only the server's next chunk, sent
#                          after the RST at its sequence number, gives it away
#   handshake_rst_race.pcap  a RST injected during the handshake: the router
#                          answers the client's SYN with a RST/ACK "from the
#                          server" (TTL 63, IP ID 0) and drops the server's
#                          first SYN-ACK; the server's SYN-ACK sent again a
#                          second later reaches a client that gave up, which
#                          answers it with a RST
#
#   injected_rst_fast.pcap a RST injected sooner than the server could send
#                          it: the router forwards in user space, holding
#                          each frame 150 ms (the server is about 300 ms a
#                          round trip from the client), answers the client's
#                          request at once with a RST/ACK "from the server"
#                          (TTL 63, IP ID 0) and drops the server's data, so
#                          only the timing gives the RST away
#   injected_rst_fast_client.pcap  the same seen from the server: the relay
#                          answers the server's first 400-byte chunk at once
#                          with a RST/ACK "from the client" (the client is
#                          300 ms a round trip away) and drops the client's
#                          data after it
#
#   ONLY=NAME bash testdata/tools/record-diagrst.sh   records that capture alone
#
# Topology 2 (an asymmetric route): the client dr-ac (10.96.3.1) and the
# server dr-as (10.96.5.1) are joined through two routers: dr-aa carries the
# client's packets to the server (10.96.3.254 / 10.96.5.254), dr-ab the
# server's packets back to the client (10.96.6.254 / 10.96.4.254, the
# client's second link 10.96.4.1, the server's 10.96.6.1). rp_filter is off.
#
#   asymmetric.pcap        tcpdump on router dr-aa only: a whole connection
#                          (request, answer, close) of which the capture
#                          holds only the client's direction
#
# Needs: root, ip (iproute2), nft, tcpdump, python3, /usr/bin/python3 with scapy.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HERE=$TOOLS/../diagnosis
mkdir -p "$HERE"
TMP=$(mktemp -d /tmp/dr_record.XXXXXX)
NS=(dr-c dr-r dr-s dr-ac dr-aa dr-ab dr-as)
C=10.96.1.1 S=10.96.2.1

. "$TOOLS/netns-lib.sh"

ns() { # NAME
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

link() { # NS1 DEV1 MAC1 ADDR1 NS2 DEV2 MAC2 ADDR2
    ip link add "$2" netns "$1" type veth peer name "$6" netns "$5"
    ip -n "$1" link set "$2" address "$3"
    ip -n "$5" link set "$6" address "$7"
    ip -n "$1" addr add "$4/24" dev "$2"
    ip -n "$5" addr add "$8/24" dev "$6"
    local end
    for end in "$1:$2" "$5:$6"; do
        # One segment a packet on the wire: no TSO/GSO super-packets.
        ip -n "${end%%:*}" link set "${end#*:}" gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
        ip -n "${end%%:*}" link set "${end#*:}" up
    done
    ip -n "$1" neigh replace "$8" lladdr "$7" dev "$2" nud permanent
    ip -n "$5" neigh replace "$4" lladdr "$3" dev "$6" nud permanent
}

setup_line() {
    teardown
    local n
    for n in dr-c dr-r dr-s; do ns $n; done
    link dr-c veth_c 02:00:00:96:01:01 $C dr-r veth_rc 02:00:00:96:01:fe 10.96.1.254
    link dr-s veth_s 02:00:00:96:02:01 $S dr-r veth_rs 02:00:00:96:02:fe 10.96.2.254
    ip netns exec dr-r sysctl -qw net.ipv4.ip_forward=1
    ip -n dr-c route add default via 10.96.1.254
    ip -n dr-s route add default via 10.96.2.254
}

setup_asymmetric() {
    teardown
    local n
    for n in dr-ac dr-aa dr-ab dr-as; do ns $n; done
    link dr-ac veth_ca 02:00:00:96:03:01 10.96.3.1 dr-aa veth_ac 02:00:00:96:03:fe 10.96.3.254
    link dr-ac veth_cb 02:00:00:96:04:01 10.96.4.1 dr-ab veth_bc 02:00:00:96:04:fe 10.96.4.254
    link dr-as veth_sa 02:00:00:96:05:01 10.96.5.1 dr-aa veth_as 02:00:00:96:05:fe 10.96.5.254
    link dr-as veth_sb 02:00:00:96:06:01 10.96.6.1 dr-ab veth_bs 02:00:00:96:06:fe 10.96.6.254
    ip netns exec dr-aa sysctl -qw net.ipv4.ip_forward=1
    ip netns exec dr-ab sysctl -qw net.ipv4.ip_forward=1
    # Client to server through A; server to client through B.
    ip -n dr-ac route add 10.96.5.0/24 via 10.96.3.254
    ip -n dr-as route add 10.96.3.0/24 via 10.96.6.254
    ip -n dr-ab route add 10.96.3.0/24 via 10.96.4.1
    ip -n dr-ab neigh replace 10.96.4.1 lladdr 02:00:00:96:04:01 dev veth_bc nud permanent
}

cap_start() { # NS DEV OUT
    ip netns exec "$1" tcpdump -Z root -U --immediate-mode -n -i "$2" -w "$3" tcp 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for "$TMP/cap.err" "listening on"
    sleep 0.5
}
cap_stop() {
    sleep 0.5
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
}

# The peers: a server that reads one request and answers it in CHUNKS
# pieces of 400 bytes, GAP seconds apart, then closes; a client that sends
# a request and reads until the end (or a reset).
cat >"$TMP/peer.py" <<'EOF'
import socket, sys, time
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "server":
    chunks, gap = int(sys.argv[5]), float(sys.argv[6])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(4)
    open(sys.argv[4], "w").close()
    s, _ = ls.accept()
    s.recv(1000)
    try:
        for i in range(chunks):
            if i:
                time.sleep(gap)
            s.sendall(b"y" * 400)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    except OSError as e:
        print("server:", e, file=sys.stderr)
    s.close()
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, port))
    except OSError as e:
        print("connect:", e, file=sys.stderr)
        sys.exit(0)
    s.sendall(b"GET /\n")
    got = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except OSError as e:
        print("client:", e, file=sys.stderr)
    print("client got", got, file=sys.stderr)
    s.close()
EOF
PEER=(python3 "$TMP/peer.py")

serve() { # NS HOST PORT CHUNKS GAP
    rm -f "$TMP/ready"
    ip netns exec "$1" "${PEER[@]}" server "$2" "$3" "$TMP/ready" "$4" "$5" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
}

want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

# 1. Refused by the server's closed port and by the router's firewall.
if want refused_firewall; then
setup_line
ip netns exec dr-r nft "add table inet dr; add chain inet dr tcpfwd { type filter hook forward priority 0; policy accept; }; add rule inet dr tcpfwd tcp dport 5557 reject with tcp reset"
cap_start dr-c veth_c "$HERE/refused_firewall.pcap"
serve dr-s $S 5555 1 0
ip netns exec dr-c "${PEER[@]}" client $S 5555
wait $SRV_PID
sleep 0.2
ip netns exec dr-c "${PEER[@]}" client $S 5556
sleep 0.2
ip netns exec dr-c "${PEER[@]}" client $S 5557
cap_stop
fi

# The router runs SCRIPT (scapy, waiting for the packet it answers) while
# the client asks the server for CHUNKS chunks GAP seconds apart, captured
# on the client's link into NAME.pcap; returns once SCRIPT is done, the
# capture still running.
injected_exchange() { # SCRIPT NAME CHUNKS GAP
ip netns exec dr-r /usr/bin/python3 "$1" &
INJ_PID=$!
sleep 2
cap_start dr-c veth_c "$HERE/$2.pcap"
serve dr-s $S 5555 "$3" "$4"
ip netns exec dr-c "${PEER[@]}" client $S 5555
wait $INJ_PID
}

# 2. A RST injected by the router, as if from the server: TTL and IP ID its
# own (injected_rst), or the server's (injected_rst_race).
inject() { # NAME TTL ID
setup_line
cat >"$TMP/inject.py" <<EOF
from scapy.all import IP, TCP, sniff, send
def server_data(p):
    return (IP in p and TCP in p and p[IP].src == "$S" and p[TCP].sport == 5555
            and len(p[TCP].payload) > 0)
p = sniff(iface="veth_rc", lfilter=server_data, count=1, timeout=10)[0]
rst = IP(src="$S", dst=p[IP].dst, ttl=$2, id=$3, flags="DF") / TCP(
    sport=5555, dport=p[TCP].dport, flags="R",
    seq=p[TCP].seq + len(p[TCP].payload))
send(rst, verbose=False)
EOF
injected_exchange "$TMP/inject.py" "$1" 4 0.3
wait $SRV_PID || true
sleep 0.5
cap_stop
}
if want injected_rst; then inject injected_rst 47 0x3039; fi
if want injected_rst_race; then inject injected_rst_race 63 0; fi

# 2c. A RST injected during the handshake, before the server's SYN-ACK.
if want handshake_rst_race; then
setup_line
ip netns exec dr-r nft "add table inet dr; add chain inet dr hsdrop { type filter hook forward priority 0; policy accept; }; add rule inet dr hsdrop ip saddr $S tcp flags & (syn|ack) == syn|ack drop"
cat >"$TMP/inject_hs.py" <<EOF
import subprocess
from scapy.all import IP, TCP, sniff, send
def client_syn(p):
    return (IP in p and TCP in p and p[IP].dst == "$S" and p[TCP].dport == 5555
            and p[TCP].flags == "S")
p = sniff(iface="veth_rc", lfilter=client_syn, count=1, timeout=10)[0]
rst = IP(src="$S", dst=p[IP].src, ttl=63, id=0, flags="DF") / TCP(
    sport=5555, dport=p[TCP].sport, flags="RA", seq=0, ack=p[TCP].seq + 1)
send(rst, verbose=False)
# The server's next SYN-ACK goes through.
subprocess.run(["nft", "flush", "chain", "inet", "dr", "hsdrop"], check=True)
EOF
injected_exchange "$TMP/inject_hs.py" handshake_rst_race 1 0
# The server sends its SYN-ACK again a second after the first.
sleep 2
kill "$SRV_PID" 2>/dev/null || true
wait "$SRV_PID" 2>/dev/null || true
cap_stop
fi

# 2d. A RST injected sooner than its claimed sender could have sent it: the
# router forwards in user space (its kernel's forwarding is off) and holds
# every frame 150 ms each way, so each end is about 300 ms a round trip
# from the other. Forging the server (captured at the client): it answers
# the client's request at once with a RST/ACK "from the server" (TTL 63,
# IP ID 0, the server's) and drops the server's data. Forging the client
# (captured at the server): it answers the server's data at once with a
# RST/ACK "from the client" and drops the client's data after it. Nothing
# the claimed sender sends afterwards races the RST.
relay_inject() { # NAME FORGED(server|client) CAPTURE_NS CAPTURE_DEV CHUNKS GAP
setup_line
ip netns exec dr-r sysctl -qw net.ipv4.ip_forward=0
cat >"$TMP/relay_fast.py" <<EOF
import heapq, select, socket, struct, sys, time
DELAY = 0.150
FORGED = sys.argv[1]
C, S = socket.inet_aton("$C"), socket.inet_aton("$S")
MAC = {"veth_rc": (bytes.fromhex("020000960101"), bytes.fromhex("0200009601fe")),
       "veth_rs": (bytes.fromhex("020000960201"), bytes.fromhex("0200009602fe"))}
socks = {}
for dev in MAC:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((dev, 0))
    socks[dev] = s
def csum(h):
    t = sum(struct.unpack("!10H", h))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF
def ipv4(src, dst, ttl, ident, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, 6, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def tcp_csum(src, dst, t):
    # The veths leave checksums to "hardware" (CHECKSUM_PARTIAL): each
    # segment relayed gets its checksum computed here.
    data = src + dst + struct.pack("!BBH", 0, 6, len(t)) + t[:16] + bytes(2) + t[18:]
    if len(data) % 2:
        data += bytes(1)
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return t[:16] + struct.pack("!H", ~s & 0xFFFF) + t[18:]
def tcp(src, dst, sport, dport, seq, ack, flags):
    return tcp_csum(src, dst, struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 8192, 0, 0))
def out(dev, ip):
    peer, mine = MAC[dev]
    socks[dev].send(peer + mine + b"\x08\x00" + ip)
queue, injected, deadline = [], False, time.time() + 20
while time.time() < deadline:
    wait = max(0.0, queue[0][0] - time.time()) if queue else 0.05
    ready, _, _ = select.select(list(socks.values()), [], [], wait)
    for dev, s in socks.items():
        if s not in ready:
            continue
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or frame[6:12] != MAC[dev][0]:
            continue
        ip = bytearray(frame[14:])
        src, dst, proto = bytes(ip[12:16]), bytes(ip[16:20]), ip[9]
        if proto != 6 or {src, dst} != {C, S}:
            continue
        ihl = (ip[0] & 15) * 4
        off = (ip[ihl + 12] >> 4) * 4
        payload = len(ip) - ihl - off
        sport, dport, seq, ack = struct.unpack("!HHII", ip[ihl:ihl + 12])
        # The RST "from" the other end, straight back to this segment's sender.
        victim = C if FORGED == "server" else S
        if src == victim and payload > 0 and not injected:
            injected = True
            rst = tcp(dst, src, dport, sport, ack, (seq + payload) & 0xFFFFFFFF, 0x14)
            out("veth_rc" if src == C else "veth_rs", ipv4(dst, src, 63, 0, rst))
        if payload > 0 and ((FORGED == "server" and src == S) or (FORGED == "client" and src == C and injected)):
            continue
        ip[8] -= 1
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum(bytes(ip[:20])))
        ip[ihl:] = tcp_csum(src, dst, bytes(ip[ihl:]))
        heapq.heappush(queue, (time.time() + DELAY, len(queue), "veth_rs" if dst == S else "veth_rc", bytes(ip)))
    while queue and queue[0][0] <= time.time():
        _, _, dev, ip = heapq.heappop(queue)
        out(dev, ip)
EOF
ip netns exec dr-r /usr/bin/python3 "$TMP/relay_fast.py" "$2" &
RELAY_PID=$!
sleep 1
cap_start "$3" "$4" "$HERE/$1.pcap"
serve dr-s $S 5555 "$5" "$6"
ip netns exec dr-c "${PEER[@]}" client $S 5555
sleep 2
kill "$SRV_PID" "$RELAY_PID" 2>/dev/null || true
wait "$SRV_PID" "$RELAY_PID" 2>/dev/null || true
cap_stop
}
if want injected_rst_fast; then relay_inject injected_rst_fast server dr-c veth_c 1 0; fi
# The server's answer in two chunks 300 ms apart: its FIN does not follow
# the first chunk at once, so the RST acknowledges all the server has sent.
if want injected_rst_fast_client; then
    relay_inject injected_rst_fast_client client dr-s veth_s 2 0.3
fi

# 3. An asymmetric route, captured on the router of one direction.
if want asymmetric; then
setup_asymmetric
cap_start dr-aa veth_as "$HERE/asymmetric.pcap"
serve dr-as 10.96.5.1 5555 2 0.1
ip netns exec dr-ac "${PEER[@]}" client 10.96.5.1 5555
wait $SRV_PID
cap_stop
fi

ls -l "$HERE"/*.pcap
