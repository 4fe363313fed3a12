/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Drop reasons: one enum shared by the BPF programs and userspace.
 *
 * The list is an X-macro so that the enum and the names printed by the CLI and
 * the metrics can never drift apart. Append new reasons at the end: the value
 * is an index into the pinned per-CPU drop counter map, which survives
 * generations and sluice upgrades.
 */
#ifndef SLUICE_SHARED_DROP_REASONS_H
#define SLUICE_SHARED_DROP_REASONS_H

#define SL_DROP_REASONS(X)                                                     \
	X(NONE, "none")                     /* not a drop: slot 0 unused */     \
	X(PARSE_TRUNC_ETH, "truncated_ethernet")                               \
	X(PARSE_TRUNC_VLAN, "truncated_vlan")                                  \
	X(PARSE_VLAN_DEPTH, "too_many_vlan_tags")                              \
	X(PARSE_TRUNC_IPV4, "truncated_ipv4")                                  \
	X(PARSE_IPV4_IHL, "ipv4_bad_ihl")                                      \
	X(PARSE_IPV4_LEN, "ipv4_bad_total_length")                             \
	X(PARSE_TRUNC_IPV6, "truncated_ipv6")                                  \
	X(PARSE_IPV6_EXTHDR_DEPTH, "too_many_ipv6_ext_headers")                \
	X(PARSE_TRUNC_IPV6_EXTHDR, "truncated_ipv6_ext_header")                \
	X(PARSE_TRUNC_L4, "truncated_l4")                                      \
	X(FRAG_TINY, "tiny_first_fragment")                                    \
	X(FRAG_OVERLAP, "overlapping_fragment")                                \
	X(FRAG_NO_PORTS, "fragment_without_ports")                             \
	X(TAIL_CALL, "missing_stage")                                          \
	X(GEN_MISMATCH, "generation_mismatch")                                 \
	X(NO_META, "no_metadata")                                              \
	X(FW_DENY, "firewall_deny")                                            \
	X(FW_DEFAULT_DENY, "firewall_default_deny")                            \
	X(FW_SCAN_LIMIT, "firewall_scan_limit")                                \
	X(NO_GENERATION, "no_generation")                                      \
	X(PARSE_IPV4_VERSION, "ipv4_bad_version")                              \
	X(PARSE_IPV6_VERSION, "ipv6_bad_version")                              \
	X(LB_NO_BACKEND, "lb_no_backend")                                      \
	X(LB_REWRITE, "lb_rewrite_failed")                                     \
	X(NAT_NO_PORT, "nat_ports_exhausted")                                  \
	X(LB_FRAGMENT, "lb_fragment")                                          \
	X(NAT_FRAGMENT, "nat_fragment")

#define SL_DROP_ENUM(name, str) SL_DROP_##name,
enum sl_drop_reason {
	SL_DROP_REASONS(SL_DROP_ENUM)
	SL_DROP__MAX,
};
#undef SL_DROP_ENUM

/* The counter map is sized once for all future reasons: it is pinned and
 * shared, so it must not need resizing when a reason is added. */
#define SL_DROP_MAP_SIZE 64
_Static_assert(SL_DROP__MAX <= SL_DROP_MAP_SIZE, "drop counter map too small");

#endif
