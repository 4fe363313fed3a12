// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall stage: ordered rules, first match wins (docs/firewall.md).
 *
 * Per packet: look up up to three indexes (source class, destination class,
 * destination port class; most selective first, stopping early once a list
 * is short), scan the shortest candidate list (its first atom inline, for
 * IPv4 usually from the address tail's group, the rest with bpf_loop),
 * checking every field of each atom exactly, then count (through the CPU's
 * batch of deferred counts) and decide.
 * Non-IP packets go on untouched.
 */
#include "stage.h"
#include "fw_lookup.h"
#include "fw_scan.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The list a leaf names: inline (FW_LPM_LIST) or through the bucket of a
 * class. Keeps it in s->off (its inline first atom in *first) and *best
 * when it is no longer than *best. */
static __always_inline void fw_take(struct fw_scan *s, __u32 *best, __u32 leaf,
				    const struct fw_atom4 *inl,
				    const struct fw_atom4 **first, __u32 base,
				    void *bkt_map)
{
	struct fw_bucket *b;
	__u32 off, len, k;

	if (leaf & FW_LPM_LIST) {
		off = leaf & FW_LIST_MAX_OFF;
		len = (leaf >> FW_LIST_LEN_SHIFT) & FW_LIST_MAX_LEN;
	} else {
		k = base + leaf;
		b = bpf_map_lookup_elem(bkt_map, &k);
		if (!b)
			return; /* inconsistent: keep the list in hand */
		off = b->off;
		len = b->len;
	}
	if (len <= *best) {
		*best = len;
		s->off = off;
		*first = inl;
	}
}

/* Pick the shortest candidate list of a packet; returns its length and sets
 * s->off, and *first to the list's first atom when an IPv4 tail holds it
 * inline (else NULL). The fallback, when no index applies, is every atom
 * of the family: fw_cand[0, natoms). Indexes are looked up most selective
 * first, and not at all once the list in hand is short. v6 is a constant
 * at each call site: each family gets its own code. */
static __always_inline __u32 fw_pick(struct fw_scan *s, const int v6,
				     const struct fw_atom4 **first)
{
	const volatile struct fw_fam_cfg *fc = v6 ? &fw_cfg.f6 : &fw_cfg.f4;
	__u32 best = fc->natoms, leaf, i;
	const struct fw_atom4 *inl;
	const __u32 *a;
	long r;

	s->off = 0;
	*first = NULL;
#pragma unroll
	for (i = 0; i < 3; i++) {
		__u8 f = fc->order[i];

		if (f == FW_IDX_NONE || best <= fc->scan_good)
			break;
		inl = NULL;
		if (f == FW_IDX_PORT) {
			if (s->ports != FW_PORTS_KNOWN)
				continue;
			leaf = fw_port_class(s->dport);
		} else if (v6) {
			a = f == FW_IDX_SRC ? s->saddr : s->daddr;
			r = fw_lpm6_class(f, a[0], a[1], a[2], a[3]);
			leaf = r < 0 ? FW_CLS_NONE : (__u32)r;
		} else {
			leaf = f == FW_IDX_SRC ? fw_lpm4_class(FW_LPM4_SRC_ROOT, s->saddr[0], &inl)
					       : fw_lpm4_class(FW_LPM4_DST_ROOT, s->daddr[0], &inl);
		}
		if (leaf != FW_CLS_NONE)
			fw_take(s, &best, leaf, inl, first, fc->base[f],
				v6 ? (void *)&fw_bkt6 : (void *)&fw_bkt4);
	}
	return best;
}

SEC(SL_SEC_HOOK)
int fw_stage(SL_CTX *ctx)
{
	struct sl_meta *meta = stage_begin(ctx);
	const struct fw_atom4 *first;
	struct fw_scan s = {};
	__u32 len, trace = 0, reason = 0, i;
	long done;

	if (!meta)
		return CTX_ACT_DROP;
	if (meta->family != 4 && meta->family != 6)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);

	for (i = 0; i < 4; i++) {
		s.saddr[i] = bpf_ntohl(meta->saddr[i]);
		s.daddr[i] = bpf_ntohl(meta->daddr[i]);
	}
	s.pkt_len = meta->pkt_len;
	s.proto = meta->l4proto;
	s.sport = meta->sport;
	s.dport = meta->dport;
	s.ct_state = meta->ct_state;
	s.v6 = meta->family == 6;
	if ((meta->flags & SL_F_HAS_L4) && !(meta->flags & SL_F_FRAG_LATER))
		s.ports = FW_PORTS_KNOWN;
	else if (meta->flags & (SL_F_FRAG | SL_F_FRAG_LATER))
		s.ports = FW_PORTS_UNKNOWN;
	else
		s.ports = FW_PORTS_NONE;

	len = meta->family == 4 ? fw_pick(&s, 0, &first) : fw_pick(&s, 1, &first);
	if (len > FW_MAX_SCAN) {
		s.res = FW_RES_ERROR;
	} else if (len) {
		/* The first atom inline: usually the list's only one (or the
		 * one that decides), checked with no call in between. A
		 * BPF-to-BPF call is not cheap: its return goes through the
		 * kernel's return thunk where return-stack mitigations are on
		 * (SRSO "safe RET" on the AMD bench machine). For IPv4 it
		 * is usually the tail group's copy (first), on the tail's
		 * page, not the one in fw_cand4. The rest, in order,
		 * through the callback. */
		if (first)
			done = fw_check4(&s, first);
		else
			done = s.v6 ? fw_scan6(&s, 0) : fw_scan4(&s, 0);
		if (!done && len > 1) {
			s.off++;
			bpf_loop(len - 1, fw_scan_cb, &s, 0);
		}
	}

	switch (s.res) {
	/* Counted through the CPU's batch: the counter's cache miss is then
	 * not the packet's last dependent access (shared/fw.h). */
	case FW_RES_MATCH:
		fw_count_deferred(s.counter, s.pkt_len);
		trace = s.rule + 1;
		if (s.deny)
			reason = SL_DROP_FW_DENY;
		break;
	case FW_RES_NO_PORTS:
		trace = s.rule + 1;
		reason = SL_DROP_FRAG_NO_PORTS;
		break;
	case FW_RES_NONE:
		fw_count_deferred(fw_cfg.default_counter, s.pkt_len);
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
