// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer end to end: a client, a router running the chain (XDP
 * on its client-facing "in" and on the three backend-facing interfaces),
 * three backend namespaces with real socat servers that say who they are
 * and echo, real TCP from the client to the VIP, applied by the real
 * `sluice`:
 *  - connections spread by weight (1:2:1);
 *  - 100 long-lived connections survive a generation that drains one
 *    backend and removes another: every one still echoes, and new
 *    connections go only to the backend left active;
 *  - `sluice services -j` shows backends, weights, states and counters. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define VIP "10.250.9.10"
#define NLONG 100

static const char *const be_ip[3] = { NETNS_R_SERVER4, "10.250.3.2", "10.250.4.2" };

static void make_spec(char *buf, size_t len, bool gen2)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"lb\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"in\",\"hook\":\"xdp\"},{\"interface\":\"out\",\"hook\":\"xdp\"},"
		 "{\"interface\":\"b1\",\"hook\":\"xdp\"},{\"interface\":\"b2\",\"hook\":\"xdp\"}],"
		 "\"functions\":[{\"name\":\"lb\",\"type\":\"loadbalancer\",\"services\":["
		 "{\"name\":\"web\",\"vip\":\"" VIP "\",\"port\":80,\"proto\":\"tcp\",\"backends\":["
		 "{\"ip\":\"%s\",\"port\":8080,\"weight\":1},"
		 "{\"ip\":\"%s\",\"port\":8080,\"weight\":2%s}%s%s%s]}]}]}}\n",
		 be_ip[0], be_ip[1], gen2 ? ",\"state\":\"draining\"" : "",
		 gen2 ? "" : ",{\"ip\":\"", gen2 ? "" : be_ip[2],
		 gen2 ? "" : "\",\"port\":8080,\"weight\":1}");
}

/* Connect to the VIP and read the backend's name line ("be0".."be2"):
 * returns the fd, *which the backend index, or -1. */
static int connect_vip(struct e2e_rig *r, int *which)
{
	char line[16] = {};
	struct pollfd p;
	int fd = e2e_tcp_connect(r->client, VIP, 80, 3000);
	ssize_t n, got = 0;

	*which = -1;
	if (fd < 0)
		return -1;
	while (got < 4) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 3000) <= 0)
			break;
		n = recv(fd, line + got, (size_t)(4 - got), 0);
		if (n <= 0)
			break;
		got += n;
	}
	if (got == 4 && !strncmp(line, "be", 2) && line[3] == '\n')
		*which = line[2] - '0';
	if (*which < 0 || *which > 2) {
		close(fd);
		return -1;
	}
	return fd;
}

void test_lb_e2e(void)
{
	static char spec[4096], out[1 << 16];
	struct e2e_rig r;
	char be[2][NETNS_NAME_MAX];
	int i, err, cnt[3] = { 0 }, fds[NLONG], where[NLONG], which, fd, ok;

	for (i = 0; i < NLONG; i++)
		fds[i] = -1;
	err = e2e_rig_routed(&r);
	if (!ASSERT_OK(err, "rig"))
		goto out;
	/* two more backends behind the router, on b1 and b2 */
	for (i = 0; i < 2; i++) {
		char ifn[8], a[32], g[32];

		snprintf(ifn, sizeof(ifn), "b%d", i + 1);
		snprintf(a, sizeof(a), "10.250.%d.1/24", 3 + i);
		snprintf(g, sizeof(g), "10.250.%d.1", 3 + i);
		err = netns_create("be", be[i]);
		if (!err)
			err = netns_veth(r.router, ifn, be[i], "eth0");
		if (!err)
			err = netns_addr(r.router, ifn, a);
		snprintf(a, sizeof(a), "%s/24", be_ip[i + 1]);
		if (!err)
			err = netns_addr(be[i], "eth0", a);
		if (!err)
			err = netns_route(be[i], "default", g);
		if (!ASSERT_OK(err, "backend namespace"))
			goto out;
	}
	for (i = 0; i < 3; i++) {
		const char *ns = i ? be[i - 1] : r.server;

		ASSERT_GT(netns_spawn(ns, "socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo be%d; cat'", i),
			  0, "backend server");
		ASSERT_OK(netns_wait_listen(ns, IPPROTO_TCP, 8080, 5000), "backend listens");
	}
	make_spec(spec, sizeof(spec), false);
	if (!ASSERT_EQ(e2e_apply(&r, "lb1.json", spec), 0, "apply"))
		goto out;

	if (test__start_subtest("spread_by_weight")) {
		for (i = 0; i < 200; i++) {
			fd = connect_vip(&r, &which);
			if (fd >= 0) {
				cnt[which]++;
				close(fd);
			}
		}
		printf("    200 connections to the vip: %d:%d:%d (weights 1:2:1)\n", cnt[0], cnt[1],
		       cnt[2]);
		ASSERT_EQ(cnt[0] + cnt[1] + cnt[2], 200, "every connection served");
		ASSERT_GT(cnt[1], cnt[0], "weight 2 above weight 1");
		ASSERT_GT(cnt[1], cnt[2], "weight 2 above weight 1 (b)");
		ASSERT_GE(cnt[0], 20, "each backend used");
		ASSERT_GE(cnt[2], 20, "each backend used (b)");
	}
	if (test__start_subtest("drain_and_remove_under_load")) {
		int seen[3] = { 0 };

		for (i = 0; i < NLONG; i++) {
			fds[i] = connect_vip(&r, &where[i]);
			if (fds[i] >= 0)
				seen[where[i]]++;
		}
		ASSERT_EQ(seen[0] + seen[1] + seen[2], NLONG, "long-lived connections");
		make_spec(spec, sizeof(spec), true);
		ASSERT_EQ(e2e_apply(&r, "lb2.json", spec), 0, "apply: drain be1, remove be2");
		for (i = 0, ok = 0; i < NLONG; i++)
			ok += fds[i] >= 0 && !e2e_tcp_echo(fds[i], 2048, (unsigned)i, 3000);
		printf("    %d long-lived connections (%d:%d:%d) still echo after the change: %d\n",
		       NLONG, seen[0], seen[1], seen[2], ok);
		ASSERT_EQ(ok, NLONG, "no long-lived connection broken");
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < 50; i++) {
			fd = connect_vip(&r, &which);
			if (fd >= 0) {
				cnt[which]++;
				close(fd);
			}
		}
		ASSERT_EQ(cnt[0], 50, "new connections: only the active backend");
	}
	if (test__start_subtest("services")) {
		cJSON *doc, *svc, *bes, *b;
		long long pk = 0;

		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j services"), 0, "sluice services");
		doc = cJSON_Parse(out);
		svc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(doc, 0),
									  "services"), 0);
		bes = cJSON_GetObjectItemCaseSensitive(svc, "backends");
		ASSERT_EQ(cJSON_GetArraySize(bes), 2, "two backends listed");
		b = cJSON_GetArrayItem(bes, 1);
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "state")),
			     "draining", "second backend draining");
		cJSON_ArrayForEach(b, bes)
			pk += (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(b, "packets"));
		ASSERT_GT(pk, 0, "backend packets counted");
		cJSON_Delete(doc);
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "services"), 0, "human");
		ASSERT_STRCONTAINS(out, "draining", "human output");
	}
out:
	for (i = 0; i < NLONG; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	netns_cleanup_all();
}
