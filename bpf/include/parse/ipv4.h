/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4. Checks, in this order (docs/datapath.md has the whole table):
 *   fewer than 20 bytes               -> PARSE_TRUNC_IPV4
 *   version != 4                      -> PARSE_IPV4_VERSION
 *   IHL < 5                           -> PARSE_IPV4_IHL
 *   IHL*4 past the end of the frame   -> PARSE_TRUNC_IPV4
 *   tot_len < IHL*4 or past the frame -> PARSE_IPV4_LEN
 *   TCP at fragment offset 1          -> FRAG_OVERLAP
 * Options (IHL > 5) set SL_F_IPV4_OPTS and are skipped, not interpreted: the
 * L4 header is at IHL*4, never at a fixed 20. Bytes after tot_len (Ethernet
 * padding) are ignored. The header checksum is not verified (the stack
 * does that).
 */
#ifndef SLUICE_PARSE_IPV4_H
#define SLUICE_PARSE_IPV4_H

#include <linux/ip.h>
#include "parse/cursor.h"
#include "parse/frag.h"

/* include/net/ip.h is not UAPI. */
#define SL_IP_MF 0x2000
#define SL_IP_OFFSET 0x1fff

/* Returns the upper-layer protocol or -reason; leaves the cursor after the
 * options and sets c->l3_end to the end of the datagram. */
static __always_inline int parse_ipv4(struct sl_cursor *c, struct sl_meta *meta)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot_len;
	__u16 frag;
	__u8 vihl, proto;

	if ((void *)(iph + 1) > c->end)
		return -SL_DROP_PARSE_TRUNC_IPV4;
	/* The first byte by hand: no bitfield order to get wrong. */
	vihl = *(__u8 *)iph;
	if ((vihl >> 4) != 4)
		return -SL_DROP_PARSE_IPV4_VERSION;
	hlen = (vihl & 0x0f) * 4;
	if (hlen < sizeof(*iph))
		return -SL_DROP_PARSE_IPV4_IHL;
	/* hlen <= 60: a constant-bounded move, checked like any header. */
	if (c->pos + hlen > c->end)
		return -SL_DROP_PARSE_TRUNC_IPV4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < hlen || c->off + tot_len > c->frame_len)
		return -SL_DROP_PARSE_IPV4_LEN;

	proto = iph->protocol;
	meta->family = 4;
	meta->l4proto = proto;
	meta->saddr[0] = iph->saddr;
	meta->daddr[0] = iph->daddr;
	if (hlen > sizeof(*iph))
		meta->flags |= SL_F_IPV4_OPTS;

	frag = bpf_ntohs(iph->frag_off);
	c->l3_end = c->off + tot_len;
	cursor_advance(c, hlen);
	return frag_note(meta, frag & SL_IP_OFFSET, !!(frag & SL_IP_MF), proto) ?:
	       proto;
}

#endif
