#!/usr/bin/env bash
# Records the VXLAN test captures for real, with the kernel's vxlan devices:
#
#   sudo bash testdata/tools/record-vxlan.sh      # writes testdata/tunnels/vxlan*.pcap
#
# Underlay: two namespaces (tdx_u1, tdx_u2) joined by a veth pair,
# 10.98.0.1 <-> 10.98.0.2. Each vxlan device is created in an underlay
# namespace (its UDP socket lives there) and then moved into an overlay
# namespace, where the TCP peers run: clients 10.99.0.1 in tdx_c1/tdx_c2,
# servers 10.99.0.2 in tdx_s1/tdx_s2, so two tunnels can carry the same inner
# 4-tuple. tcpdump captures the underlay veth in tdx_u1: what a mirror of the
# overlay's physical link would see. Only addresses inside these namespaces
# are used; they are removed on exit.
#
#   vxlan.pcap             VNI 42, UDP 4789: graceful_client_close
#   vxlan_8472.pcap        VNI 7, UDP 8472 (the Linux default port): graceful_server_close
#   vxlan_two_tunnels.pcap VNI 42 and VNI 43, both 4789, the same inner
#                          4-tuple (client port 40042) at the same time
#
# Needs: root, ip (iproute2 with vxlan), tcpdump, python3.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HERE=$TOOLS/../tunnels
PEER=(python3 "$TOOLS/peer.py")
TMP=$(mktemp -d /tmp/tdx_record.XXXXXX)
NS=(tdx_u1 tdx_u2 tdx_c1 tdx_s1 tdx_c2 tdx_s2)
U1=10.98.0.1 U2=10.98.0.2 C=10.99.0.1 S=10.99.0.2
CMAC=02:00:00:99:00:01 SMAC=02:00:00:99:00:02
PORT=5555

. "$TOOLS/netns-lib.sh"

setup() {
    teardown
    local n
    for n in "${NS[@]}"; do
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    ip link add veth_u1 netns tdx_u1 type veth peer name veth_u2 netns tdx_u2
    ip -n tdx_u1 link set veth_u1 address 02:00:00:98:00:01
    ip -n tdx_u2 link set veth_u2 address 02:00:00:98:00:02
    ip -n tdx_u1 addr add $U1/24 dev veth_u1
    ip -n tdx_u2 addr add $U2/24 dev veth_u2
    for n in 1 2; do
        ip -n tdx_u$n link set veth_u$n gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
        ip -n tdx_u$n link set veth_u$n up
    done
    ip -n tdx_u1 neigh replace $U2 lladdr 02:00:00:98:00:02 dev veth_u1 nud permanent
    ip -n tdx_u2 neigh replace $U1 lladdr 02:00:00:98:00:01 dev veth_u2 nud permanent
}

# tunnel VNI DSTPORT CLIENT_NS SERVER_NS: a vxlan device on each side.
tunnel() {
    local vni=$1 port=$2 cns=$3 sns=$4
    ip -n tdx_u1 link add vx$vni type vxlan id "$vni" local $U1 remote $U2 dstport "$port" dev veth_u1
    ip -n tdx_u2 link add vx$vni type vxlan id "$vni" local $U2 remote $U1 dstport "$port" dev veth_u2
    ip -n tdx_u1 link set vx$vni netns "$cns"
    ip -n tdx_u2 link set vx$vni netns "$sns"
    ip -n "$cns" link set vx$vni address $CMAC
    ip -n "$sns" link set vx$vni address $SMAC
    ip -n "$cns" addr add $C/24 dev vx$vni
    ip -n "$sns" addr add $S/24 dev vx$vni
    ip -n "$cns" link set vx$vni gso_max_size 1400 gro_max_size 1400 2>/dev/null || true
    ip -n "$sns" link set vx$vni gso_max_size 1400 gro_max_size 1400 2>/dev/null || true
    ip -n "$cns" link set vx$vni up
    ip -n "$sns" link set vx$vni up
    ip -n "$cns" neigh replace $S lladdr $SMAC dev vx$vni nud permanent
    ip -n "$sns" neigh replace $C lladdr $CMAC dev vx$vni nud permanent
}

cap_start() { # OUT
    ip netns exec tdx_u1 tcpdump -Z root -U --immediate-mode -n -i veth_u1 -w "$1" udp 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for "$TMP/cap.err" "listening on"
    sleep 0.5
}
cap_stop() {
    sleep 1.0
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
}

server_start() { # NS SCENARIO
    ip netns exec "$1" "${PEER[@]}" server "$2" $S $PORT &
    SRV_PIDS+=($!)
    local i
    for i in $(seq 100); do
        ip netns exec "$1" ss -Hltn "sport = :$PORT" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

record() { # OUT SCENARIO VNI DSTPORT
    setup
    tunnel "$3" "$4" tdx_c1 tdx_s1
    SRV_PIDS=()
    cap_start "$HERE/$1"
    server_start tdx_s1 "$2"
    ip netns exec tdx_c1 "${PEER[@]}" client "$2" $S $PORT
    wait "${SRV_PIDS[@]}"
    cap_stop
}

record vxlan.pcap graceful_client_close 42 4789
record vxlan_8472.pcap graceful_server_close 7 8472

# Two tunnels, the same inner 4-tuple, at the same time.
setup
tunnel 42 4789 tdx_c1 tdx_s1
tunnel 43 4789 tdx_c2 tdx_s2
SRV_PIDS=()
cap_start "$HERE/vxlan_two_tunnels.pcap"
server_start tdx_s1 graceful_client_close
server_start tdx_s2 graceful_client_close
ip netns exec tdx_c1 "${PEER[@]}" client graceful_client_close $S $PORT 40042 &
c1=$!
ip netns exec tdx_c2 "${PEER[@]}" client graceful_client_close $S $PORT 40042 &
c2=$!
wait $c1 $c2 "${SRV_PIDS[@]}"
cap_stop
ls -l "$HERE"/vxlan*.pcap
