// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The generation lifecycle through the real `sluice` binary: apply, the
 * same spec twice, rollback, history, a failed apply at every step, SIGKILL
 * at random points, and the writer lock. After every failure the live
 * generation must judge packets as before and no object may be left behind.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "netns.h"
#include "pkt.h"

struct gen_rig {
	struct netns_pair ns;
	char pin[PATH_MAX], state[PATH_MAX], tmp[PATH_MAX];
	char spec_a[PATH_MAX], spec_b[PATH_MAX], spec_bad[PATH_MAX];
	char sluice[PATH_MAX];
};

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/* A chain "g" on veth0 whose firewall denies TCP to deny_port only. */
static int write_spec(const char *path, int deny_port)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"g\"},\"spec\":{"
		 "\"attach\":[{\"interface\":\"veth0\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		 "\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
		 "\"rules\":[{\"id\":\"deny-%d\",\"action\":\"deny\",\"proto\":\"tcp\","
		 "\"dstPorts\":[%d]}]}]}}\n", deny_port, deny_port);
	return write_file(path, text);
}

static int rig_setup(struct gen_rig *r)
{
	int err;

	err = netns_pair_create(&r->ns);
	if (!err)
		err = netns_pin_root(r->pin, sizeof(r->pin));
	if (!err)
		err = netns_tmpdir(r->tmp, sizeof(r->tmp));
	if (err)
		return err;
	snprintf(r->state, sizeof(r->state), "%s/state", r->tmp);
	snprintf(r->spec_a, sizeof(r->spec_a), "%s/a.json", r->tmp);
	snprintf(r->spec_b, sizeof(r->spec_b), "%s/b.json", r->tmp);
	snprintf(r->spec_bad, sizeof(r->spec_bad), "%s/bad.json", r->tmp);
	snprintf(r->sluice, sizeof(r->sluice), "%s", test__build_path("sluice"));
	err = write_spec(r->spec_a, 1000);
	if (!err)
		err = write_spec(r->spec_b, 2000);
	if (!err)
		err = write_file(r->spec_bad,
				 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
				 "\"metadata\":{\"name\":\"g\"},\"spec\":{\"attach\":[{\"interface\":\"veth0\",\"hook\":\"xdp\"}],"
				 "\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
				 "\"rules\":[{\"id\":\"x\",\"action\":\"deny\",\"dst\":[\"10.0.0.0/33\"]}]}]}}");
	return err;
}

/* Run sluice in namespace a with the rig's roots; returns the exit code. */
static int sluice(struct gen_rig *r, char *out, size_t len, const char *args)
{
	char buf[8192];

	return netns_run_out(r->ns.a, out ? out : buf, out ? len : sizeof(buf),
			     "%s --pin-root %s --state-dir %s %s 2>&1", r->sluice, r->pin,
			     r->state, args);
}

/* The live verdict for a TCP packet to dport, through the pinned entry. */
static int verdict(struct gen_rig *r, int dport)
{
	uint8_t buf[PKT_MAX];
	char path[PATH_MAX];
	struct pkt_spec ps = {
		.family = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = dport,
		.tcp_flags = PKT_TCP_SYN,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd, len, err;

	len = pkt_build(&ps, buf, sizeof(buf));
	if (len < 0)
		return len;
	snprintf(path, sizeof(path), "%s/g/entry", r->pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	opts.data_in = buf;
	opts.data_size_in = len;
	opts.repeat = 1;
	err = bpf_prog_test_run_opts(fd, &opts);
	close(fd);
	return err ? -errno : (int)opts.retval;
}

/* Every pinned object under the chain, as one sorted string. */
static void list_pins(const char *dir, char *out, size_t len)
{
	struct dirent **ents;
	int n, i;

	n = scandir(dir, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (ents[i]->d_name[0] != '.' || strlen(ents[i]->d_name) > 2) {
			if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
				snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
				strncat(out, path, len - strlen(out) - 1);
				strncat(out, "\n", len - strlen(out) - 1);
				if (!lstat(path, &st) && S_ISDIR(st.st_mode))
					list_pins(path, out, len);
			}
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

static int live_gen(struct gen_rig *r)
{
	char out[8192], *p;
	int err = sluice(r, out, sizeof(out), "-j status");

	if (err)
		return -1;
	p = strstr(out, "\"live\":{\"generation\":");
	return p ? atoi(p + strlen("\"live\":{\"generation\":")) : -1;
}

static void subtest_lifecycle(struct gen_rig *r)
{
	char out[8192];

	ASSERT_EQ(sluice(r, out, sizeof(out), "apply -f ") , 2, "apply without file is usage");
	ASSERT_EQ(sluice(r, out, sizeof(out), "status"), 4, "status before any apply: not found");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j apply -f ") , 2, "usage error in JSON mode");

	snprintf(out, sizeof(out), "apply -f %s", r->spec_a);
	ASSERT_EQ(sluice(r, NULL, 0, out), 0, "apply A");
	ASSERT_EQ(live_gen(r), 1, "A is generation 1");
	ASSERT_EQ(verdict(r, 1000), XDP_DROP, "A denies 1000");
	ASSERT_EQ(verdict(r, 2000), XDP_PASS, "A allows 2000");

	snprintf(out, sizeof(out), "-j apply -f %s", r->spec_a);
	ASSERT_EQ(sluice(r, out, sizeof(out), out), 0, "apply A again");
	ASSERT_STRCONTAINS(out, "\"unchanged\":true", "same spec twice changes nothing");
	ASSERT_EQ(live_gen(r), 1, "still generation 1");

	snprintf(out, sizeof(out), "apply -f %s", r->spec_b);
	ASSERT_EQ(sluice(r, NULL, 0, out), 0, "apply B");
	ASSERT_EQ(live_gen(r), 2, "B is generation 2");
	ASSERT_EQ(verdict(r, 1000), XDP_PASS, "B allows 1000");
	ASSERT_EQ(verdict(r, 2000), XDP_DROP, "B denies 2000");

	ASSERT_EQ(sluice(r, out, sizeof(out), "-j trace tcp 10.0.0.1:40000 10.0.0.2:2000"), 0, "trace");
	ASSERT_STRCONTAINS(out, "\"generation\":2,", "trace names the generation that judged");
	ASSERT_STRCONTAINS(out, "{\"stage\":0,\"function\":\"fw\",\"verdict\":\"drop\","
			   "\"reason\":\"firewall_deny\",\"rule\":\"deny-2000\"}", "trace names stage, verdict, reason, rule");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j trace udp [2001:db8::1]:5 [2001:db8::2]:2000"), 0, "trace v6");
	ASSERT_STRCONTAINS(out, "\"rule\":\"(default)\"}", "udp falls to the default");
	ASSERT_STRCONTAINS(out, "\"verdict\":\"pass\"", "and passes");
	ASSERT_EQ(sluice(r, out, sizeof(out), "trace tcp 10.0.0.1 ::1"), 2, "mixed families are a usage error");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j rollback"), 0, "rollback");
	ASSERT_STRCONTAINS(out, "\"generation\":1", "rolled back to 1");
	ASSERT_EQ(live_gen(r), 1, "generation 1 live again");
	ASSERT_EQ(verdict(r, 1000), XDP_DROP, "rollback restores A's deny");
	ASSERT_EQ(verdict(r, 2000), XDP_PASS, "rollback restores A's allow");
	ASSERT_EQ(sluice(r, NULL, 0, "rollback 2"), 0, "roll forward to 2");
	ASSERT_EQ(verdict(r, 2000), XDP_DROP, "B again");
	ASSERT_EQ(sluice(r, out, sizeof(out), "rollback 99"), 4, "unknown generation");

	ASSERT_EQ(sluice(r, out, sizeof(out), "-j status"), 0, "status");
	ASSERT_STRCONTAINS(out, "\"interface\":\"veth0\",\"hook\":\"xdp\",\"mode\":\"native\"",
			   "status shows the attach point and the mode the kernel reports");
	ASSERT_STRCONTAINS(out, "\"previous\":{\"generation\":1", "status shows the previous generation");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j history"), 0, "history");
	ASSERT_STRCONTAINS(out, "\"generation\":1", "history has 1");
	ASSERT_STRCONTAINS(out, "\"generation\":2", "history has 2");
	ASSERT_STRCONTAINS(out, "\"result\":\"committed\"", "history records the result");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j stats"), 0, "stats");
	ASSERT_STRCONTAINS(out, "\"id\":\"deny-2000\"", "stats per rule id");
	ASSERT_STRCONTAINS(out, "\"reason\":\"firewall_deny\"", "stats per drop reason");
	ASSERT_EQ(sluice(r, out, sizeof(out), "-j diff -f /nonexistent"), 2, "diff of a missing file");
	snprintf(out, sizeof(out), "-j diff -f %s", r->spec_a);
	ASSERT_EQ(sluice(r, out, sizeof(out), out), 0, "diff A against live B");
	ASSERT_STRCONTAINS(out, "\"op\":\"added\",\"kind\":\"rule\",\"function\":\"fw\",\"id\":\"deny-1000\"",
			   "diff names the added rule");
	ASSERT_STRCONTAINS(out, "\"op\":\"removed\",\"kind\":\"rule\",\"function\":\"fw\",\"id\":\"deny-2000\"",
			   "diff names the removed rule");
}

/* Subtests can run alone (-t gen/faults): make B live if it is not. */
static void ensure_b_live(struct gen_rig *r)
{
	char args[PATH_MAX + 16];

	if (verdict(r, 2000) == XDP_DROP && verdict(r, 1000) == XDP_PASS)
		return;
	snprintf(args, sizeof(args), "apply -f %s", r->spec_b);
	ASSERT_EQ(sluice(r, NULL, 0, args), 0, "apply B first");
}

static void subtest_bad_input(struct gen_rig *r)
{
	char before[16384] = "", after[16384] = "", out[8192], dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/g", r->pin);
	list_pins(dir, before, sizeof(before));
	snprintf(out, sizeof(out), "apply -f %s", r->spec_bad);
	ASSERT_EQ(sluice(r, out, sizeof(out), out), 2, "bad spec exits 2");
	ASSERT_STRCONTAINS(out, "spec.functions[0].rules[0].dst[0]", "error names the path");
	list_pins(dir, after, sizeof(after));
	ASSERT_STREQ(after, before, "no pin added or removed");
	ASSERT_EQ(verdict(r, 2000), XDP_DROP, "live generation still judges");

	/* Valid JSON, but more than the maps may hold: 5000 port-only rules
	 * make every port-less packet a candidate for 5000 atoms, over the
	 * firewall's scan cap. Refused before anything is loaded. */
	{
		char path[PATH_MAX];
		FILE *f;
		int i;

		snprintf(path, sizeof(path), "%s/overflow.json", r->tmp);
		f = fopen(path, "w");
		if (!ASSERT_OK_PTR(f, "overflow spec"))
			return;
		fprintf(f, "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
			"\"metadata\":{\"name\":\"g\"},\"spec\":{\"attach\":[{\"interface\":\"veth0\",\"hook\":\"xdp\"}],"
			"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\",\"rules\":[");
		for (i = 0; i < 5000; i++)
			fprintf(f, "%s{\"id\":\"r%d\",\"action\":\"deny\",\"proto\":\"udp\",\"dstPorts\":[%d]}",
				i ? "," : "", i, i + 1);
		fprintf(f, "]}]}}\n");
		fclose(f);
		before[0] = after[0] = '\0';
		list_pins(dir, before, sizeof(before));
		snprintf(out, sizeof(out), "apply -f %s", path);
		ASSERT_EQ(sluice(r, out, sizeof(out), out), 2, "over the caps exits 2");
		ASSERT_STRCONTAINS(out, "spec.functions[0].rules", "the error names the rules");
		list_pins(dir, after, sizeof(after));
		ASSERT_STREQ(after, before, "no pin added or removed");
		ASSERT_EQ(verdict(r, 2000), XDP_DROP, "live generation still judges");
	}
}

/* "verifier" is a real rejection: the stage is built so the verifier
 * refuses it (bpf/include/stage.h). */
static const char *const fault_steps[] = {
	"compile", "verifier", "load", "pin", "history", "commit", "attach",
};

static void subtest_faults(struct gen_rig *r)
{
	char before[16384], after[16384], cmd[PATH_MAX + 64], dir[PATH_MAX], out[8192];
	size_t i;
	int live = live_gen(r);

	snprintf(dir, sizeof(dir), "%s/g", r->pin);
	for (i = 0; i < sizeof(fault_steps) / sizeof(fault_steps[0]); i++) {
		before[0] = after[0] = '\0';
		list_pins(dir, before, sizeof(before));
		snprintf(cmd, sizeof(cmd), "SLUICE_TEST_FAULT=%s %s --pin-root %s --state-dir %s apply -f %s 2>&1",
			 fault_steps[i], r->sluice, r->pin, r->state, r->spec_a);
		ASSERT_EQ(netns_run_out(r->ns.a, out, sizeof(out), "%s", cmd), 1, fault_steps[i]);
		if (!strcmp(fault_steps[i], "verifier"))
			ASSERT_STRCONTAINS(out, "verifier log tail", "the verifier's words are shown");
		ASSERT_EQ(live_gen(r), live, "live generation unchanged");
		ASSERT_EQ(verdict(r, 2000), XDP_DROP, "live verdicts unchanged");
		ASSERT_EQ(verdict(r, 1000), XDP_PASS, "live verdicts unchanged (allow)");
		list_pins(dir, after, sizeof(after));
		ASSERT_STREQ(after, before, "nothing left behind");
	}
}

/* SIGKILL sluice at random points of an apply, many times: afterwards the
 * datapath judges as A or as B (never a mix, never nothing), and once the
 * next writer has run, only the live and previous generations are pinned. */
static void subtest_sigkill(struct gen_rig *r)
{
	char out[8192], pins[16384], dir[PATH_MAX], gdir[PATH_MAX];
	int i, killed = 0, kills = 100;
	unsigned int seed = getenv("GEN_SEED") ? atoi(getenv("GEN_SEED")) : 1234;

	srand(seed);
	snprintf(dir, sizeof(dir), "%s/g/gen", r->pin);
	for (i = 0; i < kills; i++) {
		const char *spec = i % 2 ? r->spec_a : r->spec_b;
		pid_t pid;
		int v1000, v2000, status;

		pid = netns_spawn(r->ns.a, "%s --pin-root %s --state-dir %s apply -f %s >/dev/null 2>&1",
				  r->sluice, r->pin, r->state, spec);
		if (!ASSERT_GT(pid, 0, "spawn"))
			return;
		usleep(rand() % 40000);
		if (kill(pid, SIGKILL) == 0)
			killed++;
		waitpid(pid, &status, 0);
		netns_kill(pid);
		v1000 = verdict(r, 1000);
		v2000 = verdict(r, 2000);
		if (!ASSERT_TRUE((v1000 == XDP_DROP) != (v2000 == XDP_DROP),
				 "exactly one of A and B judges"))
			break;
	}
	printf("    sigkill: %d runs, seed %u\n", kills, seed);
	/* The next writer sweeps what the kills left. */
	snprintf(out, sizeof(out), "apply -f %s", r->spec_a);
	ASSERT_EQ(sluice(r, NULL, 0, out), 0, "apply after the kills");
	pins[0] = '\0';
	list_pins(dir, pins, sizeof(pins));
	{
		int n = 0;
		char *p;

		for (p = pins; (p = strstr(p, "/stage_0\n")); p++)
			n++;
		ASSERT_LE(n, 2, "at most the live and previous generation pinned");
	}
	snprintf(gdir, sizeof(gdir), "%s", dir);
	ASSERT_EQ(verdict(r, 1000), XDP_DROP, "A judges after the final apply");
}

static void subtest_lock(struct gen_rig *r)
{
	char path[PATH_MAX], out[8192];
	int fd;

	snprintf(path, sizeof(path), "%s/g/lock", r->state);
	fd = open(path, O_RDWR);
	if (!ASSERT_GE(fd, 0, "open lock"))
		return;
	ASSERT_OK(flock(fd, LOCK_EX), "hold the lock");
	snprintf(out, sizeof(out), "--wait 0 apply -f %s", r->spec_b);
	ASSERT_EQ(sluice(r, out, sizeof(out), out), 3, "second writer gets exit 3");
	ASSERT_EQ(sluice(r, out, sizeof(out), "--wait 0 rollback"), 3, "rollback is a writer too");
	ASSERT_EQ(sluice(r, out, sizeof(out), "status"), 0, "readers do not wait");
	close(fd);
}

static int link_info(struct gen_rig *r, struct bpf_link_info *info)
{
	char path[PATH_MAX];
	uint32_t len = sizeof(*info);
	int fd, err;

	snprintf(path, sizeof(path), "%s/g/link_veth0_xdp", r->pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	err = bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
	close(fd);
	return err;
}

static int pinned_prog_id(struct gen_rig *r, const char *rel)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd, id;

	snprintf(path, sizeof(path), "%s/g/%s", r->pin, rel);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	id = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : (int)info.id;
	close(fd);
	return id;
}

/* An upgrade of sluice brings a new entry program. Simulate an old one: put
 * another XDP program on the link and pin it as the entry. The next writer
 * must move the link to its own entry with bpf_link_update: same link, no
 * detach, verdicts as before. */
static void subtest_upgrade(struct gen_rig *r)
{
	struct bpf_link_info before, after;
	char path[PATH_MAX], out[8192];
	int fake_fd, link_fd, fake_id;

	if (!ASSERT_OK(link_info(r, &before), "link info"))
		return;
	snprintf(path, sizeof(path), "%s/g/gen/%d/stage_0", r->pin, live_gen(r));
	fake_fd = bpf_obj_get(path);
	if (!ASSERT_GE(fake_fd, 0, "an XDP program to pose as the old entry"))
		return;
	snprintf(path, sizeof(path), "%s/g/link_veth0_xdp", r->pin);
	link_fd = bpf_obj_get(path);
	ASSERT_OK(bpf_link_update(link_fd, fake_fd, NULL), "link to the old entry");
	close(link_fd);
	snprintf(path, sizeof(path), "%s/g/entry", r->pin);
	unlink(path);
	ASSERT_OK(bpf_obj_pin(fake_fd, path), "pin the old entry");
	fake_id = pinned_prog_id(r, "entry");
	close(fake_fd);

	snprintf(out, sizeof(out), "apply -f %s", r->spec_a);
	ASSERT_EQ(sluice(r, NULL, 0, out), 0, "the next writer runs");
	ASSERT_OK(link_info(r, &after), "link info after");
	ASSERT_EQ(after.id, before.id, "the same link: never detached");
	ASSERT_NEQ(pinned_prog_id(r, "entry"), fake_id, "a new entry is pinned");
	ASSERT_EQ(after.prog_id, pinned_prog_id(r, "entry"), "the link runs the new entry");
	ASSERT_EQ(verdict(r, 1000), XDP_DROP, "A judges through the new entry");
	ASSERT_EQ(verdict(r, 2000), XDP_PASS, "A allows through the new entry");
}

static void subtest_detach(struct gen_rig *r)
{
	char out[8192], dir[PATH_MAX];
	struct stat st;
	int live = live_gen(r);

	ASSERT_EQ(sluice(r, out, sizeof(out), "detach"), 0, "detach");
	snprintf(dir, sizeof(dir), "%s/g", r->pin);
	ASSERT_TRUE(stat(dir, &st) != 0, "no pins after detach");
	ASSERT_EQ(netns_run(r->ns.a, "ip link show veth0 | grep -q xdp"), 1, "no XDP on veth0");
	/* (history_keep pruned the oldest generations; the one live until
	 * the detach is kept) */
	snprintf(dir, sizeof(dir), "%s/g/history/%d.json", r->state, live);
	ASSERT_OK(stat(dir, &st), "history kept");
}

/* Generation numbers with a history/N.json in the chain's state. */
static int hist_gens(struct gen_rig *r, unsigned int *gens, int max)
{
	char dir[PATH_MAX + 16];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/g/history", r->state);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned int g;
		char tail[8];

		if (sscanf(de->d_name, "%u%7s", &g, tail) == 2 && !strcmp(tail, ".json") && n < max)
			gens[n++] = g;
	}
	closedir(d);
	return n;
}

static int count_parts(struct gen_rig *r, unsigned int gen)
{
	static const char *const parts[] = { "%s/g/history/%u.json", "%s/g/history/%u.spec.json",
					     "%s/g/history/%u.counters.json" };
	char path[PATH_MAX + 64];
	struct stat st;
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), parts[i], r->state, gen);
		n += !stat(path, &st);
	}
	return n;
}

/* --history-keep 3: after six applies only the newest three generations'
 * files stay (live and previous among them), the log keeps every line, a
 * pruned generation is not found, and a keep below 2 is refused. */
static void subtest_history_keep(struct gen_rig *r)
{
	char out[8192], path[PATH_MAX + 32], args[PATH_MAX + 64];
	unsigned int gens[64], first = 0, g, lo = ~0u;
	int i, n, lines = 0;
	FILE *f;

	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/keep%d.json", r->tmp, i);
		if (!ASSERT_OK(write_spec(path, 3001 + i), "spec"))
			return;
		snprintf(args, sizeof(args), "--history-keep 3 -j apply -f %s", path);
		if (!ASSERT_EQ(sluice(r, out, sizeof(out), args), 0, out))
			return;
		if (!i && sscanf(strstr(out, "\"generation\":") ?: "", "\"generation\":%u", &first) != 1)
			first = 0;
	}
	ASSERT_TRUE(first > 0, "first generation of the run read from apply -j");
	n = hist_gens(r, gens, 64);
	ASSERT_EQ(n, 3, "three generations' history left");
	for (i = 0; i < n; i++) {
		lo = gens[i] < lo ? gens[i] : lo;
		ASSERT_EQ(count_parts(r, gens[i]), 3, "meta, spec and counters kept together");
	}
	ASSERT_EQ(lo, first + 3, "the newest three are the ones kept");
	for (g = first; g < first + 3; g++)
		ASSERT_EQ(count_parts(r, g), 0, "a pruned generation leaves no file");
	ASSERT_EQ(verdict(r, 3006), XDP_DROP, "the last spec is live");
	snprintf(args, sizeof(args), "rollback %u", first);
	ASSERT_EQ(sluice(r, out, sizeof(out), args), 4, "rollback to a pruned generation: not found");
	ASSERT_EQ(sluice(r, out, sizeof(out), "rollback"), 0, "warm rollback still works");
	ASSERT_EQ(verdict(r, 3005), XDP_DROP, "previous spec live again");
	snprintf(path, sizeof(path), "%s/g/history/log.jsonl", r->state);
	f = fopen(path, "r");
	if (ASSERT_TRUE(f != NULL, "log.jsonl")) {
		while (fgets(out, sizeof(out), f))
			lines++;
		fclose(f);
	}
	ASSERT_GE(lines, 7, "the log keeps a line per apply and rollback");
	ASSERT_EQ(sluice(r, out, sizeof(out), "--history-keep 1 status"), 2, "keep below 2 refused");
	ASSERT_STRCONTAINS(out, "--history-keep", "the error names the option");
}

/* A warm rollback whose attach step fails (injected after the reconcile)
 * puts the live generation back: verdicts unchanged, exit non-zero, and a
 * rollback without the fault then works. */
static void subtest_rollback_attach_fault(struct gen_rig *r)
{
	char out[8192], cmd[PATH_MAX * 3];
	int live;

	snprintf(cmd, sizeof(cmd), "apply -f %s", r->spec_a);
	if (!ASSERT_EQ(sluice(r, out, sizeof(out), cmd), 0, out))
		return;
	/* live: a (denies 1000), previous: b (denies 2000) */
	snprintf(cmd, sizeof(cmd), "SLUICE_TEST_FAULT=rollback-attach %s --pin-root %s --state-dir %s rollback 2>&1",
		 r->sluice, r->pin, r->state);
	live = live_gen(r);
	ASSERT_NEQ(netns_run_out(r->ns.a, out, sizeof(out), "%s", cmd), 0, "failed rollback exits non-zero");
	ASSERT_EQ(live_gen(r), live, "live generation unchanged");
	ASSERT_EQ(verdict(r, 1000), XDP_DROP, "the live generation still judges");
	ASSERT_EQ(verdict(r, 2000), XDP_PASS, "the rollback target is not live");
	ASSERT_EQ(sluice(r, out, sizeof(out), "rollback"), 0, "rollback without the fault");
	ASSERT_EQ(verdict(r, 2000), XDP_DROP, "previous generation live");
	ASSERT_EQ(verdict(r, 1000), XDP_PASS, "previous generation live (allow)");
}

void test_gen(void)
{
	struct gen_rig r = {};

	if (!ASSERT_OK(rig_setup(&r), "rig"))
		goto cleanup;
	if (test__start_subtest("lifecycle"))
		subtest_lifecycle(&r);
	if (test__start_subtest("bad_input")) {
		ensure_b_live(&r);
		subtest_bad_input(&r);
	}
	if (test__start_subtest("faults")) {
		ensure_b_live(&r);
		subtest_faults(&r);
	}
	if (test__start_subtest("lock")) {
		ensure_b_live(&r);
		subtest_lock(&r);
	}
	if (test__start_subtest("sigkill"))
		subtest_sigkill(&r);
	if (test__start_subtest("upgrade")) {
		ensure_b_live(&r);
		subtest_upgrade(&r);
	}
	if (test__start_subtest("rollback_attach_fault")) {
		ensure_b_live(&r);
		subtest_rollback_attach_fault(&r);
	}
	if (test__start_subtest("history_keep")) {
		ensure_b_live(&r);
		subtest_history_keep(&r);
	}
	if (test__start_subtest("detach")) {
		ensure_b_live(&r);
		subtest_detach(&r);
	}
cleanup:
	netns_cleanup_all();
}
