// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni through containerd's CRI, the path kubelet uses
 * (shared/TESTING.md "CNI runtimes", docs/cni.md).
 *
 * A private containerd 1.6 (tools/cni/cri/containerd.sh) runs in a node
 * namespace, in its own mount and pid namespaces, with root, state and
 * sockets in the test's temp dir, CRI's CNI bin_dir/conf_dir pointing at
 * the test's dirs (sluice-cni, the reference host-local and loopback, a
 * sluice-cni conflist with a private pin root, state dir and IPAM dataDir),
 * the native snapshotter and a pause image made offline from busybox-static
 * (tools/cni/pause-image.sh, imported with ctr). A small CRI client in Node
 * (tools/cni/cri/cri.mjs: @grpc/grpc-js, @grpc/proto-loader and our own
 * minimal runtime.v1 proto) makes the calls kubelet makes: Version, Status,
 * RunPodSandbox x2, PodSandboxStatus, StopPodSandbox, RemovePodSandbox.
 *
 * Checks: both sandboxes get distinct addresses from sluice-cni's subnet,
 * their endpoint entries carry the pod's namespace and name, they reach each
 * other by ping and TCP (commands run in each sandbox's netns, the path from
 * PodSandboxStatus, entered through containerd's mount namespace); after
 * Stop and Remove there is no host veth, endpoint entry, IPAM reservation,
 * record, netns or pin left (the endpoints map itself stays).
 *
 * Cleanup holds on failure too: killing the script's unshare SIGKILLs pid 1
 * of containerd's pid namespace, so the kernel kills containerd, shims and
 * pause processes; their mounts live only in the private mount namespace;
 * the sandboxes' cgroups are under slt-<pid>-cri and removed here. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "test_progs.h"
#include "netns.h"
#include "cni_util.h"

#define CRI_IMAGE "localhost/sluice-pause:1"
#define CRI_NET "sluice-cri"
#define CRI_SUBNET "10.91.0.0/24"
#define CRI_PREFIX "10.91.0."
#define CRI_CHAIN "cri-pods"
#define CRI_VIP "10.96.0.10"

static char out[1 << 16];

struct cri {
	struct cni_rig r;	/* node netns, pin root, temp dir, counters */
	char dir[4200];		/* containerd's dir: config, root, state, sockets */
	char sock[4300];
	char cli[PATH_MAX];	/* tools/cni/cri/cri.mjs */
	char mods[PATH_MAX];	/* build/cri/node_modules */
	char cgroup[64];	/* cgroup parent of the sandboxes */
	pid_t ctd;		/* unshare: its death ends containerd's pid ns */
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return netns_run_out(NULL, out, sizeof(out), "cd %s && { %s; } 2>&1", env.src_dir, cmd);
}

/* Run the CRI client: out gets its output (stdout and stderr). */
static int cri(struct cri *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cri(struct cri *c, const char *fmt, ...)
{
	char args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh("SLUICE_CRI_MODULES=%s node %s %s %s", c->mods, c->cli, c->sock, args);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* A command inside a sandbox's netns: the path is a bind mount in
 * containerd's mount namespace, entered first (host tools, host /). */
static int in_pod(struct cri *c, const char *netns, const char *cmd)
{
	return sh("nsenter -t %d -m -- nsenter --net=%s -- sh -c '%s'", (int)c->ctd, netns, cmd);
}

struct pod {
	char name[32];
	char id[80];
	char ip[64];
	char netns[256];
};

static bool pod_inspect(struct cri *c, struct pod *p, const char *want_state)
{
	cJSON *j;
	bool ok;

	if (!ASSERT_OK(cri(c, "inspect %s", p->id), "PodSandboxStatus")) {
		printf("%s\n", out);
		return false;
	}
	j = cJSON_Parse(out);
	ok = ASSERT_OK_PTR(j, "PodSandboxStatus JSON");
	if (ok) {
		snprintf(p->ip, sizeof(p->ip), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(j, "ip")) ?: "");
		snprintf(p->netns, sizeof(p->netns), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(j, "netns")) ?: "");
		ok = ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), want_state,
				  "sandbox state");
	}
	cJSON_Delete(j);
	return ok;
}

/* Pins under a pin root. */
static int count_pins(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	char p[PATH_MAX];
	struct stat sb;
	int n = 0;

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (!lstat(p, &sb) && S_ISDIR(sb.st_mode))
			n += count_pins(p);
		else
			n++;
	}
	if (dp)
		closedir(dp);
	return n;
}

/* Counters read in the node netns (host veths live there). */
static void counts(struct cri *c, int *links, int *eps, int *ipam, int *recs)
{
	int old = netns_enter(c->r.node);

	*links = cni_count_links(&c->r);
	if (old >= 0)
		netns_restore(old);
	*eps = cni_count_endpoints(&c->r);
	*ipam = cni_count_ipam(&c->r, CRI_NET);
	*recs = cni_count_records(&c->r, CRI_NET);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static int apply_chain(struct cri *c, const char *backend);

static bool setup(struct cri *c)
{
	char p[PATH_MAX * 2], conf[8192];
	const char *links[][2] = { { "sluice-cni", NULL }, { "host-local", "/usr/lib/cni/host-local" },
				   { "loopback", "/usr/lib/cni/loopback" } };
	size_t i;
	int ret;

	snprintf(c->cli, sizeof(c->cli), "%s", test__src_path("tools/cni/cri/cri.mjs"));
	snprintf(c->mods, sizeof(c->mods), "%s/cri/node_modules", env.build_dir);
	snprintf(c->cgroup, sizeof(c->cgroup), "/slt-%d-cri", (int)getpid());
	ret = sh("tools/cni/cri/setup.sh %s", env.build_dir);
	if (!ASSERT_OK(ret, "npm packages (tools/cni/cri/setup.sh)")) {
		printf("%s\n", out);
		return false;
	}
	/* the rig moves this thread into the node netns; containerd is
	 * started there explicitly, the test itself stays outside */
	if (!ASSERT_OK(cni_rig_setup(&c->r), "rig"))
		return false;
	cni_rig_teardown(&c->r);
	snprintf(c->dir, sizeof(c->dir), "%s/c", c->r.tmp);
	snprintf(c->sock, sizeof(c->sock), "%s/containerd.sock", c->dir);
	snprintf(p, sizeof(p), "%s/bin", c->r.tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/conf", c->r.tmp);
	mkdir(p, 0700);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", c->r.tmp, links[i][0]);
		if (!ASSERT_OK(symlink(links[i][1] ?: c->r.plugin, p) ? -errno : 0, "bin_dir link"))
			return false;
	}
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"" CRI_NET "\",\"plugins\":[{\"type\":\"sluice-cni\","
		 "\"chain\":\"" CRI_CHAIN "\",\"pinRoot\":\"%s\",\"stateDir\":\"%s\",\"ipam\":{\"type\":\"host-local\","
		 "\"dataDir\":\"%s\",\"ranges\":[[{\"subnet\":\"" CRI_SUBNET "\"}]]}}]}\n",
		 c->r.pin, c->r.state, c->r.ipam);
	snprintf(p, sizeof(p), "%s/conf/10-sluice.conflist", c->r.tmp);
	if (!ASSERT_OK(write_file(p, conf), "conflist"))
		return false;
	/* the chain exists before the first pod (ADD attaches it); its
	 * backend is set once pod b has an address */
	if (!ASSERT_OK(netns_run(c->r.node, "ip link add anchor0 type veth peer name anchor1 && "
				 "ip link set anchor0 up"), "anchor interface") ||
	    !ASSERT_OK(apply_chain(c, "192.0.2.99"), "apply the pods' chain"))
		return false;
	ret = sh("tools/cni/pause-image.sh %s/pause.tar " CRI_IMAGE, c->r.tmp);
	if (!ASSERT_OK(ret, "pause image (tools/cni/pause-image.sh)")) {
		printf("%s\n", out);
		return false;
	}
	c->ctd = netns_spawn(c->r.node, "%s %s %s/bin %s/conf " CRI_IMAGE " >%s/containerd.log 2>&1",
			     test__src_path("tools/cni/cri/containerd.sh"), c->dir, c->r.tmp,
			     c->r.tmp, c->r.tmp);
	if (!ASSERT_GT(c->ctd, 0, "start containerd"))
		return false;
	ret = cri(c, "wait-ready 30");
	if (!ASSERT_OK(ret, "CRI Status: RuntimeReady and NetworkReady")) {
		printf("%s\n", out);
		sh("tail -n 30 %s/containerd.log", c->r.tmp);
		printf("%s\n", out);
		return false;
	}
	ret = sh("ctr --address %s -n k8s.io images import --snapshotter native %s/pause.tar",
		 c->sock, c->r.tmp);
	if (!ASSERT_OK(ret, "ctr images import")) {
		printf("%s\n", out);
		return false;
	}
	return true;
}

/* The pods' chain (the conflist names it): a firewall that allows, and a
 * load balancer with service VIP:80 -> backend:8080. */
static int apply_chain(struct cri *c, const char *backend)
{
	char path[PATH_MAX], spec[2048];

	snprintf(spec, sizeof(spec),
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"" CRI_CHAIN "\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"anchor0\",\"hook\":\"tc-ingress\"}],\"functions\":["
		 "{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\",\"rules\":[]},"
		 "{\"name\":\"lb\",\"type\":\"loadbalancer\",\"services\":[{\"name\":\"web\","
		 "\"vip\":\"" CRI_VIP "\",\"port\":80,\"proto\":\"tcp\",\"backends\":["
		 "{\"ip\":\"%s\",\"port\":8080}]}]}]}}",
		 backend);
	snprintf(path, sizeof(path), "%s/chain.json", c->r.tmp);
	if (write_file(path, spec))
		return -EIO;
	return netns_run(c->r.node, "%s --pin-root %s --state-dir %s/chains apply -f %s >/dev/null",
			 test__build_path("sluice"), c->r.pin, c->r.tmp, path);
}

/* Kill containerd's pid namespace and wait for its cgroups to empty, then
 * remove them (runc leaves them when its container is killed). */
static void teardown(struct cri *c)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	if (c->ctd > 0) {
		if (env.verbose || env.nfailed) {
			sh("tail -n 40 %s/containerd.log", c->r.tmp);
			printf("containerd log (tail):\n%s\n", out);
		}
		netns_kill(c->ctd);
	}
	if (!c->cgroup[0])
		return;
	for (i = 0; i < 60; i++) {
		if (!sh("for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do d=${h}%s; [ -d $d ] || continue; "
			"find $d -depth -type d -exec rmdir {} + || exit 1; done", c->cgroup + 1))
			return;
		nanosleep(&ts, NULL);
	}
	printf("cni_cri: cgroups %s left: %s\n", c->cgroup, out);
}

static void pod_traffic(struct cri *c, struct pod *a, struct pod *b)
{
	char cmd[512], got[PATH_MAX];
	int i, ret;

	snprintf(cmd, sizeof(cmd), "ping -c1 -W2 %s", b->ip);
	ASSERT_OK(in_pod(c, a->netns, cmd), "ping a -> b");
	snprintf(cmd, sizeof(cmd), "ping -c1 -W2 %s", a->ip);
	ASSERT_OK(in_pod(c, b->netns, cmd), "ping b -> a");
	/* TCP: a listener in b writes what a sends */
	snprintf(got, sizeof(got), "%s/tcp-got", c->r.tmp);
	snprintf(cmd, sizeof(cmd), "timeout 20 nc -l -p 8080 >%s </dev/null 2>/dev/null & echo", got);
	ASSERT_OK(in_pod(c, b->netns, cmd), "listener in b");
	for (i = 0, ret = -1; i < 50 && ret; i++) {
		snprintf(cmd, sizeof(cmd), "echo hello-from-%s | nc -N -w3 %s 8080", a->name, b->ip);
		ret = in_pod(c, a->netns, cmd);
		if (ret) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	ASSERT_OK(ret, "TCP a -> b connects");
	for (i = 0; i < 50; i++) {
		sh("cat %s 2>/dev/null", got);
		if (strstr(out, "hello-from-"))
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	ASSERT_STRCONTAINS(out, "hello-from-pod-a", "TCP payload arrives in b");
}

/* TCP from a to the service VIP reaches b's listener on 8080: the chain's
 * load balancer at a's host veth, the pod datapath into b, and back. */
static void vip_traffic(struct cri *c, struct pod *a, struct pod *b)
{
	char cmd[512], got[PATH_MAX];
	int i, ret = -1;

	snprintf(got, sizeof(got), "%s/vip-got", c->r.tmp);
	snprintf(cmd, sizeof(cmd), "timeout 20 nc -l -p 8080 >%s </dev/null 2>/dev/null & echo", got);
	ASSERT_OK(in_pod(c, b->netns, cmd), "listener in b");
	for (i = 0; i < 50 && ret; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		snprintf(cmd, sizeof(cmd), "echo via-vip-from-%s | nc -N -w3 " CRI_VIP " 80", a->name);
		ret = in_pod(c, a->netns, cmd);
		if (ret)
			nanosleep(&ts, NULL);
	}
	ASSERT_OK(ret, "TCP a -> VIP:80 connects");
	for (i = 0; i < 50; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		sh("cat %s 2>/dev/null", got);
		if (strstr(out, "via-vip-from-"))
			break;
		nanosleep(&ts, NULL);
	}
	ASSERT_STRCONTAINS(out, "via-vip-from-pod-a", "TCP payload through the VIP arrives in b");
	sh("%s --pin-root %s --state-dir %s/chains -c " CRI_CHAIN " services", test__build_path("sluice"),
	   c->r.pin, c->r.tmp);
	printf("%s", out);
}

/* A container (CreateContainer, StartContainer) in a sandbox, from the
 * busybox image: cmd is its command and arguments as shell words. Returns
 * its id in cid. */
static bool container(struct cri *c, struct pod *p, int idx, const char *cname, const char *cmd,
		      char *cid, size_t len)
{
	if (!ASSERT_OK(cri(c, "create %s %s sluice-test uid-%d %s %s/logs-%s %s " CRI_IMAGE " %s",
			   p->id, p->name, idx, c->cgroup, c->r.tmp, p->name, cname, cmd),
		       "CreateContainer")) {
		printf("%s\n", out);
		return false;
	}
	chomp(out);
	snprintf(cid, len, "%s", out);
	if (!ASSERT_OK(cri(c, "start %s", cid), "StartContainer")) {
		printf("%s\n", out);
		return false;
	}
	return true;
}

/* Real containers in the sandboxes: a server in pod-b (busybox nc -l on
 * the backend port, what it receives goes to its CRI log) and a client in
 * pod-a that sends to the VIP and exits 0 once it got through. */
static void vip_containers(struct cri *c, struct pod *pods)
{
	char srv[128], cli[128], log[PATH_MAX];
	int i;

	/* its stdin stays open: at EOF nc would close its side first and a
	 * client could quit before it sent anything */
	if (!container(c, &pods[1], 1, "server",
		       "/bin/sh -c '/bin/busybox sleep 60 | /bin/busybox nc -l -p 8080'", srv,
		       sizeof(srv)))
		return;
	if (!container(c, &pods[0], 0, "client",
		       "/bin/sh -c 'for i in $(/bin/busybox seq 50); do "
		       "echo via-vip-from-container-a | /bin/busybox nc -w2 " CRI_VIP " 80 && exit 0; "
		       "/bin/busybox sleep 0.2; done; exit 1'",
		       cli, sizeof(cli)))
		return;
	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		if (!cri(c, "cstatus %s", cli) && strstr(out, "\"exited\""))
			break;
		nanosleep(&ts, NULL);
	}
	ASSERT_STRCONTAINS(out, "\"state\":\"exited\"", "client container exited");
	ASSERT_STRCONTAINS(out, "\"exit_code\":0", "client container got through to the VIP");
	snprintf(log, sizeof(log), "%s/logs-%s/server.log", c->r.tmp, pods[1].name);
	for (i = 0; i < 50; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		sh("cat %s 2>/dev/null", log);
		if (strstr(out, "via-vip-from-container-a"))
			break;
		nanosleep(&ts, NULL);
	}
	ASSERT_STRCONTAINS(out, "stdout F via-vip-from-container-a",
			   "the server container's CRI log has the payload");
}

void test_cni_cri(void)
{
	static const char *const tools[] = { "containerd", "ctr", "containerd-shim-runc-v2", "runc",
					     "node", "npm", "unshare", "nsenter", "nc" };
	struct cri c = { .ctd = -1 };
	struct pod pods[2] = { { .name = "pod-a" }, { .name = "pod-b" } };
	int links, eps, ipam, recs, ret;
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!netns_have_tool(tools[i])) {
			test__skip("%s is missing (tools/install-deps.sh)", tools[i]);
			return;
		}
	if (access("/usr/lib/cni/host-local", X_OK) || access("/bin/busybox", X_OK)) {
		test__skip("containernetworking-plugins or busybox-static missing (tools/install-deps.sh)");
		return;
	}
	if (!setup(&c))
		goto cleanup;

	ret = cri(&c, "version");
	ASSERT_OK(ret, "CRI Version");
	ASSERT_STRCONTAINS(out, "\"runtime_name\":\"containerd\"", "runtime is containerd");
	ASSERT_STRCONTAINS(out, "\"runtime_api_version\":\"v1\"", "CRI v1");

	for (i = 0; i < 2; i++) {
		char logs[PATH_MAX];

		snprintf(logs, sizeof(logs), "%s/logs-%s", c.r.tmp, pods[i].name);
		mkdir(logs, 0700);
		ret = cri(&c, "run %s sluice-test uid-%zu %s %s", pods[i].name, i, c.cgroup, logs);
		if (!ASSERT_OK(ret, "RunPodSandbox")) {
			printf("%s\n", out);
			goto cleanup;
		}
		chomp(out);
		snprintf(pods[i].id, sizeof(pods[i].id), "%s", out);
		if (!pod_inspect(&c, &pods[i], "ready"))
			goto cleanup;
		ASSERT_TRUE(!strncmp(pods[i].ip, CRI_PREFIX, strlen(CRI_PREFIX)),
			    "pod IP from sluice-cni's subnet");
		ASSERT_TRUE(pods[i].netns[0] == '/', "netns path in PodSandboxStatus");
	}
	ASSERT_TRUE(strcmp(pods[0].ip, pods[1].ip), "distinct pod IPs");
	printf("cni_cri: pod-a %s, pod-b %s\n", pods[0].ip, pods[1].ip);
	counts(&c, &links, &eps, &ipam, &recs);
	ASSERT_EQ(links, 2, "two host veths");
	ASSERT_EQ(eps, 2, "two endpoint entries");
	ASSERT_EQ(ipam, 2, "two IPAM reservations");
	ASSERT_EQ(recs, 2, "two records");
	/* the endpoint entries carry what kubelet's CNI_ARGS said */
	ret = sh("bpftool -j map dump pinned %s/cni/endpoints", c.r.pin);
	ASSERT_OK(ret, "bpftool map dump");
	ASSERT_STRCONTAINS(out, "\"pod_name\":\"pod-a\"", "endpoint: pod-a's name");
	ASSERT_STRCONTAINS(out, "\"pod_name\":\"pod-b\"", "endpoint: pod-b's name");
	ASSERT_STRCONTAINS(out, "\"pod_namespace\":\"sluice-test\"", "endpoint: pod namespace");

	pod_traffic(&c, &pods[0], &pods[1]);
	/* the service: its backend is pod b; a reaches it through the VIP */
	if (ASSERT_OK(apply_chain(&c, pods[1].ip), "apply: backend pod-b")) {
		vip_traffic(&c, &pods[0], &pods[1]);
		vip_containers(&c, pods);
	}

	for (i = 0; i < 2; i++) {
		ret = cri(&c, "stop %s", pods[i].id);
		ASSERT_OK(ret, "StopPodSandbox");
		pod_inspect(&c, &pods[i], "notready");
		ret = cri(&c, "remove %s", pods[i].id);
		ASSERT_OK(ret, "RemovePodSandbox");
		ret = cri(&c, "inspect %s", pods[i].id);
		ASSERT_NEQ(ret, 0, "removed sandbox is gone");
	}
	counts(&c, &links, &eps, &ipam, &recs);
	ASSERT_EQ(links, 0, "after remove: no host veth");
	ASSERT_EQ(eps, 0, "after remove: no endpoint entry");
	ASSERT_EQ(ipam, 0, "after remove: no IPAM reservation");
	ASSERT_EQ(recs, 0, "after remove: no record");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/cni", c.r.pin);
		ASSERT_EQ(count_pins(p), 3,
			  "after remove: only the endpoints map and the pod datapath pinned");
	}
	ret = sh("nsenter -t %d -m -- sh -c 'ls -A /run/netns /var/lib/cni/results | grep -v : | grep -c .'",
		 (int)c.ctd);
	chomp(out);
	ASSERT_STREQ(out, "0", "after remove: no netns, no cached result");
cleanup:
	teardown(&c);
	netns_cleanup_all();
}
