#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Live benchmark (tier 3, docs/benchmarks.md): frames pushed from one
# namespace into the device under test through veth, with
# BPF_PROG_TEST_RUN in live-frames mode (sluice-bench live-gen, pinned to
# one CPU; the receiver's NAPI poll runs on the same CPU). The receiver
# counts: rx_queue_0_xdp_packets of the DUT's veth (ethtool -S), i.e. frames
# that reached the DUT and went through its XDP hook (the rest overflowed
# the veth ring because the DUT was busy).
#
# The same N IPv4 rules (every rule denies; traffic goes to the hosts of
# random rules, so every packet is judged by a rule) for: sluice (XDP), a
# bare XDP_DROP, and with an XDP_PASS program on the DUT (veth delivers
# redirected frames only then): an nft interval verdict map, ipset
# (hash:net,port + one iptables-legacy rule), linear nft rules, linear
# iptables-legacy and linear iptables-nft, all in the prerouting hook.
# Cases interleaved within each repetition.
#
#   tools/bench/live.sh BUILD_DIR OUT_DIR      (QUICK=1: fewer sizes, 1 rep)
#   tools/bench/live.sh --summary OUT_DIR
set -eu
PATH="$PATH:/usr/sbin:/sbin"

summary() {
	awk '
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $1 SUBSEP $2
	if (!(k in cnt)) order[++nk] = k
	cnt[k]++; v[k, cnt[k]] = $4; rep[k, cnt[k]] = $3; byrep[$1, $2, $3] = $4
}
END {
	printf "%-12s %7s %4s %9s %9s %9s   %s\n", "case", "rules", "reps", "min Mpps", "median", "max", "sluice / this (median of per-rep ratios; min-max)"
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, kk, SUBSEP); c = kk[1]; n = kk[2]; m = cnt[k]
		for (j = 1; j <= m; j++) w[j] = v[k, j]
		mn = w[1]; mx = w[1]; for (j = 1; j <= m; j++) { if (w[j] < mn) mn = w[j]; if (w[j] > mx) mx = w[j] }
		md = med(w, m)
		rs = ""; nr = 0
		if (c != "sluice") {
			for (j = 1; j <= m; j++) { s = byrep["sluice", n, rep[k, j]]; if (v[k, j] > 0 && s != "") rr[++nr] = s / v[k, j] }
			if (nr) { rmin = rr[1]; rmax = rr[1]; for (j = 1; j <= nr; j++) { if (rr[j] < rmin) rmin = rr[j]; if (rr[j] > rmax) rmax = rr[j] }
				r = med(rr, nr); rs = sprintf("%.3g (%.3g-%.3g)", r, rmin, rmax); ratio[c, n] = r }
		}
		printf "%-12s %7d %4d %9.4f %9.4f %9.4f   %s\n", c, n, m, mn / 1e6, md / 1e6, mx / 1e6, rs
	}
	print ""
	n = 10000
	k2 = "nft_map" SUBSEP n; if (k2 in ratio) printf "target: 10k rules, sluice >= 3x nftables interval set: %.2fx: %s\n", ratio["nft_map", n], (ratio["nft_map", n] >= 3 ? "PASS" : "MISS")
	k2 = "ipset" SUBSEP n; if (k2 in ratio) printf "target: 10k rules, sluice >= 3x ipset: %.2fx: %s\n", ratio["ipset", n], (ratio["ipset", n] >= 3 ? "PASS" : "MISS")
	k2 = "ipt_legacy" SUBSEP n; if (k2 in ratio) printf "target: 10k rules, sluice >= 500x linear iptables (legacy): %.0fx: %s\n", ratio["ipt_legacy", n], (ratio["ipt_legacy", n] >= 500 ? "PASS" : "MISS")
	k2 = "xdp_drop" SUBSEP n; if (k2 in ratio) printf "target: 10k rules, sluice >= 0.8x bare XDP_DROP: %.2fx: %s\n", ratio["xdp_drop", n], (ratio["xdp_drop", n] >= 0.8 ? "PASS" : "MISS")
}' "$1/live.raw" | tee "$1/live.txt"
}

if [ "${1:-}" = --summary ]; then
	summary "$2"
	exit 0
fi

B=$(cd "$1" && pwd)
OUT=$2
SB=$B/bench/sluice-bench
SL=$B/sluice
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SIZES=${LIVE_SIZES:-"1 1000 10000"}
	REPS=${LIVE_REPS:-1}
	MS=300
else
	SIZES=${LIVE_SIZES:-"1 100 1000 10000 100000"}
	REPS=${LIVE_REPS:-3}
	MS=1000
fi
CASES=${LIVE_CASES:-"xdp_drop sluice nft_map ipset nft_rules ipt_legacy ipt_nft"}
CPU=$(($(nproc) - 1))

NSG=slbg-$$
NSD=slbd-$$
PR=/sys/fs/bpf/slbl-$$
SD=/tmp/slbl-$$-state
W=/tmp/slbl-$$
RAW=$OUT/live.raw
mkdir -p "$OUT" "$W" "$PR"
: >"$RAW"

in_d() { nsenter --net=/run/netns/$NSD "$@"; }

teardown() {
	rm -f "$PR/link"
	in_d "$SL" --pin-root "$PR" --state-dir "$SD" -c live detach >/dev/null 2>&1 || true
	in_d nft flush ruleset 2>/dev/null || true
	in_d iptables-legacy -t raw -F 2>/dev/null || true
	in_d ipset destroy 2>/dev/null || true
	# a released bpf_link detaches asynchronously: wait until d0 has no
	# XDP program, or the next attach fails with EBUSY
	i=0
	while ip -n $NSD link show d0 2>/dev/null | grep -q 'prog/xdp' && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

cleanup() {
	teardown
	ip netns del $NSG 2>/dev/null || true
	ip netns del $NSD 2>/dev/null || true
	rm -rf "$PR" "$SD" "$W"
}
trap cleanup EXIT INT TERM

ip netns add $NSG
ip netns add $NSD
ip -n $NSG link set lo up
ip -n $NSD link set lo up
ip link add g0 netns $NSG type veth peer name d0 netns $NSD
ip -n $NSG link set g0 up
ip -n $NSD link set d0 up
ip -n $NSD addr add 10.200.0.1/30 dev d0
DMAC=$(ip -n $NSD link show d0 | awk '/link\/ether/ { print $2 }')

rx() { in_d ethtool -S d0 | awk '/rx_queue_0_xdp_packets/ { print $2 }'; }

setup_case() {
	c=$1 n=$2
	case $c in
	xdp_drop) in_d "$SB" xdp-attach d0 drop "$PR/link" ;;
	sluice) in_d "$SL" --pin-root "$PR" --state-dir "$SD" apply -f "$W/$n.spec" >/dev/null ;;
	*)
		in_d "$SB" xdp-attach d0 pass "$PR/link"
		case $c in
		nft_map) in_d nft -f "$W/$n.nftmap" ;;
		nft_rules) in_d nft -f "$W/$n.nft" ;;
		ipt_legacy) in_d iptables-legacy-restore <"$W/$n.ipt" ;;
		ipt_nft) in_d iptables-nft-restore <"$W/$n.ipt" ;;
		ipset)
			in_d ipset restore <"$W/$n.ipset"
			in_d iptables-legacy -t raw -A PREROUTING -m set --match-set slb_deny dst,dst -j DROP
			;;
		esac
		;;
	esac
}

for n in $SIZES; do
	"$SB" gen -L -f 4 -n "$n" -s 1 -F spec --chain live --ifname d0 >"$W/$n.spec"
	for f in ipt nft nftmap ipset; do
		"$SB" gen -L -f 4 -n "$n" -s 1 -F $f >"$W/$n.$f"
	done
done

r=1
while [ "$r" -le "$REPS" ]; do
	for n in $SIZES; do
		echo "live: repetition $r, $n rules" >&2
		for c in $CASES; do
			teardown
			setup_case "$c" "$n"
			r0=$(rx)
			out=$(taskset -c "$CPU" nsenter --net=/run/netns/$NSG "$SB" live-gen -f 4 -n "$n" -s 1 \
				-i g0 -m "$DMAC" -T "$MS")
			sleep 0.05
			r1=$(rx)
			set -- $out
			# case rules rep pps frames_sent frames_received wall_ns
			echo "$c $n $r $(awk -v a="$r0" -v b="$r1" -v t="$4" 'BEGIN { printf "%.0f", (b - a) / t * 1e9 }') $2 $((r1 - r0)) $4" >>"$RAW"
		done
	done
	r=$((r + 1))
done
teardown
summary "$OUT"
