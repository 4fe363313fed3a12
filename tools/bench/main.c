// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-bench: benchmark verbs (docs/benchmarks.md).
 *
 *   sluice-bench micro [OPTIONS]          BPF_PROG_TEST_RUN micro benchmark
 *   sluice-bench gen -f FAM -n N -F FMT [-s SEED] [-e NEST%] [-c] [-L]
 *                    [--chain C] [--ifname I]
 *                                          a rule set as spec|ipt|nft|nftmap|ipset
 *                                          (-c one rule changed, -L live variant)
 *   sluice-bench compile FILE              spec_parse + fw_compile (for callgrind)
 *   sluice-bench live-gen ... / xdp-attach ...  the live benchmark (live.c)
 *   sluice-bench time [-i IN] [-o OUT] -- CMD [ARG...]
 *                                          one run of CMD: wall, user, sys
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "bench.h"
#include "rules.h"
#include "fw_compile.h"

static int cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chain", required_argument, NULL, 'C' },
		{ "ifname", required_argument, NULL, 'I' },
		{}
	};
	const char *fmt = "spec", *chain = "bench", *ifname = "lo";
	unsigned long n = 1000, seed = 1, nest = 0;
	int fam = 4, flags = 0, opt, err;
	enum bset_fmt f;
	struct bset s;

	while ((opt = getopt_long(argc, argv, "f:n:F:s:ce:L", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': fam = atoi(optarg); break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 'F': fmt = optarg; break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'e': nest = strtoul(optarg, NULL, 0); break;
		case 'c': flags |= BSET_W_CHANGE; break;
		case 'L': flags |= BSET_W_LIVE; break;
		case 'C': chain = optarg; break;
		case 'I': ifname = optarg; break;
		default: return 2;
		}
	}
	if (!strcmp(fmt, "spec"))
		f = BSET_SPEC;
	else if (!strcmp(fmt, "ipt"))
		f = BSET_IPT;
	else if (!strcmp(fmt, "nft"))
		f = BSET_NFT;
	else if (!strcmp(fmt, "nftmap"))
		f = BSET_NFT_MAP;
	else if (!strcmp(fmt, "ipset"))
		f = BSET_IPSET;
	else {
		fprintf(stderr, "gen: unknown format %s\n", fmt);
		return 2;
	}
	if (fam != 4 && fam != 6) {
		fprintf(stderr, "gen: family is 4 or 6\n");
		return 2;
	}
	err = bset_gen(&s, n, fam, (unsigned)nest, seed);
	if (err) {
		fprintf(stderr, "gen: %s\n", strerror(-err));
		return 1;
	}
	err = bset_write(&s, f, stdout, chain, ifname, flags);
	bset_free(&s);
	return err || fflush(stdout) ? 1 : 0;
}

/* The function callgrind counts (--toggle-collect=bench_compile): parse,
 * validate and compile every function of the document. */
__attribute__((noinline)) int bench_compile(const char *buf, size_t len, size_t *atoms)
{
	struct sl_errs errs = {};
	struct spec *s = NULL;
	size_t i;
	int err;

	*atoms = 0;
	err = spec_parse(buf, len, &s, &errs);
	for (i = 0; !err && i < s->nfns; i++) {
		struct fw_image img;

		if (s->fns[i].type != SPEC_FN_FIREWALL)
			continue;
		err = fw_compile(&s->fns[i].fw, "spec.functions[]", &img, &errs);
		if (!err) {
			*atoms += img.natoms4 + img.natoms6;
			fw_image_free(&img);
		}
	}
	errs_free(&errs);
	spec_free(s);
	return err;
}

static int cmd_compile(int argc, char **argv)
{
	size_t len = 0, cap = 1 << 20, atoms, r;
	uint64_t t0;
	char *buf;
	FILE *f;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: sluice-bench compile FILE\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	buf = malloc(cap);
	while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return 1;
	t0 = bench_now_ns();
	err = bench_compile(buf, len, &atoms);
	printf("compile: %s, %zu atoms, %.3f ms\n", err ? strerror(-err) : "ok", atoms,
	       (double)(bench_now_ns() - t0) / 1e6);
	free(buf);
	return err ? 1 : 0;
}

/* One run of a command, timed from fork to reap: wall, and the child's
 * user and system CPU from the kernel's accounting. -i/-o give the child's
 * stdin/stdout (opened before the clock starts). Output: one line
 * "wall_ms user_ms sys_ms exit_status". */
static int cmd_time(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	int status, opt, ifd = -1, ofd = -1;
	struct rusage ru;
	uint64_t t0, t1;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+i:o:")) != -1) {
		switch (opt) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	/* getopt consumed the "--" */
	if (optind >= argc || strcmp(argv[optind - 1], "--"))
		goto usage;
	argv += optind;
	if (in && (ifd = open(in, O_RDONLY)) < 0)
		return perror(in), 1;
	if (out && (ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return perror(out), 1;
	fflush(stdout);
	t0 = bench_now_ns();
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		if ((ifd >= 0 && dup2(ifd, 0) < 0) || (ofd >= 0 && dup2(ofd, 1) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return 1;
	t1 = bench_now_ns();
	printf("%.3f %.3f %.3f %d\n", (double)(t1 - t0) / 1e6,
	       ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
usage:
	fprintf(stderr, "usage: sluice-bench time [-i IN] [-o OUT] -- CMD [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sluice-bench micro|gen|compile|time|live-gen|xdp-attach ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "micro"))
		return cmd_micro(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compile"))
		return cmd_compile(argc - 1, argv + 1);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "live-gen"))
		return cmd_live_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "xdp-attach"))
		return cmd_xdp_attach(argc - 1, argv + 1);
	fprintf(stderr, "sluice-bench: unknown verb %s\n", argv[1]);
	return 2;
}
