/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The conntrack stage's maps and config (layouts in shared/ct.h). ct_table
 * and ct_stats belong to the chain: pinned at its root, handed to every
 * generation's stage with bpf_map__reuse_fd. ct_pending is the object's
 * own scratch between its two programs, ct_stage and ct_commit. */
#ifndef SLUICE_CT_MAPS_H
#define SLUICE_CT_MAPS_H

#include "ctx.h"
#include "shared/meta.h"
#include "shared/ct.h"

/* Set by the loader before load (struct ct_config). */
const volatile struct ct_config ct_cfg = {};

/* max_entries is the spec's tableSize, set by the loader (or taken from
 * the pinned table). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CT_TABLE_DEFAULT);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
} ct_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CT_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ct_stats SEC(".maps");

/* What the ct stage leaves for ct_commit (struct ct_pending, shared/ct.h):
 * one per CPU, the packet being judged's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_pending);
} ct_pending SEC(".maps");

static __always_inline void ct_stat(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&ct_stats, &slot);

	if (v)
		*v += 1;
}

/* Bytes of the packet at off, for XDP and TC alike (the helpers check the
 * bounds; nothing here needs direct packet access). */
static __always_inline long ct_load_bytes(SL_CTX *ctx, __u32 off, void *to, __u32 len)
{
#ifdef SL_HOOK_TC
	return bpf_skb_load_bytes(ctx, off, to, len);
#else
	return bpf_xdp_load_bytes(ctx, off, to, len);
#endif
}

#endif
