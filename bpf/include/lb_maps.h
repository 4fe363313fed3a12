/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer stage's maps (layouts in shared/lb.h). lb_svc,
 * lb_maglev, lb_backends and lb_addrs belong to a generation (filled, then frozen);
 * lb_flows and lb_rev to the chain (pinned, reused by every generation);
 * fw_counters is the chain's counter map (per-backend slots). */
#ifndef SLUICE_LB_MAPS_H
#define SLUICE_LB_MAPS_H

#include "ctx.h"
#include "shared/meta.h"
#include "shared/lb.h"
#include "shared/fw.h"

const volatile struct lb_config lb_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, struct lb_svc_key);
	__type(value, struct lb_svc);
} lb_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u32);
} lb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct lb_backend);
} lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, struct lb_addr_key);
	__type(value, __u32);
} lb_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_FLOWS_DEFAULT);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_nat);
} lb_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LB_FLOWS_DEFAULT);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_nat);
} lb_rev SEC(".maps");

#include "fw_counters.h"

static __always_inline void lb_count(__u32 slot, __u32 bytes)
{
	fw_count(slot, bytes);
}

#endif
