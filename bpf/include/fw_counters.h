/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The chain's rule counters (fw_counters), shared by the firewall and the
 * load balancer stages and by every generation (pinned at the chain root,
 * handed in with bpf_map__reuse_fd).
 *
 * One flat ARRAY of struct sl_counter, CPU-major: CPU c's counter of slot s
 * is element c * FW_COUNTER_SLOTS + s (the loader sizes it to the possible
 * CPUs, user/lib/fw_counters.c). A PERCPU_ARRAY costs two dependent cache
 * misses per update at 100k rules (its pointer array, then the value); here
 * the address is known as soon as the slot is: one. Each CPU writes only
 * its own part, so the counts stay exact without atomics, as with a
 * per-CPU map. Mappable, so userspace reads and zeroes it with one mmap. */
#ifndef SLUICE_FW_COUNTERS_H
#define SLUICE_FW_COUNTERS_H

#include "shared/meta.h"
#include "shared/fw.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_COUNTER_SLOTS); /* x possible CPUs, by the loader */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sl_counter);
} fw_counters SEC(".maps");

/* Element e of a CPU's part. */
static __always_inline struct sl_counter *fw_counters_elem(__u32 cpu, __u32 e)
{
	__u32 k = cpu * FW_COUNTER_SLOTS + e;

	return bpf_map_lookup_elem(&fw_counters, &k);
}

/* A slot a rule may have: not 0 (no counter) nor the batch's elements. */
static __always_inline int fw_rule_slot(__u32 slot)
{
	return slot && slot < FW_RULE_SLOTS;
}

/* Count a packet of bytes in CPU cpu's counter of a rule slot, now. */
static __always_inline void fw_count_on(__u32 cpu, __u32 slot, __u32 bytes)
{
	struct sl_counter *c;

	if (!fw_rule_slot(slot))
		return;
	c = fw_counters_elem(cpu, slot);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void fw_count(__u32 slot, __u32 bytes)
{
	fw_count_on(bpf_get_smp_processor_id(), slot, bytes);
}

/* Fold CPU cpu's full batch into its counters (fw_count_deferred). The
 * loads of the counters do not depend on one another, so their misses
 * overlap. Inlined and unrolled: a global function (verified once, a
 * rolled loop) measured no better than counting at once, the call's
 * return thunk included (docs/benchmarks.md). */
static __always_inline void fw_counters_fold(__u32 cpu, struct sl_counter *h)
{
	struct sl_counter *p;
	__u32 i;

	*(volatile __u64 *)&h->packets = h->packets + 1;
	barrier();
#pragma unroll
	for (i = 1; i < FW_DEFER_ELEMS; i++) {
		p = fw_counters_elem(cpu, FW_DEFER_BASE + i);
		if (!p)
			break;
		/* each entry: slot << 32 | bytes */
		fw_count_on(cpu, (__u32)(p->packets >> 32), (__u32)p->packets);
		fw_count_on(cpu, (__u32)(p->bytes >> 32), (__u32)p->bytes);
	}
	barrier();
	*(volatile __u64 *)&h->bytes = 0;
	barrier();
	*(volatile __u64 *)&h->packets = h->packets + 1;
}

/* Count now or later, exactly once: the entry goes into this CPU's batch
 * (shared/fw.h, "Deferred counting"), and a full batch is folded into its
 * counters. The stores are ordered for readers on other CPUs by compiler
 * barriers (x86 keeps stores in program order): an entry before the count
 * that exposes it; in a fold, the odd sequence before the counters, the
 * counters before the emptied count, that before the even sequence. One
 * CPU never runs two of these at once for traffic: XDP and TC ingress run
 * in softirq, TC egress with softirqs off (a test run that leaves softirqs
 * on is the exception, docs/firewall.md). */
static __always_inline void fw_count_deferred(__u32 slot, __u32 bytes)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct sl_counter *h, *p;
	__u64 n;

	if (!fw_rule_slot(slot))
		return;
	h = fw_counters_elem(cpu, FW_DEFER_BASE);
	if (!h)
		return;
	n = h->bytes;
	if (n >= FW_DEFER_LEN) /* never left so: the fold empties it */
		n = 0;
	p = fw_counters_elem(cpu, FW_DEFER_BASE + 1 + (__u32)n / 2);
	if (!p)
		return;
	/* .packets for an even n, .bytes for an odd one, without a branch */
	*((__u64 *)p + (n & 1)) = (__u64)slot << 32 | bytes;
	barrier();
	if (++n < FW_DEFER_LEN)
		*(volatile __u64 *)&h->bytes = n;
	else
		fw_counters_fold(cpu, h);
}

#endif
