// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A chain at TC: the same entry and stages built as sched_cls programs,
 * attached as cls_bpf filters on clsact ingress and egress. Real UDP
 * through the router's interface: denied datagrams are not delivered and
 * counted exactly, allowed ones echo back through the egress hook; status,
 * trace and detach speak TC; a chain cannot mix XDP and TC, nor move from
 * one to the other without a detach.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "e2e_util.h"

#define UDP_OK 7000
#define UDP_DENIED 7001

static const char *tc_spec =
	"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
	"\"metadata\":{\"name\":\"t\"},\"spec\":{\"attach\":["
	"{\"interface\":\"in\",\"hook\":\"tc-ingress\"},{\"interface\":\"in\",\"hook\":\"tc-egress\"}],"
	"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\","
	"\"rules\":[{\"id\":\"deny-udp\",\"action\":\"deny\",\"proto\":\"udp\",\"dstPorts\":[7001]}]}]}}";

static const char *mixed_spec =
	"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
	"\"metadata\":{\"name\":\"t\"},\"spec\":{\"attach\":["
	"{\"interface\":\"in\",\"hook\":\"tc-ingress\"},{\"interface\":\"out\",\"hook\":\"xdp\"}],"
	"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\"}]}}";

static const char *xdp_spec =
	"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
	"\"metadata\":{\"name\":\"t\"},\"spec\":{\"attach\":["
	"{\"interface\":\"in\",\"hook\":\"xdp\"}],"
	"\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\"}]}}";

static int echo_count(struct e2e_rig *r, int port, int n)
{
	char msg[32];
	int fd, i, ok = 0;

	fd = e2e_udp_connect(r->client, NETNS_R_SERVER4, port);
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "tc-%d-%d", port, i);
		ok += e2e_udp_echo(fd, msg, strlen(msg), port == UDP_DENIED ? 200 : 2000) == 1;
	}
	close(fd);
	return ok;
}

void test_e2e_tc(void)
{
	struct e2e_rig r = {};
	char out[16384];
	cJSON *st = NULL;
	int port;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto cleanup;
	for (port = UDP_OK; port <= UDP_DENIED; port++) {
		if (!ASSERT_GT(netns_spawn(r.server, "socat UDP4-RECVFROM:%d,fork,reuseaddr PIPE", port),
			       0, "udp echo server") ||
		    !ASSERT_OK(netns_wait_listen(r.server, IPPROTO_UDP, port, 5000), "server up"))
			goto cleanup;
	}
	ASSERT_EQ(echo_count(&r, UDP_DENIED, 3), 3, "before the chain, 7001 echoes");

	if (test__start_subtest("plane_rules")) {
		ASSERT_EQ(e2e_apply(&r, "mixed.json", mixed_spec), 2, "XDP and TC in one chain: exit 2");
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "status"), 4, "and nothing was created");
	}
	if (!ASSERT_EQ(e2e_apply(&r, "tc.json", tc_spec), 0, "apply at TC"))
		goto cleanup;

	if (test__start_subtest("traffic")) {
		ASSERT_EQ(echo_count(&r, UDP_OK, 20), 20, "allowed UDP echoes through both hooks");
		ASSERT_EQ(echo_count(&r, UDP_DENIED, 10), 0, "denied UDP never delivered");
		st = e2e_stats(&r);
		ASSERT_EQ(e2e_rule_packets(st, "fw", "deny-udp"), 10, "deny rule counts each datagram once");
		/* 20 requests at ingress + 20 replies at egress */
		ASSERT_GE(e2e_default_packets(st, "fw"), 40, "default counts both directions");
		ASSERT_EQ(e2e_drop_packets(st, "firewall_deny"), 10, "drop reason");
	}
	if (test__start_subtest("status_trace")) {
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j status"), 0, "status");
		ASSERT_STRCONTAINS(out, "\"interface\":\"in\",\"hook\":\"tc-ingress\",\"mode\":\"cls_bpf\"",
				   "ingress attach point");
		ASSERT_STRCONTAINS(out, "\"hook\":\"tc-egress\"", "egress attach point");
		ASSERT_EQ(netns_run_out(r.router, out, sizeof(out),
					"tc filter show dev in ingress; tc filter show dev in egress"), 0, "tc");
		ASSERT_STRCONTAINS(out, "handle 0x51c sl_entry", "sluice's filter is there");
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j trace udp 10.250.1.2:5 10.250.2.2:7001"),
			  0, "trace");
		ASSERT_STRCONTAINS(out, "\"tc_action\":\"TC_ACT_SHOT\"", "trace speaks TC");
		ASSERT_STRCONTAINS(out, "\"rule\":\"deny-udp\"", "and names the rule");
	}
	if (test__start_subtest("idempotent_and_plane_fixed")) {
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j apply -f %s/tc.json", r.tmp), 0, "again");
		ASSERT_STRCONTAINS(out, "\"unchanged\":true", "the same spec changes nothing");
		ASSERT_EQ(e2e_apply(&r, "xdp.json", xdp_spec), 2, "moving to XDP needs a detach");
		ASSERT_EQ(echo_count(&r, UDP_DENIED, 2), 0, "the TC generation still judges");
	}
	if (test__start_subtest("detach")) {
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "detach"), 0, "detach");
		ASSERT_EQ(netns_run_out(r.router, out, sizeof(out),
					"tc filter show dev in ingress; tc filter show dev in egress"), 0, "tc");
		ASSERT_FALSE(strstr(out, "sl_entry"), "no sluice filter left");
		ASSERT_EQ(echo_count(&r, UDP_DENIED, 3), 3, "7001 echoes again");
	}
cleanup:
	cJSON_Delete(st);
	netns_cleanup_all();
}
