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

/* This CPU's counter of a rule slot; NULL for slot 0 (no counter assigned)
 * and for the batch's elements. */
static __always_inline struct sl_counter *fw_counter_of(__u32 slot)
{
	if (!slot || slot >= FW_RULE_SLOTS)
		return NULL;
	return fw_counters_elem(bpf_get_smp_processor_id(), slot);
}

static __always_inline void fw_count(__u32 slot, __u32 bytes)
{
	struct sl_counter *c = fw_counter_of(slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* One batch entry into its counter. */
static __always_inline void fw_counters_fold_one(__u32 cpu, __u64 e)
{
	__u32 slot = (__u32)(e >> 32);
	struct sl_counter *c;

	if (!slot || slot >= FW_RULE_SLOTS)
		return;
	c = fw_counters_elem(cpu, slot);
	if (c) {
		c->packets++;
		c->bytes += (__u32)e;
	}
}

/* Fold CPU cpu's full batch into its counters (fw_count_deferred). The
 * loads of the counters do not depend on one another, so their misses
 * overlap. Inlined and unrolled: a global function (verified once, a
 * rolled loop) measured no better than counting at once, the call's
 * return thunk included (docs/benchmarks.md). */
static __always_inline void fw_counters_fold(__u32 cpu)
{
	struct sl_counter *h, *p;
	__u32 i;

	h = fw_counters_elem(cpu, FW_DEFER_BASE);
	if (!h)
		return;
	*(volatile __u64 *)&h->packets = h->packets + 1;
	barrier();
#pragma unroll
	for (i = 1; i < FW_DEFER_ELEMS; i++) {
		p = fw_counters_elem(cpu, FW_DEFER_BASE + i);
		if (!p)
			break;
		fw_counters_fold_one(cpu, p->packets);
		fw_counters_fold_one(cpu, p->bytes);
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
 * CPU never runs two of these at once: XDP and TC ingress run in softirq,
 * TC egress with softirqs off. */
static __always_inline void fw_count_deferred(__u32 slot, __u32 bytes)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct sl_counter *h, *p;
	__u64 n;

	if (!slot || slot >= FW_RULE_SLOTS)
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
		fw_counters_fold(cpu);
}

#endif
