/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall stage's config and maps (layouts in shared/fw.h). Every
 * config map is read-only for the program (BPF_F_RDONLY_PROG) and frozen by
 * the loader once filled; max_entries is set by the loader from the
 * compiled image. */
#ifndef SLUICE_FW_MAPS_H
#define SLUICE_FW_MAPS_H

#include "ctx.h"
#include "shared/meta.h"
#include "shared/fw.h"

/* Set by the loader before load (struct fw_config). */
const volatile struct fw_config fw_cfg = {};

#define FW_MAP(name, mtype, ktype, vtype, flags)                               \
	struct {                                                               \
		__uint(type, mtype);                                           \
		__uint(max_entries, 1);                                        \
		__uint(map_flags, flags);                                      \
		__type(key, ktype);                                            \
		__type(value, vtype);                                          \
	} name SEC(".maps")

/* The arrays are filled through a shared mapping: one memcpy, where a
 * batch update copies element by element (measured: 140 ms for 378k atoms).
 * The kernel refuses a writable mapping of a BPF_F_RDONLY_PROG map
 * (EACCES), so these are read-only for the program by this code only; like
 * every config map they are frozen once filled and unmapped. */
#define FW_MAP_MM(name, vtype) \
	FW_MAP(name, BPF_MAP_TYPE_ARRAY, __u32, vtype, BPF_F_MMAPABLE)

FW_MAP_MM(fw_lpm4, union fw_lpm4_elem); /* DIR-16-8-8 roots and nodes */
FW_MAP_MM(fw_lpm6, union fw_lpm6_elem); /* roots, nodes and tails */
FW_MAP_MM(fw_port_cls, struct fw_chunk);
FW_MAP_MM(fw_bkt4, struct fw_bucket);
FW_MAP_MM(fw_bkt6, struct fw_bucket);
FW_MAP_MM(fw_cand4, struct fw_atom4);
FW_MAP_MM(fw_cand6, struct fw_atom6);
/* Not read by the program (atoms carry action and counter): the rules and
 * their ids, for `bpftool map dump` and the CLI. */
FW_MAP_MM(fw_rules, struct fw_rule);
FW_MAP_MM(fw_rule_ids, struct fw_rule_id);

/* The top len bits (0..32) of a host-order word. */
static __always_inline __u32 fw_mask(__u32 len)
{
	return (__u32)(~0ULL << (32 - len));
}

/* The same for word w (0..3) of a 128-bit address and a length 0..128. */
static __always_inline __u32 fw_mask_w(__u32 len, __u32 w)
{
	__u32 bits = len > 32 * w ? len - 32 * w : 0;

	return fw_mask(bits > 32 ? 32 : bits);
}

#include "fw_counters.h"

#endif
