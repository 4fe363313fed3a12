// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply and diff: the two verbs that take a spec file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "history.h"
#include "attach.h"

static int parse_file_args(int argc, char **argv, const char **file, bool *dry_run)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{}
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': *file = optarg; break;
		case 'n':
			if (!dry_run)
				goto bad;
			*dry_run = true;
			break;
		default:
			goto bad;
		}
	}
	if (!*file || optind != argc)
		goto bad;
	return 0;
bad:
	out_error("usage: sluice %s -f FILE%s", argv[0], dry_run ? " [--dry-run]" : "");
	return -EINVAL;
}

static int load_spec(const char *file, struct spec **s)
{
	struct sl_errs errs = {};
	int err;

	err = spec_load_file(file, s, &errs);
	if (err) {
		char what[PATH_MAX + 32];

		snprintf(what, sizeof(what), "%s: invalid spec", file);
		cli_print_errs(what, &errs);
		err = err == -EINVAL ? -EINVAL : err;
		/* unreadable files are usage errors too */
		err = -EINVAL;
	}
	errs_free(&errs);
	return err;
}

int cmd_apply(int argc, char **argv)
{
	struct apply_opts ao = {};
	struct apply_result res;
	struct sl_errs errs = {};
	const char *file = NULL;
	struct spec *s = NULL;
	struct chain c;
	int err;

	err = parse_file_args(argc, argv, &file, &ao.dry_run);
	if (err)
		return SL_EXIT_INVALID;
	err = load_spec(file, &s);
	if (err)
		return cli_exit_for(err);
	if (cli.chain && strcmp(cli.chain, s->name)) {
		out_error("-c %s does not match the spec's metadata.name \"%s\"", cli.chain, s->name);
		spec_free(s);
		return SL_EXIT_INVALID;
	}
	err = chain_open(&c, &cli.chain_opts, s->name,
			 CHAIN_LOCK | CHAIN_CREATE | (attach_spec_is_tc(s) ? CHAIN_TC : 0));
	if (err) {
		if (err == -EWOULDBLOCK)
			out_error("chain \"%s\" is locked by another writer (sluice or sluiced)", s->name);
		else
			out_error("cannot open chain \"%s\": %s%s", s->name, strerror(-err),
				  err == -EINVAL || err == -EACCES || err == -E2BIG ?
				  " (the kernel refused the entry program: sluice -d apply shows"
				  " the verifier's log)" : "");
		spec_free(s);
		return err == -EINVAL ? SL_EXIT_RUNTIME : cli_exit_for(err);
	}
	err = gen_apply(&c, s, &ao, &res, &errs);
	if (err) {
		cli_print_errs(err == -EINVAL ? "invalid spec: nothing was changed"
					      : "apply failed: the live generation is unchanged",
			       &errs);
		goto out;
	}
	out_obj_begin(NULL);
	out_str("chain", "chain %s: ", s->name);
	if (res.unchanged)
		out_human("unchanged, ");
	else if (ao.dry_run)
		out_human("dry run OK, would be ");
	out_u64("generation", "generation %llu", res.gen);
	out_human(res.unchanged ? " is live with the same spec" :
		  ao.dry_run ? "" : " committed");
	out_u64("previous", res.prev ? " (previous %llu)" : NULL, res.prev);
	out_bool("unchanged", NULL, res.unchanged);
	out_bool("dry_run", NULL, ao.dry_run);
	out_str("sha256", "\n  sha256 %s", s->sha256);
	if (!res.unchanged) {
		out_u64("build_us", "\n  build %llu us", res.build_ns / 1000);
		if (!ao.dry_run)
			out_u64("commit_us", ", commit %llu us", res.commit_ns / 1000);
	}
	out_human("\n");
	out_obj_end();
	out_finish();
	if (errs.n) /* warnings after a successful commit */
		errs_print(&errs, stderr);
out:
	chain_close(&c);
	errs_free(&errs);
	spec_free(s);
	return cli_exit_for(err);
}

/* diff ----------------------------------------------------------------- */

static const cJSON *find_named(const cJSON *arr, const char *key, const char *name, int *idx)
{
	const cJSON *it;
	int i = 0;

	cJSON_ArrayForEach(it, arr) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, key);

		if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) {
			if (idx)
				*idx = i;
			return it;
		}
		i++;
	}
	return NULL;
}

static int nchanges;

static void change(const char *op, const char *kind, const char *fn, const char *id,
		   const char *detail)
{
	nchanges++;
	out_obj_begin(NULL);
	out_str("op", "%-8s", op);
	out_str("kind", " %-9s", kind);
	out_str("function", " %s", fn);
	if (id)
		out_str("id", "/%s", id);
	if (detail)
		out_str("detail", "  (%s)", detail);
	out_human("\n");
	out_obj_end();
}

static const cJSON *fn_rules(const cJSON *fn)
{
	return cJSON_GetObjectItemCaseSensitive(fn, "rules");
}

static void diff_rules(const char *fname, const cJSON *old_rules, const cJSON *new_rules)
{
	const cJSON *r, *o;
	int oi, last_oi = -1;

	cJSON_ArrayForEach(r, new_rules) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

		if (!cJSON_IsString(id))
			continue;
		o = find_named(old_rules, "id", id->valuestring, &oi);
		if (!o) {
			change("added", "rule", fname, id->valuestring, NULL);
			continue;
		}
		if (!cJSON_Compare(o, r, true))
			change("changed", "rule", fname, id->valuestring, NULL);
		/* Rules kept in both: a drop in old index means reordered. */
		if (oi < last_oi)
			change("moved", "rule", fname, id->valuestring, "first match order changed");
		else
			last_oi = oi;
	}
	cJSON_ArrayForEach(o, old_rules) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");

		if (cJSON_IsString(id) && !find_named(new_rules, "id", id->valuestring, NULL))
			change("removed", "rule", fname, id->valuestring, NULL);
	}
}

static bool fn_settings_equal(const cJSON *a, const cJSON *b)
{
	cJSON *x = cJSON_Duplicate(a, true), *y = cJSON_Duplicate(b, true);
	bool eq;

	cJSON_DeleteItemFromObjectCaseSensitive(x, "rules");
	cJSON_DeleteItemFromObjectCaseSensitive(y, "rules");
	eq = cJSON_Compare(x, y, true);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}

static void diff_specs(const cJSON *old_spec, const cJSON *new_spec)
{
	const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old_spec, "spec");
	const cJSON *nspec = cJSON_GetObjectItemCaseSensitive(new_spec, "spec");
	const cJSON *ofns = cJSON_GetObjectItemCaseSensitive(ospec, "functions");
	const cJSON *nfns = cJSON_GetObjectItemCaseSensitive(nspec, "functions");
	const cJSON *f, *o;
	int oi, last_oi = -1;

	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(ospec, "attach"),
			   cJSON_GetObjectItemCaseSensitive(nspec, "attach"), true))
		change("changed", "attach", "-", NULL, "attach points differ");
	cJSON_ArrayForEach(f, nfns) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");

		if (!cJSON_IsString(name))
			continue;
		o = find_named(ofns, "name", name->valuestring, &oi);
		if (!o) {
			change("added", "function", name->valuestring, NULL, NULL);
			continue;
		}
		if (oi < last_oi)
			change("moved", "function", name->valuestring, NULL, "chain order changed");
		else
			last_oi = oi;
		if (!fn_settings_equal(o, f))
			change("changed", "function", name->valuestring, NULL, "settings");
		diff_rules(name->valuestring, fn_rules(o), fn_rules(f));
	}
	cJSON_ArrayForEach(o, ofns) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");

		if (cJSON_IsString(name) && !find_named(nfns, "name", name->valuestring, NULL))
			change("removed", "function", name->valuestring, NULL, NULL);
	}
}

int cmd_diff(int argc, char **argv)
{
	const char *file = NULL;
	cJSON *olddoc_owned = NULL, *newdoc = NULL, *empty = NULL;
	const cJSON *olddoc;
	struct spec *s = NULL;
	struct chain c;
	bool have_chain;
	int err;

	if (parse_file_args(argc, argv, &file, NULL))
		return SL_EXIT_INVALID;
	err = load_spec(file, &s);
	if (err)
		return cli_exit_for(err);
	newdoc = cJSON_Parse(s->canonical);
	have_chain = chain_exists(&cli.chain_opts, s->name) &&
		     !chain_open(&c, &cli.chain_opts, s->name, 0);
	if (have_chain && c.live && !hist_spec_doc(&c.paths, c.live, &olddoc_owned)) {
		olddoc = olddoc_owned;
	} else {
		empty = cJSON_Parse("{\"spec\":{}}");
		olddoc = empty;
	}
	out_obj_begin(NULL);
	out_str("chain", "chain %s: ", s->name);
	out_u64("live_generation", "live generation %llu", have_chain ? c.live : 0);
	out_str("sha256", ", new spec sha256 %s\n", s->sha256);
	out_arr_begin("changes");
	nchanges = 0;
	diff_specs(olddoc, newdoc);
	out_arr_end();
	out_u64("count", "%llu changes\n", nchanges);
	out_obj_end();
	out_finish();
	if (have_chain)
		chain_close(&c);
	cJSON_Delete(olddoc_owned);
	cJSON_Delete(empty);
	cJSON_Delete(newdoc);
	spec_free(s);
	return SL_EXIT_OK;
}
