/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Load balancer ABI (docs/loadbalancer.md): services by (VIP, port,
 * protocol), their Maglev tables and backends (per generation), and the
 * chain's flow tables, which pin every flow to its backend across
 * backend changes and generations. */
#ifndef SLUICE_SHARED_LB_H
#define SLUICE_SHARED_LB_H

#include <linux/types.h>
#include "flow.h"

/* Map lb_svc (HASH, per generation). */
struct lb_svc_key {
	__u32 vip[4];	/* network order; IPv4 in [0] */
	__u16 port;	/* host order */
	__u8 proto;	/* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;	/* 4 or 6 */
};
_Static_assert(sizeof(struct lb_svc_key) == 20, "lb_svc_key ABI");

/* lb_svc.mode */
#define LB_MODE_DNAT 1	/* rewrite the destination; replies come back */
#define LB_MODE_DSR 2	/* encapsulate toward the backend; replies bypass */
/* lb_svc.encap (mode dsr) */
#define LB_ENCAP_IPIP 1	/* IPv4-in-IPv4 / IPv6-in-IPv6 (proto 4 / 41) */
#define LB_ENCAP_GUE 2	/* outer UDP to gue_port, GUE variant 1: the inner
			 * IP header right after the UDP header */
#define LB_GUE_PORT_DEFAULT 6080
#define LB_GUE_SPORT_BASE 49152 /* outer UDP source: base + hash % 16384 */

struct lb_svc {
	__u32 table_off;  /* first slot of its Maglev table in lb_maglev */
	__u32 table_size; /* prime */
	__u32 id;	  /* index in the spec's services */
	__u32 nactive;	  /* backends with weight > 0; 0: no new flows */
	__u8 mode;	  /* LB_MODE_* */
	__u8 encap;	  /* LB_ENCAP_* (dsr) */
	__u16 gue_port;	  /* host order (dsr, gue) */
	__u32 encap_src[4]; /* outer source, network order (dsr) */
};
_Static_assert(sizeof(struct lb_svc) == 36, "lb_svc ABI");

/* Map lb_maglev (ARRAY of __u32, per generation): every service's table,
 * one after the other; a slot holds an index in lb_backends. */

/* lb_backend.state */
#define LB_BE_ACTIVE 1
#define LB_BE_DRAINING 2 /* no new flows; pinned flows go on */

/* Map lb_backends (ARRAY, per generation). */
struct lb_backend {
	__u32 addr[4];	/* network order */
	__u16 port;	/* host order */
	__u8 family;
	__u8 state;	/* LB_BE_* */
	__u32 counter;	/* slot in the chain's fw_counters */
	__u32 pad;
};
_Static_assert(sizeof(struct lb_backend) == 28, "lb_backend ABI");

/* Maps lb_flows and lb_rev (LRU_HASH, the chain's, pinned): a flow as the
 * client sent it (to the VIP) -> its backend, and the backend's replies
 * (backend -> client) -> the VIP to put back as their source. */
struct lb_flow_key {
	__u32 saddr[4], daddr[4]; /* network order */
	__u16 sport, dport;	  /* host order */
	__u8 proto;
	__u8 family;
	__u16 pad;
};
_Static_assert(sizeof(struct lb_flow_key) == 40, "lb_flow_key ABI");

struct lb_nat {
	__u32 addr[4];	/* network order */
	__u16 port;	/* host order */
	__u8 state;	/* enum flow_state (shared/flow.h) */
	__u8 pad;
	__u32 counter;	/* forward: the backend's counter slot */
	__u64 last_ns;	/* CLOCK_BOOTTIME of the last packet (either way) */
	__u64 expires_ns; /* last_ns + the state's timeout; past it: dead */
};
_Static_assert(sizeof(struct lb_nat) == 40, "lb_nat ABI");

/* Map lb_addrs (HASH, per generation): every VIP and every dnat backend
 * address, for the fragment policy (a later fragment has no ports, so no
 * flow: to a VIP or from a backend it is dropped, lb_fragment). */
struct lb_addr_key {
	__u32 addr[4];	/* network order */
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct lb_addr_key) == 20, "lb_addr_key ABI");
#define LB_ADDR_VIP 0x1
#define LB_ADDR_BACKEND 0x2

#define LB_FLOWS_DEFAULT 65536

/* The stage's .rodata */
#define LB_CFG_FIB 0x1	/* redirect by bpf_fib_lookup (spec "fib") */
struct lb_config {
	__u32 nservices;
	__u32 flags;	/* LB_CFG_* */
	__u64 timeout_ns[FLOW_NTIMEOUTS]; /* per enum flow_state - 1 */
};

#endif
