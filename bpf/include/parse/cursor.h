/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The parser cursor: where the next header starts, and the two limits every
 * parser checks against.
 *
 *  - end (data_end) is the memory limit: no read may reach it. Every parser
 *    bounds-checks its own header against it with a constant size, right
 *    before reading it (the verifier's packet-range tracking needs the check
 *    and the access on the same pointer).
 *  - l3_end is the protocol limit: the offset where the IP datagram ends
 *    (IPv4 tot_len, IPv6 40 + payload_len). Bytes after it are Ethernet
 *    padding and never parsed as headers.
 *
 * off mirrors pos as a plain scalar (pos == data + off) so that length checks
 * (off + len > l3_end) are scalar compares, which the verifier accepts for
 * any len, while pos moves by bounded amounts only.
 */
#ifndef SLUICE_PARSE_CURSOR_H
#define SLUICE_PARSE_CURSOR_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "shared/meta.h"
#include "shared/drop_reasons.h"

struct sl_cursor {
	void *data;	 /* start of the frame */
	void *pos;	 /* first byte not parsed yet */
	void *end;	 /* data_end */
	__u32 off;	 /* pos - data */
	__u32 frame_len; /* bytes of the whole frame */
	__u32 l3_end;	 /* offset where the IP datagram ends */
};

static __always_inline void cursor_init(struct sl_cursor *c, SL_CTX *ctx)
{
	c->data = ctx_data(ctx);
	c->pos = c->data;
	c->end = ctx_data_end(ctx);
	c->off = 0;
#ifdef SL_HOOK_TC
	/* The frame may continue past the linear area: lengths in headers are
	 * checked against the whole skb, reads against data_end. */
	c->frame_len = ctx->len;
#else
	c->frame_len = ctx_len(ctx);
#endif
	c->l3_end = c->frame_len;
}

/* len must be bounded (a constant or a value the verifier knows is small):
 * the verifier rejects packet pointers that may move past 64 KiB. */
static __always_inline void cursor_advance(struct sl_cursor *c, __u32 len)
{
	c->pos += len;
	c->off += len;
}

/* Above any offset the parser can reach (22 bytes of Ethernet and VLAN, 40
 * of IPv6, SL_MAX_IPV6_EXTHDR * 2048 of extension headers) and low enough
 * that pos + a header size stays under the verifier's 64 KiB limit. */
#define SL_PARSE_MAX_OFF 0x7fff

/* verifier: a packet pointer remembers how it was built: its constant part
 * (VLAN tags, fragment headers) and the exact range of its variable part
 * (AH lengths count in 4 bytes, the others in 8). Pointers built along
 * different header chains never compare equal, so state pruning fails and
 * the states of the IPv6 walk multiply with every header (637k instructions
 * verified without this). cursor_settle() forgets the history: the offset
 * makes a round trip through memory the verifier does not track (the
 * per-CPU metadata, volatile so the compiler keeps the load) and pos is
 * rebuilt from it, bounded by SL_PARSE_MAX_OFF. Every chain then reaches
 * the next header in the same verifier state. Returns 0, or -1 when the
 * offset is out of bounds (it cannot be). */
static __always_inline int cursor_settle(struct sl_cursor *c,
					 struct sl_meta *meta)
{
	volatile __u16 *slot = &meta->l4_off;
	__u32 off;

	*slot = (__u16)c->off;
	/* verifier: a mask, not a compare: clang turns "off > 0x7fff" into
	 * a sign test on a copy of the register, which bounds nothing. */
	off = *slot;
	if (off != (off & SL_PARSE_MAX_OFF))
		return -1;
	off &= SL_PARSE_MAX_OFF;
	c->off = off;
	c->pos = c->data + off;
	return 0;
}

#endif
