// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice: the CLI. One file per verb group; this one parses the global
 * options and dispatches. Keywords are matched exactly, never by prefix. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include "cli.h"

struct cli_opts cli;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  apply -f FILE [--dry-run]  validate, build and commit a new generation\n"
		"  diff -f FILE               what applying FILE would change, by function and rule id\n"
		"  status                     chain, attach points, live and previous generation\n"
		"  history                    generations with their spec hash, time and result\n"
		"  rollback [GEN]             switch back to the previous (or a given) generation\n"
		"  stats                      counters per function, rule id, drop reason, generation\n"
		"  trace PROTO SRC DST [..]   one crafted packet through the live programs, stage by stage\n"
		"  test -f SPEC CASES         a spec's unit tests through the real programs, before it is applied\n"
		"  detach                     detach every attach point and remove all pins\n"
		"  conntrack [FILTER] | gc    the conntrack table's flows (proto, addr, src, dst, port, state); gc\n"
		"  services | gc              load balancer services, backends, weights, states, counters, flows; gc\n"
		"  nat [list] [--all] | gc    the nat function's mappings; gc\n"
		"\n"
		"Options:\n"
		"  -j, --json            compact JSON output\n"
		"  -p, --pretty          pretty JSON output (implies -j)\n"
		"  -c, --chain NAME      the chain (default: the spec's name, or the only chain)\n"
		"      --pin-root DIR    bpffs root (default %s)\n"
		"      --state-dir DIR   state and history (default %s)\n"
		"      --wait SECONDS    wait this long for another writer (default 30)\n"
		"      --history-keep N  generations whose history stays on disk (default %d, min %d;\n"
		"                        live and previous always)\n"
		"  -d, --debug           libbpf debug output\n"
		"  -h, --help            this help\n"
		"\n"
		"Exit codes: 0 ok, 1 runtime error, 2 invalid spec or usage,\n"
		"            3 another writer holds the lock, 4 chain or generation not found,\n"
		"            5 a test case of sluice test failed.\n",
		SL_DEFAULT_PIN_ROOT, SL_DEFAULT_STATE_DIR, SL_HISTORY_KEEP_DEFAULT,
		SL_HISTORY_KEEP_MIN);
}

static int parse_history_keep(const char *arg, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < SL_HISTORY_KEEP_MIN || v > 1000000) {
		out_error("--history-keep: \"%s\" is not a number from %d to 1000000", arg,
			  SL_HISTORY_KEEP_MIN);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !cli.debug)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "apply", cmd_apply },
	{ "diff", cmd_diff },
	{ "status", cmd_status },
	{ "history", cmd_history },
	{ "rollback", cmd_rollback },
	{ "stats", cmd_stats },
	{ "trace", cmd_trace },
	{ "test", cmd_test },
	{ "detach", cmd_detach },
	{ "conntrack", cmd_conntrack },
	{ "services", cmd_services },
	{ "nat", cmd_nat },
};

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "chain", required_argument, NULL, 'c' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "wait", required_argument, NULL, 'W' },
		{ "history-keep", required_argument, NULL, 'H' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool json = false, pretty = false;
	size_t i;
	int opt;

	cli.chain_opts.lock_wait_ms = 30000;
	/* '+': stop at the command; its own options follow it. */
	while ((opt = getopt_long(argc, argv, "+jpc:dh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'p': pretty = true; break;
		case 'c': cli.chain = optarg; break;
		case 'P': cli.chain_opts.pin_root = optarg; break;
		case 'S': cli.chain_opts.state_dir = optarg; break;
		case 'W': cli.chain_opts.lock_wait_ms = atoi(optarg) * 1000; break;
		case 'H':
			if (parse_history_keep(optarg, &cli.chain_opts.history_keep))
				return SL_EXIT_INVALID;
			break;
		case 'd': cli.debug = true; break;
		case 'h': usage(stdout); return SL_EXIT_OK;
		default: usage(stderr); return SL_EXIT_INVALID;
		}
	}
	out_init(json, pretty);
	libbpf_set_print(libbpf_print);
	setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
	if (optind >= argc) {
		usage(stderr);
		return SL_EXIT_INVALID;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[optind], cmds[i].name)) {
			argv += optind;
			argc -= optind;
			optind = 0; /* reset getopt for the command */
			return cmds[i].fn(argc, argv);
		}
	}
	out_error("unknown command \"%s\"; see sluice --help", argv[optind]);
	return SL_EXIT_INVALID;
}
