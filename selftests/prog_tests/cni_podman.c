// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni under podman 4.3 with its CNI backend, a second runtime
 * (shared/TESTING.md "CNI runtimes", docs/cni.md).
 *
 * podman has no daemon: each command runs the CNI plugins itself, in its
 * own network namespace. tools/cni/podman/podman.sh holds a mount and a pid
 * namespace in the test's node namespace (private /run/netns, /var/lib/cni,
 * /run/containers, /run/libpod) and writes a containers.conf (network
 * backend cni, plugins and network configs from the test's dirs, runc,
 * cgroupfs); every podman command runs there through nsenter, with root,
 * runroot and vfs storage in the test's temp dir. The image is the offline
 * busybox-static one of tools/cni/pause-image.sh, loaded with podman load.
 *
 * Checks: two containers get distinct addresses from sluice-cni's subnet,
 * their host veths are in the node namespace (none in the test's own: what
 * a manual run without nsenter --net got wrong), two endpoint entries; the
 * first pings the second and sends it a TCP payload that the second (busybox
 * nc -l in its command) prints to its log, delivered by the pod datapath;
 * podman rm leaves no veth, endpoint, IPAM reservation or record. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "netns.h"
#include "cni_util.h"
#include "poddp.h"
#include "shared/meta.h"

#define PM_IMAGE "localhost/sluice-pause:1"
#define PM_NET "sluice-pm"
#define PM_SUBNET "10.99.0.0/24"
#define PM_PREFIX "10.99.0."

static char out[1 << 16];

struct pm {
	struct cni_rig r;
	char dir[4200];		/* containers.conf, root/, runroot/ */
	char cgroup[64];
	pid_t holder;		/* podman.sh's unshare */
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return netns_run_out(NULL, out, sizeof(out), "cd %s && { %s; } 2>&1", env.src_dir, cmd);
}

/* One podman command in the held namespaces; out gets its output. */
static int podman(struct pm *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int podman(struct pm *p, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh("nsenter -t %d -m -n --pid=/proc/%d/ns/pid_for_children -- env "
		  "CONTAINERS_CONF=%s/containers.conf podman --root %s/root --runroot %s/runroot "
		  "--storage-driver vfs %s",
		  (int)p->holder, (int)p->holder, p->dir, p->dir, p->dir, args);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

static uint64_t redirected(struct pm *p)
{
	int fd = poddp_stats_get(p->r.pin), ncpu = libbpf_num_possible_cpus(), i;
	struct sl_counter v[512];
	uint32_t k = POD_STAT_REDIRECT;
	uint64_t n = 0;

	if (fd < 0 || ncpu <= 0 || ncpu > 512)
		goto out;
	if (!bpf_map_lookup_elem(fd, &k, v))
		for (i = 0; i < ncpu; i++)
			n += v[i].packets;
out:
	if (fd >= 0)
		close(fd);
	return n;
}

static bool setup(struct pm *p)
{
	char path[PATH_MAX * 2], conf[4096];
	const char *links[][2] = { { "sluice-cni", NULL }, { "host-local", "/usr/lib/cni/host-local" },
				   { "loopback", "/usr/lib/cni/loopback" } };
	FILE *f;
	size_t i;

	snprintf(p->cgroup, sizeof(p->cgroup), "/slt-%d-pm", (int)getpid());
	if (!ASSERT_OK(cni_rig_setup(&p->r), "rig"))
		return false;
	cni_rig_teardown(&p->r); /* podman runs in the node netns, not this thread */
	snprintf(p->dir, sizeof(p->dir), "%s/pm", p->r.tmp);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->r.tmp, i ? "conf" : "bin");
		mkdir(path, 0700);
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", p->r.tmp, links[i][0]);
		if (!ASSERT_OK(symlink(links[i][1] ?: p->r.plugin, path) ? -errno : 0, "plugin link"))
			return false;
	}
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"" PM_NET "\",\"plugins\":[{\"type\":\"sluice-cni\","
		 "\"pinRoot\":\"%s\",\"stateDir\":\"%s\",\"ipam\":{\"type\":\"host-local\","
		 "\"dataDir\":\"%s\",\"ranges\":[[{\"subnet\":\"" PM_SUBNET "\"}]]}}]}\n",
		 p->r.pin, p->r.state, p->r.ipam);
	snprintf(path, sizeof(path), "%s/conf/10-sluice.conflist", p->r.tmp);
	f = fopen(path, "w");
	if (!ASSERT_OK_PTR(f, "conflist"))
		return false;
	fputs(conf, f);
	fclose(f);
	if (!ASSERT_OK(sh("tools/cni/pause-image.sh %s/image.tar " PM_IMAGE, p->r.tmp), "image")) {
		printf("%s\n", out);
		return false;
	}
	p->holder = netns_spawn(p->r.node, "%s %s %s/bin %s/conf",
				test__src_path("tools/cni/podman/podman.sh"), p->dir, p->r.tmp,
				p->r.tmp);
	if (!ASSERT_GT(p->holder, 0, "podman.sh"))
		return false;
	/* the namespaces exist once the mounts are made */
	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (!sh("nsenter -t %d -m -- grep -q ' /var/lib/cni tmpfs' /proc/self/mounts",
			(int)p->holder))
			break;
		nanosleep(&ts, NULL);
	}
	if (!ASSERT_OK(podman(p, "load -i %s/image.tar", p->r.tmp), "podman load")) {
		printf("%s\n", out);
		return false;
	}
	return true;
}

static void teardown(struct pm *p)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	if (p->holder > 0) {
		if (env.nfailed)
			podman(p, "ps -a");
		netns_kill(p->holder);
	}
	if (!p->cgroup[0])
		return;
	for (i = 0; i < 60; i++) {
		if (!sh("for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do d=${h}%s; [ -d $d ] || continue; "
			"find $d -depth -type d -exec rmdir {} + || exit 1; done", p->cgroup + 1))
			return;
		nanosleep(&ts, NULL);
	}
	printf("cni_podman: cgroups %s left: %s\n", p->cgroup, out);
}

struct ctr {
	const char *name;
	char ip[64];
};

static bool ctr_ip(struct pm *p, struct ctr *c)
{
	if (!ASSERT_OK(podman(p, "inspect %s --format '{{(index .NetworkSettings.Networks \"" PM_NET
			      "\").IPAddress}}'", c->name), "podman inspect"))
		return false;
	chomp(out);
	snprintf(c->ip, sizeof(c->ip), "%s", out);
	return ASSERT_TRUE(!strncmp(c->ip, PM_PREFIX, strlen(PM_PREFIX)),
			   "address from sluice-cni's subnet");
}

static void counts(struct pm *p, int *links, int *eps)
{
	int old = netns_enter(p->r.node);

	*links = cni_count_links(&p->r);
	if (old >= 0)
		netns_restore(old);
	*eps = cni_count_endpoints(&p->r);
}

void test_cni_podman(void)
{
	static const char *const tools[] = { "podman", "runc", "conmon", "nsenter", "unshare" };
	struct pm p = { .holder = -1 };
	struct ctr a = { .name = "pm-a" }, b = { .name = "pm-b" };
	int links, eps, i, ret;
	uint64_t before;
	size_t t;

	for (t = 0; t < sizeof(tools) / sizeof(tools[0]); t++)
		if (!netns_have_tool(tools[t])) {
			test__skip("%s is missing (tools/install-deps.sh)", tools[t]);
			return;
		}
	if (access("/usr/lib/cni/host-local", X_OK) || access("/bin/busybox", X_OK)) {
		test__skip("containernetworking-plugins or busybox-static missing (tools/install-deps.sh)");
		return;
	}
	if (!setup(&p))
		goto cleanup;
	ret = podman(&p, "run -d --name %s --network " PM_NET " --cgroup-parent %s " PM_IMAGE,
		     a.name, p.cgroup);
	if (!ASSERT_OK(ret, "podman run a")) {
		printf("%s\n", out);
		goto cleanup;
	}
	/* b's command: busybox nc, which prints what it is sent to its log;
	 * its stdin stays open (an EOF there would make it close its side
	 * first, and the client could quit before it sent anything) */
	ret = podman(&p, "run -d --name %s --network " PM_NET " --cgroup-parent %s "
		     "--entrypoint /bin/sh " PM_IMAGE " -c '/bin/busybox sleep 60 | /bin/busybox nc -l -p 8080'",
		     b.name, p.cgroup);
	if (!ASSERT_OK(ret, "podman run b")) {
		printf("%s\n", out);
		goto cleanup;
	}
	if (!ctr_ip(&p, &a) || !ctr_ip(&p, &b))
		goto cleanup;
	printf("cni_podman: %s %s, %s %s\n", a.name, a.ip, b.name, b.ip);
	ASSERT_TRUE(strcmp(a.ip, b.ip), "distinct addresses");
	counts(&p, &links, &eps);
	ASSERT_EQ(links, 2, "two host veths in the node netns");
	ASSERT_EQ(cni_count_links(&p.r), 0, "none in the test's own netns");
	ASSERT_EQ(eps, 2, "two endpoint entries");

	before = redirected(&p);
	ret = podman(&p, "exec %s /bin/busybox ping -c2 -W2 %s", a.name, b.ip);
	ASSERT_OK(ret, "a pings b");
	for (i = 0, ret = -1; i < 30 && ret; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		ret = podman(&p, "exec %s /bin/sh -c 'echo hello-from-pm-a | /bin/busybox nc -w2 %s 8080'",
			     a.name, b.ip);
		if (ret)
			nanosleep(&ts, NULL);
	}
	ASSERT_OK(ret, "TCP a -> b");
	for (i = 0; i < 50; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		podman(&p, "logs %s", b.name);
		if (strstr(out, "hello-from-pm-a"))
			break;
		nanosleep(&ts, NULL);
	}
	if (!ASSERT_STRCONTAINS(out, "hello-from-pm-a", "b's log has the payload")) {
		podman(&p, "ps -a");
		printf("%s\n", out);
	}
	ASSERT_GE(redirected(&p) - before, 4, "delivered by the pod datapath");

	ret = podman(&p, "rm -f -t 0 %s %s", a.name, b.name);
	ASSERT_OK(ret, "podman rm");
	counts(&p, &links, &eps);
	ASSERT_EQ(links, 0, "after rm: no host veth");
	ASSERT_EQ(eps, 0, "after rm: no endpoint entry");
	ASSERT_EQ(cni_count_ipam(&p.r, PM_NET), 0, "after rm: no IPAM reservation");
	ASSERT_EQ(cni_count_records(&p.r, PM_NET), 0, "after rm: no record");
cleanup:
	teardown(&p);
	netns_cleanup_all();
}
