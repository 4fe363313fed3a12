// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* docs/spec.schema.json agrees with the parser: the same fields at every
 * level (additionalProperties false everywhere), the same enums, the same
 * limits, patterns that accept what the parser accepts, and only keywords
 * of the OpenAPI v3 subset a CRD's openAPIV3Schema allows. */
#include <regex.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "test_progs.h"
#include "spec.h"
#include "spec_int.h"

static cJSON *load_schema(void)
{
	const char *path = test__src_path("docs/spec.schema.json");
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, r;
	cJSON *root = NULL;

	if (!ASSERT_OK_PTR(f, path))
		return NULL;
	do {
		cap += 65536;
		buf = realloc(buf, cap + 1);
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r && len == cap);
	fclose(f);
	buf[len] = '\0';
	root = cJSON_Parse(buf);
	free(buf);
	ASSERT_OK_PTR(root, "schema is JSON");
	return root;
}

static const cJSON *get(const cJSON *o, const char *path)
{
	char tmp[256], *tok, *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (tok = strtok_r(tmp, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = cJSON_GetObjectItemCaseSensitive(o, tok);
	return o;
}

/* The schema object's properties are exactly keys, and closed. */
static void check_props(const cJSON *obj, const char *const keys[], const char *what)
{
	const cJSON *props = get(obj, "properties"), *it;
	size_t nkeys = 0, nprops = 0, i;

	if (!ASSERT_OK_PTR(props, what))
		return;
	for (i = 0; keys[i]; i++, nkeys++)
		ASSERT_OK_PTR(cJSON_GetObjectItemCaseSensitive(props, keys[i]), keys[i]);
	for (it = props->child; it; it = it->next)
		nprops++;
	ASSERT_EQ(nprops, nkeys, what);
	ASSERT_TRUE(cJSON_IsFalse(get(obj, "additionalProperties")), what);
}

static void check_enum(const cJSON *node, const struct enum_ent *tbl, const char *what)
{
	const cJSON *e = get(node, "enum"), *it;
	size_t n = 0, i;

	if (!ASSERT_OK_PTR(e, what))
		return;
	for (it = e->child; it; it = it->next) {
		for (i = 0; tbl[i].name; i++)
			if (cJSON_IsString(it) && !strcmp(it->valuestring, tbl[i].name))
				break;
		ASSERT_TRUE(tbl[i].name != NULL, what);
		n++;
	}
	for (i = 0; tbl[i].name; i++)
		;
	ASSERT_EQ(n, i, what);
}

static void check_max(const cJSON *node, const char *kw, double want, const char *what)
{
	const cJSON *v = get(node, kw);

	if (ASSERT_OK_PTR(v, what))
		ASSERT_EQ((long long)v->valuedouble, (long long)want, what);
}

/* Keywords a CRD's structural openAPIV3Schema rejects or ignores. */
static void check_subset(const cJSON *node, bool is_props, int *bad)
{
	static const char *const forbidden[] = {
		"$ref", "$defs", "definitions", "if", "then", "else", "const",
		"patternProperties", "dependencies", "dependentRequired", "oneOf", "not",
		"unevaluatedProperties", NULL,
	};
	const cJSON *it;
	size_t i;

	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return;
	for (it = node->child; it; it = it->next) {
		if (cJSON_IsObject(node) && it->string && !is_props) {
			for (i = 0; forbidden[i]; i++)
				if (!strcmp(it->string, forbidden[i])) {
					printf("    schema uses \"%s\"\n", it->string);
					(*bad)++;
				}
			if (!strcmp(it->string, "type") && !cJSON_IsString(it)) {
				printf("    schema has a non-string type\n");
				(*bad)++;
			}
		}
		/* enum values and validation rules are data, not schemas */
		if (it->string && (!strcmp(it->string, "enum") ||
				   !strcmp(it->string, "x-kubernetes-validations")))
			continue;
		check_subset(it, !is_props && it->string && !strcmp(it->string, "properties"), bad);
	}
}

static bool matches(const char *pattern, const char *s)
{
	regex_t re;
	bool ok;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return ok;
}

static void check_pattern(const cJSON *node, const char *const yes[], const char *const no[],
			  const char *what)
{
	const cJSON *p = get(node, "pattern");
	regex_t re;
	size_t i;

	if (!ASSERT_OK_PTR(p, what) || !ASSERT_OK(regcomp(&re, p->valuestring, REG_EXTENDED | REG_NOSUB),
						   "POSIX ERE compiles"))
		return;
	regfree(&re);
	for (i = 0; yes && yes[i]; i++)
		ASSERT_TRUE(matches(p->valuestring, yes[i]), yes[i]);
	for (i = 0; no && no[i]; i++)
		ASSERT_FALSE(matches(p->valuestring, no[i]), no[i]);
}

void test_spec_schema(void)
{
	static const char *const label_yes[] = { "a", "edge", "edge-1", "0", NULL };
	static const char *const label_no[] = { "A", "-a", "a-", "../x", "a/b", "a.b", "", NULL };
	static const char *const id_yes[] = { "web", "R_1.x:y-z", NULL };
	static const char *const id_no[] = { "a b", "a/b", "", NULL };
	static const char *const port_yes[] = { "0", "80", "1024-65535", "7-7", NULL };
	static const char *const port_no[] = { "-1", "80-", " 80", "080", "0x50", "1-2-3", NULL };
	static const char *const ifname_no[] = { ".", "..", "a/b", "eth0:1", "", NULL };
	static const char *const ifname_yes[] = { "eth0", "...", ".a", "a.", "br-lan.100", NULL };
	static const char *const proto_no[] = { "0", "256", "06", "TCP", "tpc", NULL };
	const cJSON *root, *attach, *fn, *rule, *any;
	const char *fn_keys[16];
	char num[8];
	size_t i, n = 0;
	int bad = 0, p;

	root = load_schema();
	if (!root)
		return;
	if (test__start_subtest("fields")) {
		check_props(root, spec_root_keys, "root");
		check_props(get(root, "properties.metadata"), spec_metadata_keys, "metadata");
		check_props(get(root, "properties.spec"), spec_spec_keys, "spec");
		attach = get(root, "properties.spec.properties.attach.items");
		check_props(attach, spec_attach_keys, "attach[]");
		fn = get(root, "properties.spec.properties.functions.items");
		/* functions[]: the union of every type's members */
		for (i = 0; spec_fn_types[i]; i++) {
			const char *const *k;

			for (k = spec_fn_types[i]->keys; *k && n < 15; k++) {
				size_t j;

				for (j = 0; j < n && strcmp(fn_keys[j], *k); j++)
					;
				if (j == n)
					fn_keys[n++] = *k;
			}
		}
		fn_keys[n] = NULL;
		check_props(fn, fn_keys, "functions[]");
		rule = get(fn, "properties.rules.items");
		check_props(rule, spec_fw_rule_keys, "rules[]");
	}
	attach = get(root, "properties.spec.properties.attach.items");
	fn = get(root, "properties.spec.properties.functions.items");
	rule = get(fn, "properties.rules.items");
	if (test__start_subtest("enums")) {
		check_enum(get(attach, "properties.hook"), spec_hook_names, "hook");
		check_enum(get(attach, "properties.mode"), spec_mode_names, "mode");
		check_enum(get(fn, "properties.defaultAction"), spec_action_names, "defaultAction");
		check_enum(get(rule, "properties.action"), spec_action_names, "action");
		{
			struct enum_ent types[8] = { 0 };

			for (i = 0; spec_fn_types[i] && i < 7; i++)
				types[i].name = spec_fn_types[i]->name;
			check_enum(get(fn, "properties.type"), types, "type");
		}
	}
	if (test__start_subtest("limits")) {
		check_max(get(root, "properties.spec.properties.attach"), "maxItems", SPEC_MAX_ATTACH, "attach");
		check_max(get(root, "properties.spec.properties.functions"), "maxItems", SPEC_MAX_FUNCTIONS, "functions");
		check_max(get(fn, "properties.rules"), "maxItems", SPEC_MAX_RULES, "rules");
		check_max(get(rule, "properties.src"), "maxItems", SPEC_MAX_PREFIXES_PER_RULE, "src");
		check_max(get(rule, "properties.dst"), "maxItems", SPEC_MAX_PREFIXES_PER_RULE, "dst");
		check_max(get(rule, "properties.srcPorts"), "maxItems", SPEC_MAX_PORTS_PER_RULE, "srcPorts");
		check_max(get(rule, "properties.dstPorts"), "maxItems", SPEC_MAX_PORTS_PER_RULE, "dstPorts");
		check_max(get(root, "properties.metadata.properties.name"), "maxLength", SPEC_MAX_NAME_LEN, "name");
		check_max(get(rule, "properties.id"), "maxLength", SPEC_MAX_RULE_ID_LEN, "id");
		check_max(get(attach, "properties.interface"), "maxLength", IF_NAMESIZE - 1, "interface");
	}
	if (test__start_subtest("patterns")) {
		check_pattern(get(root, "properties.metadata.properties.name"), label_yes, label_no, "name");
		check_pattern(get(fn, "properties.name"), label_yes, label_no, "function name");
		check_pattern(get(rule, "properties.id"), id_yes, id_no, "rule id");
		check_pattern(get(attach, "properties.interface"), ifname_yes, ifname_no, "interface");
		any = get(rule, "properties.dstPorts.items.anyOf");
		if (ASSERT_OK_PTR(any, "ports anyOf"))
			check_pattern(cJSON_GetArrayItem(any, 1), port_yes, port_no, "port");
		any = get(rule, "properties.proto.anyOf");
		if (ASSERT_OK_PTR(any, "proto anyOf")) {
			const cJSON *ps = cJSON_GetArrayItem(any, 1);

			/* every name and number the parser takes, and no other */
			check_pattern(ps, NULL, proto_no, "proto");
			for (i = 0; spec_proto_names[i].name; i++)
				ASSERT_TRUE(matches(get(ps, "pattern")->valuestring,
						    spec_proto_names[i].name), spec_proto_names[i].name);
			for (p = 1; p <= 255; p++) {
				snprintf(num, sizeof(num), "%d", p);
				if (!matches(get(ps, "pattern")->valuestring, num))
					ASSERT_TRUE(false, num);
			}
			ASSERT_TRUE(true, "proto numbers 1-255");
		}
	}
	if (test__start_subtest("openapi_subset")) {
		check_subset(root, false, &bad);
		ASSERT_EQ(bad, 0, "only OpenAPI v3 structural keywords");
	}
	cJSON_Delete((cJSON *)root);
}
