/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The load balancer's dsr encapsulation (docs/loadbalancer.md), for XDP
 * and TC: an outer IPv4 header before an IPv4 packet, or an outer IPv6
 * header before an IPv6 one (Katran's model), with a UDP header between
 * them for GUE (variant 1: the inner IP header right after the UDP
 * header; the receiver tells IPv4 from IPv6 by its first nibble).
 *
 * Outer IPv4: tos copied from the inner packet, id 0, DF (tunnels do not
 * fragment: the path to the backend needs the room), ttl 64, header
 * checksum computed here. Outer IPv6: traffic class copied, flow label 0,
 * hop limit 64. GUE: source port 49152 + flow hash % 16384 (the backend's
 * RSS spreads flows), UDP length; checksum 0 over IPv4 (RFC 768), over
 * IPv6 the full checksum from the inner packet's own (local checksum
 * offload: a checksummed L4 segment sums to the complement of its pseudo
 * header), so the inner packet is never read past its IP header.
 *
 * The L2 header (Ethernet and VLAN tags) moves to the new front. At TC
 * the room comes from bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC) with the
 * ENCAP flags (the skb's inner offsets and GSO type follow); a packet
 * with VLAN tags in its data is refused there (the skb's mac_len would
 * have to match). */
#ifndef SLUICE_LB_ENCAP_H
#define SLUICE_LB_ENCAP_H

#include "ctx.h"
#include "lb_nat.h"
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "shared/lb.h"
#include "shared/meta.h"

#define LB_L2_MAX 22 /* Ethernet + 2 VLAN tags */

static __always_inline __u16 lb_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

struct lb_outer {
	union {
		struct iphdr ip4;
		struct ipv6hdr ip6;
	};
	struct udphdr udp; /* GUE; placed after the IP header it follows */
};

struct lb_encap_work {
	__u16 inner[20];	/* the inner IP header (IPv6: all of it) */
	struct iphdr o4;
	struct ipv6hdr o6;
	struct udphdr u;
	__u8 l2buf[LB_L2_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_encap_work);
} lb_encap_work SEC(".maps");

/* Encapsulate the packet toward backend dst. 0, or -1 (the packet is
 * untouched unless the room was already made: the caller drops it). */
static __noinline int lb_encap(SL_CTX *ctx, struct sl_meta *meta, const struct lb_svc *svc,
				    const __u32 *dst, __u32 hash)
{
	__u32 l2 = meta->l3_off, ilen, iplen, hlen, s, i;
	int v6 = meta->family == 6, gue = svc->encap == LB_ENCAP_GUE;
	struct lb_encap_work *w;
	__u32 zero = 0;

	/* the headers in per-CPU memory: with the stage's frame they would
	 * pass the verifier's 512 bytes of stack (6.1 rounds each frame up
	 * to 32 bytes) */
	w = bpf_map_lookup_elem(&lb_encap_work, &zero);
	if (!w || l2 < 14 || l2 > LB_L2_MAX)
		return -1;
	__builtin_memset(w, 0, sizeof(*w));
	iplen = v6 ? 40 : 20;
	hlen = iplen + (gue ? 8 : 0);
	if (nat_load(ctx, l2, w->inner, v6 ? 40 : 4))
		return -1;
	if (v6) {
		/* GUE's checksum sums the fixed header only */
		if (gue && (meta->flags & SL_F_IPV6_EXT))
			return -1;
		ilen = 40 + bpf_ntohs(w->inner[2]);
	} else {
		ilen = bpf_ntohs(w->inner[1]);
	}
	if (ilen < iplen || ilen > 0xffff - hlen)
		return -1;

	if (v6) {
		w->o6.version = 6;
		/* traffic class: the inner's, flow label 0 */
		w->o6.priority = ((__u8 *)w->inner)[0] & 0x0f;
		w->o6.flow_lbl[0] = ((__u8 *)w->inner)[1] & 0xf0;
		w->o6.payload_len = bpf_htons(ilen + (gue ? 8 : 0));
		w->o6.nexthdr = gue ? IPPROTO_UDP : IPPROTO_IPV6;
		w->o6.hop_limit = 64;
		__builtin_memcpy(&w->o6.saddr, svc->encap_src, 16);
		__builtin_memcpy(&w->o6.daddr, dst, 16);
	} else {
		w->o4.version = 4;
		w->o4.ihl = 5;
		w->o4.tos = ((__u8 *)w->inner)[1];
		w->o4.tot_len = bpf_htons(ilen + hlen);
		w->o4.frag_off = bpf_htons(0x4000); /* DF */
		w->o4.ttl = 64;
		w->o4.protocol = gue ? IPPROTO_UDP : IPPROTO_IPIP;
		w->o4.saddr = svc->encap_src[0];
		w->o4.daddr = dst[0];
		s = 0;
#pragma unroll
		for (i = 0; i < 10; i++)
			s += ((__u16 *)&w->o4)[i];
		w->o4.check = (__u16)~lb_fold(s);
	}
	if (gue) {
		w->u.source = bpf_htons(LB_GUE_SPORT_BASE + hash % 16384);
		w->u.dest = bpf_htons(svc->gue_port);
		w->u.len = bpf_htons(ilen + 8);
		if (v6) {
			/* outer pseudo header and UDP header */
			s = nat_sum16((__u16 *)&w->o6.saddr, 8) + nat_sum16((__u16 *)&w->o6.daddr, 8);
			s += w->u.len + bpf_htons(IPPROTO_UDP) + w->u.source + w->u.dest + w->u.len;
			/* the inner IPv6 header, then its L4 segment: the
			 * complement of the inner pseudo header's sum */
			s += nat_sum16(w->inner, 10) + nat_sum16(w->inner + 10, 10);
			s = lb_fold(s);
			s += (__u16)~lb_fold(nat_sum16(w->inner + 4, 8) + nat_sum16(w->inner + 12, 8) +
					     w->inner[2] + bpf_htons(meta->l4proto));
			w->u.check = (__u16)~lb_fold(s);
			if (!w->u.check)
				w->u.check = 0xffff;
		}
	}

	/* room for the outer headers, the L2 header moved to the front */
#ifdef SL_HOOK_TC
	if (l2 != 14)
		return -1;
	if (bpf_skb_adjust_room(ctx, hlen, BPF_ADJ_ROOM_MAC,
				(v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) |
					(gue ? BPF_F_ADJ_ROOM_ENCAP_L4_UDP : 0)))
		return -1;
#else
	if (bpf_xdp_load_bytes(ctx, 0, w->l2buf, l2))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)hlen))
		return -1;
	if (bpf_xdp_store_bytes(ctx, 0, w->l2buf, l2))
		return -1;
#endif
	if (v6) {
		if (nat_store(ctx, l2, &w->o6, sizeof(w->o6)))
			return -1;
	} else {
		if (nat_store(ctx, l2, &w->o4, sizeof(w->o4)))
			return -1;
	}
	if (gue && nat_store(ctx, l2 + iplen, &w->u, sizeof(w->u)))
		return -1;
	/* later stages see the inner packet where it now is */
	meta->l3_off += hlen;
	meta->l4_off += hlen;
	meta->pkt_len += hlen;
	return 0;
}

#endif
