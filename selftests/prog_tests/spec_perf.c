// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Budget figure: parse + validate a generated 100k-rule spec (~10 MB) and
 * print the time, with cJSON's share for reference. The budget is "well
 * under 100 ms" on the project's machines; the figure is printed, not
 * asserted, so a loaded CI machine does not fail the suite. Correctness of
 * the big parse is asserted. */
#include <stdlib.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include "test_progs.h"
#include "spec.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* n rules of every field kind, in a pretty-printed document. */
static char *gen_spec(size_t n, size_t *len)
{
	size_t cap = n * 300 + 4096, off = 0, i;
	char *b = malloc(cap);

	if (!b)
		return NULL;
	off += (size_t)snprintf(b + off, cap - off,
		"{\n  \"apiVersion\": \"sluice.dev/v1alpha1\",\n  \"kind\": \"NetworkFunctionChain\",\n"
		"  \"metadata\": { \"name\": \"big\" },\n  \"spec\": {\n"
		"    \"attach\": [ { \"interface\": \"eth0\", \"hook\": \"xdp\" } ],\n"
		"    \"functions\": [ { \"name\": \"fw\", \"type\": \"firewall\", \"defaultAction\": \"deny\",\n"
		"      \"rules\": [\n");
	for (i = 0; i < n; i++) {
		const char *sep = i + 1 < n ? "," : "";

		switch (i % 4) {
		case 0:
			off += (size_t)snprintf(b + off, cap - off,
				"        { \"id\": \"r%06zu\", \"action\": \"allow\", \"proto\": \"tcp\", "
				"\"src\": [\"10.%zu.%zu.0/24\"], \"dstPorts\": [\"%zu\", \"8000-8080\"] }%s\n",
				i, (i >> 8) & 255, i & 255, 1 + i % 65535, sep);
			break;
		case 1:
			off += (size_t)snprintf(b + off, cap - off,
				"        { \"id\": \"r%06zu\", \"action\": \"deny\", \"proto\": \"udp\", "
				"\"dst\": [\"2001:db8:%zx::/48\", \"192.0.2.%zu\"], \"srcPorts\": [%zu] }%s\n",
				i, i & 0xffff, i & 255, i % 65536, sep);
			break;
		case 2:
			off += (size_t)snprintf(b + off, cap - off,
				"        { \"id\": \"r%06zu\", \"action\": \"allow\", \"audit\": true, "
				"\"proto\": \"icmp\", \"icmpType\": %zu, \"src\": [\"172.16.%zu.%zu\"] }%s\n",
				i, i & 255, (i >> 8) & 255, i & 255, sep);
			break;
		default:
			off += (size_t)snprintf(b + off, cap - off,
				"        { \"id\": \"r%06zu\", \"action\": \"deny\", "
				"\"src\": [\"fd00:%zx::/32\"], \"dst\": [\"fd00:1:%zx::/64\"] }%s\n",
				i, i & 0xffff, i & 0xffff, sep);
			break;
		}
	}
	off += (size_t)snprintf(b + off, cap - off, "      ]\n    } ]\n  }\n}\n");
	*len = off;
	return b;
}

void test_spec_perf(void)
{
	struct sl_errs errs = { 0 };
	double t0, t_spec, t_cjson, t_print, best = 1e9;
	struct spec *s = NULL;
	size_t len = 0, i, nrules = SPEC_MAX_RULES;
	unsigned char md[32];
	char *doc, *out;
	cJSON *root;
	int err, round;

	doc = gen_spec(nrules, &len);
	if (!ASSERT_OK_PTR(doc, "generate"))
		return;
	/* Best of 3: the figure, not the machine's noise. */
	for (round = 0; round < 3; round++) {
		t0 = now_ms();
		err = spec_parse(doc, len, &s, &errs);
		t_spec = now_ms() - t0;
		if (t_spec < best)
			best = t_spec;
		if (!ASSERT_OK(err, "100k-rule spec")) {
			errs_print(&errs, stdout);
			goto cleanup;
		}
		if (round < 2) {
			spec_free(s);
			s = NULL;
		}
	}
	ASSERT_EQ(s->fns[0].fw.nrules, nrules, "all rules");
	for (i = 0; i < nrules; i += 9973)
		ASSERT_EQ(atoi(s->fns[0].fw.rules[i].id + 1), i, "rule order");
	ASSERT_EQ(s->fns[0].fw.rules[2].icmp_type, 2, "icmpType of rule 2");
	ASSERT_EQ(s->fns[0].fw.rules[1].ndst, 2, "dst of rule 1");

	/* cJSON's own share, for the figure; and the canonical form must be
	 * what cJSON prints. */
	t0 = now_ms();
	root = cJSON_ParseWithLength(doc, len);
	t_cjson = now_ms() - t0;
	ASSERT_OK_PTR(root, "cJSON parse");
	t0 = now_ms();
	out = cJSON_PrintUnformatted(root);
	EVP_Digest(out, strlen(out), md, NULL, EVP_sha256(), NULL);
	t_print = now_ms() - t0;
	printf("    spec_perf: %zu rules, %.1f MB: spec_parse %.1f ms (best of 3); "
	       "for reference, cJSON_Parse alone %.1f ms, cJSON_PrintUnformatted + sha256 %.1f ms\n",
	       nrules, len / 1e6, best, t_cjson, t_print);
	ASSERT_STREQ(out, s->canonical, "canonical");
	cJSON_free(out);
	cJSON_Delete(root);
cleanup:
	spec_free(s);
	errs_free(&errs);
	free(doc);
}
