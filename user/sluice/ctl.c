// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rollback and detach: writers without a spec file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_rollback(int argc, char **argv)
{
	struct sl_errs errs = {};
	struct apply_result res;
	unsigned long gen = 0;
	struct chain c;
	char *end;
	int err;

	if (argc > 2) {
		out_error("usage: sluice rollback [GENERATION]");
		return SL_EXIT_INVALID;
	}
	if (argc == 2) {
		errno = 0;
		gen = strtoul(argv[1], &end, 10);
		if (errno || *end || !gen || gen > UINT32_MAX) {
			out_error("rollback: \"%s\" is not a generation number", argv[1]);
			return SL_EXIT_INVALID;
		}
	}
	err = cli_chain_open(&c, CHAIN_LOCK);
	if (err)
		return cli_exit_for(err);
	err = gen_rollback(&c, (uint32_t)gen, &res, &errs);
	if (err) {
		cli_print_errs("rollback failed: the live generation is unchanged", &errs);
	} else {
		out_obj_begin(NULL);
		out_str("chain", "chain %s: ", c.name);
		out_u64("generation", "generation %llu is live", res.gen);
		out_u64("previous", " (previous %llu)", res.prev);
		out_bool("unchanged", NULL, res.unchanged);
		out_u64("commit_us", ", switch %llu us\n", res.commit_ns / 1000);
		out_obj_end();
		out_finish();
	}
	chain_close(&c);
	errs_free(&errs);
	return cli_exit_for(err);
}

int cmd_detach(int argc, char **argv)
{
	struct chain c;
	int err;

	if (argc > 1) {
		out_error("usage: sluice detach");
		return SL_EXIT_INVALID;
	}
	err = cli_chain_open(&c, CHAIN_LOCK);
	if (err)
		return cli_exit_for(err);
	err = chain_detach(&c);
	if (err) {
		out_error("detach of chain %s failed: %s", c.name, strerror(-err));
	} else {
		out_obj_begin(NULL);
		out_str("chain", "chain %s detached", c.name);
		out_bool("detached", NULL, true);
		out_human("; history kept in %s\n", c.paths.state);
		out_obj_end();
		out_finish();
	}
	chain_close(&c);
	return cli_exit_for(err);
}
