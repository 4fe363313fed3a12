// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Every BPF program sluice builds loads on the running kernel, and the
 * verifier's cost of each stays within budget: at most 700k processed
 * instructions, 30% headroom to the kernel's 1M limit. The count of each
 * program is printed ("verified_insns OBJECT/PROGRAM [VARIANT]: N"), so
 * that `make test` and `make vmtest` record it per kernel (docs/kernels.md).
 *
 * Each object in BUILD/bpf/ is loaded through its real loader, with every
 * feature its .rodata config can turn on: a new object or program without
 * a loader here fails the "coverage" subtest, so nothing escapes the budget.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "entry.skel.h"
#include "lb_decap.skel.h"
#include "chain.h"
#include "fw_run.h"
#include "nf_ct.h"
#include "nf_lb.h"
#include "nf_nat.h"
#include "poddp.h"

#define VERIFIER_BUDGET 700000

#define MAX_SEEN 64

/* Programs measured so far, as "object/program". */
static char *seen[MAX_SEEN];
static int nseen;

static uint32_t prog_insns(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.verified_insns;
}

static void record(const char *obj, const char *prog, const char *variant, int fd)
{
	char name[128];
	uint32_t n = prog_insns(fd);
	int i;

	snprintf(name, sizeof(name), "%s/%s", obj, prog);
	printf("    verified_insns %s%s%s: %u\n", name, variant ? " " : "",
	       variant ? variant : "", n);
	ASSERT_GT(n, 0, name);
	ASSERT_LE(n, VERIFIER_BUDGET, name);
	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i], name))
			return;
	if (nseen < MAX_SEEN)
		seen[nseen++] = strdup(name);
}

/* entry: the parser, attached once per attach point. No .rodata config.
 * entry_tc is its TC twin, opened through the loader the chains use. */
static void load_entry_plane(bool tc)
{
	struct bpf_program *p;
	struct entry *skel;

	skel = entry_open_for(tc);
	if (skel && entry__load(skel)) {
		entry__destroy(skel);
		skel = NULL;
	}
	if (!ASSERT_OK_PTR(skel, tc ? "entry_tc load" : "entry load"))
		return;
	bpf_object__for_each_program(p, skel->obj)
		record(tc ? "entry_tc" : "entry", bpf_program__name(p), NULL, bpf_program__fd(p));
	entry__destroy(skel);
}

/* fw: the firewall stage, through the loader the generations use
 * (fw_stage_load via the fw rig), with the rules of examples/edge.json
 * (IPv4 and IPv6, ports, protocols, ICMP, audit). Variants:
 *   spec  the config as compiled from the example;
 *   all   every index looked up in both families, every lookup taken
 *         (scan_good 0), the longest IPv6 length search, function-wide
 *         audit mode: the most the verifier can be asked to walk. */
static void load_fw_variant(struct fw_rig *rig, struct fw_image *img, const char *variant)
{
	const char *obj = rig->g.tc ? "fw_tc" : "fw";
	char *log = NULL;
	int err;

	err = fw_rig_load(rig, img, &log);
	if (!ASSERT_OK(err, variant)) {
		printf("%s\n", log ? log : "");
		free(log);
		return;
	}
	record(obj, "fw_stage", variant, rig->so.prog_fd);
}

static void load_fw_plane(bool tc)
{
	struct sl_errs errs = { 0 };
	struct spec *spec = NULL;
	const struct spec_function *fn;
	struct fw_image img = { 0 };
	struct fw_rig rig;
	struct fw_fam_cfg *fc[2];
	int err, f;

	err = fw_rig_open(&rig);
	if (!ASSERT_OK(err, "fw_rig_open"))
		return;
	/* A fresh rig per hook family: its PROG_ARRAY takes the type of the
	 * first program that uses it. */
	rig.g.tc = tc;
	err = spec_load_file(test__src_path("examples/edge.json"), &spec, &errs);
	if (!ASSERT_OK(err, "spec_load_file examples/edge.json")) {
		errs_print(&errs, stdout);
		goto out;
	}
	fn = spec_fn_find(spec, "fw");
	if (!ASSERT_OK_PTR(fn, "edge.json has function fw"))
		goto out;
	err = fw_compile(&fn->fw, "spec.functions[0]", &img, &errs);
	if (!ASSERT_OK(err, "fw_compile")) {
		errs_print(&errs, stdout);
		goto out;
	}
	load_fw_variant(&rig, &img, "spec");

	fc[0] = &img.cfg.f4;
	fc[1] = &img.cfg.f6;
	for (f = 0; f < 2; f++) {
		fc[f]->order[0] = FW_IDX_SRC;
		fc[f]->order[1] = FW_IDX_DST;
		fc[f]->order[2] = FW_IDX_PORT;
		fc[f]->scan_good = 0;
	}
	img.cfg.audit = 1;
	load_fw_variant(&rig, &img, "all");
out:
	fw_image_free(&img);
	spec_free(spec);
	errs_free(&errs);
	fw_rig_close(&rig);
}

/* ct: the conntrack stage and its commit program (the chain's slot after
 * the last stage); no feature switches in their .rodata. */
static void load_ct_plane(bool tc)
{
	struct stage_shared sh = { .meta_fd = -1, .drops_fd = -1, .fw_counters_fd = -1 };
	struct stage_gen g = { .gen = 1, .nstages = 1, .tc = tc, .chain_fd = -1,
			       .gen_stats_fd = -1 };
	struct ct_image img = { .table_size = CT_TABLE_MIN };
	struct stage_obj so;
	char *log = NULL;
	int i, *fds[] = { &sh.meta_fd, &sh.drops_fd, &sh.fw_counters_fd, &g.chain_fd,
			  &g.gen_stats_fd };

	if (ASSERT_OK(ct_stage_load(&img, &sh, &g, 0, &so, NULL, &log), "ct_stage_load")) {
		record(tc ? "ct_tc" : "ct", "ct_stage", NULL, so.prog_fd);
		record(tc ? "ct_tc" : "ct", "ct_commit", NULL, so.commit_fd);
		stage_obj_destroy(&so);
	} else if (log) {
		printf("%s\n", log);
	}
	free(log);
	for (i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	for (i = 0; i < STAGE_MAX_EXTRA; i++)
		if (sh.extra_fd[i] > 0)
			close(sh.extra_fd[i]);
}

/* lb: the load balancer stage, with its one feature switch on (fib: the
 * redirect path is the costlier one). */
static void load_lb_plane(bool tc)
{
	struct stage_shared sh = { .meta_fd = -1, .drops_fd = -1, .fw_counters_fd = -1 };
	struct stage_gen g = { .gen = 1, .nstages = 1, .tc = tc, .chain_fd = -1,
			       .gen_stats_fd = -1 };
	struct lb_image img = { .flow_table_size = 1024, .cfg = { .flags = LB_CFG_FIB } };
	struct stage_obj so;
	char *log = NULL;
	int i, *fds[] = { &sh.meta_fd, &sh.drops_fd, &sh.fw_counters_fd, &g.chain_fd,
			  &g.gen_stats_fd };

	if (ASSERT_OK(lb_stage_load(&img, NULL, &sh, &g, 0, &so, &log), "lb_stage_load")) {
		record(tc ? "lb_tc" : "lb", "lb_stage", NULL, so.prog_fd);
		stage_obj_destroy(&so);
	} else if (log) {
		printf("%s\n", log);
	}
	free(log);
	for (i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	for (i = 0; i < STAGE_MAX_EXTRA; i++)
		if (sh.extra_fd[i] > 0)
			close(sh.extra_fd[i]);
}

/* nat: the NAT stage, with both families' addresses set. */
static void load_nat_plane(bool tc)
{
	struct stage_shared sh = { .meta_fd = -1, .drops_fd = -1, .fw_counters_fd = -1 };
	struct stage_gen g = { .gen = 1, .nstages = 1, .tc = tc, .chain_fd = -1,
			       .gen_stats_fd = -1 };
	struct nat_image img = { .flow_table_size = 1024,
				 .cfg = { .addr4 = 1, .addr6 = { 1 }, .port_lo = 1024,
					  .port_hi = 65535 } };
	struct stage_obj so;
	char *log = NULL;
	int i, *fds[] = { &sh.meta_fd, &sh.drops_fd, &sh.fw_counters_fd, &g.chain_fd,
			  &g.gen_stats_fd };

	if (ASSERT_OK(nat_stage_load(&img, &sh, &g, 0, &so, &log), "nat_stage_load")) {
		record(tc ? "nat_tc" : "nat", "nat_stage", NULL, so.prog_fd);
		stage_obj_destroy(&so);
	} else if (log) {
		printf("%s\n", log);
	}
	free(log);
	for (i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	for (i = 0; i < STAGE_MAX_EXTRA; i++)
		if (sh.extra_fd[i] > 0)
			close(sh.extra_fd[i]);
}

/* lb_decap: the dsr backend's decapsulator, standalone (not a stage). */
static void load_lb_decap(void)
{
	struct lb_decap *skel = lb_decap__open_and_load();

	if (!ASSERT_OK_PTR(skel, "lb_decap load"))
		return;
	record("lb_decap", "lb_decap", NULL, bpf_program__fd(skel->progs.lb_decap));
	lb_decap__destroy(skel);
}

/* pod: sluice-cni's pod datapath (TC only), through the plugin's loader,
 * with each redirect (peer, egress). */
static void load_pod(void)
{
	int peer, prog, stats;

	for (peer = 1; peer >= 0; peer--) {
		if (!ASSERT_OK(poddp_load(-1, -1, peer, &prog, &stats), "poddp_load"))
			continue;
		record("pod", "sl_pod", peer ? "peer" : "egress", prog);
		close(prog);
		close(stats);
	}
}

static void load_nat(void) { load_nat_plane(false); }
static void load_nat_tc(void) { load_nat_plane(true); }
static void load_lb(void) { load_lb_plane(false); }
static void load_lb_tc(void) { load_lb_plane(true); }
static void load_ct(void) { load_ct_plane(false); }
static void load_ct_tc(void) { load_ct_plane(true); }
static void load_entry(void) { load_entry_plane(false); }
static void load_entry_tc(void) { load_entry_plane(true); }
static void load_fw(void) { load_fw_plane(false); }
static void load_fw_tc(void) { load_fw_plane(true); }

static const struct {
	const char *obj;
	void (*load)(void);
} loaders[] = {
	{ "entry", load_entry },
	{ "entry_tc", load_entry_tc },
	{ "fw", load_fw },
	{ "fw_tc", load_fw_tc },
	{ "ct", load_ct },
	{ "ct_tc", load_ct_tc },
	{ "lb", load_lb },
	{ "lb_tc", load_lb_tc },
	{ "lb_decap", load_lb_decap },
	{ "nat", load_nat },
	{ "nat_tc", load_nat_tc },
	{ "pod", load_pod },
};

/* Every program of every object in BUILD/bpf was measured. */
static void check_coverage(void)
{
	const char *dir = test__build_path("bpf");
	struct dirent *de;
	DIR *d;
	int nobj = 0;

	d = opendir(dir);
	if (!ASSERT_OK_PTR(d, "opendir build/bpf"))
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), i;
		struct bpf_object *obj;
		struct bpf_program *p;
		char path[512], name[128], oname[64];
		bool known = false;
		int k;

		if (len <= 6 || strcmp(de->d_name + len - 6, ".bpf.o") ||
		    strstr(de->d_name, ".tmp."))
			continue;
		snprintf(oname, sizeof(oname), "%.*s", (int)(len - 6), de->d_name);
		nobj++;
		for (i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
			known |= !strcmp(loaders[i].obj, oname);
		if (!ASSERT_TRUE(known, oname))
			printf("    bpf/%s has no loader in selftests/prog_tests/verifier_budget.c: add one\n",
			       de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		obj = bpf_object__open_file(path, NULL);
		if (!ASSERT_OK_PTR(obj, path))
			continue;
		bpf_object__for_each_program(p, obj) {
			bool found = false;

			snprintf(name, sizeof(name), "%s/%s", oname, bpf_program__name(p));
			for (k = 0; k < nseen; k++)
				found |= !strcmp(seen[k], name);
			if (!ASSERT_TRUE(found, name))
				printf("    program %s was not loaded by verifier_budget.c\n", name);
		}
		bpf_object__close(obj);
	}
	closedir(d);
	ASSERT_GT(nobj, 0, "BPF objects in build/bpf");
}

void test_verifier_budget(void)
{
	struct utsname u;
	size_t i;

	uname(&u);
	printf("    kernel %s, budget %d verified insns per program\n", u.release,
	       VERIFIER_BUDGET);
	for (i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
		if (test__start_subtest(loaders[i].obj))
			loaders[i].load();
	/* Only meaningful when every loader ran. */
	if (!env.sub_filter && test__start_subtest("coverage"))
		check_coverage();
}
