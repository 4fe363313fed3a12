// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The reference model: deliberately naive. No normalisation, no atoms, no
 * indexes: every rule, every list entry, checked as the spec reads. */
#include <stdbool.h>
#include <stdio.h>
#include <arpa/inet.h>
#include "shared/meta.h"
#include "shared/drop_reasons.h"
#include "fw_ref.h"

/* Does prefix p cover addr (both network order, family already equal)? */
static bool prefix_covers(const struct spec_prefix *p, const uint32_t *addr)
{
	int bits = p->plen, i;

	for (i = 0; i < 4 && bits > 0; i++, bits -= 32) {
		uint32_t m = bits >= 32 ? 0xffffffffu : 0xffffffffu << (32 - bits);

		if ((ntohl(addr[i]) & m) != (ntohl(p->addr[i]) & m))
			return false;
	}
	return true;
}

/* An absent list is "any"; a list matches when one entry of the packet's
 * family covers the address (so a list of only IPv6 prefixes never matches
 * an IPv4 packet). */
static bool addr_matches(const struct spec_prefix *list, size_t n, int family,
			 const uint32_t *addr)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (list[i].family == family && prefix_covers(&list[i], addr))
			return true;
	return false;
}

static bool port_matches(const struct spec_port_range *list, size_t n, uint16_t port)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (list[i].lo <= port && port <= list[i].hi)
			return true;
	return false;
}

void fw_ref_eval(const struct spec_firewall *fw, const struct fw_ref_pkt *p,
		 struct fw_ref_res *res)
{
	/* Ports are known only with an L4 header that is not from a later
	 * fragment; a fragment without them cannot say how a port rule
	 * would have judged it. */
	bool ports_known = (p->flags & SL_F_HAS_L4) && !(p->flags & SL_F_FRAG_LATER);
	bool ports_unknown = !ports_known && (p->flags & (SL_F_FRAG | SL_F_FRAG_LATER));
	long decided = -1;
	bool deny, frag = false;
	size_t i;

	res->naudit = 0;
	res->reason = 0;
	if (p->family != 4 && p->family != 6) {
		res->verdict = SL_VERDICT_CONTINUE;
		res->rule = 0;
		res->decider = FW_REF_NOBODY;
		return;
	}
	for (i = 0; i < fw->nrules; i++) {
		const struct spec_fw_rule *r = &fw->rules[i];
		bool l4 = r->nsports || r->ndports || r->icmp_type >= 0 || r->icmp_code >= 0;

		if (!addr_matches(r->src, r->nsrc, p->family, p->saddr) ||
		    !addr_matches(r->dst, r->ndst, p->family, p->daddr))
			continue;
		if (r->proto >= 0 && r->proto != p->proto)
			continue;
		/* a rule with states matches a packet in one of them; a
		 * packet no conntrack stage saw (state 0) in none */
		if (r->states && !(r->states & (1u << p->ct_state)))
			continue;
		if (l4) {
			if (ports_unknown) {
				if (r->audit)
					continue; /* never decides anyway */
				decided = (long)i;
				frag = true;
				break;
			}
			if (!ports_known)
				continue;
			if (!port_matches(r->sports, r->nsports, p->sport) ||
			    !port_matches(r->dports, r->ndports, p->dport))
				continue;
			if (r->icmp_type >= 0 && p->dport != r->icmp_type)
				continue;
			if (r->icmp_code >= 0 && p->sport != r->icmp_code)
				continue;
		}
		if (r->audit) {
			if (res->naudit < FW_REF_MAX_AUDIT)
				res->audit[res->naudit] = (uint32_t)i;
			res->naudit++;
			continue;
		}
		decided = (long)i;
		break;
	}

	if (frag) {
		res->rule = (uint32_t)decided + 1;
		res->decider = FW_REF_NOBODY;
		res->reason = SL_DROP_FRAG_NO_PORTS;
		deny = true;
	} else if (decided >= 0) {
		res->rule = (uint32_t)decided + 1;
		res->decider = decided;
		deny = fw->rules[decided].action == SPEC_ACT_DENY;
		res->reason = deny ? SL_DROP_FW_DENY : 0;
	} else {
		res->rule = 0;
		res->decider = FW_REF_DEFAULT;
		deny = fw->default_action == SPEC_ACT_DENY;
		res->reason = deny ? SL_DROP_FW_DEFAULT_DENY : 0;
	}
	if (!deny)
		res->verdict = SL_VERDICT_CONTINUE;
	else
		res->verdict = fw->audit ? SL_VERDICT_AUDIT : SL_VERDICT_DROP;
}

const char *fw_ref_str(uint8_t verdict, uint8_t reason, uint32_t rule, char *buf,
		       size_t len)
{
	static const char *const v[] = { "none", "continue", "pass", "drop", "audit" };
	static const char *const r[] = {
#define X(name, str) str,
		SL_DROP_REASONS(X)
#undef X
	};

	snprintf(buf, len, "%s/%s/%u", verdict < 5 ? v[verdict] : "?",
		 reason < sizeof(r) / sizeof(r[0]) ? r[reason] : "?", rule);
	return buf;
}
