/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv6 and a bounded walk of its extension headers.
 *   fewer than 40 bytes                 -> PARSE_TRUNC_IPV6
 *   version != 6                        -> PARSE_IPV6_VERSION
 *   40 + payload_len past the frame     -> PARSE_TRUNC_IPV6
 *   extension header cut (by the frame
 *   or by payload_len)                  -> PARSE_TRUNC_IPV6_EXTHDR
 *   more than SL_MAX_IPV6_EXTHDR        -> PARSE_IPV6_EXTHDR_DEPTH
 *   TCP at fragment offset 1            -> FRAG_OVERLAP
 * Walked: hop-by-hop (0), routing (43), fragment (44, always 8 bytes),
 * destination options (60), AH (51, length (hdrlen+2)*4: cilium#24309),
 * mobility (135), HIP (139), shim6 (140); the others' length is
 * (hdrlen+1)*8. Anything else ends the walk as the upper layer, including
 * ESP (50) and No Next Header (59), which have no ports. A non-first
 * fragment ends the walk at its fragment header: what follows is payload.
 * payload_len 0 (a jumbogram, RFC 2675) is not supported: it leaves no room
 * for any header after the fixed one and drops as truncated.
 */
#ifndef SLUICE_PARSE_IPV6_H
#define SLUICE_PARSE_IPV6_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include "parse/cursor.h"
#include "parse/frag.h"

/* Not every libc/UAPI version names these. */
#define SL_NEXTHDR_HOP 0
#define SL_NEXTHDR_ROUTING 43
#define SL_NEXTHDR_FRAGMENT 44
#define SL_NEXTHDR_ESP 50
#define SL_NEXTHDR_AUTH 51
#define SL_NEXTHDR_NONE 59
#define SL_NEXTHDR_DEST 60
#define SL_NEXTHDR_MOBILITY 135
#define SL_NEXTHDR_HIP 139
#define SL_NEXTHDR_SHIM6 140

/* The first 8 bytes every extension header has (the minimum length of all
 * of them, AH included). For the fragment header, w16 is the offset (in
 * 8-byte units, << 3) and the M flag (bit 0). */
struct sl_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 w16;
	__be32 w32;
};

static __always_inline int ipv6_is_ext(__u8 nh)
{
	switch (nh) {
	case SL_NEXTHDR_HOP:
	case SL_NEXTHDR_ROUTING:
	case SL_NEXTHDR_FRAGMENT:
	case SL_NEXTHDR_DEST:
	case SL_NEXTHDR_AUTH:
	case SL_NEXTHDR_MOBILITY:
	case SL_NEXTHDR_HIP:
	case SL_NEXTHDR_SHIM6:
		return 1;
	}
	return 0;
}

/* Walks from nh (the fixed header's next header). Returns the upper-layer
 * protocol or -reason; the cursor is left on the upper-layer header. */
static __always_inline int ipv6_walk_ext(struct sl_cursor *c,
					 struct sl_meta *meta, __u8 nh)
{
	struct sl_ipv6_ext *h;
	__u32 len;
	__u16 frag;
	int i, ret;

	/* verifier: unrolled. Kernels before 6.7 (Debian 12's 6.1 among them)
	 * reject this bounded loop as compiled ("back-edge from insn N to
	 * N+1": a fall-through back edge, fixed upstream by 10e14e9652bf and
	 * not backported), and unrolled it verifies in fewer instructions
	 * anyway. Each iteration starts from a settled cursor
	 * (cursor_settle), so every chain of headers is the same state to the
	 * verifier. Lengths are checked as scalars against l3_end (<= frame);
	 * reads against data_end, 8 bytes at a time. */
#pragma unroll
	for (i = 0; i < SL_MAX_IPV6_EXTHDR; i++) {
		if (!ipv6_is_ext(nh))
			return nh;
		if (cursor_settle(c, meta))
			return -SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
		h = c->pos;
		if ((void *)(h + 1) > c->end ||
		    c->off + sizeof(*h) > c->l3_end)
			return -SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
		meta->flags |= SL_F_IPV6_EXT;
		if (nh == SL_NEXTHDR_FRAGMENT) {
			frag = bpf_ntohs(h->w16);
			nh = h->nexthdr;
			cursor_advance(c, sizeof(*h));
			ret = frag_note(meta, frag >> 3, frag & 1, nh);
			if (ret < 0)
				return ret;
			if (frag >> 3)
				return nh; /* non-first: payload follows */
			continue;
		}
		if (nh == SL_NEXTHDR_AUTH)
			len = ((__u32)h->hdrlen + 2) * 4;
		else
			len = ((__u32)h->hdrlen + 1) * 8;
		if (c->off + len > c->l3_end)
			return -SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
		nh = h->nexthdr;
		cursor_advance(c, len);
	}
	if (ipv6_is_ext(nh))
		return -SL_DROP_PARSE_IPV6_EXTHDR_DEPTH;
	return nh;
}

static __always_inline int parse_ipv6(struct sl_cursor *c, struct sl_meta *meta)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen;
	__u8 nh;

	if ((void *)(ip6 + 1) > c->end)
		return -SL_DROP_PARSE_TRUNC_IPV6;
	if ((*(__u8 *)ip6 >> 4) != 6)
		return -SL_DROP_PARSE_IPV6_VERSION;
	plen = bpf_ntohs(ip6->payload_len);
	if (c->off + sizeof(*ip6) + plen > c->frame_len)
		return -SL_DROP_PARSE_TRUNC_IPV6;

	meta->family = 6;
	__builtin_memcpy(meta->saddr, &ip6->saddr, sizeof(meta->saddr));
	__builtin_memcpy(meta->daddr, &ip6->daddr, sizeof(meta->daddr));
	nh = ip6->nexthdr;
	c->l3_end = c->off + sizeof(*ip6) + plen;
	cursor_advance(c, sizeof(*ip6));
	return ipv6_walk_ext(c, meta, nh);
}

#endif
