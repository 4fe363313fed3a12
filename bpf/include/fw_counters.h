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

/* This CPU's counter of a slot; NULL for slot 0 (no counter assigned). */
static __always_inline struct sl_counter *fw_counter_of(__u32 slot)
{
	__u32 k;

	if (!slot || slot >= FW_COUNTER_SLOTS)
		return NULL;
	k = bpf_get_smp_processor_id() * FW_COUNTER_SLOTS + slot;
	return bpf_map_lookup_elem(&fw_counters, &k);
}

static __always_inline void fw_count(__u32 slot, __u32 bytes)
{
	struct sl_counter *c = fw_counter_of(slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif
