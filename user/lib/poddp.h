/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pod datapath (bpf/pod.bpf.c) of sluice-cni: one program per pin root
 * and build, pinned at PIN_ROOT/cni/pod-<12 hex of the sha256 of the BPF
 * object> with its counters at PIN_ROOT/cni/pod_stats,
 * attached by the plugin at TC ingress of every pod's host veth
 * (POD_TC_HANDLE, POD_TC_PRIO in shared/cni.h). */
#ifndef SLUICE_PODDP_H
#define SLUICE_PODDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "shared/cni.h"

/* The pod datapath program's name (bpf/pod.bpf.c). */
#define POD_TC_PROG "sl_pod"

/* Load the program. ep_fd: the endpoints map to use (-1: a map of its
 * own, for tests); stats_fd likewise. *prog_fd and *stats_out (may be
 * NULL) get new fds. peer: bpf_redirect_peer (1) or bpf_redirect (0). */
int poddp_load(int ep_fd, int stats_fd, bool peer, int *prog_fd, int *stats_out);
/* "pod-<hex>": this build's pin name. */
int poddp_pin_name(char *name, size_t len);
/* This build's pinned program of pin_root; when absent and create is set,
 * loaded with ep_fd and pinned, and other builds' pins removed (veths
 * attached with them keep their program; the caller serializes creators).
 * Returns a program fd or a negative errno. */
int poddp_get(const char *pin_root, int ep_fd, bool create);
/* The pinned counters, or a negative errno. */
int poddp_stats_get(const char *pin_root);
/* The pod datapath's filter at TC ingress of ifindex (attach_tc_* at
 * POD_TC_HANDLE, POD_TC_PRIO): the program id there (0 if none), attach or
 * replace, detach (0 when already gone). */
uint32_t poddp_tc_prog(int ifindex);
int poddp_tc_attach(int ifindex, int prog_fd);
int poddp_tc_detach(int ifindex);

#endif
