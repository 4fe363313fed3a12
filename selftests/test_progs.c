// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Selftest runner: runs every generated test (or those matching -t), each in
 * a forked child with a timeout, and prints one closing line:
 * "N passed, N failed, N skipped". Exits 1 when any test failed.
 *
 *   test_progs [-v] [-l] [-t name[/subtest]] [-b build_dir] [-s src_dir]
 */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include "test_progs.h"

struct test_env env;

#define DEFINE_TEST(fn) void fn(void);
#include "tests.inc"
#undef DEFINE_TEST

struct test_def {
	const char *name;
	void (*fn)(void);
};

#define DEFINE_TEST(fn) { #fn + 5, fn },
static const struct test_def tests[] = {
#include "tests.inc"
};
#undef DEFINE_TEST

enum { RES_PASS = 0, RES_FAIL = 1, RES_SKIP = 2, RES_NOASSERT = 3 };

static bool subtest_failed_before;
static long subtest_fail_mark;

void test__fail_log(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	env.nfailed++;
	fprintf(stdout, "    FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void test__hexdiff(const void *got, const void *want, size_t len)
{
	const unsigned char *g = got, *w = want;
	size_t i, shown = 0;

	for (i = 0; i < len && shown < 16; i++) {
		if (g[i] != w[i]) {
			fprintf(stdout, "    byte %zu: got 0x%02x want 0x%02x\n", i,
				g[i], w[i]);
			shown++;
		}
	}
}

static void subtest_end(void)
{
	if (!env.subtest_name)
		return;
	printf("  %s %s/%s\n", env.nfailed > subtest_fail_mark ? "FAIL" : "ok  ",
	       env.test_name, env.subtest_name);
	fflush(stdout);
	free((void *)env.subtest_name);
	env.subtest_name = NULL;
}

bool test__start_subtest(const char *name)
{
	subtest_end();
	(void)subtest_failed_before;
	if (env.sub_filter && !strstr(name, env.sub_filter))
		return false;
	env.subtest_name = strdup(name);
	subtest_fail_mark = env.nfailed;
	return true;
}

void test__skip(const char *fmt, ...)
{
	va_list ap;

	env.skipped = true;
	va_start(ap, fmt);
	vsnprintf(env.skip_reason, sizeof(env.skip_reason), fmt, ap);
	va_end(ap);
}

static char path_buf[4][PATH_MAX];
static int path_idx;

static const char *join(const char *dir, const char *rel)
{
	char *p = path_buf[path_idx++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, rel);
	return p;
}

const char *test__build_path(const char *rel)
{
	return join(env.build_dir, rel);
}

const char *test__src_path(const char *rel)
{
	return join(env.src_dir, rel);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG && env.verbose < 2)
		return 0;
	if (!env.verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int run_child(const struct test_def *t)
{
	env.test_name = t->name;
	env.nasserts = env.nfailed = 0;
	env.skipped = false;
	libbpf_set_print(libbpf_print);
	t->fn();
	subtest_end();
	fflush(stdout);
	if (env.nfailed)
		return RES_FAIL;
	if (env.skipped) {
		printf("  skip: %s\n", env.skip_reason);
		return RES_SKIP;
	}
	if (!env.nasserts)
		return RES_NOASSERT;
	return RES_PASS;
}

/* The running test's process group, for a ^C or a kill of the runner to
 * reach it (it has its own group so that a timeout kills all it spawned). */
static volatile pid_t running_pgid;

static void forward_signal(int sig)
{
	if (running_pgid > 0)
		kill(-running_pgid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_test(const struct test_def *t, int timeout)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return RES_FAIL;
	if (pid == 0) {
		/* Own process group: a timeout kills what the test spawned. */
		setpgid(0, 0);
		/* The runner's forwarding handlers are not the test's. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		alarm(timeout);
		_exit(run_child(t));
	}
	running_pgid = pid;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	running_pgid = 0;
	kill(-pid, SIGKILL);
	if (WIFSIGNALED(status)) {
		printf("  %s: killed by signal %d%s\n", t->name, WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return RES_FAIL;
	}
	return WEXITSTATUS(status);
}

/* -t may be given several times (-t a -t b/c): a test runs when any filter's
 * test part is in its name. Its subtests are filtered by the part after '/'
 * of the first such filter, unless another matching filter has none (then
 * all run). */
#define MAX_FILTERS 32
static char *filters[MAX_FILTERS];
static int nfilters;

static bool test_selected(const char *name)
{
	bool hit = false;
	int i;

	env.sub_filter = NULL;
	if (!nfilters)
		return true;
	for (i = 0; i < nfilters; i++) {
		const char *sub = filters[i] + strlen(filters[i]) + 1;

		if (!strstr(name, filters[i]))
			continue;
		if (!*sub) {
			env.sub_filter = NULL;
			return true;
		}
		if (!hit)
			env.sub_filter = sub;
		hit = true;
	}
	return hit;
}

int main(int argc, char **argv)
{
	int npass = 0, nfail = 0, nskip = 0, timeout = 900;
	bool list = false;
	size_t i;
	int opt;
	char *slash;

	env.build_dir = getenv("SLUICE_BUILD") ?: "build";
	env.src_dir = getenv("SLUICE_SRC") ?: ".";
	if (getenv("TEST_TIMEOUT"))
		timeout = atoi(getenv("TEST_TIMEOUT"));
	while ((opt = getopt(argc, argv, "vlt:b:s:")) != -1) {
		switch (opt) {
		case 'v': env.verbose++; break;
		case 'l': list = true; break;
		case 't':
			/* "test/sub" kept as "test\0sub\0", "test" as "test\0\0" */
			if (nfilters == MAX_FILTERS) {
				fprintf(stderr, "%s: at most %d -t filters\n", argv[0], MAX_FILTERS);
				return 2;
			}
			filters[nfilters] = calloc(1, strlen(optarg) + 2);
			if (!filters[nfilters])
				return 2;
			strcpy(filters[nfilters], optarg);
			slash = strchr(filters[nfilters], '/');
			if (slash)
				*slash = '\0';
			nfilters++;
			break;
		case 'b': env.build_dir = optarg; break;
		case 's': env.src_dir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-v] [-l] [-t test[/subtest]]... [-b build] [-s src]\n", argv[0]);
			return 2;
		}
	}
	/* Absolute paths: tests hand them to programs that run elsewhere
	 * (containerd, node, a VM), whatever directory test_progs ran from. */
	{
		static char build_abs[PATH_MAX], src_abs[PATH_MAX];

		if (realpath(env.build_dir, build_abs))
			env.build_dir = build_abs;
		if (realpath(env.src_dir, src_abs))
			env.src_dir = src_abs;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* SIGTERM lets the test's own handler tear down its namespaces. */
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const struct test_def *t = &tests[i];
		int res;

		if (!test_selected(t->name))
			continue;
		if (list) {
			printf("%s\n", t->name);
			continue;
		}
		printf("#%zu %s\n", i + 1, t->name);
		res = run_test(t, timeout);
		switch (res) {
		case RES_PASS:
			npass++;
			printf("#%zu %s: OK\n", i + 1, t->name);
			break;
		case RES_SKIP:
			nskip++;
			printf("#%zu %s: SKIP\n", i + 1, t->name);
			break;
		case RES_NOASSERT:
			nfail++;
			printf("#%zu %s: FAIL (made no assertion)\n", i + 1, t->name);
			break;
		default:
			nfail++;
			printf("#%zu %s: FAIL\n", i + 1, t->name);
			break;
		}
	}
	if (list)
		return 0;
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail ? 1 : 0;
}
