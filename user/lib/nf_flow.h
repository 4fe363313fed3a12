/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The idle timeouts of the load balancer's and the NAT's flow tables
 * (shared/flow.h): the expiry sweep and the tables' counters
 * (docs/loadbalancer.md, docs/nat.md). */
#ifndef SLUICE_NF_FLOW_H
#define SLUICE_NF_FLOW_H

#include <stdint.h>
#include "chain.h"
#include "shared/flow.h"

#define LBNAT_STATS_PIN "lbnat_stats"

/* Which function type's tables. */
enum flow_kind {
	FLOW_KIND_LB = 0,	/* lb_flows, lb_rev, stats from FLOW_STATS_LB */
	FLOW_KIND_NAT = 1,	/* nat_flows, nat_rev, stats from FLOW_STATS_NAT */
};

struct flow_gc_result {
	uint64_t scanned, removed;	    /* forward table */
	uint64_t scanned_rev, removed_rev;  /* reverse table */
};

/* The sweep of one forward/reverse pair (rev_fd < 0: none): deletes every
 * entry whose expires_ns is at or before now_ns (0: the current time),
 * re-reading each right before deleting it; adds the counts to the
 * function type's gc_removed / gc_removed_rev (stats_fd < 0: not
 * counted). The stages never revive a dead entry, so what is deleted was
 * dead. */
int flow_gc(int fwd_fd, int rev_fd, int stats_fd, enum flow_kind kind, uint64_t now_ns,
	    struct flow_gc_result *res);
/* The same on a chain's pinned tables: -ENOENT when it has none of kind. */
int flow_gc_chain(struct chain *c, enum flow_kind kind, uint64_t now_ns,
		  struct flow_gc_result *res);

/* fds of the chain's tables of kind (0 when absent), and its stats. */
void flow_chain_fds(struct chain *c, enum flow_kind kind, int *fwd, int *rev, int *stats);

/* Sum over CPUs of the FLOW_STAT__MAX counters of kind. */
int flow_stats_read(int stats_fd, enum flow_kind kind, uint64_t *out);
/* "created", "reused_expired", ... or NULL */
const char *flow_stat_name(unsigned int slot);
/* "tcp_syn_sent", "tcp_established", ... */
const char *flow_state_name(unsigned int state);

/* Entries of a hash map (a count by walking its keys), live ones (expiry
 * after now_ns) in *live (may be NULL). */
int flow_count(int fd, uint64_t now_ns, uint64_t *total, uint64_t *live);

#endif
