#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The DaemonSet's init container: installs sluice-cni into the node's CNI
# binary directory and its network configuration into the node's CNI
# configuration directory, each atomically (write beside, then rename).
#
# An image without /usr/lib/sluice/cni/sluice-cni (a build without the
# plugin) installs nothing and says so: a conflist without its plugin
# would break pod networking on the node.
#
# Environment: CNI_BIN_DIR (default /host/opt/cni/bin), CNI_NET_DIR
# (/host/etc/cni/net.d), CNI_CONF_SRC (/etc/sluice/cni), PLUGIN
# (/usr/lib/sluice/cni/sluice-cni).
set -eu

BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
NET_DIR=${CNI_NET_DIR:-/host/etc/cni/net.d}
CONF_SRC=${CNI_CONF_SRC:-/etc/sluice/cni}
PLUGIN=${PLUGIN:-/usr/lib/sluice/cni/sluice-cni}

log() {
	printf '{"level":"%s","msg":"%s"}\n' "$1" "$2" >&2
}

if [ ! -x "$PLUGIN" ]; then
	log info "sluice-cni is not in this image ($PLUGIN): nothing installed, the node keeps its CNI network"
	exit 0
fi
mkdir -p "$BIN_DIR" "$NET_DIR"
cp "$PLUGIN" "$BIN_DIR/.sluice-cni.tmp"
chmod 0755 "$BIN_DIR/.sluice-cni.tmp"
mv -f "$BIN_DIR/.sluice-cni.tmp" "$BIN_DIR/sluice-cni"
for f in "$CONF_SRC"/*.conflist; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	cp "$f" "$NET_DIR/.$name.tmp"
	chmod 0644 "$NET_DIR/.$name.tmp"
	mv -f "$NET_DIR/.$name.tmp" "$NET_DIR/$name"
done
log info "installed sluice-cni and its network configuration"
