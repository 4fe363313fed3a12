// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Differential test: random rule sets compiled and loaded into the REAL fw
 * stage, random packets through BPF_PROG_TEST_RUN, every verdict, reason,
 * trace rule and counter compared with the reference model (fw_ref.c).
 *
 * Rule sets mix IPv4 and IPv6, nested and overlapping prefixes of lengths
 * around the DIR-16-8-8 strides (now and then siblings packed into one /16
 * or /24, so that DIR nodes keep their runs outside; the same below an
 * IPv6 /32 or /96, which also fills IPv6 ranges beyond a tail) and across
 * IPv6, /0, port ranges, protocols, ICMP type/code, audit rules, function audit mode. Packets are biased to
 * rule boundaries (first/last address of a prefix and one outside, range
 * edges) and include fragments with and without L4. Each rule set also
 * picks a lookup configuration (default, every lookup, one index only) so
 * that every index's candidate lists are exercised on their own.
 *
 * FW_SEED=<n> replays a run; FW_SETS / FW_PKTS change its size. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "fw_run.h"
#include "shared/drop_reasons.h"

static bool chance(struct fw_rng *r, unsigned pct)
{
	return fw_below(r, 100) < pct;
}

#define POOL 24

struct pools {
	struct spec_prefix p4[POOL], p6[POOL];
	struct spec_port_range ports[16];
};

static void make_pools(struct fw_rng *r, struct pools *pl)
{
	static const uint8_t len4[] = { 1, 7, 8, 12, 15, 16, 17, 20, 23, 24, 25, 28, 30, 31, 32 };
	static const uint8_t len6[] = { 1, 8, 16, 31, 32, 33, 48, 63, 64, 65, 80, 96, 112, 120, 127, 128 };
	uint32_t base4[3], base6[3][4];
	/* dense: the IPv4 prefixes around a base are siblings in one /16 or
	 * /24, so a DIR node holds many runs (more than fit in the node) */
	bool dense = chance(r, 40);
	int i, b, w;

	for (b = 0; b < 3; b++) {
		base4[b] = (uint32_t)fw_rnd(r);
		for (w = 0; w < 4; w++)
			base6[b][w] = (uint32_t)fw_rnd(r);
	}
	for (i = 0; i < POOL; i++) {
		struct spec_prefix *p = &pl->p4[i];

		memset(p, 0, sizeof(*p));
		p->family = 4;
		if (i < 18) { /* nested around three bases */
			uint32_t a = base4[dense ? 0 : i % 3];

			if (dense)
				a ^= (uint32_t)fw_rnd(r) & (chance(r, 50) ? 0xffffu : 0xffu);
			p->addr[0] = htonl(a);
			p->plen = len4[fw_below(r, sizeof(len4))];
		} else {
			p->addr[0] = (uint32_t)fw_rnd(r);
			p->plen = (uint8_t)fw_below(r, 33);
		}
		fw_prefix_mask(p);

		p = &pl->p6[i];
		memset(p, 0, sizeof(*p));
		p->family = 6;
		if (i < 18) {
			for (w = 0; w < 4; w++)
				p->addr[w] = htonl(base6[dense ? 0 : i % 3][w]);
			/* dense: siblings below one /32 or /96, so an IPv6
			 * node holds more runs than fit in it, and ranges
			 * hold more prefixes than a tail */
			if (dense) {
				w = chance(r, 50) ? 1 : 3;
				p->addr[w] ^= htonl((uint32_t)fw_rnd(r) & 0xffffu);
			}
			p->plen = len6[fw_below(r, sizeof(len6))];
		} else {
			for (w = 0; w < 4; w++)
				p->addr[w] = (uint32_t)fw_rnd(r);
			p->plen = (uint8_t)fw_below(r, 129);
		}
		fw_prefix_mask(p);
	}
	{
		static const struct spec_port_range fixed[] = {
			{ 0, 0 }, { 1, 1023 }, { 80, 80 }, { 443, 443 }, { 1024, 65535 },
			{ 65535, 65535 }, { 53, 53 }, { 0, 65535 },
		};

		memcpy(pl->ports, fixed, sizeof(fixed));
		for (i = 8; i < 16; i++) {
			uint16_t a = (uint16_t)fw_below(r, 65536), b2 = (uint16_t)(a + fw_below(r, 3000));

			pl->ports[i].lo = a;
			pl->ports[i].hi = b2 < a ? 65535 : b2;
		}
	}
}

static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP,
			      IPPROTO_ICMPV6, IPPROTO_GRE };

static struct spec_prefix *pick_prefixes(struct fw_rng *r, const struct pools *pl, size_t *n)
{
	struct spec_prefix *v;
	int fam = chance(r, 50) ? 4 : 6;
	size_t i;

	*n = 1 + fw_below(r, 3);
	v = calloc(*n, sizeof(*v));
	for (i = 0; i < *n; i++) {
		if (chance(r, 25)) /* mixed families in one list */
			fam = chance(r, 50) ? 4 : 6;
		v[i] = fam == 4 ? pl->p4[fw_below(r, POOL)] : pl->p6[fw_below(r, POOL)];
		if (chance(r, 3)) { /* a /0 now and then */
			v[i].plen = 0;
			memset(v[i].addr, 0, sizeof(v[i].addr));
		}
	}
	return v;
}

static struct spec_port_range *pick_ports(struct fw_rng *r, const struct pools *pl, size_t *n)
{
	struct spec_port_range *v;
	size_t i;

	*n = 1 + fw_below(r, 3);
	v = calloc(*n, sizeof(*v));
	for (i = 0; i < *n; i++)
		v[i] = pl->ports[fw_below(r, 16)];
	return v;
}

static void make_rules(struct fw_rng *r, const struct pools *pl, struct spec_firewall *fw)
{
	/* now and then a big set, whose lists outgrow a leaf (> 63 atoms) */
	bool big = chance(r, 6);
	size_t i, n = big ? 120 + fw_below(r, 80) : chance(r, 80) ? 1 + fw_below(r, 24) : 1 + fw_below(r, 80);
	unsigned pfx_pct = big ? 30 : 55;

	memset(fw, 0, sizeof(*fw));
	fw->default_action = chance(r, 50) ? SPEC_ACT_ALLOW : SPEC_ACT_DENY;
	fw->audit = chance(r, 15);
	fw->nrules = n;
	fw->rules = calloc(n, sizeof(*fw->rules));
	for (i = 0; i < n; i++) {
		struct spec_fw_rule *x = &fw->rules[i];

		x->action = chance(r, 50) ? SPEC_ACT_ALLOW : SPEC_ACT_DENY;
		x->audit = chance(r, 15);
		x->proto = -1;
		x->icmp_type = x->icmp_code = -1;
		if (chance(r, pfx_pct))
			x->src = pick_prefixes(r, pl, &x->nsrc);
		if (chance(r, pfx_pct))
			x->dst = pick_prefixes(r, pl, &x->ndst);
		if (chance(r, 20)) /* conntrack states: bits 1..4 */
			x->states = (uint8_t)((1 + fw_below(r, 15)) << 1);
		if (chance(r, big ? 100 : 65)) /* big: no early match-all */
			x->proto = protos[fw_below(r, 6)];
		if (x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP || x->proto == IPPROTO_SCTP) {
			if (chance(r, 25))
				x->sports = pick_ports(r, pl, &x->nsports);
			if (chance(r, 55))
				x->dports = pick_ports(r, pl, &x->ndports);
		} else if (x->proto == IPPROTO_ICMP || x->proto == IPPROTO_ICMPV6) {
			static const int types[] = { 0, 3, 8, 128, 129, 255 };

			if (chance(r, 55)) {
				x->icmp_type = types[fw_below(r, 6)];
				if (chance(r, 50))
					x->icmp_code = (int)fw_below(r, 3);
			}
		}
	}
}

/* An address at or just outside the edge of a pool prefix, or random. */
static void pick_addr(struct fw_rng *r, const struct pools *pl, int fam, uint32_t *a)
{
	const struct spec_prefix *p = fam == 4 ? &pl->p4[fw_below(r, POOL)] : &pl->p6[fw_below(r, POOL)];
	int words = fam == 4 ? 1 : 4, i, bits, how = (int)fw_below(r, 6);
	uint32_t h[4];

	memset(a, 0, 16);
	if (how == 5) {
		for (i = 0; i < words; i++)
			a[i] = (uint32_t)fw_rnd(r);
		return;
	}
	for (i = 0; i < words; i++)
		h[i] = ntohl(p->addr[i]);
	/* host bits: all zero (first), all one (last), random (inside) */
	for (i = 0, bits = p->plen; i < words; i++, bits -= 32) {
		uint32_t hostm = bits >= 32 ? 0 : bits <= 0 ? ~0u : ~0u >> bits;

		if (how == 1 || how == 3)
			h[i] |= hostm;
		else if (how == 2)
			h[i] |= (uint32_t)fw_rnd(r) & hostm;
	}
	if (how == 3) { /* one past the last */
		for (i = words - 1; i >= 0 && ++h[i] == 0; i--)
			;
	} else if (how == 4) { /* one before the first */
		for (i = words - 1; i >= 0 && h[i]-- == 0; i--)
			;
	}
	for (i = 0; i < words; i++)
		a[i] = htonl(h[i]);
}

static uint16_t pick_port(struct fw_rng *r, const struct pools *pl)
{
	const struct spec_port_range *p = &pl->ports[fw_below(r, 16)];

	switch (fw_below(r, 5)) {
	case 0: return p->lo;
	case 1: return p->hi;
	case 2: return (uint16_t)(p->lo - 1);
	case 3: return (uint16_t)(p->hi + 1);
	default: return (uint16_t)fw_below(r, 65536);
	}
}

static void make_packet(struct fw_rng *r, const struct pools *pl, struct fw_ref_pkt *p)
{
	static const uint8_t pp[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP,
				      IPPROTO_ICMPV6, IPPROTO_GRE, 0, 255 };
	uint32_t k = fw_below(r, 100);
	bool l4proto;

	memset(p, 0, sizeof(*p));
	p->family = k < 47 ? 4 : k < 94 ? 6 : 0;
	pick_addr(r, pl, p->family == 6 ? 6 : 4, p->saddr);
	pick_addr(r, pl, p->family == 6 ? 6 : 4, p->daddr);
	p->proto = pp[fw_below(r, 8)];
	l4proto = p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
		  p->proto == IPPROTO_SCTP || p->proto == IPPROTO_ICMP ||
		  p->proto == IPPROTO_ICMPV6;
	k = fw_below(r, 100);
	if (l4proto)
		p->flags = k < 72 ? SL_F_HAS_L4 : k < 84 ? SL_F_FRAG | SL_F_FRAG_LATER :
			   k < 92 ? SL_F_FRAG | SL_F_HAS_L4 : k < 95 ? SL_F_FRAG :
			   k < 97 ? SL_F_HAS_L4 | SL_F_FRAG | SL_F_FRAG_LATER : 0;
	else
		p->flags = k < 85 ? 0 : SL_F_FRAG | SL_F_FRAG_LATER;
	if (p->flags & SL_F_HAS_L4) {
		if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
			static const uint16_t t[] = { 0, 3, 8, 128, 129, 255, 7 };

			p->dport = t[fw_below(r, 7)];
			p->sport = (uint16_t)fw_below(r, 4);
		} else {
			p->sport = pick_port(r, pl);
			p->dport = pick_port(r, pl);
		}
	}
	p->len = 60 + fw_below(r, 1440);
	p->ct_state = (uint8_t)fw_below(r, 5); /* 0: no conntrack stage */
}

static void print_prefixes(const char *key, const struct spec_prefix *v, size_t n)
{
	char buf[SPEC_PREFIX_STRLEN];
	size_t i;

	if (!n)
		return;
	printf(" %s=", key);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", spec_prefix_str(&v[i], buf, sizeof(buf)));
}

static void print_ports(const char *key, const struct spec_port_range *v, size_t n)
{
	size_t i;

	if (!n)
		return;
	printf(" %s=", key);
	for (i = 0; i < n; i++)
		printf("%s%u-%u", i ? "," : "", v[i].lo, v[i].hi);
}

static void print_rules(const struct spec_firewall *fw)
{
	size_t i;

	printf("    default %s%s\n", fw->default_action == SPEC_ACT_ALLOW ? "allow" : "deny",
	       fw->audit ? " (audit)" : "");
	for (i = 0; i < fw->nrules; i++) {
		const struct spec_fw_rule *x = &fw->rules[i];

		printf("    [%zu] %s%s", i, x->action == SPEC_ACT_ALLOW ? "allow" : "deny",
		       x->audit ? " audit" : "");
		if (x->proto >= 0)
			printf(" proto=%d", x->proto);
		print_prefixes("src", x->src, x->nsrc);
		print_prefixes("dst", x->dst, x->ndst);
		print_ports("sport", x->sports, x->nsports);
		print_ports("dport", x->dports, x->ndports);
		if (x->icmp_type >= 0)
			printf(" icmp=%d/%d", x->icmp_type, x->icmp_code);
		if (x->states)
			printf(" states=0x%x", x->states);
		printf("\n");
	}
}

static void print_packet(const struct fw_ref_pkt *p)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = p->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, p->saddr, s, sizeof(s));
	inet_ntop(af, p->daddr, d, sizeof(d));
	printf("    packet: family %u %s -> %s proto %u flags 0x%x sport %u dport %u len %u ct_state %u\n",
	       p->family, s, d, p->proto, p->flags, p->sport, p->dport, p->len, p->ct_state);
}

/* Lookup configurations, to exercise every index's lists on their own. */
enum { CFG_DEFAULT, CFG_ALL, CFG_SRC, CFG_DST, CFG_PORT, CFG_N };
static const char *const cfg_names[] = { "default", "all-lookups", "src-only", "dst-only",
					 "port-only" };

static void force_cfg(struct fw_image *img, int how)
{
	struct fw_fam_cfg *fc[2] = { &img->cfg.f4, &img->cfg.f6 };
	size_t *ncls[2] = { img->nclasses4, img->nclasses6 };
	int f;

	if (how == CFG_DEFAULT)
		return;
	for (f = 0; f < 2; f++) {
		fc[f]->scan_good = 0;
		if (how == CFG_ALL)
			continue;
		memset(fc[f]->order, FW_IDX_NONE, sizeof(fc[f]->order));
		if (ncls[f][how - CFG_SRC])
			fc[f]->order[0] = (uint8_t)(how - CFG_SRC);
	}
}

struct tally {
	uint64_t packets, bytes;
};

void test_fw_diff(void)
{
	const char *s = getenv("FW_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x5eed2026ull;
	long nsets = getenv("FW_SETS") ? atol(getenv("FW_SETS")) : 1500;
	long npkts = getenv("FW_PKTS") ? atol(getenv("FW_PKTS")) : 400;
	struct fw_rng r = { seed };
	struct fw_rig rig;
	struct tally *want = NULL;
	long set, i, checks = 0, mismatches = 0, cfg_used[CFG_N] = { 0 };
	long idx_used[2][3] = { { 0 } }, long_lists = 0;
	uint32_t max_insns = 0;
	bool setup_ok;
	int err;

	printf("  fw_diff: seed 0x%llx (FW_SEED to replay), %ld rule sets x %ld packets\n",
	       (unsigned long long)seed, nsets, npkts);
	err = fw_rig_open(&rig);
	setup_ok = ASSERT_OK(err, "fw_rig_open");
	for (set = 0; setup_ok && set < nsets && mismatches < 5; set++) {
		struct spec_firewall fw;
		struct sl_errs errs = { 0 };
		struct fw_image img;
		struct pools pl;
		char *log = NULL;
		int how, f, x;

		make_pools(&r, &pl);
		make_rules(&r, &pl, &fw);
		err = fw_compile(&fw, "spec.functions[0]", &img, &errs);
		if (!ASSERT_OK(err, "fw_compile")) {
			errs_print(&errs, stdout);
			print_rules(&fw);
			errs_free(&errs);
			fw_rules_free(&fw);
			break;
		}
		how = (int)fw_below(&r, CFG_N);
		force_cfg(&img, how);
		cfg_used[how]++;
		for (f = 0; f < 2; f++)
			for (x = 0; x < 3; x++)
				idx_used[f][x] += !!(f ? img.nclasses6[x] : img.nclasses4[x]);
		for (x = 0; x < 2; x++) /* a list too long for a leaf: via its bucket */
			if (img.max_list4[x] > FW_LIST_MAX_LEN || img.max_list6[x] > FW_LIST_MAX_LEN) {
				long_lists++;
				break;
			}
		err = fw_rig_load(&rig, &img, &log);
		if (!ASSERT_OK(err, "fw_rig_load")) {
			if (log)
				printf("%s\n", log);
			free(log);
			fw_image_free(&img);
			fw_rules_free(&fw);
			break;
		}
		if (rig.verified_insns > max_insns)
			max_insns = rig.verified_insns;
		free(want);
		want = calloc(fw.nrules + 1, sizeof(*want));
		for (i = 0; i < npkts; i++) {
			struct fw_ref_pkt p;
			struct fw_ref_res ref;
			struct sl_meta m;
			uint32_t ret;
			size_t a;
			uint8_t final = 0;
			char w[96], g[96];

			make_packet(&r, &pl, &p);
			fw_ref_eval(&fw, &p, &ref);
			if (ref.decider >= 0 || ref.decider == FW_REF_DEFAULT) {
				size_t k = ref.decider >= 0 ? (size_t)ref.decider : fw.nrules;

				want[k].packets++;
				want[k].bytes += p.len;
			}
			for (a = 0; a < ref.naudit && a < FW_REF_MAX_AUDIT; a++) {
				want[ref.audit[a]].packets++;
				want[ref.audit[a]].bytes += p.len;
			}
			err = fw_rig_run(&rig, &p, &m, &ret);
			if (!ASSERT_OK(err, "fw_rig_run"))
				break;
			checks++;
			final = ref.verdict == SL_VERDICT_DROP ? SL_VERDICT_DROP : SL_VERDICT_PASS;
			if (m.nstages == 1 && m.trace[0].verdict == ref.verdict &&
			    m.trace[0].reason == ref.reason && m.trace[0].rule == ref.rule &&
			    m.verdict == final && ret == (final == SL_VERDICT_DROP ? 1u : 2u) &&
			    (final != SL_VERDICT_DROP || m.reason == ref.reason))
				continue;
			mismatches++;
			ASSERT_TRUE(false, "stage == model");
			printf("    set %ld (lookups: %s), packet %ld: model %s, stage %s (nstages %u, final %u, retval %u)\n",
			       set, cfg_names[how], i,
			       fw_ref_str(ref.verdict, ref.reason, ref.rule, w, sizeof(w)),
			       fw_ref_str(m.trace[0].verdict, m.trace[0].reason, m.trace[0].rule, g,
					  sizeof(g)),
			       m.nstages, m.verdict, ret);
			print_packet(&p);
			print_rules(&fw);
			if (mismatches >= 5)
				break;
		}
		/* Counters: every rule's and the default's, packets and bytes. */
		for (i = 0; mismatches < 5 && i <= (long)fw.nrules; i++) {
			uint64_t pk, by;
			uint32_t slot = i < (long)fw.nrules ? fw_rig_rule_slot(&rig, (size_t)i) :
							     fw_rig_default_slot(&rig);

			err = fw_rig_counter(&rig, slot, &pk, &by);
			if (!ASSERT_OK(err, "fw_rig_counter"))
				break;
			checks++;
			if (pk == want[i].packets && by == want[i].bytes)
				continue;
			mismatches++;
			ASSERT_TRUE(false, "counter == model");
			printf("    set %ld (lookups: %s): %s %ld counted %llu packets %llu bytes, model %llu / %llu\n",
			       set, cfg_names[how], i < (long)fw.nrules ? "rule" : "default", i,
			       (unsigned long long)pk, (unsigned long long)by,
			       (unsigned long long)want[i].packets,
			       (unsigned long long)want[i].bytes);
			print_rules(&fw);
		}
		fw_image_free(&img);
		fw_rules_free(&fw);
	}
	printf("  fw_diff: %ld checks (packets and counters) over %ld rule sets, %ld mismatches; max verified_insns %u\n",
	       checks, set, mismatches, max_insns);
	printf("  fw_diff: lookup configs default %ld, all %ld, src %ld, dst %ld, port %ld; indexed v4 src/dst/port %ld/%ld/%ld, v6 %ld/%ld/%ld; address lists longer than a leaf in %ld sets\n",
	       cfg_used[0], cfg_used[1], cfg_used[2], cfg_used[3], cfg_used[4], idx_used[0][0],
	       idx_used[0][1], idx_used[0][2], idx_used[1][0], idx_used[1][1], idx_used[1][2],
	       long_lists);
	ASSERT_GT(long_lists, 0, "some lists longer than a leaf");
	ASSERT_EQ(mismatches, 0, "mismatches");
	ASSERT_GT(checks, 0, "checks made");
	free(want);
	fw_rig_close(&rig);
}
