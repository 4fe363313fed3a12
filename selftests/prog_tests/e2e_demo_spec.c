// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* examples/edge.json, unmodified, on the topology it was written for (the
 * demo's: client eth0 10.200.1.2 -- edge-in | router | edge-out -- server
 * eth0 10.200.2.2, and fd00:200:x::/64), applied by the real `sluice`, with
 * real servers (socat) and real traffic. Its flows must behave as the
 * example and the README say:
 *   allowed: ping v4/v6, tcp 8080, udp 5353 (v4 and v6);
 *   denied:  tcp 9090 (v4 and v6);
 *   audited: udp 7000, counted by audit-udp-7000 (an audit deny counts and
 *            never decides) and delivered: allow-udp-7000 decides.
 * Each rule's counter moves by what was sent (exactly for ICMP and UDP).
 */
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define SRV4 "10.200.2.2"
#define SRV6 "fd00:200:2::2"

static const struct e2e_topo edge_topo = {
	.client_if = "eth0", .router_in = "edge-in", .router_out = "edge-out", .server_if = "eth0",
	.client4 = "10.200.1.2/24", .client6 = "fd00:200:1::2/64",
	.in4 = "10.200.1.1/24", .in6 = "fd00:200:1::1/64",
	.out4 = "10.200.2.1/24", .out6 = "fd00:200:2::1/64",
	.server4 = SRV4 "/24", .server6 = SRV6 "/64",
};

struct counters {
	long long echo4, echo6, tcp8080, udp5353, deny9090, audit7000, allow7000;
	long long def, deny, default_deny;
	bool ok;
};

static struct counters read_counters(struct e2e_rig *r)
{
	struct counters c = {};
	cJSON *st = e2e_stats(r);

	if (!st)
		return c;
	c.echo4 = e2e_rule_packets(st, "fw", "allow-icmp-echo");
	c.echo6 = e2e_rule_packets(st, "fw", "allow-icmpv6-echo");
	c.tcp8080 = e2e_rule_packets(st, "fw", "allow-tcp-8080-server");
	c.udp5353 = e2e_rule_packets(st, "fw", "allow-udp-5353-server");
	c.deny9090 = e2e_rule_packets(st, "fw", "deny-9090");
	c.audit7000 = e2e_rule_packets(st, "fw", "audit-udp-7000");
	c.allow7000 = e2e_rule_packets(st, "fw", "allow-udp-7000");
	c.def = e2e_default_packets(st, "fw");
	c.deny = e2e_drop_packets(st, "firewall_deny");
	c.default_deny = e2e_drop_packets(st, "firewall_default_deny");
	c.ok = c.echo4 >= 0 && c.echo6 >= 0 && c.tcp8080 >= 0 && c.udp5353 >= 0 &&
	       c.deny9090 >= 0 && c.audit7000 >= 0 && c.allow7000 >= 0 && c.def >= 0 && c.deny >= 0 &&
	       c.default_deny >= 0;
	cJSON_Delete(st);
	return c;
}

/* n datagrams echoed by the server on port; how many came back. */
static int udp_echo_n(struct e2e_rig *r, const char *addr, int port, int n)
{
	char msg[64];
	int fd, i, ok = 0;

	fd = e2e_udp_connect(r->client, addr, port);
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof(msg), "sluice-demo-%d #%d", port, i);

		ok += e2e_udp_echo(fd, msg, len, 1000) == 1;
	}
	close(fd);
	return ok;
}

static bool tcp_ok(struct e2e_rig *r, const char *addr, int port)
{
	int fd = e2e_tcp_connect(r->client, addr, port, 2000), err;

	if (fd < 0)
		return false;
	err = e2e_tcp_echo(fd, 16384, port, 5000);
	close(fd);
	return err == 0;
}

static int ping_n(struct e2e_rig *r, const char *addr, int n)
{
	int sent, rcvd;

	if (e2e_ping(r->client, addr, n, 10, 1000, &sent, &rcvd) || sent != n)
		return -1;
	return rcvd;
}

static int setup(struct e2e_rig *r)
{
	static const int tcp_ports[] = { 8080, 9090 }, udp_ports[] = { 5353, 7000 };
	int err, i;

	err = e2e_rig_custom(r, &edge_topo);
	if (err)
		return err;
	for (i = 0; i < 2; i++) {
		if (netns_spawn(r->server, "socat TCP6-LISTEN:%d,ipv6only=0,fork,reuseaddr PIPE",
				tcp_ports[i]) < 0 ||
		    netns_spawn(r->server, "socat UDP6-RECVFROM:%d,ipv6only=0,fork,reuseaddr PIPE",
				udp_ports[i]) < 0)
			return -EIO;
	}
	for (i = 0; i < 2; i++) {
		if (netns_wait_listen(r->server, IPPROTO_TCP, tcp_ports[i], 5000) ||
		    netns_wait_listen(r->server, IPPROTO_UDP, udp_ports[i], 5000))
			return -ETIMEDOUT;
	}
	return 0;
}

void test_e2e_demo_spec(void)
{
	struct e2e_rig r = {};
	struct counters a, b;
	char out[16384];
	const int n = 5;
	int err;

	if (!ASSERT_OK(setup(&r), "rig"))
		goto cleanup;

	/* Without the chain every flow gets through. */
	ASSERT_TRUE(tcp_ok(&r, SRV4, 9090), "tcp 9090 reachable without the chain");
	ASSERT_EQ(udp_echo_n(&r, SRV4, 7000, 1), 1, "udp 7000 reachable without the chain");

	err = e2e_sluice(&r, out, sizeof(out), "apply -f %s", test__src_path("examples/edge.json"));
	if (!ASSERT_EQ(err, 0, "sluice apply -f examples/edge.json")) {
		printf("%s\n", out);
		goto cleanup;
	}
	ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j status"), 0, "status");
	ASSERT_STRCONTAINS(out, "\"interface\":\"edge-in\"", "attached to edge-in");

	if (test__start_subtest("allowed")) {
		a = read_counters(&r);
		if (ASSERT_TRUE(a.ok, "stats")) {
			ASSERT_EQ(ping_n(&r, SRV4, n), n, "ping v4 answered");
			ASSERT_EQ(ping_n(&r, SRV6, n), n, "ping v6 answered");
			ASSERT_TRUE(tcp_ok(&r, SRV4, 8080), "tcp v4 8080 connects and echoes");
			ASSERT_TRUE(tcp_ok(&r, SRV6, 8080), "tcp v6 8080 connects and echoes");
			ASSERT_EQ(udp_echo_n(&r, SRV4, 5353, n), n, "udp v4 5353 echoed");
			ASSERT_EQ(udp_echo_n(&r, SRV6, 5353, n), n, "udp v6 5353 echoed");
			b = read_counters(&r);
			ASSERT_EQ(b.echo4 - a.echo4, n, "allow-icmp-echo counted each request");
			ASSERT_EQ(b.echo6 - a.echo6, n, "allow-icmpv6-echo counted each request");
			ASSERT_GE(b.tcp8080 - a.tcp8080, 2 * 3, "allow-tcp-8080-server counted the connections");
			ASSERT_EQ(b.udp5353 - a.udp5353, 2 * n, "allow-udp-5353-server counted each datagram");
			ASSERT_EQ(b.deny - a.deny, 0, "nothing denied");
		}
	}
	if (test__start_subtest("denied")) {
		a = read_counters(&r);
		if (ASSERT_TRUE(a.ok, "stats")) {
			err = e2e_tcp_connect(r.client, SRV4, 9090, 1000);
			ASSERT_EQ(err, -ETIMEDOUT, "tcp v4 9090 gets no answer");
			if (err >= 0)
				close(err);
			err = e2e_tcp_connect(r.client, SRV6, 9090, 1000);
			ASSERT_EQ(err, -ETIMEDOUT, "tcp v6 9090 gets no answer");
			if (err >= 0)
				close(err);
			b = read_counters(&r);
			ASSERT_GE(b.deny9090 - a.deny9090, 2, "deny-9090 counted the SYNs");
			ASSERT_EQ(b.deny - a.deny, b.deny9090 - a.deny9090, "firewall_deny moved with deny-9090");
		}
	}
	if (test__start_subtest("audited")) {
		a = read_counters(&r);
		if (ASSERT_TRUE(a.ok, "stats")) {
			int got4 = udp_echo_n(&r, SRV4, 7000, n), got6 = udp_echo_n(&r, SRV6, 7000, n);

			b = read_counters(&r);
			printf("    udp 7000: %d/%d v4 and %d/%d v6 echoed; audit-udp-7000 +%lld, "
			       "allow-udp-7000 +%lld, (default) +%lld\n",
			       got4, n, got6, n, b.audit7000 - a.audit7000, b.allow7000 - a.allow7000,
			       b.def - a.def);
			ASSERT_EQ(b.audit7000 - a.audit7000, 2 * n, "audit-udp-7000 counted each datagram");
			ASSERT_EQ(b.allow7000 - a.allow7000, 2 * n, "allow-udp-7000 decided each datagram");
			ASSERT_EQ(got4, n, "udp v4 7000 delivered (audit does not enforce)");
			ASSERT_EQ(got6, n, "udp v6 7000 delivered (audit does not enforce)");
			ASSERT_EQ(b.deny - a.deny, 0, "audit is not a firewall_deny drop");
		}
	}
cleanup:
	netns_cleanup_all();
}
