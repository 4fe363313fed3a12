#!/bin/sh
# Installs every Debian package that sluice's build, tests and demo need.
# Idempotent and quiet when everything is there.
#   tools/install-deps.sh          install what is missing (root)
#   tools/install-deps.sh --check  only report what is missing; exit 1 if any
#   tools/install-deps.sh --bench [--check]  the same, plus the benchmarks' extras
set -eu

BENCH=0
if [ "${1:-}" = "--bench" ]; then
	BENCH=1
	shift
fi

# build: compiler, BPF toolchain and the libraries sluice links
PKGS_BUILD="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmnl-dev libcjson-dev libssl-dev pkg-config libmicrohttpd-dev"
# tests and demo: namespaces, traffic tools, packet crafting
PKGS_TEST="iproute2 iputils-ping netcat-openbsd socat python3-scapy tcpdump nftables iptables ipset util-linux procps jq valgrind"
# sluiced tests: HTTP client, a real Prometheus server and promtool, YAML lint
PKGS_TEST="$PKGS_TEST curl prometheus yamllint"
# CNI tests: the reference plugins (host-local IPAM); containerd (with runc)
# for the CRI test, busybox-static for its offline pause image; podman (its
# CNI backend, with catatonit) for the second runtime's test
PKGS_TEST="$PKGS_TEST containernetworking-plugins containerd runc busybox-static podman catatonit"
# lb_fib_e2e: checksum offload off on veth senders (XDP redirects)
PKGS_TEST="$PKGS_TEST ethtool"
# bench (only `make bench`): plots for docs/benchmarks.md
PKGS_BENCH="gnuplot-nox ethtool"
PKGS="$PKGS_BUILD $PKGS_TEST"
[ "$BENCH" = 1 ] && PKGS="$PKGS $PKGS_BENCH"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
# Node.js and npm (the manifest checks, the CRI test's gRPC client): any
# node on PATH will do (e.g. NodeSource's 20, which bundles npm and conflicts
# with Debian's npm package); otherwise Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

if [ "${1:-}" = "--check" ]; then
	if [ -n "$missing" ]; then
		echo "sluice: missing Debian packages:$missing" >&2
		echo "sluice: run 'sudo make deps' (tools/install-deps.sh) to install them" >&2
		exit 1
	fi
	exit 0
fi

[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "sluice: installing$missing needs root: run 'sudo make deps'" >&2
	exit 1
fi
echo "sluice: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
