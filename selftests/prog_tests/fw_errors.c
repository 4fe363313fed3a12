// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule sets the compiler must refuse, each with a clear error that names
 * the function's path, the numbers and the limit: every cap of
 * fw_compile.h (atoms, DIR-16-8-8 chunks, IPv6 hash entries), the scan
 * bound FW_MAX_SCAN, and rules the compiler cannot take (all reported, not
 * only the first). Nothing here touches the kernel. */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "fw_run.h"

#define PATH "spec.functions[3]"

static void gen_init(struct spec_firewall *fw, size_t nrules)
{
	size_t i;

	memset(fw, 0, sizeof(*fw));
	fw->default_action = SPEC_ACT_DENY;
	fw->nrules = nrules;
	fw->rules = calloc(nrules, sizeof(*fw->rules));
	for (i = 0; fw->rules && i < nrules; i++) {
		fw->rules[i].action = SPEC_ACT_ALLOW;
		fw->rules[i].proto = -1;
		fw->rules[i].icmp_type = fw->rules[i].icmp_code = -1;
	}
}

static struct spec_prefix *v4_list(size_t n, uint32_t first, uint32_t step, uint8_t plen)
{
	struct spec_prefix *v = calloc(n, sizeof(*v));
	size_t i;

	for (i = 0; v && i < n; i++) {
		v[i].family = 4;
		v[i].plen = plen;
		v[i].addr[0] = htonl(first + (uint32_t)i * step);
	}
	return v;
}

/* Compiles, expects -EINVAL and one error at path containing what. */
static void expect_error(const struct spec_firewall *fw, const char *path, const char *what,
			 const char *name)
{
	struct sl_errs errs = { 0 };
	struct fw_image img;
	int err = fw_compile(fw, PATH, &img, &errs);

	ASSERT_EQ(err, -EINVAL, name);
	if (ASSERT_GE(errs.n, 1, name)) {
		const struct sl_err *found = NULL;
		size_t i;

		for (i = 0; i < errs.n && !found; i++)
			if (!strcmp(errs.v[i].path, path) && strstr(errs.v[i].msg, what))
				found = &errs.v[i];
		if (!ASSERT_OK_PTR(found, name))
			errs_print(&errs, stdout);
		else
			printf("    %s: %s\n", found->path, found->msg);
	}
	if (!err)
		fw_image_free(&img);
	errs_free(&errs);
}

void test_fw_errors(void)
{
	struct spec_firewall fw;
	size_t i, w;

	if (test__start_subtest("atoms_one_rule")) {
		/* 2048 x 2048 = 4M atoms from one rule */
		gen_init(&fw, 2);
		fw.rules[0].proto = IPPROTO_UDP; /* not "match all": rule 1 counts */
		fw.rules[1].src = v4_list(2048, 0x0a000000, 1, 32);
		fw.rules[1].nsrc = 2048;
		fw.rules[1].dst = v4_list(2048, 0x0b000000, 1, 32);
		fw.rules[1].ndst = 2048;
		expect_error(&fw, PATH ".rules[1]", "rules[0..1] expand to 4194305 IPv4 atoms", "atoms_one_rule");
		expect_error(&fw, PATH ".rules[1]", "over the limit of " FW_STR(FW_MAX_ATOMS), "limit named");
		fw_rules_free(&fw);
	}
	if (test__start_subtest("atoms_cumulative")) {
		/* 64 x 64 = 4096 atoms per rule: rule 256 crosses 1048576 */
		gen_init(&fw, 300);
		for (i = 0; i < fw.nrules; i++) {
			fw.rules[i].src = v4_list(64, 0x0a000000 + (uint32_t)i * 256, 1, 32);
			fw.rules[i].nsrc = 64;
			fw.rules[i].dst = v4_list(64, 0x0b000000, 1, 32);
			fw.rules[i].ndst = 64;
		}
		expect_error(&fw, PATH ".rules[256]", "rules[0..256] expand to 1052672 IPv4 atoms",
			     "atoms_cumulative");
		fw_rules_free(&fw);
	}
	if (test__start_subtest("lpm4_chunks")) {
		/* /25s in 266240 distinct /24s: one chunk per /24, one per /16 */
		gen_init(&fw, 65);
		for (i = 0; i < fw.nrules; i++) {
			fw.rules[i].src = v4_list(4096, 0x01000000 + (uint32_t)i * 4096 * 256, 256, 25);
			fw.rules[i].nsrc = 4096;
		}
		expect_error(&fw, PATH ".rules", "need 267280 DIR-16-8-8 chunks", "lpm4_chunks");
		expect_error(&fw, PATH ".rules", "over the limit of " FW_STR(FW_LPM4_MAX_CHUNKS),
			     "limit named");
		fw_rules_free(&fw);
	}
	if (test__start_subtest("lpm6_elems")) {
		/* 60 rules of 4096 /128s, in triples that share their top
		 * 120 bits: every triple needs a node per 8 bits from /16 to
		 * /120 (14), 1.15M in all */
		uint64_t x = 42;

		gen_init(&fw, 60);
		for (i = 0; i < fw.nrules; i++) {
			size_t k;

			fw.rules[i].src = calloc(4096, sizeof(struct spec_prefix));
			fw.rules[i].nsrc = 4096;
			for (k = 0; k < 4096; k++) {
				struct spec_prefix *p = &fw.rules[i].src[k];

				p->family = 6;
				p->plen = 128;
				if (k % 3 == 0) {
					for (w = 0; w < 4; w++) {
						x = x * 6364136223846793005ull + 1442695040888963407ull;
						p->addr[w] = (uint32_t)(x >> 32);
					}
				} else {
					*p = p[-1];
				}
				p->addr[3] = htonl((ntohl(p->addr[3]) & ~0xffu) | (uint32_t)(k % 3));
			}
		}
		expect_error(&fw, PATH ".rules", "table elements of 64 B (roots, nodes and prefix tails), over the limit of " FW_STR(FW_LPM6_MAX_ELEMS),
			     "lpm6_elems");
		fw_rules_free(&fw);
	}
	if (test__start_subtest("max_scan")) {
		/* 5000 rules with src and dst "any": every packet is a
		 * candidate for all of them, in both families */
		gen_init(&fw, 5000);
		for (i = 0; i < fw.nrules; i++) {
			fw.rules[i].proto = IPPROTO_TCP;
			fw.rules[i].sports = calloc(1, sizeof(struct spec_port_range));
			fw.rules[i].sports[0].lo = fw.rules[i].sports[0].hi = (uint16_t)i;
			fw.rules[i].nsports = 1;
		}
		expect_error(&fw, PATH ".rules", "an IPv4 packet may have to be checked against 5000 atoms, over the limit of 4096",
			     "max_scan v4");
		expect_error(&fw, PATH ".rules", "an IPv6 packet may have to be checked against 5000 atoms",
			     "max_scan v6");
		/* the same rules behind one source prefix each are fine */
		for (i = 0; i < fw.nrules; i++) {
			fw.rules[i].src = v4_list(1, 0x0a000000 + (uint32_t)i * 256, 0, 24);
			fw.rules[i].nsrc = 1;
		}
		{
			struct sl_errs errs = { 0 };
			struct fw_image img;

			ASSERT_OK(fw_compile(&fw, PATH, &img, &errs), "behind prefixes");
			ASSERT_LE(img.max_scan4, 1, "max_scan4");
			ASSERT_EQ(img.natoms6, 0, "no IPv6 atoms");
			fw_image_free(&img);
			errs_free(&errs);
		}
		fw_rules_free(&fw);
	}
	if (test__start_subtest("bad_rules_all_reported")) {
		gen_init(&fw, 4);
		fw.rules[0].dports = calloc(1, sizeof(struct spec_port_range));
		fw.rules[0].ndports = 1; /* ports without proto */
		fw.rules[1].icmp_type = 8;
		fw.rules[1].proto = IPPROTO_TCP; /* icmpType with tcp */
		fw.rules[2].src = v4_list(2, 0x0a000001, 0, 24); /* host bits */
		fw.rules[2].nsrc = 2;
		fw.rules[3].dst = v4_list(1, 0, 0, 33);
		fw.rules[3].ndst = 1;
		fw.rules[3].dst[0].plen = 33;
		expect_error(&fw, PATH ".rules[0].dstPorts", "ports need proto tcp, udp or sctp", "ports");
		expect_error(&fw, PATH ".rules[1].icmpType", "needs proto icmp or icmpv6", "icmp");
		expect_error(&fw, PATH ".rules[2].src[1]", "host bits are set", "host bits");
		expect_error(&fw, PATH ".rules[3].dst[0]", "prefix length 33 is over 32", "plen");
		fw_rules_free(&fw);
	}
}
