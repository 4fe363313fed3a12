// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Source NAT end to end: two client namespaces behind a router whose
 * chain (nat, at tc-egress and tc-ingress of its server-facing "out")
 * masquerades them to 10.250.2.100, a server namespace with a real socat
 * that says whom it sees, applied by the real `sluice`:
 *  - both clients reach the server, which sees the NAT address, and each
 *    gets its own replies (the echo comes back whole to the right socket);
 *  - with 2 ports, a third connection to the same server fails (the SYN is
 *    dropped, nat_ports_exhausted counts), the two others keep working;
 *  - a generation with a larger range lets it through, the first two
 *    still echo. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define NATIP "10.250.2.100"
#define SRV NETNS_R_SERVER4

static void make_spec(char *buf, size_t len, const char *ports)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"nat\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"out\",\"hook\":\"tc-egress\"},{\"interface\":\"out\",\"hook\":\"tc-ingress\"}],"
		 "\"functions\":[{\"name\":\"snat\",\"type\":\"nat\",\"address\":\"" NATIP "\","
		 "\"ports\":\"%s\",\"sources\":[\"10.250.1.0/24\",\"10.250.6.0/24\"]}]}}\n",
		 ports);
}

/* Connect from ns to the server and read the peer address it reports. */
static int conn(const char *ns, char *peer, size_t len, int timeout_ms)
{
	struct pollfd p;
	ssize_t n, got = 0;
	int fd = e2e_tcp_connect(ns, SRV, 7000, timeout_ms);

	peer[0] = '\0';
	if (fd < 0)
		return fd;
	while (got < (ssize_t)len - 1) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 3000) <= 0)
			break;
		n = recv(fd, peer + got, 1, 0);
		if (n <= 0 || peer[got] == '\n')
			break;
		got += n;
	}
	peer[got] = '\0';
	return fd;
}

static long long drops(struct e2e_rig *r, const char *reason)
{
	cJSON *st = e2e_stats(r);
	long long n = st ? e2e_drop_packets(st, reason) : -1;

	cJSON_Delete(st);
	return n;
}

void test_nat_e2e(void)
{
	static char spec[2048];
	char c2[NETNS_NAME_MAX], peer[64];
	struct e2e_rig r;
	int a = -1, b = -1, c = -1, err;

	err = e2e_rig_routed(&r);
	if (!ASSERT_OK(err, "rig"))
		goto out;
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
	if (!ASSERT_OK(err, "second client, NAT address"))
		goto out;
	ASSERT_GT(netns_spawn(r.server, "socat TCP-LISTEN:7000,fork,reuseaddr "
				      "SYSTEM:'echo $SOCAT_PEERADDR; cat'"), 0, "server");
	ASSERT_OK(netns_wait_listen(r.server, IPPROTO_TCP, 7000, 5000), "server listens");
	make_spec(spec, sizeof(spec), "20000-20001");
	if (!ASSERT_EQ(e2e_apply(&r, "nat1.json", spec), 0, "apply, 2 ports"))
		goto out;

	if (test__start_subtest("two_clients")) {
		a = conn(r.client, peer, sizeof(peer), 3000);
		ASSERT_GE(a, 0, "client 1 connects");
		ASSERT_STREQ(peer, NATIP, "server sees the NAT address (client 1)");
		b = conn(c2, peer, sizeof(peer), 3000);
		ASSERT_GE(b, 0, "client 2 connects");
		ASSERT_STREQ(peer, NATIP, "server sees the NAT address (client 2)");
		ASSERT_OK(e2e_tcp_echo(a, 20000, 1, 3000), "client 1 gets its own replies");
		ASSERT_OK(e2e_tcp_echo(b, 20000, 2, 3000), "client 2 gets its own replies");
	}
	if (test__start_subtest("exhausted") && a >= 0 && b >= 0) {
		c = conn(r.client, peer, sizeof(peer), 1500);
		ASSERT_LT(c, 0, "a third connection: no port left");
		ASSERT_GT(drops(&r, "nat_ports_exhausted"), 0, "nat_ports_exhausted counted");
		ASSERT_OK(e2e_tcp_echo(a, 4096, 3, 3000), "client 1 still works");
		ASSERT_OK(e2e_tcp_echo(b, 4096, 4, 3000), "client 2 still works");
		make_spec(spec, sizeof(spec), "20000-20099");
		ASSERT_EQ(e2e_apply(&r, "nat2.json", spec), 0, "apply, 100 ports");
		c = conn(r.client, peer, sizeof(peer), 3000);
		ASSERT_GE(c, 0, "the third connection now");
		ASSERT_STREQ(peer, NATIP, "through the NAT");
		ASSERT_OK(e2e_tcp_echo(a, 4096, 5, 3000), "client 1 across the generation");
		ASSERT_OK(e2e_tcp_echo(b, 4096, 6, 3000), "client 2 across the generation");
	}
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (c >= 0)
		close(c);
	netns_cleanup_all();
}
