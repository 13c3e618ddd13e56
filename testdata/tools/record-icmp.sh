#!/usr/bin/env bash
# Records the ICMP test captures for real, with a namespace router:
#
#   sudo bash testdata/tools/record-icmp.sh      # writes testdata/icmp/*.pcap
#
# Three namespaces: the client tic_c (10.97.1.1, fd97:1::1), the router tic_r
# (10.97.1.254 / 10.97.2.254, fd97:1::fe / fd97:2::fe, forwarding on) and the
# server tic_s (10.97.2.1, fd97:2::1), joined by two veth pairs. tcpdump
# captures the client's veth: the SYNs and data it sends and the ICMP errors
# the router sends back. Only addresses inside these namespaces are used;
# they are removed on exit.
#
#   admin_prohibited.pcap     nft on the router: the SYN to port 5555 is
#                             `reject with icmp type admin-prohibited`
#   port_unreachable.pcap     ... `reject with icmp type port-unreachable`
#   host_unreachable.pcap     ... `reject with icmp type host-unreachable`
#   admin_prohibited_v6.pcap  IPv6: `reject with icmpv6 type admin-prohibited`
#   frag_needed.pcap          the router's route to the server has MTU 1280;
#                             the client uploads 6000 bytes with DF (Linux
#                             sets it on TCP): "fragmentation needed, next-hop
#                             MTU 1280", then the smaller segments go through
#   packet_too_big_v6.pcap    the same over IPv6: "packet too big, MTU 1280"
#   ttl_exceeded.pcap         the client's default TTL is 1: the router
#                             answers the SYN with "time exceeded in transit"
#   unmatched.pcap            the capture filter leaves out the SYNs to port
#                             5556, whose admin-prohibited errors are then
#                             captured without their connection
#
# Needs: root, ip (iproute2), nft, tcpdump, python3.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HERE=$TOOLS/../icmp
mkdir -p "$HERE"
TMP=$(mktemp -d /tmp/tic_record.XXXXXX)
NS=(tic_c tic_r tic_s)
C4=10.97.1.1 S4=10.97.2.1 C6=fd97:1::1 S6=fd97:2::1
PORT=5555

. "$TOOLS/netns-lib.sh"

setup() {
    teardown
    local n
    for n in "${NS[@]}"; do
        ip netns add "$n"
        ip -n "$n" link set lo up
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    ip link add veth_c netns tic_c type veth peer name veth_rc netns tic_r
    ip link add veth_s netns tic_s type veth peer name veth_rs netns tic_r
    ip -n tic_c link set veth_c address 02:00:00:97:01:01
    ip -n tic_r link set veth_rc address 02:00:00:97:01:fe
    ip -n tic_r link set veth_rs address 02:00:00:97:02:fe
    ip -n tic_s link set veth_s address 02:00:00:97:02:01
    ip -n tic_c addr add $C4/24 dev veth_c
    ip -n tic_c addr add $C6/64 dev veth_c nodad
    ip -n tic_r addr add 10.97.1.254/24 dev veth_rc
    ip -n tic_r addr add fd97:1::fe/64 dev veth_rc nodad
    ip -n tic_r addr add 10.97.2.254/24 dev veth_rs
    ip -n tic_r addr add fd97:2::fe/64 dev veth_rs nodad
    ip -n tic_s addr add $S4/24 dev veth_s
    ip -n tic_s addr add $S6/64 dev veth_s nodad
    local dev
    for dev in tic_c:veth_c tic_r:veth_rc tic_r:veth_rs tic_s:veth_s; do
        # One segment a packet on the wire: no TSO/GSO super-packets.
        ip -n "${dev%%:*}" link set "${dev#*:}" gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
        ip -n "${dev%%:*}" link set "${dev#*:}" up
    done
    ip netns exec tic_r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    # ICMP errors are rate-limited per destination; let every one out.
    ip netns exec tic_r sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
    ip -n tic_c route add default via 10.97.1.254
    ip -n tic_c -6 route add default via fd97:1::fe
    ip -n tic_s route add default via 10.97.2.254
    ip -n tic_s -6 route add default via fd97:2::fe
    ip -n tic_c neigh replace 10.97.1.254 lladdr 02:00:00:97:01:fe dev veth_c nud permanent
    ip -n tic_c neigh replace fd97:1::fe lladdr 02:00:00:97:01:fe dev veth_c nud permanent
    ip -n tic_r neigh replace $C4 lladdr 02:00:00:97:01:01 dev veth_rc nud permanent
    ip -n tic_r neigh replace $C6 lladdr 02:00:00:97:01:01 dev veth_rc nud permanent
    ip -n tic_r neigh replace $S4 lladdr 02:00:00:97:02:01 dev veth_rs nud permanent
    ip -n tic_r neigh replace $S6 lladdr 02:00:00:97:02:01 dev veth_rs nud permanent
    ip -n tic_s neigh replace 10.97.2.254 lladdr 02:00:00:97:02:fe dev veth_s nud permanent
    ip -n tic_s neigh replace fd97:2::fe lladdr 02:00:00:97:02:fe dev veth_s nud permanent
}

# reject ICMP-TYPE [FAMILY-MATCH]: the router rejects SYNs to $PORT and 5556.
reject() {
    ip netns exec tic_r nft "add table inet tic; add chain inet tic tcpfwd { type filter hook forward priority 0; policy accept; }; add rule inet tic tcpfwd tcp dport { $PORT, 5556 } tcp flags & (syn|ack) == syn $1"
}

cap_start() { # OUT [FILTER]
    ip netns exec tic_c tcpdump -Z root -U --immediate-mode -n -i veth_c -w "$1" "${2:-tcp or icmp or icmp6}" 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for "$TMP/cap.err" "listening on"
    sleep 0.5
}
cap_stop() {
    sleep 0.5
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
}

# The peers: a server that reads everything and answers with its length,
# a client that connects, sends SIZE bytes and reads the answer.
cat >"$TMP/peer.py" <<'EOF'
import socket, sys
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
if role == "server":
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(4)
    open(sys.argv[4], "w").close()
    s, _ = ls.accept()
    size, got = int(sys.argv[5]), 0
    while got < size:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    s.sendall(b"%d\n" % got)
    s.shutdown(socket.SHUT_WR)
    s.recv(1); s.close()
else:
    size = int(sys.argv[4])
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(6)
    try:
        s.connect((host, port))
    except OSError as e:
        print("connect:", e, file=sys.stderr)
        sys.exit(0)
    s.sendall(b"x" * size)
    print("answer:", s.recv(100), file=sys.stderr)
    s.shutdown(socket.SHUT_WR)
    s.recv(1); s.close()
EOF
PEER=(python3 "$TMP/peer.py")

transfer() { # HOST SIZE
    rm -f "$TMP/ready"
    ip netns exec tic_s "${PEER[@]}" server "$1" $PORT "$TMP/ready" "$2" &
    local srv=$! i
    for i in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
    ip netns exec tic_c "${PEER[@]}" client "$1" $PORT "$2"
    wait $srv
}

attempt() { # HOST [PORT]
    ip netns exec tic_c "${PEER[@]}" client "$1" "${2:-$PORT}" 0
}

# The SYN rejected by the router, one capture per ICMP type.
for kind in admin-prohibited:admin_prohibited port-unreachable:port_unreachable \
    host-unreachable:host_unreachable; do
    setup
    reject "meta nfproto ipv4 reject with icmp type ${kind%%:*}"
    cap_start "$HERE/${kind#*:}.pcap"
    attempt $S4
    cap_stop
done

setup
reject "meta nfproto ipv6 reject with icmpv6 type admin-prohibited"
cap_start "$HERE/admin_prohibited_v6.pcap"
attempt $S6
cap_stop

# Path MTU: the router's route to the server allows 1280 bytes.
setup
ip -n tic_r route replace 10.97.2.0/24 dev veth_rs mtu 1280
cap_start "$HERE/frag_needed.pcap"
transfer $S4 6000
cap_stop

setup
ip -n tic_r -6 route replace fd97:2::/64 dev veth_rs mtu 1280 metric 1
cap_start "$HERE/packet_too_big_v6.pcap"
transfer $S6 6000
cap_stop

# TTL 1 from the client: the router cannot forward the SYN.
setup
ip netns exec tic_c sysctl -qw net.ipv4.ip_default_ttl=1
cap_start "$HERE/ttl_exceeded.pcap"
attempt $S4
cap_stop

# Errors whose connection the capture does not hold: the filter leaves out
# the client's SYNs to 5556 (but keeps its connection to 5555, answered).
setup
reject "meta nfproto ipv4 ip daddr $S4 tcp dport 5556 reject with icmp type admin-prohibited"
ip netns exec tic_r nft flush chain inet tic tcpfwd
ip netns exec tic_r nft "add rule inet tic tcpfwd tcp dport 5556 tcp flags & (syn|ack) == syn reject with icmp type admin-prohibited"
cap_start "$HERE/unmatched.pcap" "icmp or (tcp and not dst port 5556)"
attempt $S4 5556
transfer $S4 100
cap_stop

ls -l "$HERE"/*.pcap
