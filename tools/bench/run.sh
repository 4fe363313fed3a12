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

"$SRC/tools/bench/plot.sh" "$OUT"

echo
echo "== summary ($(($(date +%s) - T0)) s; results in $OUT)"
grep -h -E 'PASS|MISS' "$OUT/micro.txt" "$OUT/control.txt" "$OUT/live.txt" 2>/dev/null || true
