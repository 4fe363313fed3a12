// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The conntrack stage (docs/conntrack.md): looks the packet's flow up in
 * the chain's shared table, steps its state (TCP flags, UDP/ICMP/other
 * pseudo-states) and writes the packet's state (new, established, related,
 * invalid) into sl_meta.ct_state for the stages after it. It never drops:
 * judging is the firewall's (rule field `state`). The trace record's rule
 * is the state.
 *
 * It writes nothing a later verdict could regret. The flow a packet opens
 * and the state change a packet causes are left in ct_pending and done by
 * ct_commit, this object's second program, which the chain runs only when
 * the packet leaves it accepted (stage.h, stage_leave): a SYN the firewall
 * drops leaves no flow behind. What the stage still writes itself, for a
 * packet that fits a live flow: the flow's packet and byte counts, and
 * when the packet changes none of its state, the expiry refresh (as Linux
 * does).
 */
#include "stage.h"
#include "ct_maps.h"
#include "ct_tcp.h"
#include <linux/in.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

#define NSEC 1000000000ull

/* The lower (address, port) endpoint first: one key for both directions. */
static __always_inline int ct_ep_less(const __u32 *a, __u16 ap, const __u32 *b, __u16 bp)
{
	__u32 i, x, y;

#pragma unroll
	for (i = 0; i < 4; i++) {
		x = bpf_ntohl(a[i]);
		y = bpf_ntohl(b[i]);
		if (x != y)
			return x < y;
	}
	return ap < bp;
}

/* Fill k from a packet's endpoints; returns the sender's endpoint index. */
static __always_inline int ct_key_make(struct ct_key *k, const __u32 *sa, __u16 sp,
				       const __u32 *da, __u16 dp, __u8 proto, __u8 family)
{
	int swap = ct_ep_less(da, dp, sa, sp);
	__u32 i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		k->addr[0][i] = swap ? da[i] : sa[i];
		k->addr[1][i] = swap ? sa[i] : da[i];
	}
	k->port[0] = swap ? dp : sp;
	k->port[1] = swap ? sp : dp;
	k->proto = proto;
	k->family = family;
	k->pad = 0;
	return swap;
}

static __always_inline __u64 ct_timeout(__u32 idx)
{
	if (idx >= CT_TO__MAX)
		idx = CT_TO_OTHER;
	return ct_cfg.timeout_ns[idx];
}

/* ICMP type classes, per family (v6: ICMPv6 numbers). */
static __always_inline int ct_icmp_is_error(__u8 type, int v6)
{
	if (v6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static __always_inline int ct_icmp_echo(__u8 type, int v6, int *request)
{
	*request = type == (v6 ? 128 : 8);
	return *request || type == (v6 ? 129 : 0);
}

struct ct_inner4 {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

struct ct_inner6 {
	__be32 vtc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__be32 saddr[4];
	__be32 daddr[4];
};

struct ct_l4_head {
	__u8 b[8]; /* ports, or ICMP type, code, checksum, id, seq */
};

/* An ICMP error: RELATED when the flow of the datagram it quotes is in the
 * table (and alive), INVALID otherwise. Only the quoted header decides:
 * for IPv6, an upper-layer header right after the fixed one (no extension
 * headers in the quote). */
static __always_inline __u8 ct_related(SL_CTX *ctx, const struct sl_meta *meta, int v6,
				       __u64 now)
{
	__u32 off = meta->l4_off + 8, sa[4] = {}, da[4] = {};
	struct ct_l4_head l4;
	struct ct_entry *e;
	struct ct_key k;
	__u16 sp = 0, dp = 0;
	__u8 proto;
	int req;

	if (!v6) {
		struct ct_inner4 ih;

		if (ct_load_bytes(ctx, off, &ih, sizeof(ih)))
			return SL_CT_INVALID;
		if ((ih.ver_ihl >> 4) != 4 || (ih.ver_ihl & 0xf) < 5)
			return SL_CT_INVALID;
		if (bpf_ntohs(ih.frag_off) & 0x1fff)
			return SL_CT_INVALID; /* a later fragment quotes no ports */
		proto = ih.protocol;
		sa[0] = ih.saddr;
		da[0] = ih.daddr;
		off += (ih.ver_ihl & 0xf) * 4;
	} else {
		struct ct_inner6 ih;

		if (ct_load_bytes(ctx, off, &ih, sizeof(ih)))
			return SL_CT_INVALID;
		if ((bpf_ntohl(ih.vtc_flow) >> 28) != 6)
			return SL_CT_INVALID;
		proto = ih.nexthdr;
		__builtin_memcpy(sa, ih.saddr, 16);
		__builtin_memcpy(da, ih.daddr, 16);
		off += sizeof(ih);
	}
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (ct_load_bytes(ctx, off, &l4, 4))
			return SL_CT_INVALID;
		sp = (__u16)l4.b[0] << 8 | l4.b[1];
		dp = (__u16)l4.b[2] << 8 | l4.b[3];
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
			break; /* tracked as any other protocol */
		if (ct_load_bytes(ctx, off, &l4, 8))
			return SL_CT_INVALID;
		if (!ct_icmp_echo(l4.b[0], v6, &req))
			return SL_CT_INVALID; /* errors about errors: never */
		sp = dp = (__u16)l4.b[4] << 8 | l4.b[5];
		break;
	}
	ct_key_make(&k, sa, sp, da, dp, proto, v6 ? 6 : 4);
	e = bpf_map_lookup_elem(&ct_table, &k);
	if (!e || e->expires_ns <= now)
		return SL_CT_INVALID;
	return SL_CT_RELATED;
}

static __always_inline int ct_insert_err(long err)
{
	/* -E2BIG (a full HASH), -ENOMEM (no free LRU node): the table;
	 * anything else (-EBUSY, and -EDEADLK / -ETIMEDOUT of newer kernels'
	 * bucket locks): contention. */
	return err == -7 /* E2BIG */ || err == -12 /* ENOMEM */ ? CT_STAT_INSERT_FULL
								  : CT_STAT_INSERT_BUSY;
}

/* This CPU's pending record, marked in the packet's metadata for
 * ct_commit; NULL never happens (an array's slot 0). */
static __always_inline struct ct_pending *ct_pend(struct sl_meta *meta, __u8 op,
						  const struct ct_key *k, __u64 now)
{
	__u32 zero = 0;
	struct ct_pending *p = bpf_map_lookup_elem(&ct_pending, &zero);

	if (!p)
		return NULL;
	p->key = *k;
	p->op = op;
	p->now_ns = now;
	meta->commit |= SL_COMMIT_CT;
	return p;
}

static __always_inline __u8 ct_track(SL_CTX *ctx, struct sl_meta *meta)
{
	int v6 = meta->family == 6, sender, reply, req = 0, step;
	__u8 proto = meta->l4proto, tflags = meta->tcp_flags, st, fl;
	__u16 sp = 0, dp = 0;
	struct ct_pending *p;
	struct ct_entry *e;
	struct ct_key k;
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 to;

	if (meta->flags & SL_F_FRAG_LATER)
		return SL_CT_INVALID; /* no ports to find its flow by */
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (!(meta->flags & SL_F_HAS_L4))
			return SL_CT_INVALID;
		sp = meta->sport;
		dp = meta->dport;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
			break; /* the other family's ICMP: any other protocol */
		if (!(meta->flags & SL_F_HAS_L4))
			return SL_CT_INVALID;
		if (ct_icmp_is_error((__u8)meta->dport, v6))
			return ct_related(ctx, meta, v6, now);
		if (!ct_icmp_echo((__u8)meta->dport, v6, &req)) {
			ct_stat(CT_STAT_UNTRACKED);
			return SL_CT_NEW;
		}
		{
			__u8 id[2];

			if (ct_load_bytes(ctx, meta->l4_off + 4, id, 2))
				return SL_CT_INVALID;
			sp = dp = (__u16)id[0] << 8 | id[1];
		}
		break;
	}
	sender = ct_key_make(&k, meta->saddr, sp, meta->daddr, dp, proto, meta->family);

	e = bpf_map_lookup_elem(&ct_table, &k);
	if (e && e->expires_ns > now) {
		reply = sender != e->orig;
		st = e->state;
		fl = e->flags;
		if (proto == IPPROTO_TCP) {
			step = ct_tcp_step(&st, &fl, reply, tflags);
			if (step == CT_STEP_INVALID)
				return SL_CT_INVALID;
			if (step == CT_STEP_REOPEN)
				goto open; /* taken over in place at the commit */
			to = ct_tcp_timeout_idx(st);
		} else if (st == CT_S_ICMP) {
			if (reply && req)
				return SL_CT_INVALID; /* requests go one way */
			if (!reply && !req)
				return SL_CT_INVALID; /* so do replies */
			if (reply)
				fl |= CT_F_SEEN_REPLY;
			to = CT_TO_ICMP;
		} else if (st == CT_S_UDP || st == CT_S_UDP_REPLIED) {
			if (reply) {
				fl |= CT_F_SEEN_REPLY;
				st = CT_S_UDP_REPLIED;
			}
			to = st == CT_S_UDP_REPLIED ? CT_TO_UDP_REPLIED : CT_TO_UDP;
		} else {
			if (reply)
				fl |= CT_F_SEEN_REPLY;
			to = CT_TO_OTHER;
		}
		if (st != e->state || fl != e->flags) {
			/* A state change: only if the packet is accepted. */
			p = ct_pend(meta, CT_PEND_STEP, &k, now);
			if (p) {
				p->old_state = e->state;
				p->old_flags = e->flags;
				p->entry.state = st;
				p->entry.flags = fl;
				p->entry.created_ns = e->created_ns;
				p->entry.expires_ns = now + ct_timeout(to);
			}
		} else {
			e->expires_ns = now + ct_timeout(to);
		}
		__sync_fetch_and_add(&e->packets[reply], 1);
		__sync_fetch_and_add(&e->bytes[reply], meta->pkt_len);
		return reply || (fl & CT_F_SEEN_REPLY) ? SL_CT_ESTABLISHED : SL_CT_NEW;
	}

open:
	/* No live flow: may this packet open one? */
	switch (proto) {
	case IPPROTO_TCP:
		if (!ct_tcp_opens(tflags))
			return SL_CT_INVALID;
		st = CT_S_TCP_SYN_SENT;
		to = CT_TO_TCP_SYN_SENT;
		break;
	case IPPROTO_UDP:
		st = CT_S_UDP;
		to = CT_TO_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (proto == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
			if (!req)
				return SL_CT_INVALID; /* a reply to nothing */
			st = CT_S_ICMP;
			to = CT_TO_ICMP;
			break;
		}
		/* fall through */
	default:
		st = CT_S_OTHER;
		to = CT_TO_OTHER;
		break;
	}
	/* The flow is made by ct_commit, if the packet is accepted: a new
	 * entry, or a dead one (or a closed TCP flow's, reopened) taken over
	 * in place, the key being the same. */
	p = ct_pend(meta, CT_PEND_OPEN, &k, now);
	if (p) {
		p->entry.state = st;
		p->entry.orig = (__u8)sender;
		p->entry.flags = 0;
		p->entry.created_ns = now;
		p->entry.expires_ns = now + ct_timeout(to);
		p->entry.packets[0] = 1;
		p->entry.packets[1] = 0;
		p->entry.bytes[0] = meta->pkt_len;
		p->entry.bytes[1] = 0;
	}
	return SL_CT_NEW;
}

/* May an OPEN take over the live entry e of its key? A closed or closing
 * TCP flow's, reopened by a plain SYN (the stage saw it so). */
static __always_inline int ct_reopenable(const struct ct_pending *p, const struct ct_entry *e)
{
	return p->key.proto == IPPROTO_TCP &&
	       (e->state == CT_S_TCP_CLOSE || e->state == CT_S_TCP_CLOSING);
}

/* Do what the stage left. Another CPU may have changed the flow since
 * (a packet of the same flow judged meanwhile): the change made first
 * wins, this one is dropped rather than merged. */
static __always_inline void ct_apply(struct ct_pending *p)
{
	struct ct_entry *e = bpf_map_lookup_elem(&ct_table, &p->key);
	long err;

	if (p->op == CT_PEND_STEP) {
		if (!e || e->created_ns != p->entry.created_ns || e->state != p->old_state ||
		    e->flags != p->old_flags)
			return;
		e->state = p->entry.state;
		e->flags = p->entry.flags;
		e->expires_ns = p->entry.expires_ns;
		return;
	}
	if (p->op != CT_PEND_OPEN)
		return;
	if (e) {
		if (e->expires_ns > p->now_ns && !ct_reopenable(p, e))
			return; /* a live flow took the key meanwhile */
		e->state = p->entry.state;
		e->orig = p->entry.orig;
		e->flags = 0;
		e->created_ns = p->entry.created_ns;
		e->packets[0] = 1;
		e->packets[1] = 0;
		e->bytes[0] = p->entry.bytes[0];
		e->bytes[1] = 0;
		e->expires_ns = p->entry.expires_ns;
		ct_stat(CT_STAT_REUSED);
		return;
	}
	err = bpf_map_update_elem(&ct_table, &p->key, &p->entry, BPF_NOEXIST);
	if (!err)
		ct_stat(CT_STAT_CREATED);
	else if (err != -17 /* EEXIST: another CPU made it just now */)
		ct_stat(ct_insert_err(err));
}

SEC(SL_SEC_HOOK)
int ct_stage(SL_CTX *ctx)
{
	struct sl_meta *meta = stage_begin(ctx);
	__u8 state;

	if (!meta)
		return CTX_ACT_DROP;
	if (meta->family != 4 && meta->family != 6) {
		meta->ct_state = SL_CT_NONE;
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	}
	state = ct_track(ctx, meta);
	meta->ct_state = state;
	ct_stat(state - SL_CT_NEW + CT_STAT_NEW);
	return stage_next(ctx, meta, SL_VERDICT_CONTINUE, state);
}

/* The commit program: slot sl_nstages of the generation's chain, reached
 * from stage_leave() of whichever stage ends the chain, with the packet
 * accepted. Not a stage: no trace record; it checks the generation as a
 * later stage does and returns the action the packet leaves with. */
SEC(SL_SEC_HOOK)
int ct_commit(SL_CTX *ctx)
{
	struct sl_meta *meta = meta_get();
	struct ct_pending *p;
	__u32 zero = 0;

	if (!meta) {
		drop_count(SL_DROP_NO_META, ctx_len(ctx));
		return CTX_ACT_DROP;
	}
	if (meta->gen != sl_gen)
		return stage_drop(ctx, meta, SL_DROP_GEN_MISMATCH, 0);
	p = bpf_map_lookup_elem(&ct_pending, &zero);
	if (p && (meta->commit & SL_COMMIT_CT))
		ct_apply(p);
	meta->commit = 0;
	return stage_pass(meta, meta->leave_act);
}
