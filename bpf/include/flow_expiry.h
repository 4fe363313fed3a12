/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Idle timeouts of the load balancer's and the NAT's flow tables
 * (shared/flow.h): an entry's next state from a packet, its expiry, and
 * the chain's counters of the tables (lbnat_stats). */
#ifndef SLUICE_FLOW_EXPIRY_H
#define SLUICE_FLOW_EXPIRY_H

#include "ctx.h"
#include <linux/in.h>
#include "shared/flow.h"

#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lbnat_stats SEC(".maps");

static __always_inline void flow_stat(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&lbnat_stats, &slot);

	if (v)
		*v += 1;
}

/* A failed insert: -E2BIG (a full HASH), -ENOMEM (no free LRU node):
 * the table; -EEXIST is no failure (the caller's business); anything else
 * (-EBUSY, -EDEADLK / -ETIMEDOUT of newer kernels' bucket locks):
 * contention. */
static __always_inline void flow_stat_insert_err(__u32 base, long err)
{
	if (!err || err == -17 /* EEXIST */)
		return;
	if (err == -7 /* E2BIG */ || err == -12 /* ENOMEM */)
		flow_stat(base + FLOW_STAT_INSERT_FULL);
	else
		flow_stat(base + FLOW_STAT_INSERT_BUSY);
}

/* The state after a packet of the flow (reply: it came from the
 * answerer). TCP: a FIN or an RST closes (and a closing flow stays
 * closing: a SYN that reuses the 5-tuple is a new flow to the caller);
 * an answer establishes; otherwise it waits for one. UDP: answered or
 * not. */
static __always_inline __u8 flow_next_state(__u8 st, __u8 proto, __u8 tcp_flags, int reply)
{
	if (proto == IPPROTO_TCP) {
		if ((tcp_flags & (FLOW_TCP_FIN | FLOW_TCP_RST)) || st == FLOW_S_TCP_CLOSING)
			return FLOW_S_TCP_CLOSING;
		if (reply || st == FLOW_S_TCP_EST)
			return FLOW_S_TCP_EST;
		return FLOW_S_TCP_SYN;
	}
	if (proto == IPPROTO_UDP)
		return reply || st == FLOW_S_UDP_REPLIED ? FLOW_S_UDP_REPLIED : FLOW_S_UDP;
	return FLOW_S_ICMP;
}

/* now + the state's timeout (timeouts: the stage's .rodata). */
static __always_inline __u64 flow_expiry(const volatile __u64 *timeouts, __u8 st, __u64 now)
{
	__u32 i = st ? st - 1 : 0;

	if (i >= FLOW_NTIMEOUTS)
		i = FLOW_NTIMEOUTS - 1;
	return now + timeouts[i];
}

#endif
