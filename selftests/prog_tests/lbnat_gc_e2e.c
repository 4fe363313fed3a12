// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Idle timeouts and the agent's sweep end to end: the real sluiced
 * (--gc-interval 1) applies a chain in the router of a client -- router --
 * server rig, real UDP flows cross it, the test plays the server (so it
 * sees each datagram's translated source) and keeps one flow active while
 * another idles past its 2 s timeout:
 *  - nat: conntrack + a 2-port nat at tc-egress/tc-ingress of the router's
 *    server side, two clients; a third flow is refused while the idle
 *    mapping holds its port, and gets exactly that port once the agent's
 *    sweep removed it; the active flow keeps its port throughout; `sluice
 *    nat -j` lists the two live mappings;
 *  - lb: a UDP service at XDP on both router sides; the idle flow's entries
 *    are swept (the server's late reply to it is no longer translated, so
 *    the client drops it), the active one stays pinned; `sluice services`
 *    counts one flow;
 *  - the exposition: sluice_flow_expired_total, sluice_flow_live_entries,
 *    sluice_gc_runs_total (and `promtool check metrics` when installed).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "sluiced_util.h"

#define NATIP "10.250.2.100"
#define VIP "10.250.9.10"
#define SRV NETNS_R_SERVER4
#define SPORT 7001

struct srv {
	int fd;
	char peer[64];	/* last datagram's source: "a.b.c.d:port" */
	uint16_t port;
};

/* One datagram from cfd to the server and its echo back: 0; -ETIMEDOUT
 * when the server saw nothing, -EPIPE when the echo did not come back. */
static int round_trip(int cfd, struct srv *s, int timeout_ms)
{
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	char buf[64] = "x", a[INET6_ADDRSTRLEN];
	const char *v4;
	ssize_t n;

	if (send(cfd, buf, 8, 0) != 8)
		return -errno;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return -EIO;
	inet_ntop(AF_INET6, &from.sin6_addr, a, sizeof(a));
	v4 = strncmp(a, "::ffff:", 7) ? a : a + 7;
	s->port = ntohs(from.sin6_port);
	snprintf(s->peer, sizeof(s->peer), "%s:%u", v4, s->port);
	if (sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) != n)
		return -errno;
	p.fd = cfd;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -EPIPE;
	return recv(cfd, buf, sizeof(buf), 0) == n ? 0 : -EIO;
}

static double metric(struct e2e_rig *r, int port, const char *series)
{
	static char out[1 << 20];

	if (sd_http(r, port, "/metrics", out, sizeof(out)) != 200)
		return -2;
	return sd_metric(out, series);
}

static int start(struct e2e_rig *r, struct sd_agent *a, int port, const char *spec)
{
	char specs[PATH_MAX], path[PATH_MAX + 16];
	int err;

	snprintf(specs, sizeof(specs), "%s/specs", r->tmp);
	mkdir(specs, 0700);
	snprintf(path, sizeof(path), "%s/chain.json", specs);
	err = e2e_write_file(path, spec);
	if (!err)
		err = sd_start(r, a, port, "agent.log", NULL, "--gc-interval 1", specs);
	if (!err)
		err = sd_wait_ready(r, port, 15000);
	return err;
}

static void nat(void)
{
	static const char spec[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"gcn\"},\"spec\":{\"attach\":["
		"{\"interface\":\"out\",\"hook\":\"tc-egress\"},{\"interface\":\"out\",\"hook\":\"tc-ingress\"}],"
		"\"functions\":[{\"name\":\"ct\",\"type\":\"conntrack\",\"timeouts\":{\"udp\":2,\"udpReplied\":2}},"
		"{\"name\":\"snat\",\"type\":\"nat\",\"address\":\"" NATIP "\",\"ports\":\"20000-20001\","
		"\"timeouts\":{\"udp\":2,\"udpReplied\":2},"
		"\"sources\":[\"10.250.1.0/24\",\"10.250.6.0/24\"]}]}}\n";
	struct sd_agent ag = { .pid = -1 };
	struct srv s = { .fd = -1 };
	struct e2e_rig r;
	char c2[NETNS_NAME_MAX], out[8192];
	int a = -1, b = -1, c = -1, port = 19781, i, err, through = -1;
	uint16_t pa, pb;
	cJSON *list = NULL;

	err = e2e_rig_routed(&r);
	if (!err)
		err = netns_create("c2", c2);
	if (!err)
		err = netns_veth(r.router, "in2", c2, "eth0");
	if (!err)
		err = netns_addr(r.router, "in2", "10.250.6.1/24");
	if (!err)
		err = netns_addr(c2, "eth0", "10.250.6.2/24");
	if (!err)
		err = netns_route(c2, "default", "10.250.6.1");
	if (!err)
		err = netns_run(r.router, "ip addr add " NATIP "/32 dev out");
	if (!ASSERT_OK(err, "rig"))
		goto out;
	s.fd = e2e_udp_bind(r.server, SPORT);
	if (!ASSERT_GE(s.fd, 0, "server socket") || !ASSERT_OK(start(&r, &ag, port, spec), "agent"))
		goto out;
	a = e2e_udp_connect(r.client, SRV, SPORT);
	b = e2e_udp_connect(c2, SRV, SPORT);
	c = e2e_udp_connect(r.client, SRV, SPORT);
	if (!ASSERT_GE(a, 0, "a") || !ASSERT_GE(b, 0, "b") || !ASSERT_GE(c, 0, "c"))
		goto out;
	if (!ASSERT_OK(round_trip(a, &s, 2000), "a through the NAT"))
		goto out;
	pa = s.port;
	ASSERT_TRUE(!strncmp(s.peer, NATIP ":", strlen(NATIP) + 1), "the server sees the NAT address");
	if (!ASSERT_OK(round_trip(b, &s, 2000), "b through the NAT"))
		goto out;
	pb = s.port;
	ASSERT_NEQ(pa, pb, "two ports");
	ASSERT_EQ(round_trip(c, &s, 500), -ETIMEDOUT, "c: both ports taken");
	/* a stays active every 300 ms; b idles; c tries again from 2.4 s */
	for (i = 0; i < 20 && through < 0; i++) {
		e2e_sleep_ms(300);
		ASSERT_OK(round_trip(a, &s, 1000), "a keeps echoing");
		ASSERT_EQ(s.port, pa, "a keeps its port");
		if (i >= 7 && !round_trip(c, &s, 300)) {
			through = i;
			ASSERT_EQ(s.port, pb, "c gets the idle flow's port");
		}
	}
	ASSERT_GE(through, 0, "c through once the sweep freed b's port");
	printf("    c through after %d ms (timeout 2 s, sweep every 1 s)\n", (through + 1) * 300 + 500);
	ASSERT_OK(round_trip(a, &s, 1000), "a still");
	ASSERT_EQ(s.port, pa, "a's port");
	ASSERT_GE(metric(&r, port, "sluice_flow_expired_total{chain=\"gcn\",table=\"nat_flows\"}"), 1,
		  "nat_flows expired counted");
	ASSERT_GE(metric(&r, port, "sluice_flow_expired_total{chain=\"gcn\",table=\"nat_rev\"}"), 1,
		  "nat_rev expired counted");
	ASSERT_GE(metric(&r, port, "sluice_flow_expired_total{chain=\"gcn\",table=\"ct_table\"}"), 1,
		  "conntrack swept too");
	ASSERT_EQ(metric(&r, port, "sluice_flow_live_entries{chain=\"gcn\",table=\"nat_flows\"}"), 2,
		  "two live mappings");
	ASSERT_GE(metric(&r, port, "sluice_gc_runs_total{chain=\"gcn\",result=\"ok\"}"), 2,
		  "sweeps ran");
	ASSERT_EQ(metric(&r, port, "sluice_flow_insert_failed_total{chain=\"gcn\",table=\"nat_flows\",reason=\"busy\"}"),
		  0, "no contention");
	ASSERT_EQ(metric(&r, port, "sluice_nat_ports_adopted_total{chain=\"gcn\"}"), 0,
		  "no port adopted");
	{ /* sluice stats: the nat function's tables and counters */
		cJSON *st = e2e_stats(&r), *fn;
		const cJSON *t, *ctr;
		bool seen = false;

		cJSON_ArrayForEach(fn, cJSON_GetObjectItem(st, "functions")) {
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(fn, "type")) ?: "", "nat"))
				continue;
			seen = true;
			t = cJSON_GetObjectItem(cJSON_GetObjectItem(fn, "flow_tables"), "nat_flows");
			ctr = cJSON_GetObjectItem(fn, "flow_counters");
			ASSERT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(t, "live_entries")), 2,
				  "stats: 2 live mappings");
			ASSERT_GE(cJSON_GetNumberValue(cJSON_GetObjectItem(ctr, "gc_removed")), 1,
				  "stats: gc_removed");
			ASSERT_GE(cJSON_GetNumberValue(cJSON_GetObjectItem(ctr, "created")), 3,
				  "stats: created");
		}
		ASSERT_TRUE(seen, "stats lists the nat function");
		cJSON_Delete(st);
	}
	if (ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-c gcn -j nat"), 0, "sluice nat -j")) {
		list = cJSON_Parse(out);
		ASSERT_EQ(cJSON_GetArraySize(list), 2, "two mappings listed");
	}
	if (netns_have_tool("promtool")) {
		static char text[1 << 20];
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/metrics.txt", r.tmp);
		if (sd_http(&r, port, "/metrics", text, sizeof(text)) == 200 &&
		    !e2e_write_file(path, text))
			ASSERT_EQ(netns_run_out(NULL, out, sizeof(out), "promtool check metrics < %s 2>&1",
						path), 0, "promtool check metrics");
	}
out:
	cJSON_Delete(list);
	if (ag.pid > 0)
		sd_stop(&ag, SIGTERM, 5000);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (c >= 0)
		close(c);
	if (s.fd >= 0)
		close(s.fd);
	netns_cleanup_all();
}

static void lb(void)
{
	static const char spec[] =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"gcl\"},\"spec\":{\"attach\":["
		"{\"interface\":\"in\",\"hook\":\"xdp\"},{\"interface\":\"out\",\"hook\":\"xdp\"}],"
		"\"functions\":[{\"name\":\"lb\",\"type\":\"loadbalancer\","
		"\"timeouts\":{\"udp\":2,\"udpReplied\":2},\"services\":["
		"{\"name\":\"echo\",\"vip\":\"" VIP "\",\"port\":7001,\"proto\":\"udp\","
		"\"backends\":[{\"ip\":\"" SRV "\"}]}]}]}}\n";
	struct sd_agent ag = { .pid = -1 };
	struct srv s = { .fd = -1 };
	struct e2e_rig r;
	char out[8192];
	int a = -1, b = -1, port = 19782, i, err;
	cJSON *js = NULL;

	err = e2e_rig_routed(&r);
	if (!ASSERT_OK(err, "rig"))
		goto out;
	s.fd = e2e_udp_bind(r.server, SPORT);
	if (!ASSERT_GE(s.fd, 0, "server socket") || !ASSERT_OK(start(&r, &ag, port, spec), "agent"))
		goto out;
	a = e2e_udp_connect(r.client, VIP, SPORT);
	b = e2e_udp_connect(r.client, VIP, SPORT);
	if (!ASSERT_GE(a, 0, "a") || !ASSERT_GE(b, 0, "b"))
		goto out;
	if (!ASSERT_OK(round_trip(a, &s, 2000), "a through the VIP") ||
	    !ASSERT_OK(round_trip(b, &s, 2000), "b through the VIP"))
		goto out;
	ASSERT_EQ(metric(&r, port, "sluice_flow_live_entries{chain=\"gcl\",table=\"lb_flows\"}"), 2,
		  "two live flows");
	for (i = 0; i < 12; i++) {
		e2e_sleep_ms(300);
		ASSERT_OK(round_trip(a, &s, 1000), "a keeps echoing");
	}
	/* 3.6 s: b's flow expired (2 s) and was swept (every 1 s) */
	ASSERT_EQ(metric(&r, port, "sluice_flow_entries{chain=\"gcl\",table=\"lb_flows\"}"), 1,
		  "b's forward entry swept, a's stays");
	ASSERT_EQ(metric(&r, port, "sluice_flow_entries{chain=\"gcl\",table=\"lb_rev\"}"), 1,
		  "b's reverse entry swept, a's stays");
	ASSERT_GE(metric(&r, port, "sluice_flow_expired_total{chain=\"gcl\",table=\"lb_flows\"}"), 1,
		  "lb_flows expired counted");
	ASSERT_GE(metric(&r, port, "sluice_gc_runs_total{chain=\"gcl\",result=\"ok\"}"), 2,
		  "sweeps ran");
	ASSERT_EQ(metric(&r, port, "sluice_lb_fib_packets_total{chain=\"gcl\",result=\"redirected\"}"), 0,
		  "no fib: nothing redirected");
	if (ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-c gcl -j services"), 0, "sluice services")) {
		const cJSON *be;

		js = cJSON_Parse(out);
		be = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
			cJSON_GetArrayItem(js, 0), "services"), 0), "backends"), 0);
		ASSERT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(be, "flows")), 1, "one flow pinned");
	}
	/* b comes back: a new flow, balanced again */
	ASSERT_OK(round_trip(b, &s, 2000), "b again: a new flow");
	ASSERT_OK(round_trip(a, &s, 1000), "a still");
out:
	cJSON_Delete(js);
	if (ag.pid > 0)
		sd_stop(&ag, SIGTERM, 5000);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (s.fd >= 0)
		close(s.fd);
	netns_cleanup_all();
}

void test_lbnat_gc_e2e(void)
{
	if (test__start_subtest("nat"))
		nat();
	if (test__start_subtest("lb"))
		lb();
}
