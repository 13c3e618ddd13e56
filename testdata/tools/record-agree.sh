#!/usr/bin/env bash
# Records real Linux TCP traffic for measuring tcpstate's agreement with
# tshark on captures the rest of the suite does not have (docs/zeek.md,
# "Agreement with tshark (session 7)"):
#
#   sudo bash testdata/tools/record-agree.sh OUTDIR [NAME...]
#
# writes OUTDIR/NAME.pcap for every scenario (or only the NAMEs given).
# Three namespaces: the client ag-c (10.87.1.1, fd87:1::1), the router ag-r
# (forwarding on) and the server ag-s (10.87.2.1, fd87:2::1), joined by two
# veth pairs (GSO/GRO off: one segment a packet). nftables on the router
# drops or rejects chosen packets (numgen: every Nth); sysctls in the end
# namespaces turn SACK, timestamps, window scaling or TFO off/on. A name
# ending in _c is captured on the client's link, _s on the server's. Only
# addresses inside these namespaces are used; they are removed on exit.
# The peers are testdata/tools/agree_peer.py and python's http.server + curl.
#
# Needs: root, ip (iproute2), nft, tcpdump, python3, curl.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: record-agree.sh OUTDIR [NAME...]}
shift
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/ag_record.XXXXXX)
NS=(ag-c ag-r ag-s)
C4=10.87.1.1 S4=10.87.2.1 C6=fd87:1::1 S6=fd87:2::1
PORT=5590
PEER=(python3 "$TOOLS/agree_peer.py")

NETNS_KILL=KILL
. "$TOOLS/netns-lib.sh"

setup() {
    teardown
    local n dev
    for n in "${NS[@]}"; do
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    ip link add veth_c netns ag-c type veth peer name veth_rc netns ag-r
    ip link add veth_s netns ag-s type veth peer name veth_rs netns ag-r
    ip -n ag-c link set veth_c address 02:00:00:87:01:01
    ip -n ag-r link set veth_rc address 02:00:00:87:01:fe
    ip -n ag-r link set veth_rs address 02:00:00:87:02:fe
    ip -n ag-s link set veth_s address 02:00:00:87:02:01
    for n in ag-c ag-r ag-s; do
        ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    ip -n ag-c addr add $C4/24 dev veth_c
    ip -n ag-c addr add $C6/64 dev veth_c nodad
    ip -n ag-r addr add 10.87.1.254/24 dev veth_rc
    ip -n ag-r addr add fd87:1::fe/64 dev veth_rc nodad
    ip -n ag-r addr add 10.87.2.254/24 dev veth_rs
    ip -n ag-r addr add fd87:2::fe/64 dev veth_rs nodad
    ip -n ag-s addr add $S4/24 dev veth_s
    ip -n ag-s addr add $S6/64 dev veth_s nodad
    for dev in ag-c:veth_c ag-r:veth_rc ag-r:veth_rs ag-s:veth_s; do
        ip netns exec "${dev%%:*}" ethtool -K "${dev#*:}" tso off gso off gro off 2>/dev/null || true
        ip -n "${dev%%:*}" link set "${dev#*:}" gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
        ip -n "${dev%%:*}" link set "${dev#*:}" up
    done
    ip netns exec ag-r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    ip -n ag-c route add default via 10.87.1.254
    ip -n ag-s route add default via 10.87.2.254
    ip -n ag-c -6 route add default via fd87:1::fe
    ip -n ag-s -6 route add default via fd87:2::fe
    ip -n ag-c neigh replace 10.87.1.254 lladdr 02:00:00:87:01:fe dev veth_c nud permanent
    ip -n ag-r neigh replace $C4 lladdr 02:00:00:87:01:01 dev veth_rc nud permanent
    ip -n ag-r neigh replace $S4 lladdr 02:00:00:87:02:01 dev veth_rs nud permanent
    ip -n ag-s neigh replace 10.87.2.254 lladdr 02:00:00:87:02:fe dev veth_s nud permanent
    ip -n ag-c neigh replace fd87:1::fe lladdr 02:00:00:87:01:fe dev veth_c nud permanent
    ip -n ag-r neigh replace $C6 lladdr 02:00:00:87:01:01 dev veth_rc nud permanent
    ip -n ag-r neigh replace $S6 lladdr 02:00:00:87:02:01 dev veth_rs nud permanent
    ip -n ag-s neigh replace fd87:2::fe lladdr 02:00:00:87:02:fe dev veth_s nud permanent
    ip netns exec ag-r nft "add table inet ag; add chain inet ag fw { type filter hook forward priority 0; policy accept; }"
}

both() { ip netns exec ag-c sysctl -qw "$@"; ip netns exec ag-s sysctl -qw "$@"; }
rule() { ip netns exec ag-r nft "add rule inet ag fw $*"; }

cap_start() { # NAME
    local ns=ag-c dev=veth_c
    case "$1" in *_s) ns=ag-s dev=veth_s ;; esac
    ip netns exec $ns tcpdump -Z root -U --immediate-mode -B 16384 -n -i $dev -w "$OUT/$1.pcap" "tcp" 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for "$TMP/cap.err" "listening on"
    sleep 0.3
}
cap_stop() {
    sleep 0.5
    kill -INT "$CAP_PID"
    wait "$CAP_PID" 2>/dev/null || true
}

serve() { # MODE HOST [N]
    rm -f "$TMP/ready"
    ip netns exec ag-s "${PEER[@]}" server "$1" "$2" $PORT "$TMP/ready" "${3:-150000}" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
}
# One peer exchange: MODE HOST N; the client runs to its end.
exchange() {
    serve "$1" "$2" "$3"
    ip netns exec ag-c timeout 40 "${PEER[@]}" client "$1" "$2" $PORT "$3" || true
    wait "$SRV_PID" 2>/dev/null || true
}
http() { # HOST URLHOST COUNT
    ip netns exec ag-s python3 -m http.server --bind "$1" $PORT --directory "$TMP/www" >/dev/null 2>&1 &
    SRV_PID=$!
    sleep 1
    local i
    for i in $(seq "$3"); do
        ip netns exec ag-c curl -s -o /dev/null --max-time 10 "http://$2:$PORT/f$((i % 4)).bin" || true
    done
    kill -9 $SRV_PID 2>/dev/null || true
    wait $SRV_PID 2>/dev/null || true
}

SDATA="ip saddr $S4 tcp sport $PORT meta length > 200"
CDATA="ip saddr $C4 tcp dport $PORT meta length > 200"

scenario() { # NAME
    local n=$1
    setup
    case $n in
        down_loss40_*|down_nosack_*) rule "$SDATA numgen inc mod 40 == 7 drop" ;;
        down_burst_*) rule "$SDATA numgen inc mod 100 < 4 drop" ;;
        down_nots_*|down_nows_*) rule "$SDATA numgen inc mod 30 == 5 drop" ;;
        up_loss25_*|up_nosack_*) rule "$CDATA numgen inc mod 25 == 3 drop" ;;
        up_ackloss_*) rule "ip saddr $S4 tcp sport $PORT meta length < 120 numgen inc mod 3 == 1 drop" ;;
        http_loss_*) rule "ip saddr $S4 tcp sport $PORT numgen inc mod 7 == 3 drop" ;;
        v6_down_loss_*) rule "ip6 saddr $S6 tcp sport $PORT meta length > 200 numgen inc mod 35 == 9 drop" ;;
        syn_loss_*) rule "tcp flags & (syn|ack) == syn numgen inc mod 2 == 0 drop"
                    rule "tcp flags & (syn|ack) == (syn|ack) numgen inc mod 2 == 0 drop" ;;
        fin_loss_*) rule "ip saddr $S4 tcp flags & fin == fin numgen inc mod 2 == 0 drop" ;;
        reject_mid_*) rule "ip saddr $S4 tcp sport $PORT ct packets > 60 reject with tcp reset" ;;
        ackburst_*) rule "ip saddr $C4 tcp dport $PORT meta length < 120 numgen inc mod 60 > 40 drop" ;;
        up_burst_*) rule "$CDATA numgen inc mod 50 < 5 drop" ;;
        v6_up_loss_*) rule "ip6 saddr $C6 tcp dport $PORT meta length > 200 numgen inc mod 30 == 4 drop" ;;
        lastdata_loss_*) rule "ip saddr $S4 tcp sport $PORT meta length > 200 meta length < 1000 numgen inc mod 2 == 0 drop" ;;
        stall_loss_*) rule "$SDATA numgen inc mod 9 == 4 drop" ;;
        ackloss_down_*) rule "ip saddr $C4 tcp dport $PORT numgen inc mod 4 == 2 drop" ;;
    esac
    case $n in
        *nosack*) both net.ipv4.tcp_sack=0 ;;
    esac
    case $n in
        down_nots_*) both net.ipv4.tcp_timestamps=0 ;;
        *nows*) both net.ipv4.tcp_window_scaling=0 ;;
        *nots*) both net.ipv4.tcp_timestamps=0 ;;
        tfo_*) both net.ipv4.tcp_fastopen=3 ;;
    esac
    cap_start "$n"
    case $n in
        down_*|ackloss_down_*) exchange down $S4 200000 ;;
        v6_down_*) exchange down $S6 200000 ;;
        up_*) exchange up $S4 150000 ;;
        v6_up_*) exchange up $S6 150000 ;;
        ackburst_*) exchange down $S4 200000 ;;
        stall*) exchange stall $S4 30000 ;;
        upabort_*) exchange upabort $S4 100000 ;;
        lastdata_loss_*) exchange down $S4 5000 ;;
        keepalive2_*) exchange keepalive $S4 0 ;;
        slowread*) exchange slowread $S4 40000 ;;
        http_*) http $S4 $S4 12 ;;
        v6_http_*) http $S6 "[$S6]" 12 ;;
        reuse_*) exchange reuse $S4 5 ;;
        simclose_*) exchange simclose $S4 0 ;;
        rstmid_*) exchange rstmid $S4 200000 ;;
        keepalive_*) exchange keepalive $S4 0 ;;
        tfo_*) exchange tfo $S4 3 ;;
        syn_loss_*|fin_loss_*) exchange down $S4 3000 ;;
        reject_mid_*)
            serve down $S4 200000
            ip netns exec ag-c timeout 3 "${PEER[@]}" client down $S4 $PORT 200000 || true
            sleep 0.5
            kill -9 $SRV_PID 2>/dev/null || true
            wait $SRV_PID 2>/dev/null || true ;;
    esac
    cap_stop
    echo "$n: $(stat -c %s "$OUT/$n.pcap") bytes"
}

mkdir -p "$TMP/www"
for i in 0 1 2 3; do head -c $((i * 9000 + 300)) /dev/zero | tr '\0' 'h' > "$TMP/www/f$i.bin"; done

ALL2=(stall_c stall_s stall_loss_c stall_loss_s stall_nows_s ackburst_c ackburst_s
      up_burst_c up_burst_nosack_s up_burst_nots_s v6_up_loss_s v6_up_loss_c upabort_c upabort_s
      lastdata_loss_c lastdata_loss_s keepalive_s reject_mid_c simclose_s slowread_nows_s)
ALL=(down_loss40_c down_loss40_s down_nosack_c down_nosack_s down_burst_c down_burst_s
     down_nots_c down_nows_s up_loss25_c up_loss25_s up_nosack_s up_ackloss_c
     slowread_c slowread_s slowread_nows_c http_c http_loss_s http_loss_c v6_http_c
     reuse_c reuse_s simclose_c rstmid_c rstmid_s keepalive_c tfo_c v6_down_loss_c
     v6_down_loss_s syn_loss_c fin_loss_s reject_mid_s ackloss_down_s ackloss_down_c)
ALL+=("${ALL2[@]}")
[ $# -gt 0 ] && ALL=("$@")
for n in "${ALL[@]}"; do scenario "$n"; done
echo "recorded in $OUT"
