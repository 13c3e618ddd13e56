#!/usr/bin/env bash
# Records the --merge test captures (testdata/merge/) from real Linux TCP
# traffic, then splits them as a rotation and as two taps would:
#
#   sudo bash testdata/tools/record-merge.sh     # writes testdata/merge/*
#
# Two namespaces (tcm_cli 10.99.0.1, tcm_srv 10.99.0.2) joined by one veth
# pair; tcpdump captures veth_cli. The client opens a connection, sends 8
# requests of 100 bytes 100 ms apart (the server answers each with 200
# bytes) and closes; 350 ms after it started, a second client connects,
# sends one request and closes, so the two connections interleave.
#
#   whole.pcap           the recording, untouched (the reference)
#   rot0.pcap rot1.pcap  `editcap -c 24`: what `tcpdump -C`/`-G` rotation
#                        leaves, the first connection cut in the middle
#   tap_c.pcap           `tcpdump -r whole.pcap 'src host 10.99.0.1'`: a tap
#                        that sees only what the client sends
#   tap_s.pcapng         the other direction (`src host 10.99.0.2`), turned
#                        into pcapng with Linux cooked (SLL) frames by
#                        relink.py: a second tap of another kind
#
# Needs: root, ip (iproute2), tcpdump, editcap, python3.
set -euo pipefail
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$TOOLS/../merge
TMP=$(mktemp -d /tmp/tcm_record.XXXXXX)
CLI=tcm_cli SRV=tcm_srv C=10.99.0.1 S=10.99.0.2 PORT=5555

NS=("$CLI" "$SRV")
. "$TOOLS/netns-lib.sh"

teardown
ip netns add $CLI
ip netns add $SRV
ip link add veth_cli netns $CLI type veth peer name veth_srv netns $SRV
ip -n $CLI link set lo up
ip -n $SRV link set lo up
ip -n $CLI link set veth_cli address 02:00:00:99:00:01
ip -n $SRV link set veth_srv address 02:00:00:99:00:02
ip -n $CLI link set veth_cli gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
ip -n $SRV link set veth_srv gso_max_size 1500 gro_max_size 1500 2>/dev/null || true
ip -n $CLI addr add $C/24 dev veth_cli
ip -n $SRV addr add $S/24 dev veth_srv
ip -n $CLI link set veth_cli up
ip -n $SRV link set veth_srv up
ip -n $CLI neigh replace $S lladdr 02:00:00:99:00:02 dev veth_cli nud permanent
ip -n $SRV neigh replace $C lladdr 02:00:00:99:00:01 dev veth_srv nud permanent

cat >"$TMP/peer.py" <<'PY'
import socket, sys, threading, time
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            break
        b += d
    return b
if role == "server":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port))
    l.listen(8)
    print("listening", flush=True)
    def serve(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            req = recv_exact(c, 100)
            if len(req) < 100:
                break
            c.sendall(b"r" * 200)
        c.close()
    for _ in range(2):
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,)).start()
else:
    def talk(requests, start):
        time.sleep(start)
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(requests):
            s.sendall(b"q" * 100)
            recv_exact(s, 200)
            time.sleep(0.1)
        s.close()
    t = [threading.Thread(target=talk, args=a) for a in ((8, 0.0), (1, 0.35))]
    for x in t: x.start()
    for x in t: x.join()
PY

ip netns exec $CLI tcpdump -Z root -U --immediate-mode -n -i veth_cli -w "$TMP/whole.pcap" tcp 2>"$TMP/cap.err" &
CAP=$!
wait_for "$TMP/cap.err" "listening on"
sleep 0.5
ip netns exec $SRV python3 "$TMP/peer.py" server $S $PORT >"$TMP/srv.out" &
SRVPID=$!
wait_for "$TMP/srv.out" listening
ip netns exec $CLI python3 "$TMP/peer.py" client $S $PORT
wait $SRVPID || true
sleep 1
kill -INT $CAP
wait $CAP || true

mkdir -p "$OUT"
cp "$TMP/whole.pcap" "$OUT/whole.pcap"
rm -f "$OUT"/rot*.pcap
editcap -F pcap -c 24 "$TMP/whole.pcap" "$TMP/rot.pcap"
i=0
for f in $(ls "$TMP"/rot_*.pcap | sort); do
    cp "$f" "$OUT/rot$i.pcap"
    i=$((i + 1))
done
tcpdump -r "$TMP/whole.pcap" -w "$OUT/tap_c.pcap" "src host $C" 2>/dev/null
tcpdump -r "$TMP/whole.pcap" -w "$TMP/tap_s.pcap" "src host $S" 2>/dev/null
python3 "$TOOLS/relink.py" "$TMP/tap_s.pcap" "$OUT/tap_s.pcapng" --link sll --format pcapng
ls -l "$OUT"
