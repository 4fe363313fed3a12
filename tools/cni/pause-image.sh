#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Builds a pause image offline: a docker-archive tarball (docker save
# format, which `ctr images import` and `podman load` read) of one layer
# holding Debian's busybox-static as /bin/busybox (plus /bin/sh), whose
# entrypoint sleeps until it is killed. No registry, no podman needed.
# The output is reproducible (fixed mtimes, owners and order).
#   tools/cni/pause-image.sh OUT.tar [REF]     REF: localhost/sluice-pause:1
set -eu

OUT=${1:?usage: $0 OUT.tar [REF]}
REF=${2:-localhost/sluice-pause:1}
BB=/bin/busybox
[ -x "$BB" ] && "$BB" --list 2>/dev/null | grep -qx sleep ||
	{ echo "pause-image.sh: busybox-static is missing (tools/install-deps.sh)" >&2; exit 3; }
file -b "$BB" 2>/dev/null | grep -q 'statically linked' ||
	! ldd "$BB" >/dev/null 2>&1 ||
	{ echo "pause-image.sh: $BB is not static (install busybox-static)" >&2; exit 3; }

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/root/bin" "$W/root/dev" "$W/root/proc" "$W/root/sys" "$W/root/etc" "$W/root/tmp" "$W/img"
cp "$BB" "$W/root/bin/busybox"
ln -s busybox "$W/root/bin/sh"
ln -s busybox "$W/root/bin/sleep"
: >"$W/root/etc/hosts"
: >"$W/root/etc/resolv.conf"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$W/root" -cf "$W/img/layer.tar" .
DIFF=$(sha256sum "$W/img/layer.tar" | cut -d' ' -f1)
# pid 1 of the sandbox: exit on TERM/INT, otherwise sleep forever.
cat >"$W/img/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Entrypoint":["/bin/sh","-c","trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"],
  "Env":["PATH=/bin"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$DIFF"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"tools/cni/pause-image.sh"}]}
JSON
CFG=$(sha256sum "$W/img/config.json" | cut -d' ' -f1)
mv "$W/img/config.json" "$W/img/$CFG.json"
mkdir "$W/img/$DIFF"
mv "$W/img/layer.tar" "$W/img/$DIFF/layer.tar"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$CFG" "$REF" "$DIFF" >"$W/img/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$W/img" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
