// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Spec parsing: every valid field lands in the structs as documented
 * (table-driven), the address/port/protocol syntax, the *_str helpers, and
 * the canonical form and hash. The hostile corpus is in spec_corpus.c. */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include "test_progs.h"
#include "spec.h"
#include "spec_int.h" /* spec_canonical() */

#define ENVELOPE_HEAD                                                          \
	"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\"," \
	"\"metadata\":{\"name\":\"t\"},\"spec\":{\"attach\":[{\"interface\":\"eth0\"," \
	"\"hook\":\"xdp\"}],\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\","  \
	"\"defaultAction\":\"deny\",\"rules\":["
#define ENVELOPE_TAIL "]}]}}"

static struct spec *parse_str(const char *doc, const char *name)
{
	struct sl_errs errs = { 0 };
	struct spec *s = NULL;
	int err = spec_parse(doc, strlen(doc), &s, &errs);

	if (!ASSERT_OK(err, name))
		errs_print(&errs, stdout);
	errs_free(&errs);
	return err ? NULL : s;
}

static struct spec *parse_rule(const char *rule, const char *name)
{
	struct spec *s;
	char *doc = NULL;

	if (asprintf(&doc, ENVELOPE_HEAD "%s" ENVELOPE_TAIL, rule) < 0)
		return NULL;
	s = parse_str(doc, name);
	free(doc);
	return s;
}

#define MAXL 4
struct rule_case {
	const char *name;
	const char *json;
	const char *id;
	enum spec_action action;
	bool audit;
	int proto;
	const char *src[MAXL]; /* expected spec_prefix_str(), NULL-terminated */
	const char *dst[MAXL];
	size_t nsports, ndports;
	struct spec_port_range sports[MAXL], dports[MAXL];
	int icmp_type, icmp_code;
};

static const struct rule_case rule_cases[] = {
	{ "minimal", "{\"id\":\"r\",\"action\":\"allow\"}",
	  "r", SPEC_ACT_ALLOW, false, -1, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "deny_audit", "{\"id\":\"R_1.x:y-z\",\"action\":\"deny\",\"audit\":true}",
	  "R_1.x:y-z", SPEC_ACT_DENY, true, -1, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "audit_false", "{\"id\":\"r\",\"action\":\"deny\",\"audit\":false}",
	  "r", SPEC_ACT_DENY, false, -1, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "design_example",
	  "{\"id\":\"web\",\"action\":\"allow\",\"audit\":false,\"proto\":\"tcp\","
	  "\"src\":[\"10.0.0.0/8\",\"2001:db8::/32\"],\"dst\":[\"192.0.2.0/24\"],"
	  "\"srcPorts\":[\"1024-65535\"],\"dstPorts\":[\"80\",\"443\"]}",
	  "web", SPEC_ACT_ALLOW, false, IPPROTO_TCP,
	  { "10.0.0.0/8", "2001:db8::/32" }, { "192.0.2.0/24" },
	  1, 2, { { 1024, 65535 } }, { { 80, 80 }, { 443, 443 } }, -1, -1 },
	{ "plain_addresses",
	  "{\"id\":\"h\",\"action\":\"allow\",\"src\":[\"192.0.2.1\",\"2001:db8::1\"],"
	  "\"dst\":[\"::\",\"0.0.0.0/0\",\"::/0\",\"10.1.2.3/32\"]}",
	  "h", SPEC_ACT_ALLOW, false, -1,
	  { "192.0.2.1/32", "2001:db8::1/128" },
	  { "::/128", "0.0.0.0/0", "::/0", "10.1.2.3/32" }, 0, 0, {}, {}, -1, -1 },
	{ "duplicate_prefixes_kept",
	  "{\"id\":\"d\",\"action\":\"allow\",\"dst\":[\"10.0.0.0/8\",\"10.0.0.0/8\"]}",
	  "d", SPEC_ACT_ALLOW, false, -1, {}, { "10.0.0.0/8", "10.0.0.0/8" },
	  0, 0, {}, {}, -1, -1 },
	{ "ports_as_integers",
	  "{\"id\":\"p\",\"action\":\"allow\",\"proto\":\"udp\",\"srcPorts\":[0,65535],"
	  "\"dstPorts\":[53,\"5353\",\"0-65535\",\"7-7\"]}",
	  "p", SPEC_ACT_ALLOW, false, IPPROTO_UDP, {}, {}, 2, 4,
	  { { 0, 0 }, { 65535, 65535 } },
	  { { 53, 53 }, { 5353, 5353 }, { 0, 65535 }, { 7, 7 } }, -1, -1 },
	{ "sctp_ports", "{\"id\":\"s\",\"action\":\"deny\",\"proto\":\"sctp\",\"dstPorts\":[\"38412\"]}",
	  "s", SPEC_ACT_DENY, false, IPPROTO_SCTP, {}, {}, 0, 1, {}, { { 38412, 38412 } }, -1, -1 },
	{ "proto_number", "{\"id\":\"n\",\"action\":\"allow\",\"proto\":6,\"dstPorts\":[\"22\"]}",
	  "n", SPEC_ACT_ALLOW, false, IPPROTO_TCP, {}, {}, 0, 1, {}, { { 22, 22 } }, -1, -1 },
	{ "proto_number_string", "{\"id\":\"n\",\"action\":\"allow\",\"proto\":\"47\"}",
	  "n", SPEC_ACT_ALLOW, false, IPPROTO_GRE, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "proto_255", "{\"id\":\"n\",\"action\":\"allow\",\"proto\":255}",
	  "n", SPEC_ACT_ALLOW, false, 255, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "icmp_type_code",
	  "{\"id\":\"i\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":3,\"icmpCode\":4,"
	  "\"dst\":[\"198.51.100.0/24\",\"2001:db8::/32\"]}",
	  "i", SPEC_ACT_ALLOW, false, IPPROTO_ICMP, {}, { "198.51.100.0/24", "2001:db8::/32" },
	  0, 0, {}, {}, 3, 4 },
	{ "icmpv6_alias", "{\"id\":\"i6\",\"action\":\"allow\",\"proto\":\"ipv6-icmp\",\"icmpType\":135}",
	  "i6", SPEC_ACT_ALLOW, false, IPPROTO_ICMPV6, {}, {}, 0, 0, {}, {}, 135, -1 },
	{ "icmpv6_type_0", "{\"id\":\"i6\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":0,\"icmpCode\":255}",
	  "i6", SPEC_ACT_ALLOW, false, IPPROTO_ICMPV6, {}, {}, 0, 0, {}, {}, 0, 255 },
	{ "icmp_without_type", "{\"id\":\"i\",\"action\":\"deny\",\"proto\":\"icmp\"}",
	  "i", SPEC_ACT_DENY, false, IPPROTO_ICMP, {}, {}, 0, 0, {}, {}, -1, -1 },
	{ "mixed_families_meet",
	  "{\"id\":\"m\",\"action\":\"deny\",\"src\":[\"10.0.0.0/8\",\"fd00::/8\"],\"dst\":[\"fd00:1::/32\"]}",
	  "m", SPEC_ACT_DENY, false, -1, { "10.0.0.0/8", "fd00::/8" }, { "fd00:1::/32" },
	  0, 0, {}, {}, -1, -1 },
	{ "v4_mapped_is_v6", "{\"id\":\"m\",\"action\":\"deny\",\"src\":[\"::ffff:10.0.0.0/104\"]}",
	  "m", SPEC_ACT_DENY, false, -1, { "::ffff:10.0.0.0/104" }, {}, 0, 0, {}, {}, -1, -1 },
	{ "keys_any_order",
	  "{\"dstPorts\":[\"443\"],\"proto\":\"tcp\",\"action\":\"allow\",\"id\":\"o\"}",
	  "o", SPEC_ACT_ALLOW, false, IPPROTO_TCP, {}, {}, 0, 1, {}, { { 443, 443 } }, -1, -1 },
	{ "float_integral", "{\"id\":\"f\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":8.0}",
	  "f", SPEC_ACT_ALLOW, false, IPPROTO_ICMP, {}, {}, 0, 0, {}, {}, 8, -1 },
};

static void check_prefixes(const struct spec_prefix *v, size_t n,
			   const char *const want[MAXL], const char *what)
{
	char buf[SPEC_PREFIX_STRLEN];
	size_t i, nwant = 0;

	while (nwant < MAXL && want[nwant])
		nwant++;
	if (!ASSERT_EQ(n, nwant, what))
		return;
	for (i = 0; i < n; i++)
		ASSERT_STREQ(spec_prefix_str(&v[i], buf, sizeof(buf)), want[i], what);
}

static void check_ports(const struct spec_port_range *v, size_t n,
			const struct spec_port_range *want, size_t nwant, const char *what)
{
	size_t i;

	if (!ASSERT_EQ(n, nwant, what))
		return;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(v[i].lo, want[i].lo, what);
		ASSERT_EQ(v[i].hi, want[i].hi, what);
	}
}

static void test_rule_fields(void)
{
	size_t i;

	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *t = &rule_cases[i];
		const struct spec_fw_rule *r;
		struct spec *s = parse_rule(t->json, t->name);

		if (!s)
			continue;
		if (ASSERT_EQ(s->fns[0].fw.nrules, 1, t->name)) {
			r = &s->fns[0].fw.rules[0];
			ASSERT_STREQ(r->id, t->id, t->name);
			ASSERT_EQ(r->action, t->action, t->name);
			ASSERT_EQ(r->audit, t->audit, t->name);
			ASSERT_EQ(r->proto, t->proto, t->name);
			check_prefixes(r->src, r->nsrc, t->src, t->name);
			check_prefixes(r->dst, r->ndst, t->dst, t->name);
			check_ports(r->sports, r->nsports, t->sports, t->nsports, t->name);
			check_ports(r->dports, r->ndports, t->dports, t->ndports, t->name);
			ASSERT_EQ(r->icmp_type, t->icmp_type, t->name);
			ASSERT_EQ(r->icmp_code, t->icmp_code, t->name);
		}
		spec_free(s);
	}
}

static void test_envelope_fields(void)
{
	static const char doc[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"edge-1\",\"namespace\":\"default\",\"labels\":{\"a\":\"b\"},"
		"\"annotations\":{\"x/y\":\"z\"}},"
		"\"spec\":{\"attach\":[{\"interface\":\"eth0\",\"hook\":\"xdp\"},"
		"{\"interface\":\"eth0\",\"hook\":\"tc-ingress\"},"
		"{\"interface\":\"abcdefghijklmno\",\"hook\":\"xdp\",\"mode\":\"generic\"},"
		"{\"interface\":\"br0.100\",\"hook\":\"tc-egress\"},"
		"{\"interface\":\"v\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\"},"
		"{\"type\":\"firewall\",\"name\":\"f-2\",\"defaultAction\":\"allow\",\"audit\":true,\"rules\":[]}]}}";
	struct spec *s = parse_str(doc, "envelope");

	if (!s)
		return;
	ASSERT_STREQ(s->name, "edge-1", "metadata.name");
	if (ASSERT_EQ(s->nattach, 5, "nattach")) {
		ASSERT_STREQ(s->attach[0].ifname, "eth0", "attach[0].interface");
		ASSERT_EQ(s->attach[0].hook, SPEC_HOOK_XDP, "attach[0].hook");
		ASSERT_EQ(s->attach[0].mode, SPEC_XDP_NATIVE, "xdp mode defaults to native");
		ASSERT_EQ(s->attach[1].hook, SPEC_HOOK_TC_INGRESS, "attach[1].hook");
		ASSERT_EQ(s->attach[1].mode, 0, "no mode for tc");
		ASSERT_STREQ(s->attach[2].ifname, "abcdefghijklmno", "15-byte name");
		ASSERT_EQ(s->attach[2].mode, SPEC_XDP_GENERIC, "attach[2].mode");
		ASSERT_STREQ(s->attach[3].ifname, "br0.100", "attach[3].interface");
		ASSERT_EQ(s->attach[3].hook, SPEC_HOOK_TC_EGRESS, "attach[3].hook");
		ASSERT_EQ(s->attach[4].mode, SPEC_XDP_NATIVE, "explicit native");
	}
	if (ASSERT_EQ(s->nfns, 2, "nfns")) {
		ASSERT_STREQ(s->fns[0].name, "fw", "fns[0].name");
		ASSERT_EQ(s->fns[0].type, SPEC_FN_FIREWALL, "fns[0].type");
		ASSERT_EQ(s->fns[0].fw.default_action, SPEC_ACT_DENY, "defaultAction");
		ASSERT_FALSE(s->fns[0].fw.audit, "audit defaults to false");
		ASSERT_EQ(s->fns[0].fw.nrules, 0, "rules absent: none");
		ASSERT_TRUE(s->fns[0].fw.rules == NULL, "rules NULL");
		ASSERT_STREQ(s->fns[1].name, "f-2", "fns[1].name");
		ASSERT_EQ(s->fns[1].fw.default_action, SPEC_ACT_ALLOW, "fns[1].defaultAction");
		ASSERT_TRUE(s->fns[1].fw.audit, "fns[1].audit");
		ASSERT_EQ(s->fns[1].fw.nrules, 0, "empty rules list is valid");
		ASSERT_TRUE(spec_fn_find(s, "f-2") == &s->fns[1], "spec_fn_find");
		ASSERT_TRUE(spec_fn_find(s, "nope") == NULL, "spec_fn_find miss");
	}
	spec_free(s);
}

static void test_rule_order_and_addr(void)
{
	struct spec *s;
	const struct spec_fw_rule *r;

	s = parse_rule("{\"id\":\"a\",\"action\":\"allow\",\"src\":[\"192.0.2.0/24\"]},"
		       "{\"id\":\"b\",\"action\":\"deny\",\"dst\":[\"2001:db8:1::/48\"]},"
		       "{\"id\":\"c\",\"action\":\"allow\"}", "order");
	if (!s)
		return;
	if (ASSERT_EQ(s->fns[0].fw.nrules, 3, "nrules")) {
		r = s->fns[0].fw.rules;
		ASSERT_STREQ(r[0].id, "a", "order 0");
		ASSERT_STREQ(r[1].id, "b", "order 1");
		ASSERT_STREQ(r[2].id, "c", "order 2");
		/* Network order, IPv4 in addr[0], the rest zero. */
		ASSERT_EQ(r[0].src[0].family, 4, "family 4");
		ASSERT_EQ(r[0].src[0].plen, 24, "plen 24");
		ASSERT_EQ(r[0].src[0].addr[0], htonl(0xc0000200), "v4 addr");
		ASSERT_EQ(r[0].src[0].addr[1] | r[0].src[0].addr[2] | r[0].src[0].addr[3], 0,
			  "v4 rest zero");
		ASSERT_EQ(r[1].dst[0].family, 6, "family 6");
		ASSERT_EQ(r[1].dst[0].plen, 48, "plen 48");
		ASSERT_EQ(r[1].dst[0].addr[0], htonl(0x20010db8), "v6 word 0");
		ASSERT_EQ(r[1].dst[0].addr[1], htonl(0x00010000), "v6 word 1");
		ASSERT_EQ(r[1].dst[0].addr[2] | r[1].dst[0].addr[3], 0, "v6 rest zero");
	}
	spec_free(s);
}

void test_spec_fields(void)
{
	if (test__start_subtest("rules"))
		test_rule_fields();
	if (test__start_subtest("envelope"))
		test_envelope_fields();
	if (test__start_subtest("order_and_addresses"))
		test_rule_order_and_addr();
	if (test__start_subtest("edge_example")) {
		struct sl_errs errs = { 0 };
		const struct spec_function *fn;
		struct spec *s = NULL;
		size_t i;
		int err = spec_load_file(test__src_path("examples/edge.json"), &s, &errs);

		if (!ASSERT_OK(err, "examples/edge.json")) {
			errs_print(&errs, stdout);
			errs_free(&errs);
			return;
		}
		ASSERT_STREQ(s->name, "edge", "chain name");
		ASSERT_EQ(s->nattach, 1, "one attach point");
		ASSERT_STREQ(s->attach[0].ifname, "edge-in", "interface");
		ASSERT_EQ(s->attach[0].hook, SPEC_HOOK_XDP, "xdp");
		ASSERT_EQ(s->attach[0].mode, SPEC_XDP_NATIVE, "native");
		fn = spec_fn_find(s, "fw");
		if (ASSERT_OK_PTR(fn, "fw")) {
			bool deny9090 = false, audit7000 = false;

			ASSERT_EQ(fn->fw.default_action, SPEC_ACT_DENY, "default deny");
			for (i = 0; i < fn->fw.nrules; i++) {
				const struct spec_fw_rule *r = &fn->fw.rules[i];

				if (!strcmp(r->id, "deny-9090"))
					deny9090 = r->action == SPEC_ACT_DENY && !r->audit &&
						   r->proto == IPPROTO_TCP && r->ndports == 1 &&
						   r->dports[0].lo == 9090;
				if (!strcmp(r->id, "audit-udp-7000"))
					audit7000 = r->action == SPEC_ACT_DENY && r->audit &&
						    r->proto == IPPROTO_UDP && r->ndports == 1 &&
						    r->dports[0].lo == 7000;
			}
			ASSERT_TRUE(deny9090, "deny-9090 rule");
			ASSERT_TRUE(audit7000, "audit-udp-7000 rule");
		}
		spec_free(s);
	}
}

struct prefix_case {
	const char *in;
	int err;
	const char *out; /* spec_prefix_str(), or the suggestion for -ERANGE */
	const char *why; /* substring of why for errors */
};

static const struct prefix_case prefix_cases[] = {
	{ "10.0.0.0/8", 0, "10.0.0.0/8", NULL },
	{ "10.0.0.1", 0, "10.0.0.1/32", NULL },
	{ "0.0.0.0/0", 0, "0.0.0.0/0", NULL },
	{ "255.255.255.255/32", 0, "255.255.255.255/32", NULL },
	{ "2001:db8::/32", 0, "2001:db8::/32", NULL },
	{ "2001:DB8::/32", 0, "2001:db8::/32", NULL },
	{ "::1", 0, "::1/128", NULL },
	{ "::/0", 0, "::/0", NULL },
	{ "2001:db8::8000:0/97", 0, "2001:db8::8000:0/97", NULL },
	{ "10.0.0.0/33", -EINVAL, NULL, "length 33 > 32" },
	{ "::/129", -EINVAL, NULL, "length 129 > 128" },
	{ "10.0.0.0/300", -EINVAL, NULL, "length > 32" },
	{ "10.0.0.1/8", -ERANGE, "10.0.0.0/8", "host bits" },
	{ "10.0.0.128/25", 0, "10.0.0.128/25", NULL },
	{ "10.0.0.129/25", -ERANGE, "10.0.0.128/25", "host bits" },
	{ "2001:db8::1/64", -ERANGE, "2001:db8::/64", "host bits" },
	{ "2001:db8::8000:0/96", -ERANGE, "2001:db8::/96", "host bits" },
	{ "1.2.3.4/0", -ERANGE, "0.0.0.0/0", "host bits" },
	{ "10.0.0.0/08", -EINVAL, NULL, "decimal" },
	{ "10.0.0.0/+8", -EINVAL, NULL, "decimal" },
	{ "10.0.0.0/ 8", -EINVAL, NULL, "decimal" },
	{ "10.0.0.0/8 ", -EINVAL, NULL, "decimal" },
	{ "/8", -EINVAL, NULL, "no address" },
	{ "10.0.0", -EINVAL, NULL, "not an IPv4 or IPv6 address" },
	{ "1.2.3.4.5", -EINVAL, NULL, "not an IPv4" },
	{ "fe80::1%lo", -EINVAL, NULL, "not an IPv4" },
	{ "0x0a.0.0.1", -EINVAL, NULL, "not an IPv4" },
	{ "2001:db8:::/32", -EINVAL, NULL, "not an IPv4" },
	{ "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8", -EINVAL, NULL, "too long" },
};

struct port_case {
	const char *in;
	int err;
	uint16_t lo, hi;
};

static const struct port_case port_cases[] = {
	{ "0", 0, 0, 0 },
	{ "80", 0, 80, 80 },
	{ "65535", 0, 65535, 65535 },
	{ "1024-65535", 0, 1024, 65535 },
	{ "7-7", 0, 7, 7 },
	{ "0-0", 0, 0, 0 },
	{ "65536", -ERANGE, 0, 0 },
	{ "99999999999999999999999", -ERANGE, 0, 0 },
	{ "5-3", -ERANGE, 0, 0 },
	{ "1-65536", -ERANGE, 0, 0 },
	{ "-1", -EINVAL, 0, 0 },
	{ "80-", -EINVAL, 0, 0 },
	{ "-80", -EINVAL, 0, 0 },
	{ "", -EINVAL, 0, 0 },
	{ "080", -EINVAL, 0, 0 },
	{ "8 0", -EINVAL, 0, 0 },
	{ "80:90", -EINVAL, 0, 0 },
	{ "1-2-3", -EINVAL, 0, 0 },
	{ "http", -EINVAL, 0, 0 },
};

void test_spec_net(void)
{
	char why[128], buf[SPEC_PREFIX_STRLEN];
	struct spec_port_range r;
	struct spec_prefix p;
	size_t i;
	int err;

	if (test__start_subtest("prefixes")) {
		for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
			const struct prefix_case *t = &prefix_cases[i];

			why[0] = '\0';
			err = spec_prefix_parse(t->in, &p, why, sizeof(why));
			if (!ASSERT_EQ(err, t->err, t->in))
				continue;
			if (t->out)
				ASSERT_STREQ(spec_prefix_str(&p, buf, sizeof(buf)), t->out, t->in);
			if (t->why)
				ASSERT_STRCONTAINS(why, t->why, t->in);
		}
	}
	if (test__start_subtest("ports")) {
		for (i = 0; i < sizeof(port_cases) / sizeof(port_cases[0]); i++) {
			const struct port_case *t = &port_cases[i];

			why[0] = '\0';
			err = spec_port_range_parse(t->in, &r, why, sizeof(why));
			if (!ASSERT_EQ(err, t->err, t->in))
				continue;
			if (!err) {
				ASSERT_EQ(r.lo, t->lo, t->in);
				ASSERT_EQ(r.hi, t->hi, t->in);
			} else {
				ASSERT_GT(strlen(why), 0, "a reason");
			}
		}
	}
	if (test__start_subtest("protocols")) {
		ASSERT_EQ(spec_proto_parse("tcp"), IPPROTO_TCP, "tcp");
		ASSERT_EQ(spec_proto_parse("udp"), IPPROTO_UDP, "udp");
		ASSERT_EQ(spec_proto_parse("sctp"), IPPROTO_SCTP, "sctp");
		ASSERT_EQ(spec_proto_parse("icmp"), IPPROTO_ICMP, "icmp");
		ASSERT_EQ(spec_proto_parse("icmpv6"), IPPROTO_ICMPV6, "icmpv6");
		ASSERT_EQ(spec_proto_parse("ipv6-icmp"), IPPROTO_ICMPV6, "ipv6-icmp");
		ASSERT_EQ(spec_proto_parse("gre"), IPPROTO_GRE, "gre");
		ASSERT_EQ(spec_proto_parse("esp"), IPPROTO_ESP, "esp");
		ASSERT_EQ(spec_proto_parse("ah"), IPPROTO_AH, "ah");
		ASSERT_EQ(spec_proto_parse("udplite"), IPPROTO_UDPLITE, "udplite");
		ASSERT_EQ(spec_proto_parse("vrrp"), 112, "vrrp");
		ASSERT_EQ(spec_proto_parse("132"), IPPROTO_SCTP, "132");
		ASSERT_EQ(spec_proto_parse("255"), 255, "255");
		ASSERT_EQ(spec_proto_parse("256"), -EINVAL, "256");
		ASSERT_EQ(spec_proto_parse("TCP"), -EINVAL, "case-sensitive");
		ASSERT_EQ(spec_proto_parse("06"), -EINVAL, "leading zero");
		ASSERT_EQ(spec_proto_parse(""), -EINVAL, "empty");
		ASSERT_STREQ(spec_proto_str(IPPROTO_ICMPV6), "icmpv6", "str 58");
		ASSERT_STREQ(spec_proto_str(IPPROTO_TCP), "tcp", "str 6");
		ASSERT_TRUE(spec_proto_str(253) == NULL, "no name for 253");
	}
	if (test__start_subtest("str_helpers")) {
		ASSERT_STREQ(spec_hook_str(SPEC_HOOK_XDP), "xdp", "hook xdp");
		ASSERT_STREQ(spec_hook_str(SPEC_HOOK_TC_INGRESS), "tc-ingress", "hook tci");
		ASSERT_STREQ(spec_hook_str(SPEC_HOOK_TC_EGRESS), "tc-egress", "hook tce");
		ASSERT_STREQ(spec_hook_str(0), "none", "hook 0");
		ASSERT_STREQ(spec_hook_str(99), "unknown", "hook 99");
		ASSERT_STREQ(spec_xdp_mode_str(SPEC_XDP_NATIVE), "native", "native");
		ASSERT_STREQ(spec_xdp_mode_str(SPEC_XDP_GENERIC), "generic", "generic");
		ASSERT_STREQ(spec_xdp_mode_str(0), "none", "mode 0");
		ASSERT_STREQ(spec_action_str(SPEC_ACT_ALLOW), "allow", "allow");
		ASSERT_STREQ(spec_action_str(SPEC_ACT_DENY), "deny", "deny");
		ASSERT_STREQ(spec_action_str(7), "unknown", "action 7");
		ASSERT_STREQ(spec_fn_type_str(SPEC_FN_FIREWALL), "firewall", "firewall");
		ASSERT_STREQ(spec_fn_type_str(42), "unknown", "type 42");
		/* The ABI values the compiler relies on. */
		ASSERT_EQ(SPEC_ACT_ALLOW, 1, "= FW_ACT_ALLOW");
		ASSERT_EQ(SPEC_ACT_DENY, 2, "= FW_ACT_DENY");
	}
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* spec->canonical is byte for byte cJSON_PrintUnformatted(): numbers and
 * strings that take cJSON's slow paths. */
static void test_canonical_matches_cjson(void)
{
	static const char doc[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"c\",\"annotations\":{"
		"\"s\":\"tab\\t nl\\n cr\\r bs\\b ff\\f q\\\" bsl\\\\ sl\\/ ctl\\u001f\\u0001 del\\u007f\","
		"\"u\":\"\\u00e9 \\u2028 \\ud83d\\ude00 raw \xc3\xa9\","
		"\"k\\\"ey\\n\":\"\"}},"
		"\"spec\":{\"attach\":[{\"interface\":\"eth0\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		"\"rules\":[{\"id\":\"a\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":8.0,"
		"\"icmpCode\":0E0},"
		"{\"id\":\"b\",\"action\":\"allow\",\"proto\":6,\"dstPorts\":[1e2,65535,0,-0,\"1\"]}]}]}}";
	static const char *const numbers[] = {
		"0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"1e15", "1e16", "123456789012345678", "0.1", "1.5e-7", "3.14159265358979",
		"1e300", "-1e-300", "4.9e-324", "1.7976931348623157e308", "100.0", "65535.5",
	};
	struct spec *s = parse_str(doc, "tricky document");
	cJSON *root = cJSON_Parse(doc);
	char *ref = root ? cJSON_PrintUnformatted(root) : NULL;
	char *mine, num[64];
	size_t i;

	if (s && ASSERT_OK_PTR(ref, "cJSON reference"))
		ASSERT_STREQ(s->canonical, ref, "canonical == cJSON_PrintUnformatted");
	cJSON_free(ref);
	cJSON_Delete(root);
	spec_free(s);
	/* Numbers one by one, in a bare array, through the internal printer. */
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		snprintf(num, sizeof(num), "[%s]", numbers[i]);
		root = cJSON_Parse(num);
		if (!ASSERT_OK_PTR(root, numbers[i]))
			continue;
		ref = cJSON_PrintUnformatted(root);
		mine = spec_canonical(root, 0, NULL);
		ASSERT_STREQ(mine, ref, numbers[i]);
		free(mine);
		cJSON_free(ref);
		cJSON_Delete(root);
	}
}

void test_spec_hash(void)
{
	static const char compact[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"h\"},\"spec\":{\"attach\":[{\"interface\":\"eth0\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		"\"rules\":[{\"id\":\"web\",\"action\":\"allow\",\"proto\":\"tcp\",\"dstPorts\":[\"80\"]}]}]}}";
	static const char spaced[] =
		"\xef\xbb\xbf\r\n{ \"apiVersion\" : \"sluice.dev/v1alpha1\",\n\t\"kind\":\"NetworkFunctionChain\",\n"
		"  \"metadata\": {\"name\": \"h\"},\n  \"spec\": {\n    \"attach\": [ { \"interface\": \"eth0\", \"hook\": \"xdp\" } ],\n"
		"    \"functions\": [ { \"name\": \"fw\", \"type\": \"firewall\", \"defaultAction\": \"deny\",\n"
		"      \"rules\": [ { \"id\": \"web\", \"action\": \"allow\", \"proto\": \"tcp\", \"dstPorts\": [ \"80\" ] } ]\n"
		"    } ]\n  }\n}\n\n";
	/* \u escapes of plain characters decode to the same document. */
	static const char escaped[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"\\u0068\"},\"spec\":{\"attach\":[{\"interface\":\"eth0\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		"\"rules\":[{\"id\":\"web\",\"action\":\"allow\",\"proto\":\"tcp\",\"dstPorts\":[\"80\"]}]}]}}";
	static const char changed[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"h\"},\"spec\":{\"attach\":[{\"interface\":\"eth0\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		"\"rules\":[{\"id\":\"web\",\"action\":\"allow\",\"proto\":\"tcp\",\"dstPorts\":[\"81\"]}]}]}}";
	struct spec *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char want[65];

	if (test__start_subtest("canonical_is_cjson"))
		test_canonical_matches_cjson();
	if (!test__start_subtest("whitespace_and_changes"))
		return;

	a = parse_str(compact, "compact");
	b = parse_str(spaced, "whitespace variant");
	c = parse_str(escaped, "escape variant");
	d = parse_str(changed, "changed rule");
	if (!a || !b || !c || !d)
		goto cleanup;
	ASSERT_STREQ(a->canonical, compact, "canonical of compact input is the input");
	ASSERT_STREQ(b->canonical, a->canonical, "whitespace-insensitive canonical");
	ASSERT_STREQ(c->canonical, a->canonical, "escapes decoded");
	ASSERT_STREQ(b->sha256, a->sha256, "whitespace variants hash alike");
	ASSERT_STREQ(c->sha256, a->sha256, "escape variants hash alike");
	ASSERT_TRUE(strcmp(d->sha256, a->sha256) != 0, "a changed port changes the hash");
	sha256_hex(a->canonical, want);
	ASSERT_STREQ(a->sha256, want, "sha256 of canonical");
	ASSERT_EQ(strlen(a->sha256), 64, "hex length");
	ASSERT_EQ(strspn(a->sha256, "0123456789abcdef"), 64, "lowercase hex");
cleanup:
	spec_free(a);
	spec_free(b);
	spec_free(c);
	spec_free(d);
}
