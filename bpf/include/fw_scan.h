/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall's candidate scan: a bpf_loop callback that checks every field
 * of each atom of one candidate list exactly, in rule order, and stop at the
 * first atom that decides. The callback is verified once, so the list
 * length (up to FW_MAX_SCAN) costs the verifier nothing. */
#ifndef SLUICE_FW_SCAN_H
#define SLUICE_FW_SCAN_H

#include "fw_maps.h"

/* fw_scan.ports */
#define FW_PORTS_NONE 0	    /* no L4 header (e.g. GRE): L4 atoms never match */
#define FW_PORTS_KNOWN 1    /* ports / ICMP type and code are valid */
#define FW_PORTS_UNKNOWN 2  /* a fragment without its L4 header */

/* fw_scan.res */
#define FW_RES_NONE 0	    /* no atom decided: the default action */
#define FW_RES_MATCH 1	    /* atom of rule .rule matched */
#define FW_RES_NO_PORTS 2   /* rule .rule would need the ports we lack */
#define FW_RES_ERROR 3	    /* inconsistent image: fail closed */

struct fw_scan {
	__u32 saddr[4], daddr[4]; /* host order; IPv4 in [0] */
	__u32 off;		  /* first candidate of the list */
	__u32 rule;		  /* out: the deciding rule */
	__u32 counter;		  /* out: its counter slot */
	__u32 pkt_len;
	__u16 sport, dport;
	__u8 proto;
	__u8 ports;		  /* FW_PORTS_* */
	__u8 deny;		  /* out: the deciding rule denies */
	__u8 res;		  /* out: FW_RES_* */
	__u8 ct_state;		  /* sl_meta.ct_state */
	__u8 v6;		  /* the packet is IPv6 */
};

/* The part of an atom after its addresses and protocol matched: the L4
 * check, audit counting, and the decision. 1 stops the loop. */
static __always_inline long fw_atom_tail(struct fw_scan *s, __u8 flags,
					 __u16 slo, __u16 shi, __u16 dlo,
					 __u16 dhi, __u32 rule, __u32 counter)
{
	if (flags & FW_ATOM_L4) {
		if (s->ports == FW_PORTS_UNKNOWN) {
			/* An audit rule never decides, so it cannot make
			 * the outcome depend on the missing ports. */
			if (flags & FW_ATOM_AUDIT)
				return 0;
			s->res = FW_RES_NO_PORTS;
			s->rule = rule;
			return 1;
		}
		if (s->ports != FW_PORTS_KNOWN)
			return 0;
		if (s->sport < slo || s->sport > shi || s->dport < dlo ||
		    s->dport > dhi)
			return 0;
	}
	if (flags & FW_ATOM_AUDIT) {
		/* Atoms of one rule never overlap: counted once. */
		fw_count(counter, s->pkt_len);
		return 0;
	}
	s->res = FW_RES_MATCH;
	s->rule = rule;
	s->counter = counter;
	s->deny = !!(flags & FW_ATOM_DENY);
	return 1;
}

/* Check one IPv4 atom: from fw_cand4, or a tail's inline copy. */
static __always_inline long fw_check4(struct fw_scan *s, const struct fw_atom4 *a)
{
	if ((s->saddr[0] & fw_mask(a->slen)) != a->src ||
	    (s->daddr[0] & fw_mask(a->dlen)) != a->dst)
		return 0;
	if ((a->flags & FW_ATOM_PROTO) && a->proto != s->proto)
		return 0;
	if ((fw_cfg.features & FW_FEAT_STATE) && (a->flags & FW_ATOM_STATE) &&
	    !(a->states & (1u << (s->ct_state & 7))))
		return 0;
	return fw_atom_tail(s, a->flags, a->sport_lo, a->sport_hi, a->dport_lo,
			    a->dport_hi, a->rule, a->counter);
}

static __always_inline long fw_scan4(struct fw_scan *s, __u32 i)
{
	__u32 k = s->off + i;
	struct fw_atom4 *a = bpf_map_lookup_elem(&fw_cand4, &k);

	if (!a) {
		s->res = FW_RES_ERROR;
		return 1;
	}
	return fw_check4(s, a);
}

static __always_inline int fw_addr6_in(const __u32 *addr, const __u32 *net,
				       __u32 len)
{
	return !(((addr[0] & fw_mask_w(len, 0)) ^ net[0]) |
		 ((addr[1] & fw_mask_w(len, 1)) ^ net[1]) |
		 ((addr[2] & fw_mask_w(len, 2)) ^ net[2]) |
		 ((addr[3] & fw_mask_w(len, 3)) ^ net[3]));
}

static __always_inline long fw_scan6(struct fw_scan *s, __u32 i)
{
	__u32 k = s->off + i;
	struct fw_atom6 *a = bpf_map_lookup_elem(&fw_cand6, &k);

	if (!a) {
		s->res = FW_RES_ERROR;
		return 1;
	}
	if (!fw_addr6_in(s->saddr, a->src, a->slen) ||
	    !fw_addr6_in(s->daddr, a->dst, a->dlen))
		return 0;
	if ((a->flags & FW_ATOM_PROTO) && a->proto != s->proto)
		return 0;
	if ((fw_cfg.features & FW_FEAT_STATE) && (a->flags & FW_ATOM_STATE) &&
	    !(a->states & (1u << (s->ct_state & 7))))
		return 0;
	return fw_atom_tail(s, a->flags, a->sport_lo, a->sport_hi, a->dport_lo,
			    a->dport_hi, a->rule, a->counter);
}

/* One callback for both families, at one bpf_loop call site: the verifier
 * inlines bpf_loop (a counted loop with a direct call) only when a call
 * site always passes the same callback and flags 0. With a callback per
 * family, clang merged the two calls into one site with two callbacks and
 * every packet paid the helper and an indirect call per atom. */
static long fw_scan_cb(__u32 i, void *data)
{
	struct fw_scan *s = data;

	return s->v6 ? fw_scan6(s, i) : fw_scan4(s, i);
}

#endif
