/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet: the 14-byte header, then the VLAN tags (parse/vlan.h). */
#ifndef SLUICE_PARSE_ETH_H
#define SLUICE_PARSE_ETH_H

#include <linux/if_ether.h>
#include "parse/cursor.h"
#include "parse/vlan.h"

/* Returns the ethertype after the VLAN tags (host order, also in
 * meta->eth_proto) or -reason. Leaves the cursor on the L3 header. */
static __always_inline int parse_eth(struct sl_cursor *c, struct sl_meta *meta)
{
	struct ethhdr *eth = c->pos;
	__be16 proto;
	int ret;

	if ((void *)(eth + 1) > c->end)
		return -SL_DROP_PARSE_TRUNC_ETH;
	proto = eth->h_proto;
	cursor_advance(c, sizeof(*eth));

	ret = parse_vlan(c, meta, proto);
	if (ret < 0)
		return ret;
	meta->eth_proto = ret;
	meta->l3_off = c->off;
	return ret;
}

#endif
