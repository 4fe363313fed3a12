/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "chain.h"
#include "out.h"

struct cli_opts {
	const char *chain;
	struct chain_opts chain_opts;
	bool debug;
};

extern struct cli_opts cli;

int cmd_apply(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_conntrack(int argc, char **argv);
struct cJSON;
void conntrack_stats(struct chain *c, const struct cJSON *fn); /* conntrack.c */
int cmd_services(int argc, char **argv);
void lb_stats(struct chain *c, const struct cJSON *fn); /* lb.c */
int cmd_nat(int argc, char **argv); /* flows.c */
enum flow_kind;
int flows_gc_cmd(enum flow_kind kind); /* flows.c: services gc, nat gc */
void flows_stats(struct chain *c, enum flow_kind kind); /* flows.c: in stats */
void nat_stats(struct chain *c, const struct cJSON *fn); /* flows.c */

/* Shared by the verbs (common.c). */
int cli_exit_for(int err);
/* Resolve the chain name (-c, else the only one) into name. */
int cli_chain_name(char *name, size_t len);
/* Open the chain named by -c or the only one; prints errors. */
int cli_chain_open(struct chain *c, unsigned int flags);
void cli_print_errs(const char *what, const struct sl_errs *errs);
/* trace.c: shared with `sluice test`. */
struct probe_result;
struct cJSON;
void trace_print(const struct probe_result *res, const struct cJSON *fns, bool tc);
const char *trace_rule_id(const struct cJSON *fn, uint32_t rule);

#endif
