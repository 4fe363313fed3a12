/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluice-cni ABI (docs/cni.md): the endpoints map, one entry per pod
 * address (written by the plugin, read by the pod datapath to find a local
 * pod), and the pod datapath's counters. */
#ifndef SLUICE_SHARED_CNI_H
#define SLUICE_SHARED_CNI_H

#include <linux/types.h>

/* Map PIN_ROOT/cni/endpoints (HASH, CNI_EP_MAX entries, with BTF). */
struct sl_cni_ep_key {
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];		/* network order; IPv4 in addr[0..3], rest 0 */
};
_Static_assert(sizeof(struct sl_cni_ep_key) == 20, "sl_cni_ep_key ABI");

struct sl_cni_ep {
	__u32 ifindex;		/* host veth (the pod datapath's redirect target) */
	__u32 pod_ifindex;	/* in the pod's netns */
	char container_id[128];
	char ifname[16];
	char netns[128];
	char pod_namespace[64];
	char pod_name[256];
	char network[64];
	char chain[64];
	__u8 mac[6];		/* host veth's: the source of redirected frames */
	__u8 pod_mac[6];	/* the pod interface's: their destination */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_cni_ep) == 8 + 128 + 16 + 128 + 64 + 256 + 64 + 64 + 16,
	       "sl_cni_ep ABI");

#define CNI_EP_MAX 65536

/* Map PIN_ROOT/cni/pod_stats (PERCPU_ARRAY of struct sl_counter): what the
 * pod datapath did with each packet a pod sent. */
enum pod_stat {
	POD_STAT_REDIRECT = 0,	/* to a local pod, straight into its netns */
	POD_STAT_STACK = 1,	/* not to a local pod: to the host stack */
	POD_STAT_TTL = 2,	/* to a local pod with TTL/hop limit <= 1: to the
				 * stack, which answers with ICMP time exceeded */
	POD_STAT_SELF = 3,	/* to the sending pod's own address: to the stack */
	POD_STAT_OTHER = 4,	/* not IPv4/IPv6, or a malformed IP header: to
				 * the stack, untouched */
	POD_STAT_REWRITE = 5,	/* the rewrite failed half-way: dropped */
	POD_STAT_MAX,
};

/* The pod datapath's cls_bpf filter at TC ingress of a pod's host veth:
 * after the chain's (handle 0x51c, priority 1; user/lib/attach.h). */
#define POD_TC_HANDLE 0x51d
#define POD_TC_PRIO 2

#endif
