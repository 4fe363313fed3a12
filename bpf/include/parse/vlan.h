/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VLAN tags: 802.1Q (0x8100) and 802.1ad (0x88a8), in any mix, up to
 * SL_MAX_VLAN of them. A deeper stack is dropped (PARSE_VLAN_DEPTH), never
 * treated as a non-IP frame: that would let it skip every IP rule
 * (xdp-cpumap-tc#15). Other TPIDs (0x9100, ...) are not VLANs for Linux
 * either and stay non-IP ethertypes.
 */
#ifndef SLUICE_PARSE_VLAN_H
#define SLUICE_PARSE_VLAN_H

#include <linux/if_ether.h>
#include "parse/cursor.h"

/* linux/if_vlan.h is not UAPI. */
struct sl_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline int vlan_is_tpid(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

/* proto: the ethertype that followed the MAC addresses (network order).
 * Returns the ethertype after the tags (host order) or -reason. */
static __always_inline int parse_vlan(struct sl_cursor *c,
				      struct sl_meta *meta, __be16 proto)
{
	struct sl_vlan_hdr *vh;
	int i;

#pragma unroll
	for (i = 0; i < SL_MAX_VLAN; i++) {
		if (!vlan_is_tpid(proto))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -SL_DROP_PARSE_TRUNC_VLAN;
		proto = vh->encap_proto;
		cursor_advance(c, sizeof(*vh));
		meta->vlan_depth = i + 1;
	}
	if (vlan_is_tpid(proto))
		return -SL_DROP_PARSE_VLAN_DEPTH;
	return bpf_ntohs(proto);
}

#endif
