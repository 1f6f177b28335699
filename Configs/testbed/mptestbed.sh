#!/usr/bin/env bash
# mptestbed.sh: the tunnel on real links, with a real VPN over it, measured as a user would.
#
# As root. Makes a client and a server network namespace joined by N paths, each through a
# namespace of its own holding an `mplab relay` (loss, one-way delay and rate per
# direction); runs mpserver and mpclient there, WireGuard (wireguard-go) or OpenVPN over the
# tunnel, and iperf3 and ping through the VPN; prints a table, one row per case. Every
# process it starts is stopped by PID and every namespace it made is deleted, on success,
# failure or Ctrl-C.
#
#   client ns                 path k ns (k = 1..N)                  server ns
#   wg 10.9.0.2 -> mpclient   10.77.k.2:4000 mplab relay 10.78.k.2  mpserver :2000 -> wg :51820
#      127.0.0.1:3000 -> 10.77.k.1 ===================== 10.78.k.1     10.9.0.1 (iperf3 -s)
#
# Addresses are those of the namespaces it makes (10.77/16, 10.78/16, 10.9.0/24), never the
# host's. Run with --help for the flags; Configs/README.md describes the cases and columns.
set -uo pipefail
# ip and modprobe live in sbin, which a test runner's or sudo's PATH may leave out.
PATH="$PATH:/usr/sbin:/sbin"

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"

# ---- defaults (the figures of issue 13) -----------------------------------------------------
PATHS=3
DELAYS="5,15,30"        # one-way delay per path, ms (both directions unless --up/--down-delays)
UP_DELAYS=""
DOWN_DELAYS=""
LOSS="0"                # percent per direction, one value or one per path
UP_LOSS=""
DOWN_LOSS=""
RATE=0                  # per direction per path: datagrams/s, or a line's bits/s (20mbit); 0: unlimited
CASES="reference,keyless-duplicate,keyed-duplicate,keyless-balance,keyed-balance"
TESTS="tcp,ping,udp"
CONGESTION="cubic,bbr"
TCP_SECONDS=10
PING_SECONDS=10
UDP_SECONDS=20
UDP_RATE="10M"          # iperf3 -b
UDP_LENGTH=1200         # iperf3 -l: below the 1,364 bytes WireGuard's MTU leaves a UDP payload
REORDER_WINDOW=""       # both daemons' reorder-window; empty: their default (off)
CLIENT_LINES=()         # more lines for mpclient.conf (--client-line)
RESTART_SECONDS=8       # the TCP stream of the restart test: killed 3 s in, restarted 1 s later
PING_INTERVAL=0.02
HANDSHAKES=1            # starts per case whose first WireGuard handshake is timed
HANDSHAKE_TIMEOUT=20    # s; WireGuard retries a lost handshake every 5 s
VPN=wireguard
WG_MTU=1392             # README "MTU": 1,424 bytes of payload per frame on IPv4 paths, less 32
OVPN_MTU=1400           # README "MTU": OpenVPN's tun-mtu 1400 keeps its datagrams within 1,424
BIN_DIR="$REPO_DIR/.build/release"
JSON=0
KEEP=0
TIMEOUT=0               # whole run, s; 0: computed from the cases
SEED=1

usage() {
    cat <<EOF
usage: $0 [options]   (as root)

Paths and links (each path: client ns -> its own ns with an mplab relay -> server ns):
  --paths N               number of paths, 1-8 (default $PATHS)
  --delays LIST           one-way delay per path in ms, both directions (default $DELAYS)
  --up-delays LIST        ... client to server only;  --down-delays LIST: server to client only
  --loss LIST             loss per direction, percent, one value or one per path (default $LOSS)
  --up-loss LIST          ... client to server only;  --down-loss LIST: server to client only
  --rate LIST             per direction, one value or one per path, 0 unlimited: datagrams/s
                          (600), or a line's bits/s (20mbit: each datagram takes its bytes'
                          time, as on a real line) (default $RATE)
Cases and measurements:
  --cases LIST            of: reference (WireGuard over path 1, no tunnel), keyless-duplicate,
                          keyed-duplicate, keyless-balance, keyed-balance, or all
                          (default $CASES)
  --tests LIST            of: tcp, ping, udp, restart, none (default $TESTS); the handshake is
                          always timed. restart: a TCP stream (cubic, up) during which mpserver,
                          then mpclient, is killed with SIGKILL and started again 1 s later; the
                          table gives the seconds from each restart until the stream carries data
  --congestion LIST       TCP congestion controls (default $CONGESTION)
  --duration S            seconds of each TCP, ping and UDP test (sets the three below)
  --tcp-seconds S         (default $TCP_SECONDS)  --ping-seconds S (default $PING_SECONDS)
  --udp-seconds S         (default $UDP_SECONDS)  --udp-rate R: iperf3 -b (default $UDP_RATE)
  --handshakes N          starts per case whose first handshake is timed (default $HANDSHAKES)
  --handshake-timeout S   (default $HANDSHAKE_TIMEOUT)
Running:
  --reorder-window W      auto, off or MS for both daemons (default: theirs, off)
  --client-line LINE      one more line for mpclient.conf, e.g. "probe-interval 250" (repeatable)
  --vpn NAME              wireguard (wireguard-go, MTU $WG_MTU) or openvpn (TLS, tun-mtu $OVPN_MTU)
                          (default $VPN)
  --bin DIR               where mpclient, mpserver and mplab are (default .build/release)
  --json                  print one JSON document on stdout (the table goes to stderr)
  --keep                  keep the work directory (logs, configs) and print where it is
  --timeout S             stop everything after S seconds (default: from the cases)
  --seed N                relay drop seed (default $SEED)

Needs: ip (iproute2), wg (wireguard-tools), wireguard-go, iperf3, ping (iputils-ping), jq;
openvpn and openssl for --vpn openvpn.
EOF
}

die() { echo "mptestbed: $*" >&2; exit 1; }
note() { echo "mptestbed: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --paths) PATHS="$2"; shift ;;
        --delays) DELAYS="$2"; shift ;;
        --up-delays) UP_DELAYS="$2"; shift ;;
        --down-delays) DOWN_DELAYS="$2"; shift ;;
        --loss) LOSS="$2"; shift ;;
        --up-loss) UP_LOSS="$2"; shift ;;
        --down-loss) DOWN_LOSS="$2"; shift ;;
        --rate) RATE="$2"; shift ;;
        --cases) CASES="$2"; shift ;;
        --tests) TESTS="$2"; shift ;;
        --congestion) CONGESTION="$2"; shift ;;
        --duration) TCP_SECONDS="$2"; PING_SECONDS="$2"; UDP_SECONDS="$2"; shift ;;
        --tcp-seconds) TCP_SECONDS="$2"; shift ;;
        --ping-seconds) PING_SECONDS="$2"; shift ;;
        --udp-seconds) UDP_SECONDS="$2"; shift ;;
        --udp-rate) UDP_RATE="$2"; shift ;;
        --handshakes) HANDSHAKES="$2"; shift ;;
        --handshake-timeout) HANDSHAKE_TIMEOUT="$2"; shift ;;
        --bin) BIN_DIR="$2"; shift ;;
        --vpn) VPN="$2"; shift ;;
        --reorder-window) REORDER_WINDOW="$2"; shift ;;
        --client-line) CLIENT_LINES+=("$2"); shift ;;
        --json) JSON=1 ;;
        --keep) KEEP=1 ;;
        --timeout) TIMEOUT="$2"; shift ;;
        --seed) SEED="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option \`$1'" ;;
    esac
    [ $# -gt 0 ] || die "option needs a value"
    shift
done
[ "$CASES" = all ] && CASES="reference,keyless-duplicate,keyed-duplicate,keyless-balance,keyed-balance"

# ---- checks ---------------------------------------------------------------------------------
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_uint "$PATHS" && [ "$PATHS" -ge 1 ] && [ "$PATHS" -le 8 ] || die "--paths \`$PATHS' must be 1-8"
for value in "$TCP_SECONDS" "$PING_SECONDS" "$UDP_SECONDS" "$HANDSHAKES" "$HANDSHAKE_TIMEOUT" \
    "$TIMEOUT" "$SEED"; do
    is_uint "$value" || die "\`$value' must be a whole number"
done
[ "$HANDSHAKES" -ge 1 ] || die "--handshakes must be at least 1"
for name in $(tr , ' ' <<<"$CASES"); do
    case "$name" in reference|keyless-duplicate|keyed-duplicate|keyless-balance|keyed-balance) ;;
        *) die "unknown case \`$name' (reference, keyless-duplicate, keyed-duplicate, keyless-balance, keyed-balance)" ;;
    esac
done
for name in $(tr , ' ' <<<"$TESTS"); do
    case "$name" in tcp|ping|udp|restart|none) ;; *) die "unknown test \`$name' (tcp, ping, udp, restart, none)" ;; esac
done
wants() { [[ ",$TESTS," == *",$1,"* ]]; }

# expand LIST NAME [CHECK WHAT]: one value per path (a single value is repeated), each
# checked with CHECK (is_number, "a number" by default).
expand() {
    local list="$1" flag="$2" check="${3:-is_number}" what="${4:-a number}" values=()
    IFS=, read -r -a values <<<"$list"
    [ "${#values[@]}" -eq 1 ] && values=($(for _ in $(seq "$PATHS"); do echo "${values[0]}"; done))
    [ "${#values[@]}" -eq "$PATHS" ] || die "$flag \`$list' needs 1 or $PATHS values"
    for value in "${values[@]}"; do "$check" "$value" || die "$flag: \`$value' is not $what"; done
    echo "${values[*]}"
}
# per_path OWN SHARED FLAG: OWN (the --up/--down flag) if given, else SHARED, one value per path.
per_path() {
    if [ -n "$1" ]; then expand "$1" "--$3"; else expand "$2" "--${3#*-}"; fi
}
list=$(per_path "$UP_DELAYS" "$DELAYS" up-delays) || exit 1; read -r -a UP_DELAY <<<"$list"
list=$(per_path "$DOWN_DELAYS" "$DELAYS" down-delays) || exit 1; read -r -a DOWN_DELAY <<<"$list"
list=$(per_path "$UP_LOSS" "$LOSS" up-loss) || exit 1; read -r -a UP_LOSS_LIST <<<"$list"
list=$(per_path "$DOWN_LOSS" "$LOSS" down-loss) || exit 1; read -r -a DOWN_LOSS_LIST <<<"$list"
is_rate() { [[ "$1" =~ ^[0-9]+(/s)?$ || "$1" =~ ^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit)$ ]]; }
list=$(expand "$RATE" --rate is_rate "a rate (600, 600/s or 20mbit)") || exit 1; read -r -a RATE_LIST <<<"$list"
for value in "${UP_DELAY[@]}" "${DOWN_DELAY[@]}"; do is_uint "$value" || die "delays are whole ms: \`$value'"; done

[ "$(id -u)" -eq 0 ] || die "must run as root (it makes network namespaces)"
need() { command -v "$1" >/dev/null 2>&1 || die "\`$1' not found: apt-get install $2"; }
case "$VPN" in wireguard|openvpn) ;; *) die "--vpn \`$VPN' must be wireguard or openvpn" ;; esac
need ip iproute2
if [ "$VPN" = wireguard ]; then
    need wg wireguard-tools
    need wireguard-go wireguard-go
else
    need openvpn openvpn
    need openssl openssl
fi
need iperf3 iperf3
need ping iputils-ping
need jq jq
need timeout coreutils
[ -c /dev/net/tun ] || die "/dev/net/tun is missing (the VPN needs a TUN device)"
BIN_DIR="$(cd "$BIN_DIR" 2>/dev/null && pwd)" || die "--bin: no such directory"
for binary in mpclient mpserver mplab; do
    [ -x "$BIN_DIR/$binary" ] || die "$BIN_DIR/$binary not found: swift build -c release, or --bin DIR"
done
for cc in $(tr , ' ' <<<"$CONGESTION"); do
    grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control \
        || modprobe "tcp_$cc" 2>/dev/null || die "TCP congestion control \`$cc' is not available"
done

# ---- what it started and made, undone by cleanup --------------------------------------------
ID=$(( $$ % 100000 ))
NS_CLIENT="mptb${ID}c"
NS_SERVER="mptb${ID}s"
WG_CLIENT="tbw${ID}c"      # wireguard-go's UAPI socket is named after the device, so unique
WG_SERVER="tbw${ID}s"
OVPN_CLIENT="tbo${ID}c"
OVPN_SERVER="tbo${ID}s"
NAMESPACES=()
PIDS=()                    # every background process, stopped by PID
CASE_PIDS=()               # those of the current case
WATCHDOG=""
WORK="$(mktemp -d -t mptestbed.XXXXXX)" || die "mktemp failed"
LOGS="$WORK"               # the current case's folder of logs and measurements

stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq 30); do
        local alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    return 0
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [ "${#PIDS[@]}" -gt 0 ] && stop_pids "${PIDS[@]}"
    [ -n "$WATCHDOG" ] && stop_pids "$WATCHDOG"
    local ns
    for ns in "${NAMESPACES[@]}"; do ip netns delete "$ns" 2>/dev/null; done
    # veths are made inside the namespaces and go with them; a half-made one in ours would not.
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^tb${ID}[crqs]"); do
        ip link delete "$link" 2>/dev/null
    done
    if [ "$KEEP" -eq 1 ]; then note "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "stopped (timeout or SIGTERM)"; exit 143' TERM

# start NAME NAMESPACE COMMAND...: in the background, logged to $LOGS/NAME.log.
start() {
    local name="$1" ns="$2"
    shift 2
    ip netns exec "$ns" "$@" >"$LOGS/$name.log" 2>&1 &
    PIDS+=("$!")
    CASE_PIDS+=("$!")
}

# wait_for SECONDS COMMAND...: polls every 50 ms until COMMAND succeeds.
wait_for() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

now_ns() { date +%s%N; }
in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# ---- the namespaces -------------------------------------------------------------------------
make_namespaces() {
    local ns
    for ns in "$NS_CLIENT" "$NS_SERVER"; do
        ip netns add "$ns" || die "cannot make namespace $ns"
        NAMESPACES+=("$ns")
        ip -n "$ns" link set lo up
    done
    local k
    for k in $(seq "$PATHS"); do
        ns="mptb${ID}p$k"
        ip netns add "$ns" || die "cannot make namespace $ns"
        NAMESPACES+=("$ns")
        ip -n "$ns" link set lo up
        ip link add "tb${ID}c$k" netns "$NS_CLIENT" type veth peer name "tb${ID}r$k" netns "$ns" \
            || die "cannot make veth for path $k"
        ip link add "tb${ID}s$k" netns "$NS_SERVER" type veth peer name "tb${ID}q$k" netns "$ns" \
            || die "cannot make veth for path $k"
        ip -n "$NS_CLIENT" addr add "10.77.$k.1/24" dev "tb${ID}c$k"
        ip -n "$ns" addr add "10.77.$k.2/24" dev "tb${ID}r$k"
        ip -n "$ns" addr add "10.78.$k.2/24" dev "tb${ID}q$k"
        ip -n "$NS_SERVER" addr add "10.78.$k.1/24" dev "tb${ID}s$k"
        ip -n "$NS_CLIENT" link set "tb${ID}c$k" up
        ip -n "$ns" link set "tb${ID}r$k" up
        ip -n "$ns" link set "tb${ID}q$k" up
        ip -n "$NS_SERVER" link set "tb${ID}s$k" up
    done
}

# ---- one start of a case: relays, daemons, the VPN ------------------------------------------
# relay_flags K: the loss/delay/rate flags of path K (per direction only where they differ,
# so that an mplab without --up-drop still runs a symmetric bed).
relay_flags() {
    local i=$(( $1 - 1 ))
    local up_drop down_drop
    up_drop=$(awk -v p="${UP_LOSS_LIST[$i]}" 'BEGIN { printf "%.6f", p / 100 }')
    down_drop=$(awk -v p="${DOWN_LOSS_LIST[$i]}" 'BEGIN { printf "%.6f", p / 100 }')
    if [ "$up_drop" = "$down_drop" ]; then echo "--drop $up_drop"; else echo "--up-drop $up_drop --down-drop $down_drop"; fi
    if [ "${UP_DELAY[$i]}" = "${DOWN_DELAY[$i]}" ]; then echo "--delay-ms ${UP_DELAY[$i]}"
    else echo "--up-delay-ms ${UP_DELAY[$i]} --down-delay-ms ${DOWN_DELAY[$i]}"; fi
    echo "--rate ${RATE_LIST[$i]}"
}

start_relays() {   # start_relays TARGET_PORT COUNT
    local k
    for k in $(seq "$2"); do
        # shellcheck disable=SC2046
        start "relay$k" "mptb${ID}p$k" "$BIN_DIR/mplab" relay --listen "10.77.$k.2:4000" --to "10.78.$k.1:$1" \
            --seed $(( SEED * 100000 + START_COUNT * 100 + k )) $(relay_flags "$k")
    done
    for k in $(seq "$2"); do
        wait_for 5 grep -q "listening on" "$LOGS/relay$k.log" || die "relay $k did not start: $(cat "$LOGS/relay$k.log")"
    done
}

start_tunnel() {   # start_tunnel KEYED MODE
    local keyed="$1" mode="$2" key_flags=()
    {
        echo "listen 127.0.0.1 3000"
        echo "status-socket $WORK/mpclient.sock"
        echo "mode $mode"
        [ -n "$REORDER_WINDOW" ] && echo "reorder-window $REORDER_WINDOW"
        for line in "${CLIENT_LINES[@]}"; do echo "$line"; done
        [ "$keyed" = keyed ] && echo "key-file $WORK/key"
        for k in $(seq "$PATHS"); do echo "10.77.$k.2 4000"; done
    } >"$LOGS/mpclient.conf"
    SERVER_FLAGS=()
    [ "$keyed" = keyed ] && SERVER_FLAGS=(--key-file "$WORK/key")
    [ -n "$REORDER_WINDOW" ] && SERVER_FLAGS+=(--reorder-window "$REORDER_WINDOW")
    start_mpserver mpserver
    start_mpclient mpclient
}

# start_mpserver LOG, start_mpclient LOG: the daemon of the case, logged to $LOGS/LOG.log;
# its PID in MPSERVER_PID or MPCLIENT_PID.
start_mpserver() {
    start "$1" "$NS_SERVER" "$BIN_DIR/mpserver" "${SERVER_FLAGS[@]}" --status-socket "$WORK/mpserver.sock" \
        2000 127.0.0.1 51820
    MPSERVER_PID=$!
    wait_for 5 grep -q "mpserver listening" "$LOGS/$1.log" || die "mpserver did not start: $(cat "$LOGS/$1.log")"
}
start_mpclient() {
    start "$1" "$NS_CLIENT" "$BIN_DIR/mpclient" "$LOGS/mpclient.conf"
    MPCLIENT_PID=$!
    wait_for 5 grep -q "listening for the application" "$LOGS/$1.log" \
        || die "mpclient did not start: $(cat "$LOGS/$1.log")"
}

start_wireguard() {   # start_wireguard ENDPOINT
    start wg-server "$NS_SERVER" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$WG_SERVER"
    start wg-client "$NS_CLIENT" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$WG_CLIENT"
    # 10 s: on a busy shared host wireguard-go once took more than 5 s to come up.
    wait_for 10 in_ns "$NS_SERVER" wg show "$WG_SERVER" >/dev/null 2>&1 \
        || die "wireguard-go (server) did not start: $(cat "$LOGS/wg-server.log")"
    wait_for 10 in_ns "$NS_CLIENT" wg show "$WG_CLIENT" >/dev/null 2>&1 \
        || die "wireguard-go (client) did not start: $(cat "$LOGS/wg-client.log")"
    in_ns "$NS_SERVER" wg set "$WG_SERVER" private-key "$WORK/wg-server.key" listen-port 51820 \
        peer "$(cat "$WORK/wg-client.pub")" allowed-ips 10.9.0.2/32 || die "wg set (server) failed"
    in_ns "$NS_CLIENT" wg set "$WG_CLIENT" private-key "$WORK/wg-client.key" \
        peer "$(cat "$WORK/wg-server.pub")" endpoint "$1" allowed-ips 10.9.0.1/32 || die "wg set (client) failed"
    ip -n "$NS_SERVER" addr add 10.9.0.1/24 dev "$WG_SERVER"
    ip -n "$NS_CLIENT" addr add 10.9.0.2/24 dev "$WG_CLIENT"
    ip -n "$NS_SERVER" link set "$WG_SERVER" mtu "$WG_MTU" up
    ip -n "$NS_CLIENT" link set "$WG_CLIENT" mtu "$WG_MTU" up
}

# OpenVPN in TLS mode, point to point, each side pinning the other's self-signed
# certificate (--peer-fingerprint, no CA); its handshake starts with the client process.
start_openvpn() {   # start_openvpn HOST PORT
    local common=(--dev-type tun --proto udp4 --topology p2p --dh none --tun-mtu "$OVPN_MTU" --verb 3
        --ping 10 --connect-retry 1)
    start ovpn-server "$NS_SERVER" openvpn --dev "$OVPN_SERVER" --tls-server --lport 51820 \
        --cert "$WORK/ovpn-server.crt" --key "$WORK/ovpn-server.key" --peer-fingerprint "$(cat "$WORK/ovpn-client.fp")" \
        --ifconfig 10.9.0.1 10.9.0.2 "${common[@]}"
    wait_for 5 grep -q "Initialization Sequence\|UDPv4 link local" "$LOGS/ovpn-server.log" \
        || die "openvpn (server) did not start: $(cat "$LOGS/ovpn-server.log")"
    VPN_STARTED=$(now_ns)
    start ovpn-client "$NS_CLIENT" openvpn --dev "$OVPN_CLIENT" --tls-client --remote "$1" "$2" --nobind \
        --cert "$WORK/ovpn-client.crt" --key "$WORK/ovpn-client.key" --peer-fingerprint "$(cat "$WORK/ovpn-server.fp")" \
        --ifconfig 10.9.0.2 10.9.0.1 "${common[@]}"
}

make_vpn_keys() {
    local side
    for side in client server; do
        if [ "$VPN" = wireguard ]; then
            (umask 077; wg genkey >"$WORK/wg-$side.key") && wg pubkey <"$WORK/wg-$side.key" >"$WORK/wg-$side.pub" \
                || die "wg genkey failed"
        else
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$side" \
                -keyout "$WORK/ovpn-$side.key" -out "$WORK/ovpn-$side.crt" >/dev/null 2>&1 || die "openssl req failed"
            openssl x509 -in "$WORK/ovpn-$side.crt" -noout -fingerprint -sha256 | cut -d= -f2 >"$WORK/ovpn-$side.fp"
        fi
    done
}

# start_case CASE: everything of one start; sets HANDSHAKE to the seconds until the VPN's
# first handshake completed (WireGuard: from the first packet sent into it; OpenVPN: from
# the client's start), or "null" after --handshake-timeout.
start_case() {
    local name="$1"
    CASE_PIDS=()
    local host=127.0.0.1 port=3000
    if [ "$name" = reference ]; then
        start_relays 51820 1
        host=10.77.1.2 port=4000
    else
        start_relays 2000 "$PATHS"
        start_tunnel "${name%%-*}" "${name#*-}"
    fi
    start iperf3-server "$NS_SERVER" iperf3 -s
    local pinger
    if [ "$VPN" = wireguard ]; then
        start_wireguard "$host:$port"
        VPN_STARTED=$(now_ns)
        # WireGuard shakes hands when the first packet goes in.
        start pinger "$NS_CLIENT" ping -q -i 0.2 -w "$HANDSHAKE_TIMEOUT" 10.9.0.1
        pinger=$!
    else
        start_openvpn "$host" "$port"
    fi
    HANDSHAKE=null
    if wait_for "$HANDSHAKE_TIMEOUT" handshake_done; then
        HANDSHAKE=$(awk -v ns=$(( $(now_ns) - VPN_STARTED )) 'BEGIN { printf "%.2f", ns / 1e9 }')
    fi
    [ -n "${pinger:-}" ] && stop_pids "$pinger" && forget "$pinger"
    START_COUNT=$(( START_COUNT + 1 ))
}
START_COUNT=0

handshake_done() {
    if [ "$VPN" = openvpn ]; then
        grep -q "Initialization Sequence Completed" "$LOGS/ovpn-client.log" && return 0
        return 1
    fi
    in_ns "$NS_CLIENT" wg show "$WG_CLIENT" latest-handshakes 2>/dev/null | awk '$2 > 0 { found = 1 } END { exit !found }'
}

# forget PID...: drops stopped processes from PIDS and CASE_PIDS, so that no later stop
# signals a PID the system gave to another process since.
forget() {
    local kept=() case_kept=() pid
    for pid in "${PIDS[@]}"; do [[ " $* " == *" $pid "* ]] || kept+=("$pid"); done
    for pid in "${CASE_PIDS[@]}"; do [[ " $* " == *" $pid "* ]] || case_kept+=("$pid"); done
    PIDS=("${kept[@]}")
    CASE_PIDS=("${case_kept[@]}")
}

stop_case() {
    [ "${#CASE_PIDS[@]}" -gt 0 ] && stop_pids "${CASE_PIDS[@]}" && forget "${CASE_PIDS[@]}"
    CASE_PIDS=()
    rm -f "$WORK/mpclient.sock" "$WORK/mpserver.sock"
}

# ---- measurements through the VPN -----------------------------------------------------------
# Each runs in the background under `timeout` and is waited for, so that Ctrl-C or the
# watchdog interrupts the wait at once and cleanup stops it by PID; the results are read
# from its output file afterwards.

# measure SECONDS OUTPUT COMMAND...: COMMAND in the client namespace, at most SECONDS.
measure() {
    local seconds="$1" output="$2"
    shift 2
    timeout "$seconds" ip netns exec "$NS_CLIENT" "$@" >"$output" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid"
    forget "$pid"
}



# iperf SECONDS OUTPUT ARGUMENTS...: iperf3 -c 10.9.0.1 -J; once more, 2 s later, when it
# failed: over a lossy path its setup can be lost (a UDP test then waits until `timeout'),
# and the server may still be serving the test before.
iperf() {
    local seconds="$1" output="$2"
    shift 2
    measure "$seconds" "$output" iperf3 -c 10.9.0.1 --connect-timeout 5000 -J "$@"
    if jq -e '.error != null' "$output" >/dev/null 2>&1 || ! jq -e . "$output" >/dev/null 2>&1; then
        note "iperf3 $*: $(jq -r '.error // "no report"' "$output" 2>/dev/null | head -1); once more"
        sleep 2
        measure "$seconds" "$output" iperf3 -c 10.9.0.1 --connect-timeout 5000 -J "$@"
    fi
}

# tcp CC [-R]: runs iperf3; tcp_result CC [-R]: Mbit/s received, or null.
tcp() {
    iperf $(( TCP_SECONDS + 20 )) "$LOGS/tcp-$1$2.json" -t "$TCP_SECONDS" -C "$1" $2
}
tcp_result() {
    jq -r '(.end.sum_received.bits_per_second // empty) / 1e6 | . * 10 | round / 10' "$LOGS/tcp-$1$2.json" \
        2>/dev/null | grep . || echo null
}

# udp [-R]; udp_result [-R]: {"lossPercent":..,"lost":..,"packets":..} or null.
udp() {
    iperf $(( UDP_SECONDS + 20 )) "$LOGS/udp$1.json" -u -b "$UDP_RATE" -l "$UDP_LENGTH" -t "$UDP_SECONDS" $1
}
udp_result() {
    jq -c '.end.sum | select(.packets != null)
        | {lossPercent: ((.lost_percent * 1000 | round) / 1000), lost: .lost_packets, packets: .packets}' \
        "$LOGS/udp$1.json" 2>/dev/null | grep . || echo null
}

# ping_test; ping_result: {"sent":..,"received":..,"lossPercent":..,"p50Ms":..,"p99Ms":..} or null.
ping_test() {
    # A count and no -w: ping then waits (-W 1) for the last echoes instead of counting them lost.
    local count
    count=$(awk -v s="$PING_SECONDS" -v i="$PING_INTERVAL" 'BEGIN { printf "%d", s / i }')
    measure $(( PING_SECONDS + 10 )) "$LOGS/ping.txt" \
        ping -i "$PING_INTERVAL" -c "$count" -W 1 10.9.0.1
}
ping_result() {
    local out="$LOGS/ping.txt" sent received
    sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
    [ -n "$sent" ] && [ "$sent" -gt 0 ] || { echo null; return; }
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$out" | sort -n | awk -v sent="$sent" -v received="$received" '
        { t[NR] = $1 }
        function pct(p,   i) { if (NR == 0) return "null"; i = int(p * NR + 0.999999); if (i < 1) i = 1; return t[i] }
        END { printf "{\"sent\":%d,\"received\":%d,\"lossPercent\":%.2f,\"p50Ms\":%s,\"p99Ms\":%s}\n",
              sent, received, 100 * (sent - received) / sent, pct(0.50), pct(0.99) }'
}

# restart_test DAEMON: a TCP stream (cubic, up, 0.1 s intervals) of RESTART_SECONDS; 3 s in,
# DAEMON gets SIGKILL and is started again 1 s later. restart_result DAEMON: the seconds
# from the restart until the stream carried data again (0.1 s resolution), or null: the
# stream's outage (from its first empty interval at the kill to its next with data) less
# the time the daemon was down, measured on this script's clock.
restart_test() {
    local daemon="$1" output="$LOGS/restart-$1.json" began
    began=$(now_ns)
    timeout $(( RESTART_SECONDS + 20 )) ip netns exec "$NS_CLIENT" iperf3 -c 10.9.0.1 --connect-timeout 5000 -J \
        -i 0.1 -t "$RESTART_SECONDS" -C cubic >"$output" 2>&1 &
    local stream=$! pid
    PIDS+=("$stream")
    sleep 3
    [ "$daemon" = mpserver ] && pid=$MPSERVER_PID || pid=$MPCLIENT_PID
    local killed
    killed=$(now_ns)
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget "$pid"
    sleep 1
    local restarted
    restarted=$(now_ns)
    if [ "$daemon" = mpserver ]; then start_mpserver mpserver-restarted; else start_mpclient mpclient-restarted; fi
    echo $(( restarted - killed )) >"$LOGS/restart-$daemon.down-ns"
    echo $(( killed - began )) >"$LOGS/restart-$daemon.kill-ns"
    wait "$stream"
    forget "$stream"
}
restart_result() {
    local down kill
    down=$(cat "$LOGS/restart-$1.down-ns" 2>/dev/null) || { echo null; return; }
    kill=$(cat "$LOGS/restart-$1.kill-ns" 2>/dev/null) || { echo null; return; }
    # The stream's clock starts when iperf3 has connected, a little after this script's
    # `began': its first empty interval from 0.3 s before the kill on this clock.
    jq -r --argjson down "$down" --argjson kill "$kill" '
        [.intervals[]?.sum | {start, bytes}] as $all
        | ([range(0; $all | length) | select($all[.].start >= $kill / 1e9 - 0.3 and $all[.].bytes == 0)] | first)
          as $gap
        | if $gap == null then null
          else ([range($gap; $all | length) | select($all[.].bytes > 0)] | first) as $back
            | if $back == null then null
              else (($all[$back].start - $all[$gap].start - $down / 1e9) * 100 | round / 100)
                | if . < 0 then 0 else . end end end' "$LOGS/restart-$1.json" 2>/dev/null | grep -v '^null$' | grep . || echo null
}

# relay_result K: relay K's counters from the line it prints at exit.
relay_result() {
    sed -n 's/^relay .*: up received \([0-9]*\) forwarded [0-9]* dropped \([0-9]*\).*down received \([0-9]*\) forwarded [0-9]* dropped \([0-9]*\).*/{"up":{"received":\1,"dropped":\2},"down":{"received":\3,"dropped":\4}}/p' \
        "$LOGS/relay$1.log"
}

# ---- one case, its JSON ---------------------------------------------------------------------
# run_case CASE: the starts and the measurements of CASE; appends its JSON line to $RESULTS.
run_case() {
    local name="$1" handshakes=() i
    note "case $name: $HANDSHAKES start(s)"
    for i in $(seq "$HANDSHAKES"); do
        LOGS="$WORK/$name/start$i"
        mkdir -p "$LOGS"
        start_case "$name"
        note "case $name: handshake after $HANDSHAKE s"
        handshakes+=("$HANDSHAKE")
        [ "$i" -lt "$HANDSHAKES" ] && stop_case
    done
    local up=${handshakes[-1]} ccs cc
    ccs=$(tr , ' ' <<<"$CONGESTION")
    if wants tcp && [ "$up" != null ]; then
        for cc in $ccs; do note "case $name: tcp $cc up, down"; tcp "$cc" ""; tcp "$cc" -R; done
    fi
    if wants ping && [ "$up" != null ]; then note "case $name: ping"; ping_test; fi
    if wants udp && [ "$up" != null ]; then note "case $name: udp up, down"; udp ""; udp -R; fi
    if wants restart && [ "$up" != null ] && [ "$name" != reference ]; then
        note "case $name: restart mpserver, mpclient"
        restart_test mpserver
        restart_test mpclient
    fi
    if [ "$name" != reference ]; then
        # Per-path counters of both daemons, kept with the logs (--keep).
        timeout 5 ip netns exec "$NS_CLIENT" "$BIN_DIR/mpclient" --status "$LOGS/mpclient.conf" \
            >"$LOGS/mpclient-status.txt" 2>&1
        timeout 5 ip netns exec "$NS_SERVER" "$BIN_DIR/mpserver" --status --status-socket "$WORK/mpserver.sock" \
            >"$LOGS/mpserver-status.txt" 2>&1
    fi
    # The kernel's UDP and TCP counters of both ends (receive-buffer overflows, retransmits).
    # The kernel's UDP and TCP counters of both ends, and each UDP socket's own (skmem d: the
    # datagrams its full receive buffer dropped).
    local side
    for side in client server; do
        local ns="$NS_CLIENT"
        [ "$side" = server ] && ns="$NS_SERVER"
        ip netns exec "$ns" cat /proc/net/snmp >"$LOGS/$side-snmp.txt" 2>&1
        ip netns exec "$ns" ss -uanmp >"$LOGS/$side-sockets.txt" 2>&1
    done
    # The relays print their counters as they exit.
    stop_case
    local tcp_json="{}" ping_json=null udp_json=null path_down=null relay_json parts=()
    if wants tcp && [ "$up" != null ]; then
        for cc in $ccs; do parts+=("\"$cc\":{\"up\":$(tcp_result "$cc" ""),\"down\":$(tcp_result "$cc" -R)}"); done
        tcp_json="{$(IFS=,; echo "${parts[*]}")}"
    fi
    wants ping && [ "$up" != null ] && ping_json=$(ping_result)
    wants udp && [ "$up" != null ] && udp_json="{\"up\":$(udp_result ""),\"down\":$(udp_result -R)}"
    local restart_json=null
    wants restart && [ "$up" != null ] && [ "$name" != reference ] \
        && restart_json="{\"mpserver\":$(restart_result mpserver),\"mpclient\":$(restart_result mpclient)}"
    [ "$name" != reference ] && path_down=$(grep -c "path down" "$LOGS/mpclient.log")
    relay_json=$(for k in $(seq "$([ "$name" = reference ] && echo 1 || echo "$PATHS")"); do relay_result "$k"; done \
        | paste -sd, -)
    # What iperf3 said when it failed (at high loss its TCP control connection can time out).
    local errors
    errors=$(for f in "$LOGS"/tcp-*.json "$LOGS"/udp*.json; do
        [ -f "$f" ] && jq -c --arg test "$(basename "$f" .json)" 'select(.error != null) | "\($test): \(.error)"' "$f" 2>/dev/null
    done | paste -sd, -)
    local under2
    under2=$(printf '%s\n' "${handshakes[@]}" | awk '$1 != "null" && $1 < 2 { n++ } END { print n + 0 }')
    printf '{"case":"%s","handshakeSeconds":[%s],"handshakesUnder2s":%d,"tcpMbps":%s,"ping":%s,"udp":%s,"restartSeconds":%s,"pathDownEvents":%s,"relays":[%s],"errors":[%s]}\n' \
        "$name" "$(IFS=,; echo "${handshakes[*]}")" "$under2" "$tcp_json" "$ping_json" "$udp_json" "$restart_json" \
        "$path_down" "$relay_json" "$errors" >>"$RESULTS"
}

# ---- the table ------------------------------------------------------------------------------
print_table() {   # print_table FILE_OF_CASE_JSON_LINES
    jq -rs --arg cc "$CONGESTION" '
        def f: if . == null then "-" else tostring end;
        def hs: map(select(. != null)) as $ok | (.|length) as $n
            | if $n == 1 then (.[0] | f) + " s"
              else ($ok | sort | if length == 0 then "-" else "med " + (.[(length / 2) | floor] | tostring) + " s, max "
                + (.[-1] | tostring) + " s" end) + " (" + ($ok | map(select(. < 2)) | length | tostring)
                + "/" + ($n | tostring) + " < 2 s)" end;
        ($cc | split(",")) as $ccs
        | (["case", "handshake"] + ($ccs | map(. + " up", . + " down") | flatten | map(. + " Mbit/s"))
            + ["ping loss", "p50 ms", "p99 ms", "udp up loss", "udp down loss", "back after restart s (server / client)",
               "path down"]) as $head
        | ($head | join(" | ") | "| " + . + " |"), ($head | map("---") | join(" | ") | "| " + . + " |"),
          (.[] | [.case, (.handshakeSeconds | hs)]
            + ([$ccs[] as $c | (.tcpMbps[$c].up | f), (.tcpMbps[$c].down | f)])
            + [(.ping.lossPercent | if . == null then "-" else tostring + "%" end), (.ping.p50Ms | f), (.ping.p99Ms | f),
               (.udp.up | if . == null then "-" else (.lossPercent | tostring) + "% of " + (.packets | tostring) end),
               (.udp.down | if . == null then "-" else (.lossPercent | tostring) + "% of " + (.packets | tostring) end),
               (.restartSeconds | if . == null then "-" else (.mpserver | f) + " / " + (.mpclient | f) end),
               (.pathDownEvents | f)]
            | join(" | ") | "| " + . + " |"),
          (.[] | .case as $case | .errors[]? | "\($case): \(.)")' "$1"
}

# ---- main -----------------------------------------------------------------------------------
case_count=$(tr , '\n' <<<"$CASES" | grep -c .)
if [ "$TIMEOUT" -eq 0 ]; then
    # Each step's own bound: a start, then every iperf3 run twice to its `timeout' (a failed
    # run goes once more). Only a hang past all of them meets the watchdog.
    per_case=$(( HANDSHAKES * (HANDSHAKE_TIMEOUT + 25) + 30 ))
    wants tcp && per_case=$(( per_case + 2 * $(tr , '\n' <<<"$CONGESTION" | grep -c .) * 2 * (TCP_SECONDS + 22) ))
    wants ping && per_case=$(( per_case + PING_SECONDS + 10 ))
    wants udp && per_case=$(( per_case + 2 * 2 * (UDP_SECONDS + 22) ))
    wants restart && per_case=$(( per_case + 2 * (RESTART_SECONDS + 25) ))
    TIMEOUT=$(( case_count * per_case + 60 ))
fi
(
    trap 'stop_pids $sleeper; exit 0' TERM
    sleep "$TIMEOUT" & sleeper=$!
    wait "$sleeper" && kill -TERM $$
) 2>/dev/null &
WATCHDOG=$!

make_namespaces
"$BIN_DIR/mpserver" --genkey >"$WORK/key" && chmod 600 "$WORK/key" || die "mpserver --genkey failed"
make_vpn_keys
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
began=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for name in $(tr , ' ' <<<"$CASES"); do
    run_case "$name"
done

settings=$(jq -nc --argjson paths "$PATHS" --arg up_delay "${UP_DELAY[*]}" --arg down_delay "${DOWN_DELAY[*]}" \
    --arg up_loss "${UP_LOSS_LIST[*]}" --arg down_loss "${DOWN_LOSS_LIST[*]}" --arg rate "${RATE_LIST[*]}" \
    --argjson tcp "$TCP_SECONDS" --argjson ping "$PING_SECONDS" --argjson udp "$UDP_SECONDS" --arg udp_rate "$UDP_RATE" \
    --argjson mtu "$([ "$VPN" = wireguard ] && echo "$WG_MTU" || echo "$OVPN_MTU")" --arg vpn "$VPN" --arg began "$began" '
    def nums: split(" ") | map(tonumber);
    {began: $began, paths: $paths, upDelayMs: ($up_delay | nums), downDelayMs: ($down_delay | nums),
     upLossPercent: ($up_loss | nums), downLossPercent: ($down_loss | nums), rate: ($rate | split(" ")),
     tcpSeconds: $tcp, pingSeconds: $ping, udpSeconds: $udp, udpRate: $udp_rate, vpn: $vpn, vpnMTU: $mtu}')
if [ "$JSON" -eq 1 ]; then
    print_table "$RESULTS" >&2
    jq -sc --argjson settings "$settings" '{settings: $settings, cases: .}' "$RESULTS"
else
    echo "$settings" | jq -r '"\(.vpn), \(.paths) paths, one-way delay ms up \(.upDelayMs) down \(.downDelayMs), loss % up \(.upLossPercent) down \(.downLossPercent), rate \(.rate) (datagrams/s or bits/s; 0: unlimited); \(.began)"'
    print_table "$RESULTS"
fi
