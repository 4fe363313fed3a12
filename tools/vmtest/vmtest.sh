#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The body of `make vmtest`: the selftests inside a VM on another kernel
# (by default Debian 12's own 6.1 LTS), so that what loads and passes on the
# host's kernel is known to load and pass on the kernels clusters run.
#
#   tools/vmtest/vmtest.sh BUILD_DIR [FILTER...]
#
# FILTER selects tests as in `make test` (test[/subtest], a substring).
# Several filters (`make vmtest T="parse fw_fields"`) run one after the
# other in the same VM, each must select a test, and a last closing line
# sums them.
#
# The guest's root is the host's (read-only over 9p, under a tmpfs overlay),
# so it runs the same BUILD_DIR/test_progs, selftests/run.sh and tools as
# `make test`. Prints the runner's output and its closing line
# "N passed, N failed, N skipped".
#
# Exit status: 0 all selected tests passed; 1 a test failed; 2 a usage or
# setup error (missing package, no kernel); 3 the VM did not come up, timed
# out or wrote no result.
#
# Environment:
#   KERNEL          unset: the newest linux-image-6.1.0-*-amd64 Debian has
#                   (apt-get download, cached under BUILD_DIR/vmtest/);
#                   a Debian kernel release (6.1.0-50-amd64): that package;
#                   a path: a bzImage/vmlinuz, with its modules in KMODS.
#   KMODS           the modules directory of KERNEL=<path> (default: the
#                   lib/modules/<release> beside a dpkg -x tree, then
#                   /lib/modules/<release>).
#   VMTEST_RUNNER   auto (vng when installed, else qemu), qemu or vng.
#   VMTEST_ACCEL    tcg (default; KVM here cannot boot stock kernels) or kvm.
#   VMTEST_CPUS     guest CPUs (default 2), VMTEST_MEM guest memory (2G),
#   VMTEST_CPU      qemu's -cpu model (default: max under TCG, host with KVM).
#   VMTEST_TIMEOUT  seconds for the whole VM, boot to power-off (default
#                   3600; `make vmtest T=...` runs need far less).
#   TEST_TIMEOUT    per-test timeout of the runner inside the guest.
#   VMTEST_CMD      a shell command to run in the guest (as root, in the
#                   source tree) instead of the selftests; exits with its
#                   status. E.g. VMTEST_CMD='bpftool prog load ...'.
#   V=1             the runner's verbose mode; also echoes the guest console.
set -eu

PATH="$PATH:/usr/sbin:/sbin"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

die() {
	echo "vmtest: $*" >&2
	exit 2
}

[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [FILTER...]"
BUILD=$(cd "$1" 2>/dev/null && pwd) || die "no build directory '$1': run 'make' first"
shift
FILTER=$*
[ -x "$BUILD/test_progs" ] || die "$BUILD/test_progs is missing: run 'make' first"

RUNNER=${VMTEST_RUNNER:-auto}
ACCEL=${VMTEST_ACCEL:-tcg}
CPUS=${VMTEST_CPUS:-2}
MEM=${VMTEST_MEM:-2G}
VM_TIMEOUT=${VMTEST_TIMEOUT:-3600}
case $RUNNER in
auto) command -v vng >/dev/null 2>&1 && RUNNER=vng || RUNNER=qemu ;;
qemu | vng) ;;
*) die "VMTEST_RUNNER must be auto, qemu or vng" ;;
esac
case $ACCEL in
tcg | kvm) ;;
*) die "VMTEST_ACCEL must be tcg or kvm" ;;
esac

"$HERE/install-deps.sh" --check "$RUNNER" || exit 2

case $BUILD/ in
/tmp/* | /run/* | /proc/* | /sys/* | /dev/*)
	# The guest mounts its own /run (and /tmp unless the tree is there).
	case $BUILD/ in /tmp/*) ;; *) die "BUILD_DIR $BUILD is hidden in the guest: use another O=" ;; esac
	;;
esac

CACHE=$BUILD/vmtest
mkdir -p "$CACHE/kernels"

# The release string of a bzImage: the setup header's kernel_version field
# (offset 0x20e) points at it, 0x200 bytes before.
bzimage_release() {
	off=$(od -An -tu2 -j526 -N2 "$1" 2>/dev/null | tr -d ' ')
	[ -n "$off" ] || return 1
	dd if="$1" bs=1 skip=$((off + 512)) count=128 2>/dev/null | tr '\0' '\n' |
		head -n1 | cut -d' ' -f1
}

# Fetches Debian's linux-image-RELEASE into the cache (dpkg -x, depmod -b).
fetch_debian() {
	rel=$1
	dir=$CACHE/kernels/$rel
	if [ -f "$dir/.complete" ]; then
		return 0
	fi
	echo "vmtest: fetching linux-image-$rel (apt-get download)" >&2
	tmp=$(mktemp -d "$CACHE/kernels/.fetch.XXXXXX")
	if ! (cd "$tmp" && apt-get download -qq "linux-image-$rel" >/dev/null 2>&1); then
		rm -rf "$tmp"
		return 1
	fi
	dpkg -x "$tmp"/linux-image-"$rel"_*.deb "$tmp/root" || { rm -rf "$tmp"; return 1; }
	depmod -b "$tmp/root" "$rel" || { rm -rf "$tmp"; return 1; }
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
	touch "$dir/.complete"
}

# Picks the kernel: sets VMLINUZ, KREL and MODDIR.
if [ -z "${KERNEL:-}" ]; then
	newest=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		cut -d' ' -f1 | sed 's/^linux-image-//' | sort -V | tail -n1)
	cached=$(ls -d "$CACHE"/kernels/6.1.0-*-amd64/.complete 2>/dev/null |
		sed 's|/.complete$||; s|.*/||' | sort -V | tail -n1)
	if [ -n "$newest" ] && fetch_debian "$newest"; then
		KREL=$newest
	elif [ -n "$cached" ]; then
		echo "vmtest: cannot fetch ${newest:-a 6.1 kernel}; using the cached $cached" >&2
		KREL=$cached
	elif [ -z "$newest" ]; then
		die "apt knows no linux-image-6.1.0-*-amd64: run 'apt-get update' (Debian 12's archive)"
	else
		die "cannot download linux-image-$newest: is Debian's archive reachable?"
	fi
	VMLINUZ=$CACHE/kernels/$KREL/boot/vmlinuz-$KREL
	MODDIR=$CACHE/kernels/$KREL/lib/modules/$KREL
elif [ -f "$KERNEL" ]; then
	VMLINUZ=$(cd "$(dirname "$KERNEL")" && pwd)/$(basename "$KERNEL")
	KREL=$(bzimage_release "$VMLINUZ") || KREL=
	[ -n "$KREL" ] || die "cannot read the kernel release from $VMLINUZ (not a bzImage?)"
	if [ -n "${KMODS:-}" ]; then
		MODDIR=$KMODS
	elif [ -d "$(dirname "$VMLINUZ")/../lib/modules/$KREL" ]; then
		MODDIR=$(dirname "$VMLINUZ")/../lib/modules/$KREL
	else
		MODDIR=/lib/modules/$KREL
	fi
	[ -d "$MODDIR" ] || die "no modules for $KREL at $MODDIR: set KMODS=<dir>"
	MODDIR=$(cd "$MODDIR" && pwd)
	if [ ! -f "$MODDIR/modules.dep" ]; then
		die "$MODDIR has no modules.dep: run depmod for it first"
	fi
else
	case $KERNEL in
	[0-9]*.[0-9]*.[0-9]*-*) ;;
	*) die "KERNEL=$KERNEL is neither a file nor a Debian kernel release (e.g. 6.1.0-50-amd64)" ;;
	esac
	fetch_debian "$KERNEL" || die "cannot download linux-image-$KERNEL (apt-get update? the name?)"
	KREL=$KERNEL
	VMLINUZ=$CACHE/kernels/$KREL/boot/vmlinuz-$KREL
	MODDIR=$CACHE/kernels/$KREL/lib/modules/$KREL
fi
[ -f "$VMLINUZ" ] || die "no kernel image $VMLINUZ"

# The run directory: the guest's writable share. Keep the last few runs.
RUNS=$CACHE/runs
mkdir -p "$RUNS"
RUN=$(mktemp -d "$RUNS/$(date +%Y%m%d-%H%M%S).XXXX")
chmod 0755 "$RUN"
ls -d "$RUNS"/*/ 2>/dev/null | sort | head -n -5 | while read -r old; do rm -rf "$old"; done
ln -sfn "$RUN" "$CACHE/last"

shq() { # single-quote for the env file
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
{
	echo "SLUICE_SRC=$(shq "$SRC")"
	echo "SLUICE_BUILD=$(shq "$BUILD")"
	echo "VMTEST_FILTER=$(shq "$FILTER")"
	echo "VMTEST_MODDIR=$(shq "$MODDIR")"
	echo "VMTEST_CMD=$(shq "${VMTEST_CMD:-}")"
	echo "TEST_TIMEOUT=$(shq "${TEST_TIMEOUT:-}")"
	echo "V=$(shq "${V:-0}")"
} >"$RUN/env"

what=
[ -n "$FILTER" ] && what="tests matching '$FILTER'"
[ -n "${VMTEST_CMD:-}" ] && what="VMTEST_CMD"
echo "vmtest: kernel $KREL ($RUNNER, $ACCEL, $CPUS cpus, $MEM)${what:+, $what}; logs in ${RUN#"$SRC"/}"

QEMU_PID=
TAIL_PID=
cleanup() {
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null || true
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$(date +%s)
if [ "$RUNNER" = vng ]; then
	# virtme-ng boots the host's root its own way; guest.sh does the rest.
	set -- --run "$VMLINUZ" --user root --cpus "$CPUS" --memory "$MEM" \
		--rwdir "$RUN" --exec "/bin/sh $SRC/tools/vmtest/guest.sh $RUN"
	[ "$ACCEL" = tcg ] && set -- --disable-kvm "$@"
	timeout -k 10 "$VM_TIMEOUT" vng "$@" >"$RUN/console.log" 2>&1 </dev/null &
	QEMU_PID=$!
else
	"$HERE/mkinitramfs.sh" "$MODDIR" "$KREL" "$RUN/initramfs.cpio.gz" ||
		die "cannot build the initramfs"
	if [ "$ACCEL" = kvm ]; then
		set -- -machine pc -accel kvm -cpu "${VMTEST_CPU:-host}"
	else
		set -- -machine pc -accel tcg,thread=multi -cpu "${VMTEST_CPU:-max}"
	fi
	set -- "$@" -smp "$CPUS" -m "$MEM" -nodefaults -no-user-config -nographic \
		-no-reboot -monitor none -serial "file:$RUN/console.log" -nic none \
		-kernel "$VMLINUZ" -initrd "$RUN/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off" \
		-fsdev local,id=vmroot,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=vmroot,mount_tag=vmtest_root \
		-fsdev "local,id=vmout,path=$RUN,security_model=none" \
		-device virtio-9p-pci,fsdev=vmout,mount_tag=vmtest_out
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 "$@" </dev/null >"$RUN/qemu.log" 2>&1 &
	QEMU_PID=$!
fi

# Stream the runner's output while the VM runs; note when each test starts
# and ends (seconds since the start, +-1 s) in the run's timeline file.
: >"$RUN/output"
tail -n +1 -f --pid="$QEMU_PID" "$RUN/output" | while IFS= read -r line; do
	printf '%s\n' "$line"
	case $line in
	'#'[0-9]*) echo "$(($(date +%s) - START)) $line" >>"$RUN/timeline" ;;
	esac
done &
TAIL_PID=$!
[ "${V:-0}" = 1 ] && tail -n +1 -f --pid="$QEMU_PID" "$RUN/console.log" 2>/dev/null &
vmrc=0
wait "$QEMU_PID" || vmrc=$?
QEMU_PID=
wait "$TAIL_PID" 2>/dev/null || true
TAIL_PID=
SECS=$(($(date +%s) - START))

ESC=$(printf '\033')
show_logs() {
	if [ -s "$RUN/init-error" ]; then
		echo "vmtest: the guest said: $(cat "$RUN/init-error")" >&2
	fi
	for f in qemu.log console.log; do
		[ -s "$RUN/$f" ] || continue
		echo "vmtest: last lines of $f:" >&2
		# Without the terminal escapes of SeaBIOS.
		tail -n 25 "$RUN/$f" | sed "s/$ESC\[[0-9;?]*[A-Za-z]//g; s/${ESC}c//g; s/^/    /" >&2
	done
}

if [ ! -s "$RUN/rc" ]; then
	if [ "$vmrc" = 124 ] || [ "$vmrc" = 137 ]; then
		echo "vmtest: FAIL: the VM timed out after ${VM_TIMEOUT}s (VMTEST_TIMEOUT) with no result" >&2
	else
		echo "vmtest: FAIL: the VM did not come up or wrote no result (exit $vmrc) after ${SECS}s" >&2
	fi
	show_logs
	exit 3
fi
rc=$(cat "$RUN/rc")
if [ -n "${VMTEST_CMD:-}" ]; then
	echo "vmtest: kernel $KREL, ${SECS}s from start to power-off: the command exited $rc"
	exit "$rc"
fi
closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$RUN/output" | tail -n 1 || true)
if [ -z "$closing" ]; then
	echo "vmtest: FAIL: the runner printed no closing line (exit $rc) after ${SECS}s" >&2
	show_logs
	[ "$rc" -ne 0 ] 2>/dev/null && exit 1
	exit 3
fi
echo "vmtest: kernel $KREL, ${SECS}s from start to power-off: $closing"
case $rc in
0) exit 0 ;;
*) exit 1 ;;
esac
