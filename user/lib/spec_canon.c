// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The canonical form of a spec: byte for byte what cJSON_PrintUnformatted()
 * prints for the parsed document, without its per-number sprintf+sscanf
 * round trip (a 100k-rule spec spent ~45 ms there). Integers take a fast
 * path whose digits every cJSON version prints alike; any other number is
 * printed by cJSON itself. Tests compare the two on the whole corpus. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "spec_int.h"

struct obuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static inline __attribute__((always_inline)) bool ob_room(struct obuf *b, size_t n)
{
	size_t cap;
	char *np;

	if (__builtin_expect(b->len + n + 1 <= b->cap, 1))
		return true;
	if (b->oom)
		return false;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = cap;
	return true;
}

static inline __attribute__((always_inline)) void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (!ob_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline __attribute__((always_inline)) void ob_ch(struct obuf *b, char ch)
{
	if (!ob_room(b, 1))
		return;
	b->p[b->len++] = ch;
}

/* cJSON's print_string_ptr(). */
static void put_string(struct obuf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	const unsigned char *run;

	ob_ch(b, '"');
	while (*s) {
		run = s;
		while (*s > 31 && *s != '"' && *s != '\\')
			s++;
		ob_put(b, (const char *)run, (size_t)(s - run));
		if (!*s)
			break;
		ob_ch(b, '\\');
		switch (*s) {
		case '\\': ob_ch(b, '\\'); break;
		case '"': ob_ch(b, '"'); break;
		case '\b': ob_ch(b, 'b'); break;
		case '\f': ob_ch(b, 'f'); break;
		case '\n': ob_ch(b, 'n'); break;
		case '\r': ob_ch(b, 'r'); break;
		case '\t': ob_ch(b, 't'); break;
		default: {
			char u[5] = { 'u', '0', '0', hex[*s >> 4], hex[*s & 15] };

			ob_put(b, u, 5);
		}
		}
		s++;
	}
	ob_ch(b, '"');
}

static void put_number(struct obuf *b, const cJSON *v)
{
	double d = v->valuedouble;
	char tmp[64], *p = tmp + sizeof(tmp);
	unsigned long u;

	if (d == floor(d) && fabs(d) <= 2147483647.0 && !(d == 0 && signbit(d))) {
		u = (unsigned long)fabs(d);
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (d < 0)
			*--p = '-';
		ob_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
		return;
	}
	if (!cJSON_PrintPreallocated((cJSON *)v, tmp, (int)sizeof(tmp), 0)) {
		b->oom = true;
		return;
	}
	ob_put(b, tmp, strlen(tmp));
}

static void put_value(struct obuf *b, const cJSON *v)
{
	const cJSON *it;

	switch (v->type & 0xff) {
	case cJSON_NULL:
		ob_put(b, "null", 4);
		break;
	case cJSON_False:
		ob_put(b, "false", 5);
		break;
	case cJSON_True:
		ob_put(b, "true", 4);
		break;
	case cJSON_Number:
		put_number(b, v);
		break;
	case cJSON_String:
		put_string(b, v->valuestring);
		break;
	case cJSON_Array:
		ob_ch(b, '[');
		for (it = v->child; it; it = it->next) {
			put_value(b, it);
			if (it->next)
				ob_ch(b, ',');
		}
		ob_ch(b, ']');
		break;
	case cJSON_Object:
		ob_ch(b, '{');
		for (it = v->child; it; it = it->next) {
			put_string(b, it->string);
			ob_ch(b, ':');
			put_value(b, it);
			if (it->next)
				ob_ch(b, ',');
		}
		ob_ch(b, '}');
		break;
	default: /* cJSON_Raw and others never come out of the parser */
		b->oom = true;
	}
}

char *spec_canonical(const cJSON *root, size_t hint, size_t *len)
{
	struct obuf b = { 0 };

	/* Depth is bounded by the prescan (SPEC_MAX_DEPTH): the recursion
	 * is too. */
	if (hint && !ob_room(&b, hint))
		return NULL;
	put_value(&b, root);
	if (b.oom || !ob_room(&b, 0)) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	if (b.cap > b.len + 1 + 4096) {
		char *np = realloc(b.p, b.len + 1);

		if (np)
			b.p = np;
	}
	if (len)
		*len = b.len;
	return b.p;
}
