#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs a private containerd (1.6, Debian's) with the CRI plugin for the
# sluice-cni test, in the network namespace it is started in:
#   tools/cni/cri/containerd.sh DIR BIN_DIR CONF_DIR SANDBOX_IMAGE
# DIR gets config.toml, root/, state/ and the sockets (containerd.sock,
# containerd.sock.ttrpc); CRI's CNI plugins come from BIN_DIR and its
# network config from CONF_DIR.
#
# containerd runs in new mount and pid namespaces: pid 1 there is a shell
# that is SIGKILLed when this script's process (unshare) dies, and the
# kernel then kills everything in the pid namespace (containerd, its shims,
# every sandbox's pause process). The hard-coded host paths containerd and
# libcni write (/run/netns for the pods' namespaces, /run/containerd for
# shim sockets and runc state, /var/lib/cni for libcni's result cache) are
# private tmpfs mounts in the mount namespace, so they and every mount
# containerd makes (rootfs binds, shm, netns binds) go with it. Nothing is
# left on the host however containerd ends. Stopping: SIGTERM this process.
set -eu

DIR=${1:?usage: $0 DIR BIN_DIR CONF_DIR SANDBOX_IMAGE}
BIN=${2:?} CONF=${3:?} IMAGE=${4:?}
mkdir -p "$DIR/root" "$DIR/state"
chmod 0700 "$DIR" "$DIR/root" "$DIR/state"
cat >"$DIR/config.toml" <<TOML
version = 2
root = "$DIR/root"
state = "$DIR/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$DIR/containerd.sock"
[ttrpc]
  address = "$DIR/containerd.sock.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$BIN"
    conf_dir = "$CONF"
    max_conf_num = 1
TOML

exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
	sh -c 'for d in /run/netns /run/containerd /var/lib/cni; do
			mkdir -p "$d" && mount -t tmpfs -o mode=0755,size=64m tmpfs "$d" || exit 1
		done
		containerd --config "$1" &
		pid=$!
		trap "kill -TERM \$pid 2>/dev/null" TERM INT
		wait "$pid"; wait "$pid"' sh "$DIR/config.toml"
