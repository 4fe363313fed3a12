#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The body of `make bench` (docs/benchmarks.md):
#
#   tools/bench/run.sh BUILD_DIR
#
# Environment: QUICK=1 (a ~3 minute run: fewer repeats, rounds and sizes;
# its figures are not the issue's method), BENCH_OUT=<dir> (default
# BUILD_DIR/bench/results), MICRO_ARGS (extra arguments of
# `sluice-bench micro`), SKIP=micro,control (parts to skip).
#
# 1. micro (tier 2): BPF_PROG_TEST_RUN, pinned to one CPU, ratios against a
#    hash lookup and an LPM trie in the same run (sluice-bench micro)
# 2. control plane (tier 4): sluice apply / rollback against iptables,
#    nft and ipset (tools/bench/control.sh)
# 3. live (tier 3): frames through veth into sluice and into netfilter
#    baselines (tools/bench/live.sh)
# 4. plots (gnuplot, installed by `tools/install-deps.sh --bench`)
# Every part prints PASS/MISS against the targets of issue 6.
set -eu
PATH="$PATH:/usr/sbin:/sbin"

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build dir $1: run make" >&2; exit 2; }
SB=$B/bench/sluice-bench
[ -x "$SB" ] || { echo "run.sh: $SB missing: run make" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run.sh: the benchmarks load BPF programs: run as root (sudo make bench)" >&2; exit 2; }
QUICK=${QUICK:-0}
SKIP=${SKIP:-}
OUT=${BENCH_OUT:-$B/bench/results}
mkdir -p "$OUT"

"$SRC/tools/install-deps.sh" --bench
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	mount -t bpf bpf /sys/fs/bpf
fi
ulimit -l unlimited 2>/dev/null || true

T0=$(date +%s)
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit: $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "kernel: $(uname -r)"
	echo "cpu: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "tools: $(nft --version 2>/dev/null), $(iptables-legacy --version 2>/dev/null), $(ipset --version 2>/dev/null | head -1)"
	echo "mode: $([ "$QUICK" = 1 ] && echo QUICK || echo full)"
} | tee "$OUT/machine.txt"

case ",$SKIP," in
*,micro,*) ;;
*)
	if [ "$QUICK" = 1 ]; then
		set -- -r 1000000 -k 5 -n 10,100000 --max-run-ms 300 --min-repeat 100000
	else
		set -- # the issue's method: repeat 5,000,000, 11 rounds, 10 to 100k rules
	fi
	# shellcheck disable=SC2086
	"$SB" micro "$@" ${MICRO_ARGS:-} --csv "$OUT/micro.csv" | tee "$OUT/micro.txt"
	;;
esac

case ",$SKIP," in
*,control,*) ;;
*) QUICK=$QUICK "$SRC/tools/bench/control.sh" "$B" "$OUT" ;;
esac

case ",$SKIP," in
*,live,*) ;;
*) QUICK=$QUICK "$SRC/tools/bench/live.sh" "$B" "$OUT" ;;
esac

# Plots: one per family (micro: ns above the floor against rules, median
# with min-max bars), one for the control plane (median wall ms).
if command -v gnuplot >/dev/null; then
	if [ -s "$OUT/micro.csv" ]; then
		for fam in 4 6; do
			for f in fw hash lpm chain; do
				awk -F, -v fam=$fam -v f=$f '$1 == fam && $3 == "fig" && $4 == f { print $2, $5, $6, $7 }' \
					"$OUT/micro.csv" >"$OUT/micro-v$fam-$f.dat"
			done
			[ -s "$OUT/micro-v$fam-fw.dat" ] || continue
			gnuplot <<EOF
set terminal pngcairo size 800,500 noenhanced
set output "$OUT/micro-v$fam.png"
set title "IPv$fam: ns per packet above the floor, varying keys (median, min-max) - $(sed -n 's/^date: //p' "$OUT/machine.txt")"
set logscale xy
set xlabel "rules"
set ylabel "ns per packet"
set key top left
set grid
plot "$OUT/micro-v$fam-fw.dat" using 1:3:2:4 with yerrorlines title "sluice fw stage", \
     "$OUT/micro-v$fam-chain.dat" using 1:3:2:4 with yerrorlines title "entry + fw (chain)", \
     "$OUT/micro-v$fam-hash.dat" using 1:3:2:4 with yerrorlines title "one hash lookup", \
     "$OUT/micro-v$fam-lpm.dat" using 1:3:2:4 with yerrorlines title "LPM trie lookup"
EOF
		done
	fi
	if [ -s "$OUT/control.raw" ]; then
		plots=""
		for c in sluice_fresh sluice_ontop ipt_legacy ipt_nft nft_rules nft_map ipset; do
			awk -v c=$c '$1 == c { print $2, $4 }' "$OUT/control.raw" | sort -n -k1,1 -k2,2 |
				awk '{ v[$1] = v[$1] " " $2; n[$1]++ } END { for (k in v) { split(v[k], a, " "); m = n[k]; print k, a[int((m + 1) / 2)] } }' |
				sort -n >"$OUT/control-$c.dat"
			[ -s "$OUT/control-$c.dat" ] &&
				plots="$plots${plots:+, }\"$OUT/control-$c.dat\" using 1:2 with linespoints title \"$c\""
		done
		gnuplot <<EOF
set terminal pngcairo size 800,500 noenhanced
set output "$OUT/control.png"
set title "Loading N IPv4 rules: median wall ms per process - $(sed -n 's/^date: //p' "$OUT/machine.txt")"
set logscale xy
set xlabel "rules"
set ylabel "ms"
set key top left
set grid
plot $plots
EOF
	fi
	if [ -s "$OUT/live.raw" ]; then
		plots=""
		for c in xdp_drop sluice nft_map ipset nft_rules ipt_legacy ipt_nft; do
			awk -v c=$c '$1 == c { print $2, $4 }' "$OUT/live.raw" | sort -n -k1,1 -k2,2 |
				awk '{ v[$1] = v[$1] " " $2; n[$1]++ } END { for (k in v) { split(v[k], a, " "); m = n[k]; print k, a[int((m + 1) / 2)] / 1e6 } }' |
				sort -n >"$OUT/live-$c.dat"
			[ -s "$OUT/live-$c.dat" ] &&
				plots="$plots${plots:+, }\"$OUT/live-$c.dat\" using 1:2 with linespoints title \"$c\""
		done
		gnuplot <<EOF2
set terminal pngcairo size 800,500 noenhanced
set output "$OUT/live.png"
set title "Live: Mpps judged by the device under test, N IPv4 deny rules (median) - $(sed -n 's/^date: //p' "$OUT/machine.txt")"
set logscale xy
set xlabel "rules"
set ylabel "Mpps"
set key bottom left
set grid
plot $plots
EOF2
	fi
	ls "$OUT"/*.png 2>/dev/null | sed 's/^/plot: /'
else
	echo "run.sh: gnuplot missing: no plots" >&2
fi

echo
echo "== summary ($(($(date +%s) - T0)) s; results in $OUT)"
grep -h -E 'PASS|MISS' "$OUT/micro.txt" "$OUT/control.txt" "$OUT/live.txt" 2>/dev/null || true
