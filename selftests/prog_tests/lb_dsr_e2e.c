// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer's dsr mode end to end: a client, a router running the
 * chain with XDP on its client-facing "in" only, and a backend ("server")
 * with the VIPs on lo and the decapsulator (bpf/lb_decap.bpf.c) at TC
 * ingress on its interface (this kernel has no ipip, ip6tnl or fou). Real
 * TCP from the client to three services:
 *  - 10.250.9.20:80 over IP-in-IP, the outer source the router's address
 *    toward the backend (no encapSource);
 *  - 10.250.9.20:81 over GUE (UDP 6080);
 *  - [fd00:250:9::20]:443 over IPv6-in-IPv6.
 * The backend (socat) first names the peer it sees, the client's own
 * address (no NAT), then echoes full-size segments; its replies go out
 * from the VIP straight back through the router's stack, which runs no
 * program on their way ("out"): they bypass the load balancer, which made
 * no reverse entry. The router-backend link has room for the outer
 * header (MTU 1600), as a dsr deployment needs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "lb_decap.skel.h"
#include "shared/lb.h"

#define VIP4 "10.250.9.20"
#define VIP6 "fd00:250:9::20"
#define NCONN 20
/* NETNS_R_CLIENT6 as socat's SOCAT_PEERADDR writes it */
#define CLIENT6_SOCAT "[fd00:0250:0001:0000:0000:0000:0000:0002]"

/* Connect, read the line naming the peer the backend saw, echo 16 KiB.
 * 0 when all went well. */
static int one(struct e2e_rig *r, const char *vip, int port, const char *client, unsigned seed)
{
	char line[64] = {}, want[64];
	struct pollfd p;
	ssize_t n, got = 0;
	int fd = e2e_tcp_connect(r->client, vip, port, 3000), err = -EIO;

	if (fd < 0)
		return fd;
	snprintf(want, sizeof(want), "%s\n", client);
	while (got < (ssize_t)strlen(want)) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 3000) <= 0)
			break;
		n = recv(fd, line + got, strlen(want) - (size_t)got, 0);
		if (n <= 0)
			break;
		got += n;
	}
	if (strcmp(line, want)) {
		printf("    %s:%d: the backend saw \"%s\", want \"%s\"\n", vip, port, line, client);
		goto out;
	}
	err = e2e_tcp_echo(fd, 16384, seed, 3000);
out:
	close(fd);
	return err;
}

static int attach_decap(const char *ns, struct lb_decap *skel)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(skel->progs.lb_decap));
	int old = netns_enter(ns), err;

	if (old < 0)
		return old;
	hook.ifindex = (int)if_nametoindex("eth0");
	err = hook.ifindex ? bpf_tc_hook_create(&hook) : -ENODEV;
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &opts);
	netns_restore(old);
	return err;
}

void test_lb_dsr_e2e(void)
{
	static char spec[4096], path[4200];
	struct lb_decap *decap = NULL;
	struct lb_flow_key k;
	struct e2e_rig r;
	int i, err, ok4 = 0, okg = 0, ok6 = 0, fd;

	err = e2e_rig_routed(&r);
	if (!ASSERT_OK(err, "rig"))
		goto out;
	/* The encapsulated packet enters the router's stack with the router's
	 * own address as its outer source: martian unless accept_local. */
	err = netns_sysctl(r.router, "net.ipv4.conf.in.accept_local", "1");
	if (!err)
		err = netns_run(r.router, "ip link set dev out mtu 1600");
	if (!err)
		err = netns_run(r.server, "ip link set dev eth0 mtu 1600");
	if (!err)
		err = netns_run(r.server, "ip addr add " VIP4 "/32 dev lo && ip addr add " VIP6
					  "/128 dev lo nodad");
	if (!ASSERT_OK(err, "backend: mtu, vips on lo"))
		goto out;
	decap = lb_decap__open_and_load();
	if (!ASSERT_OK_PTR(decap, "lb_decap load") ||
	    !ASSERT_OK(attach_decap(r.server, decap), "lb_decap at the backend's TC ingress"))
		goto out;
	ASSERT_GT(netns_spawn(r.server, "socat TCP4-LISTEN:80,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR; cat'"),
		  0, "server :80");
	ASSERT_GT(netns_spawn(r.server, "socat TCP4-LISTEN:81,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR; cat'"),
		  0, "server :81");
	ASSERT_GT(netns_spawn(r.server, "socat TCP6-LISTEN:443,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR; cat'"),
		  0, "server :443");
	ASSERT_OK(netns_wait_listen(r.server, IPPROTO_TCP, 80, 5000), "listens :80");
	ASSERT_OK(netns_wait_listen(r.server, IPPROTO_TCP, 81, 5000), "listens :81");
	ASSERT_OK(netns_wait_listen(r.server, IPPROTO_TCP, 443, 5000), "listens :443");

	snprintf(spec, sizeof(spec),
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"dsr\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"in\",\"hook\":\"xdp\"}],"
		 "\"functions\":[{\"name\":\"lb\",\"type\":\"loadbalancer\",\"services\":["
		 "{\"name\":\"ipip\",\"vip\":\"" VIP4 "\",\"port\":80,\"proto\":\"tcp\",\"mode\":\"dsr\","
		 " \"backends\":[{\"ip\":\"" NETNS_R_SERVER4 "\"}]},"
		 "{\"name\":\"gue\",\"vip\":\"" VIP4 "\",\"port\":81,\"proto\":\"tcp\",\"mode\":\"dsr\","
		 " \"encap\":\"gue\",\"encapSource\":\"10.250.2.1\","
		 " \"backends\":[{\"ip\":\"" NETNS_R_SERVER4 "\"}]},"
		 "{\"name\":\"ipip6\",\"vip\":\"" VIP6 "\",\"port\":443,\"proto\":\"tcp\",\"mode\":\"dsr\","
		 " \"backends\":[{\"ip\":\"" NETNS_R_SERVER6 "\"}]}]}]}}\n");
	if (!ASSERT_EQ(e2e_apply(&r, "dsr.json", spec), 0, "apply"))
		goto out;

	for (i = 0; i < NCONN; i++) {
		ok4 += !one(&r, VIP4, 80, NETNS_R_CLIENT4, (unsigned)i);
		okg += !one(&r, VIP4, 81, NETNS_R_CLIENT4, (unsigned)i + 100);
		ok6 += !one(&r, VIP6, 443, CLIENT6_SOCAT, (unsigned)i + 200);
	}
	printf("    %d connections each, served and echoing 16 KiB: ipip %d, gue %d, ipip6 %d\n",
	       NCONN, ok4, okg, ok6);
	ASSERT_EQ(ok4, NCONN, "ipip: every connection");
	ASSERT_EQ(okg, NCONN, "gue: every connection");
	ASSERT_EQ(ok6, NCONN, "ipip6: every connection");

	/* the replies never met the load balancer: no reverse entry */
	snprintf(path, sizeof(path), "%s/dsr/lb_rev", r.pin);
	fd = bpf_obj_get(path);
	if (ASSERT_GE(fd, 0, "lb_rev pinned")) {
		ASSERT_ERR(bpf_map_get_next_key(fd, NULL, &k), "lb_rev empty");
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/dsr/lb_flows", r.pin);
	fd = bpf_obj_get(path);
	if (ASSERT_GE(fd, 0, "lb_flows pinned")) {
		ASSERT_OK(bpf_map_get_next_key(fd, NULL, &k), "flows pinned");
		close(fd);
	}
out:
	netns_cleanup_all();
	lb_decap__destroy(decap);
}
