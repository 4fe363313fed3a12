// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall stage: ordered rules, first match wins (docs/firewall.md).
 *
 * Per packet: look up up to three indexes (source class, destination class,
 * destination port class; most selective first, stopping early once a list
 * is short), scan the shortest candidate list with bpf_loop, checking every
 * field of each atom exactly, then count and decide. Non-IP packets go on
 * untouched.
 */
#include "stage.h"
#include "fw_lookup.h"
#include "fw_scan.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Pick the shortest candidate list of an IPv4 packet; returns its length.
 * The fallback, when no index applies, is every atom. */
static __always_inline __u32 fw_pick4(struct fw_scan *s)
{
	__u32 best = fw_cfg.f4.natoms, cls, k, i;
	struct fw_bucket *b;

	s->off = 0;
	s->direct = 1;
#pragma unroll
	for (i = 0; i < 3; i++) {
		__u8 f = fw_cfg.f4.order[i];

		if (f == FW_IDX_NONE || best <= fw_cfg.f4.scan_good)
			break;
		if (f == FW_IDX_SRC)
			cls = fw_lpm4_class(FW_LPM4_SRC_ROOT, s->saddr[0]);
		else if (f == FW_IDX_DST)
			cls = fw_lpm4_class(FW_LPM4_DST_ROOT, s->daddr[0]);
		else if (s->ports == FW_PORTS_KNOWN)
			cls = fw_port_class(s->dport);
		else
			continue;
		if (cls == FW_CLS_NONE)
			continue;
		k = fw_cfg.f4.base[f] + cls;
		b = bpf_map_lookup_elem(&fw_bkt4, &k);
		if (b && b->len <= best) {
			best = b->len;
			s->off = b->off;
			s->direct = 0;
		}
	}
	return best;
}

static __always_inline __u32 fw_pick6(struct fw_scan *s)
{
	__u32 best = fw_cfg.f6.natoms, cls, k, i;
	struct fw_bucket *b;
	const __u32 *a;

	s->off = 0;
	s->direct = 1;
#pragma unroll
	for (i = 0; i < 3; i++) {
		__u8 f = fw_cfg.f6.order[i];

		if (f == FW_IDX_NONE || best <= fw_cfg.f6.scan_good)
			break;
		if (f == FW_IDX_SRC || f == FW_IDX_DST) {
			a = f == FW_IDX_SRC ? s->saddr : s->daddr;
			cls = (__u32)fw_lpm6_class(f, a[0], a[1], a[2], a[3]);
		} else if (s->ports == FW_PORTS_KNOWN) {
			cls = fw_port_class(s->dport);
		} else {
			continue;
		}
		if (cls == FW_CLS_NONE)
			continue;
		k = fw_cfg.f6.base[f] + cls;
		b = bpf_map_lookup_elem(&fw_bkt6, &k);
		if (b && b->len <= best) {
			best = b->len;
			s->off = b->off;
			s->direct = 0;
		}
	}
	return best;
}

SEC("xdp")
int fw_stage(struct xdp_md *ctx)
{
	struct sl_meta *meta = stage_begin(ctx);
	struct fw_scan s = {};
	__u32 len, trace = 0, reason = 0;
	struct fw_rule *r;

	if (!meta)
		return CTX_ACT_DROP;
	if (meta->family != 4 && meta->family != 6)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);

	__builtin_memcpy(s.saddr, meta->saddr, sizeof(s.saddr));
	__builtin_memcpy(s.daddr, meta->daddr, sizeof(s.daddr));
	s.pkt_len = meta->pkt_len;
	s.proto = meta->l4proto;
	s.sport = meta->sport;
	s.dport = meta->dport;
	if ((meta->flags & SL_F_HAS_L4) && !(meta->flags & SL_F_FRAG_LATER))
		s.ports = FW_PORTS_KNOWN;
	else if (meta->flags & (SL_F_FRAG | SL_F_FRAG_LATER))
		s.ports = FW_PORTS_UNKNOWN;
	else
		s.ports = FW_PORTS_NONE;

	len = meta->family == 4 ? fw_pick4(&s) : fw_pick6(&s);
	if (len > FW_MAX_SCAN)
		s.res = FW_RES_ERROR;
	else if (meta->family == 4)
		bpf_loop(len, fw_scan4_cb, &s, 0);
	else
		bpf_loop(len, fw_scan6_cb, &s, 0);

	switch (s.res) {
	case FW_RES_MATCH:
		r = bpf_map_lookup_elem(&fw_rules, &s.rule);
		if (!r)
			return stage_drop(ctx, meta, SL_DROP_FW_SCAN_LIMIT, 0);
		fw_count(r->counter, s.pkt_len);
		trace = s.rule + 1;
		if (r->action != FW_ACT_ALLOW)
			reason = SL_DROP_FW_DENY;
		break;
	case FW_RES_NO_PORTS:
		trace = s.rule + 1;
		reason = SL_DROP_FRAG_NO_PORTS;
		break;
	case FW_RES_NONE:
		fw_count(fw_cfg.default_counter, s.pkt_len);
		if (fw_cfg.default_action != FW_ACT_ALLOW)
			reason = SL_DROP_FW_DEFAULT_DENY;
		break;
	default: /* list too long or image inconsistent: fail closed */
		return stage_drop(ctx, meta, SL_DROP_FW_SCAN_LIMIT, 0);
	}
	if (!reason)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, trace);
	if (fw_cfg.audit)
		return stage_audit(ctx, meta, reason, trace);
	return stage_drop(ctx, meta, reason, trace);
}
