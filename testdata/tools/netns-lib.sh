# What the recording scripts (record-*.sh) share, sourced by each after it
# has set
#   NS=(names …)   the network namespaces it makes: deleted on exit and by
#                  `teardown`, so that a run leaves none behind;
#   TMP=DIR        its scratch directory: removed on exit;
# and optionally NETNS_KILL=SIGNAL, the signal its background jobs (tcpdump,
# peers) get at teardown (default TERM).
#
# Gives: teardown (kills the jobs, deletes the namespaces), the EXIT/INT/TERM
# traps, and wait_for FILE PATTERN (waits up to 5 s for PATTERN in FILE, a
# peer's "listening" line for example; prints FILE and fails otherwise).

teardown() {
    local p n
    for p in $(jobs -pr); do kill -"${NETNS_KILL:-TERM}" "$p" 2>/dev/null || true; done
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
cleanup() { teardown; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # FILE PATTERN
    local i
    for i in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$1" >&2
    return 1
}
