#!/usr/bin/env bash
# Re-record the tcpstate test captures from real Linux TCP traffic.
#
#   sudo bash testdata/record.sh               # everything (~2 min)
#   sudo bash testdata/record.sh NAME...       # only these captures
#   sudo bash testdata/record.sh derive        # only re-derive snaplen54,
#                                              # truncated and variants/
#
# Needs: root, ip (iproute2), nft, tcpdump, dumpcap, tshark, editcap, python3.
# Traffic only flows between two network namespaces created here (tcs_cli,
# tcs_srv) over one veth pair: 10.99.0.1 <-> 10.99.0.2, fd99::1 <-> fd99::2.
# Namespaces are recreated for every capture (fresh state, no leftovers) and
# removed on exit.  The client side (veth_cli in tcs_cli) is where we capture.
#
# The captures are committed; CI never needs to run this.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAP=$HERE/captures
VAR=$HERE/variants
TOOLS=$HERE/tools
PEER=(python3 "$TOOLS/peer.py")
CLI=tcs_cli
SRV=tcs_srv
C4=10.99.0.1 S4=10.99.0.2 C6=fd99::1 S6=fd99::2
CMAC=02:00:00:99:00:01 SMAC=02:00:00:99:00:02
PORT=5555
TMP=$(mktemp -d /tmp/tcs_record.XXXXXX)

log() { printf '\n=== %s\n' "$*" >&2; }
inc() { ip netns exec "$CLI" "$@"; }
ins() { ip netns exec "$SRV" "$@"; }

teardown() {
    local p
    # only our own still-running background jobs
    for p in $(jobs -pr); do kill "$p" 2>/dev/null || true; done
    ip netns del "$CLI" 2>/dev/null || true
    ip netns del "$SRV" 2>/dev/null || true
}
cleanup() { teardown; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# setup: fresh namespaces + veth pair, static neighbours (no ARP/ND in the
# TCP captures), IPv6 addresses without DAD.
setup() {
    teardown
    ip netns add "$CLI"
    ip netns add "$SRV"
    ip link add veth_cli netns "$CLI" type veth peer name veth_srv netns "$SRV"
    inc ip link set lo up
    ins ip link set lo up
    inc ip link set veth_cli address $CMAC
    ins ip link set veth_srv address $SMAC
    # small GSO limit: never a >MTU super-segment in a capture
    inc ip link set veth_cli gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
    ins ip link set veth_srv gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
    inc ip addr add $C4/24 dev veth_cli
    ins ip addr add $S4/24 dev veth_srv
    inc ip addr add $C6/64 dev veth_cli nodad
    ins ip addr add $S6/64 dev veth_srv nodad
    inc ip link set veth_cli up
    ins ip link set veth_srv up
    inc ip neigh replace $S4 lladdr $SMAC dev veth_cli nud permanent
    ins ip neigh replace $C4 lladdr $CMAC dev veth_srv nud permanent
    inc ip -6 neigh replace $S6 lladdr $SMAC dev veth_cli nud permanent
    ins ip -6 neigh replace $C6 lladdr $CMAC dev veth_srv nud permanent
}

# cap_start NS IFACE OUTFILE FILTER [tcpdump args...]
cap_start() {
    local ns=$1 ifc=$2 out=$3 filt=$4
    shift 4
    rm -f "$out"
    ip netns exec "$ns" tcpdump -Z root -U --immediate-mode -n -i "$ifc" -w "$out" "$@" "$filt" 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for_file_line "$TMP/cap.err" "listening on"
    sleep 0.5
}

# dumpcap variant (pcapng)
cap_start_dumpcap() {
    local ns=$1 ifc=$2 out=$3 filt=$4
    rm -f "$out"
    ip netns exec "$ns" dumpcap -i "$ifc" -f "$filt" -w "$out" 2>"$TMP/cap.err" &
    CAP_PID=$!
    wait_for_file_line "$TMP/cap.err" "Capturing on"
    sleep 0.5
}

cap_stop() {
    sleep 1.0
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
    grep -E 'captured|dropped|Packets' "$TMP/cap.err" >&2 || true
}

wait_for_file_line() {
    local f=$1 pat=$2 i
    for i in $(seq 100); do
        grep -q "$pat" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$f" >&2
    echo "timeout waiting for '$pat' in $f" >&2
    return 1
}

# server_start SCEN HOST [PORT]
server_start() {
    local scen=$1 host=$2 port=${3:-$PORT} i
    ins "${PEER[@]}" server "$scen" "$host" "$port" &
    SRV_PID=$!
    for i in $(seq 100); do
        ins ss -Hltn "sport = :$port" | grep -q . && return 0
        sleep 0.05
    done
    echo "server did not start" >&2
    return 1
}

client() { inc "${PEER[@]}" client "$@"; }

nft_drop() { # NS RULE...   (one table per namespace: inet tcs)
    local ns=$1
    shift
    ip netns exec "$ns" nft "add table inet tcs; add chain inet tcs in { type filter hook input priority 0; policy accept; }; add rule inet tcs in $* counter drop"
}
nft_drop_out() { # NS RULE...   (same, output hook: the packet never reaches the tap)
    local ns=$1
    shift
    ip netns exec "$ns" nft "add table inet tcs; add chain inet tcs out { type filter hook output priority 0; policy accept; }; add rule inet tcs out $* counter drop"
}
nft_clear() {
    ip netns exec "$1" nft list table inet tcs >&2 || true
    ip netns exec "$1" nft delete table inet tcs
}

# plain client/server scenario: rec_simple FILE SCEN [SERVERHOST]
rec_simple() {
    local out=$CAP/$1.pcap scen=$2 host=${3:-$S4}
    setup
    cap_start $CLI veth_cli "$out" tcp
    server_start "$scen" "$host"
    client "$scen" "$host" $PORT
    wait "$SRV_PID"
    cap_stop
}

# ----------------------------------------------------------------- checks
tsh() { tshark -n -r "$@" 2>/dev/null; }

# exactly 3 segments from the first FIN on: FA, FA, A
check_three_segment() {
    local f=$1 tail
    tail=$(tsh "$f" -T fields -e tcp.flags.fin -e tcp.flags.ack |
        awk 'seen || $1==1 {seen=1; printf "%s%s ", ($1==1?"F":""), ($2==1?"A":"")}')
    echo "teardown segments: $tail" >&2
    [[ "$tail" == "FA FA A " ]]
}

# both peers send SYN then SYN+ACK; each SYN-ACK acks the other side's ISN
check_simopen() {
    local f=$1 out
    out=$(tsh "$f" -T fields -E separator=, -e ip.src -e tcp.flags.syn -e tcp.flags.ack -e tcp.seq_raw -e tcp.ack_raw)
    echo "$out" >&2
    python3 - "$out" <<'EOF'
import sys
rows = [l.split(",") for l in sys.argv[1].splitlines() if l]
syn = {}; synack = {}
for src, s, a, seq, ack in rows:
    if s == "1" and a == "0":
        syn.setdefault(src, int(seq))
    if s == "1" and a == "1":
        synack.setdefault(src, (int(seq), int(ack)))
hosts = list(syn)
ok = len(syn) == 2 and len(synack) == 2
if ok:
    a, b = hosts
    ok = (synack[a][0] == syn[a] and synack[a][1] == (syn[b] + 1) % 2**32 and
          synack[b][0] == syn[b] and synack[b][1] == (syn[a] + 1) % 2**32)
print("simultaneous open:", "OK" if ok else "NOT OK", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# the two last FINs cross: the first FIN seen from each side does not ack the
# other side's FIN, and the last transmission of each FIN happens before the
# first ACK covering the other FIN
check_simclose() {
    local f=$1 out
    out=$(tsh "$f" -T fields -E separator=, -e ip.src -e tcp.flags.fin -e tcp.seq_raw -e tcp.ack_raw -e tcp.len)
    python3 - "$out" <<'EOF'
import sys
rows = [l.split(",") for l in sys.argv[1].splitlines() if l]
fin = {}
for src, f, seq, ack, ln in rows:
    if f == "1":
        fin.setdefault(src, []).append((int(seq) + int(ln), int(ack)))
ok = len(fin) == 2
if ok:
    a, b = fin
    # every FIN transmission's ACK must not cover the peer's FIN (seq+len+1)
    ok = all(ack != (fin[b][0][0] + 1) % 2**32 for _, ack in fin[a]) and \
         all(ack != (fin[a][0][0] + 1) % 2**32 for _, ack in fin[b])
print("FINs:", fin, file=sys.stderr)
print("simultaneous close:", "OK" if ok else "NOT OK", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

# tshark's TCP analysis: frame, flags, the "[TCP ...]" labels of the Info
# column (tcp.analysis.*: "TCP ZeroWindow", "TCP Retransmission", ...) and the
# expert messages.  check_expert F LABEL... requires each label to appear.
expert() {
    tsh "$1" -o tcp.analyze_sequence_numbers:TRUE -o tcp.desegment_tcp_streams:FALSE \
        -T fields -E separator=/t \
        -e frame.number -e tcp.flags.str -e _ws.col.Info -e _ws.expert.message |
        awk -F'\t' -v OFS='\t' '{
            tags = ""; info = $3
            while (match(info, /\[TCP [^]]*\]/)) {
                tags = tags (tags == "" ? "" : ",") substr(info, RSTART + 1, RLENGTH - 2)
                info = substr(info, RSTART + RLENGTH)
            }
            print $1, $2, tags, $4
        }'
}
check_expert() {
    local f=$1 out m fail=0
    shift
    out=$(expert "$f")
    echo "$out" | awk -F'\t' '$3 != ""' >&2
    for m in "$@"; do
        if ! cut -f3 <<<"$out" | tr ',' '\n' | grep -qE "^$m( |$)"; then
            echo "missing tshark analysis label: $m" >&2
            fail=1
        fi
    done
    return $fail
}
# the flag sequence (summarize.sh notation) must match an extended regex
check_seq() {
    local f=$1 re=$2 seq
    seq=$(bash "$TOOLS/summarize.sh" "$f" | tail -n1 | awk -F' [|] ' '{print $NF}' | sed 's/ |$//')
    echo "flag sequence: $seq" >&2
    [[ $seq =~ $re ]] || { echo "flag sequence does not match /$re/" >&2; return 1; }
}

# retry NAME CHECKFN RECORDFN: record up to 5 times until the check passes
retry() {
    local name=$1 check=$2 rec=$3 i
    for i in 1 2 3 4 5; do
        $rec
        if $check "$CAP/$name.pcap"; then return 0; fi
        echo "$name: check failed (attempt $i), re-recording" >&2
    done
    echo "$name: giving up" >&2
    return 1
}

# ----------------------------------------------------------------- scenarios
rec_graceful_client_close() { rec_simple graceful_client_close graceful_client_close; }
rec_graceful_server_close() { rec_simple graceful_server_close graceful_server_close; }
rec_three_segment_close_once() { rec_simple three_segment_close three_segment_close; }
rec_three_segment_close() { retry three_segment_close check_three_segment rec_three_segment_close_once; }
rec_half_close_data() { rec_simple half_close_data half_close_data; }
rec_rst_abort() { rec_simple rst_abort rst_abort; }
rec_server_rst() { rec_simple server_rst server_rst; }
rec_ipv6() { rec_simple ipv6 graceful_client_close $S6; }

rec_refused() {
    setup
    cap_start $CLI veth_cli "$CAP/refused.pcap" tcp
    client refused $S4 5556   # nothing listens there
    cap_stop
}

rec_syn_unanswered() {
    setup
    # classic exponential SYN backoff (1 s, 2 s, 4 s): newer kernels do the
    # first tcp_syn_linear_timeouts(=4) retransmissions at 1 s intervals
    inc sysctl -qw net.ipv4.tcp_syn_retries=3
    inc sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
    nft_drop $SRV "tcp dport $PORT"
    cap_start $CLI veth_cli "$CAP/syn_unanswered.pcap" tcp
    client syn_unanswered $S4 $PORT   # TCP_SYNCNT=3, gives up after 7.5 s
    cap_stop
    nft_clear $SRV
}

rec_lost_synack() {
    setup
    # drop every SYN-ACK arriving at the client for 1.5 s (tcpdump still sees
    # them: the packet tap runs before the netfilter input hook)
    nft_drop $CLI "tcp sport $PORT tcp flags & (syn|ack) == syn|ack"
    cap_start $CLI veth_cli "$CAP/lost_synack.pcap" tcp
    server_start graceful_client_close $S4
    client lost_synack $S4 $PORT &
    local cpid=$!
    sleep 1.5
    nft_clear $CLI
    wait $cpid
    wait "$SRV_PID"
    cap_stop
}

rec_simultaneous_open_once() {
    setup
    cap_start $CLI veth_cli "$CAP/simultaneous_open.pcap" tcp
    "${PEER[@]}" dual simultaneous_open
    cap_stop
}
rec_simultaneous_open() { retry simultaneous_open check_simopen rec_simultaneous_open_once; }

rec_simultaneous_close_once() {
    setup
    cap_start $CLI veth_cli "$CAP/simultaneous_close.pcap" tcp
    "${PEER[@]}" dual simultaneous_close
    cap_stop
}
rec_simultaneous_close() { retry simultaneous_close check_simclose rec_simultaneous_close_once; }

rec_port_reuse() { rec_simple port_reuse port_reuse; }

rec_mid_connection() {
    setup
    server_start mid_connection $S4
    client mid_connection $S4 $PORT &   # pauses 2.5 s after the first exchange
    local cpid=$!
    sleep 1.0
    cap_start $CLI veth_cli "$CAP/mid_connection.pcap" tcp
    wait $cpid
    wait "$SRV_PID"
    cap_stop
}

rec_still_open() {
    setup
    cap_start $CLI veth_cli "$CAP/still_open.pcap" tcp
    server_start still_open $S4
    client still_open $S4 $PORT &       # keeps the connection open for 3 s
    local cpid=$!
    sleep 1.0
    cap_stop
    wait $cpid
    wait "$SRV_PID"
}

rec_many_retrans() {
    setup
    # The client's data segment (104 bytes payload, IP length 156) is dropped
    # at the server's input hook for 5.5 s.  With rto_min 10 ms and rto_max 1 s
    # (client netns sysctls) the client retransmits it 11 times in that window
    # (exponential backoff from ~20 ms, capped at 1 s); the 12th gets through.
    inc sysctl -qw net.ipv4.tcp_rto_min_us=10000
    inc sysctl -qw net.ipv4.tcp_rto_max_ms=1000
    nft_drop $SRV "tcp dport $PORT ip length > 120"
    cap_start $CLI veth_cli "$CAP/many_retrans.pcap" tcp
    server_start many_retrans $S4
    client many_retrans $S4 $PORT &
    local cpid=$!
    sleep 5.5
    nft_clear $SRV
    wait $cpid
    wait "$SRV_PID"
    cap_stop
}

rec_pcapng_graceful() {
    setup
    cap_start_dumpcap $CLI veth_cli "$CAP/pcapng_graceful.pcapng" tcp
    server_start graceful_client_close $S4
    client graceful_client_close $S4 $PORT
    wait "$SRV_PID"
    cap_stop
}

rec_sll2_any() {
    setup
    cap_start $CLI any "$CAP/sll2_any.pcap" tcp -y LINUX_SLL2
    server_start graceful_client_close $S4
    client graceful_client_close $S4 $PORT
    wait "$SRV_PID"
    cap_stop
}

# VLAN: this kernel has no 8021q link type, so the tags are pushed/popped by
# tiny eBPF programs on the veths' tcx egress/ingress hooks (tools/vlantag.py,
# bpf_skb_vlan_push/pop); the frames on the veth carry real tags.
rec_vlan() { # FILE FILTER SUBNET TAG...
    local out=$CAP/$1.pcap filt=$2 net=$3
    shift 3
    setup
    inc ip addr add $net.1/24 dev veth_cli
    ins ip addr add $net.2/24 dev veth_srv
    inc ip neigh replace $net.2 lladdr $SMAC dev veth_cli nud permanent
    ins ip neigh replace $net.1 lladdr $CMAC dev veth_srv nud permanent
    inc python3 "$TOOLS/vlantag.py" veth_cli "$@"
    ins python3 "$TOOLS/vlantag.py" veth_srv "$@"
    cap_start $CLI veth_cli "$out" "$filt"
    server_start graceful_client_close $net.2
    client graceful_client_close $net.2 $PORT
    wait "$SRV_PID"
    cap_stop
}
rec_vlan_8021q() { rec_vlan vlan_8021q "vlan 10 and tcp" 10.98.0 0x8100:10; }
rec_vlan_qinq() { rec_vlan vlan_qinq "vlan 100 and vlan 20 and tcp" 10.97.0 0x8100:20 0x88a8:100; }

rec_mixed_nontcp() {
    setup
    # let the client ARP for the server this time
    inc ip neigh del $S4 dev veth_cli
    cap_start $CLI veth_cli "$CAP/mixed_nontcp.pcap" "ip or arp"
    inc "${PEER[@]}" icmp $S4 56            # ARP + echo request/reply
    server_start graceful_client_close $S4
    client graceful_client_close $S4 $PORT
    wait "$SRV_PID"
    inc "${PEER[@]}" udp $S4 9 3000          # 3 IPv4 fragments + ICMP port unreachable
    inc "${PEER[@]}" icmp $S4 3000          # fragmented echo request and reply
    cap_stop
}

# ------------------------------------------------- anomaly scenarios (real)
rec_zero_window_once() {
    setup
    # no tail loss probes from the sender: the receiver delays its ACKs by
    # 40 ms, longer than the ~10 ms probe timeout on a veth, which would put a
    # (spurious) TLP retransmission into the capture
    ins sysctl -qw net.ipv4.tcp_early_retrans=0
    cap_start $CLI veth_cli "$CAP/zero_window.pcap" tcp
    server_start zero_window $S4
    client zero_window $S4 $PORT   # rcvbuf 2048, reads only after 1.5 s
    wait "$SRV_PID"
    cap_stop
}
check_zero_window() {
    check_expert "$1" "TCP ZeroWindow" "TCP Window Full" "TCP Window Update" "TCP Keep-Alive" &&
        ! expert "$1" | cut -f3 | grep -q Retransmission
}
rec_zero_window() { retry zero_window check_zero_window rec_zero_window_once; }

rec_keepalive_once() { rec_simple keepalive keepalive; }
check_keepalive() {
    check_expert "$1" "TCP Keep-Alive" "TCP Keep-Alive ACK" &&
        [[ $(expert "$1" | cut -f3 | tr ',' '\n' | grep -cx "TCP Keep-Alive") == 3 ]]
}
rec_keepalive() { retry keepalive check_keepalive rec_keepalive_once; }

rec_lost_segment_once() {
    setup
    # The client writes 6 MSS-sized segments at once ("aaa..." to "fff...").
    # The first transmission of the 3rd one ("ccc...") must be lost *after*
    # the client's TCP considers it sent and *before* tcpdump sees it. A drop
    # in the output hook does not do that: the kernel reports the drop to TCP
    # (-EPERM), which keeps the segment unsent and sends it later, in order.
    # Instead, a route-type output chain marks that one packet (payload
    # starting with "cccc"; "quota until 1501 bytes" matches the first
    # 1500-byte packet only) and a policy route sends marked packets into a
    # second, otherwise unused veth pair (veth_blk0 -> veth_blk1, both in
    # tcs_cli). veth_blk1 receives it with a foreign destination MAC and
    # discards it. The transmission succeeded, so TCP sees a real loss, and
    # tcpdump on veth_cli never sees that transmission.
    inc ip link add veth_blk0 type veth peer name veth_blk1
    inc ip link set veth_blk0 up
    inc ip link set veth_blk1 up
    inc ip neigh replace $S4 lladdr 02:00:00:99:00:99 dev veth_blk0 nud permanent
    inc ip rule add fwmark 0x99 table 99
    inc ip route add $S4/32 dev veth_blk0 table 99
    inc nft "add table inet tcs; add chain inet tcs out { type route hook output priority 0; policy accept; }; add rule inet tcs out tcp dport $PORT @ih,0,32 0x63636363 quota until 1501 bytes meta mark set 0x99 counter"
    cap_start $CLI veth_cli "$CAP/lost_segment.pcap" tcp
    server_start lost_segment $S4
    client lost_segment $S4 $PORT
    wait "$SRV_PID"
    cap_stop
    nft_clear $CLI
    inc ip -s link show veth_blk1 >&2
}
check_lost_segment() {
    check_expert "$1" "TCP Previous segment not captured" "TCP Dup ACK" "TCP Fast Retransmission" &&
        [[ $(tsh "$1" -Y 'tcp.seq == 2897 && tcp.len == 1448' | wc -l) == 1 ]]
}
rec_lost_segment() { retry lost_segment check_lost_segment rec_lost_segment_once; }

rec_retransmission_once() {
    setup
    # the request (26 bytes => IP length 78) is captured on its way out and
    # dropped once at the server's input hook; the client retransmits it
    nft_drop $SRV "tcp dport $PORT ip length 78 quota until 79 bytes"
    cap_start $CLI veth_cli "$CAP/retransmission.pcap" tcp
    server_start retransmission $S4
    client retransmission $S4 $PORT
    wait "$SRV_PID"
    cap_stop
    nft_clear $SRV
}
check_retransmission() {
    check_expert "$1" "TCP Retransmission" && check_seq "$1" '^>S <SA >A >PA\*2 <A <PA >A >FA <A <FA >A$'
}
rec_retransmission() { retry retransmission check_retransmission rec_retransmission_once; }

rec_handshake_no_final_ack_once() {
    setup
    # every client segment except the bare SYN dies in the client's output
    # hook: the handshake's ACK (and everything after it) is never seen
    nft_drop_out $CLI "tcp dport $PORT tcp flags != syn"
    cap_start $CLI veth_cli "$CAP/handshake_no_final_ack.pcap" tcp
    server_start handshake_no_final_ack $S4   # listens 4.5 s, never accepts
    client handshake_no_final_ack $S4 $PORT   # connect, idle 3.5 s, RST
    wait "$SRV_PID"
    cap_stop
    nft_clear $CLI
}
check_handshake_no_final_ack() { check_seq "$1" '^>S <SA\*3$'; }
rec_handshake_no_final_ack() { retry handshake_no_final_ack check_handshake_no_final_ack rec_handshake_no_final_ack_once; }

rec_final_ack_missing_once() {
    setup
    # peer.py itself adds an output-hook rule in tcs_cli dropping the
    # client's bare ACKs right before it closes (see cli_final_ack_missing)
    cap_start $CLI veth_cli "$CAP/final_ack_missing.pcap" tcp
    server_start final_ack_missing $S4
    client final_ack_missing $S4 $PORT
    wait "$SRV_PID"
    sleep 1.0    # + 1 s in cap_stop: server FIN retransmissions at ~0.2, 0.6, 1.4 s
    cap_stop
    inc nft list table inet tcs_out >&2 || true
}
check_final_ack_missing() {
    check_expert "$1" "TCP Retransmission" && check_seq "$1" '^>S <SA >A >PA <A <PA >A >FA <A <FA\*5$'
}
rec_final_ack_missing() { retry final_ack_missing check_final_ack_missing rec_final_ack_missing_once; }

rec_rst_while_closing_once() { rec_simple rst_while_closing rst_while_closing; }
check_rst_while_closing() { check_seq "$1" '^>S <SA >A >PA <A <PA >A >PA <A >FA <A <RA$'; }
rec_rst_while_closing() { retry rst_while_closing check_rst_while_closing rec_rst_while_closing_once; }

rec_half_open_end_once() {
    setup
    cap_start $CLI veth_cli "$CAP/half_open_end.pcap" tcp
    server_start half_open_end $S4
    client half_open_end $S4 $PORT &    # server stays in CLOSE-WAIT for 3 s
    local cpid=$!
    sleep 1.0
    cap_stop
    wait $cpid
    wait "$SRV_PID"
}

check_half_open_end() { check_seq "$1" '^>S <SA >A >PA <A >FA <PA >A$'; }
rec_half_open_end() { retry half_open_end check_half_open_end rec_half_open_end_once; }

rec_tfo_syn_data_once() {
    setup
    inc sysctl -qw net.ipv4.tcp_fastopen=3
    ins sysctl -qw net.ipv4.tcp_fastopen=3
    cap_start $CLI veth_cli "$CAP/tfo_syn_data.pcap" tcp
    server_start tfo_syn_data $S4
    client tfo_syn_data $S4 $PORT
    wait "$SRV_PID"
    cap_stop
}
check_tfo_syn_data() {
    # the second connection's SYN carries the request
    [[ $(tsh "$1" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.len == 26' | wc -l) == 1 ]]
}
rec_tfo_syn_data() { retry tfo_syn_data check_tfo_syn_data rec_tfo_syn_data_once; }

# ----------------------------------------------------------------- derived
derive() {
    local g=$CAP/graceful_client_close.pcap
    log "derived files"
    # editcap (default output is pcapng, hence -F pcap) truncates every record
    # to 54 bytes (Ethernet 14 + IPv4 20 + TCP 20: TCP options cut off) and
    # writes 54 as the header snaplen, like `tcpdump -s 54` would.
    editcap -F pcap -s 54 "$g" "$CAP/snaplen54.pcap"
    # truncated.pcap: cut in the middle of frame 6's packet data
    local cut
    cut=$(python3 - "$g" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 24
for n in range(1, 7):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    if n == 6:
        print(off + 16 + incl // 2, n, off, incl)
        break
    off += 16 + incl
EOF
)
    read -r bytes frame recoff incl <<<"$cut"
    head -c "$bytes" "$g" >"$CAP/truncated.pcap"
    echo "truncated.pcap: first $bytes bytes of graceful_client_close.pcap; frame $frame record header at offset $recoff, caplen $incl, cut after $((incl / 2)) of its $incl data bytes" >&2

    mkdir -p "$VAR"
    local R=(python3 "$TOOLS/relink.py" "$g")
    "${R[@]}" "$VAR/gcc_nsec.pcap" --link eth --format pcap-ns
    "${R[@]}" "$VAR/gcc_be.pcap" --link eth --format pcap-be
    "${R[@]}" "$VAR/gcc.pcapng" --link eth --format pcapng
    "${R[@]}" "$VAR/gcc_multi.pcapng" --link eth --format pcapng-multi
    "${R[@]}" "$VAR/gcc_raw.pcap" --link raw
    "${R[@]}" "$VAR/gcc_raw12.pcap" --link raw12
    "${R[@]}" "$VAR/gcc_ipv4.pcap" --link ipv4
    "${R[@]}" "$VAR/gcc_null.pcap" --link null
    "${R[@]}" "$VAR/gcc_loop.pcap" --link loop
    "${R[@]}" "$VAR/gcc_sll.pcap" --link sll
    "${R[@]}" "$VAR/gcc_sll2.pcap" --link sll2
    "${R[@]}" "$VAR/gcc_vlan.pcap" --link vlan
    "${R[@]}" "$VAR/gcc_qinq.pcap" --link qinq
    python3 "$TOOLS/relink.py" "$CAP/ipv6.pcap" "$VAR/ipv6_raw.pcap" --link ipv6

    # every variant must decode to the same TCP fields as its source
    local v src fail=0
    for v in "$VAR"/*; do
        src=$g
        [[ $v == */ipv6_* ]] && src=$CAP/ipv6.pcap
        if diff <(tcpfields "$src") <(tcpfields "$v") >/dev/null; then
            echo "ok   $(basename "$v")" >&2
        else
            echo "DIFF $(basename "$v")" >&2
            fail=1
        fi
    done
    return $fail
}
tcpfields() {
    tshark -n -r "$1" -T fields -e frame.number -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags.str -e tcp.len -e frame.time_epoch 2>/dev/null
}

ALL=(graceful_client_close graceful_server_close three_segment_close
    half_close_data refused rst_abort server_rst syn_unanswered lost_synack
    simultaneous_open simultaneous_close port_reuse mid_connection still_open
    ipv6 pcapng_graceful sll2_any vlan_8021q vlan_qinq mixed_nontcp many_retrans
    zero_window keepalive lost_segment retransmission handshake_no_final_ack
    final_ack_missing rst_while_closing half_open_end tfo_syn_data)

main() {
    [[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
    mkdir -p "$CAP" "$VAR"
    local todo=("$@") t
    [[ ${#todo[@]} -gt 0 ]] || todo=("${ALL[@]}" derive)
    for t in "${todo[@]}"; do
        if [[ $t == derive ]]; then
            derive
        else
            log "$t"
            "rec_$t"
        fi
    done
    teardown
    log "done"
}

[[ -n "${TCS_NOMAIN:-}" ]] || main "$@"
