/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and port rewriting with checksums kept right, for XDP and TC:
 * bytes are read and written with the load/store helpers; at XDP the
 * checksums are updated incrementally here (RFC 1624), at TC by the
 * kernel's csum helpers, which also handle CHECKSUM_PARTIAL skbs (locally
 * generated, offloaded checksums). */
#ifndef SLUICE_LB_NAT_H
#define SLUICE_LB_NAT_H

#include "ctx.h"
#include <linux/in.h>
#include <bpf/bpf_endian.h>

static __always_inline long nat_load(SL_CTX *ctx, __u32 off, void *to, __u32 len)
{
#ifdef SL_HOOK_TC
	return bpf_skb_load_bytes(ctx, off, to, len);
#else
	return bpf_xdp_load_bytes(ctx, off, to, len);
#endif
}

static __always_inline long nat_store(SL_CTX *ctx, __u32 off, void *from, __u32 len)
{
#ifdef SL_HOOK_TC
	return bpf_skb_store_bytes(ctx, off, from, len, 0);
#else
	return bpf_xdp_store_bytes(ctx, off, from, len);
#endif
}

/* Ones' complement sum of n 16-bit words (raw memory order: the sum is
 * byte-order independent). */
static __always_inline __u32 nat_sum16(const __u16 *w, int n)
{
	__u32 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		if (i < n)
			s += w[i];
	return s;
}

/* check' = ~(~check + ~old + new) over the changed words (RFC 1624 eq. 3);
 * old and new are as many words. */
static __always_inline __u16 nat_csum_update(__u16 check, __u32 old_sum, __u32 new_sum, int nwords)
{
	/* ~old summed word by word = nwords * 0xffff - old_sum */
	__u32 s = (__u16)~check;

	s += (__u32)nwords * 0xffff - old_sum;
	s += new_sum;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

struct nat_ep {
	__u32 addr[4];	/* network order */
	__u16 port;	/* network order */
};

#ifdef SL_HOOK_TC
/* TC: the kernel's checksum helpers, which know the skb's ip_summed (a
 * CHECKSUM_PARTIAL skb holds a pseudo-header sum in the L4 field, and its
 * port is not summed yet). Same contract as the XDP version below. */
static __always_inline int nat_rewrite(SL_CTX *ctx, __u32 l3_off, __u32 l4_off, int v6,
				       __u8 proto, int which_dst, const struct nat_ep *to)
{
	__u32 alen = v6 ? 16 : 4, aoff = l3_off + (v6 ? 8 : 12) + (which_dst ? alen : 0);
	__u32 poff = l4_off + (which_dst ? 2 : 0);
	__u32 coff = l4_off + (proto == IPPROTO_TCP ? 16 : 6);
	__u64 mangled = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 old[4] = {}, i;
	__u16 old_port;

	if (nat_load(ctx, aoff, old, alen) || nat_load(ctx, poff, &old_port, 2))
		return -1;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (i * 4 < alen && bpf_l4_csum_replace(ctx, coff, old[i], to->addr[i],
							BPF_F_PSEUDO_HDR | mangled | 4))
			return -1;
	}
	if (bpf_l4_csum_replace(ctx, coff, old_port, to->port, mangled | 2))
		return -1;
	if (!v6 && bpf_l3_csum_replace(ctx, l3_off + 10, old[0], to->addr[0], 4))
		return -1;
	if (nat_store(ctx, aoff, (void *)to->addr, alen) ||
	    nat_store(ctx, poff, (void *)&to->port, 2))
		return -1;
	return 0;
}
#else
/* Replace one endpoint of the packet (dst when which_dst, else src): the
 * address in the IP header, the port in the TCP/UDP header, the IPv4 header
 * checksum and the L4 checksum (pseudo-header and port). 0 or -1. */
static __always_inline int nat_rewrite(SL_CTX *ctx, __u32 l3_off, __u32 l4_off, int v6,
				       __u8 proto, int which_dst, const struct nat_ep *to)
{
	__u32 alen = v6 ? 16 : 4, aoff = l3_off + (v6 ? 8 : 12) + (which_dst ? alen : 0);
	__u32 poff = l4_off + (which_dst ? 2 : 0);
	__u32 coff = l4_off + (proto == IPPROTO_TCP ? 16 : 6);
	__u32 old_sum, new_sum;
	__u16 old_addr[8] = {}, new_addr[8] = {}, old_port, check, ipcheck;
	int nw = v6 ? 8 : 2;

	if (v6) {
		if (nat_load(ctx, aoff, old_addr, 16))
			return -1;
		__builtin_memcpy(new_addr, to->addr, 16);
	} else {
		if (nat_load(ctx, aoff, old_addr, 4))
			return -1;
		__builtin_memcpy(new_addr, to->addr, 4);
	}
	if (nat_load(ctx, poff, &old_port, 2) || nat_load(ctx, coff, &check, 2))
		return -1;
	old_sum = nat_sum16(old_addr, nw);
	new_sum = nat_sum16(new_addr, nw);
	/* L4: the pseudo-header's address and the port. A UDP/IPv4 checksum
	 * of 0 means none: it stays 0. */
	if (!(proto == IPPROTO_UDP && !v6 && !check)) {
		check = nat_csum_update(check, old_sum + old_port, new_sum + to->port, nw + 1);
		if (proto == IPPROTO_UDP && !check)
			check = 0xffff;
		if (nat_store(ctx, coff, &check, 2))
			return -1;
	}
	if (!v6) {
		if (nat_load(ctx, l3_off + 10, &ipcheck, 2))
			return -1;
		ipcheck = nat_csum_update(ipcheck, old_sum, new_sum, nw);
		if (nat_store(ctx, l3_off + 10, &ipcheck, 2))
			return -1;
	}
	if (nat_store(ctx, aoff, new_addr, alen) || nat_store(ctx, poff, (void *)&to->port, 2))
		return -1;
	return 0;
}
#endif

#endif
