/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP through the load balancer and the NAT (docs/nat.md, "ICMP";
 * docs/loadbalancer.md): an ICMP/ICMPv6 error quotes the start of the
 * datagram it is about (the IP header and at least 8 bytes of TCP/UDP, or
 * an ICMP echo); about a translated flow, both the quote and the outer
 * header must be translated back, or the sender of the datagram cannot
 * match it (a port unreachable, a "fragmentation needed" for PMTU
 * discovery). And an ICMP echo through the NAT uses its identifier as the
 * port. Checksums are updated incrementally (RFC 1624) and consistently,
 * so that a CHECKSUM_COMPLETE skb's sum stays right: the outer IPv4
 * header's, the quoted IPv4 header's, the quoted TCP/UDP/ICMPv6 checksum
 * when the quote holds it (pseudo-header and port), and the ICMP checksum
 * over every quoted word that changed (and, for ICMPv6, its pseudo-header:
 * the outer address). The same bytes at XDP and TC: every change here is
 * compensated, no kernel csum helper is needed. */
#ifndef SLUICE_LB_NAT_ICMP_H
#define SLUICE_LB_NAT_ICMP_H

#include "lb_nat.h"
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "parse/l4.h"
#include "shared/nat.h"

/* An error's quote. Ports in host order; a quoted ICMP echo: its
 * identifier as sport (the NAT keys echo requests as sport = id, dport =
 * 0), dport 0. */
struct nat_quote {
	__u32 l3, l4;		/* offsets of the quoted IP and L4 headers */
	__u32 saddr[4], daddr[4];
	__u16 sport, dport;
	__u8 proto;
	__u8 echo;		/* the quote is an ICMP echo */
	/* the translation (nat_icmp_error_rewrite): the quote's source
	 * (q_dst 0) or destination (q_dst 1) becomes to; the outer source
	 * (outer 1) or destination (outer 2) becomes oaddr (0: kept) */
	__u8 q_dst, outer;
	struct nat_ep to;
	__u32 oaddr[4];
};

/* The error path's working memory: per CPU, not on the stack (the
 * stages' frames and this path's calls together would pass the
 * verifier's 512 bytes). A packet's programs run on one CPU without
 * preemption, so the slot is the packet's. */
struct nat_icmp_work {
	struct nat_quote q;
	__u32 key[10];		/* a struct nat_key / lb_flow_key */
	/* the stages' own keys and values, for the same reason */
	__u32 k[10], rk[10];	/* struct nat_key / lb_flow_key */
	__u64 v[5], rv[5];	/* struct nat_val / lb_nat */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_icmp_work);
} nat_icmp_work SEC(".maps");

static __always_inline struct nat_icmp_work *nat_icmp_work_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nat_icmp_work, &zero);
}

static __always_inline int icmp_is_error(const struct sl_meta *m)
{
	if (m->l4proto == IPPROTO_ICMP && m->family == 4)
		return m->dport == 3 || m->dport == 4 || m->dport == 11 || m->dport == 12;
	if (m->l4proto == IPPROTO_ICMPV6 && m->family == 6)
		return m->dport >= 1 && m->dport <= 4;
	return 0;
}

/* 1: echo request, 2: echo reply, 0: neither. */
static __always_inline int icmp_echo_kind(__u8 proto, int v6, __u8 type)
{
	if (!v6 && proto == IPPROTO_ICMP)
		return type == 8 ? 1 : type == 0 ? 2 : 0;
	if (v6 && proto == IPPROTO_ICMPV6)
		return type == 128 ? 1 : type == 129 ? 2 : 0;
	return 0;
}

/* The quote of the error m: 0, or -1 when it is cut, a later fragment,
 * of another family, or neither TCP/UDP nor an echo request. A function
 * of its own (as the rewrite below): its stack is its own, the stages'
 * frames have no room for it (verifier: 512 bytes). */
static __noinline int nat_quote_parse(SL_CTX *ctx, const struct sl_meta *m,
					   struct nat_quote *q)
{
	__u32 off = m->l4_off + 8;
	__u16 ports[2];
	__u8 t[2];

	__builtin_memset(q, 0, sizeof(*q));
	q->l3 = off;
	if (m->family == 4) {
		struct iphdr ip;

		if (nat_load(ctx, off, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5 ||
		    (ip.frag_off & bpf_htons(0x1fff)))
			return -1;
		q->proto = ip.protocol;
		q->saddr[0] = ip.saddr;
		q->daddr[0] = ip.daddr;
		q->l4 = off + ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (nat_load(ctx, off, &ip6, sizeof(ip6)) || ip6.version != 6)
			return -1;
		q->proto = ip6.nexthdr;
		__builtin_memcpy(q->saddr, &ip6.saddr, 16);
		__builtin_memcpy(q->daddr, &ip6.daddr, 16);
		q->l4 = off + sizeof(ip6);
	}
	if (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP) {
		if (nat_load(ctx, q->l4, ports, 4))
			return -1;
		q->sport = bpf_ntohs(ports[0]);
		q->dport = bpf_ntohs(ports[1]);
		return 0;
	}
	if (nat_load(ctx, q->l4, t, 2) || icmp_echo_kind(q->proto, m->family == 6, t[0]) != 1 ||
	    nat_load(ctx, q->l4 + 4, ports, 2))
		return -1;
	q->echo = 1;
	q->sport = bpf_ntohs(ports[0]);
	return 0;
}

/* The quote's flow the other way round, which is the flow the stage
 * translated, as the key of its reverse table (nat_rev, lb_rev), in
 * w->key. struct nat_key and struct lb_flow_key are one layout (lb.bpf.c
 * asserts it), so one fill serves both stages. */
static __always_inline void nat_quote_rev_key(struct nat_icmp_work *w, __u8 family)
{
	struct nat_key *k = (struct nat_key *)w->key;
	const struct nat_quote *q = &w->q;

	__builtin_memcpy(k->saddr, q->daddr, 16);
	__builtin_memcpy(k->daddr, q->saddr, 16);
	k->sport = q->dport;
	k->dport = q->sport;
	k->proto = q->proto;
	k->family = family;
	k->pad = 0;
}

/* Translate the error m about the quote q as q->q_dst, q->to, q->outer
 * and q->oaddr say. 0 or -1. */
static __noinline int nat_icmp_error_rewrite(SL_CTX *ctx, const struct sl_meta *m,
					     const struct nat_quote *q)
{
	int v6 = m->family == 6, nw = v6 ? 8 : 2, has_l4c = 0, pseudo;
	__u32 alen = v6 ? 16 : 4, ooff = 0, ioff, poff, coff, old_s, new_s, osum_o = 0, osum_n = 0;
	__u32 isum_o, isum_n, n;
	__u16 old[8] = {}, oport, ipc = 0, ipc_n = 0, l4c = 0, l4c_n = 0, c;

	/* outer address: its old and new sums */
	if (q->outer) {
		ooff = m->l3_off + (v6 ? 8 : 12) + (q->outer == 2 ? alen : 0);
		if (nat_load(ctx, ooff, old, alen))
			return -1;
		osum_o = nat_sum16(old, nw);
		osum_n = nat_sum16((const __u16 *)q->oaddr, nw);
	}
	/* quoted address and port (an echo: its identifier) */
	ioff = q->l3 + (v6 ? 8 : 12) + (q->q_dst ? alen : 0);
	poff = q->echo ? q->l4 + 4 : q->l4 + (q->q_dst ? 2 : 0);
	if (nat_load(ctx, ioff, old, alen) || nat_load(ctx, poff, &oport, 2))
		return -1;
	isum_o = nat_sum16(old, nw);
	isum_n = nat_sum16((const __u16 *)q->to.addr, nw);
	/* the quoted IPv4 header's checksum */
	if (!v6) {
		if (nat_load(ctx, q->l3 + 10, &ipc, 2))
			return -1;
		ipc_n = nat_csum_update(ipc, isum_o, isum_n, nw);
	}
	/* the quoted L4 checksum, when the quote holds it (a TCP one is
	 * past the 8 bytes an ICMPv4 error must quote); a UDP/IPv4 0 stays
	 * 0; an ICMPv4 echo's has no pseudo-header */
	coff = q->proto == IPPROTO_TCP ? q->l4 + 16 : q->proto == IPPROTO_UDP ? q->l4 + 6 : q->l4 + 2;
	pseudo = q->proto != IPPROTO_ICMP;
	if (!nat_load(ctx, coff, &l4c, 2) && !(q->proto == IPPROTO_UDP && !v6 && !l4c)) {
		has_l4c = 1;
		l4c_n = nat_csum_update(l4c, (pseudo ? isum_o : 0) + oport,
					(pseudo ? isum_n : 0) + q->to.port, (pseudo ? nw : 0) + 1);
		if (q->proto == IPPROTO_UDP && !l4c_n)
			l4c_n = 0xffff;
	}
	/* the ICMP checksum: every word of the message that changed, and for
	 * ICMPv6 the pseudo-header's outer address */
	if (nat_load(ctx, m->l4_off + 2, &c, 2))
		return -1;
	old_s = isum_o + oport;
	new_s = isum_n + q->to.port;
	n = nw + 1;
	if (!v6) {
		old_s += ipc;
		new_s += ipc_n;
		n++;
	}
	if (has_l4c) {
		old_s += l4c;
		new_s += l4c_n;
		n++;
	}
	if (v6 && q->outer) {
		old_s += osum_o;
		new_s += osum_n;
		n += nw;
	}
	c = nat_csum_update(c, old_s, new_s, n);
	if (nat_store(ctx, m->l4_off + 2, &c, 2) || nat_store(ctx, ioff, (void *)q->to.addr, alen) ||
	    nat_store(ctx, poff, (void *)&q->to.port, 2))
		return -1;
	if (!v6 && nat_store(ctx, q->l3 + 10, &ipc_n, 2))
		return -1;
	if (has_l4c && nat_store(ctx, coff, &l4c_n, 2))
		return -1;
	if (q->outer) {
		if (!v6) {
			if (nat_load(ctx, m->l3_off + 10, &c, 2))
				return -1;
			c = nat_csum_update(c, osum_o, osum_n, nw);
			if (nat_store(ctx, m->l3_off + 10, &c, 2))
				return -1;
		}
		if (nat_store(ctx, ooff, (void *)q->oaddr, alen))
			return -1;
	}
	return 0;
}

/* An ICMP echo's address (dst when which_dst, else src) and identifier
 * (to->port, network order): the IPv4 header checksum, and the ICMP
 * checksum (ICMPv6: with its pseudo-header's address). 0 or -1. */
static __always_inline int nat_icmp_echo_rewrite(SL_CTX *ctx, const struct sl_meta *m,
						 int which_dst, const struct nat_ep *to)
{
	int v6 = m->family == 6, nw = v6 ? 8 : 2;
	__u32 alen = v6 ? 16 : 4, aoff = m->l3_off + (v6 ? 8 : 12) + (which_dst ? alen : 0);
	__u32 so, sn;
	__u16 old[8] = {}, nw_[8] = {}, id, c, ipc;

	if (nat_load(ctx, aoff, old, alen) || nat_load(ctx, m->l4_off + 4, &id, 2) ||
	    nat_load(ctx, m->l4_off + 2, &c, 2))
		return -1;
	__builtin_memcpy(nw_, to->addr, 16);
	if (!v6)
		nw_[2] = nw_[3] = nw_[4] = nw_[5] = nw_[6] = nw_[7] = 0;
	so = nat_sum16(old, nw);
	sn = nat_sum16(nw_, nw);
	if (v6)
		c = nat_csum_update(c, so + id, sn + to->port, nw + 1);
	else
		c = nat_csum_update(c, id, to->port, 1);
	if (!v6) {
		if (nat_load(ctx, m->l3_off + 10, &ipc, 2))
			return -1;
		ipc = nat_csum_update(ipc, so, sn, nw);
		if (nat_store(ctx, m->l3_off + 10, &ipc, 2))
			return -1;
	}
	if (nat_store(ctx, m->l4_off + 2, &c, 2) || nat_store(ctx, m->l4_off + 4, (void *)&to->port, 2) ||
	    nat_store(ctx, aoff, nw_, alen))
		return -1;
	return 0;
}

#endif
