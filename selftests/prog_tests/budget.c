// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Budget check (tier 1 of docs/benchmarks.md): deterministic counts
 * against the recorded baseline selftests/budget.baseline; a figure more
 * than 10% above its baseline fails.
 *
 *   - verifier processed instructions (bpf_prog_info.verified_insns) and JIT
 *     size (jited_prog_len) of the entry program and of the fw stage loaded
 *     with examples/edge.json and with a generated 10k-rule IPv4 spec;
 *   - instructions counted by valgrind --tool=callgrind for parsing and
 *     compiling generated 10k-rule specs (IPv4, IPv6): `sluice-bench
 *     compile`, counting only bench_compile() (spec_parse + fw_compile).
 *
 * The BPF figures depend on the kernel (and clang): they are compared only
 * when the kernel's major.minor is the baseline's, and printed otherwise.
 * After a deliberate change, re-record with
 *	sudo BUDGET_UPDATE=1 make test T=budget
 * and commit selftests/budget.baseline with the change that moved it. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "spec.h"
#include "fw_compile.h"
#include "nf_fw.h"
#include "stage.h"
#include "entry.skel.h"

#define MAX_FIGS 16
#define GROWTH_PCT 10

struct fig {
	char name[48];
	unsigned long long val;
	bool bpf; /* kernel-dependent */
};

struct budget {
	struct fig f[MAX_FIGS];
	int n;
	char kernel[64];
};

static void add(struct budget *b, const char *name, unsigned long long v, bool bpf)
{
	if (b->n >= MAX_FIGS)
		return;
	snprintf(b->f[b->n].name, sizeof(b->f[b->n].name), "%s", name);
	b->f[b->n].val = v;
	b->f[b->n].bpf = bpf;
	b->n++;
}

static int prog_sizes(int fd, unsigned long long *vinsns, unsigned long long *jited)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*vinsns = info.verified_insns;
	*jited = info.jited_prog_len;
	return 0;
}

static void add_prog(struct budget *b, const char *what, int fd)
{
	unsigned long long vi = 0, jl = 0;
	char name[48];

	if (!ASSERT_OK(prog_sizes(fd, &vi, &jl), "bpf_prog_info"))
		return;
	snprintf(name, sizeof(name), "%s.verified_insns", what);
	add(b, name, vi, true);
	if (jl) { /* 0: the JIT is off */
		snprintf(name, sizeof(name), "%s.jited_bytes", what);
		add(b, name, jl, true);
	}
}

/* Load the fw stage of the spec in file, as the only stage of a generation. */
static void fw_figures(struct budget *b, const char *what, const char *file)
{
	struct stage_shared sh = { -1, -1, -1 };
	struct stage_gen g = { .gen = 1, .nstages = 1, .chain_fd = -1, .gen_stats_fd = -1 };
	struct sl_errs errs = {};
	struct stage_obj so = { .prog_fd = -1 };
	struct spec *s = NULL;
	struct fw_image img;
	bool have_img = false;
	char *log = NULL;
	size_t i;
	int err;

	err = spec_load_file(file, &s, &errs);
	if (!ASSERT_OK(err, "spec_load_file"))
		goto out;
	err = fw_compile(&s->fns[0].fw, "spec.functions[0]", &img, &errs);
	if (!ASSERT_OK(err, "fw_compile"))
		goto out;
	have_img = true;
	for (i = 0; i < img.nrules; i++)
		img.rules[i].counter = (uint32_t)(1 + i);
	err = fw_stage_load(&img, (uint32_t)(1 + img.nrules), &sh, &g, 0, &so, &log);
	if (!ASSERT_OK(err, "fw_stage_load")) {
		if (log)
			fprintf(stderr, "%s\n", log);
		goto out;
	}
	add_prog(b, what, so.prog_fd);
out:
	free(log);
	stage_obj_destroy(&so);
	if (have_img)
		fw_image_free(&img);
	spec_free(s);
	errs_free(&errs);
	if (sh.meta_fd >= 0)
		close(sh.meta_fd);
	if (sh.drops_fd >= 0)
		close(sh.drops_fd);
	if (sh.fw_counters_fd >= 0)
		close(sh.fw_counters_fd);
	if (g.chain_fd >= 0)
		close(g.chain_fd);
	if (g.gen_stats_fd >= 0)
		close(g.gen_stats_fd);
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -EIO;
}

/* Instructions callgrind counts in bench_compile() for file. */
static void callgrind_figure(struct budget *b, const char *what, const char *bench,
			     const char *file, const char *dir)
{
	char cmd[4096], out[PATH_MAX], line[512];
	unsigned long long ir = 0;
	FILE *f;

	snprintf(out, sizeof(out), "%s/%s.callgrind", dir, what);
	snprintf(cmd, sizeof(cmd),
		 "valgrind --tool=callgrind --callgrind-out-file=%s --toggle-collect=bench_compile "
		 "%s compile %s >%s/%s.log 2>&1", out, bench, file, dir, what);
	if (!ASSERT_OK(run(cmd), "valgrind --tool=callgrind"))
		return;
	f = fopen(out, "r");
	if (!ASSERT_OK_PTR(f, "callgrind output"))
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "summary: %llu", &ir) == 1 || sscanf(line, "totals: %llu", &ir) == 1)
			break;
	fclose(f);
	if (ASSERT_GT(ir, 0, "callgrind instruction count"))
		add(b, what, ir, false);
}

static int kernel_mm(const char *rel, char *buf, size_t len)
{
	int a = 0, c = 0;

	if (sscanf(rel, "%d.%d", &a, &c) != 2)
		return -EINVAL;
	snprintf(buf, len, "%d.%d", a, c);
	return 0;
}

static int baseline_read(const char *path, struct budget *b)
{
	char line[256], name[64];
	unsigned long long v;
	FILE *f = fopen(path, "r");

	memset(b, 0, sizeof(*b));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "# kernel %63s", b->kernel) == 1)
			continue;
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%63s %llu", name, &v) == 2)
			add(b, name, v, false);
	}
	fclose(f);
	return 0;
}

static int baseline_write(const char *path, const struct budget *b, const char *kernel)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		return -errno;
	fprintf(f, "# Budget baseline of selftests/prog_tests/budget.c (docs/benchmarks.md, tier 1).\n"
		   "# A figure more than %d%% above its line fails `make test`.\n"
		   "# Re-record after a deliberate change: sudo BUDGET_UPDATE=1 make test T=budget\n"
		   "# kernel %s\n", GROWTH_PCT, kernel);
	for (i = 0; i < b->n; i++)
		fprintf(f, "%s %llu\n", b->f[i].name, b->f[i].val);
	return fclose(f) ? -errno : 0;
}

void test_budget(void)
{
	char bench[PATH_MAX], dir[PATH_MAX], cmd[PATH_MAX * 2 + 64], spec4[PATH_MAX],
		spec6[PATH_MAX], base_path[PATH_MAX], kmm[32] = "", bmm[32] = "";
	struct budget now = {}, base;
	struct entry *e = NULL;
	struct utsname u;
	bool update = getenv("BUDGET_UPDATE") && !strcmp(getenv("BUDGET_UPDATE"), "1");
	bool same_kernel;
	int i, j;

	snprintf(bench, sizeof(bench), "%s", test__build_path("bench/sluice-bench"));
	snprintf(base_path, sizeof(base_path), "%s", test__src_path("selftests/budget.baseline"));
	if (access(bench, X_OK)) {
		test__skip("%s is missing (make builds it)", bench);
		return;
	}
	if (run("valgrind --version >/dev/null 2>&1")) {
		test__skip("valgrind is not installed (tools/install-deps.sh installs it)");
		return;
	}
	uname(&u);
	kernel_mm(u.release, kmm, sizeof(kmm));
	snprintf(dir, sizeof(dir), "/tmp/slt-%d-budget", (int)getpid());
	mkdir(dir, 0700);
	snprintf(spec4, sizeof(spec4), "%s/spec4.json", dir);
	snprintf(spec6, sizeof(spec6), "%s/spec6.json", dir);
	snprintf(cmd, sizeof(cmd), "%s gen -f 4 -n 10000 -e 3 -s 7 -F spec > %s", bench, spec4);
	if (!ASSERT_OK(run(cmd), "generate the 10k IPv4 spec"))
		goto out;
	snprintf(cmd, sizeof(cmd), "%s gen -f 6 -n 10000 -e 3 -s 7 -F spec > %s", bench, spec6);
	if (!ASSERT_OK(run(cmd), "generate the 10k IPv6 spec"))
		goto out;

	e = entry__open_and_load();
	if (!ASSERT_OK_PTR(e, "entry load"))
		goto out;
	add_prog(&now, "entry", bpf_program__fd(e->progs.sl_entry));
	fw_figures(&now, "fw_edge", test__src_path("examples/edge.json"));
	fw_figures(&now, "fw_10k_v4", spec4);
	fw_figures(&now, "fw_10k_v6", spec6);
	callgrind_figure(&now, "compile_10k_v4.ir", bench, spec4, dir);
	callgrind_figure(&now, "compile_10k_v6.ir", bench, spec6, dir);

	if (update) {
		ASSERT_OK(baseline_write(base_path, &now, u.release), "write budget.baseline");
		printf("budget: baseline re-recorded in %s\n", base_path);
		goto out;
	}
	if (!ASSERT_OK(baseline_read(base_path, &base), "read selftests/budget.baseline"))
		goto out;
	kernel_mm(base.kernel, bmm, sizeof(bmm));
	same_kernel = !strcmp(kmm, bmm);
	if (!same_kernel)
		printf("budget: kernel %s, baseline recorded on %s: BPF figures printed, not compared\n",
		       u.release, base.kernel);
	for (i = 0; i < now.n; i++) {
		const struct fig *f = &now.f[i];
		unsigned long long want = 0;
		bool found = false;

		for (j = 0; j < base.n; j++)
			if (!strcmp(base.f[j].name, f->name)) {
				want = base.f[j].val;
				found = true;
			}
		printf("budget: %-28s %12llu  baseline %12llu  %+6.1f%%\n", f->name, f->val, want,
		       want ? 100.0 * ((double)f->val - (double)want) / (double)want : 0.0);
		if (f->bpf && !same_kernel)
			continue;
		if (!ASSERT_TRUE(found, f->name)) {
			fprintf(stderr, "budget: %s has no baseline: re-record (BUDGET_UPDATE=1)\n", f->name);
			continue;
		}
		if (f->val * 100 < want * (100 - GROWTH_PCT))
			printf("budget: %s is more than %d%% below its baseline: re-record it "
			       "(BUDGET_UPDATE=1) so that the check stays tight\n", f->name, GROWTH_PCT);
		if (!ASSERT_LE(f->val * 100, want * (100 + GROWTH_PCT), f->name))
			fprintf(stderr, "budget: %s grew more than %d%% (%llu -> %llu); if intended, "
				"re-record: sudo BUDGET_UPDATE=1 make test T=budget\n",
				f->name, GROWTH_PCT, want, f->val);
	}
out:
	entry__destroy(e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
}
