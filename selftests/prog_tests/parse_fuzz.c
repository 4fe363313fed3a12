// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Differential test of the datapath parser: random, often broken, frames
 * (random VLAN stacks, IPv4 options and fragment fields, IPv6 extension
 * chains, truncation, rewritten length fields, flipped bytes) run through
 * the entry program and through ref_parse(), a plain userspace reading of
 * the policy in docs/datapath.md written without the verifier's
 * constraints. Both must agree on the drop reason and, for frames that
 * parse, on every field of sl_meta. Seeded: a failure prints its seed and
 * iteration and reproduces (SLUICE_FUZZ_SEED, SLUICE_FUZZ_ITERS).
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include "test_progs.h"
#include "pkt.h"
#include "parse_run.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static bool ref_is_vlan(uint16_t t)
{
	return t == ETH_P_8021Q || t == ETH_P_8021AD;
}

static bool ref_is_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 ||
	       nh == 135 || nh == 139 || nh == 140;
}

/* The policy, read plainly. Returns 0 or the drop reason; fills m. */
static int ref_parse(const uint8_t *p, int len, struct sl_meta *m)
{
	int off = 14, l3_end, hlen, tot, need, n, elen, i;
	uint16_t type, frag, fo;
	uint8_t proto, nh;

	memset(m, 0, sizeof(*m));
	if (len < 14)
		return SL_DROP_PARSE_TRUNC_ETH;
	type = get16(p + 12);
	for (i = 0; i < SL_MAX_VLAN && ref_is_vlan(type); i++) {
		if (off + 4 > len)
			return SL_DROP_PARSE_TRUNC_VLAN;
		type = get16(p + off + 2);
		off += 4;
		m->vlan_depth = (uint8_t)(i + 1);
	}
	if (ref_is_vlan(type))
		return SL_DROP_PARSE_VLAN_DEPTH;
	m->eth_proto = type;
	m->l3_off = (uint16_t)off;

	if (type == ETH_P_IP) {
		if (off + 20 > len)
			return SL_DROP_PARSE_TRUNC_IPV4;
		if (p[off] >> 4 != 4)
			return SL_DROP_PARSE_IPV4_VERSION;
		hlen = (p[off] & 15) * 4;
		if (hlen < 20)
			return SL_DROP_PARSE_IPV4_IHL;
		if (off + hlen > len)
			return SL_DROP_PARSE_TRUNC_IPV4;
		tot = get16(p + off + 2);
		if (tot < hlen || off + tot > len)
			return SL_DROP_PARSE_IPV4_LEN;
		m->family = 4;
		proto = p[off + 9];
		m->l4proto = proto;
		memcpy(&m->saddr[0], p + off + 12, 4);
		memcpy(&m->daddr[0], p + off + 16, 4);
		if (hlen > 20)
			m->flags |= SL_F_IPV4_OPTS;
		frag = get16(p + off + 6);
		fo = frag & 0x1fff;
		if (fo || (frag & 0x2000))
			m->flags |= SL_F_FRAG;
		if (fo) {
			m->flags |= SL_F_FRAG_LATER;
			if (fo == 1 && proto == IPPROTO_TCP)
				return SL_DROP_FRAG_OVERLAP;
		}
		l3_end = off + tot;
		off += hlen;
	} else if (type == ETH_P_IPV6) {
		if (off + 40 > len)
			return SL_DROP_PARSE_TRUNC_IPV6;
		if (p[off] >> 4 != 6)
			return SL_DROP_PARSE_IPV6_VERSION;
		l3_end = off + 40 + get16(p + off + 4);
		if (l3_end > len)
			return SL_DROP_PARSE_TRUNC_IPV6;
		m->family = 6;
		memcpy(m->saddr, p + off + 8, 16);
		memcpy(m->daddr, p + off + 24, 16);
		nh = p[off + 6];
		off += 40;
		for (n = 0; ref_is_ext(nh); n++) {
			if (n == SL_MAX_IPV6_EXTHDR)
				return SL_DROP_PARSE_IPV6_EXTHDR_DEPTH;
			if (off + 8 > l3_end)
				return SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
			m->flags |= SL_F_IPV6_EXT;
			if (nh == 44) {
				frag = get16(p + off + 2);
				fo = frag >> 3;
				nh = p[off];
				off += 8;
				if (fo || (frag & 1))
					m->flags |= SL_F_FRAG;
				if (fo) {
					m->flags |= SL_F_FRAG_LATER;
					if (fo == 1 && nh == IPPROTO_TCP)
						return SL_DROP_FRAG_OVERLAP;
					break;
				}
				continue;
			}
			elen = nh == 51 ? (p[off + 1] + 2) * 4 :
					  (p[off + 1] + 1) * 8;
			if (off + elen > l3_end)
				return SL_DROP_PARSE_TRUNC_IPV6_EXTHDR;
			nh = p[off];
			off += elen;
		}
		proto = nh;
		m->l4proto = proto;
	} else {
		return 0;
	}

	if (m->flags & SL_F_FRAG_LATER)
		return 0;
	m->l4_off = (uint16_t)off;
	switch (proto) {
	case IPPROTO_TCP: need = 20; break;
	case IPPROTO_UDP: need = 8; break;
	case IPPROTO_SCTP: need = 12; break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: need = 8; break;
	default: return 0;
	}
	if (off + need > l3_end)
		return m->flags & SL_F_FRAG ? SL_DROP_FRAG_TINY :
					      SL_DROP_PARSE_TRUNC_L4;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		m->dport = p[off];
		m->sport = p[off + 1];
	} else {
		m->sport = get16(p + off);
		m->dport = get16(p + off + 2);
		if (proto == IPPROTO_TCP)
			m->tcp_flags = p[off + 13];
	}
	m->flags |= SL_F_HAS_L4;
	return 0;
}

/* xorshift64*: small, seedable, the same everywhere. */
static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(int percent)
{
	return (int)rnd_below(100) < percent;
}

static uint8_t rnd_proto(void)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_UDP, IPPROTO_SCTP,
					  IPPROTO_ICMP, IPPROTO_ICMPV6, 47, 50,
					  59, 60, 44, 0 };

	if (chance(5))
		return (uint8_t)rnd();
	return protos[rnd_below(sizeof(protos))];
}

static uint16_t rnd_frag_off(void)
{
	static const uint16_t offs[] = { 0, 0, 0, 1, 2, 3, 100, 0x1fff };

	return offs[rnd_below(sizeof(offs) / sizeof(offs[0]))];
}

/* A random frame into buf; returns its length. */
static int rnd_frame(uint8_t *buf, uint8_t *payload)
{
	static const uint8_t ext_types[] = { 0, 43, 44, 51, 60, 135, 139, 140 };
	struct pkt_spec s;
	uint8_t opts[40];
	int i, len, l3, r;

	memset(&s, 0, sizeof(s));
	s.nvlan = chance(60) ? 0 : (int)rnd_below(4) + 1;
	for (i = 0; i < s.nvlan; i++)
		s.vlan[i].tpid = chance(50) ? ETH_P_8021Q : ETH_P_8021AD;
	r = (int)rnd_below(100);
	s.family = r < 40 ? 4 : r < 88 ? 6 : 0;
	if (!s.family)
		s.ethertype = chance(50) ? ETH_P_ARP : (uint16_t)rnd();
	if (s.family == 4) {
		if (chance(30)) {
			s.ip4.opts_len = (rnd_below(10) + 1) * 4;
			for (i = 0; i < 40; i++)
				opts[i] = (uint8_t)rnd();
			s.ip4.opts = opts;
		}
		if (chance(30))
			s.ip4.frag = (uint16_t)((chance(50) ? PKT_IP_MF : 0) |
						rnd_frag_off());
	}
	if (s.family == 6) {
		s.next = chance(40) ? 0 : (int)rnd_below(PKT_MAX_EXT) + 1;
		for (i = 0; i < s.next; i++) {
			struct pkt_ext *e = &s.ext[i];

			e->type = ext_types[rnd_below(sizeof(ext_types))];
			if (e->type == 51)
				e->len = (uint16_t)(8 + 4 * rnd_below(14));
			else
				e->len = (uint16_t)(8 * (rnd_below(6) + 1));
			e->frag_off = rnd_frag_off();
			e->more = chance(50);
		}
	}
	s.proto = rnd_proto();
	s.no_l4 = chance(10);
	s.sport = (uint16_t)rnd();
	s.dport = (uint16_t)rnd();
	s.tcp_flags = (uint8_t)rnd();
	s.icmp_type = (uint8_t)rnd();
	s.icmp_code = (uint8_t)rnd();
	s.payload_len = rnd_below(48);
	for (i = 0; i < (int)s.payload_len; i++)
		payload[i] = (uint8_t)rnd();
	s.payload = payload;
	if (chance(10))
		s.pad_to = 60 + rnd_below(40);

	len = pkt_build(&s, buf, PKT_MAX);
	if (len < 0)
		return len;
	l3 = PKT_ETH_HLEN + PKT_VLAN_HLEN * s.nvlan;
	if (chance(40))
		len = PKT_ETH_HLEN + (int)rnd_below((uint32_t)(len - PKT_ETH_HLEN + 1));
	if (chance(40) && len >= l3 + 6) {
		/* The IP length field follows the cut, so parsing gets
		 * past the IP checks and reaches what was cut. */
		int v = s.family == 4 ? len - l3 : len - l3 - 40;

		if (s.family && v >= 0) {
			buf[l3 + (s.family == 4 ? 2 : 4)] = (uint8_t)(v >> 8);
			buf[l3 + (s.family == 4 ? 3 : 5)] = (uint8_t)v;
		}
	}
	for (r = chance(30) ? (int)rnd_below(3) + 1 : 0; r > 0; r--)
		buf[rnd_below((uint32_t)(len < 128 ? len : 128))] = (uint8_t)rnd();
	return len;
}

static bool same_meta(const struct sl_meta *a, const struct sl_meta *b)
{
	return a->flags == b->flags && a->family == b->family &&
	       a->eth_proto == b->eth_proto && a->vlan_depth == b->vlan_depth &&
	       a->l3_off == b->l3_off && a->l4proto == b->l4proto &&
	       a->l4_off == b->l4_off && a->sport == b->sport &&
	       a->dport == b->dport && a->tcp_flags == b->tcp_flags &&
	       !memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16);
}

static void dump(const char *who, int reason, const struct sl_meta *m)
{
	printf("    %s: reason %s flags 0x%x family %u eth 0x%04x vlan %u l3 %u "
	       "proto %u l4 %u ports %u->%u tcp 0x%x\n",
	       who, prun_reason_name((unsigned)reason), m->flags, m->family,
	       m->eth_proto, m->vlan_depth, m->l3_off, m->l4proto, m->l4_off,
	       m->sport, m->dport, m->tcp_flags);
}

void test_parse_fuzz(void)
{
	uint64_t seed = 0x5107ce5eedull;
	uint8_t buf[PKT_MAX], payload[64];
	long iters = 50000, i, nparsed = 0, nfail = 0;
	unsigned seen[SL_DROP__MAX] = { 0 };
	struct prun_res res;
	struct sl_meta want;
	struct prun r;
	int len, reason, kreason;
	char name[96];

	if (getenv("SLUICE_FUZZ_SEED"))
		seed = strtoull(getenv("SLUICE_FUZZ_SEED"), NULL, 0);
	if (getenv("SLUICE_FUZZ_ITERS"))
		iters = atol(getenv("SLUICE_FUZZ_ITERS"));
	rng_state = seed ? seed : 1;
	if (!ASSERT_OK(prun_open(&r), "load entry skeleton"))
		return;

	for (i = 0; i < iters && nfail < 5; i++) {
		len = rnd_frame(buf, payload);
		if (len < PKT_ETH_HLEN)
			continue;
		reason = ref_parse(buf, len, &want);
		if (prun_run(&r, buf, (__u32)len, &res)) {
			ASSERT_OK(-1, "run");
			break;
		}
		kreason = res.meta.reason == SL_DROP_NO_GENERATION ?
				  0 : res.meta.reason;
		snprintf(name, sizeof(name), "seed 0x%llx iter %ld len %d",
			 (unsigned long long)seed, i, len);
		if (kreason != reason || (!reason && !same_meta(&res.meta, &want))) {
			nfail++;
			ASSERT_TRUE(false, name);
			dump("kernel", kreason, &res.meta);
			dump("ref   ", reason, &want);
			continue;
		}
		if (reason < SL_DROP__MAX)
			seen[reason]++;
		nparsed += !reason;
	}
	ASSERT_EQ(nfail, 0, "kernel and reference agree");
	/* The generator must reach every parse outcome, or the test proves
	 * less than it claims. */
	ASSERT_GT(nparsed, iters / 20, "frames that parse");
	ASSERT_GT(seen[SL_DROP_PARSE_TRUNC_VLAN], 0, "truncated_vlan seen");
	ASSERT_GT(seen[SL_DROP_PARSE_VLAN_DEPTH], 0, "too_many_vlan_tags seen");
	ASSERT_GT(seen[SL_DROP_PARSE_TRUNC_IPV4], 0, "truncated_ipv4 seen");
	ASSERT_GT(seen[SL_DROP_PARSE_IPV4_LEN], 0, "ipv4_bad_total_length seen");
	ASSERT_GT(seen[SL_DROP_PARSE_TRUNC_IPV6], 0, "truncated_ipv6 seen");
	ASSERT_GT(seen[SL_DROP_PARSE_IPV6_EXTHDR_DEPTH], 0, "ext depth seen");
	ASSERT_GT(seen[SL_DROP_PARSE_TRUNC_IPV6_EXTHDR], 0, "ext trunc seen");
	ASSERT_GT(seen[SL_DROP_PARSE_TRUNC_L4], 0, "truncated_l4 seen");
	ASSERT_GT(seen[SL_DROP_FRAG_TINY], 0, "tiny_first_fragment seen");
	ASSERT_GT(seen[SL_DROP_FRAG_OVERLAP], 0, "overlapping_fragment seen");
	if (env.verbose) {
		printf("    %ld frames, %ld parsed\n", i, nparsed);
		for (reason = 1; reason < SL_DROP__MAX; reason++)
			if (seen[reason])
				printf("    %-28s %u\n",
				       prun_reason_name((unsigned)reason),
				       seen[reason]);
	}
	prun_close(&r);
}
