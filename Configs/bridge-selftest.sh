#!/usr/bin/env bash
# bridge-selftest.sh: check on loopback that a socat UDP bridge survives what mptunnel
# puts it through. Everything runs on 127.0.0.1; every process this script starts is
# stopped by PID on exit (and by a watchdog if the script itself is killed).
#
#   Configs/bridge-selftest.sh              test the recommended bridge (mptunnel-bridge@.service)
#   Configs/bridge-selftest.sh --original   test the original README bridge, for comparison
#
# Environment: SELFTEST_PORT (first of the ports used, default 42000; it uses PORT..PORT+40),
# SELFTEST_IDLE (socat -T for the test, default 3 s; the unit uses 60 s),
# SELFTEST_MAX (watchdog, default 180 s). Needs socat and python3.
# Exit status: the number of failed properties (0: all PASS).

set -u

mode=recommended
case "${1:-}" in
    --original) mode=original ;;
    "") ;;
    *) echo "usage: $0 [--original]" >&2; exit 2 ;;
esac

base=${SELFTEST_PORT:-42000}
idle=${SELFTEST_IDLE:-3}
max=${SELFTEST_MAX:-180}
server_port=$base
bridge_port=$((base + 1))
next_client=$((base + 10))

for tool in socat python3 ss; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 99; }
done
if ss -Huan | awk -v lo="$base" -v hi="$((base + 40))" \
    '{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) busy = 1 } END { exit !busy }'; then
    echo "FAIL: a UDP port in $base..$((base + 40)) is busy; set SELFTEST_PORT" >&2
    exit 99
fi

work=$(mktemp -d /tmp/bridge-selftest.XXXXXX)
log=$work/socat.log
server_pid=
socat_pid=
watchdog_pid=
helper_pids=()

# The bridge under test. Identical to mptunnel-bridge@.service except bind=127.0.0.1
# (the unit listens on every interface), -d -d (to count forks in the log) and -T
# (the unit uses 60 s; SELFTEST_IDLE=60 tests exactly that, at the cost of a minute).
bridge_command() {
    if [ "$mode" = original ]; then
        echo socat -d -d "udp-listen:$bridge_port,bind=127.0.0.1" "udp4:127.0.0.1:$server_port"
    else
        echo socat -d -d -b 65536 -T "$idle" \
            "udp4-listen:$bridge_port,bind=127.0.0.1,reuseaddr,fork,max-children=64" \
            "udp4-sendto:127.0.0.1:$server_port"
    fi
}

socat_children() {
    [ -n "$socat_pid" ] && ps -o pid= --ppid "$socat_pid" 2>/dev/null | tr -d ' '
}

stop_pid() {
    [ -n "${1:-}" ] && kill "$1" 2>/dev/null
}

stop_bridge() {
    # Children first: a fork child outlives its parent and keeps its connected socket on
    # the listen port, so it would go on capturing its client's datagrams.
    local child
    for child in $(socat_children); do stop_pid "$child"; done
    stop_pid "$socat_pid"
    [ -n "$socat_pid" ] && wait "$socat_pid" 2>/dev/null
    socat_pid=
}

cleanup() {
    local pid
    stop_bridge
    stop_pid "$server_pid"
    for pid in "${helper_pids[@]}"; do stop_pid "$pid"; done
    stop_pid "$watchdog_pid"
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/udp.py" <<'PY'
"""Loopback UDP helpers (127.0.0.1 only; every loop is bounded).
echo PORT LIFETIME | probe SRC DST COUNT SIZE RATE WAIT TAG | until SRC DST SECONDS | sink PORT SECONDS"""
import socket, sys, time

HOST, MAXDGRAM = "127.0.0.1", 65535

def sock(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((HOST, port))
    return s

def payload(tag, i, size):
    head = b"%s:%d:" % (tag.encode(), i)
    pattern = bytes((i * 7 + k) & 0xFF for k in range(256))
    return head + (pattern * (size // 256 + 1))[: size - len(head)]

def echo(port, lifetime):
    s = sock(port)
    s.settimeout(0.2)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        try:
            data, addr = s.recvfrom(MAXDGRAM)
            s.sendto(data, addr)
        except OSError:
            pass

def probe(src, dst, count, size, rate, wait, tag):
    """Send COUNT datagrams at RATE/s; count intact echoes of our own (ok) and anything
    else (bad: truncated, corrupted, or someone else's)."""
    s = sock(src)
    s.setblocking(False)
    expected, ok, bad = {}, 0, 0
    def drain():
        nonlocal ok, bad
        for _ in range(100000):
            try:
                data, _ = s.recvfrom(MAXDGRAM)
            except OSError:
                return
            f = data.split(b":", 2)
            i = int(f[1]) if len(f) == 3 and f[0] == tag.encode() and f[1].isdigit() else -1
            if expected.pop(i, None) == data:
                ok += 1
            else:
                bad += 1
    start = time.monotonic()
    for i in range(count):
        expected[i] = data = payload(tag, i, size)
        due = start + i / rate
        while True:
            drain()
            now = time.monotonic()
            if now >= due:
                break
            time.sleep(min(due - now, 0.001))
        try:
            s.sendto(data, (HOST, dst))
        except OSError:
            pass
    deadline = time.monotonic() + wait
    while expected and time.monotonic() < deadline:
        drain()
        time.sleep(0.005)
    drain()
    print("sent=%d ok=%d bad=%d" % (count, ok, bad))

def until(src, dst, seconds):
    s = sock(src)
    s.settimeout(0.05)
    start, i = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        try:
            s.sendto(payload("heal", i, 64), (HOST, dst))
            if s.recvfrom(MAXDGRAM)[0].startswith(b"heal:"):
                print("%.2fs" % (time.monotonic() - start))
                return
        except OSError:
            pass
        i += 1
    print("never")

def sink(port, seconds):
    s = sock(port)
    s.settimeout(0.1)
    got, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            s.recvfrom(MAXDGRAM)
            got += 1
        except OSError:
            pass
    print("got=%d" % got)

m, a = sys.argv[1], sys.argv[2:]
if m == "echo": echo(int(a[0]), float(a[1]))
elif m == "probe": probe(int(a[0]), int(a[1]), int(a[2]), int(a[3]), float(a[4]), float(a[5]), a[6])
elif m == "until": until(int(a[0]), int(a[1]), float(a[2]))
elif m == "sink": sink(int(a[0]), float(a[1]))
PY

udp() { timeout 30 python3 "$work/udp.py" "$@"; }

start_server() {
    python3 "$work/udp.py" echo "$server_port" "$max" &
    server_pid=$!
    sleep 0.3
}

stop_server() {
    stop_pid "$server_pid"
    wait "$server_pid" 2>/dev/null
    server_pid=
}

start_bridge() {
    # shellcheck disable=SC2046 # word splitting of the command is intended
    $(bridge_command) 2>>"$log" &
    socat_pid=$!
    sleep 0.3
}

# The recommended bridge is started once and must serve every test. The original one dies
# or stays pinned to its first client, so it gets a fresh process for each property, so that
# each FAIL is about that property alone.
ensure_bridge() {
    if [ "$mode" = original ]; then
        stop_bridge
        start_bridge
    elif [ -z "$socat_pid" ] || ! kill -0 "$socat_pid" 2>/dev/null; then
        [ -n "$socat_pid" ] && echo "      (bridge died; started a new one for this test)"
        stop_bridge
        start_bridge
    fi
}

# Sets $port to a fresh client port (no subshell, so the counter advances).
new_client_port() { next_client=$((next_client + 1)); port=$next_client; }
forks() { grep -c 'forked off child' "$log"; }
alive() { kill -0 "$socat_pid" 2>/dev/null; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }

failures=0
verdict() { # NAME OK(0/1) DETAIL
    if [ "$2" = 0 ]; then printf 'PASS  %-22s %s\n' "$1" "$3"
    else printf 'FAIL  %-22s %s\n' "$1" "$3"; failures=$((failures + 1)); fi
}
all_ok() { # RESULT COUNT: all echoed intact, nothing foreign
    [ "$(field ok "$1")" = "$2" ] && [ "$(field bad "$1")" = 0 ]
}

# Watchdog: if this script is killed hard, still stop what it started, by PID.
(
    sleep "$max" &
    sleeper=$!
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    wait "$sleeper"
    echo "bridge-selftest: watchdog fired after ${max}s" >&2
    kill -TERM $$ 2>/dev/null
) &
watchdog_pid=$!

echo "bridge under test: $(bridge_command)"
echo "server: python3 UDP echo on 127.0.0.1:$server_port; bridge on 127.0.0.1:$bridge_port"
start_server
start_bridge

# 1. Datagrams flow both ways.
ensure_bridge
new_client_port
r=$(udp probe "$port" "$bridge_port" 20 100 200 1 basic)
all_ok "$r" 20; verdict forward $? "$r"

# 2. Server restart: traffic during the outage draws ICMP port unreachable.
ensure_bridge
pid_before=$socat_pid
new_client_port
r1=$(udp probe "$port" "$bridge_port" 10 100 200 1 pre)
stop_server
forks_before=$(forks)
r_down=$(udp probe "$port" "$bridge_port" 10 100 20 0.3 down)
sleep 1
start_server
healed=$(udp until "$port" "$bridge_port" 3)
r2=$(udp probe "$port" "$bridge_port" 20 100 200 1 post)
outage_forks=$(( $(forks) - forks_before ))
ok=1
all_ok "$r1" 10 && alive && [ "$socat_pid" = "$pid_before" ] && [ "$healed" != never ] \
    && all_ok "$r2" 20 && [ "$outage_forks" -le 2 ] && ok=0
verdict server-restart $ok \
    "same socat=$(alive && echo yes || echo no) healed_after=${healed} after: $r2 forks=$outage_forks"

# 3. Client restart with a new source port: the new client gets its replies, the old
#    port (held open here to catch strays) gets none.
ensure_bridge
pid_before=$socat_pid
new_client_port; old=$port
new_client_port; new=$port
r1=$(udp probe "$old" "$bridge_port" 20 100 200 1 old)
python3 "$work/udp.py" sink "$old" 2 >"$work/sink" &
sink_pid=$!
helper_pids+=("$sink_pid")
sleep 0.2
r2=$(udp probe "$new" "$bridge_port" 50 100 200 1 new)
wait "$sink_pid" 2>/dev/null
stray=$(field got "$(cat "$work/sink")")
ok=1
all_ok "$r1" 20 && all_ok "$r2" 50 && [ "$stray" = 0 ] && alive && [ "$socat_pid" = "$pid_before" ] && ok=0
verdict client-restart $ok "new client: $r2; old port received ${stray:-?}; same socat=$(alive && echo yes || echo no)"

# 4. Several clients at once, no cross-talk.
ensure_bridge
pids=()
for c in 1 2 3 4; do
    new_client_port
    udp probe "$port" "$bridge_port" 200 500 200 2 "c$c" >"$work/multi.$c" &
    pids+=("$!")
done
helper_pids+=("${pids[@]}")
wait "${pids[@]}" 2>/dev/null
ok=0; detail=
for c in 1 2 3 4; do
    r=$(cat "$work/multi.$c")
    all_ok "$r" 200 || ok=1
    detail="$detail c$c:ok=$(field ok "$r")/bad=$(field bad "$r")"
done
verdict several-clients $ok "${detail# }"

# 5. Large datagrams, up to 65,507 bytes (the largest IPv4 UDP payload, and mptunnel's
#    largest frame); the largest comes first, as the datagram that creates the fork child.
ensure_bridge
new_client_port
ok=0; detail=
for size in 65507 65459 16384 8193 8192 1472; do
    r=$(udp probe "$port" "$bridge_port" 5 "$size" 100 1 "big$size")
    all_ok "$r" 5 || ok=1
    detail="$detail $size:$(field ok "$r")/5"
    [ "$(field bad "$r")" = 0 ] || detail="$detail(truncated/bad $(field bad "$r"))"
done
verdict large-datagrams $ok "intact:${detail}"

# 6. Rate: one child per client address, not one fork per datagram.
ensure_bridge
ok=0; detail=
new_client_port
rcvbuf_errors() { awk '/^Udp:/ { getline; print $6; exit }' /proc/net/snmp; }
drops_before=$(rcvbuf_errors)
for rate in 1000 5000; do
    count=$((rate * 2))
    forks_before=$(forks)
    r=$(udp probe "$port" "$bridge_port" "$count" 1000 "$rate" 2 "rate$rate")
    n=$(( $(forks) - forks_before ))
    got=$(field ok "$r")
    # Allow 5% loss (a busy machine overflows socket buffers; the kernel's count is printed),
    # and 2 forks: a burst at a client's first datagram can race the child's connect() and
    # make a second child for the same address.
    [ "${got:-0}" -ge $((count * 95 / 100)) ] && [ "$(field bad "$r")" = 0 ] && [ "$n" -le 2 ] || ok=1
    detail="$detail ${rate}/s: $got/$count echoed, forks=$n;"
done
cpu=0
for pid in "$socat_pid" $(socat_children); do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)
    cpu=$((cpu + ${t:-0}))
done
detail="$detail kernel UDP receive-buffer drops: $(( $(rcvbuf_errors) - drops_before ));"
verdict rate-and-forks $ok "${detail# } socat cpu so far $((cpu * 1000 / $(getconf CLK_TCK))) ms (with -d -d)"

# 7. Idle children are reaped (-T), the parent stays and serves new clients.
ensure_bridge
before=$(socat_children | wc -l)
if [ "$mode" = original ]; then wait_s=2; else wait_s=$((idle + 2)); fi
sleep "$wait_s"
after=$(socat_children | wc -l)
new_client_port
r=$(udp probe "$port" "$bridge_port" 5 100 100 1 reaped)
ok=1
[ "$mode" = recommended ] && [ "$after" = 0 ] && alive && all_ok "$r" 5 && ok=0
if [ "$mode" = original ]; then
    verdict idle-children-reaped $ok "no fork and no -T: the first client's mapping never expires"
else
    verdict idle-children-reaped $ok "children $before -> $after after ${wait_s}s idle; then: $r"
fi

[ "$mode" = recommended ] && echo "one socat process (pid $socat_pid) served every test above"
echo "$failures failed"
exit "$failures"
