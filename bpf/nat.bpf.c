// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The NAT stage: source NAT / masquerade (docs/nat.md).
 *
 * A TCP/UDP packet from a source the spec translates gets the NAT address
 * and a port of the range as its source. The port of a new flow is found
 * by probing from a hash of the flow: a probe claims port P by inserting
 * the translated flow as its replies will carry it (server -> NAT
 * address:P) into nat_rev with BPF_NOEXIST, so two flows can never get the
 * same translated 5-tuple, whatever the CPUs do. No free port after
 * NAT_PROBES probes: the packet is dropped (nat_ports_exhausted), never
 * sent untranslated. A reply (its 5-tuple in nat_rev) gets the client back
 * as its destination. The stage sees both directions wherever it is
 * attached (tc-egress for the flows, tc-ingress for the replies, on the
 * same interface), and tells them apart by the tables, not by the hook.
 *
 * Idle timeouts (shared/flow.h): a packet, either way, refreshes both
 * entries of its flow. A dead entry is no flow; a dead reverse entry
 * still holds its port (BPF_NOEXIST fails on it) until the sweep deletes
 * it, and no packet revives it, so a port is free again only once no
 * entry names it: never two flows on one translated 5-tuple. */
#include "stage.h"
#include "nat_maps.h"
#include "lb_nat.h"
#include "flow_expiry.h"
#include "lb_nat_icmp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline __u32 nat_hash(const struct nat_key *k)
{
	__u32 h = 0x6e617421, i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		h ^= k->saddr[i];
		h *= 0x9e3779b1;
		h ^= k->daddr[i];
		h *= 0x85ebca77;
	}
	h ^= (__u32)k->sport << 16 | k->dport;
	h *= 0xc2b2ae3d;
	h ^= h >> 15;
	return h;
}

/* The reply key of a flow translated to (addr, port). */
static __always_inline void nat_rev_key(struct nat_key *rk, const struct nat_key *k,
					const __u32 *addr, __u16 port)
{
	__builtin_memcpy(rk->saddr, k->daddr, 16);
	__builtin_memcpy(rk->daddr, addr, 16);
	rk->sport = k->dport;
	rk->dport = port;
	rk->proto = k->proto;
	rk->family = k->family;
	rk->pad = 0;
}

/* TCP/UDP: the endpoint's address and port; an ICMP echo (echo): the
 * address and the identifier (sl_meta keeps the type and code). */
static __always_inline int nat_rw(SL_CTX *ctx, struct sl_meta *m, int which_dst,
				  const struct nat_ep *ep, int echo)
{
	if (echo)
		return nat_icmp_echo_rewrite(ctx, m, which_dst, ep);
	return nat_rewrite(ctx, m->l3_off, m->l4_off, m->family == 6, m->l4proto, which_dst, ep);
}

static __always_inline int nat_out(SL_CTX *ctx, struct sl_meta *m, const struct nat_val *v,
				   int echo)
{
	struct nat_ep ep;

	__builtin_memcpy(ep.addr, v->addr, 16);
	ep.port = bpf_htons(v->port);
	if (nat_rw(ctx, m, 0, &ep, echo))
		return stage_drop(ctx, m, SL_DROP_LB_REWRITE, 1);
	__builtin_memcpy(m->saddr, v->addr, 16);
	if (!echo)
		m->sport = v->port;
	return stage_next(ctx, m, SL_VERDICT_CONTINUE, 1);
}

/* r (a reverse entry) maps to the client of k. */
static __always_inline int nat_is_mine(const struct nat_val *r, const struct nat_key *k)
{
	return r->addr[0] == k->saddr[0] && r->addr[1] == k->saddr[1] &&
	       r->addr[2] == k->saddr[2] && r->addr[3] == k->saddr[3] && r->port == k->sport;
}

static __always_inline void nat_touch(struct nat_val *e, __u8 st, __u64 now, __u64 exp)
{
	e->state = st;
	e->last_ns = now;
	e->expires_ns = exp;
}

/* A reply (k: server -> NAT address:port) whose reverse entry r is live:
 * the client back as its destination; both entries refreshed. */
static __always_inline int nat_reply(SL_CTX *ctx, struct sl_meta *meta, const struct nat_key *k,
				     struct nat_val *r, __u64 now, int echo)
{
	struct nat_key fk;
	struct nat_val *f;
	struct nat_ep ep;
	__u64 exp;
	__u8 st;

	__builtin_memcpy(ep.addr, r->addr, 16);
	ep.port = bpf_htons(r->port);
	if (nat_rw(ctx, meta, 1, &ep, echo))
		return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 2);
	st = flow_next_state(r->state, meta->l4proto, meta->tcp_flags, 1);
	exp = flow_expiry(nat_cfg.timeout_ns, st, now);
	nat_touch(r, st, now, exp);
	/* the flow as its client sent it: client -> server */
	__builtin_memcpy(fk.saddr, r->addr, 16);
	__builtin_memcpy(fk.daddr, k->saddr, 16);
	fk.sport = r->port;
	fk.dport = k->sport;
	fk.proto = k->proto;
	fk.family = k->family;
	fk.pad = 0;
	f = bpf_map_lookup_elem(&nat_flows, &fk);
	if (f && f->expires_ns > now && f->port == k->dport)
		nat_touch(f, st, now, exp);
	__builtin_memcpy(meta->daddr, r->addr, 16);
	if (!echo)
		meta->dport = r->port;
	return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 2);
}

/* The NAT address of a family (all 0: none). */
static __always_inline void nat_addr(__u32 *addr, int v6)
{
	if (v6) {
		addr[0] = nat_cfg.addr6[0];
		addr[1] = nat_cfg.addr6[1];
		addr[2] = nat_cfg.addr6[2];
		addr[3] = nat_cfg.addr6[3];
	} else {
		addr[0] = nat_cfg.addr4;
		addr[1] = addr[2] = addr[3] = 0;
	}
}

static __always_inline int nat_is_source(const struct sl_meta *m)
{
	struct nat_src_key sk = {};

	sk.prefixlen = 32 + (m->family == 6 ? 128 : 32);
	sk.family = m->family;
	__builtin_memcpy(sk.addr, m->saddr, 16);
	return bpf_map_lookup_elem(&nat_src, &sk) != NULL;
}

/* A non-first fragment has no ports: it cannot be matched to a mapping.
 * From a source the NAT translates, or to a NAT address, it would leave
 * untranslated (the client's address on the wire, or an undeliverable
 * piece): dropped (nat_fragment). Anything else goes on. */
static __always_inline int nat_fragment(SL_CTX *ctx, struct sl_meta *m)
{
	__u32 a[4];

	nat_addr(a, m->family == 6);
	if (nat_is_source(m) || ((a[0] | a[1] | a[2] | a[3]) && a[0] == m->daddr[0] &&
				 a[1] == m->daddr[1] && a[2] == m->daddr[2] && a[3] == m->daddr[3]))
		return stage_drop(ctx, m, SL_DROP_NAT_FRAGMENT, 1);
	return stage_next(ctx, m, SL_VERDICT_CONTINUE, 0);
}

/* An ICMP error about a translated flow: to the NAT address (about a
 * flow out: the quote is NAT address:port -> server), the quote's source
 * and the outer destination go back to the client; from a client (about a
 * reply: the quote is server -> client), the quote's destination and the
 * outer source become the NAT's. Not about a flow: untouched. */
static __noinline int nat_icmp_error(SL_CTX *ctx, struct sl_meta *m)
{
	struct nat_icmp_work *w = nat_icmp_work_get();
	__u64 now = bpf_ktime_get_boot_ns();
	struct nat_quote *q;
	struct nat_key *k;
	struct nat_val *v;

	if (!w)
		return 0;
	q = &w->q;
	k = (struct nat_key *)w->key;
	if (nat_quote_parse(ctx, m, q))
		return 0;
	nat_quote_rev_key(w, m->family);
	v = bpf_map_lookup_elem(&nat_rev, k);
	if (v && v->expires_ns > now) {
		__builtin_memcpy(q->to.addr, v->addr, 16);
		q->to.port = bpf_htons(v->port);
		__builtin_memcpy(q->oaddr, v->addr, 16);
		q->q_dst = 0;
		q->outer = 2;
		if (nat_icmp_error_rewrite(ctx, m, q))
			return -1;
		__builtin_memcpy(m->daddr, v->addr, 16);
		return 2;
	}
	if (q->echo)
		return 0;
	v = bpf_map_lookup_elem(&nat_flows, k);
	if (v && v->expires_ns > now) {
		__builtin_memcpy(q->to.addr, v->addr, 16);
		q->to.port = bpf_htons(v->port);
		__builtin_memcpy(q->oaddr, v->addr, 16);
		q->q_dst = 1;
		q->outer = 1;
		if (nat_icmp_error_rewrite(ctx, m, q))
			return -1;
		__builtin_memcpy(m->saddr, v->addr, 16);
		return 1;
	}
	return 0;
}

SEC(SL_SEC_HOOK)
int nat_stage(SL_CTX *ctx)
{
	struct sl_meta *meta = stage_begin(ctx);
	struct nat_icmp_work *w = nat_icmp_work_get();
	struct nat_key *k, *rk;
	struct nat_val *f, *r, *nv, *rv;
	__u32 addr[4] = {}, range, start, i;
	__u64 now, exp;
	int v6, found = 0, claimed = 0, echo = 0;
	__u8 st;
	long err;

	if (!meta)
		return CTX_ACT_DROP;
	if (!w) /* verifier: never (a one-slot per-CPU array) */
		return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 0);
	/* keys and values in per-CPU memory: the frame is too small */
	k = (struct nat_key *)w->k;
	rk = (struct nat_key *)w->rk;
	nv = (struct nat_val *)w->v;
	rv = (struct nat_val *)w->rv;
	__builtin_memset(nv, 0, sizeof(*nv));
	__builtin_memset(rv, 0, sizeof(*rv));
	if (meta->family != 4 && meta->family != 6)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	if (meta->flags & SL_F_FRAG_LATER)
		return nat_fragment(ctx, meta);
	if (!(meta->flags & SL_F_HAS_L4))
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	v6 = meta->family == 6;
	now = bpf_ktime_get_boot_ns();
	__builtin_memcpy(k->saddr, meta->saddr, 16);
	__builtin_memcpy(k->daddr, meta->daddr, 16);
	k->sport = meta->sport;
	k->dport = meta->dport;
	k->proto = meta->l4proto;
	k->family = meta->family;
	k->pad = 0;
	if (meta->l4proto == IPPROTO_ICMP || meta->l4proto == IPPROTO_ICMPV6) {
		__u16 id;

		if (icmp_is_error(meta)) {
			int rule = nat_icmp_error(ctx, meta);

			if (rule < 0)
				return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 0);
			return stage_next(ctx, meta, SL_VERDICT_CONTINUE, (__u32)rule);
		}
		/* an echo: its identifier is the port (a request's source,
		 * a reply's destination) */
		echo = icmp_echo_kind(meta->l4proto, v6, (__u8)meta->dport);
		if (!echo || nat_load(ctx, meta->l4_off + 4, &id, 2))
			return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
		k->sport = echo == 1 ? bpf_ntohs(id) : 0;
		k->dport = echo == 1 ? 0 : bpf_ntohs(id);
	} else if (meta->l4proto != IPPROTO_TCP && meta->l4proto != IPPROTO_UDP) {
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	}

	/* A reply to a translated flow: the client back as its destination.
	 * A dead entry is no flow; it keeps its port until the sweep
	 * deletes it, and nothing here ever revives it. */
	r = bpf_map_lookup_elem(&nat_rev, k);
	if (r && r->expires_ns > now)
		return nat_reply(ctx, meta, k, r, now, echo);
	if (echo == 2)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0); /* a reply to nothing */

	/* A flow translated before: its port, if its reply entry is still
	 * its own and live (the LRU may have evicted it; then claim it
	 * again). */
	f = bpf_map_lookup_elem(&nat_flows, k);
	if (f && f->expires_ns <= now) {
		/* expired: a new flow, with a new port (the old one stays
		 * taken by its dead reverse entry until the sweep) */
		bpf_map_delete_elem(&nat_flows, k);
		flow_stat(FLOW_STATS_NAT + FLOW_STAT_REUSED);
		f = NULL;
	}
	if (f) {
		st = flow_next_state(f->state, k->proto, meta->tcp_flags, 0);
		exp = flow_expiry(nat_cfg.timeout_ns, st, now);
		nat_rev_key(rk, k, f->addr, f->port);
		r = bpf_map_lookup_elem(&nat_rev, rk);
		if (r && nat_is_mine(r, k) && r->expires_ns > now) {
			nat_touch(r, st, now, exp);
			nat_touch(f, st, now, exp);
			return nat_out(ctx, meta, f, echo);
		}
		__builtin_memcpy(rv->addr, k->saddr, 16);
		rv->port = k->sport;
		nat_touch(rv, st, now, exp);
		if (!r) {
			err = bpf_map_update_elem(&nat_rev, rk, rv, BPF_NOEXIST);
			if (!err) {
				nat_touch(f, st, now, exp);
				return nat_out(ctx, meta, f, echo);
			}
			flow_stat_insert_err(FLOW_STATS_NAT, err);
		}
		bpf_map_delete_elem(&nat_flows, k); /* its port is gone: a new one */
	}

	/* A new flow: from a source to translate? */
	if (!nat_is_source(meta))
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	nat_addr(addr, v6);
	if (!(addr[0] | addr[1] | addr[2] | addr[3]))
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	range = (__u32)nat_cfg.port_hi - nat_cfg.port_lo + 1;
	if (!range || range > 65536)
		return stage_drop(ctx, meta, SL_DROP_NAT_NO_PORT, 1);
	start = nat_hash(k) % range;
	st = flow_next_state(FLOW_S_NONE, k->proto, meta->tcp_flags, 0);
	exp = flow_expiry(nat_cfg.timeout_ns, st, now);
	__builtin_memcpy(rv->addr, k->saddr, 16);
	rv->port = k->sport;
	nat_touch(rv, st, now, exp);
	nat_rev_key(rk, k, addr, 0);
	for (i = 0; i < NAT_PROBES && i < range; i++) {
		rk->dport = (__u16)(nat_cfg.port_lo + (start + i) % range);
		err = bpf_map_update_elem(&nat_rev, rk, rv, BPF_NOEXIST);
		if (!err) {
			found = 1;
			claimed = 1;
			break;
		}
		flow_stat_insert_err(FLOW_STATS_NAT, err);
		/* Taken: by this very flow, whose nat_flows entry was lost
		 * (evicted, or swept in a race)? A live mapping to this
		 * client is this flow's own port: keep it. */
		r = bpf_map_lookup_elem(&nat_rev, rk);
		if (r && nat_is_mine(r, k) && r->expires_ns > now) {
			nat_touch(r, st, now, exp);
			flow_stat(FLOW_STATS_NAT + FLOW_STAT_ADOPTED);
			found = 1;
			break;
		}
	}
	if (!found)
		return stage_drop(ctx, meta, SL_DROP_NAT_NO_PORT, 1);
	__builtin_memcpy(nv->addr, addr, 16);
	nv->port = rk->dport;
	nat_touch(nv, st, now, exp);
	err = bpf_map_update_elem(&nat_flows, k, nv, BPF_NOEXIST);
	if (err) {
		/* another CPU translated this flow just now: take its port
		 * (and give back the one claimed here, never one adopted) */
		flow_stat_insert_err(FLOW_STATS_NAT, err);
		if (claimed)
			bpf_map_delete_elem(&nat_rev, rk);
		f = bpf_map_lookup_elem(&nat_flows, k);
		if (!f)
			return stage_drop(ctx, meta, SL_DROP_NAT_NO_PORT, 1);
		return nat_out(ctx, meta, f, echo);
	}
	flow_stat(FLOW_STATS_NAT + FLOW_STAT_CREATED);
	return nat_out(ctx, meta, nv, echo);
}
