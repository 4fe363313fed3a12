#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Builds the vmtest initramfs: a static busybox, tools/vmtest/init as /init,
# and the modules the guest needs before its root is mounted (virtio PCI,
# 9p over virtio, overlayfs) plus veth, with their dependencies in load order
# (resolved by kmod's `modprobe --show-depends`). Modules built into the
# kernel are skipped.
#
#   tools/vmtest/mkinitramfs.sh MODDIR VERSION OUT
#     MODDIR   the kernel's modules directory (the one with modules.dep)
#     VERSION  its kernel release (uname -r in the guest)
#     OUT      the gzip'd newc cpio to write
set -eu

INITRAMFS_MODULES="virtio_pci 9pnet_virtio 9p overlay veth"

die() {
	echo "mkinitramfs: $*" >&2
	exit 2
}

[ $# -eq 3 ] || die "usage: $0 MODDIR VERSION OUT"
MODDIR=$1
VER=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
MODPROBE=$(command -v modprobe || echo /sbin/modprobe)

[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep is missing (run depmod)"
[ -x "$MODPROBE" ] || die "modprobe (kmod) is missing: run tools/vmtest/install-deps.sh"
case $(od -An -c -j1 -N3 "$BUSYBOX" 2>/dev/null | tr -d ' ') in
ELF) ;;
*) die "$BUSYBOX is not a busybox binary: run tools/vmtest/install-deps.sh (busybox-static)" ;;
esac
if command -v ldd >/dev/null && ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: the initramfs needs busybox-static"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-initramfs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# modprobe -d wants BASE/lib/modules/VERSION: point one at MODDIR.
mkdir -p "$TMP/base/lib/modules" "$TMP/root/bin" "$TMP/root/modules" \
	"$TMP/root/proc" "$TMP/root/sys" "$TMP/root/dev"
ln -s "$(cd "$MODDIR" && pwd)" "$TMP/base/lib/modules/$VER"

: >"$TMP/root/modules.list"
for m in $INITRAMFS_MODULES; do
	deps=$("$MODPROBE" -d "$TMP/base" -S "$VER" --show-depends "$m" 2>&1) ||
		die "kernel $VER has no module $m and does not build it in: $deps"
	echo "$deps" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue # "builtin NAME": nothing to load
		name=${path##*/}
		grep -qx "$name" "$TMP/root/modules.list" && continue
		cp "$path" "$TMP/root/modules/$name"
		echo "$name" >>"$TMP/root/modules.list"
	done
done

cp "$BUSYBOX" "$TMP/root/bin/busybox"
for a in sh mount umount mkdir insmod sed cat echo sync poweroff switch_root sleep; do
	ln -s busybox "$TMP/root/bin/$a"
done
cp "$HERE/init" "$TMP/root/init"
chmod 0755 "$TMP/root/init"

(cd "$TMP/root" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
	gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
