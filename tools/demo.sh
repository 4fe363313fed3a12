#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The sluice demo (README command 1: `sudo make demo`; `sudo make demo-down`).
#
#   tools/demo.sh up   [BUILD_DIR]   build the topology, apply examples/edge.json,
#                                    send real traffic, show status and counters
#   tools/demo.sh down [BUILD_DIR]   detach, remove namespaces, pins and state
#
#   sl-demo-client            sl-demo-edge                      sl-demo-server
#   eth0 10.200.1.2/24 <----> edge-in 10.200.1.1/24  (XDP: chain "edge")
#        fd00:200:1::2/64             fd00:200:1::1/64
#                             edge-out 10.200.2.1/24 <-------> eth0 10.200.2.2/24
#                                      fd00:200:2::1/64             fd00:200:2::2/64
#
# `up` exits non-zero when an allowed flow fails or a denied flow gets
# through, so CI uses it as a smoke test. Environment: SLUICE_PIN_ROOT,
# SLUICE_STATE_DIR (defaults /sys/fs/bpf/sluice, /var/lib/sluice).
set -eu

PATH="$PATH:/usr/sbin:/sbin"
SRC=$(cd "$(dirname "$0")/.." && pwd)
CMD=${1:-}
BUILD=${2:-$SRC/build}
PIN_ROOT=${SLUICE_PIN_ROOT:-/sys/fs/bpf/sluice}
STATE_DIR=${SLUICE_STATE_DIR:-/var/lib/sluice}
SPEC=$SRC/examples/edge.json
CHAIN=edge

NS_C=sl-demo-client
NS_E=sl-demo-edge
NS_S=sl-demo-server
SERVER4=10.200.2.2
SERVER6=fd00:200:2::2

FAILED=0

say() { printf '%s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# Run in a namespace without remounting /sys (bpffs stays visible).
in_ns() {
	ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

sluice() {
	in_ns "$NS_E" "$BUILD/sluice" --pin-root "$PIN_ROOT" --state-dir "$STATE_DIR" "$@"
}

# One aligned result line per flow.
result() { # VERDICT FLOW DETAIL
	printf '%-8s %-34s %s\n' "$1" "$2" "$3"
}

pass_flow() { result "$1" "$2" "$3"; }
fail_flow() {
	result "$1" "$2" "FAILED: $3"
	FAILED=$((FAILED + 1))
}

check_prereqs() {
	[ "$(id -u)" -eq 0 ] || die "the demo creates namespaces and loads BPF programs: run it as root ('sudo make demo')"
	for t in ip nsenter socat ping timeout jq; do
		command -v "$t" >/dev/null 2>&1 ||
			die "'$t' is missing: run 'sudo make deps' (tools/install-deps.sh)"
	done
}

ns_exists() { [ -e "/run/netns/$1" ]; }

down() {
	if ns_exists "$NS_E" && [ -x "$BUILD/sluice" ] && [ -d "$PIN_ROOT/$CHAIN" ]; then
		sluice -c "$CHAIN" detach >/dev/null 2>&1 || true
	fi
	for ns in $NS_C $NS_E $NS_S; do
		ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "${PIN_ROOT:?}/$CHAIN" "${STATE_DIR:?}/$CHAIN"
	rmdir "$PIN_ROOT" 2>/dev/null || true
	rmdir "$STATE_DIR" 2>/dev/null || true
}

# A namespace with lo up and no IPv6 duplicate address detection (addresses
# are usable at once; a forwarding edge with tentative link-locals does not
# resolve neighbours for a second or two).
mkns() {
	ip netns add "$1"
	in_ns "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	ip -n "$1" link set lo up
}

topology() {
	mkns "$NS_C"
	mkns "$NS_E"
	mkns "$NS_S"
	ip -n "$NS_C" link add eth0 type veth peer name edge-in netns "$NS_E"
	ip -n "$NS_E" link add edge-out type veth peer name eth0 netns "$NS_S"

	ip -n "$NS_C" addr add 10.200.1.2/24 dev eth0
	ip -n "$NS_C" addr add fd00:200:1::2/64 dev eth0 nodad
	ip -n "$NS_E" addr add 10.200.1.1/24 dev edge-in
	ip -n "$NS_E" addr add fd00:200:1::1/64 dev edge-in nodad
	ip -n "$NS_E" addr add 10.200.2.1/24 dev edge-out
	ip -n "$NS_E" addr add fd00:200:2::1/64 dev edge-out nodad
	ip -n "$NS_S" addr add 10.200.2.2/24 dev eth0
	ip -n "$NS_S" addr add fd00:200:2::2/64 dev eth0 nodad
	ip -n "$NS_C" link set eth0 up
	ip -n "$NS_E" link set edge-in up
	ip -n "$NS_E" link set edge-out up
	ip -n "$NS_S" link set eth0 up

	in_ns "$NS_E" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$NS_C" route add default via 10.200.1.1
	ip -n "$NS_C" -6 route add default via fd00:200:1::1
	ip -n "$NS_S" route add default via 10.200.2.1
	ip -n "$NS_S" -6 route add default via fd00:200:2::1
}

# Background servers in the server namespace, dual-stack; they live until
# `down` kills what runs in the namespace. exec: no subshell may keep the
# script's stdout open (`make demo | tail` would wait for the servers).
spawn() {
	(exec nsenter --net="/run/netns/$NS_S" setsid "$@" </dev/null >/dev/null 2>&1) &
}

wait_listen() { # tcp|udp PORT
	i=0
	while [ $i -lt 50 ]; do
		if [ "$1" = tcp ]; then
			in_ns "$NS_S" ss -Hltn "sport = :$2" | grep -q . && return 0
		else
			in_ns "$NS_S" ss -Hlun "sport = :$2" | grep -q . && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	die "the demo server on $1/$2 did not start"
}

servers() {
	for port in 8080 9090; do
		spawn socat "TCP6-LISTEN:$port,ipv6only=0,fork,reuseaddr" \
			"SYSTEM:echo hello from sl-demo-server tcp/$port"
	done
	for port in 5353 7000; do
		spawn socat "UDP6-RECVFROM:$port,ipv6only=0,fork,reuseaddr" "EXEC:cat"
	done
	wait_listen tcp 8080
	wait_listen tcp 9090
	wait_listen udp 5353
	wait_listen udp 7000
}

# Client-side probes. Each prints what the server answered; the exit status
# says whether the flow got through.
tcp_probe() { # ADDR PORT
	case $1 in *:*) a="TCP6:[$1]:$2" ;; *) a="TCP4:$1:$2" ;; esac
	in_ns "$NS_C" timeout 3 socat -T 1 - "$a,connect-timeout=1" </dev/null 2>/dev/null
}

udp_probe() { # ADDR PORT PAYLOAD
	case $1 in *:*) a="UDP6:[$1]:$2" ;; *) a="UDP4:$1:$2" ;; esac
	printf '%s\n' "$3" | in_ns "$NS_C" timeout 3 socat -T 1 - "$a" 2>/dev/null
}

ping_probe() { # ADDR
	in_ns "$NS_C" ping -c 2 -i 0.2 -W 1 "$1" >/dev/null 2>&1
}

expect_allowed_ping() {
	flow="ping $1"
	if ping_probe "$1"; then
		pass_flow ALLOWED "$flow" "ok (echo reply)"
	else
		fail_flow ALLOWED "$flow" "no echo reply"
	fi
}

expect_allowed_tcp() {
	flow="tcp $1 port $2"
	if out=$(tcp_probe "$1" "$2") && [ -n "$out" ]; then
		pass_flow ALLOWED "$flow" "ok: $out"
	else
		fail_flow ALLOWED "$flow" "no reply"
	fi
}

expect_denied_tcp() {
	flow="tcp $1 port $2"
	start=$(date +%s.%N)
	if out=$(tcp_probe "$1" "$2") && [ -n "$out" ]; then
		fail_flow DENIED "$flow" "got through: $out"
	else
		secs=$(echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }')
		pass_flow DENIED "$flow" "blocked as expected (no answer in ${secs} s)"
	fi
}

expect_allowed_udp() { # VERDICT ADDR PORT NOTE
	flow="udp $2 port $3"
	payload="sluice-demo-$3-$$"
	if out=$(udp_probe "$2" "$3" "$payload") && [ "$out" = "$payload" ]; then
		pass_flow "$1" "$flow" "ok: echoed \"$out\"$4"
	else
		fail_flow "$1" "$flow" "no echo"
	fi
}

traffic() {
	expect_allowed_ping "$SERVER4"
	expect_allowed_ping "$SERVER6"
	expect_allowed_tcp "$SERVER4" 8080
	expect_allowed_tcp "$SERVER6" 8080
	expect_denied_tcp "$SERVER4" 9090
	expect_denied_tcp "$SERVER6" 9090
	expect_allowed_udp ALLOWED "$SERVER4" 5353 ""
	expect_allowed_udp AUDITED "$SERVER4" 7000 " (delivered; counted by audit-udp-7000)"
}

# Every rule the traffic above hit must have counted.
check_counters() {
	if ! json=$(sluice -j stats); then
		fail_flow COUNTER "sluice -j stats" "failed"
		return
	fi
	for id in allow-icmp-echo allow-icmpv6-echo allow-tcp-8080-server \
		allow-udp-5353-server deny-9090 audit-udp-7000 allow-udp-7000; do
		n=$(printf '%s' "$json" | jq -r --arg id "$id" \
			'[.functions[]?.rules[]? | select(.id == $id) | .packets] | add // "missing"')
		case $n in
		'' | missing | null | 0 | *[!0-9]*) fail_flow COUNTED "rule $id" "packets: ${n:-none}" ;;
		*) pass_flow COUNTED "rule $id" "$n packets" ;;
		esac
	done
}

up() {
	[ -x "$BUILD/sluice" ] || die "$BUILD/sluice is missing: run 'make' first"
	[ -r "$SPEC" ] || die "$SPEC is missing"
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
		mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs at /sys/fs/bpf"
	fi
	ulimit -l unlimited 2>/dev/null || true

	if ns_exists "$NS_C" || ns_exists "$NS_E" || ns_exists "$NS_S" || [ -d "$PIN_ROOT/$CHAIN" ]; then
		say "== an earlier demo is up: tearing it down first"
		down
	fi

	say "== topology: $NS_C <-> $NS_E (forwarding) <-> $NS_S"
	topology
	servers
	say "   servers in $NS_S: tcp/8080 tcp/9090 (reply), udp/5353 udp/7000 (echo)"

	say "== without sluice, everything gets through:"
	if tcp_probe "$SERVER4" 9090 >/dev/null; then
		result OPEN "tcp $SERVER4 port 9090" "reachable (no chain yet)"
	else
		die "tcp/9090 is not reachable even without a chain: the topology is broken"
	fi

	say "== sluice apply -f examples/edge.json (XDP native on $NS_E/edge-in)"
	bin=$BUILD/sluice
	[ "$BUILD" -ef "$SRC/build" ] && bin=build/sluice
	say "   nsenter --net=/run/netns/$NS_E $bin --pin-root $PIN_ROOT --state-dir $STATE_DIR apply -f examples/edge.json"
	if ! sluice apply -f "$SPEC"; then
		die "apply failed; the topology is left up for a look; 'sudo make demo-down' removes it"
	fi

	say "== traffic from $NS_C through the chain:"
	traffic

	say "== sluice status"
	sluice status || FAILED=$((FAILED + 1))
	say "== sluice stats (the counters moved)"
	sluice stats || FAILED=$((FAILED + 1))
	say "== rule counters, from sluice -j stats:"
	check_counters

	say ""
	say "Look around:"
	say "  sudo nsenter --net=/run/netns/$NS_E $bin stats"
	say "  sudo nsenter --net=/run/netns/$NS_E $bin history"
	say "  sudo tools/sluice-objects.sh            # pinned programs, maps, links"
	say "  sudo ip netns exec $NS_C ping $SERVER4"
	say "Tear down:"
	say "  sudo make demo-down"
	if [ "$FAILED" -ne 0 ]; then
		say ""
		die "$FAILED check(s) failed"
	fi
	say "demo: all flows behaved as the spec says"
}

case $CMD in
up)
	check_prereqs
	up
	;;
down)
	check_prereqs
	down
	say "demo: down (namespaces, chain '$CHAIN' pins and state removed)"
	;;
*)
	echo "usage: $0 up|down [BUILD_DIR]" >&2
	exit 2
	;;
esac
