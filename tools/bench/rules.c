// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark rule sets (rules.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "rules.h"

/* Prefix lengths and their weights (per 10,000 rules). IPv4: mostly /24
 * and hosts, some /16-/22, a few /8 and /12. IPv6: /48, /56, /64 and
 * hosts, some /32 and longer-than-64, a few /16 and /24. */
static const uint8_t len4[] = { 8, 12, 16, 20, 22, 24, 26, 28, 30, 32 };
static const uint16_t w4[] = { 1, 10, 200, 600, 800, 3500, 600, 1000, 600, 2689 };
static const uint8_t len6[] = { 16, 24, 32, 40, 44, 48, 56, 64, 80, 96, 112, 120, 128 };
static const uint16_t w6[] = { 1, 5, 300, 200, 200, 2500, 1500, 3000, 300, 300, 200, 100, 1394 };

/* Ports: half from a pool of common services, half random. */
static const uint16_t common_ports[] = { 22, 25, 53, 80, 110, 123, 143, 443,
					 465, 587, 993, 3306, 5432, 6379, 8080, 8443 };

/* A set of (length, prefix) keys: open addressing, linear probing. */
struct pset {
	struct pkey {
		uint32_t a[4];
		uint32_t len; /* 0xff: empty */
	} *k;
	size_t cap;
};

static int pset_init(struct pset *p, size_t want)
{
	size_t i;

	p->cap = 1024;
	while (p->cap < want * 2)
		p->cap <<= 1;
	p->k = malloc(p->cap * sizeof(*p->k));
	if (!p->k)
		return -ENOMEM;
	for (i = 0; i < p->cap; i++)
		p->k[i].len = 0xff;
	return 0;
}

static size_t pset_slot(const struct pset *p, const uint32_t *a, uint32_t len)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < 4; i++)
		h = (h ^ a[i]) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	for (i = h & (p->cap - 1);; i = (i + 1) & (p->cap - 1))
		if (p->k[i].len == 0xff || (p->k[i].len == len && !memcmp(p->k[i].a, a, 16)))
			return i;
}

static int pset_has(const struct pset *p, const uint32_t *a, uint32_t len)
{
	return p->k[pset_slot(p, a, len)].len != 0xff;
}

static void pset_add(struct pset *p, const uint32_t *a, uint32_t len)
{
	size_t i = pset_slot(p, a, len);

	memcpy(p->k[i].a, a, 16);
	p->k[i].len = len;
}

/* Host-order words; mask to len bits (network order out). */
static void mask_to(const uint32_t *h, int len, uint32_t *out)
{
	int i, bits = len;

	for (i = 0; i < 4; i++, bits -= 32) {
		uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

		out[i] = h[i] & m;
	}
}

static int pick_len(uint64_t *st, int fam)
{
	const uint16_t *w = fam == 4 ? w4 : w6;
	size_t n = fam == 4 ? sizeof(len4) : sizeof(len6), i;
	uint32_t x = (uint32_t)(brnd(st) % 10000);

	for (i = 0; i < n; i++) {
		if (x < w[i])
			return fam == 4 ? len4[i] : len6[i];
		x -= w[i];
	}
	return fam == 4 ? 32 : 128;
}

static void rand_addr(uint64_t *st, int fam, uint32_t *h)
{
	int i;

	memset(h, 0, 16);
	if (fam == 4) {
		h[0] = (uint32_t)brnd(st);
		return;
	}
	for (i = 0; i < 4; i++)
		h[i] = (uint32_t)brnd(st);
	h[0] = (h[0] & 0x1fffffffu) | 0x20000000u; /* 2000::/3 */
}

/* A random address inside host-order prefix (p, len). */
static void rand_inside(uint64_t *st, int fam, const uint32_t *p, int len, uint32_t *h)
{
	uint32_t r[4], m[4], ones[4] = { ~0u, ~0u, ~0u, ~0u };
	int i;

	rand_addr(st, fam, r);
	mask_to(ones, len, m);
	for (i = 0; i < 4; i++)
		h[i] = (p[i] & m[i]) | (r[i] & ~m[i]);
	if (fam == 4)
		h[1] = h[2] = h[3] = 0;
}

static void fill_rule(uint64_t *st, struct brule *r, int fam, const uint32_t *p, int len)
{
	uint32_t h[4];
	int i;

	r->fam = (uint8_t)fam;
	r->plen = (uint8_t)len;
	r->proto = brnd(st) % 10 < 7 ? IPPROTO_TCP : IPPROTO_UDP;
	r->allow = brnd(st) % 10 < 6;
	r->dport = brnd(st) % 2 ? common_ports[brnd(st) % 16]
				: (uint16_t)(1024 + brnd(st) % (65536 - 1024));
	rand_inside(st, fam, p, len, h);
	for (i = 0; i < 4; i++) {
		r->addr[i] = htonl(p[i]);
		r->host[i] = htonl(h[i]);
	}
}

int bset_gen(struct bset *s, size_t n, int fam, unsigned nest_pct, uint64_t seed)
{
	const uint8_t *lens = fam == 4 ? len4 : len6;
	size_t nlens = fam == 4 ? sizeof(len4) : sizeof(len6);
	size_t nnest = n * nest_pct / 100, ndis = n - nnest, i, j, tries;
	uint64_t st = seed * 2654435761u + (uint64_t)fam;
	struct pset pfx, anc;
	int err;

	memset(s, 0, sizeof(*s));
	s->fam = fam;
	s->n = n;
	s->r = calloc(n ? n : 1, sizeof(*s->r));
	if (!s->r)
		return -ENOMEM;
	err = pset_init(&pfx, n);
	if (err)
		return err;
	err = pset_init(&anc, n * nlens);
	if (err) {
		free(pfx.k);
		return err;
	}
	/* Disjoint rules go after the nested ones: r[nnest .. n). Rejection
	 * sampling: a candidate is kept when no kept prefix covers it (a
	 * lookup at each used length) and none lies under it (the set of
	 * ancestors of kept prefixes). */
	for (i = 0; i < ndis; i++) {
		uint32_t h[4], p[4];
		int len = 0, ok = 0;

		for (tries = 0; !ok; tries++) {
			if (tries % 16 == 0)
				len = tries > 4096 ? lens[nlens - 1] : pick_len(&st, fam);
			rand_addr(&st, fam, h);
			mask_to(h, len, p);
			ok = !pset_has(&anc, p, (uint32_t)len);
			for (j = 0; ok && j < nlens && lens[j] <= len; j++) {
				uint32_t q[4];

				mask_to(h, lens[j], q);
				ok = !pset_has(&pfx, q, lens[j]);
			}
			if (tries > 1000000) {
				err = -ENOSPC;
				goto out;
			}
		}
		pset_add(&pfx, p, (uint32_t)len);
		for (j = 0; j < nlens && lens[j] < len; j++) {
			uint32_t q[4];

			mask_to(h, lens[j], q);
			pset_add(&anc, q, lens[j]);
		}
		fill_rule(&st, &s->r[nnest + i], fam, p, len);
	}
	/* Exceptions: a longer prefix inside a disjoint rule's, first in
	 * order so that it can match. */
	for (i = 0; i < nnest; i++) {
		const struct brule *par;
		uint32_t ph[4], h[4], p[4];
		int len, k;

		do {
			par = &s->r[nnest + brnd(&st) % (ndis ? ndis : 1)];
		} while (ndis && par->plen == lens[nlens - 1]);
		if (!ndis)
			break;
		for (k = 0; k < 4; k++)
			ph[k] = ntohl(par->addr[k]);
		do
			len = lens[brnd(&st) % nlens];
		while (len <= par->plen);
		rand_inside(&st, fam, ph, par->plen, h);
		mask_to(h, len, p);
		fill_rule(&st, &s->r[i], fam, p, len);
	}
out:
	free(pfx.k);
	free(anc.k);
	if (err)
		bset_free(s);
	return err;
}

void bset_free(struct bset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

int bset_fw(const struct bset *s, struct spec_firewall *fw)
{
	size_t i;

	memset(fw, 0, sizeof(*fw));
	fw->default_action = SPEC_ACT_DENY;
	fw->rules = calloc(s->n ? s->n : 1, sizeof(*fw->rules));
	if (!fw->rules)
		return -ENOMEM;
	fw->nrules = s->n;
	for (i = 0; i < s->n; i++) {
		const struct brule *b = &s->r[i];
		struct spec_fw_rule *x = &fw->rules[i];
		char id[16];

		snprintf(id, sizeof(id), "r%06zu", i);
		x->id = strdup(id);
		x->action = b->allow ? SPEC_ACT_ALLOW : SPEC_ACT_DENY;
		x->proto = b->proto;
		x->icmp_type = x->icmp_code = -1;
		x->dst = calloc(1, sizeof(*x->dst));
		x->dports = calloc(1, sizeof(*x->dports));
		if (!x->id || !x->dst || !x->dports) {
			bset_fw_free(fw);
			return -ENOMEM;
		}
		x->ndst = 1;
		x->dst->family = b->fam;
		x->dst->plen = b->plen;
		memcpy(x->dst->addr, b->addr, sizeof(b->addr));
		x->ndports = 1;
		x->dports->lo = x->dports->hi = b->dport;
	}
	return 0;
}

void bset_fw_free(struct spec_firewall *fw)
{
	size_t i;

	for (i = 0; i < fw->nrules; i++) {
		free(fw->rules[i].id);
		free(fw->rules[i].dst);
		free(fw->rules[i].dports);
	}
	free(fw->rules);
	memset(fw, 0, sizeof(*fw));
}

static const char *pfx_str(const struct brule *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(b->fam == 4 ? AF_INET : AF_INET6, b->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, b->plen);
	return buf;
}

int bset_write(const struct bset *s, enum bset_fmt fmt, FILE *f, const char *chain,
	       const char *ifname, int flags)
{
	const char *ip = s->fam == 4 ? "ip" : "ip6";
	int live = flags & BSET_W_LIVE, change = flags & BSET_W_CHANGE;
	const char *hook = live ? "prerouting" : "forward", *pol = live ? "accept" : "drop";
	char p[64];
	size_t i;

	switch (fmt) {
	case BSET_SPEC:
		fprintf(f, "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
			   "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"attach\":[{\"interface\":\"%s\","
			   "\"hook\":\"xdp\",\"mode\":\"native\"}],\"functions\":[{\"name\":\"fw\","
			   "\"type\":\"firewall\",\"defaultAction\":\"%s\",\"rules\":[\n",
			chain, ifname, live ? "allow" : "deny");
		break;
	case BSET_IPT:
		if (live)
			fprintf(f, "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
		else
			fprintf(f, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
		break;
	case BSET_NFT:
		fprintf(f, "table %s slb {\n chain filt {\n  type filter hook %s priority 0; policy %s;\n", ip,
			hook, pol);
		break;
	case BSET_NFT_MAP:
		fprintf(f, "table %s slb {\n map m {\n  type %s . inet_proto . inet_service : verdict; flags interval;\n  elements = {\n",
			ip, s->fam == 4 ? "ipv4_addr" : "ipv6_addr");
		break;
	case BSET_IPSET:
		fprintf(f, "create slb_allow hash:net,port family %s hashsize 65536 maxelem %zu\n"
			   "create slb_deny hash:net,port family %s hashsize 65536 maxelem %zu\n",
			s->fam == 4 ? "inet" : "inet6", s->n + 16, s->fam == 4 ? "inet" : "inet6",
			s->n + 16);
		break;
	}
	for (i = 0; i < s->n; i++) {
		const struct brule *b = &s->r[i];
		const char *proto = b->proto == IPPROTO_TCP ? "tcp" : "udp";
		unsigned port = b->dport;
		int allow = b->allow && !live;

		if (change && i == 0)
			port = port == 65535 ? 1 : port + 1;
		pfx_str(b, p, sizeof(p));
		switch (fmt) {
		case BSET_SPEC:
			fprintf(f, "%s{\"id\":\"r%06zu\",\"action\":\"%s\",\"proto\":\"%s\","
				   "\"dst\":[\"%s\"],\"dstPorts\":[\"%u\"]}\n",
				i ? "," : "", i, allow ? "allow" : "deny", proto, p, port);
			break;
		case BSET_IPT:
			fprintf(f, "-A %s -d %s -p %s -m %s --dport %u -j %s\n",
				live ? "PREROUTING" : "FORWARD", p, proto, proto, port,
				allow ? "ACCEPT" : "DROP");
			break;
		case BSET_NFT:
			fprintf(f, "  %s daddr %s %s dport %u %s\n", ip, p, proto, port,
				allow ? "accept" : "drop");
			break;
		case BSET_NFT_MAP:
			fprintf(f, "   %s . %s . %u : %s,\n", p, proto, port,
				allow ? "accept" : "drop");
			break;
		case BSET_IPSET:
			fprintf(f, "add slb_%s %s,%s:%u\n", allow ? "allow" : "deny", p, proto, port);
			break;
		}
	}
	switch (fmt) {
	case BSET_SPEC:
		fprintf(f, "]}]}}\n");
		break;
	case BSET_IPT:
		fprintf(f, "COMMIT\n");
		break;
	case BSET_NFT:
		fprintf(f, " }\n}\n");
		break;
	case BSET_NFT_MAP:
		fprintf(f, "  }\n }\n chain filt {\n  type filter hook %s priority 0; policy %s;\n"
			   "  %s daddr . meta l4proto . th dport vmap @m\n }\n}\n", hook, pol, ip);
		break;
	case BSET_IPSET:
		break;
	}
	return ferror(f) ? -EIO : 0;
}
