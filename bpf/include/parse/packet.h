/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse_packet(): the one parser of the datapath, run once by the entry
 * program. The contract of every parser below it: a cursor (parse/cursor.h),
 * a bounds check against data_end inside the parser, a return of the next
 * protocol or a negative enum sl_drop_reason.
 *
 *   parse_eth    Ethernet + up to SL_MAX_VLAN tags  -> ethertype
 *   parse_ipv4   IPv4 + options + fragment fields   -> IP protocol
 *   parse_ipv6   IPv6 + bounded ext-header walk     -> upper-layer protocol
 *   parse_l4     TCP/UDP/SCTP ports, ICMP type/code -> 0
 *
 * meta must be zeroed by the caller (the entry program does it). On success
 * it returns 0 and meta holds: eth_proto, vlan_depth, l3_off, and for IP
 * family, saddr/daddr, l4proto, flags, and with SL_F_HAS_L4 l4_off, sport,
 * dport (host order) and tcp_flags. Non-IP frames return 0 with family 0:
 * the chain decides what to do with them. The fail-closed policy and every
 * drop reason: docs/datapath.md.
 */
#ifndef SLUICE_PARSE_PACKET_H
#define SLUICE_PARSE_PACKET_H

#include <linux/if_ether.h>
#include "parse/cursor.h"
#include "parse/eth.h"
#include "parse/ipv4.h"
#include "parse/ipv6.h"
#include "parse/l4.h"

#ifdef SL_HOOK_TC
/* An skb's headers may straddle its linear area, and direct packet access
 * only sees the linear part: pull up to this many bytes first. Headers
 * beyond it (very long IPv6 extension chains) drop as truncated. */
#define SL_TC_PULL_LEN 256

static __always_inline void parse_tc_pull(struct __sk_buff *skb)
{
	__u32 want = skb->len < SL_TC_PULL_LEN ? skb->len : SL_TC_PULL_LEN;

	if (ctx_len(skb) < want)
		bpf_skb_pull_data(skb, want);
}
#endif

static __always_inline int parse_packet(SL_CTX *ctx, struct sl_meta *meta)
{
	struct sl_cursor c;
	int ret;

#ifdef SL_HOOK_TC
	parse_tc_pull(ctx); /* before any packet pointer is taken */
#endif
	cursor_init(&c, ctx);
	ret = parse_eth(&c, meta);
	if (ret < 0)
		return ret;

	switch (ret) {
	case ETH_P_IP:
		ret = parse_ipv4(&c, meta);
		break;
	case ETH_P_IPV6:
		ret = parse_ipv6(&c, meta);
		break;
	default:
		return 0;
	}
	if (ret < 0)
		return ret;
	return parse_l4(&c, meta, ret);
}

#endif
