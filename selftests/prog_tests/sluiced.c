// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluiced, the node agent, as a process: the real binary in the router
 * namespace of a client -- router -- server rig, its pins and state private
 * to the test, driven through files and signals and read through its HTTP
 * endpoints, its log, the CLI and real traffic.
 *
 *  adopt       a chain applied by the CLI is adopted, not rebuilt: same
 *              generation, same programs, no history entry; SIGTERM exits 0
 *              and SIGKILL kills, and the datapath stays attached and
 *              filtering; SIGHUP re-reads and puts back an attach point
 *              removed by hand; usage errors exit 2
 *  configmap   a ConfigMap-style directory (files through "..data", swapped
 *              by renaming a new "..data" symlink over the old one): each swap
 *              commits a new generation and traffic follows it
 *  broken      a broken spec (bad prefix, unknown field; then bad JSON) keeps
 *              the live generation; the reasons with their JSON paths are in
 *              the log, /readyz, /status and the metrics; the fix applies
 *  lock        writers serialise on the CLI's lock: while the test holds it
 *              the agent applies nothing and says so; once released it
 *              commits; an idle agent holds no lock (the CLI applies with
 *              --wait 0)
 *  privileges  the agent works with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON
 *              and nothing else (setpriv: bounding, inheritable, ambient);
 *              without CAP_PERFMON the verifier rejects the entry program
 *              and without CAP_NET_ADMIN nothing can be attached; pins and
 *              state are 0700/0600
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "sluiced_util.h"

#define CHAIN "sdtest"
#define PORT 19965

static char spec_a[8192], spec_b[8192];

static void specs_init(void)
{
	sd_spec(spec_a, sizeof(spec_a), CHAIN, "");
	sd_spec(spec_b, sizeof(spec_b), CHAIN,
		"{\"id\":\"deny-5002\",\"action\":\"deny\",\"proto\":\"tcp\",\"dstPorts\":[5002]},");
}

/* A listening TCP socket in the server namespace (the kernel completes
 * handshakes into the backlog: no accept needed). */
static int listen_on(struct e2e_rig *r, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = e2e_socket(r->server, AF_INET, SOCK_STREAM), one = 1;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Listeners on 5001, 5002 and 9090: a connection that fails was dropped,
 * not refused. */
static void listeners(struct e2e_rig *r, int fds[3])
{
	fds[0] = listen_on(r, 5001);
	fds[1] = listen_on(r, 5002);
	fds[2] = listen_on(r, 9090);
	ASSERT_TRUE(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0, "listeners");
}

static void listeners_close(int fds[3])
{
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static bool tcp_ok(struct e2e_rig *r, int port)
{
	int fd = e2e_tcp_connect(r->client, NETNS_R_SERVER4, port, 700);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* An unpinned link is released by deferred kernel work, and a reader of
 * the pins (the agent's metrics) may hold it a moment longer: poll. */
static bool tcp_ok_within(struct e2e_rig *r, int port, int ms)
{
	uint64_t end = e2e_now_ns() + (uint64_t)ms * 1000000;

	do {
		if (tcp_ok(r, port))
			return true;
	} while (e2e_now_ns() < end);
	return false;
}

static bool ping_ok(struct e2e_rig *r)
{
	int sent, rcvd;

	return !e2e_ping(r->client, NETNS_R_SERVER4, 2, 100, 1000, &sent, &rcvd) && rcvd == sent &&
	       sent == 2;
}

/* The program id the interface runs and the one in the root slot. */
static void prog_ids(struct e2e_rig *r, long long *link_prog, long long *history_n)
{
	char out[16384];
	cJSON *j, *a;

	*link_prog = *history_n = -1;
	if (!e2e_sluice(r, out, sizeof(out), "-j -c " CHAIN " status")) {
		j = cJSON_Parse(out);
		a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "attach"), 0);
		if (a)
			*link_prog = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "prog_id"));
		cJSON_Delete(j);
	}
	if (!e2e_sluice(r, out, sizeof(out), "-j -c " CHAIN " history")) {
		j = cJSON_Parse(out);
		*history_n = cJSON_GetArraySize(j);
		cJSON_Delete(j);
	}
}

static int write_spec(struct e2e_rig *r, const char *name, const char *text, char *path,
		      size_t len)
{
	snprintf(path, len, "%s/%s", r->tmp, name);
	return e2e_write_file(path, text);
}

static void subtest_adopt(void)
{
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char specs[PATH_MAX + 16], path[PATH_MAX + 64], out[16384];
	long long prog0, hist0, prog, hist;
	long from;
	int st, lfd[3] = { -1, -1, -1 };

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	listeners(&r, lfd);
	snprintf(specs, sizeof(specs), "%s/specs", r.tmp);
	mkdir(specs, 0700);
	if (!ASSERT_OK(write_spec(&r, "specs/edge.json", spec_a, path, sizeof(path)), "spec"))
		goto out;
	/* The CLI applied it: generation 1, then the agent starts. */
	ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "apply -f %s", path), 0, "sluice apply");
	prog_ids(&r, &prog0, &hist0);
	ASSERT_GT(prog0, 0, "link prog id");
	ASSERT_EQ(hist0, 1, "one generation in history");

	/* Usage errors exit 2. */
	ASSERT_EQ(netns_run(r.router, "%s >/dev/null 2>&1", test__build_path("sluiced")), 2,
		  "no path: exit 2");
	ASSERT_EQ(netns_run(r.router, "%s --log-level loud x >/dev/null 2>&1",
			    test__build_path("sluiced")), 2, "bad level: exit 2");

	for (int round = 0; round < 2; round++) {
		if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "", specs), "start"))
			goto out;
		ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready");
		ASSERT_OK(sd_wait_log(a.log, 0, "adopted, nothing changed", 3000), "adopt logged");
		ASSERT_EQ(e2e_live_gen(&r), 1, "still generation 1");
		prog_ids(&r, &prog, &hist);
		ASSERT_EQ(prog, prog0, "the interface runs the same program");
		ASSERT_EQ(hist, 1, "no new generation");
		ASSERT_EQ(sd_wait_log(a.log, 0, "generation committed", 0), -ETIMEDOUT,
			  "the agent committed nothing");
		/* SIGTERM: exit 0; SIGKILL: killed. Either way the datapath stays. */
		st = sd_stop(&a, round ? SIGKILL : SIGTERM, 5000);
		if (round == 0)
			ASSERT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: exit 0");
		else
			ASSERT_TRUE(st >= 0 && WIFSIGNALED(st), "SIGKILL: killed");
		ASSERT_EQ(e2e_live_gen(&r), 1, "live after the agent left");
		prog_ids(&r, &prog, &hist);
		ASSERT_EQ(prog, prog0, "still attached");
		ASSERT_TRUE(ping_ok(&r), "ping allowed");
		ASSERT_TRUE(tcp_ok(&r, 5001), "tcp 5001 allowed");
		ASSERT_FALSE(tcp_ok(&r, 9090), "tcp 9090 still denied");
	}
	ASSERT_OK(sd_wait_log(a.log, 0, "exiting; the datapath stays attached and running", 100),
		  "exit logged");

	/* SIGHUP re-reads: an attach point removed by hand comes back. */
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "", specs), "start 3"))
		goto out;
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready 3");
	snprintf(path, sizeof(path), "%s/" CHAIN "/link_in_xdp", r.pin);
	ASSERT_OK(unlink(path), "unpin the link (detaches)");
	/* The kernel frees the last reference of the link asynchronously. */
	for (int i = 0; i < 20 && !tcp_ok(&r, 9090); i++)
		e2e_sleep_ms(100);
	ASSERT_TRUE(tcp_ok_within(&r, 9090, 5000), "detached: 9090 gets through");
	from = sd_log_size(a.log);
	kill(a.pid, SIGHUP);
	ASSERT_OK(sd_wait_log(a.log, from, "SIGHUP", 3000), "SIGHUP logged");
	ASSERT_OK(sd_wait_log(a.log, from, "adopted, nothing changed", 3000), "re-applied");
	ASSERT_OK(access(path, F_OK), "link pinned again");
	ASSERT_FALSE(tcp_ok(&r, 9090), "9090 denied again");
	ASSERT_EQ(e2e_live_gen(&r), 1, "same generation");
	st = sd_stop(&a, SIGTERM, 5000);
	ASSERT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0");
out:
	listeners_close(lfd);
	netns_cleanup_all();
}

/* ConfigMap volume: DIR/..<ver>/<key>, DIR/..data -> ..<ver>, DIR/<key> ->
 * ..data/<key>. An update writes a new ..<ver>, points ..data_tmp at it and
 * renames ..data_tmp over ..data (kubelet's AtomicWriter), then removes the
 * old version. */
static int cm_write(const char *dir, const char *key, const char *text, int ver)
{
	char p[PATH_MAX + 128], q[PATH_MAX + 128];
	int err;

	snprintf(p, sizeof(p), "%s/..v%d", dir, ver);
	if (mkdir(p, 0755))
		return -errno;
	snprintf(p, sizeof(p), "%s/..v%d/%s", dir, ver, key);
	err = e2e_write_file(p, text);
	if (err)
		return err;
	snprintf(p, sizeof(p), "..v%d", ver);
	snprintf(q, sizeof(q), "%s/..data_tmp", dir);
	unlink(q);
	if (symlink(p, q))
		return -errno;
	snprintf(p, sizeof(p), "%s/..data", dir);
	if (rename(q, p))
		return -errno;
	snprintf(p, sizeof(p), "%s/%s", dir, key);
	snprintf(q, sizeof(q), "..data/%s", key);
	if (access(p, F_OK) && symlink(q, p))
		return -errno;
	if (ver > 1) {
		snprintf(p, sizeof(p), "rm -rf %s/..v%d", dir, ver - 1);
		return netns_run(NULL, "%s", p) ? -EIO : 0;
	}
	return 0;
}

static cJSON *status_json(struct e2e_rig *r)
{
	char out[65536];

	if (sd_http(r, PORT, "/status", out, sizeof(out)) != 200)
		return NULL;
	return cJSON_Parse(out);
}

/* live_generation of the chain in /status, and whether it is in sync */
static int status_live(struct e2e_rig *r, bool *in_sync)
{
	cJSON *s = status_json(r), *c;
	int gen = -1;

	*in_sync = false;
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "chains"), 0);
	if (c) {
		gen = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "live_generation"));
		*in_sync = cJSON_IsTrue(cJSON_GetObjectItem(c, "in_sync"));
	}
	cJSON_Delete(s);
	return gen;
}

static int wait_gen(struct e2e_rig *r, int gen, int timeout_ms)
{
	uint64_t end = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;
	bool sync;

	do {
		if (status_live(r, &sync) == gen && sync)
			return 0;
		e2e_sleep_ms(20);
	} while (e2e_now_ns() < end);
	return -ETIMEDOUT;
}

static void subtest_configmap(void)
{
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char cm[PATH_MAX + 16];
	int lfd[3] = { -1, -1, -1 };
	long from;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	listeners(&r, lfd);
	snprintf(cm, sizeof(cm), "%s/cm", r.tmp);
	mkdir(cm, 0755);
	if (!ASSERT_OK(cm_write(cm, "edge.json", spec_a, 1), "configmap v1"))
		goto out;
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "", cm), "start"))
		goto out;
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1");
	ASSERT_TRUE(tcp_ok(&r, 5002), "A: 5002 allowed");

	from = sd_log_size(a.log);
	ASSERT_OK(cm_write(cm, "edge.json", spec_b, 2), "swap to B");
	ASSERT_OK(wait_gen(&r, 2, 5000), "B live as generation 2");
	ASSERT_OK(sd_wait_log(a.log, from, "\"generation\":2", 100), "commit logged");
	ASSERT_OK(sd_wait_ready(&r, PORT, 2000), "ready on B");
	ASSERT_FALSE(tcp_ok(&r, 5002), "B: 5002 denied");
	ASSERT_TRUE(tcp_ok(&r, 5001), "B: 5001 allowed");

	snprintf(cm, sizeof(cm), "%s/cm", r.tmp);
	ASSERT_OK(cm_write(cm, "edge.json", spec_a, 3), "swap back to A");
	ASSERT_OK(wait_gen(&r, 3, 5000), "A live as generation 3");
	ASSERT_TRUE(tcp_ok(&r, 5002), "A again: 5002 allowed");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");
out:
	listeners_close(lfd);
	netns_cleanup_all();
}

static void subtest_broken(void)
{
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char cm[PATH_MAX + 16], bad[8192], out[65536], fixed[8192];
	cJSON *s, *spec;
	int lfd[3] = { -1, -1, -1 };
	long from;
	char *p;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	listeners(&r, lfd);
	snprintf(cm, sizeof(cm), "%s/cm", r.tmp);
	mkdir(cm, 0755);
	if (!ASSERT_OK(cm_write(cm, "edge.json", spec_a, 1), "configmap v1"))
		goto out;
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "", cm), "start"))
		goto out;
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready");

	/* Two errors: a /33 and a misspelt key. */
	sd_spec(bad, sizeof(bad), CHAIN,
		"{\"id\":\"bad\",\"action\":\"deny\",\"dst\":[\"10.0.0.0/33\"]},"
		"{\"id\":\"typo\",\"action\":\"deny\",\"dstPort\":[80]},");
	from = sd_log_size(a.log);
	ASSERT_OK(cm_write(cm, "edge.json", bad, 2), "swap to a broken spec");
	ASSERT_OK(sd_wait_log(a.log, from, "the live generation keeps running", 3000),
		  "rejection logged");
	ASSERT_OK(sd_wait_log(a.log, from, "\"path\":\"spec.functions[0].rules[0].dst[0]\"", 100),
		  "log: path of the bad prefix");
	ASSERT_OK(sd_wait_log(a.log, from, "\"path\":\"spec.functions[0].rules[1].dstPort\"", 100),
		  "log: path of the misspelt key");
	ASSERT_EQ(sd_http(&r, PORT, "/readyz", out, sizeof(out)), 503, "not ready");
	ASSERT_STRCONTAINS(out, "spec.functions[0].rules[0].dst[0]", "readyz says why");
	s = status_json(&r);
	spec = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "specs"), 0);
	ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(spec, "valid")), "status: invalid");
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(spec, "errors")), 2, "status: 2 errors");
	p = cJSON_PrintUnformatted(spec);
	ASSERT_STRCONTAINS(p, "spec.functions[0].rules[1].dstPort", "status: path");
	free(p);
	cJSON_Delete(s);
	ASSERT_EQ(sd_http(&r, PORT, "/metrics", out, sizeof(out)), 200, "metrics");
	snprintf(fixed, sizeof(fixed), "sluice_spec_valid{file=\"%s/edge.json\",chain=\"" CHAIN "\"}", cm);
	ASSERT_EQ(sd_metric(out, fixed), 0, "metric: spec invalid");
	snprintf(fixed, sizeof(fixed), "sluice_spec_errors{file=\"%s/edge.json\",chain=\"" CHAIN "\"}", cm);
	ASSERT_EQ(sd_metric(out, fixed), 2, "metric: 2 errors");
	ASSERT_EQ(sd_metric(out, "sluice_last_apply_result{chain=\"" CHAIN "\",result=\"invalid\"}"), 1,
		  "metric: last result invalid");
	ASSERT_EQ(sd_metric(out, "sluice_live_generation{chain=\"" CHAIN "\"}"), 1,
		  "metric: generation 1 still live");
	ASSERT_EQ(sd_metric(out, "sluice_chain_in_sync{chain=\"" CHAIN "\"}"), 0, "metric: not in sync");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1 still live");
	ASSERT_TRUE(ping_ok(&r), "traffic still filtered by generation 1: ping");
	ASSERT_FALSE(tcp_ok(&r, 9090), "traffic still filtered by generation 1: 9090");

	/* Not even JSON. */
	from = sd_log_size(a.log);
	ASSERT_OK(cm_write(cm, "edge.json", "{\"apiVersion\": \"sluice.dev/v1alpha1\", \"kind\"", 3),
		  "swap to bad JSON");
	ASSERT_OK(sd_wait_log(a.log, from, "the live generation keeps running", 3000),
		  "bad JSON rejected");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1 still live");

	/* The fix applies. */
	sd_spec(fixed, sizeof(fixed), CHAIN,
		"{\"id\":\"bad\",\"action\":\"deny\",\"dst\":[\"10.0.0.0/8\"],\"proto\":\"udp\"},");
	ASSERT_OK(cm_write(cm, "edge.json", fixed, 4), "swap to the fix");
	ASSERT_OK(wait_gen(&r, 2, 5000), "fixed spec live as generation 2");
	ASSERT_OK(sd_wait_ready(&r, PORT, 2000), "ready again");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");
out:
	listeners_close(lfd);
	netns_cleanup_all();
}

static void subtest_lock(void)
{
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char specs[PATH_MAX + 16], path[PATH_MAX + 64], out[65536];
	int lfd = -1;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	snprintf(specs, sizeof(specs), "%s/specs", r.tmp);
	mkdir(specs, 0700);
	write_spec(&r, "specs/edge.json", spec_a, path, sizeof(path));
	/* Hold the writer lock as the CLI would during an apply. */
	snprintf(out, sizeof(out), "%s/" CHAIN, r.state);
	netns_run(NULL, "mkdir -p %s", out);
	snprintf(path, sizeof(path), "%s/" CHAIN "/lock", r.state);
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (!ASSERT_OK(flock(lfd, LOCK_EX), "take the lock"))
		goto out;
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "--lock-wait-ms 200", specs),
		       "start"))
		goto out;
	ASSERT_OK(sd_wait_log(a.log, 0, "locked by another writer", 5000), "locked logged");
	ASSERT_EQ(sd_http(&r, PORT, "/readyz", out, sizeof(out)), 503, "not ready while locked");
	ASSERT_EQ(e2e_live_gen(&r), -1, "nothing applied");
	sd_http(&r, PORT, "/metrics", out, sizeof(out));
	ASSERT_GE(sd_metric(out, "sluice_applies_total{chain=\"" CHAIN "\",result=\"locked\"}"), 1,
		  "metric: locked counted");
	close(lfd);
	lfd = -1;
	ASSERT_OK(sd_wait_ready(&r, PORT, 8000), "applied once the lock is free");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1");
	/* Idle: the agent holds no lock, the CLI gets it at once. */
	write_spec(&r, "b.json", spec_b, path, sizeof(path));
	ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "--wait 0 apply -f %s", path), 0,
		  "CLI applies with --wait 0 beside an idle agent");
	ASSERT_EQ(e2e_live_gen(&r), 2, "CLI's generation 2");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");
out:
	if (lfd >= 0)
		close(lfd);
	netns_cleanup_all();
}

/* Every file and directory under dir: no group or other permission bits. */
static int private_tree(const char *dir, int *n)
{
	char out[8192];
	int ret;

	ret = netns_run_out(NULL, out, sizeof(out), "find %s -perm /077 | head -5", dir);
	if (ret || out[0]) {
		printf("    readable by others: %s\n", out);
		return -EACCES;
	}
	ret = netns_run_out(NULL, out, sizeof(out), "find %s | wc -l", dir);
	*n = atoi(out);
	return ret;
}

static void subtest_privileges(void)
{
	const char *three = "setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon "
			    "--inh-caps=-all,+bpf,+net_admin,+perfmon "
			    "--ambient-caps=-all,+bpf,+net_admin,+perfmon --no-new-privs --";
	const char *no_perfmon = "setpriv --bounding-set=-all,+bpf,+net_admin "
				 "--inh-caps=-all,+bpf,+net_admin "
				 "--ambient-caps=-all,+bpf,+net_admin --no-new-privs --";
	const char *no_net_admin = "setpriv --bounding-set=-all,+bpf,+perfmon "
				   "--inh-caps=-all,+bpf,+perfmon "
				   "--ambient-caps=-all,+bpf,+perfmon --no-new-privs --";
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char specs[PATH_MAX + 16], path[PATH_MAX + 64], out[4096], chain_pin[PATH_MAX + 16];
	unsigned long long eff = 0;
	int n = 0, lfd[3] = { -1, -1, -1 };
	FILE *f;

	if (!netns_have_tool("setpriv")) {
		test__skip("setpriv (util-linux) is not installed");
		return;
	}
	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	listeners(&r, lfd);
	snprintf(specs, sizeof(specs), "%s/specs", r.tmp);
	mkdir(specs, 0700);
	write_spec(&r, "specs/edge.json", spec_a, path, sizeof(path));

	/* The three capabilities: create the chain, attach, commit. */
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", three, "", specs), "start"))
		goto out;
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready with bpf, net_admin, perfmon");
	snprintf(path, sizeof(path), "/proc/%d/status", a.pid);
	f = fopen(path, "r");
	while (f && fgets(out, sizeof(out), f))
		sscanf(out, "CapEff: %llx", &eff);
	if (f)
		fclose(f);
	/* CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39 */
	ASSERT_EQ(eff, (1ull << 12) | (1ull << 38) | (1ull << 39), "effective set is exactly those");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1");
	ASSERT_FALSE(tcp_ok(&r, 9090), "filtering");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");

	/* Restart with the same three: adopted. */
	ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", three, "", specs), "restart");
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "adopted with the three");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");

	/* Without CAP_PERFMON: the verifier rejects the entry program ("R2
	 * partial copy of pointer": packet length from data_end - data needs
	 * allow_ptr_leaks, which is perfmon_capable()). */
	write_spec(&r, "specs/edge.json", spec_b, path, sizeof(path));
	ASSERT_OK(sd_start(&r, &a, PORT, "agent2.log", no_perfmon, "", specs), "start w/o perfmon");
	ASSERT_OK(sd_wait_log(a.log, 0, "apply failed", 5000), "fails without CAP_PERFMON");
	ASSERT_OK(sd_wait_log(a.log, 0, "Permission denied", 100), "EPERM/EACCES");
	ASSERT_EQ(sd_http(&r, PORT, "/readyz", out, sizeof(out)), 503, "not ready");
	ASSERT_EQ(e2e_live_gen(&r), 1, "generation 1 untouched");
	sd_stop(&a, SIGTERM, 5000);

	/* Without CAP_NET_ADMIN a fresh chain cannot attach. */
	ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-c " CHAIN " detach"), 0, "detach");
	ASSERT_OK(sd_start(&r, &a, PORT, "agent3.log", no_net_admin, "", specs),
		  "start w/o net_admin");
	ASSERT_OK(sd_wait_log(a.log, 0, "the live generation is unchanged", 5000),
		  "fails without CAP_NET_ADMIN");
	ASSERT_EQ(sd_http(&r, PORT, "/readyz", out, sizeof(out)), 503, "not ready");
	sd_stop(&a, SIGTERM, 5000);
	snprintf(chain_pin, sizeof(chain_pin), "%s/" CHAIN "/link_in_xdp", r.pin);
	ASSERT_TRUE(access(chain_pin, F_OK), "nothing attached");

	/* And back with the three: pins and state private. */
	ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", three, "", specs), "start again");
	ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "ready");
	ASSERT_OK(private_tree(r.state, &n), "state: no group/other bits");
	ASSERT_GT(n, 4, "state files checked");
	snprintf(chain_pin, sizeof(chain_pin), "%s/" CHAIN, r.pin);
	ASSERT_OK(private_tree(chain_pin, &n), "pins: no group/other bits");
	ASSERT_GT(n, 8, "pins checked");
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "exit 0");
out:
	listeners_close(lfd);
	netns_cleanup_all();
}

void test_sluiced(void)
{
	specs_init();
	if (test__start_subtest("adopt"))
		subtest_adopt();
	if (test__start_subtest("configmap"))
		subtest_configmap();
	if (test__start_subtest("broken"))
		subtest_broken();
	if (test__start_subtest("lock"))
		subtest_lock();
	if (test__start_subtest("privileges"))
		subtest_privileges();
}
