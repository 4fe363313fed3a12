/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Idle timeouts of the load balancer's and the NAT's flow tables
 * (docs/loadbalancer.md, docs/nat.md): the state an entry is in, the
 * timeout of each state, and the counters of the tables (map lbnat_stats,
 * the chain's). Every entry of lb_flows, lb_rev, nat_flows and nat_rev
 * records when its flow was last seen and when it expires; a packet of
 * the flow, in either direction, refreshes both entries of the pair
 * (forward and reverse) with the timeout of the flow's new state. Past
 * expires_ns an entry is dead: the stages treat it as absent, and the
 * sweep (flow_gc(), `sluice services gc`, `sluice nat gc`, the agent)
 * deletes it. */
#ifndef SLUICE_SHARED_FLOW_H
#define SLUICE_SHARED_FLOW_H

#include <linux/types.h>

/* Entry state (lb_nat.state, nat_val.state). 0: an entry of an older
 * sluice (expires_ns 0: dead at once). */
enum flow_state {
	FLOW_S_NONE = 0,
	FLOW_S_TCP_SYN,		/* TCP, not answered yet */
	FLOW_S_TCP_EST,		/* TCP, answered */
	FLOW_S_TCP_CLOSING,	/* a FIN or an RST seen (either way) */
	FLOW_S_UDP,		/* UDP (or other), not answered yet */
	FLOW_S_UDP_REPLIED,	/* UDP, answered */
	FLOW_S_ICMP,		/* ICMP/ICMPv6 echo (NAT) */
	FLOW_S__MAX,
};

/* Timeouts in the stages' .rodata, timeout_ns[state - 1]. */
#define FLOW_NTIMEOUTS (FLOW_S__MAX - 1)

/* Counters: map lbnat_stats (PERCPU_ARRAY of __u64, the chain's), the
 * load balancer's from FLOW_STATS_LB, the NAT's from FLOW_STATS_NAT.
 * Append only: the map is pinned. */
#define FLOW_STATS(X)                                                          \
	X(CREATED, "created")		/* forward entries inserted */        \
	X(REUSED, "reused_expired")	/* a dead flow met again: replaced */ \
	X(INSERT_FULL, "insert_failed_full")	/* -E2BIG / -ENOMEM */         \
	X(INSERT_BUSY, "insert_failed_busy")	/* -EBUSY, lock contention */  \
	X(GC_REMOVED, "gc_removed")	/* forward entries the sweep deleted  \
					 * (written by userspace) */          \
	X(GC_REMOVED_REV, "gc_removed_rev") /* reverse entries the same */    \
	X(ADOPTED, "port_adopted")	/* NAT: a flow found its own live     \
					 * reverse entry (nat_flows lost) */  \
	X(FIB_REDIRECT, "fib_redirected") /* LB fib: redirected by the stage */ \
	X(FIB_STACK, "fib_to_stack")	/* LB fib: left to the stack (no      \
					 * neighbour, ttl, local, VLAN, ...) */

#define FLOW_STAT_ENUM(name, str) FLOW_STAT_##name,
enum flow_stat {
	FLOW_STATS(FLOW_STAT_ENUM)
	FLOW_STAT__MAX,
};
#undef FLOW_STAT_ENUM
#define FLOW_STATS_LB 0
#define FLOW_STATS_NAT 16
#define FLOW_STAT_SLOTS 32
_Static_assert(FLOW_STAT__MAX <= 16, "lbnat_stats: 16 slots per function type");

/* Defaults (seconds), in the order of enum flow_state from FLOW_S_TCP_SYN. */
#define FLOW_TO_DEFAULTS { 60, 21600, 120, 30, 180, 30 }
#define FLOW_TO_MAX_S 2592000 /* 30 days */

#endif
