/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Fragments, IPv4 and IPv6 alike.
 *
 *  - A fragment is any packet with MF (IPv6: M) set or a non-zero offset:
 *    SL_F_FRAG. An IPv6 "atomic fragment" (offset 0, M clear, RFC 6946) is
 *    a whole datagram and is not flagged.
 *  - A non-first fragment (offset != 0) carries no L4 header: SL_F_FRAG_LATER,
 *    and the L4 parser reads nothing, so no rule can ever see ports that are
 *    really payload bytes (openshift/ingress-node-firewall#730,
 *    cilium#10076).
 *  - TCP with offset 1 (8 bytes) can only rewrite the header of the first
 *    fragment (RFC 1858, "overlapping fragment attack"): dropped. IPv6 gets
 *    the same rule: RFC 5722 forbids overlaps outright, so nothing legitimate
 *    is lost.
 *  - A first fragment too short for the whole L4 header is "tiny" (RFC 1858,
 *    RFC 7112): parse/l4.h drops it with FRAG_TINY.
 */
#ifndef SLUICE_PARSE_FRAG_H
#define SLUICE_PARSE_FRAG_H

#include <linux/in.h>
#include "parse/cursor.h"

/* offset: in 8-byte units; more: MF / M. Returns 0 or -reason. */
static __always_inline int frag_note(struct sl_meta *meta, __u16 offset,
				     int more, __u8 proto)
{
	if (!offset && !more)
		return 0;
	meta->flags |= SL_F_FRAG;
	if (!offset)
		return 0;
	meta->flags |= SL_F_FRAG_LATER;
	if (offset == 1 && proto == IPPROTO_TCP)
		return -SL_DROP_FRAG_OVERLAP;
	return 0;
}

#endif
