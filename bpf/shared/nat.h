/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NAT ABI (docs/nat.md): source NAT / masquerade. Per generation: the
 * sources to translate (nat_src, LPM) and the config; the chain's:
 * nat_flows (a flow as its client sent it -> its translated source port)
 * and nat_rev (the translated flow as replies carry it -> the client),
 * which is also what makes every translated 5-tuple unique. */
#ifndef SLUICE_SHARED_NAT_H
#define SLUICE_SHARED_NAT_H

#include <linux/types.h>
#include "flow.h"

/* Map nat_src (LPM_TRIE, per generation): the source prefixes to
 * translate; value unused (1). */
struct nat_src_key {
	__u32 prefixlen;	/* 32 (family and pad) + prefix length */
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
	__u32 addr[4];		/* network order */
};
_Static_assert(sizeof(struct nat_src_key) == 24, "nat_src_key ABI");

/* Maps nat_flows and nat_rev (LRU_HASH, the chain's, pinned). */
struct nat_key {
	__u32 saddr[4], daddr[4]; /* network order */
	__u16 sport, dport;	  /* host order */
	__u8 proto;
	__u8 family;
	__u16 pad;
};
_Static_assert(sizeof(struct nat_key) == 40, "nat_key ABI");

struct nat_val {
	__u32 addr[4];	/* nat_flows: the translated source address;
			 * nat_rev: the client's address */
	__u16 port;	/* host order: the translated source port / the
			 * client's port */
	__u8 state;	/* enum flow_state (shared/flow.h) */
	__u8 pad;
	__u32 pad2;
	__u64 last_ns;	/* CLOCK_BOOTTIME of the last packet (either way) */
	__u64 expires_ns; /* last_ns + the state's timeout; past it: dead */
};
_Static_assert(sizeof(struct nat_val) == 40, "nat_val ABI");

/* Probes for a free port per new flow (bounded loop). */
#define NAT_PROBES 32

/* The stage's .rodata */
struct nat_config {
	__u32 addr4;		/* network order; 0: no IPv4 translation */
	__u32 addr6[4];		/* network order; all 0: no IPv6 */
	__u16 port_lo, port_hi;	/* host order, inclusive */
	__u64 timeout_ns[FLOW_NTIMEOUTS]; /* per enum flow_state - 1 */
};
_Static_assert(sizeof(struct nat_config) == 24 + 8 * FLOW_NTIMEOUTS, "nat_config ABI");

#define NAT_FLOWS_DEFAULT 65536

#endif
