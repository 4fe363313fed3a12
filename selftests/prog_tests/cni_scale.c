// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice-cni at scale: GC of 100 attachments of which 40 are no longer
 * valid, and 64-way parallel ADD/DEL of 500 containers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "netns.h"
#include "cni_util.h"

#define OUT 8192

static bool have_host_local(void)
{
	if (access("/usr/lib/cni/host-local", X_OK)) {
		test__skip("containernetworking-plugins is not installed (tools/install-deps.sh)");
		return false;
	}
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 100 attachments over 4 pod namespaces; GC keeps 60 (listed), removes 40. */
void test_cni_gc(void)
{
	struct cni_rig r;
	char pods[4][NETNS_NAME_MAX], out[OUT], cid[32], ifn[16];
	char *conf = NULL, *gc = NULL;
	cJSON *j = NULL, *valid;
	int i, fails = 0;

	if (!have_host_local())
		return;
	if (!ASSERT_OK(cni_rig_setup(&r), "rig"))
		goto cleanup;
	for (i = 0; i < 4; i++)
		if (!ASSERT_OK(netns_create("pod", pods[i]), "pod"))
			goto cleanup;
	conf = cni_conf(&r, "1.1.0", "gcnet", "10.93.0.0/24", NULL);
	for (i = 0; i < 100; i++) {
		snprintf(cid, sizeof(cid), "gc-%03d", i);
		snprintf(ifn, sizeof(ifn), "e%d", i);
		fails += cni_exec(&r, "ADD", cid, netns_path(pods[i % 4]), ifn, NULL, conf, strlen(conf),
				  out, OUT) != 0;
	}
	if (!ASSERT_EQ(fails, 0, "100 ADDs") || !ASSERT_EQ(cni_count_endpoints(&r), 100, "100 endpoints"))
		goto cleanup;
	/* valid: every i with i % 5 >= 2 (60); invalid: i % 5 < 2 (40) */
	j = cJSON_Parse(conf);
	valid = cJSON_AddArrayToObject(j, "cni.dev/valid-attachments");
	for (i = 0; i < 100; i++) {
		cJSON *a;

		if (i % 5 < 2)
			continue;
		a = cJSON_CreateObject();
		snprintf(cid, sizeof(cid), "gc-%03d", i);
		snprintf(ifn, sizeof(ifn), "e%d", i);
		cJSON_AddStringToObject(a, "containerID", cid);
		cJSON_AddStringToObject(a, "ifname", ifn);
		cJSON_AddItemToArray(valid, a);
	}
	gc = cJSON_PrintUnformatted(j);
	ASSERT_EQ(cni_exec(&r, "GC", NULL, NULL, NULL, NULL, gc, strlen(gc), out, OUT), 0, "GC exit 0");
	ASSERT_EQ(cni_count_endpoints(&r), 60, "60 endpoints left");
	ASSERT_EQ(cni_count_ipam(&r, "gcnet"), 60, "60 IPAM reservations left");
	ASSERT_EQ(cni_count_records(&r, "gcnet"), 60, "60 records left");
	ASSERT_EQ(cni_count_links(&r), 60, "60 host veths left");
	for (i = 0, fails = 0; i < 100; i++) {
		char n[32];

		snprintf(n, sizeof(n), "e%d", i);
		/* exactly the invalid ones are gone: their pod end went with the veth */
		fails += (netns_run(pods[i % 4], "ip link show %s >/dev/null 2>&1", n) == 0) != (i % 5 >= 2);
	}
	ASSERT_EQ(fails, 0, "exactly the 40 invalid attachments were cleaned");
	/* The same again with the older key: everything goes. */
	free(gc);
	cJSON_Delete(j);
	j = cJSON_Parse(conf);
	cJSON_AddArrayToObject(j, "cni.dev/attachments");
	gc = cJSON_PrintUnformatted(j);
	ASSERT_EQ(cni_exec(&r, "GC", NULL, NULL, NULL, NULL, gc, strlen(gc), out, OUT), 0,
		  "GC with cni.dev/attachments");
	ASSERT_EQ(cni_count_endpoints(&r), 0, "no endpoint left");
	ASSERT_EQ(cni_count_ipam(&r, "gcnet"), 0, "no reservation left");
	ASSERT_EQ(cni_count_records(&r, "gcnet"), 0, "no record left");
	ASSERT_EQ(cni_count_links(&r), 0, "no host veth left");
cleanup:
	free(gc);
	free(conf);
	cJSON_Delete(j);
	cni_rig_teardown(&r);
	netns_cleanup_all();
}

#define NPAR 64
#define NCONT 500
#define NPODNS 16

/* Worker w runs containers w, w+64, ...: cmd for each; writes the address
 * of each ADD, one per line, to its file. Exits with the failure count. */
static int worker(struct cni_rig *r, char pods[][NETNS_NAME_MAX], int w, const char *cmd,
		  const char *conf, const char *dir)
{
	char out[OUT], cid[32], ifn[16], path[PATH_MAX];
	int i, fails = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d", dir, cmd, w);
	f = fopen(path, "w");
	if (!f)
		return 1;
	for (i = w; i < NCONT; i += NPAR) {
		cJSON *res, *ip;

		snprintf(cid, sizeof(cid), "par-%03d", i);
		snprintf(ifn, sizeof(ifn), "p%d", i);
		if (cni_exec(r, cmd, cid, netns_path(pods[i % NPODNS]), ifn, NULL, conf, strlen(conf),
			     out, OUT)) {
			fprintf(stderr, "%s %s: %s\n", cmd, cid, out);
			fails++;
			continue;
		}
		if (strcmp(cmd, "ADD"))
			continue;
		res = cJSON_Parse(out);
		ip = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "ips"), 0), "address");
		fprintf(f, "%s\n", cJSON_IsString(ip) ? ip->valuestring : "none");
		cJSON_Delete(res);
	}
	fclose(f);
	return fails > 255 ? 255 : fails;
}

static int run_parallel(struct cni_rig *r, char pods[][NETNS_NAME_MAX], const char *cmd,
			const char *conf, const char *dir)
{
	pid_t pids[NPAR];
	int w, fails = 0, st;

	for (w = 0; w < NPAR; w++) {
		pids[w] = fork();
		if (!pids[w])
			_exit(worker(r, pods, w, cmd, conf, dir));
	}
	for (w = 0; w < NPAR; w++) {
		if (pids[w] < 0 || waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st))
			fails++;
		else
			fails += WEXITSTATUS(st);
	}
	return fails;
}

void test_cni_parallel(void)
{
	struct cni_rig r;
	char pods[NPODNS][NETNS_NAME_MAX];
	char *conf = NULL;
	double t0, t_add, t_del;
	int i, dups;

	if (!have_host_local())
		return;
	if (!ASSERT_OK(cni_rig_setup(&r), "rig"))
		goto cleanup;
	for (i = 0; i < NPODNS; i++)
		if (!ASSERT_OK(netns_create("pod", pods[i]), "pod"))
			goto cleanup;
	conf = cni_conf(&r, "1.0.0", "par", "10.94.0.0/22", NULL);
	t0 = now_s();
	ASSERT_EQ(run_parallel(&r, pods, "ADD", conf, r.tmp), 0, "500 ADDs, 64 at a time, all succeed");
	t_add = now_s() - t0;
	/* duplicates across every worker's addresses */
	{
		char line[256];
		int n = 0;

		dups = netns_run_out(NULL, line, sizeof(line),
				     "cat %s/ADD-* | grep -v none | sort | uniq -d | wc -l", r.tmp) ? -1 : atoi(line);
		netns_run_out(NULL, line, sizeof(line), "cat %s/ADD-* | grep -v none | sort -u | wc -l",
			      r.tmp);
		n = atoi(line);
		ASSERT_EQ(dups, 0, "0 duplicate addresses");
		ASSERT_EQ(n, NCONT, "500 distinct addresses");
	}
	ASSERT_EQ(cni_count_endpoints(&r), NCONT, "500 endpoints");
	ASSERT_EQ(cni_count_ipam(&r, "par"), NCONT, "500 reservations");
	ASSERT_EQ(cni_count_links(&r), NCONT, "500 host veths");
	t0 = now_s();
	ASSERT_EQ(run_parallel(&r, pods, "DEL", conf, r.tmp), 0, "500 DELs, 64 at a time, all succeed");
	t_del = now_s() - t0;
	ASSERT_EQ(cni_count_endpoints(&r), 0, "0 endpoints leaked");
	ASSERT_EQ(cni_count_ipam(&r, "par"), 0, "0 reservations leaked");
	ASSERT_EQ(cni_count_records(&r, "par"), 0, "0 records leaked");
	ASSERT_EQ(cni_count_links(&r), 0, "0 veths leaked");
	printf("    cni_parallel: %d ADD in %.1f s, %d DEL in %.1f s (64 workers)\n", NCONT, t_add,
	       NCONT, t_del);
	ASSERT_LT(t_add + t_del, 60, "under a minute: no deadlock");
cleanup:
	free(conf);
	cni_rig_teardown(&r);
	netns_cleanup_all();
}
