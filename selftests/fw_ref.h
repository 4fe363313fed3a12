/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The firewall's reference model: first-match semantics evaluated naively,
 * rule by rule, straight from struct spec_firewall (docs/firewall.md,
 * "Semantics"). It shares no code with the compiler; the differential test
 * holds the compiled stage to it. */
#ifndef SLUICE_FW_REF_H
#define SLUICE_FW_REF_H

#include <stddef.h>
#include <stdint.h>
#include "spec.h"

/* What the stage sees of a packet (the parser's sl_meta fields). */
struct fw_ref_pkt {
	uint8_t family;		/* 4, 6, or 0 (not IP) */
	uint8_t proto;		/* IPPROTO_* */
	uint16_t flags;		/* SL_F_* */
	uint16_t sport, dport;	/* host order; ICMP: code, type */
	uint32_t saddr[4];	/* network order; IPv4 in [0] */
	uint32_t daddr[4];
	uint32_t len;		/* bytes, for the counters */
	uint8_t ct_state;	/* SL_CT_* (0: no conntrack stage ran) */
};

#define FW_REF_DEFAULT (-1L)	/* res.decider: the default action */
#define FW_REF_NOBODY (-2L)	/* res.decider: no counter moves */
#define FW_REF_MAX_AUDIT 64

struct fw_ref_res {
	uint8_t verdict;	/* the stage's: CONTINUE, DROP or AUDIT */
	uint8_t reason;		/* enum sl_drop_reason, DROP and AUDIT */
	uint32_t rule;		/* trace rule: index + 1, 0 = none/default */
	long decider;		/* rule whose counter counts the packet, or
				 * FW_REF_DEFAULT / FW_REF_NOBODY */
	uint32_t audit[FW_REF_MAX_AUDIT]; /* audit rules counted, in order */
	size_t naudit;		/* may exceed FW_REF_MAX_AUDIT (not stored) */
};

void fw_ref_eval(const struct spec_firewall *fw, const struct fw_ref_pkt *p,
		 struct fw_ref_res *res);

/* "verdict/reason/rule" for messages, e.g. "drop/firewall_deny/3". */
const char *fw_ref_str(uint8_t verdict, uint8_t reason, uint32_t rule,
		       char *buf, size_t len);

#endif
