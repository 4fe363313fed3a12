// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli.h"

int cli_exit_for(int err)
{
	switch (err) {
	case 0:
		return SL_EXIT_OK;
	case -EINVAL:
		return SL_EXIT_INVALID;
	case -EWOULDBLOCK:
		return SL_EXIT_LOCKED;
	case -ENOENT:
		return SL_EXIT_NOT_FOUND;
	default:
		return SL_EXIT_RUNTIME;
	}
}

int cli_chain_name(char *name, size_t len)
{
	int err;

	if (cli.chain) {
		snprintf(name, len, "%s", cli.chain);
		if (!chain_exists(&cli.chain_opts, name)) {
			out_error("chain \"%s\" not found under %s", name,
				  cli.chain_opts.pin_root ?: SL_DEFAULT_PIN_ROOT);
			return -ENOENT;
		}
		return 0;
	}
	err = chain_find_only(&cli.chain_opts, name, len);
	if (err == -ENOENT)
		out_error("no chain under %s; apply a spec first",
			  cli.chain_opts.pin_root ?: SL_DEFAULT_PIN_ROOT);
	else if (err == -E2BIG)
		out_error("several chains under %s: name one with -c NAME",
			  cli.chain_opts.pin_root ?: SL_DEFAULT_PIN_ROOT);
	return err == -E2BIG ? -EINVAL : err;
}

int cli_chain_open(struct chain *c, unsigned int flags)
{
	char name[64];
	int err;

	err = cli_chain_name(name, sizeof(name));
	if (err)
		return err;
	err = chain_open(c, &cli.chain_opts, name, flags);
	if (err == -EWOULDBLOCK)
		out_error("chain \"%s\" is locked by another writer (sluice or sluiced)", name);
	else if (err)
		out_error("cannot open chain \"%s\": %s", name, strerror(-err));
	return err;
}

void cli_print_errs(const char *what, const struct sl_errs *errs)
{
	size_t i;

	if (out_is_json()) {
		cJSON *o = cJSON_CreateObject(), *arr;
		char *s;

		cJSON_AddStringToObject(o, "error", what);
		arr = cJSON_AddArrayToObject(o, "errors");
		for (i = 0; i < errs->n; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "path", errs->v[i].path);
			cJSON_AddStringToObject(e, "message", errs->v[i].msg);
			cJSON_AddItemToArray(arr, e);
		}
		if (errs->dropped)
			cJSON_AddNumberToObject(o, "more_errors", errs->dropped);
		s = cJSON_PrintUnformatted(o);
		if (s)
			puts(s);
		cJSON_free(s);
		cJSON_Delete(o);
		return;
	}
	fprintf(stderr, "sluice: %s\n", what);
	for (i = 0; i < errs->n; i++) {
		if (errs->v[i].path[0])
			fprintf(stderr, "  %s: %s\n", errs->v[i].path, errs->v[i].msg);
		else
			fprintf(stderr, "  %s\n", errs->v[i].msg);
	}
	if (errs->dropped)
		fprintf(stderr, "  ... and %zu more errors\n", errs->dropped);
}
