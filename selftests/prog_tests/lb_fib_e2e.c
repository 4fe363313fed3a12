// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer's "fib" end to end: a router (client -- router --
 * server) runs a chain whose only function is a loadbalancer with "fib":
 * true, applied by the real `sluice`, at XDP on both router interfaces
 * (subtest xdp) or at TC ingress on both (subtest tc). The test plays the
 * backend (a UDP socket in the server namespace, 50 round trips through
 * the VIP) and a socat TCP echo (1 MiB through the VIP):
 *  - the stage redirects the translated packets itself: lbnat_stats'
 *    fib_redirected counts every datagram both ways while the router's
 *    own forwarding counter (Ip ForwDatagrams) stays still;
 *  - xdp: a redirect into a veth is dropped unless the peer has an XDP
 *    program: without one on the client's and server's interfaces the
 *    round trips fail, with an XDP_PASS program there they work;
 *  - fallback (BPF_PROG_TEST_RUN in a namespace of the test's with no
 *    route but lo's: the lookup fails):
 *    the packet goes on to the stack translated exactly as without fib
 *    (the packet builder's bytes, TTL untouched), counted fib_to_stack;
 *  - spec: fib on a loadbalancer that is not the last function is an
 *    error at its path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "nf_flow.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"
#include "spec.h"

#define VIP "10.250.9.10"
#define SRV NETNS_R_SERVER4

static int round_trip(int cfd, int sfd, int timeout_ms)
{
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = sfd, .events = POLLIN };
	char buf[64] = "x";
	ssize_t n;

	if (send(cfd, buf, 16, 0) != 16)
		return -errno;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recvfrom(sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n <= 0 || sendto(sfd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) != n)
		return -EIO;
	p.fd = cfd;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -EPIPE;
	return recv(cfd, buf, sizeof(buf), 0) == n ? 0 : -EIO;
}

static long long forwarded(struct e2e_rig *r)
{
	char out[64];

	if (netns_run_out(r->router, out, sizeof(out),
			  "awk '/^Ip: [0-9]/{print $7}' /proc/net/snmp"))
		return -1;
	return atoll(out);
}

static uint64_t fib_stat(struct e2e_rig *r, const char *chain, unsigned int slot)
{
	uint64_t v[FLOW_STAT__MAX] = { 0 };
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/lbnat_stats", r->pin, chain);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return ~0ull;
	if (flow_stats_read(fd, FLOW_KIND_LB, v))
		v[slot] = ~0ull;
	close(fd);
	return v[slot];
}

/* An XDP_PASS program on ns's ifname: what a veth peer needs for XDP
 * redirects into its other end to be delivered. */
static int xdp_pass_on(const char *ns, const char *ifname)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int old, fd, err, ifindex;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_pass", "GPL", insns, 2, NULL);
	if (fd < 0)
		return -errno;
	old = netns_enter(ns);
	if (old < 0) {
		close(fd);
		return old;
	}
	ifindex = (int)if_nametoindex(ifname);
	err = ifindex ? bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL) : -ENODEV;
	netns_restore(old);
	close(fd);
	return err;
}

static void run(bool xdp)
{
	const char *chain = xdp ? "fibx" : "fibt";
	char spec[2048];
	struct e2e_rig r;
	int cfd = -1, sfd = -1, tfd = -1, i, ok = 0, sent = 0, rcvd = 0;
	long long fw0, fw1;
	uint64_t red0, red1;

	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	snprintf(spec, sizeof(spec),
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"in\",\"hook\":\"%s\"},{\"interface\":\"out\",\"hook\":\"%s\"}],"
		 "\"functions\":[{\"name\":\"lb\",\"type\":\"loadbalancer\",\"fib\":true,\"services\":["
		 "{\"name\":\"u\",\"vip\":\"" VIP "\",\"port\":7001,\"proto\":\"udp\",\"backends\":[{\"ip\":\"" SRV "\"}]},"
		 "{\"name\":\"t\",\"vip\":\"" VIP "\",\"port\":7002,\"proto\":\"tcp\",\"backends\":[{\"ip\":\"" SRV "\"}]}]}]}}\n",
		 chain, xdp ? "xdp" : "tc-ingress", xdp ? "xdp" : "tc-ingress");
	if (!ASSERT_EQ(e2e_apply(&r, "fib.json", spec), 0, "apply"))
		goto out;
	sfd = e2e_udp_bind(r.server, 7001);
	cfd = e2e_udp_connect(r.client, VIP, 7001);
	if (!ASSERT_GE(sfd, 0, "server socket") || !ASSERT_GE(cfd, 0, "client socket"))
		goto out;
	/* the router learns its neighbours through the stack */
	ASSERT_OK(e2e_ping(r.router, SRV, 1, 10, 1000, &sent, &rcvd), "router pings the server");
	ASSERT_OK(e2e_ping(r.router, NETNS_R_CLIENT4, 1, 10, 1000, &sent, &rcvd), "and the client");
	if (xdp) {
		/* An XDP redirect turns the packet into a bare frame: the
		 * checksum state of the skb is lost, and a veth sender's
		 * offloaded (partial) TCP/UDP checksum arrives as a wrong one
		 * (UdpInCsumErrors). Senders on a wire send full checksums:
		 * make these do so too. */
		ASSERT_OK(netns_run(r.client, "ethtool -K eth0 tx off >/dev/null"), "client: tx csum off");
		ASSERT_OK(netns_run(r.server, "ethtool -K eth0 tx off >/dev/null"), "server: tx csum off");
		ASSERT_NEQ(round_trip(cfd, sfd, 500), 0,
			   "xdp: redirected into a veth whose peer has no XDP program: lost");
		ASSERT_OK(xdp_pass_on(r.server, "eth0"), "XDP_PASS on the server's eth0");
		ASSERT_OK(xdp_pass_on(r.client, "eth0"), "XDP_PASS on the client's eth0");
	}
	if (!ASSERT_OK(round_trip(cfd, sfd, 2000), "first round trip"))
		goto out;
	fw0 = forwarded(&r);
	red0 = fib_stat(&r, chain, FLOW_STAT_FIB_REDIRECT);
	for (i = 0; i < 50; i++)
		ok += !round_trip(cfd, sfd, 1000);
	fw1 = forwarded(&r);
	red1 = fib_stat(&r, chain, FLOW_STAT_FIB_REDIRECT);
	ASSERT_EQ(ok, 50, "50 round trips through the VIP");
	ASSERT_GE(red1 - red0, 100, "fib_redirected: every datagram, both ways");
	ASSERT_GE(fw0, 0, "ForwDatagrams read");
	ASSERT_LT(fw1 - fw0, 5, "the router's stack forwarded (almost) none of them");
	printf("    %s: %llu redirected by the stage, %lld forwarded by the stack, fib_to_stack %llu\n",
	       xdp ? "xdp" : "tc", (unsigned long long)(red1 - red0), fw1 - fw0,
	       (unsigned long long)fib_stat(&r, chain, FLOW_STAT_FIB_STACK));
	/* TCP, 1 MiB echoed */
	ASSERT_GT(netns_spawn(r.server, "socat TCP-LISTEN:7002,fork,reuseaddr PIPE"), 0, "tcp echo");
	ASSERT_OK(netns_wait_listen(r.server, IPPROTO_TCP, 7002, 5000), "tcp listens");
	tfd = e2e_tcp_connect(r.client, VIP, 7002, 3000);
	if (ASSERT_GE(tfd, 0, "tcp to the VIP"))
		ASSERT_OK(e2e_tcp_echo(tfd, 1 << 20, 7, 5000), "1 MiB echoed through the redirect");
out:
	if (tfd >= 0)
		close(tfd);
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
	netns_cleanup_all();
}

static void fallback(void)
{
	static const char spec[] =
		"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain','metadata':{'name':'t'},"
		"'spec':{'attach':[{'interface':'lo','hook':'xdp'}],'functions':[{'name':'lb','type':'loadbalancer',"
		"'fib':true,'services':[{'name':'u','vip':'10.0.9.10','port':53,'proto':'udp','tableSize':1009,"
		"'backends':[{'ip':'10.0.1.2','port':5353}]}]}]}}";
	struct ct_p in = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.10", 5555, 53, .payload = 20 };
	struct ct_p want = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.1.2", 5555, 5353, .payload = 20 };
	uint8_t i[512], w[512], o[512];
	uint32_t no = sizeof(o);
	struct sl_meta m;
	struct ct_rig r = { 0 };
	uint64_t v[FLOW_STAT__MAX] = { 0 };
	char ns[NETNS_NAME_MAX];
	int ni, nw, fd, old = -1;
	bool open = false;

	/* the test run's packet comes in on lo of the current namespace:
	 * one without routes makes the lookup fail */
	if (!ASSERT_OK(netns_create("fib", ns), "netns") ||
	    !ASSERT_OK(netns_run(ns, "ip link set lo up"), "lo up"))
		goto out;
	old = netns_enter(ns);
	if (!ASSERT_GE(old, 0, "enter") || !ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	open = true;
	ni = ct_frame(&in, i, sizeof(i));
	nw = ct_frame(&want, w, sizeof(w));
	if (ASSERT_OK(ct_send_raw(&r, i, (size_t)ni, o, &no, &m, NULL), "run")) {
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "passed to the stack");
		if (ASSERT_EQ(no, nw, "length"))
			ASSERT_MEMEQ(o, w, (size_t)nw, "translated as without fib (exact bytes)");
	}
	fd = ct_rig_map(&r, "lbnat_stats");
	if (ASSERT_GE(fd, 0, "lbnat_stats")) {
		flow_stats_read(fd, FLOW_KIND_LB, v);
		ASSERT_EQ(v[FLOW_STAT_FIB_STACK], 1, "fib_to_stack");
		ASSERT_EQ(v[FLOW_STAT_FIB_REDIRECT], 0, "fib_redirected");
		close(fd);
	}
out:
	if (open)
		ct_rig_close(&r);
	if (old >= 0)
		netns_restore(old);
	netns_cleanup_all();
}

static void spec_last(void)
{
	static const char json[] =
		"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain','metadata':{'name':'t'},"
		"'spec':{'attach':[{'interface':'lo','hook':'xdp'}],'functions':[{'name':'lb','type':'loadbalancer',"
		"'fib':true,'services':[{'name':'u','vip':'10.0.9.10','port':53,'proto':'udp',"
		"'backends':[{'ip':'10.0.1.2'}]}]},{'name':'fw','type':'firewall','defaultAction':'allow','rules':[]}]}}";
	struct sl_errs errs = { 0 };
	struct spec *s = NULL;
	char *doc = fw_json(json);
	size_t j;
	bool found = false;

	ASSERT_ERR(spec_parse(doc, strlen(doc), &s, &errs), "refused");
	for (j = 0; j < errs.n; j++)
		if (!strcmp(errs.v[j].path, "spec.functions[0].fib") &&
		    strstr(errs.v[j].msg, "must be the last function"))
			found = true;
	if (!ASSERT_TRUE(found, "spec.functions[0].fib: must be the last function"))
		errs_print(&errs, stdout);
	free(doc);
	spec_free(s);
	errs_free(&errs);
}

void test_lb_fib_e2e(void)
{
	if (test__start_subtest("fallback"))
		fallback();
	if (test__start_subtest("spec"))
		spec_last();
	if (test__start_subtest("xdp"))
		run(true);
	if (test__start_subtest("tc"))
		run(false);
}
