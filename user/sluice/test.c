// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test: a spec's unit tests, run through the real BPF programs before the
 * spec touches traffic. The spec is loaded as a private generation (not
 * pinned, not attached, no chain touched); every case is a packet and what
 * the chain must decide:
 *
 *   {"cases": [
 *     {"name": "web is allowed",
 *      "packet": "tcp 10.200.1.2:40000 10.200.2.2:8080",
 *      "expect": {"verdict": "pass", "rules": {"fw": "allow-web"}}},
 *     {"name": "9090 is denied",
 *      "packet": "tcp 10.200.1.2:40000 10.200.2.2:9090",
 *      "expect": {"verdict": "drop", "reason": "firewall_deny",
 *                 "rules": {"fw": "deny-9090"}}}]}
 *
 * expect.verdict is pass or drop; expect.reason a drop reason name;
 * expect.rules maps a function name to the rule id (or "(default)") its
 * stage matched. Exit 0 when every case holds, 5 when one does not, 2 for
 * an invalid spec or cases file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "names.h"
#include "pin.h"
#include "probe.h"

#define CASES_MAX_BYTES (16u << 20)
#define CASES_MAX 100000

struct tcase {
	const char *name;
	struct probe_pkt pkt;
	const char *verdict;	/* NULL: not checked */
	const char *reason;
	const cJSON *rules;	/* object: function -> rule id */
};

static const char *str_field(const cJSON *o, const char *key, const char *path,
			     struct sl_errs *errs, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v) {
		if (required)
			errs_add(errs, path, "\"%s\" is required", key);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		errs_add(errs, path, "\"%s\" must be a string", key);
		return NULL;
	}
	return v->valuestring;
}

static int parse_cases(const cJSON *doc, const struct spec *s, struct tcase **out,
		       size_t *n, struct sl_errs *errs)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "cases"), *c;
	struct tcase *v;
	size_t i = 0, k;
	char path[96];

	if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr)) {
		errs_add(errs, "cases", "a non-empty array of test cases is required");
		return -EINVAL;
	}
	if (cJSON_GetArraySize(arr) > CASES_MAX) {
		errs_add(errs, "cases", "more than %d cases", CASES_MAX);
		return -EINVAL;
	}
	v = calloc(cJSON_GetArraySize(arr), sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(c, arr) {
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expect"), *r;
		const char *pkt;

		snprintf(path, sizeof(path), "cases[%zu]", i);
		v[i].name = str_field(c, "name", path, errs, true);
		pkt = str_field(c, "packet", path, errs, true);
		if (pkt && probe_parse_str(pkt, &v[i].pkt)) {
			snprintf(path, sizeof(path), "cases[%zu].packet", i);
			errs_add(errs, path, "\"%s\" is not a packet: " PROBE_USAGE, pkt);
		}
		snprintf(path, sizeof(path), "cases[%zu].expect", i);
		if (!cJSON_IsObject(exp)) {
			errs_add(errs, path, "an object is required");
			i++;
			continue;
		}
		v[i].verdict = str_field(exp, "verdict", path, errs, false);
		if (v[i].verdict && strcmp(v[i].verdict, "pass") && strcmp(v[i].verdict, "drop"))
			errs_add(errs, path, "verdict \"%s\" is not pass or drop", v[i].verdict);
		v[i].reason = str_field(exp, "reason", path, errs, false);
		v[i].rules = cJSON_GetObjectItemCaseSensitive(exp, "rules");
		if (v[i].rules && !cJSON_IsObject(v[i].rules))
			errs_add(errs, path, "\"rules\" must map function names to rule ids");
		cJSON_ArrayForEach(r, v[i].rules) {
			if (!spec_fn_find(s, r->string))
				errs_add(errs, path, "rules: the spec has no function \"%s\"", r->string);
			else if (!cJSON_IsString(r))
				errs_add(errs, path, "rules.%s must be a rule id", r->string);
		}
		if (!v[i].verdict && !v[i].reason && !v[i].rules)
			errs_add(errs, path, "expects nothing: give verdict, reason or rules");
		i++;
	}
	k = i;
	*out = v;
	*n = k;
	return errs->n ? -EINVAL : 0;
}

static int fn_index(const struct spec *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nfns; i++)
		if (!strcmp(s->fns[i].name, name))
			return (int)i;
	return -1;
}

static const char *stage_rule(const struct spec *s, const struct sl_meta *m, int fn)
{
	uint32_t i;

	for (i = 0; i < m->nstages && i < SL_MAX_STAGES; i++) {
		if (m->trace[i].stage != fn)
			continue;
		if (!m->trace[i].rule)
			return "(default)";
		if (s->fns[fn].type == SPEC_FN_FIREWALL && m->trace[i].rule <= s->fns[fn].fw.nrules)
			return s->fns[fn].fw.rules[m->trace[i].rule - 1].id;
		return "?";
	}
	return "(not reached)";
}

/* Check one case; append what differs to why. */
static bool check_case(const struct spec *s, const struct tcase *t,
		       const struct probe_result *res, char *why, size_t len)
{
	const struct sl_meta *m = &res->meta;
	const char *got_verdict = m->verdict == SL_VERDICT_DROP ? "drop" : "pass";
	const cJSON *r;
	bool ok = true;

	why[0] = '\0';
	if (t->verdict && strcmp(t->verdict, got_verdict)) {
		snprintf(why + strlen(why), len - strlen(why), "verdict %s, expected %s; ",
			 got_verdict, t->verdict);
		ok = false;
	}
	if (t->reason && strcmp(t->reason, m->reason ? drop_reason_str(m->reason) : "none")) {
		snprintf(why + strlen(why), len - strlen(why), "reason %s, expected %s; ",
			 m->reason ? drop_reason_str(m->reason) : "none", t->reason);
		ok = false;
	}
	cJSON_ArrayForEach(r, t->rules) {
		const char *got = stage_rule(s, m, fn_index(s, r->string));

		if (strcmp(got, r->valuestring)) {
			snprintf(why + strlen(why), len - strlen(why), "%s matched %s, expected %s; ",
				 r->string, got, r->valuestring);
			ok = false;
		}
	}
	return ok;
}

int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{}
	};
	struct gen_private gp = { .entry_fd = -1 };
	struct sl_errs errs = {};
	const char *file = NULL, *cases_file;
	struct tcase *cases = NULL;
	struct spec *s = NULL;
	size_t ncases = 0, i, npass = 0;
	char *text = NULL, why[512];
	cJSON *doc = NULL;
	int opt, err, ret = SL_EXIT_INVALID;

	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (opt != 'f')
			goto usage;
		file = optarg;
	}
	if (!file || optind != argc - 1)
		goto usage;
	cases_file = argv[optind];
	err = spec_load_file(file, &s, &errs);
	if (err) {
		cli_print_errs("invalid spec", &errs);
		goto out;
	}
	err = file_read(cases_file, &text, NULL, CASES_MAX_BYTES);
	if (err) {
		out_error("cannot read %s: %s", cases_file, strerror(-err));
		goto out;
	}
	doc = cJSON_Parse(text);
	if (!doc) {
		out_error("%s: not valid JSON", cases_file);
		goto out;
	}
	err = parse_cases(doc, s, &cases, &ncases, &errs);
	if (err) {
		cli_print_errs("invalid test cases", &errs);
		goto out;
	}
	err = gen_private_build(s, &gp, &errs);
	if (err) {
		cli_print_errs("the spec does not load", &errs);
		ret = cli_exit_for(err);
		goto out;
	}
	out_obj_begin(NULL);
	out_str("spec", "spec %s", file);
	out_str("sha256", " (sha256 %.16s)\n", s->sha256);
	out_arr_begin("cases");
	for (i = 0; i < ncases; i++) {
		struct probe_result res;
		bool ok;

		err = probe_run(gp.entry_fd, gp.meta_fd, &cases[i].pkt, &res);
		if (err) {
			snprintf(why, sizeof(why), "test run failed: %s", strerror(-err));
			ok = false;
		} else {
			ok = check_case(s, &cases[i], &res, why, sizeof(why));
		}
		npass += ok;
		out_obj_begin(NULL);
		out_str("result", "  %-4s", ok ? "ok" : "FAIL");
		out_str("name", " %s", cases[i].name);
		out_bool("ok", NULL, ok);
		if (!ok)
			out_str("why", ": %s", why);
		out_human("\n");
		out_obj_end();
	}
	out_arr_end();
	out_u64("passed", "%llu passed", npass);
	out_u64("failed", ", %llu failed\n", ncases - npass);
	out_obj_end();
	out_finish();
	ret = npass == ncases ? SL_EXIT_OK : SL_EXIT_TEST_FAILED;
	goto out;
usage:
	out_error("usage: sluice test -f SPEC CASES");
out:
	gen_private_free(&gp);
	free(cases);
	cJSON_Delete(doc);
	free(text);
	spec_free(s);
	errs_free(&errs);
	return ret;
}
