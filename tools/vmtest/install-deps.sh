#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Debian packages `make vmtest` needs on top of tools/install-deps.sh
# (kept apart so that `make deps` / `make test` do not pull qemu for
# everyone). Idempotent and quiet when everything is there.
#   tools/vmtest/install-deps.sh                install what is missing (root)
#   tools/vmtest/install-deps.sh --check [vng]  only report; exit 1 if missing
#
# qemu-system-x86  the VM (TCG; KVM here cannot boot stock kernels)
# busybox-static   the initramfs
# kmod             depmod -b for the fetched kernel, modprobe --show-depends
#                  for the initramfs, and the guest's module autoloading
# The guest kernel itself is fetched by tools/vmtest/vmtest.sh with
# `apt-get download`, not installed.
set -eu

PKGS="qemu-system-x86 busybox-static kmod"

if [ "${1:-}" = --check ] && [ "${2:-}" = vng ]; then
	# virtme-ng is not packaged in Debian 12: when it is on PATH, it
	# brings its own qemu; the guest still needs modprobe.
	PKGS="kmod"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ "${1:-}" = --check ]; then
	if [ -n "$missing" ]; then
		echo "vmtest: missing Debian packages:$missing" >&2
		echo "vmtest: run 'sudo tools/vmtest/install-deps.sh' to install them" >&2
		exit 1
	fi
	exit 0
fi

[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "vmtest: installing$missing needs root: run 'sudo tools/vmtest/install-deps.sh'" >&2
	exit 1
fi
echo "vmtest: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
