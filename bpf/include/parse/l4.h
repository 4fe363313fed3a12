/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Upper layer: TCP, UDP, SCTP ports, ICMP/ICMPv6 type and code.
 *
 * The whole fixed header must lie inside the datagram (before l3_end):
 * TCP 20 bytes, UDP 8, SCTP 12, ICMP and ICMPv6 8. When it does not, a first
 * fragment is FRAG_TINY and anything else PARSE_TRUNC_L4. Nothing is read
 * from a non-first fragment. Ports are stored in host order; for ICMP and
 * ICMPv6 (either protocol number, in either family) dport is the type and
 * sport the code. Other protocols (ESP, GRE, No Next Header, ...) get
 * l4proto and l4_off but no SL_F_HAS_L4.
 */
#ifndef SLUICE_PARSE_L4_H
#define SLUICE_PARSE_L4_H

#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "parse/cursor.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

#define SL_TCP_HLEN 20
#define SL_UDP_HLEN 8
#define SL_SCTP_HLEN 12
#define SL_ICMP_HLEN 8

/* The bytes of each header the parser reads; sizes are the full fixed
 * headers, so the bounds check covers what the length check promised. */
struct sl_l4_ports {
	__be16 sport;
	__be16 dport;
};

struct sl_tcp_min {
	__be16 sport;
	__be16 dport;
	__be32 seq;
	__be32 ack;
	__u8 doff_res;
	__u8 flags;
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

struct sl_icmp_min {
	__u8 type;
	__u8 code;
	__be16 check;
	__be32 rest;
};

/* Minimal header length of proto, 0 when the parser reads nothing of it. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return SL_TCP_HLEN;
	case IPPROTO_UDP:
		return SL_UDP_HLEN;
	case IPPROTO_SCTP:
		return SL_SCTP_HLEN;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return SL_ICMP_HLEN;
	}
	return 0;
}

/* verifier: each protocol checks its own constant-size struct against
 * data_end, right before the reads (a variable-size check would give the
 * range to a different pointer). With the datagram inside the frame these
 * checks cannot fail for XDP; they are what makes the reads provably safe. */
static __always_inline int parse_l4(struct sl_cursor *c, struct sl_meta *meta,
				    __u8 proto)
{
	struct sl_tcp_min *th;
	struct sl_l4_ports *ph;
	struct sl_icmp_min *ih;
	__u32 need;

	/* verifier: the flags are read back from memory (volatile) rather
	 * than from the register the compiler kept them in: as known
	 * constants they would be marked precise and keep apart states that
	 * differ only in flags. */
	__u16 flags = *(volatile __u16 *)&meta->flags;

	meta->l4proto = proto;
	if (flags & SL_F_FRAG_LATER) {
		meta->l4_off = 0; /* the IPv6 walk used it as scratch */
		return 0;
	}
	/* Settling also stores l4_off. */
	if (cursor_settle(c, meta))
		return -SL_DROP_PARSE_TRUNC_L4;
	need = l4_min_len(proto);
	if (!need)
		return 0;
	if (c->off + need > c->l3_end)
		return flags & SL_F_FRAG ? -SL_DROP_FRAG_TINY :
						 -SL_DROP_PARSE_TRUNC_L4;

	switch (proto) {
	case IPPROTO_TCP:
		th = c->pos;
		if ((void *)(th + 1) > c->end)
			return -SL_DROP_PARSE_TRUNC_L4;
		meta->sport = bpf_ntohs(th->sport);
		meta->dport = bpf_ntohs(th->dport);
		meta->tcp_flags = th->flags;
		break;
	case IPPROTO_UDP:
		ph = c->pos;
		if ((void *)ph + SL_UDP_HLEN > c->end)
			return -SL_DROP_PARSE_TRUNC_L4;
		meta->sport = bpf_ntohs(ph->sport);
		meta->dport = bpf_ntohs(ph->dport);
		break;
	case IPPROTO_SCTP:
		ph = c->pos;
		if ((void *)ph + SL_SCTP_HLEN > c->end)
			return -SL_DROP_PARSE_TRUNC_L4;
		meta->sport = bpf_ntohs(ph->sport);
		meta->dport = bpf_ntohs(ph->dport);
		break;
	default: /* ICMP, ICMPv6 */
		ih = c->pos;
		if ((void *)(ih + 1) > c->end)
			return -SL_DROP_PARSE_TRUNC_L4;
		meta->dport = ih->type;
		meta->sport = ih->code;
		break;
	}
	meta->flags |= SL_F_HAS_L4;
	return 0;
}

#endif
