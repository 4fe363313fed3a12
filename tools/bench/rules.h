/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The benchmarks' rule sets: deterministic (seeded), one family, mixed
 * prefix lengths, one destination prefix + protocol + destination port per
 * rule, allow or deny, and one host address inside each prefix (what the
 * traffic of that rule is sent to). The same set is written as a sluice
 * spec, iptables-restore input, nft rules, an nft interval map and ipset
 * restore input (docs/benchmarks.md, "Rule sets").
 *
 * Prefixes are disjoint, except for nest_pct percent of "exception" rules
 * that lie inside another rule's prefix and come first in rule order (the
 * micro benchmark uses them; the set-based tools cannot express them, so
 * the control-plane benchmark uses none). */
#ifndef SLUICE_BENCH_RULES_H
#define SLUICE_BENCH_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "spec.h"

struct brule {
	uint8_t fam;	  /* 4 or 6 */
	uint8_t plen;
	uint8_t proto;	  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t allow;	  /* 1 allow, 0 deny */
	uint16_t dport;
	uint32_t addr[4]; /* the prefix, network order, host bits zero */
	uint32_t host[4]; /* an address inside it, network order */
};

struct bset {
	int fam;
	size_t n;
	struct brule *r;
};

/* 0 or -errno. */
int bset_gen(struct bset *s, size_t n, int fam, unsigned nest_pct, uint64_t seed);
void bset_free(struct bset *s);

/* The same rules as a firewall function (default deny) for fw_compile();
 * the strings and lists are owned by fw (bset_fw_free). */
int bset_fw(const struct bset *s, struct spec_firewall *fw);
void bset_fw_free(struct spec_firewall *fw);

enum bset_fmt {
	BSET_SPEC,	/* sluice spec (JSON); needs chain name and interface */
	BSET_IPT,	/* iptables-restore / ip6tables-restore, chain FORWARD */
	BSET_NFT,	/* nft -f: linear rules */
	BSET_NFT_MAP,	/* nft -f: one interval verdict map */
	BSET_IPSET,	/* ipset restore: hash:net,port sets slb_allow, slb_deny */
};

/* bset_write() flags */
#define BSET_W_CHANGE 0x1 /* rule 0 with another port: the one-rule change */
#define BSET_W_LIVE 0x2	  /* the live benchmark's variant: every rule denies,
			   * the default allows, netfilter in the prerouting
			   * hook (raw table for iptables) */
int bset_write(const struct bset *s, enum bset_fmt fmt, FILE *f, const char *chain,
	       const char *ifname, int flags);

/* splitmix64 */
static inline uint64_t brnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
