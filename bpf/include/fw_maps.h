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
#define FW_MAP_RO(name, mtype, ktype, vtype) \
	FW_MAP(name, mtype, ktype, vtype, BPF_F_RDONLY_PROG)

/* The arrays are filled through a shared mapping: one memcpy, where a
 * batch update copies element by element (measured: 140 ms for 378k atoms).
 * The kernel refuses a writable mapping of a BPF_F_RDONLY_PROG map
 * (EACCES), so these are read-only for the program by this code only; like
 * every config map they are frozen once filled and unmapped. */
#define FW_MAP_MM(name, vtype) \
	FW_MAP(name, BPF_MAP_TYPE_ARRAY, __u32, vtype, BPF_F_MMAPABLE)

FW_MAP_MM(fw_lpm4, union fw_lpm4_elem); /* DIR-16-8-8 roots and nodes */
FW_MAP_MM(fw_port_cls, struct fw_chunk);
FW_MAP_MM(fw_bkt4, struct fw_bucket);
FW_MAP_MM(fw_bkt6, struct fw_bucket);
FW_MAP_MM(fw_cand4, struct fw_atom4);
FW_MAP_MM(fw_cand6, struct fw_atom6);
/* Not read by the program (atoms carry action and counter): the rules and
 * their ids, for `bpftool map dump` and the CLI. */
FW_MAP_MM(fw_rules, struct fw_rule);
FW_MAP_MM(fw_rule_ids, struct fw_rule_id);
/* Filled with batch updates, read-only for the program. */
FW_MAP_RO(fw_lpm6, BPF_MAP_TYPE_HASH, struct fw_lpm6_key, struct fw_lpm6_val);
FW_MAP_RO(fw_lpm6_lens, BPF_MAP_TYPE_ARRAY, __u32, struct fw_lpm6_len);

#include "fw_counters.h"

#endif
