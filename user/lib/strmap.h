/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A string -> uint32_t map (open addressing, FNV-1a), for lookups by rule
 * id where a 100k-member cJSON object would be searched linearly. Keys are
 * copied. */
#ifndef SLUICE_STRMAP_H
#define SLUICE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap {
	struct strmap_ent *ent;
	size_t mask, n;
};

int strmap_init(struct strmap *m, size_t expect);
/* Insert or replace. */
int strmap_put(struct strmap *m, const char *key, uint32_t val);
/* 0 and *val, or -ENOENT. */
int strmap_get(const struct strmap *m, const char *key, uint32_t *val);
void strmap_free(struct strmap *m);

#endif
