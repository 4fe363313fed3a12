/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* parse_packet(): the one parser of the datapath. Fills struct sl_meta and
 * returns 0, or a negative enum sl_drop_reason. PLACEHOLDER: Ethernet only
 * until the full parser lands. */
#ifndef SLUICE_PARSE_PACKET_H
#define SLUICE_PARSE_PACKET_H

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "shared/meta.h"
#include "shared/drop_reasons.h"

static __always_inline int parse_packet(SL_CTX *ctx, struct sl_meta *meta)
{
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -SL_DROP_PARSE_TRUNC_ETH;
	meta->eth_proto = bpf_ntohs(eth->h_proto);
	return 0;
}

#endif
