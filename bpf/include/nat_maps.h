/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The NAT stage's maps (layouts in shared/nat.h): nat_src per generation
 * (filled, then frozen); nat_flows and nat_rev the chain's (pinned, reused
 * by every generation). */
#ifndef SLUICE_NAT_MAPS_H
#define SLUICE_NAT_MAPS_H

#include "ctx.h"
#include "shared/meta.h"
#include "shared/nat.h"

const volatile struct nat_config nat_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG);
	__type(key, struct nat_src_key);
	__type(value, __u32);
} nat_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_FLOWS_DEFAULT);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} nat_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT_FLOWS_DEFAULT);
	__type(key, struct nat_key);
	__type(value, struct nat_val);
} nat_rev SEC(".maps");

#endif
