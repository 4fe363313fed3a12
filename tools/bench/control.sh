#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Control-plane benchmark (tier 4, docs/benchmarks.md): time to load the
# same IPv4 rule set with `sluice apply` and with iptables-legacy-restore,
# iptables-nft-restore, nft -f (linear rules; one interval verdict map) and
# ipset restore; sluice on top of an existing chain, a one-rule change on
# top of N, and rollback. Every command is timed as a whole process
# (sluice-bench time: fork to reap, wall and the child's CPU), inside a
# private network namespace, cases interleaved within each repetition.
#
#   tools/bench/control.sh BUILD_DIR OUT_DIR     (QUICK=1: fewer sizes and reps)
#   tools/bench/control.sh --summary OUT_DIR     only the summary of control.raw
#
# Writes OUT_DIR/control.raw (one line per run) and prints the summary
# (also OUT_DIR/control.txt).
set -eu
PATH="$PATH:/usr/sbin:/sbin"

# Summary: per case and size, wall ms min/median/max, median CPU (user+sys),
# and the ratio to sluice's figure for the same job and size: loading N
# rules against sluice_fresh, one rule added against sluice_change1 (median
# over repetitions of the per-repetition ratio, with its min and max).
summary() {
	awk '
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $1 SUBSEP $2
	if (!(k in cnt)) { order[++nk] = k }
	cnt[k]++; wall[k, cnt[k]] = $4; cpu[k, cnt[k]] = $5 + $6; rep[k, cnt[k]] = $3
	byrep[$1, $2, $3] = $4
}
END {
	printf "%-26s %7s %4s %10s %10s %10s %9s   %s\n", "case", "rules", "reps", "min ms", "median", "max", "cpu ms", "this / sluice (median of per-rep ratios; min-max)"
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, kk, SUBSEP); c = kk[1]; n = kk[2]; m = cnt[k]
		for (j = 1; j <= m; j++) { w[j] = wall[k, j]; u[j] = cpu[k, j] }
		mn = w[1]; mx = w[1]; for (j = 1; j <= m; j++) { if (w[j] < mn) mn = w[j]; if (w[j] > mx) mx = w[j] }
		md = med(w, m); mc = med(u, m)
		ref = c ~ /_add1$/ ? "sluice_change1" : "sluice_fresh"
		rs = ""
		if (c !~ /^sluice/) {
			nr = 0
			for (j = 1; j <= m; j++) { f = byrep[ref, n, rep[k, j]]; if (f > 0) rr[++nr] = wall[k, j] / f }
			if (nr) { rmin = rr[1]; rmax = rr[1]; for (j = 1; j <= nr; j++) { if (rr[j] < rmin) rmin = rr[j]; if (rr[j] > rmax) rmax = rr[j] }
				rs = sprintf("%.3g (%.3g-%.3g) vs %s", med(rr, nr), rmin, rmax, ref) }
		}
		if (c ~ /_us$/)
			printf "%-26s %7d %4d %10.0f %10.0f %10.0f %9s   (figure from sluice -j, us)\n", c, n, m, mn, md, mx, "-"
		else
			printf "%-26s %7d %4d %10.1f %10.1f %10.1f %9.1f   %s\n", c, n, m, mn, md, mx, mc, rs
		if (c == "sluice_fresh" && n == 100000) t100k = md
		if (c == "sluice_fresh" && n == 1000) t1k = md
		if (c == "sluice_rollback_commit_us") { if (md > rb) rb = md }
	}
	print ""
	if (t100k != "") printf "target: apply 100k rules <= 150 ms: median %.0f ms: %s\n", t100k, t100k <= 150 ? "PASS" : "MISS"
	if (t1k != "") printf "target: apply 1k rules <= 10 ms: median %.1f ms: %s\n", t1k, t1k <= 10 ? "PASS" : "MISS"
	if (rb != "") printf "target: rollback <= 1 ms of kernel time: worst median %d us: %s\n", rb, rb <= 1000 ? "PASS" : "MISS"
}' "$1/control.raw" | tee "$1/control.txt"
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
	SIZES=${CP_SIZES:-"1000 100000"}
	REPS_SMALL=${CP_REPS:-3}
	REPS_BIG=1
	ONTOP_MAX=10000	# sluice on top / one-rule change: only up to this size
else
	SIZES=${CP_SIZES:-"1000 10000 100000"}
	REPS_SMALL=${CP_REPS:-5}
	REPS_BIG=3
	ONTOP_MAX=100000
fi

NS=slb-$$
PR=/sys/fs/bpf/slb-$$
SD=/tmp/slb-$$-state
W=/tmp/slb-$$
RAW=$OUT/control.raw
mkdir -p "$OUT" "$W"
: >"$RAW"

cleanup() {
	nsenter --net=/run/netns/$NS "$SL" --pin-root "$PR" --state-dir "$SD" -c bench detach >/dev/null 2>&1 || true
	ip netns del $NS 2>/dev/null || true
	rm -rf "$PR" "$SD" "$W"
}
trap cleanup EXIT INT TERM

ip netns add $NS
ip -n $NS link set lo up
ip -n $NS link add bv0 type veth peer name bv1
ip -n $NS link set bv0 up
ip -n $NS link set bv1 up
mkdir -p "$PR"

in_ns() { nsenter --net=/run/netns/$NS "$@"; }
sl() { in_ns "$SL" --pin-root "$PR" --state-dir "$SD" "$@"; }

# tm CASE N REP [-i IN] [-o OUT] -- CMD...: one timed run, appended to RAW.
tm() {
	c=$1 n=$2 r=$3
	shift 3
	line=$("$SB" time "$@")
	set -- $line
	[ "$4" = 0 ] || echo "control.sh: $c n=$n rep=$r exited $4" >&2
	echo "$c $n $r $line" >>"$RAW"
}

# sluice -j output: the "commit_us" / "build_us" figure
json_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }

for n in $SIZES; do
	reps=$REPS_SMALL
	[ "$n" -ge 100000 ] && reps=$REPS_BIG
	"$SB" gen -f 4 -n "$n" -s 1 -F spec --chain bench --ifname bv0 >"$W/a.json"
	"$SB" gen -f 4 -n "$n" -s 2 -F spec --chain bench --ifname bv0 >"$W/b.json"
	"$SB" gen -f 4 -n "$n" -s 2 -c -F spec --chain bench --ifname bv0 >"$W/b1.json"
	for f in ipt nft nftmap ipset; do
		"$SB" gen -f 4 -n "$n" -s 1 -F $f >"$W/a.$f"
	done
	echo "control: $n rules, $reps repetitions" >&2
	r=1
	while [ "$r" -le "$reps" ]; do
		# sluice: fresh chain, then on top, one-rule change, rollback
		sl -c bench detach >/dev/null 2>&1 || true
		rm -rf "$SD" "$PR"
		mkdir -p "$PR"
		tm sluice_fresh "$n" "$r" -o "$W/out" -- nsenter --net=/run/netns/$NS "$SL" \
			--pin-root "$PR" --state-dir "$SD" -j apply -f "$W/a.json"
		echo "sluice_fresh_build_us $n $r $(json_num build_us "$W/out") 0 0 0" >>"$RAW"
		echo "sluice_fresh_commit_us $n $r $(json_num commit_us "$W/out") 0 0 0" >>"$RAW"
		if [ "$n" -le "$ONTOP_MAX" ]; then
			tm sluice_ontop "$n" "$r" -o "$W/out" -- nsenter --net=/run/netns/$NS "$SL" \
				--pin-root "$PR" --state-dir "$SD" -j apply -f "$W/b.json"
			tm sluice_change1 "$n" "$r" -o "$W/out" -- nsenter --net=/run/netns/$NS "$SL" \
				--pin-root "$PR" --state-dir "$SD" -j apply -f "$W/b1.json"
			tm sluice_rollback "$n" "$r" -o "$W/out" -- nsenter --net=/run/netns/$NS "$SL" \
				--pin-root "$PR" --state-dir "$SD" -j rollback
			echo "sluice_rollback_commit_us $n $r $(json_num commit_us "$W/out") 0 0 0" >>"$RAW"
		fi
		sl -c bench detach >/dev/null 2>&1 || true

		# iptables-legacy, then one rule inserted on top
		in_ns iptables-legacy -F FORWARD
		tm ipt_legacy "$n" "$r" -i "$W/a.ipt" -- nsenter --net=/run/netns/$NS iptables-legacy-restore
		tm ipt_legacy_add1 "$n" "$r" -- nsenter --net=/run/netns/$NS iptables-legacy -I FORWARD 1 \
			-d 192.0.2.1/32 -p tcp -m tcp --dport 9 -j ACCEPT
		in_ns iptables-legacy -F FORWARD

		# iptables-nft
		in_ns nft flush ruleset
		tm ipt_nft "$n" "$r" -i "$W/a.ipt" -- nsenter --net=/run/netns/$NS iptables-nft-restore
		tm ipt_nft_add1 "$n" "$r" -- nsenter --net=/run/netns/$NS iptables-nft -I FORWARD 1 \
			-d 192.0.2.1/32 -p tcp -m tcp --dport 9 -j ACCEPT
		in_ns nft flush ruleset

		# nft, linear rules
		tm nft_rules "$n" "$r" -- nsenter --net=/run/netns/$NS nft -f "$W/a.nft"
		tm nft_rules_add1 "$n" "$r" -- nsenter --net=/run/netns/$NS nft insert rule ip slb filt \
			ip daddr 192.0.2.1 tcp dport 9 accept
		in_ns nft flush ruleset

		# nft, one interval verdict map
		tm nft_map "$n" "$r" -- nsenter --net=/run/netns/$NS nft -f "$W/a.nftmap"
		tm nft_map_add1 "$n" "$r" -- nsenter --net=/run/netns/$NS nft add element ip slb m \
			"{ 192.0.2.1 . tcp . 9 : accept }"
		in_ns nft flush ruleset

		# ipset
		in_ns ipset destroy 2>/dev/null || true
		tm ipset "$n" "$r" -i "$W/a.ipset" -- nsenter --net=/run/netns/$NS ipset restore
		tm ipset_add1 "$n" "$r" -- nsenter --net=/run/netns/$NS ipset add slb_allow 192.0.2.1,tcp:9
		in_ns ipset destroy
		r=$((r + 1))
	done
done

summary "$OUT"
