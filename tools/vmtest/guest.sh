#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs inside the vmtest guest, as root, on the host's root filesystem (read
# only, under a tmpfs overlay), with OUTDIR a writable share of the host's
# run directory. Started as PID 1 by the initramfs (tools/vmtest/init), or
# as the command of `vng --exec`.
#
#   guest.sh OUTDIR
#
# Reads OUTDIR/env (SLUICE_SRC, SLUICE_BUILD, VMTEST_FILTER, VMTEST_MODDIR,
# VMTEST_CMD, TEST_TIMEOUT, V), prepares what the selftests expect of a
# machine (proc, sys, dev, a fresh /run and /tmp, bpffs, cgroup2, debugfs,
# the kernel's modules for autoloading, veth, lo up), runs selftests/run.sh
# (once per filter word) or VMTEST_CMD, and writes
# OUTDIR/output (the runner's output), OUTDIR/rc (its exit status, written
# last: its presence means the run completed), OUTDIR/dmesg and
# OUTDIR/guest-info. As PID 1 it then powers the VM off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME
umask 022

OUT=${1:?usage: guest.sh OUTDIR}
PID1=0
[ "$$" -eq 1 ] && PID1=1

poweroff_vm() {
	sync
	if [ "$PID1" = 1 ]; then
		# No init system to ask: power off through sysrq (works for
		# root whatever kernel.sysrq says).
		echo o >/proc/sysrq-trigger
		sleep 30
	fi
}

uptime_s() {
	cut -d' ' -f1 /proc/uptime 2>/dev/null
}

log() {
	echo "[$(uptime_s)] $*" >>"$OUT/guest-info"
	[ "$PID1" = 1 ] && echo "vmtest-guest: $*" >/dev/console
	return 0
}

# Fatal before the tests could start: the host sees no rc and says why.
fatal() {
	echo "$*" >"$OUT/init-error"
	log "$*"
	poweroff_vm
	exit 3
}

is_fs() { # DIR FSTYPE
	[ "$(stat -f -c %T "$1" 2>/dev/null)" = "$2" ]
}

under() { # PATH DIR: PATH is DIR or below it
	case $1/ in
	"$2"/*) return 0 ;;
	esac
	return 1
}

. "$OUT/env" || fatal "cannot read $OUT/env"
echo "[$(uptime_s)] guest.sh started" >>"$OUT/guest-info"

# /proc, /sys and /dev come from the initramfs (or vng); mount them when not.
is_fs /proc proc || mount -t proc proc /proc || fatal "cannot mount /proc"
is_fs /sys sysfs || mount -t sysfs sysfs /sys || fatal "cannot mount /sys"
is_fs /dev devtmpfs || is_fs /dev tmpfs || mount -t devtmpfs devtmpfs /dev ||
	fatal "cannot mount /dev"
mkdir -p /dev/pts /dev/shm
is_fs /dev/pts devpts || mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts || true
is_fs /dev/shm tmpfs || mount -t tmpfs -o mode=1777 tmpfs /dev/shm || true
# A fresh /tmp (the host's shows through the overlay otherwise), unless the
# source or build tree lives there.
if ! under "$SLUICE_SRC" /tmp && ! under "$SLUICE_BUILD" /tmp; then
	mount -t tmpfs -o mode=1777 tmpfs /tmp || fatal "cannot mount /tmp"
fi
# Mounts the selftests and sluice use.
mkdir -p /sys/fs/bpf
is_fs /sys/fs/bpf bpf_fs || mount -t bpf -o mode=0700 bpf /sys/fs/bpf ||
	fatal "cannot mount bpffs"
is_fs /sys/fs/cgroup cgroup2fs || mount -t cgroup2 cgroup2 /sys/fs/cgroup || true
is_fs /sys/kernel/debug debugfs || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
is_fs /sys/kernel/tracing tracefs || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

# The guest kernel's modules, for the kernel's autoloading (sch_ingress,
# cls_bpf, nf_tables, ...) through the host's modprobe.
KVER=$(uname -r)
if [ ! -d "/lib/modules/$KVER/kernel" ] && [ -n "${VMTEST_MODDIR:-}" ]; then
	mkdir -p "/lib/modules/$KVER" &&
		mount --bind "$VMTEST_MODDIR" "/lib/modules/$KVER" ||
		log "cannot bind $VMTEST_MODDIR at /lib/modules/$KVER: no module autoloading"
fi
# Its config too, for tools that read /boot/config-$(uname -r) (bpftool
# feature probe).
if [ -n "${VMTEST_MODDIR:-}" ] && [ ! -e "/boot/config-$KVER" ] &&
	[ -f "$VMTEST_MODDIR/../../../boot/config-$KVER" ]; then
	cp "$VMTEST_MODDIR/../../../boot/config-$KVER" "/boot/config-$KVER" 2>/dev/null || true
fi
[ -x /sbin/modprobe ] || log "no /sbin/modprobe (kmod) on the host root: no module autoloading"
[ -d /sys/module/veth ] || modprobe veth 2>/dev/null ||
	log "veth is not loaded: the netns tests will fail"

echo "[$(uptime_s)] mounts done" >>"$OUT/guest-info"
hostname sluice-vmtest 2>/dev/null || true
ip link set lo up 2>/dev/null || true
ulimit -l unlimited 2>/dev/null || true

{
	echo "kernel: $(uname -r) $(uname -v)"
	echo "cpus: $(nproc), memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
	echo "uptime at test start: $(cut -d' ' -f1 /proc/uptime) s"
} >>"$OUT/guest-info"

export TEST_TIMEOUT V
[ -n "${TEST_TIMEOUT:-}" ] || unset TEST_TIMEOUT
rc=0
cd "$SLUICE_SRC" || fatal "no source tree $SLUICE_SRC in the guest"
CLOSING='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'
if [ -n "${VMTEST_CMD:-}" ]; then
	# A command of the developer's instead of the selftests.
	sh -c "$VMTEST_CMD" >"$OUT/output" 2>&1 </dev/null || rc=$?
elif [ -z "${VMTEST_FILTER:-}" ]; then
	"$SLUICE_SRC/selftests/run.sh" "$SLUICE_BUILD" >"$OUT/output" 2>&1 || rc=$?
else
	# Several filters (T="a b"): one runner per filter, in this one VM;
	# a filter that selects nothing is an error (a typo must not pass).
	: >"$OUT/output"
	n=0
	for f in $VMTEST_FILTER; do
		n=$((n + 1))
		frc=0
		"$SLUICE_SRC/selftests/run.sh" "$SLUICE_BUILD" "$f" >>"$OUT/output" 2>&1 || frc=$?
		if tail -n 1 "$OUT/output" | grep -qx '0 passed, 0 failed, 0 skipped'; then
			echo "vmtest: filter '$f' selects no test" >>"$OUT/output"
			[ "$frc" -ne 0 ] || frc=1
		fi
		[ "$frc" -le "$rc" ] || rc=$frc
	done
	# One closing line for the whole run: the sum over the filters.
	if [ "$n" -gt 1 ]; then
		grep -E "$CLOSING" "$OUT/output" | awk '
			{ p += $1; f += $3; s += $5 }
			END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' >"$OUT/total"
		{
			echo "vmtest: all $n filters together:"
			cat "$OUT/total"
		} >>"$OUT/output"
		rm -f "$OUT/total"
	fi
fi
echo "uptime at test end: $(cut -d' ' -f1 /proc/uptime) s" >>"$OUT/guest-info"
dmesg >"$OUT/dmesg" 2>/dev/null || true
echo "$rc" >"$OUT/rc.tmp" && mv "$OUT/rc.tmp" "$OUT/rc"
poweroff_vm
exit "$rc"
