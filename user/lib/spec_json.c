// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON access for the spec parser: paths, errors, typed getters and the
 * unknown-key check (spec_int.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spec_int.h"

static void path_append(struct pctx *c, const char *s, size_t n)
{
	size_t room = sizeof(c->path) - 1 - c->plen;

	if (n > room)
		n = room;
	memcpy(c->path + c->plen, s, n);
	c->plen += n;
	c->path[c->plen] = '\0';
}

static bool is_ident(const char *k)
{
	const char *p;

	if (!*k)
		return false;
	for (p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

size_t path_key(struct pctx *c, const char *key)
{
	size_t mark = c->plen;
	const char *qk;

	if (is_ident(key) && strlen(key) <= SPEC_QUOTE_MAX) {
		if (c->plen)
			path_append(c, ".", 1);
		path_append(c, key, strlen(key));
	} else {
		qk = q(c, key);
		path_append(c, "[", 1);
		path_append(c, qk, strlen(qk));
		path_append(c, "]", 1);
	}
	return mark;
}

size_t path_idx(struct pctx *c, size_t i)
{
	size_t mark = c->plen;
	char tmp[24], *p = tmp + sizeof(tmp);

	/* Called for every rule and list entry: no snprintf. */
	*--p = ']';
	do {
		*--p = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	*--p = '[';
	path_append(c, p, (size_t)(tmp + sizeof(tmp) - p));
	return mark;
}

static void verr(struct pctx *c, const char *fmt, va_list ap)
{
	char *msg = NULL;

	c->nerr++;
	if (!c->errs)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	errs_add(c->errs, c->path, "%s", msg);
	free(msg);
}

void perr(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, fmt, ap);
	va_end(ap);
}

void perr_at(struct pctx *c, const char *key, const char *fmt, ...)
{
	size_t m = path_key(c, key);
	va_list ap;

	va_start(ap, fmt);
	verr(c, fmt, ap);
	va_end(ap);
	path_pop(c, m);
}

const char *q(struct pctx *c, const char *s)
{
	char *b = c->qbuf[c->qi++ % 4], *o = b;
	static const char hex[] = "0123456789abcdef";
	size_t i;

	*o++ = '"';
	for (i = 0; s[i] && i < SPEC_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		} else {
			*o++ = (char)ch;
		}
	}
	*o++ = '"';
	if (s[i]) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return b;
}

const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid";
}

/* Optimal string alignment distance, ASCII case folded, capped at 3. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int d[3][65];
	int *p2 = d[0], *p1 = d[1], *cur = d[2], *t;

	if (la > 64 || lb > 64)
		return 3;
	if ((la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (j = 0; j <= lb; j++)
		p1[j] = (int)j;
	for (i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int cost = ca != cb;
			int v = p1[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (p1[j - 1] + cost < v)
				v = p1[j - 1] + cost;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && p2[j - 2] + 1 < v)
				v = p2[j - 2] + 1;
			cur[j] = v;
		}
		t = p2;
		p2 = p1;
		p1 = cur;
		cur = t;
	}
	return p1[lb] < 3 ? p1[lb] : 3;
}

const char *closest_key(const char *key, const char *const keys[])
{
	const char *best = NULL;
	int bestd = 3, d;
	size_t i;

	for (i = 0; keys[i]; i++) {
		d = edit_distance(key, keys[i]);
		if (d < bestd) {
			bestd = d;
			best = keys[i];
		}
	}
	return best;
}

const char *closest_enum(const char *s, const struct enum_ent *tbl)
{
	const char *best = NULL;
	int bestd = 3, d;
	size_t i;

	for (i = 0; tbl[i].name; i++) {
		d = edit_distance(s, tbl[i].name);
		if (d < bestd) {
			bestd = d;
			best = tbl[i].name;
		}
	}
	return best;
}

static void unknown_key(struct pctx *c, const char *key, const char *const keys[])
{
	const char *near = closest_key(key, keys);
	char known[512];
	size_t i, off = 0;
	size_t m;

	m = path_key(c, key);
	if (near) {
		perr(c, "unknown field %s (did you mean \"%s\"?)", q(c, key), near);
	} else {
		known[0] = '\0';
		for (i = 0; keys[i] && off < sizeof(known); i++)
			off += (size_t)snprintf(known + off, sizeof(known) - off,
						"%s%s", i ? ", " : "", keys[i]);
		perr(c, "unknown field %s (known fields: %s)", q(c, key), known);
	}
	path_pop(c, m);
}

bool obj_fields(struct pctx *c, const cJSON *obj, const char *const keys[],
		const cJSON *val[])
{
	const cJSON *it;
	size_t i;

	for (i = 0; keys[i]; i++)
		val[i] = NULL;
	if (!cJSON_IsObject(obj)) {
		perr(c, "expected an object, got %s", json_type_name(obj));
		return false;
	}
	for (it = obj->child; it; it = it->next) {
		const char *k = it->string ? it->string : "";

		for (i = 0; keys[i]; i++)
			if (!strcmp(k, keys[i]))
				break;
		if (!keys[i]) {
			unknown_key(c, k, keys);
		} else if (val[i]) {
			size_t m = path_key(c, k);

			perr(c, "duplicate field %s: a key may appear only once in an object",
			     q(c, k));
			path_pop(c, m);
		} else {
			val[i] = it;
		}
	}
	return true;
}

bool require(struct pctx *c, const char *key, const cJSON *v)
{
	if (v)
		return true;
	perr_at(c, key, "required field is missing");
	return false;
}

static size_t enter(struct pctx *c, const char *key)
{
	return key ? path_key(c, key) : c->plen;
}

bool get_string(struct pctx *c, const char *key, const cJSON *v, const char **out)
{
	size_t m;

	if (cJSON_IsString(v) && v->valuestring) {
		*out = v->valuestring;
		return true;
	}
	m = enter(c, key);
	perr(c, "expected a string, got %s", json_type_name(v));
	path_pop(c, m);
	return false;
}

bool get_bool(struct pctx *c, const char *key, const cJSON *v, bool *out)
{
	size_t m;

	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return true;
	}
	m = enter(c, key);
	perr(c, "expected a boolean (true or false), got %s", json_type_name(v));
	path_pop(c, m);
	return false;
}

bool get_int(struct pctx *c, const char *key, const cJSON *v, long min, long max,
	     long *out)
{
	size_t m;
	double d;

	m = enter(c, key);
	if (!cJSON_IsNumber(v)) {
		perr(c, "expected an integer, got %s", json_type_name(v));
		goto fail;
	}
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d)) {
		perr(c, "expected an integer, got %g", d);
		goto fail;
	}
	if (d < (double)min || d > (double)max) {
		perr(c, "%.0f is out of range %ld..%ld", d, min, max);
		goto fail;
	}
	*out = (long)d;
	path_pop(c, m);
	return true;
fail:
	path_pop(c, m);
	return false;
}

bool get_array(struct pctx *c, const char *key, const cJSON *v, size_t min,
	       size_t max, size_t *n)
{
	const cJSON *it;
	size_t cnt = 0, m;

	m = enter(c, key);
	if (!cJSON_IsArray(v)) {
		perr(c, "expected an array, got %s", json_type_name(v));
		goto fail;
	}
	for (it = v->child; it; it = it->next)
		cnt++;
	if (cnt > max) {
		perr(c, "has %zu entries, more than the limit of %zu", cnt, max);
		goto fail;
	}
	if (cnt < min) {
		if (!cnt)
			perr(c, "must not be empty");
		else
			perr(c, "has %zu entries, needs at least %zu", cnt, min);
		goto fail;
	}
	*n = cnt;
	path_pop(c, m);
	return true;
fail:
	path_pop(c, m);
	return false;
}

bool get_enum(struct pctx *c, const char *key, const cJSON *v,
	      const struct enum_ent *tbl, int *out)
{
	char names[256];
	const char *s, *near;
	size_t i, off = 0, m;

	if (!get_string(c, key, v, &s))
		return false;
	for (i = 0; tbl[i].name; i++) {
		if (!strcmp(s, tbl[i].name)) {
			*out = tbl[i].val;
			return true;
		}
	}
	names[0] = '\0';
	for (i = 0; tbl[i].name && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s\"%s\"",
					i ? ", " : "", tbl[i].name);
	m = enter(c, key);
	near = closest_enum(s, tbl);
	if (near)
		perr(c, "%s is not one of %s (did you mean \"%s\"?)", q(c, s), names, near);
	else
		perr(c, "%s is not one of %s", q(c, s), names);
	path_pop(c, m);
	return false;
}

const char *dns_label_why(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > SPEC_MAX_NAME_LEN)
		return "must be 1-63 characters (a DNS label)";
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return "may contain only lowercase letters, digits and '-' (a DNS label)";
	if (s[0] == '-' || s[n - 1] == '-')
		return "must start and end with a lowercase letter or digit (a DNS label)";
	return NULL;
}
