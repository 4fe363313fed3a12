// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errs.h"

void errs_add(struct sl_errs *e, const char *path, const char *fmt, ...)
{
	size_t max = e->max ? e->max : 1000;
	char *msg = NULL;
	va_list ap;

	if (e->n >= max) {
		e->dropped++;
		return;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct sl_err *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return;
		e->v = v;
		e->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	e->v[e->n].path = strdup(path ? path : "");
	e->v[e->n].msg = msg;
	e->n++;
}

void errs_free(struct sl_errs *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].path);
		free(e->v[i].msg);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void errs_print(const struct sl_errs *e, void *file)
{
	FILE *f = file;
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i].path[0])
			fprintf(f, "%s: %s\n", e->v[i].path, e->v[i].msg);
		else
			fprintf(f, "%s\n", e->v[i].msg);
	}
	if (e->dropped)
		fprintf(f, "... and %zu more errors\n", e->dropped);
}
