// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "strmap.h"

struct strmap_ent {
	char *key; /* NULL: empty */
	uint32_t val;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

int strmap_init(struct strmap *m, size_t expect)
{
	size_t cap = 16;

	while (cap < 2 * expect)
		cap <<= 1;
	m->ent = calloc(cap, sizeof(*m->ent));
	m->mask = cap - 1;
	m->n = 0;
	return m->ent ? 0 : -ENOMEM;
}

static struct strmap_ent *slot(const struct strmap *m, const char *key)
{
	size_t h = (size_t)fnv1a(key) & m->mask;

	while (m->ent[h].key && strcmp(m->ent[h].key, key))
		h = (h + 1) & m->mask;
	return &m->ent[h];
}

static int grow(struct strmap *m)
{
	struct strmap old = *m;
	size_t i;

	m->ent = calloc((old.mask + 1) * 2, sizeof(*m->ent));
	if (!m->ent) {
		*m = old;
		return -ENOMEM;
	}
	m->mask = old.mask * 2 + 1;
	for (i = 0; i <= old.mask; i++)
		if (old.ent[i].key)
			*slot(m, old.ent[i].key) = old.ent[i];
	free(old.ent);
	return 0;
}

int strmap_put(struct strmap *m, const char *key, uint32_t val)
{
	struct strmap_ent *e;

	if (2 * (m->n + 1) > m->mask + 1 && grow(m))
		return -ENOMEM;
	e = slot(m, key);
	if (!e->key) {
		e->key = strdup(key);
		if (!e->key)
			return -ENOMEM;
		m->n++;
	}
	e->val = val;
	return 0;
}

int strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
	const struct strmap_ent *e = slot(m, key);

	if (!e->key)
		return -ENOENT;
	*val = e->val;
	return 0;
}

void strmap_free(struct strmap *m)
{
	size_t i;

	for (i = 0; m->ent && i <= m->mask; i++)
		free(m->ent[i].key);
	free(m->ent);
	m->ent = NULL;
	m->n = 0;
}
