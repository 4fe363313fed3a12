// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer stage, modes dnat and dsr (docs/loadbalancer.md).
 *
 * A packet to a service (VIP, port, protocol) goes to its flow's backend:
 * the flow table (the chain's lb_flows) pins it; a new flow, or a TCP SYN
 * (a new connection on the same 5-tuple), gets a backend from the
 * service's Maglev table by a hash of its 5-tuple, and is pinned. The
 * destination is rewritten to the backend with incremental checksums, and
 * a reverse entry (lb_rev) lets the backend's replies, wherever the chain
 * sees them, get the VIP back as their source. The stack then routes the
 * packet (its FIB lookup picks the egress).
 *
 * dsr: the flow is chosen and pinned the same way, but the packet keeps
 * the VIP and is encapsulated toward its backend (lb_encap.h: IP-in-IP or
 * GUE); the backend decapsulates and answers the client itself, so no
 * reverse entry is made.
 *
 * Idle timeouts (shared/flow.h): a packet of a flow, either way, refreshes
 * both its entries with the timeout of the flow's state; a dead entry
 * (past expires_ns) is no flow: a packet meeting one starts a new flow. */
#include "stage.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_encap.h"
#include "flow_expiry.h"
#include "lb_nat_icmp.h"

/* nat_quote_rev_key() fills an lb_flow_key as a nat_key. */
_Static_assert(sizeof(struct lb_flow_key) == sizeof(struct nat_key) &&
		       __builtin_offsetof(struct lb_flow_key, sport) ==
			       __builtin_offsetof(struct nat_key, sport) &&
		       __builtin_offsetof(struct lb_flow_key, proto) ==
			       __builtin_offsetof(struct nat_key, proto) &&
		       __builtin_offsetof(struct lb_flow_key, pad) ==
			       __builtin_offsetof(struct nat_key, pad),
	       "lb_flow_key and nat_key share a layout");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline __u32 lb_mix(__u32 h, __u32 w)
{
	h ^= w;
	h *= 0xcc9e2d51;
	h = (h << 15) | (h >> 17);
	h *= 0x1b873593;
	return h;
}

static __always_inline __u32 lb_hash(const struct lb_flow_key *k)
{
	__u32 h = 0x736c6263, i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		h = lb_mix(h, k->saddr[i]);
		h = lb_mix(h, k->daddr[i]);
	}
	h = lb_mix(h, (__u32)k->sport << 16 | k->dport);
	h = lb_mix(h, (__u32)k->proto << 8 | k->family);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	return h;
}

static __always_inline void lb_key(struct lb_flow_key *k, const struct sl_meta *m)
{
	__builtin_memcpy(k->saddr, m->saddr, 16);
	__builtin_memcpy(k->daddr, m->daddr, 16);
	k->sport = m->sport;
	k->dport = m->dport;
	k->proto = m->l4proto;
	k->family = m->family;
	k->pad = 0;
}

/* The reverse entry of a flow to backend (addr, port): backend -> client. */
static __always_inline void lb_rev_key(struct lb_flow_key *rk, const struct sl_meta *m,
				       const __u32 *addr, __u16 port)
{
	__builtin_memcpy(rk->saddr, addr, 16);
	__builtin_memcpy(rk->daddr, m->saddr, 16);
	rk->sport = port;
	rk->dport = m->sport;
	rk->proto = m->l4proto;
	rk->family = m->family;
	rk->pad = 0;
}

static __always_inline void lb_touch(struct lb_nat *e, __u8 st, __u64 now, __u64 exp)
{
	e->state = st;
	e->last_ns = now;
	e->expires_ns = exp;
}

#ifdef SL_HOOK_TC
#define LB_IN_IFINDEX(ctx) ((ctx)->ingress_ifindex ?: (ctx)->ifindex)
#else
#define LB_IN_IFINDEX(ctx) ((ctx)->ingress_ifindex)
#endif

/* "fib": the FIB lookup for the translated packet; on success, the
 * Ethernet addresses of the next hop, the TTL / hop limit decremented
 * (this is forwarding), and the egress ifindex to redirect to. 0: the
 * stack is to route it (no neighbour entry yet: the stack resolves it; a
 * TTL about to expire: the stack answers; local, unreachable, VLAN tags,
 * forwarding off, a packet too big for the egress: the stack's own
 * answer). Not inlined: struct bpf_fib_lookup would not fit the frame. */
static __noinline int lb_fib(SL_CTX *ctx, struct sl_meta *m)
{
	struct bpf_fib_lookup p = {};
	__u16 w[2], c;
	__u8 hl;
	long rc;

	if (m->vlan_depth)
		goto stack;
	p.l4_protocol = m->l4proto;
	p.sport = bpf_htons(m->sport);
	p.dport = bpf_htons(m->dport);
	p.ifindex = LB_IN_IFINDEX(ctx);
	if (m->family == 6) {
		p.family = 10; /* AF_INET6 */
		__builtin_memcpy(p.ipv6_src, m->saddr, 16);
		__builtin_memcpy(p.ipv6_dst, m->daddr, 16);
		if (nat_load(ctx, m->l3_off + 7, &hl, 1))
			goto stack;
	} else {
		p.family = 2; /* AF_INET */
		p.ipv4_src = m->saddr[0];
		p.ipv4_dst = m->daddr[0];
		p.tot_len = (__u16)(m->pkt_len - m->l3_off); /* host order (MTU check) */
		if (nat_load(ctx, m->l3_off + 8, w, 2))
			goto stack;
		hl = ((__u8 *)w)[0];
	}
	if (hl <= 1)
		goto stack;
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		goto stack;
	hl--;
	if (m->family == 6) {
		if (nat_store(ctx, m->l3_off + 7, &hl, 1))
			goto stack;
	} else {
		/* the TTL's 16-bit word (ttl, protocol) in the header checksum */
		w[1] = w[0];
		((__u8 *)w)[2] = hl;
		if (nat_load(ctx, m->l3_off + 10, &c, 2))
			goto stack;
		c = nat_csum_update(c, w[0], w[1], 1);
		if (nat_store(ctx, m->l3_off + 8, &hl, 1) || nat_store(ctx, m->l3_off + 10, &c, 2))
			goto stack;
	}
	if (nat_store(ctx, 0, p.dmac, 6) || nat_store(ctx, 6, p.smac, 6))
		goto stack;
	flow_stat(FLOW_STATS_LB + FLOW_STAT_FIB_REDIRECT);
	return (int)p.ifindex;
stack:
	flow_stat(FLOW_STATS_LB + FLOW_STAT_FIB_STACK);
	return 0;
}

/* Leave the stage with a translated packet: with "fib" (the last stage of
 * the chain: validation), redirected when the FIB lookup says where;
 * otherwise on to the next stage or the stack. */
static __always_inline int lb_done(SL_CTX *ctx, struct sl_meta *m, __u32 rule)
{
	int ifindex;

	if (!(lb_cfg.flags & LB_CFG_FIB) || sl_stage + 1 < sl_nstages)
		return stage_next(ctx, m, SL_VERDICT_CONTINUE, rule);
	ifindex = lb_fib(ctx, m);
	if (ifindex <= 0)
		return stage_next(ctx, m, SL_VERDICT_CONTINUE, rule);
	trace_add(m, SL_VERDICT_CONTINUE, 0, rule);
	return stage_leave(ctx, m, (int)bpf_redirect((__u32)ifindex, 0));
}

/* A backend's reply (k: backend -> client) whose reverse entry r is live:
 * the VIP back as its source; both entries of the flow refreshed. */
static __always_inline int lb_reply(SL_CTX *ctx, struct sl_meta *meta, const struct lb_flow_key *k,
				    struct lb_nat *r, __u64 now)
{
	struct lb_flow_key fk;
	struct lb_nat *f;
	struct nat_ep ep;
	__u8 st;
	__u64 exp;

	__builtin_memcpy(ep.addr, r->addr, 16);
	ep.port = bpf_htons(r->port);
	if (nat_rewrite(ctx, meta->l3_off, meta->l4_off, meta->family == 6, meta->l4proto, 0, &ep))
		return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 0);
	st = flow_next_state(r->state, meta->l4proto, meta->tcp_flags, 1);
	exp = flow_expiry(lb_cfg.timeout_ns, st, now);
	lb_touch(r, st, now, exp);
	/* the flow as its client sent it: client -> VIP */
	__builtin_memcpy(fk.saddr, k->daddr, 16);
	__builtin_memcpy(fk.daddr, r->addr, 16);
	fk.sport = k->dport;
	fk.dport = r->port;
	fk.proto = k->proto;
	fk.family = k->family;
	fk.pad = 0;
	f = bpf_map_lookup_elem(&lb_flows, &fk);
	if (f && f->expires_ns > now)
		lb_touch(f, st, now, exp);
	__builtin_memcpy(meta->saddr, r->addr, 16);
	meta->sport = r->port;
	return lb_done(ctx, meta, 0);
}

static __always_inline __u32 lb_addr_flags(const __u32 *addr, __u8 family)
{
	struct lb_addr_key a = {};
	__u32 *v;

	__builtin_memcpy(a.addr, addr, 16);
	a.family = family;
	v = bpf_map_lookup_elem(&lb_addrs, &a);
	return v ? *v : 0;
}

/* A non-first fragment has no ports, so no flow: to a VIP it cannot reach
 * a backend, from a backend it would carry the backend's address to the
 * client: dropped (lb_fragment). Anything else goes on. */
static __always_inline int lb_fragment(SL_CTX *ctx, struct sl_meta *m)
{
	if ((lb_addr_flags(m->daddr, m->family) & LB_ADDR_VIP) ||
	    (lb_addr_flags(m->saddr, m->family) & LB_ADDR_BACKEND))
		return stage_drop(ctx, m, SL_DROP_LB_FRAGMENT, 0);
	return stage_next(ctx, m, SL_VERDICT_CONTINUE, 0);
}

static __always_inline int lb_same_addr(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* An ICMP error about a balanced flow (dnat). From the backend's side
 * (the quote is backend:port -> client), the quote's destination gets the
 * VIP and service port back, and the outer source too when the backend
 * itself sent it (a router on the path keeps its own address). From the
 * client (about a reply: VIP:port -> client), the quote's source and the
 * outer destination become the backend's. Not about a flow: untouched.
 * Returns the trace rule (0, or the service's id + 1), or -1: the rewrite
 * failed. Not inlined: the stage's frame has no room for it. */
static __noinline int lb_icmp_error(SL_CTX *ctx, struct sl_meta *m)
{
	struct nat_icmp_work *w = nat_icmp_work_get();
	struct lb_svc_key sk = {};
	struct lb_flow_key *k;
	struct nat_quote *q;
	struct lb_nat *v;
	struct lb_svc *svc;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!w)
		return 0;
	q = &w->q;
	k = (struct lb_flow_key *)w->key;
	if (nat_quote_parse(ctx, m, q) || q->echo)
		return 0;
	nat_quote_rev_key(w, m->family);
	v = bpf_map_lookup_elem(&lb_rev, k);
	if (v && v->expires_ns > now) {
		__builtin_memcpy(q->to.addr, v->addr, 16);
		q->to.port = bpf_htons(v->port);
		__builtin_memcpy(q->oaddr, v->addr, 16);
		q->q_dst = 1;
		q->outer = lb_same_addr(m->saddr, q->daddr) ? 1 : 0;
		if (nat_icmp_error_rewrite(ctx, m, q))
			return -1;
		if (q->outer)
			__builtin_memcpy(m->saddr, v->addr, 16);
		return 0;
	}
	v = bpf_map_lookup_elem(&lb_flows, k);
	if (!v || v->expires_ns <= now)
		return 0;
	__builtin_memcpy(sk.vip, q->saddr, 16);
	sk.port = q->sport;
	sk.proto = q->proto;
	sk.family = m->family;
	svc = bpf_map_lookup_elem(&lb_svc, &sk);
	if (!svc || svc->mode == LB_MODE_DSR)
		return 0;
	__builtin_memcpy(q->to.addr, v->addr, 16);
	q->to.port = bpf_htons(v->port);
	__builtin_memcpy(q->oaddr, v->addr, 16);
	q->q_dst = 0;
	q->outer = lb_same_addr(m->daddr, q->saddr) ? 2 : 0;
	if (nat_icmp_error_rewrite(ctx, m, q))
		return -1;
	if (q->outer)
		__builtin_memcpy(m->daddr, v->addr, 16);
	return (int)(svc->id + 1);
}

SEC(SL_SEC_HOOK)
int lb_stage(SL_CTX *ctx)
{
	struct sl_meta *meta = stage_begin(ctx);
	struct nat_icmp_work *w = nat_icmp_work_get();
	struct lb_flow_key *k, *rk;
	struct lb_svc_key sk = {};
	struct lb_nat *f, *r, *nf, *rv;
	struct lb_backend *be;
	struct lb_svc *svc;
	struct nat_ep ep;
	__u64 now, exp;
	__u32 slot, *idx, hash;
	__u8 st;
	long err;
	int v6;

	if (!meta)
		return CTX_ACT_DROP;
	if (!w) /* verifier: never (a one-slot per-CPU array) */
		return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 0);
	/* keys and values in per-CPU memory: the frame is too small */
	k = (struct lb_flow_key *)w->k;
	rk = (struct lb_flow_key *)w->rk;
	nf = (struct lb_nat *)w->v;
	rv = (struct lb_nat *)w->rv;
	__builtin_memset(nf, 0, sizeof(*nf));
	__builtin_memset(rv, 0, sizeof(*rv));
	if (meta->family != 4 && meta->family != 6)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	if (meta->flags & SL_F_FRAG_LATER)
		return lb_fragment(ctx, meta);
	if ((meta->flags & SL_F_HAS_L4) && icmp_is_error(meta)) {
		int rule = lb_icmp_error(ctx, meta);

		if (rule < 0)
			return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, 0);
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, (__u32)rule);
	}
	if (meta->l4proto != IPPROTO_TCP && meta->l4proto != IPPROTO_UDP)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	v6 = meta->family == 6;

	__builtin_memcpy(sk.vip, meta->daddr, 16);
	sk.port = meta->dport;
	sk.proto = meta->l4proto;
	sk.family = meta->family;
	if (!(meta->flags & SL_F_HAS_L4))
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);
	lb_key(k, meta);
	now = bpf_ktime_get_boot_ns();

	/* A backend's reply: the VIP back as its source. A dead entry is
	 * no flow (the sweep removes it). */
	r = bpf_map_lookup_elem(&lb_rev, k);
	if (r && r->expires_ns > now)
		return lb_reply(ctx, meta, k, r, now);

	svc = bpf_map_lookup_elem(&lb_svc, &sk);
	if (!svc)
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, 0);

	hash = lb_hash(k);
	f = bpf_map_lookup_elem(&lb_flows, k);
	if (f && f->expires_ns <= now) {
		flow_stat(FLOW_STATS_LB + FLOW_STAT_REUSED);
		f = NULL; /* expired: a new flow, replacing it */
	}
	if (!f || (meta->l4proto == IPPROTO_TCP &&
		   (meta->tcp_flags & (0x02 | 0x10)) == 0x02 /* SYN, no ACK */)) {
		if (!svc->nactive || !svc->table_size)
			return stage_drop(ctx, meta, SL_DROP_LB_NO_BACKEND, svc->id + 1);
		slot = svc->table_off + hash % svc->table_size;
		idx = bpf_map_lookup_elem(&lb_maglev, &slot);
		if (!idx)
			return stage_drop(ctx, meta, SL_DROP_LB_NO_BACKEND, svc->id + 1);
		be = bpf_map_lookup_elem(&lb_backends, idx);
		if (!be || be->state != LB_BE_ACTIVE)
			return stage_drop(ctx, meta, SL_DROP_LB_NO_BACKEND, svc->id + 1);
		st = flow_next_state(FLOW_S_NONE, meta->l4proto, meta->tcp_flags, 0);
		exp = flow_expiry(lb_cfg.timeout_ns, st, now);
		__builtin_memcpy(nf->addr, be->addr, 16);
		nf->port = be->port;
		nf->counter = be->counter;
		lb_touch(nf, st, now, exp);
		/* the reply comes from the backend to the client */
		lb_rev_key(rk, meta, be->addr, be->port);
		__builtin_memcpy(rv->addr, meta->daddr, 16);
		rv->port = meta->dport;
		lb_touch(rv, st, now, exp);
		/* An insert that fails (contention) still sends this packet;
		 * the next one chooses again, the same backend. */
		err = bpf_map_update_elem(&lb_flows, k, nf, BPF_ANY);
		if (err)
			flow_stat_insert_err(FLOW_STATS_LB, err);
		else
			flow_stat(FLOW_STATS_LB + FLOW_STAT_CREATED);
		if (svc->mode != LB_MODE_DSR) { /* dsr: replies bypass us */
			err = bpf_map_update_elem(&lb_rev, rk, rv, BPF_ANY);
			flow_stat_insert_err(FLOW_STATS_LB, err);
		}
		f = nf;
	} else {
		st = flow_next_state(f->state, meta->l4proto, meta->tcp_flags, 0);
		exp = flow_expiry(lb_cfg.timeout_ns, st, now);
		lb_touch(f, st, now, exp);
		if (svc->mode != LB_MODE_DSR) {
			/* the reverse entry follows; made again if it was
			 * evicted or died */
			lb_rev_key(rk, meta, f->addr, f->port);
			r = bpf_map_lookup_elem(&lb_rev, rk);
			if (r && r->expires_ns > now) {
				lb_touch(r, st, now, exp);
			} else {
				__builtin_memcpy(rv->addr, meta->daddr, 16);
				rv->port = meta->dport;
				lb_touch(rv, st, now, exp);
				err = bpf_map_update_elem(&lb_rev, rk, rv, BPF_ANY);
				flow_stat_insert_err(FLOW_STATS_LB, err);
			}
		}
	}
	if (svc->mode == LB_MODE_DSR) {
		__u32 bytes = meta->pkt_len;

		if (lb_encap(ctx, meta, svc, f->addr, hash))
			return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, svc->id + 1);
		lb_count(f->counter, bytes);
		return stage_next(ctx, meta, SL_VERDICT_CONTINUE, svc->id + 1);
	}
	__builtin_memcpy(ep.addr, f->addr, 16);
	ep.port = bpf_htons(f->port);
	if (nat_rewrite(ctx, meta->l3_off, meta->l4_off, v6, meta->l4proto, 1, &ep))
		return stage_drop(ctx, meta, SL_DROP_LB_REWRITE, svc->id + 1);
	lb_count(f->counter, meta->pkt_len);
	__builtin_memcpy(meta->daddr, f->addr, 16);
	meta->dport = f->port;
	return lb_done(ctx, meta, svc->id + 1);
}
