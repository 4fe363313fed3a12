#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Plots of a `make bench` result directory (gnuplot):
#
#   tools/bench/plot.sh OUT_DIR
#
# micro-v4.png, micro-v6.png (ns per packet above the floor against rules,
# median with min-max bars), control.png (median wall ms of loading N
# rules), live.png (median Mpps against rules), from micro.csv,
# control.raw and live.raw.
set -eu
OUT=$1

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
set title "IPv$fam: ns per packet above the floor, varying keys (median, min-max)"
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
set title "Loading N IPv4 rules: median wall ms per process"
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
set title "Live: Mpps judged by the device under test, N IPv4 deny rules (median)"
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

