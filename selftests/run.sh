#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The body of `make test` (README command 2: `sudo make test`).
#
#   selftests/run.sh BUILD_DIR [FILTER]   run the selftests (FILTER: test[/subtest])
#   selftests/run.sh --sweep              only remove stale test objects
#
# Prepares the machine (root, bpffs at /sys/fs/bpf, memlock), sweeps what
# tests of processes that no longer exist left behind (namespaces
# /run/netns/slt-<pid>-*, pin roots /sys/fs/bpf/slt-<pid>-*, temporary dirs
# /tmp/slt-<pid>-*), then runs BUILD_DIR/test_progs. Its last line is the
# runner's "N passed, N failed, N skipped"; the exit status is non-zero when
# a test failed. Environment: V=1 verbose, TEST_TIMEOUT=<s> per test.
set -eu

PATH="$PATH:/usr/sbin:/sbin"
SRC=$(cd "$(dirname "$0")/.." && pwd)

die() {
	echo "run.sh: $*" >&2
	exit 2
}

usage() {
	echo "usage: $0 BUILD_DIR [FILTER] | --sweep" >&2
	exit 2
}

# Objects are named slt-<pid>-...: those of a pid that is gone are stale.
stale_pid() {
	rest=${1#slt-}
	pid=${rest%%-*}
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	! kill -0 "$pid" 2>/dev/null
}

sweep() {
	n=0
	for f in /run/netns/slt-*; do
		[ -e "$f" ] || continue
		name=${f##*/}
		stale_pid "$name" || continue
		for p in $(ip netns pids "$name" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null || true
		done
		ip netns del "$name" 2>/dev/null || { umount -l "$f" 2>/dev/null || true; rm -f "$f" 2>/dev/null || true; }
		n=$((n + 1))
	done
	for f in /sys/fs/bpf/slt-* /tmp/slt-*; do
		[ -e "$f" ] || continue
		stale_pid "${f##*/}" || continue
		# Best effort: in a VM the host's /tmp may show through a
		# read-only overlay, and a pid the guest cannot see is not stale
		# there; a sweep must never stop the run.
		rm -rf "$f" 2>/dev/null || true
		n=$((n + 1))
	done
	# Cgroups named slt-<pid>-* (test_cni_cri's sandboxes' parent; runc
	# leaves them when a killed test could not remove them): empty once
	# their processes are gone, removed deepest first.
	for f in /sys/fs/cgroup/*/slt-* /sys/fs/cgroup/slt-*; do
		[ -d "$f" ] || continue
		stale_pid "${f##*/}" || continue
		find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
		n=$((n + 1))
	done
	[ "$n" -eq 0 ] || [ "${1:-}" = quiet ] || echo "run.sh: swept $n stale test object(s)"
}

[ $# -ge 1 ] || usage
[ "$(id -u)" -eq 0 ] ||
	die "the selftests load BPF programs and create network namespaces: run them as root ('sudo make test')"

if [ "$1" = --sweep ]; then
	sweep
	exit 0
fi

BUILD=$(cd "$1" 2>/dev/null && pwd) || die "no build directory '$1': run 'make' first"
FILTER=${2:-}
[ -x "$BUILD/test_progs" ] || die "$BUILD/test_progs is missing: run 'make' first"

# bpffs, where the tests pin (each under its own /sys/fs/bpf/slt-* root).
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs at /sys/fs/bpf"
fi
# Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
ulimit -l unlimited 2>/dev/null || true

sweep

set -- -b "$BUILD" -s "$SRC"
[ -n "$FILTER" ] && set -- "$@" -t "$FILTER"
[ "${V:-0}" = 1 ] && set -- "$@" -v

rc=0
"$BUILD/test_progs" "$@" || rc=$?
# The tests' watchdogs remove what a dead test left; catch any stragglers
# without printing after the runner's closing line.
sleep 0.2
sweep quiet
exit "$rc"
