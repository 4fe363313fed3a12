/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps every program of a chain shares.
 *
 * Shared by the whole chain and pinned once (userspace hands the same fd to
 * every object with bpf_map__reuse_fd): sl_meta_scratch, sl_drops.
 * Owned by one generation: sl_chain (its stage PROG_ARRAY) and sl_gen_stats.
 */
#ifndef SLUICE_CHAIN_MAPS_H
#define SLUICE_CHAIN_MAPS_H

#include "ctx.h"
#include "shared/meta.h"
#include "shared/drop_reasons.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_meta);
} sl_meta_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_DROP_MAP_SIZE);
	__type(key, __u32);
	__type(value, struct sl_counter);
} sl_drops SEC(".maps");

static __always_inline struct sl_meta *meta_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_meta_scratch, &zero);
}

static __always_inline void drop_count(__u32 reason, __u32 bytes)
{
	struct sl_counter *c = bpf_map_lookup_elem(&sl_drops, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif
