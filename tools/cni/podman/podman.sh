#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A private home for podman 4.3 with its CNI backend, for the sluice-cni
# test, in the network namespace it is started in:
#   tools/cni/podman/podman.sh DIR BIN_DIR CONF_DIR
# DIR gets containers.conf (network_backend "cni", CNI plugins from
# BIN_DIR, network configs from CONF_DIR, runtime runc, cgroupfs), and
# podman's root/ and runroot/ (vfs storage) are to be put there by the
# caller's --root/--runroot.
#
# podman has no daemon: every command runs the CNI plugins itself, in its
# own network namespace. This script only holds the namespaces the
# commands run in: new mount and pid namespaces whose pid 1 sleeps until
# this process (unshare) is killed; the caller runs each podman command
# there with
#   nsenter -t PID -m -n --pid=/proc/PID/ns/pid_for_children -- podman ...
# (PID: this process), so that the plugins run in the node namespace (the
# pods' host veths land there, not in the root namespace) and the paths
# podman and libcni hard-code (/run/netns for the containers' namespaces,
# /var/lib/cni for libcni's result cache, /run/containers, /run/libpod) are
# private tmpfs mounts that go with the mount namespace. When this process
# dies, the kernel kills pid 1 and with it conmon and every container.
set -eu

DIR=${1:?usage: $0 DIR BIN_DIR CONF_DIR}
BIN=${2:?} CONF=${3:?}
mkdir -p "$DIR"
chmod 0700 "$DIR"
cat >"$DIR/containers.conf" <<TOML
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$BIN"]
network_config_dir = "$CONF"
TOML

exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
	sh -c 'for d in /run/netns /var/lib/cni /run/containers /run/libpod; do
			mkdir -p "$d" && mount -t tmpfs -o mode=0755,size=64m tmpfs "$d" || exit 1
		done
		trap "exit 0" TERM INT
		while :; do sleep 3600 & wait; done'
