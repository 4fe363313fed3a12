// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni executed directly, as a runtime does: every command in every
 * version, hostile inputs, fault injection after each step of ADD, GC, and
 * parallel ADD/DEL (docs/cni.md). The plugin runs in a node namespace;
 * pods are namespaces; IPAM is the reference host-local. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "netns.h"
#include "cni_util.h"

#define OUT 65536

static bool have_host_local(void)
{
	if (access("/usr/lib/cni/host-local", X_OK)) {
		test__skip("containernetworking-plugins is not installed (tools/install-deps.sh)");
		return false;
	}
	return true;
}

/* The rig's leftovers: links, IPAM, records, endpoints all zero. */
static void assert_clean(struct cni_rig *r, const char *net, const char *what)
{
	char n[128];

	snprintf(n, sizeof(n), "%s: no host veth", what);
	ASSERT_EQ(cni_count_links(r), 0, n);
	snprintf(n, sizeof(n), "%s: no IPAM reservation", what);
	ASSERT_EQ(cni_count_ipam(r, net), 0, n);
	snprintf(n, sizeof(n), "%s: no record", what);
	ASSERT_EQ(cni_count_records(r, net), 0, n);
	snprintf(n, sizeof(n), "%s: no endpoint entry", what);
	ASSERT_EQ(cni_count_endpoints(r), 0, n);
}

static const char *const all_versions[] = { "0.3.1", "0.4.0", "1.0.0", "1.1.0" };

static void subtest_version(struct cni_rig *r)
{
	char out[OUT], in[128];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(in, sizeof(in), "{\"cniVersion\":\"%s\"}", all_versions[i]);
		ASSERT_EQ(cni_exec(r, "VERSION", NULL, NULL, NULL, NULL, in, strlen(in), out, OUT), 0,
			  "VERSION exit 0");
		ASSERT_STRCONTAINS(out, "\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]",
				   "every version listed");
		ASSERT_STRCONTAINS(out, all_versions[i], "answered in the version asked");
	}
	ASSERT_EQ(cni_exec(r, "VERSION", NULL, NULL, NULL, NULL, "", 0, out, OUT), 0,
		  "VERSION without stdin");
}

/* ADD, CHECK, DEL x3 (empty netns, no prevResult), STATUS, GC per version. */
static void subtest_lifecycle(struct cni_rig *r, const char *pod)
{
	char out[OUT], nspath[PATH_MAX], cid[64], n[128];
	const char *args[] = { "CNI_ARGS=K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0", NULL };
	size_t i;

	snprintf(nspath, sizeof(nspath), "%s", netns_path(pod));
	for (i = 0; i < 4; i++) {
		const char *v = all_versions[i];
		char *conf = cni_conf(r, v, "life", "10.90.0.0/24", NULL), *chk;
		cJSON *res, *prev, *c;
		int rc, j;

		snprintf(cid, sizeof(cid), "life-%zu", i);
		rc = cni_exec(r, "ADD", cid, nspath, "eth0", args, conf, strlen(conf), out, OUT);
		snprintf(n, sizeof(n), "ADD %s exit 0 (%s)", v, out);
		if (!ASSERT_EQ(rc, 0, n)) {
			free(conf);
			continue;
		}
		res = cJSON_Parse(out);
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(res, "cniVersion")), v,
			     "result in the version asked");
		c = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "ips"), 0);
		ASSERT_EQ(!!cJSON_GetObjectItem(c, "version"), strcmp(v, "1.0.0") < 0,
			  "ips[].version only before 1.0.0");
		ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(res, "interfaces")), 2,
			  "host and pod interfaces");
		ASSERT_EQ(netns_run(pod, "ping -c1 -W2 10.90.0.1 >/dev/null"), 0,
			  "pod reaches its gateway");
		ASSERT_EQ(cni_count_endpoints(r), 1, "endpoint recorded");
		ASSERT_EQ(cni_count_ipam(r, "life"), 1, "one reservation");
		/* CHECK with prevResult */
		prev = cJSON_Parse(conf);
		cJSON_AddItemToObject(prev, "prevResult", res);
		chk = cJSON_PrintUnformatted(prev);
		rc = cni_exec(r, "CHECK", cid, nspath, "eth0", NULL, chk, strlen(chk), out, OUT);
		if (strcmp(v, "0.4.0") < 0) {
			ASSERT_EQ(cni_err_code(out), 1, "CHECK before 0.4.0: code 1");
		} else {
			snprintf(n, sizeof(n), "CHECK %s exit 0 (%s)", v, out);
			ASSERT_EQ(rc, 0, n);
			/* a missing address is found */
			netns_run(pod, "ip addr flush dev eth0");
			rc = cni_exec(r, "CHECK", cid, nspath, "eth0", NULL, chk, strlen(chk), out, OUT);
			ASSERT_EQ(cni_err_code(out), 103, "CHECK finds the missing address");
		}
		free(chk);
		cJSON_Delete(prev);
		if (!strcmp(v, "1.1.0")) {
			rc = cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf, strlen(conf), out, OUT);
			ASSERT_EQ(rc, 0, "STATUS 1.1.0: ok");
		} else {
			cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf, strlen(conf), out, OUT);
			ASSERT_EQ(cni_err_code(out), 1, "STATUS before 1.1.0: code 1");
			cni_exec(r, "GC", NULL, NULL, NULL, NULL, conf, strlen(conf), out, OUT);
			ASSERT_EQ(cni_err_code(out), 1, "GC before 1.1.0: code 1");
		}
		for (j = 0; j < 3; j++) {
			rc = cni_exec(r, "DEL", cid, j ? "" : nspath, "eth0", NULL, conf, strlen(conf),
				      out, OUT);
			snprintf(n, sizeof(n), "DEL %s #%d exit 0 (%s)", v, j + 1, out);
			ASSERT_EQ(rc, 0, n);
		}
		snprintf(n, sizeof(n), "after DEL %s", v);
		assert_clean(r, "life", n);
		free(conf);
	}
	/* DEL after the netns is gone, and with no prevResult */
	{
		char pod2[NETNS_NAME_MAX];
		char *conf = cni_conf(r, "1.0.0", "life", "10.90.0.0/24", NULL);

		if (ASSERT_OK(netns_create("gone", pod2), "pod2")) {
			snprintf(nspath, sizeof(nspath), "%s", netns_path(pod2));
			ASSERT_EQ(cni_exec(r, "ADD", "gone1", nspath, "eth0", NULL, conf, strlen(conf),
					   out, OUT), 0, "ADD pod2");
			netns_delete(pod2);
			ASSERT_EQ(cni_exec(r, "DEL", "gone1", nspath, "eth0", NULL, conf, strlen(conf),
					   out, OUT), 0, "DEL after the netns is gone");
			assert_clean(r, "life", "netns gone");
		}
		/* case-insensitive keys and unknown fields */
		free(conf);
		snprintf(nspath, sizeof(nspath), "%s", netns_path(pod));
		{
			char buf[2048];

			snprintf(buf, sizeof(buf),
				 "{\"CNIVERSION\":\"1.0.0\",\"Name\":\"life\",\"TYPE\":\"sluice-cni\","
				 "\"pinroot\":\"%s\",\"StateDir\":\"%s\",\"unknown\":{\"x\":[1,2]},"
				 "\"IPAM\":{\"Type\":\"host-local\",\"dataDir\":\"%s\","
				 "\"ranges\":[[{\"subnet\":\"10.90.0.0/24\"}]]}}",
				 r->pin, r->state, r->ipam);
			ASSERT_EQ(cni_exec(r, "ADD", "case1", nspath, "eth0", NULL, buf, strlen(buf), out,
					   OUT), 0, "keys matched case-insensitively");
			ASSERT_EQ(cni_exec(r, "DEL", "case1", nspath, "eth0", NULL, buf, strlen(buf), out,
					   OUT), 0, "DEL");
			assert_clean(r, "life", "case-insensitive");
		}
	}
}

struct hostile {
	const char *what;
	const char *cmd, *cid, *ifname;
	int netns;		/* 0: the pod, 1: empty, 2: given below */
	const char *netns_path;
	const char *extra;	/* merged into the config */
	const char *raw;	/* replaces the config */
	int code;
};

static void subtest_hostile(struct cni_rig *r, const char *pod)
{
	char evil[PATH_MAX], pwned[PATH_MAX], out[OUT], extra[PATH_MAX * 2], n[256];
	char trav[PATH_MAX * 2], trav2[PATH_MAX * 2], travdir[PATH_MAX];
	char *big;
	size_t i;
	FILE *f;
	struct hostile h[] = {
		{ "container id traversal", "ADD", "../../etc/x", "eth0", 0, NULL, NULL, NULL, 4 },
		{ "container id slash", "ADD", "a/b", "eth0", 0, NULL, NULL, NULL, 4 },
		{ "container id empty", "ADD", "", "eth0", 0, NULL, NULL, NULL, 4 },
		{ "container id leading dot", "DEL", ".hidden", "eth0", 0, NULL, NULL, NULL, 4 },
		{ "ifname 16 bytes", "ADD", "c1", "abcdefghijklmnop", 0, NULL, NULL, NULL, 4 },
		{ "ifname traversal", "ADD", "c1", "../x", 0, NULL, NULL, NULL, 4 },
		{ "ifname dot", "ADD", "c1", ".", 0, NULL, NULL, NULL, 4 },
		{ "ifname dotdot", "DEL", "c1", "..", 0, NULL, NULL, NULL, 4 },
		{ "ifname colon", "ADD", "c1", "eth:0", 0, NULL, NULL, NULL, 4 },
		{ "ifname space", "ADD", "c1", "eth 0", 0, NULL, NULL, NULL, 4 },
		{ "ifname empty", "ADD", "c1", "", 0, NULL, NULL, NULL, 4 },
		{ "netns empty on ADD", "ADD", "c1", "eth0", 1, NULL, NULL, NULL, 4 },
		{ "netns a regular file", "ADD", "c1", "eth0", 2, "/etc/passwd", NULL, NULL, 4 },
		{ "netns traversal", "ADD", "c1", "eth0", 2, "/run/netns/../../etc/passwd", NULL, NULL, 4 },
		{ "netns the plugin's own", "ADD", "c1", "eth0", 2, "/proc/self/ns/net", NULL, NULL, 4 },
		{ "netns a mount ns", "ADD", "c1", "eth0", 2, "/proc/self/ns/mnt", NULL, NULL, 4 },
		{ "network name traversal", "ADD", "c1", "eth0", 0, NULL, "{\"name\":\"../../x\"}", NULL, 7 },
		{ "network name empty", "DEL", "c1", "eth0", 0, NULL, "{\"name\":\"\"}", NULL, 7 },
		{ "ipam type relative path", "ADD", "c1", "eth0", 0, NULL, extra, NULL, 7 },
		{ "ipam type absolute", "ADD", "c1", "eth0", 0, NULL,
		  "{\"ipam\":{\"type\":\"/bin/sh\"}}", NULL, 7 },
		{ "ipam type dotdot", "DEL", "c1", "eth0", 0, NULL, "{\"ipam\":{\"type\":\"..\"}}", NULL, 7 },
		{ "ipam type not found", "ADD", "c1", "eth0", 0, NULL,
		  "{\"ipam\":{\"type\":\"no-such-ipam\"}}", NULL, 101 },
		{ "chain traversal", "ADD", "c1", "eth0", 0, NULL, "{\"chain\":\"../../tmp\"}", NULL, 7 },
		{ "pinRoot traversal", "ADD", "c1", "eth0", 0, NULL, trav, NULL, 7 },
		{ "stateDir traversal", "ADD", "c1", "eth0", 0, NULL, trav2, NULL, 7 },
		{ "stateDir relative", "ADD", "c1", "eth0", 0, NULL, "{\"stateDir\":\"state\"}", NULL, 7 },
		{ "mode unknown", "ADD", "c1", "eth0", 0, NULL, "{\"mode\":\"bridge\"}", NULL, 7 },
		{ "cniVersion unknown", "ADD", "c1", "eth0", 0, NULL, "{\"cniVersion\":\"9.9.9\"}", NULL, 1 },
		{ "cniVersion 0.1.0", "DEL", "c1", "eth0", 0, NULL, "{\"cniVersion\":\"0.1.0\"}", NULL, 1 },
		{ "cniVersion missing", "ADD", "c1", "eth0", 0, NULL, NULL, "{\"name\":\"h\"}", 1 },
		{ "malformed JSON", "ADD", "c1", "eth0", 0, NULL, NULL, "{\"cniVersion\":", 6 },
		{ "not an object", "ADD", "c1", "eth0", 0, NULL, NULL, "[1,2,3]", 6 },
		{ "empty stdin", "DEL", "c1", "eth0", 0, NULL, NULL, "", 6 },
		{ "unknown command", "FOO", "c1", "eth0", 0, NULL, NULL, NULL, 4 },
		{ "no command", NULL, "c1", "eth0", 0, NULL, NULL, NULL, 4 },
	};

	snprintf(travdir, sizeof(travdir), "%s/trav", r->tmp);
	snprintf(trav, sizeof(trav), "{\"pinRoot\":\"/sys/fs/bpf/../../..%s\"}", travdir);
	snprintf(trav2, sizeof(trav2), "{\"stateDir\":\"%s/../trav\"}", r->state);
	snprintf(evil, sizeof(evil), "%s/evil", r->tmp);
	snprintf(pwned, sizeof(pwned), "%s/pwned", r->tmp);
	f = fopen(evil, "w");
	if (!ASSERT_OK_PTR(f, "evil plugin"))
		return;
	fprintf(f, "#!/bin/sh\ntouch %s\necho '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.91.0.9/24\"}]}'\n", pwned);
	fclose(f);
	chmod(evil, 0755);
	/* from CNI_PATH's first dir (the build dir) to the evil script */
	snprintf(extra, sizeof(extra), "{\"ipam\":{\"type\":\"../../../../../../..%s\"}}", evil);

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		char *conf = h[i].raw ? strdup(h[i].raw) : cni_conf(r, "1.0.0", "h", "10.91.0.0/24", h[i].extra);
		const char *ns = h[i].netns == 0 ? netns_path(pod) : h[i].netns == 1 ? "" : h[i].netns_path;
		char nsb[PATH_MAX];
		int rc;

		snprintf(nsb, sizeof(nsb), "%s", ns);
		rc = cni_exec(r, h[i].cmd, h[i].cid, nsb, h[i].ifname, NULL, conf, strlen(conf), out, OUT);
		snprintf(n, sizeof(n), "%s: non-zero exit", h[i].what);
		ASSERT_NEQ(rc, 0, n);
		snprintf(n, sizeof(n), "%s: code %d (%s)", h[i].what, h[i].code, out);
		ASSERT_EQ(cni_err_code(out), h[i].code, n);
		free(conf);
	}
	/* 10 MB of stdin, and JSON nested 1000 deep */
	big = malloc(10 << 20);
	if (ASSERT_OK_PTR(big, "10 MB")) {
		size_t k;

		memset(big, ' ', 10 << 20);
		big[0] = '{';
		big[(10 << 20) - 1] = '}';
		cni_exec(r, "ADD", "c1", netns_path(pod), "eth0", NULL, big, 10 << 20, out, OUT);
		ASSERT_EQ(cni_err_code(out), 6, "10 MB stdin: code 6");
		for (k = 0; k < 1000; k++)
			big[k] = '[';
		for (k = 0; k < 1000; k++)
			big[1000 + k] = ']';
		cni_exec(r, "ADD", "c1", netns_path(pod), "eth0", NULL, big, 2000, out, OUT);
		ASSERT_EQ(cni_err_code(out), 6, "1000-deep JSON: code 6");
		free(big);
	}
	{
		const char *noenv[] = { "CNI_PATH", NULL };
		char *conf = cni_conf(r, "1.0.0", "h", "10.91.0.0/24", NULL);

		cni_exec(r, "ADD", "c1", netns_path(pod), "eth0", noenv, conf, strlen(conf), out, OUT);
		ASSERT_EQ(cni_err_code(out), 4, "no CNI_PATH: code 4");
		free(conf);
	}
	ASSERT_EQ(access(pwned, F_OK), -1, "the traversing IPAM type was never executed");
	ASSERT_EQ(access(travdir, F_OK), -1, "nothing at the traversal target");
	ASSERT_EQ(netns_run(pod, "ip -o link | grep -qv ': lo:'"), 1, "pod netns untouched");
	assert_clean(r, "h", "hostile");
	/* nothing under the state dir but the plugin's own cni/ tree */
	ASSERT_EQ(netns_run(NULL, "find %s -mindepth 1 -maxdepth 1 ! -name cni | grep -q .", r->state), 1,
		  "state dir holds only cni/");
}

/* A pod attached to an operator's chain (config and CNI_ARGS): the chain's
 * entry program at TC ingress of the host veth; CHECK sees it; STATUS fails
 * 50 when the named chain is absent. */
static void subtest_chain(struct cni_rig *r, const char *pod)
{
	static const char *spec =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"pods\"},\"spec\":{\"attach\":["
		"{\"interface\":\"anchor0\",\"hook\":\"tc-ingress\"}],"
		"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
		"\"rules\":[{\"id\":\"deny-udp\",\"action\":\"deny\",\"proto\":\"udp\",\"dstPorts\":[7001]}]}]}}";
	char path[PATH_MAX + 16], out[OUT], buf[256];
	char *conf, *conf11, *chk;
	const char *args[] = { "CNI_ARGS=SLUICE_CHAIN=pods", NULL };
	cJSON *j;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/pods.json", r->tmp);
	f = fopen(path, "w");
	if (!ASSERT_OK_PTR(f, "spec file"))
		return;
	fputs(spec, f);
	fclose(f);
	if (!ASSERT_EQ(netns_run(r->node, "ip link add anchor0 type veth peer name anchor1 && ip link set anchor0 up"), 0,
			 "anchor interface") ||
	    !ASSERT_EQ(netns_run(r->node, "%s --pin-root %s --state-dir %s/chains apply -f %s",
				 test__build_path("sluice"), r->pin, r->tmp, path), 0, "apply the TC chain"))
		return;
	conf = cni_conf(r, "1.0.0", "chn", "10.95.0.0/24", NULL);
	rc = cni_exec(r, "ADD", "chn1", netns_path(pod), "eth0", args, conf, strlen(conf), out, OUT);
	if (!ASSERT_EQ(rc, 0, "ADD with SLUICE_CHAIN=pods"))
		goto out;
	j = cJSON_Parse(out);
	snprintf(buf, sizeof(buf), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "interfaces"), 0), "name")));
	ASSERT_EQ(netns_run(r->node, "tc filter show dev %s ingress | grep -q 'sl_entry'", buf), 0,
		  "the chain's entry program on the host veth");
	{
		cJSON *c = cJSON_Parse(conf);

		cJSON_AddStringToObject(c, "chain", "pods");
		cJSON_AddItemToObject(c, "prevResult", j);
		chk = cJSON_PrintUnformatted(c);
		ASSERT_EQ(cni_exec(r, "CHECK", "chn1", netns_path(pod), "eth0", NULL, chk, strlen(chk), out,
				   OUT), 0, "CHECK sees the chain");
		netns_run(r->node, "tc filter del dev %s ingress", buf);
		cni_exec(r, "CHECK", "chn1", netns_path(pod), "eth0", NULL, chk, strlen(chk), out, OUT);
		ASSERT_EQ(cni_err_code(out), 103, "CHECK finds the chain missing");
		free(chk);
		cJSON_Delete(c);
	}
	ASSERT_EQ(cni_exec(r, "DEL", "chn1", "", "eth0", NULL, conf, strlen(conf), out, OUT), 0, "DEL");
	assert_clean(r, "chn", "chain");
	/* a chain that does not exist: ADD fails clean, STATUS says 50 */
	free(conf);
	conf = cni_conf(r, "1.0.0", "chn", "10.95.0.0/24", "{\"chain\":\"nosuch\"}");
	cni_exec(r, "ADD", "chn2", netns_path(pod), "eth0", NULL, conf, strlen(conf), out, OUT);
	ASSERT_EQ(cni_err_code(out), 102, "ADD with a missing chain: 102");
	assert_clean(r, "chn", "missing chain");
	conf11 = cni_conf(r, "1.1.0", "chn", "10.95.0.0/24", "{\"chain\":\"nosuch\"}");
	cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf11, strlen(conf11), out, OUT);
	ASSERT_EQ(cni_err_code(out), 50, "STATUS without the chain: 50");
	free(conf11);
	conf11 = cni_conf(r, "1.1.0", "chn", "10.95.0.0/24", "{\"chain\":\"pods\"}");
	ASSERT_EQ(cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf11, strlen(conf11), out, OUT), 0,
		  "STATUS with the chain: ok");
	free(conf11);
	conf11 = cni_conf(r, "1.1.0", "chn", "10.95.0.0/24", "{\"pinRoot\":\"/run/no-bpffs\"}");
	cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf11, strlen(conf11), out, OUT);
	ASSERT_EQ(cni_err_code(out), 50, "STATUS without bpffs: 50");
	free(conf11);
out:
	free(conf);
}

/* examples/sluice-cni.conflist, as a runtime hands its plugin to us (name
 * and cniVersion injected), with the test's private dirs. */
static void subtest_example(struct cni_rig *r, const char *pod)
{
	char *text = NULL, *conf = NULL, out[OUT], buf[PATH_MAX];
	cJSON *list, *pl, *ipam;
	FILE *f = fopen(test__src_path("examples/sluice-cni.conflist"), "r");
	long len;

	if (!ASSERT_OK_PTR(f, "examples/sluice-cni.conflist"))
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	if (fread(text, 1, len, f) != (size_t)len)
		len = 0;
	fclose(f);
	list = cJSON_Parse(text);
	pl = cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(list, "plugins"), 0), 1);
	if (!ASSERT_OK_PTR(pl, "first plugin"))
		goto out;
	ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(pl, "type")), "sluice-cni", "type");
	cJSON_AddStringToObject(pl, "name", cJSON_GetStringValue(cJSON_GetObjectItem(list, "name")));
	cJSON_AddStringToObject(pl, "cniVersion", cJSON_GetStringValue(cJSON_GetObjectItem(list, "cniVersion")));
	cJSON_DeleteItemFromObject(pl, "chain"); /* the chain subtest covers chains */
	cJSON_AddStringToObject(pl, "pinRoot", r->pin);
	cJSON_AddStringToObject(pl, "stateDir", r->state);
	ipam = cJSON_GetObjectItem(pl, "ipam");
	cJSON_AddStringToObject(ipam, "dataDir", r->ipam);
	conf = cJSON_PrintUnformatted(pl);
	ASSERT_EQ(cni_exec(r, "ADD", "ex1", netns_path(pod), "eth0", NULL, conf, strlen(conf), out, OUT),
		  0, "ADD with the example");
	ASSERT_STRCONTAINS(out, "\"address\":\"10.244.0.", "an address from its subnet");
	snprintf(buf, sizeof(buf), "%s", out);
	ASSERT_EQ(cni_exec(r, "DEL", "ex1", netns_path(pod), "eth0", NULL, conf, strlen(conf), out, OUT),
		  0, "DEL");
	assert_clean(r, "sluice", "example");
	cJSON_Delete(pl);
out:
	cJSON_Delete(list);
	free(conf);
	free(text);
}

void test_cni(void)
{
	struct cni_rig r;
	char pod[NETNS_NAME_MAX];

	if (!have_host_local())
		return;
	if (!ASSERT_OK(cni_rig_setup(&r), "rig") || !ASSERT_OK(netns_create("pod", pod), "pod"))
		goto cleanup;
	if (test__start_subtest("version"))
		subtest_version(&r);
	if (test__start_subtest("lifecycle"))
		subtest_lifecycle(&r, pod);
	if (test__start_subtest("hostile"))
		subtest_hostile(&r, pod);
	if (test__start_subtest("chain"))
		subtest_chain(&r, pod);
	if (test__start_subtest("example"))
		subtest_example(&r, pod);
cleanup:
	cni_rig_teardown(&r);
	netns_cleanup_all();
}

/* A failure injected after each step of ADD leaves nothing behind. */
void test_cni_fault(void)
{
	static const char *steps[] = { "cni-ipam", "cni-veth", "cni-pod-addr", "cni-pod-route",
				       "cni-host", "cni-chain", "cni-datapath", "cni-endpoint",
				       "cni-record" };
	struct cni_rig r;
	char pod[NETNS_NAME_MAX], out[OUT], n[128], envb[64];
	size_t i;
	char *conf = NULL;

	if (!have_host_local())
		return;
	if (!ASSERT_OK(cni_rig_setup(&r), "rig") || !ASSERT_OK(netns_create("pod", pod), "pod"))
		goto cleanup;
	conf = cni_conf(&r, "1.0.0", "flt", "10.92.0.0/24", NULL);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *e[] = { envb, NULL };
		int rc;

		snprintf(envb, sizeof(envb), "SLUICE_TEST_FAULT=%s", steps[i]);
		rc = cni_exec(&r, "ADD", "flt1", netns_path(pod), "eth0", e, conf, strlen(conf), out, OUT);
		snprintf(n, sizeof(n), "fault after %s: ADD fails (%s)", steps[i], out);
		ASSERT_NEQ(rc, 0, n);
		assert_clean(&r, "flt", steps[i]);
		snprintf(n, sizeof(n), "fault after %s: pod netns has only lo", steps[i]);
		ASSERT_EQ(netns_run(pod, "ip -o link | grep -qv ': lo:'"), 1, n);
	}
	ASSERT_EQ(cni_exec(&r, "ADD", "flt1", netns_path(pod), "eth0", NULL, conf, strlen(conf), out,
			   OUT), 0, "then a clean ADD works");
	ASSERT_EQ(cni_exec(&r, "DEL", "flt1", "", "eth0", NULL, conf, strlen(conf), out, OUT), 0, "DEL");
	assert_clean(&r, "flt", "end");
cleanup:
	free(conf);
	cni_rig_teardown(&r);
	netns_cleanup_all();
}
