// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The spec corpus: every selftests/specs/good/ and examples/ (*.json but
 * *.cases.json)
 * parses; every selftests/specs/bad/NAME.json fails with exactly the errors
 * of NAME.expect, one "path: message substring" a line (path empty for
 * errors about the whole document; '#' starts a comment). Also the limits
 * that need generated input (sizes, counts) and file errors. */
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "test_progs.h"
#include "spec.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending with suffix; returns count, -1 on error. */
static int list_dir(const char *dir, const char *suffix, char ***out)
{
	size_t n = 0, cap = 0, sl = strlen(suffix);
	char **v = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= sl || strcmp(de->d_name + l - sl, suffix))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return (int)n;
}

static void free_list(char **v, int n)
{
	while (n-- > 0)
		free(v[n]);
	free(v);
}

static void check_good_dir(const char *rel, int min)
{
	char dir[512], path[1024], **names = NULL;
	struct sl_errs errs = { 0 };
	struct spec *s;
	int n, i, err;

	snprintf(dir, sizeof(dir), "%s", test__src_path(rel));
	n = list_dir(dir, ".json", &names);
	if (!ASSERT_GE(n, min, dir))
		return;
	for (i = 0; i < n; i++) {
		/* NAME.cases.json are the `sluice test` cases of NAME.json,
		 * exercised by the spectest test. */
		if (strstr(names[i], ".cases.json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		err = spec_load_file(path, &s, &errs);
		if (!ASSERT_OK(err, names[i]))
			errs_print(&errs, stdout);
		else
			ASSERT_EQ(strlen(s->sha256), 64, "sha256 set");
		ASSERT_EQ(errs.n, 0, "no errors");
		spec_free(s);
		errs_free(&errs);
	}
	free_list(names, n);
}

struct expect {
	char *path, *msg;
};

static int read_expect(const char *file, struct expect *ex, int max)
{
	char line[1024], *sep, *nl;
	FILE *f = fopen(file, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		sep = strstr(line, ": ");
		if (!sep)
			continue;
		*sep = '\0';
		ex[n].path = strdup(line);
		ex[n].msg = strdup(sep + 2);
		n++;
	}
	fclose(f);
	return n;
}

static void check_bad_case(const char *dir, const char *name)
{
	char path[1024], label[256];
	struct sl_errs errs = { 0 };
	struct expect ex[64];
	struct spec *s = NULL;
	int nex, i, err;
	size_t j;

	snprintf(path, sizeof(path), "%s/%.*s.expect", dir,
		 (int)(strlen(name) - 5), name);
	nex = read_expect(path, ex, 64);
	if (!ASSERT_GT(nex, 0, path))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err = spec_load_file(path, &s, &errs);
	ASSERT_ERR(err, name);
	ASSERT_TRUE(s == NULL, "no spec on failure");
	snprintf(label, sizeof(label), "%s: number of errors", name);
	if (!ASSERT_EQ(errs.n, nex, label))
		errs_print(&errs, stdout);
	for (i = 0; i < nex; i++) {
		for (j = 0; j < errs.n; j++)
			if (!strcmp(errs.v[j].path, ex[i].path) &&
			    strstr(errs.v[j].msg, ex[i].msg))
				break;
		snprintf(label, sizeof(label), "%s: error \"%s: %s\"", name,
			 ex[i].path, ex[i].msg);
		if (!ASSERT_LT(j, errs.n, label))
			errs_print(&errs, stdout);
		free(ex[i].path);
		free(ex[i].msg);
	}
	spec_free(s);
	errs_free(&errs);
}

/* A valid envelope around rules text, malloc'd. */
static char *doc_with_rules(const char *rules)
{
	char *d = NULL;

	if (asprintf(&d, "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
			 "\"metadata\":{\"name\":\"t\"},\"spec\":{\"attach\":[{\"interface\":\"eth0\","
			 "\"hook\":\"xdp\"}],\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\","
			 "\"defaultAction\":\"deny\",\"rules\":[%s]}]}}", rules) < 0)
		return NULL;
	return d;
}

/* A growing string. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n);
}

static bool has_error(const struct sl_errs *e, const char *path, const char *msg)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].path, path) && strstr(e->v[i].msg, msg))
			return true;
	errs_print(e, stdout);
	return false;
}

/* rules with one list of n entries; fmt makes entry i. */
static char *rule_with_list(size_t nrules, const char *key, size_t n, const char *proto)
{
	struct sbuf b = { 0 };
	size_t r, i;
	char *d;

	for (r = 0; r < nrules; r++) {
		sb_printf(&b, "%s{\"id\":\"r%zu\",\"action\":\"allow\",%s\"%s\":[", r ? "," : "",
			  r, proto ? proto : "", key);
		for (i = 0; i < n; i++) {
			if (!strcmp(key, "dstPorts"))
				sb_printf(&b, "%s%zu", i ? "," : "", i);
			else
				sb_printf(&b, "%s\"10.%zu.%zu.%zu\"", i ? "," : "",
					  (r >> 8) & 255, r & 255, i & 255);
		}
		sb_add(&b, "]}", 2);
	}
	d = doc_with_rules(b.p ? b.p : "");
	free(b.p);
	return d;
}

void test_spec_corpus(void)
{
	char dir[512], **names = NULL;
	int n, i, nbad = 0;

	if (test__start_subtest("good")) {
		check_good_dir("selftests/specs/good", 3);
		check_good_dir("examples", 1);
	}
	if (test__start_subtest("bad")) {
		snprintf(dir, sizeof(dir), "%s", test__src_path("selftests/specs/bad"));
		n = list_dir(dir, ".json", &names);
		for (i = 0; i < n; i++, nbad++)
			check_bad_case(dir, names[i]);
		/* The brief asks for a hostile corpus of at least 40 cases. */
		ASSERT_GE(nbad, 40, "bad corpus size");
		free_list(names, n);
	}
}

void test_spec_limits(void)
{
	char tmpl[] = "/tmp/spec_limits.XXXXXX", path[512];
	struct sl_errs errs = { 0 };
	struct spec *s = NULL;
	char *doc;
	int fd, err;

	if (!ASSERT_OK_PTR(mkdtemp(tmpl), "mkdtemp"))
		return;

	if (test__start_subtest("file_too_big")) {
		/* Sparse: 64 MiB + 1 costs no disk, and the size check must
		 * come before reading it. */
		snprintf(path, sizeof(path), "%s/big.json", tmpl);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (ASSERT_GE(fd, 0, "create big file")) {
			ASSERT_OK(ftruncate(fd, (off_t)SPEC_MAX_FILE_BYTES + 1), "ftruncate");
			close(fd);
		}
		err = spec_load_file(path, &s, &errs);
		ASSERT_EQ(err, -EFBIG, "big file rejected");
		ASSERT_TRUE(s == NULL, "no spec");
		ASSERT_TRUE(has_error(&errs, "", "more than the limit of 67108864"), "size message");
		errs_free(&errs);
		unlink(path);
		/* Same limit through spec_parse: the length alone decides, the
		 * buffer is never read. */
		err = spec_parse("", (size_t)SPEC_MAX_FILE_BYTES + 1, &s, &errs);
		ASSERT_EQ(err, -EFBIG, "spec_parse length limit");
		ASSERT_TRUE(has_error(&errs, "", "more than the limit"), "parse size message");
		errs_free(&errs);
	}
	if (test__start_subtest("stream_too_big")) {
		/* Not a regular file: read, bounded, then refused. */
		err = spec_load_file("/dev/zero", &s, &errs);
		ASSERT_EQ(err, -EFBIG, "/dev/zero");
		ASSERT_TRUE(has_error(&errs, "", "/dev/zero is more than 67108864 bytes"),
			    "stream message");
		errs_free(&errs);
	}
	if (test__start_subtest("file_errors")) {
		snprintf(path, sizeof(path), "%s/missing.json", tmpl);
		err = spec_load_file(path, &s, &errs);
		ASSERT_EQ(err, -ENOENT, "missing file");
		ASSERT_EQ(errs.n, 1, "one error");
		if (errs.n) {
			char want[600];

			snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path);
			ASSERT_STREQ(errs.v[0].msg, want, "missing file message");
		}
		errs_free(&errs);
		err = spec_load_file(tmpl, &s, &errs);
		ASSERT_EQ(err, -EISDIR, "directory");
		ASSERT_TRUE(has_error(&errs, "", ": Is a directory"), "directory message");
		errs_free(&errs);
		/* A NULL errs is allowed: the caller only wants the verdict. */
		ASSERT_EQ(spec_load_file(path, &s, NULL), -ENOENT, "NULL errs");
		ASSERT_EQ(spec_parse("{", 1, &s, NULL), -EINVAL, "NULL errs parse");
	}
	if (test__start_subtest("too_many_rules")) {
		struct sbuf b = { 0 };
		size_t i;

		for (i = 0; i <= SPEC_MAX_RULES; i++)
			sb_printf(&b, "%s{\"id\":\"r%zu\",\"action\":\"deny\"}", i ? "," : "", i);
		doc = doc_with_rules(b.p);
		free(b.p);
		err = spec_parse(doc, strlen(doc), &s, &errs);
		ASSERT_EQ(err, -EINVAL, "100001 rules");
		ASSERT_EQ(errs.n, 1, "one error, not one per rule");
		ASSERT_TRUE(has_error(&errs, "spec.functions[0].rules",
				      "has 100001 entries, more than the limit of 100000"),
			    "rules limit message");
		errs_free(&errs);
		free(doc);
	}
	if (test__start_subtest("prefixes_per_rule")) {
		doc = rule_with_list(1, "src", SPEC_MAX_PREFIXES_PER_RULE + 1, NULL);
		err = spec_parse(doc, strlen(doc), &s, &errs);
		ASSERT_EQ(err, -EINVAL, "4097 prefixes");
		ASSERT_EQ(errs.n, 1, "one error");
		ASSERT_TRUE(has_error(&errs, "spec.functions[0].rules[0].src",
				      "has 4097 prefixes: src and dst together may hold at most 4096"),
			    "prefix limit message");
		errs_free(&errs);
		free(doc);
		doc = rule_with_list(1, "src", SPEC_MAX_PREFIXES_PER_RULE, NULL);
		err = spec_parse(doc, strlen(doc), &s, &errs);
		if (ASSERT_OK(err, "4096 prefixes"))
			ASSERT_EQ(s->fns[0].fw.rules[0].nsrc, SPEC_MAX_PREFIXES_PER_RULE, "nsrc");
		spec_free(s);
		errs_free(&errs);
		free(doc);
	}
	if (test__start_subtest("prefixes_per_function")) {
		size_t nrules = SPEC_MAX_PREFIXES / SPEC_MAX_PREFIXES_PER_RULE + 1;

		doc = rule_with_list(nrules, "src", SPEC_MAX_PREFIXES_PER_RULE, NULL);
		err = spec_parse(doc, strlen(doc), &s, &errs);
		ASSERT_EQ(err, -EINVAL, "over 1M prefixes");
		ASSERT_EQ(errs.n, 1, "reported once");
		ASSERT_TRUE(has_error(&errs, "spec.functions[0].rules[244].src",
				      "more than 1000000 prefixes in all"),
			    "function prefix limit message");
		errs_free(&errs);
		free(doc);
	}
	if (test__start_subtest("ports_per_rule")) {
		doc = rule_with_list(1, "dstPorts", SPEC_MAX_PORTS_PER_RULE + 1, "\"proto\":\"tcp\",");
		err = spec_parse(doc, strlen(doc), &s, &errs);
		ASSERT_EQ(err, -EINVAL, "1025 ports");
		ASSERT_EQ(errs.n, 1, "one error");
		ASSERT_TRUE(has_error(&errs, "spec.functions[0].rules[0].dstPorts",
				      "has 1025 entries: srcPorts and dstPorts together may hold at most 1024"),
			    "port limit message");
		errs_free(&errs);
		free(doc);
	}
	if (test__start_subtest("error_cap")) {
		/* 3000 bad prefixes with max = 10: 10 kept, the rest counted. */
		struct sbuf b = { 0 };
		size_t i;

		sb_add(&b, "{\"id\":\"r\",\"action\":\"allow\",\"dst\":[", 34);
		for (i = 0; i < 3000; i++)
			sb_printf(&b, "%s\"10.0.0.0/33\"", i ? "," : "");
		sb_add(&b, "]}", 2);
		doc = doc_with_rules(b.p);
		free(b.p);
		errs.max = 10;
		err = spec_parse(doc, strlen(doc), &s, &errs);
		ASSERT_EQ(err, -EINVAL, "invalid");
		ASSERT_EQ(errs.n, 10, "kept");
		ASSERT_EQ(errs.dropped, 2990, "counted");
		errs_free(&errs);
		free(doc);
	}
	if (test__start_subtest("depth_limit_exact")) {
		/* 16 levels parse (as far as depth goes), 17 do not. */
		char d16[64], d17[64];

		snprintf(d16, sizeof(d16), "%.16s%.16s", "[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]");
		snprintf(d17, sizeof(d17), "%.17s%.17s", "[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]");
		spec_parse(d16, strlen(d16), &s, &errs);
		ASSERT_TRUE(has_error(&errs, "", "must be a JSON object"), "16 levels reach cJSON");
		errs_free(&errs);
		spec_parse(d17, strlen(d17), &s, &errs);
		ASSERT_TRUE(has_error(&errs, "", "nesting deeper than 16 levels at line 1, column 17"),
			    "17 levels stop before cJSON");
		errs_free(&errs);
		/* Brackets inside strings do not count. */
		doc = doc_with_rules("{\"id\":\"r\",\"action\":\"allow\"}");
		{
			char *d2 = NULL;

			ASSERT_GT(asprintf(&d2, "%.*s,\"labels\":{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[\"}%s",
					   (int)(strstr(doc, "}") - doc), doc, strstr(doc, "}")), 0, "asprintf");
			/* metadata object: {"name":"t","labels":{...}} */
			err = spec_parse(d2, strlen(d2), &s, &errs);
			if (!ASSERT_OK(err, "brackets in strings"))
				errs_print(&errs, stdout);
			spec_free(s);
			errs_free(&errs);
			free(d2);
		}
		free(doc);
	}
	if (test__start_subtest("not_nul_terminated")) {
		/* spec_parse must not read past len. */
		const char *full = "{\"apiVersion\":\"sluice.dev/v1alpha1\"}";

		err = spec_parse(full, 10, &s, &errs);
		ASSERT_EQ(err, -EINVAL, "cut document");
		ASSERT_TRUE(has_error(&errs, "", "invalid JSON"), "cut message");
		errs_free(&errs);
	}
	rmdir(tmpl);
}
