#!/usr/bin/env bash
# Records the captures of the diagnosis causes that need transfer evidence,
# for real, with a namespace router:
#
#   sudo bash testdata/tools/record-diagnet.sh   # writes testdata/diagnosis/*.pcap
#
# Three namespaces: the client dn-c (10.86.1.1), the router dn-r
# (10.86.1.254 / 10.86.2.254, forwarding on) and the server dn-s
# (10.86.2.1), joined by two veth pairs (GSO/GRO off: one segment a packet).
# Only addresses inside these namespaces are used; they are removed on exit.
# The peers are testdata/tools/diagnet_peer.py.
#
#   pmtu_black_hole.pcap    the router's link toward the client has MTU 1000
#                           and nftables on the router drops the ICMP
#                           "fragmentation needed" it sends; the server
#                           (tcp_mtu_probing 0) answers a request with 100
#                           bytes, then 8,000 bytes in 1448-byte segments
#                           (DF set, Linux's default), which never get
#                           through: captured on the server's link for 8 s
#   zero_window_resumed.pcap  the client (SO_RCVBUF 4096) does not read for
#                           4 s while the server sends 20,000 bytes; then
#                           it reads and both close
#   zero_window_reset.pcap  the same, but the client never reads and is
#                           killed after 6 s: its kernel resets the
#                           connection (data unread)
#   peer_vanished.pcap      the client (tcp_retries2 4) uploads; after 1 s
#                           the router drops everything to and from the
#                           server: the client retransmits with back-off
#                           until its kernel gives up; captured on the
#                           client's link for 14 s
#   keepalive_vanished.pcap the client (keep-alive after 1 s idle, every
#                           1 s, 3 probes) idles after one exchange; the
#                           router drops the server: three keep-alives
#                           unanswered, then the client's kernel resets
#
# Needs: root, ip (iproute2), nft, tcpdump, python3.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HERE=$TOOLS/../diagnosis
mkdir -p "$HERE"
TMP=$(mktemp -d /tmp/dn_record.XXXXXX)
NS=(dn-c dn-r dn-s)
C4=10.86.1.1 S4=10.86.2.1
PORT=5580
PEER=(python3 "$TOOLS/diagnet_peer.py")

NETNS_KILL=KILL
. "$TOOLS/netns-lib.sh"

setup() {
    teardown
    local n dev
    for n in "${NS[@]}"; do
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    ip link add veth_c netns dn-c type veth peer name veth_rc netns dn-r
    ip link add veth_s netns dn-s type veth peer name veth_rs netns dn-r
    ip -n dn-c link set veth_c address 02:00:00:86:01:01
    ip -n dn-r link set veth_rc address 02:00:00:86:01:fe
    ip -n dn-r link set veth_rs address 02:00:00:86:02:fe
    ip -n dn-s link set veth_s address 02:00:00:86:02:01
    ip -n dn-c addr add $C4/24 dev veth_c
    ip -n dn-r addr add 10.86.1.254/24 dev veth_rc
    ip -n dn-r addr add 10.86.2.254/24 dev veth_rs
    ip -n dn-s addr add $S4/24 dev veth_s
    for dev in dn-c:veth_c dn-r:veth_rc dn-r:veth_rs dn-s:veth_s; do
        ip netns exec "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off 2>/dev/null || true
        ip -n "${dev%%:*}" link set "${dev#*:}" gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
        ip -n "${dev%%:*}" link set "${dev#*:}" up
    done
    ip netns exec dn-r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
    ip netns exec dn-s sysctl -qw net.ipv4.tcp_mtu_probing=0
    ip -n dn-c route add default via 10.86.1.254
    ip -n dn-s route add default via 10.86.2.254
    ip -n dn-c neigh replace 10.86.1.254 lladdr 02:00:00:86:01:fe dev veth_c nud permanent
    ip -n dn-r neigh replace $C4 lladdr 02:00:00:86:01:01 dev veth_rc nud permanent
    ip -n dn-r neigh replace $S4 lladdr 02:00:00:86:02:01 dev veth_rs nud permanent
    ip -n dn-s neigh replace 10.86.2.254 lladdr 02:00:00:86:02:fe dev veth_s nud permanent
}

cap_start() { # NS DEV OUT
    ip netns exec "$1" tcpdump -Z root -U --immediate-mode -B 16384 -n -i "$2" -w "$3" "tcp or icmp" 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for "$TMP/cap.err" "listening on"
    sleep 0.3
}
cap_stop() {
    sleep 0.3
    kill -INT "$CAP_PID"
    cat "$TMP/cap.err" >&2
    wait "$CAP_PID" || true
}

serve() { # SCENARIO
    rm -f "$TMP/ready"
    ip netns exec dn-s "${PEER[@]}" server "$1" $S4 $PORT "$TMP/ready" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
}
vanish() { # the router drops everything to and from the server
    ip netns exec dn-r nft "add table ip dn; add chain ip dn fw { type filter hook forward priority 0; policy accept; }; add rule ip dn fw ip saddr $S4 drop; add rule ip dn fw ip daddr $S4 drop"
}

# Path MTU black hole: captured on the server's link.
setup
ip -n dn-r link set veth_rc mtu 1000
ip netns exec dn-r nft "add table ip dn; add chain ip dn out { type filter hook output priority 0; policy accept; }; add rule ip dn out icmp type destination-unreachable icmp code frag-needed drop"
serve pmtu
cap_start dn-s veth_s "$HERE/pmtu_black_hole.pcap"
ip netns exec dn-c "${PEER[@]}" client pmtu $S4 $PORT &
CLI_PID=$!
sleep 8
cap_stop
kill -9 $CLI_PID $SRV_PID 2>/dev/null || true
wait 2>/dev/null || true

# Receiver not reading, resumed after 4 s.
setup
serve zw_resume
cap_start dn-c veth_c "$HERE/zero_window_resumed.pcap"
ip netns exec dn-c "${PEER[@]}" client zw_resume $S4 $PORT
wait $SRV_PID || true
cap_stop

# Receiver not reading, never resumes: killed after 6 s.
setup
serve zw_stuck
cap_start dn-c veth_c "$HERE/zero_window_reset.pcap"
ip netns exec dn-c "${PEER[@]}" client zw_stuck $S4 $PORT &
CLI_PID=$!
sleep 6
kill -9 $CLI_PID
sleep 0.5
cap_stop
kill -9 $SRV_PID 2>/dev/null || true
wait 2>/dev/null || true

# Peer vanished mid-transfer: the client's kernel gives up (tcp_retries2 4).
setup
ip netns exec dn-c sysctl -qw net.ipv4.tcp_retries2=4
serve vanish
cap_start dn-c veth_c "$HERE/peer_vanished.pcap"
ip netns exec dn-c "${PEER[@]}" client vanish $S4 $PORT &
CLI_PID=$!
sleep 1
vanish
sleep 14
cap_stop
kill -9 $CLI_PID $SRV_PID 2>/dev/null || true
wait 2>/dev/null || true

# Peer vanished while idle: keep-alives unanswered.
setup
serve keepalive
cap_start dn-c veth_c "$HERE/keepalive_vanished.pcap"
ip netns exec dn-c "${PEER[@]}" client keepalive $S4 $PORT &
CLI_PID=$!
sleep 0.5
vanish
sleep 6
cap_stop
kill -9 $CLI_PID $SRV_PID 2>/dev/null || true
wait 2>/dev/null || true
echo "recorded in $HERE"
