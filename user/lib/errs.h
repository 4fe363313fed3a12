/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A list of user-facing errors, each with the JSON path of the field it is
 * about: validation reports all of them, not only the first. */
#ifndef SLUICE_ERRS_H
#define SLUICE_ERRS_H

#include <stddef.h>

struct sl_err {
	char *path; /* "spec.functions[1].rules[3].dst[0]", or "" */
	char *msg;  /* "\"10.0.0.0/33\" is not a valid prefix" */
};

struct sl_errs {
	struct sl_err *v;
	size_t n, cap;
	size_t max;	 /* stop recording after this many (0: 1000) */
	size_t dropped;	 /* errors beyond max, counted only */
};

/* Record an error; path may be NULL. Never fails (drops on ENOMEM). */
void errs_add(struct sl_errs *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void errs_free(struct sl_errs *e);
/* "path: msg" lines to f. */
void errs_print(const struct sl_errs *e, void *file);

#endif
