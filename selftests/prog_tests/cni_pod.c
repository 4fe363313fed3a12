// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pod datapath (bpf/pod.bpf.c, docs/cni.md "Pod datapath"):
 *  - fixtures: BPF_PROG_TEST_RUN with exact verdicts and output bytes (a
 *    local pod: MACs rewritten, TTL/hop limit -1 with the IPv4 checksum,
 *    TC_ACT_REDIRECT; anything else TC_ACT_OK untouched) and counters;
 *  - redirect: two pods made by sluice-cni, the node's forwarding off:
 *    they still reach each other (ping, TCP), every packet counted as
 *    redirected; with the filter removed from one host veth they do not,
 *    and CHECK says so;
 *  - chain_lb: a chain with a firewall and a load balancer on both pods
 *    (forwarding still off): a pod reaches the other through a service
 *    VIP by TCP (dnat there and back), the firewall's deny holds between
 *    them, so the chain runs before the redirect;
 *  - chained: the conflist [ptp, sluice-cni mode chained] run as libcni
 *    runs it (ADD in order with prevResult, CHECK, DEL in reverse): the
 *    datapath on ptp's host veths, nothing created, the result passed
 *    through, pods reach each other with forwarding off; DEL takes only
 *    what sluice-cni added;
 *  - chain_foreign: chained mode with a chain, where another program holds
 *    sluice's TC handle on ptp's host veth: ADD fails (102) and leaves that
 *    program in place; with the handle free, ADD attaches the chain. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "test_progs.h"
#include "netns.h"
#include "cni_util.h"
#include "pkt.h"
#include "attach.h"
#include "poddp.h"
#include "pin.h"
#include "shared/meta.h"

#define OUT 65536

static const uint8_t host_mac[6] = { 0x02, 0x51, 0, 0, 0, 0x10 };
static const uint8_t pod_mac[6] = { 0x02, 0x51, 0, 0, 0, 0x20 };

/* Sum of one counter over the CPUs. */
static uint64_t stat_packets(int fd, uint32_t which)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct sl_counter *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	uint64_t n = 0;

	if (v && !bpf_map_lookup_elem(fd, &which, v))
		for (i = 0; i < ncpu; i++)
			n += v[i].packets;
	free(v);
	return n;
}

struct pod_case {
	const char *what;
	struct pkt_spec in;
	int ingress;		/* skb->ingress_ifindex */
	uint32_t retval;
	uint32_t stat;		/* the counter it moves */
	bool rewritten;		/* output = in with MACs and TTL/hop limit */
};

static void subtest_fixtures(void)
{
	struct pod_case cases[] = {
		{ "IPv4 TCP to a local pod", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.3", .ttl = 64 }, .proto = IPPROTO_TCP, .sport = 40000,
		  .dport = 80, .tcp_flags = PKT_TCP_SYN }, 7, TC_ACT_REDIRECT, POD_STAT_REDIRECT,
		  true },
		{ "IPv4 UDP to a local pod, TTL 2", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.3", .ttl = 2 }, .proto = IPPROTO_UDP, .sport = 53,
		  .dport = 53, .payload_len = 100 }, 7, TC_ACT_REDIRECT, POD_STAT_REDIRECT, true },
		{ "IPv4 with options to a local pod", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.3", .opts = "\x94\x04\0\0", .opts_len = 4 },
		  .proto = IPPROTO_ICMP, .icmp_type = 8 }, 7, TC_ACT_REDIRECT, POD_STAT_REDIRECT,
		  true },
		{ "IPv6 to a local pod", { .family = 6, .ip6 = { .saddr = "fd00:93::2",
		  .daddr = "fd00:93::3" }, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
		  .tcp_flags = PKT_TCP_SYN }, 7, TC_ACT_REDIRECT, POD_STAT_REDIRECT, true },
		{ "IPv4 off the node", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "192.0.2.9" }, .proto = IPPROTO_TCP, .sport = 1, .dport = 2 }, 7,
		  TC_ACT_OK, POD_STAT_STACK, false },
		{ "IPv4 to the gateway", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.1" }, .proto = IPPROTO_ICMP, .icmp_type = 8 }, 7,
		  TC_ACT_OK, POD_STAT_STACK, false },
		{ "IPv6 off the node", { .family = 6, .ip6 = { .daddr = "fd00:94::3" },
		  .proto = IPPROTO_UDP }, 7, TC_ACT_OK, POD_STAT_STACK, false },
		{ "IPv4 TTL 1: the stack answers", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.3", .ttl = 1 }, .proto = IPPROTO_UDP }, 7, TC_ACT_OK,
		  POD_STAT_TTL, false },
		{ "IPv6 hop limit 1", { .family = 6, .ip6 = { .daddr = "fd00:93::3",
		  .hop_limit = 1 }, .proto = IPPROTO_UDP }, 7, TC_ACT_OK, POD_STAT_TTL, false },
		{ "to its own address (hairpin)", { .family = 4, .ip4 = { .saddr = "10.93.0.2",
		  .daddr = "10.93.0.3" }, .proto = IPPROTO_UDP }, 42, TC_ACT_OK, POD_STAT_SELF,
		  false },
		{ "ARP", { .family = 0, .ethertype = 0x0806, .payload_len = 28 }, 7, TC_ACT_OK,
		  POD_STAT_OTHER, false },
		{ "IPv4 IHL 4", { .family = 4, .ip4 = { .daddr = "10.93.0.3", .ihl = 4 },
		  .proto = IPPROTO_UDP }, 7, TC_ACT_OK, POD_STAT_OTHER, false },
		{ "IPv4 version 6 in an IPv4 frame", { .family = 4, .ip4 = { .daddr = "10.93.0.3",
		  .version = 6 }, .proto = IPPROTO_UDP }, 7, TC_ACT_OK, POD_STAT_OTHER, false },
		{ "VLAN-tagged: not a pod's frame", { .family = 4, .nvlan = 1, .vlan = { { 0, 5 } },
		  .ip4 = { .daddr = "10.93.0.3" }, .proto = IPPROTO_UDP }, 7, TC_ACT_OK,
		  POD_STAT_OTHER, false },
	};
	uint64_t want[POD_STAT_MAX] = {};
	struct sl_cni_ep_key k = { .family = 4 };
	struct sl_cni_ep v = { .ifindex = 42, .pod_ifindex = 2 };
	uint8_t in[PKT_MAX], exp[PKT_MAX], got[PKT_MAX];
	int ep, stats = -1, prog = -1, err, s;
	size_t c;

	ep = bpf_map_create(BPF_MAP_TYPE_HASH, "slt_eps", sizeof(k), sizeof(v), CNI_EP_MAX, NULL);
	if (!ASSERT_GE(ep, 0, "endpoints map"))
		return;
	memcpy(v.mac, host_mac, 6);
	memcpy(v.pod_mac, pod_mac, 6);
	inet_pton(AF_INET, "10.93.0.3", k.addr);
	ASSERT_OK(bpf_map_update_elem(ep, &k, &v, BPF_ANY), "endpoint 10.93.0.3");
	k.family = 6;
	inet_pton(AF_INET6, "fd00:93::3", k.addr);
	ASSERT_OK(bpf_map_update_elem(ep, &k, &v, BPF_ANY), "endpoint fd00:93::3");
	err = poddp_load(ep, -1, true, &prog, &stats);
	if (!ASSERT_OK(err, "poddp_load"))
		goto out;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pod_case *pc = &cases[c];
		struct __sk_buff skb = { .ingress_ifindex = pc->ingress };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = got,
			    .data_size_out = sizeof(got), .ctx_in = &skb, .ctx_size_in = sizeof(skb),
			    .repeat = 1);
		struct pkt_spec es = pc->in;
		int len = pkt_build(&pc->in, in, sizeof(in)), elen;
		char n[160];

		if (!ASSERT_GT(len, 0, pc->what))
			continue;
		/* the expected frame: the same packet as the node would route
		 * it into the pod */
		memcpy(es.eth.dst, pod_mac, 6);
		memcpy(es.eth.src, host_mac, 6);
		es.ip4.ttl = (pc->in.ip4.ttl ?: 64) - 1;
		es.ip6.hop_limit = (pc->in.ip6.hop_limit ?: 64) - 1;
		elen = pc->rewritten ? pkt_build(&es, exp, sizeof(exp)) : len;
		if (!pc->rewritten)
			memcpy(exp, in, len);
		o.data_size_in = len;
		err = bpf_prog_test_run_opts(prog, &o);
		snprintf(n, sizeof(n), "%s: run", pc->what);
		if (!ASSERT_OK(err, n))
			continue;
		snprintf(n, sizeof(n), "%s: verdict", pc->what);
		ASSERT_EQ(o.retval, pc->retval, n);
		snprintf(n, sizeof(n), "%s: length", pc->what);
		ASSERT_EQ((int)o.data_size_out, elen, n);
		snprintf(n, sizeof(n), "%s: bytes", pc->what);
		ASSERT_MEMEQ(got, exp, (size_t)elen, n);
		want[pc->stat]++;
	}
	for (s = 0; s < POD_STAT_MAX; s++) {
		char n[64];

		snprintf(n, sizeof(n), "counter %d", s);
		ASSERT_EQ(stat_packets(stats, s), want[s], n);
	}
	/* the other redirect: to the host veth's egress */
	close(prog);
	prog = -1;
	if (ASSERT_OK(poddp_load(ep, stats, false, &prog, NULL), "poddp_load bpf_redirect")) {
		struct __sk_buff skb = { .ingress_ifindex = 7 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = got,
			    .data_size_out = sizeof(got), .ctx_in = &skb, .ctx_size_in = sizeof(skb),
			    .repeat = 1);

		o.data_size_in = pkt_build(&cases[0].in, in, sizeof(in));
		ASSERT_OK(bpf_prog_test_run_opts(prog, &o), "run");
		ASSERT_EQ(o.retval, TC_ACT_REDIRECT, "bpf_redirect: TC_ACT_REDIRECT");
		ASSERT_EQ(stat_packets(stats, POD_STAT_REDIRECT), want[POD_STAT_REDIRECT] + 1,
			  "counted in the shared counters");
		/* kernel's own figure for one redirect decision */
		o.repeat = 1000000;
		if (!bpf_prog_test_run_opts(prog, &o))
			printf("    pod datapath: %u ns per redirected packet (BPF_PROG_TEST_RUN)\n",
			       o.duration);
	}
out:
	if (prog >= 0)
		close(prog);
	if (stats >= 0)
		close(stats);
	close(ep);
}

/* --- end to end through sluice-cni ---------------------------------------- */

struct pod {
	char ns[NETNS_NAME_MAX];
	char cid[32];
	char ip[64];
	char ip6[64];
	char host[IF_NAMESIZE];
};

static bool pod_add(struct cni_rig *r, struct pod *p, const char *conf, const char *chain)
{
	char out[OUT], envb[96];
	const char *e[] = { envb, NULL };
	cJSON *j, *ip;
	const char *a;
	int rc;

	snprintf(envb, sizeof(envb), "CNI_ARGS=K8S_POD_NAMESPACE=t;K8S_POD_NAME=%s%s%s", p->cid,
		 chain ? ";SLUICE_CHAIN=" : "", chain ?: "");
	rc = cni_exec(r, "ADD", p->cid, netns_path(p->ns), "eth0", e, conf, strlen(conf), out,
		      OUT);
	if (!ASSERT_EQ(rc, 0, "ADD")) {
		printf("%s\n", out);
		return false;
	}
	j = cJSON_Parse(out);
	cJSON_ArrayForEach(ip, cJSON_GetObjectItem(j, "ips")) {
		char *dst;
		size_t len;

		a = cJSON_GetStringValue(cJSON_GetObjectItem(ip, "address"));
		if (!a)
			continue;
		dst = strchr(a, ':') ? p->ip6 : p->ip;
		len = strchr(a, ':') ? sizeof(p->ip6) : sizeof(p->ip);
		snprintf(dst, len, "%s", a);
		if (strchr(dst, '/'))
			*strchr(dst, '/') = 0;
	}
	a = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "interfaces"), 0),
				    "name"));
	snprintf(p->host, sizeof(p->host), "%s", a ?: "");
	cJSON_Delete(j);
	return ASSERT_TRUE(p->ip[0] && p->host[0], "address and host veth in the result");
}

static int pod_del(struct cni_rig *r, struct pod *p, const char *conf)
{
	char out[OUT];

	return cni_exec(r, "DEL", p->cid, "", "eth0", NULL, conf, strlen(conf), out, OUT);
}

/* CHECK with the ADD result as prevResult: the code (0 when clean). */
static int pod_check(struct cni_rig *r, struct pod *p, const char *conf, const char *chain)
{
	char out[OUT], envb[64];
	const char *e[] = { envb, NULL };
	cJSON *c;
	char *in;
	int rc;

	/* a result to check against: the one ADD gave, rebuilt from the pod */
	snprintf(envb, sizeof(envb), "CNI_ARGS=SLUICE_CHAIN=%s", chain ?: "");
	c = cJSON_Parse(conf);
	{
		char res[512];

		snprintf(res, sizeof(res),
			 "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"%s\"},"
			 "{\"name\":\"eth0\",\"sandbox\":\"%s\"}],\"ips\":[{\"address\":\"%s/32\","
			 "\"interface\":1}],\"routes\":[]}",
			 p->host, netns_path(p->ns), p->ip);
		cJSON_AddItemToObject(c, "prevResult", cJSON_Parse(res));
	}
	in = cJSON_PrintUnformatted(c);
	rc = cni_exec(r, "CHECK", p->cid, netns_path(p->ns), "eth0", chain ? e : NULL, in,
		      strlen(in), out, OUT);
	free(in);
	cJSON_Delete(c);
	return rc ? cni_err_code(out) : 0;
}

static int ping(struct pod *from, struct pod *to)
{
	return netns_run(from->ns, "ping -c3 -i0.2 -W2 %s >/dev/null", to->ip);
}

/* A TCP payload from a to dst:port arrives at a listener in b on lport. */
static bool tcp_payload(struct cni_rig *r, struct pod *a, struct pod *b, const char *dst,
			int port, int lport, const char *what)
{
	char got[PATH_MAX], buf[256];
	pid_t srv;
	int i, ret = -1;

	snprintf(got, sizeof(got), "%s/got-%d", r->tmp, lport);
	unlink(got);
	srv = netns_spawn(b->ns, "timeout 20 nc -l -p %d >%s </dev/null", lport, got);
	if (!ASSERT_GT(srv, 0, "listener") ||
	    !ASSERT_OK(netns_wait_listen(b->ns, IPPROTO_TCP, lport, 5000), "listening"))
		return false;
	ret = netns_run(a->ns, "echo payload-from-%s | nc -N -w3 %s %d", a->cid, dst, port);
	ASSERT_OK(ret, what);
	for (i = 0; i < 50; i++) {
		FILE *f = fopen(got, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (f)
			fclose(f);
		buf[n] = 0;
		if (strstr(buf, "payload-from-"))
			break;
		nanosleep(&ts, NULL);
	}
	netns_kill(srv);
	return ASSERT_STRCONTAINS(buf, "payload-from-", what);
}

static int stats_fd(struct cni_rig *r)
{
	return poddp_stats_get(r->pin);
}

/* Mean round trip in µs of 1000 pings from a to b (0 on failure). */
static double rtt_us(struct pod *a, struct pod *b)
{
	char o[256];
	double v = 0;

	if (netns_run_out(a->ns, o, sizeof(o), "ping -q -c1000 -i0.001 -W1 %s | "
			  "sed -n 's|.* = [0-9.]*/\\([0-9.]*\\)/.*|\\1|p'", b->ip))
		return 0;
	if (sscanf(o, "%lf", &v) != 1)
		return 0;
	return v * 1000;
}

/* The pin root as an earlier sluice-cni build left it: its program pinned
 * under another name, this build's absent. */
static void as_if_upgraded(struct cni_rig *r)
{
	char dir[PATH_MAX], name[32];
	int fd;

	snprintf(dir, sizeof(dir), "%s/cni", r->pin);
	poddp_pin_name(name, sizeof(name));
	fd = pin_get(dir, name);
	if (!ASSERT_GE(fd, 0, "the first ADD pinned the program"))
		return;
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", name);
	ASSERT_OK(unlink(dir), "unpin");
	*strrchr(dir, '/') = 0;
	ASSERT_OK(pin_fd(fd, dir, "pod-000000000000"), "pin as another build's");
	close(fd);
}

static void subtest_redirect(struct cni_rig *r)
{
	struct pod p[2] = { { .cid = "pr-a" }, { .cid = "pr-b" } };
	char ipam[1024];
	char *conf;
	uint64_t before, after;
	double fast, slow;
	int i, sfd = -1;

	/* dual stack */
	snprintf(ipam, sizeof(ipam),
		 "{\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s\",\"ranges\":["
		 "[{\"subnet\":\"10.93.0.0/24\"}],[{\"subnet\":\"fd00:93::/64\"}]]}}", r->ipam);
	conf = cni_conf(r, "1.0.0", "podr", "10.93.0.0/24", ipam);

	for (i = 0; i < 2; i++) {
		if (!ASSERT_OK(netns_create("pod", p[i].ns), "pod netns") ||
		    !pod_add(r, &p[i], conf, NULL))
			goto out;
		if (!i)
			as_if_upgraded(r);
	}
	/* b's ADD loaded this build's program and unpinned the other build's;
	 * a keeps the program it was attached with, and CHECK accepts it */
	{
		char dir[PATH_MAX], name[32];
		int fd;

		snprintf(dir, sizeof(dir), "%s/cni", r->pin);
		poddp_pin_name(name, sizeof(name));
		fd = pin_get(dir, name);
		ASSERT_GE(fd, 0, "this build's program pinned");
		ASSERT_EQ(pin_get(dir, "pod-000000000000"), -ENOENT, "the other build's pin removed");
		ASSERT_NEQ(poddp_tc_prog(if_nametoindex(p[0].host)), 0, "a's program still attached");
		if (fd >= 0) {
			struct bpf_prog_info info = {};
			uint32_t len = sizeof(info);

			bpf_obj_get_info_by_fd(fd, &info, &len);
			ASSERT_NEQ(poddp_tc_prog(if_nametoindex(p[0].host)), info.id,
				   "a's is the earlier program");
			ASSERT_EQ(poddp_tc_prog(if_nametoindex(p[1].host)), info.id, "b's is this build's");
			close(fd);
		}
	}
	ASSERT_EQ(netns_run(NULL, "tc filter show dev %s ingress pref 2 | grep -q 'sl_pod.*direct-action'",
			    p[0].host), 0, "the pod datapath on the host veth, priority 2");
	ASSERT_EQ(pod_check(r, &p[0], conf, NULL), 0, "CHECK: clean");
	/* no forwarding on the node: only the datapath can deliver */
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0");
	sfd = stats_fd(r);
	if (!ASSERT_GE(sfd, 0, "PIN_ROOT/cni/pod_stats"))
		goto out;
	before = stat_packets(sfd, POD_STAT_REDIRECT);
	ASSERT_OK(ping(&p[0], &p[1]), "a pings b with forwarding off");
	ASSERT_OK(ping(&p[1], &p[0]), "b pings a");
	tcp_payload(r, &p[0], &p[1], p[1].ip, 8080, 8080, "TCP a -> b");
	after = stat_packets(sfd, POD_STAT_REDIRECT);
	printf("    redirected %llu packets\n", (unsigned long long)(after - before));
	ASSERT_GE(after - before, 12, "every ping and its reply redirected, and the TCP flow");
	/* IPv6: the pods resolve their gateway through the stack (neighbour
	 * discovery is not redirected), then reach each other directly */
	if (ASSERT_TRUE(p[0].ip6[0] && p[1].ip6[0], "IPv6 addresses")) {
		before = stat_packets(sfd, POD_STAT_REDIRECT);
		ASSERT_OK(netns_run(p[0].ns, "ping -6 -c3 -i0.2 -W2 %s >/dev/null", p[1].ip6),
			  "a pings b over IPv6, forwarding off");
		ASSERT_OK(netns_run(p[1].ns, "ping -6 -c3 -i0.2 -W2 %s >/dev/null", p[0].ip6),
			  "b pings a over IPv6");
		ASSERT_GE(stat_packets(sfd, POD_STAT_REDIRECT) - before, 12, "IPv6 redirected");
	}
	fast = rtt_us(&p[0], &p[1]);
	ASSERT_GT(fast, 0, "1000 pings a -> b through the datapath");
	/* without the datapath on a's veth the node drops a's packets */
	ASSERT_OK(netns_run(NULL, "tc filter del dev %s ingress pref 2", p[0].host), "remove it");
	ASSERT_NEQ(netns_run(p[0].ns, "ping -c1 -W1 %s >/dev/null", p[1].ip), 0,
		   "without it a no longer reaches b");
	ASSERT_EQ(pod_check(r, &p[0], conf, NULL), 103, "CHECK finds it missing: 103");
	ASSERT_EQ(pod_check(r, &p[1], conf, NULL), 0, "CHECK of b: clean");
	/* the same stream through the host stack, for comparison */
	netns_run(NULL, "tc filter del dev %s ingress pref 2", p[1].host);
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=1");
	slow = rtt_us(&p[0], &p[1]);
	ASSERT_GT(slow, 0, "1000 pings a -> b through the host stack");
	printf("    ping a -> b, mean of 1000: %.1f us redirected, %.1f us through the host stack\n",
	       fast, slow);
out:
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=1");
	for (i = 0; i < 2; i++)
		if (p[i].ns[0])
			ASSERT_EQ(pod_del(r, &p[i], conf), 0, "DEL");
	ASSERT_EQ(cni_count_links(r), 0, "no host veth left");
	ASSERT_EQ(cni_count_endpoints(r), 0, "no endpoint left");
	if (sfd >= 0)
		close(sfd);
	free(conf);
}

static int apply_chain(struct cni_rig *r, const char *backend)
{
	char path[PATH_MAX], spec[2048];
	FILE *f;

	snprintf(spec, sizeof(spec),
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"podlb\"},\"spec\":{\"attach\":["
		 "{\"interface\":\"anchor0\",\"hook\":\"tc-ingress\"}],\"functions\":["
		 "{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\",\"rules\":["
		 "{\"id\":\"no-7001\",\"action\":\"deny\",\"proto\":\"tcp\",\"dstPorts\":[7001]}]},"
		 "{\"name\":\"lb\",\"type\":\"loadbalancer\",\"services\":[{\"name\":\"web\","
		 "\"vip\":\"10.96.0.10\",\"port\":80,\"proto\":\"tcp\",\"backends\":["
		 "{\"ip\":\"%s\",\"port\":8080}]}]}]}}",
		 backend);
	snprintf(path, sizeof(path), "%s/podlb.json", r->tmp);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(spec, f);
	fclose(f);
	return netns_run(NULL, "%s --pin-root %s --state-dir %s/chains apply -f %s >/dev/null",
			 test__build_path("sluice"), r->pin, r->tmp, path);
}

static void subtest_chain_lb(struct cni_rig *r)
{
	struct pod p[2] = { { .cid = "pl-a" }, { .cid = "pl-b" } };
	char *conf = cni_conf(r, "1.0.0", "podl", "10.94.0.0/24", NULL);
	uint64_t before;
	int i, sfd = -1;

	if (!ASSERT_OK(netns_run(NULL, "ip link add anchor0 type veth peer name anchor1 && "
				 "ip link set anchor0 up"), "anchor interface") ||
	    !ASSERT_OK(apply_chain(r, "192.0.2.99"), "apply the chain (no backend yet)"))
		goto out;
	for (i = 0; i < 2; i++)
		if (!ASSERT_OK(netns_create("pod", p[i].ns), "pod netns") ||
		    !pod_add(r, &p[i], conf, "podlb"))
			goto out;
	ASSERT_EQ(netns_run(NULL, "tc filter show dev %s ingress | grep -q 'pref 1 .*sl_entry' && "
			    "tc filter show dev %s ingress | grep -q 'pref 2 .*sl_pod'", p[0].host,
			    p[0].host), 0, "the chain first, then the pod datapath");
	ASSERT_EQ(pod_check(r, &p[0], conf, "podlb"), 0, "CHECK with the chain: clean");
	/* the service's backend is pod b, as an operator would set it */
	if (!ASSERT_OK(apply_chain(r, p[1].ip), "apply: backend pod b"))
		goto out;
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=0");
	sfd = stats_fd(r);
	before = sfd >= 0 ? stat_packets(sfd, POD_STAT_REDIRECT) : 0;
	tcp_payload(r, &p[0], &p[1], "10.96.0.10", 80, 8080, "TCP a -> VIP:80 reaches b:8080");
	ASSERT_GT(sfd >= 0 ? stat_packets(sfd, POD_STAT_REDIRECT) : 0, before + 4,
		  "balanced both ways and redirected");
	ASSERT_OK(ping(&p[1], &p[0]), "b pings a through the chain");
	/* the firewall holds between local pods: a connection to 7001 fails */
	{
		pid_t srv = netns_spawn(p[1].ns, "timeout 10 nc -l -p 7001 </dev/null >/dev/null");

		if (ASSERT_GT(srv, 0, "listener on 7001") &&
		    ASSERT_OK(netns_wait_listen(p[1].ns, IPPROTO_TCP, 7001, 5000), "listening")) {
			ASSERT_NEQ(netns_run(p[0].ns, "nc -z -w2 %s 7001", p[1].ip), 0,
				   "the chain's deny holds before the redirect");
			char o[4096];

			netns_run_out(NULL, o, sizeof(o), "%s --pin-root %s --state-dir %s/chains "
				      "-c podlb stats", test__build_path("sluice"), r->pin, r->tmp);
			{
				const char *l = strstr(o, "no-7001");
				unsigned long long pk = 0;

				if (l)
					sscanf(l, "no-7001 deny no %llu", &pk);
				ASSERT_GT(pk, 0, "sluice stats: the deny rule counted them");
				l = strstr(o, "10.96.0.10:80");
				pk = 0;
				if (l)
					sscanf(l, "10.96.0.10:80 tcp %*s %*d active %llu", &pk);
				ASSERT_GE(pk, 3, "sluice stats: the service's backend counted the flow");
			}
		}
		if (srv > 0)
			netns_kill(srv);
	}
out:
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=1");
	for (i = 0; i < 2; i++)
		if (p[i].ns[0] && p[i].host[0])
			ASSERT_EQ(pod_del(r, &p[i], conf), 0, "DEL");
	ASSERT_EQ(cni_count_endpoints(r), 0, "no endpoint left");
	if (sfd >= 0)
		close(sfd);
	free(conf);
}

/* libcni's part: run plugin (a file in /usr/lib/cni or ours) with conf and,
 * when prev is set, prevResult. Returns the exit status; out as cni_exec. */
static int run_plugin(struct cni_rig *r, const char *plugin, const char *cmd, struct pod *p,
		      const char *conf, const char *prev, char *out)
{
	char saved[sizeof(r->plugin)];
	cJSON *c = cJSON_Parse(conf);
	char *in;
	int rc;

	if (prev)
		cJSON_AddItemToObject(c, "prevResult", cJSON_Parse(prev));
	in = cJSON_PrintUnformatted(c);
	memcpy(saved, r->plugin, sizeof(saved));
	if (plugin)
		snprintf(r->plugin, sizeof(r->plugin), "/usr/lib/cni/%s", plugin);
	rc = cni_exec(r, cmd, p->cid, strcmp(cmd, "DEL") ? netns_path(p->ns) : "", "eth0", NULL, in,
		      strlen(in), out, OUT);
	memcpy(r->plugin, saved, sizeof(saved));
	free(in);
	cJSON_Delete(c);
	return rc;
}

static void subtest_chained(struct cni_rig *r)
{
	struct pod p[2] = { { .cid = "pc-a" }, { .cid = "pc-b" } };
	char *ptp = cni_conf(r, "1.0.0", "podc", "10.97.0.0/24", "{\"type\":\"ptp\"}");
	char *sl = cni_conf(r, "1.0.0", "podc", "10.97.0.0/24", "{\"mode\":\"chained\"}");
	char out[OUT], prev[2][OUT], n[128];
	uint64_t before;
	int i, sfd = -1;

	if (access("/usr/lib/cni/ptp", X_OK)) {
		test__skip("the reference ptp plugin is missing (containernetworking-plugins)");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		cJSON *a, *b, *h;

		if (!ASSERT_OK(netns_create("pod", p[i].ns), "pod netns"))
			goto out;
		/* the conflist: ptp, then sluice-cni with ptp's result */
		if (!ASSERT_EQ(run_plugin(r, "ptp", "ADD", &p[i], ptp, NULL, prev[i]), 0, "ptp ADD")) {
			printf("%s\n", prev[i]);
			goto out;
		}
		if (!ASSERT_EQ(run_plugin(r, NULL, "ADD", &p[i], sl, prev[i], out), 0,
			       "sluice-cni chained ADD")) {
			printf("%s\n", out);
			goto out;
		}
		a = cJSON_Parse(prev[i]);
		b = cJSON_Parse(out);
		ASSERT_TRUE(cJSON_Compare(a, b, 1), "the result passed through");
		h = cJSON_GetArrayItem(cJSON_GetObjectItem(a, "interfaces"), 0);
		snprintf(p[i].host, sizeof(p[i].host), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(h, "name")) ?: "");
		snprintf(p[i].ip, sizeof(p[i].ip), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(
				 cJSON_GetArrayItem(cJSON_GetObjectItem(a, "ips"), 0), "address")) ?: "");
		if (strchr(p[i].ip, '/'))
			*strchr(p[i].ip, '/') = 0;
		cJSON_Delete(a);
		cJSON_Delete(b);
		snprintf(n, sizeof(n), "the datapath on ptp's host veth %s", p[i].host);
		ASSERT_EQ(netns_run(NULL, "tc filter show dev %s ingress pref 2 | grep -q sl_pod",
				    p[i].host), 0, n);
	}
	ASSERT_EQ(cni_count_links(r), 0, "sluice-cni created no link");
	ASSERT_EQ(cni_count_endpoints(r), 2, "two endpoint entries");
	ASSERT_EQ(cni_count_ipam(r, "podc"), 2, "ptp's two reservations, none of ours");
	/* CHECK in order, with the final result */
	ASSERT_EQ(run_plugin(r, "ptp", "CHECK", &p[0], ptp, prev[0], out), 0, "ptp CHECK");
	ASSERT_EQ(run_plugin(r, NULL, "CHECK", &p[0], sl, prev[0], out), 0, "chained CHECK");
	netns_run(NULL, "tc filter del dev %s ingress pref 2", p[1].host);
	run_plugin(r, NULL, "CHECK", &p[1], sl, prev[1], out);
	ASSERT_EQ(cni_err_code(out), 103, "chained CHECK finds the datapath missing");
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=0");
	ASSERT_NEQ(netns_run(p[1].ns, "ping -c1 -W1 %s >/dev/null", p[0].ip), 0,
		   "b, without the datapath and forwarding, cannot reach a");
	/* ADD again after DEL restores it (what a runtime does) */
	ASSERT_EQ(run_plugin(r, NULL, "DEL", &p[1], sl, prev[1], out), 0, "chained DEL");
	ASSERT_EQ(run_plugin(r, NULL, "ADD", &p[1], sl, prev[1], out), 0, "chained ADD again");
	sfd = stats_fd(r);
	before = sfd >= 0 ? stat_packets(sfd, POD_STAT_REDIRECT) : 0;
	ASSERT_OK(ping(&p[0], &p[1]), "a pings b over ptp's veths, forwarding off");
	ASSERT_OK(ping(&p[1], &p[0]), "b pings a");
	ASSERT_GE(sfd >= 0 ? stat_packets(sfd, POD_STAT_REDIRECT) : 0, before + 12,
		  "redirected both ways");
out:
	netns_run(NULL, "sysctl -qw net.ipv4.ip_forward=1");
	/* DEL in reverse order: sluice-cni, then ptp */
	for (i = 0; i < 2; i++) {
		if (!p[i].host[0])
			continue;
		ASSERT_EQ(run_plugin(r, NULL, "DEL", &p[i], sl, prev[i], out), 0, "chained DEL");
		snprintf(n, sizeof(n), "DEL left ptp's veth %s", p[i].host);
		ASSERT_EQ(netns_run(NULL, "ip link show %s >/dev/null", p[i].host), 0, n);
		snprintf(n, sizeof(n), "DEL took the datapath off %s", p[i].host);
		ASSERT_EQ(netns_run(NULL, "tc filter show dev %s ingress | grep -q sl_", p[i].host), 1, n);
		ASSERT_EQ(run_plugin(r, "ptp", "DEL", &p[i], ptp, prev[i], out), 0, "ptp DEL");
	}
	ASSERT_EQ(cni_count_endpoints(r), 0, "no endpoint left");
	ASSERT_EQ(cni_count_ipam(r, "podc"), 0, "no reservation left");
	ASSERT_EQ(cni_count_records(r, "podc"), 0, "no record left");
	if (sfd >= 0)
		close(sfd);
	free(ptp);
	free(sl);
}

/* sluice's TC handle is sluice's by convention only: when another program
 * holds it on a host veth, the chain attach refuses (as sluice's own attach
 * points do) rather than drop that program unseen. */
static void subtest_chain_foreign(struct cni_rig *r)
{
	static const char *spec =
		"{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		"\"metadata\":{\"name\":\"podf\"},\"spec\":{\"attach\":["
		"{\"interface\":\"anchorf0\",\"hook\":\"tc-ingress\"}],\"functions\":["
		"{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"allow\",\"rules\":[]}]}}";
	struct pod p = { .cid = "pf-a" };
	char *ptp = cni_conf(r, "1.0.0", "podf", "10.89.0.0/24", "{\"type\":\"ptp\"}");
	char *sl = cni_conf(r, "1.0.0", "podf", "10.89.0.0/24",
			    "{\"mode\":\"chained\",\"chain\":\"podf\"}");
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	char out[OUT], prev[OUT], path[PATH_MAX];
	bool added = false;
	int hidx = 0, fd = -1;
	cJSON *j;
	FILE *f;

	if (access("/usr/lib/cni/ptp", X_OK)) {
		test__skip("the reference ptp plugin is missing (containernetworking-plugins)");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/podf.json", r->tmp);
	f = fopen(path, "w");
	if (!ASSERT_OK_PTR(f, "spec file"))
		goto out;
	fputs(spec, f);
	fclose(f);
	if (!ASSERT_OK(netns_run(NULL, "ip link add anchorf0 type veth peer name anchorf1 && "
				 "ip link set anchorf0 up"), "anchor interface") ||
	    !ASSERT_OK(netns_run(NULL, "%s --pin-root %s --state-dir %s/chains apply -f %s >/dev/null",
				 test__build_path("sluice"), r->pin, r->tmp, path), "apply the chain") ||
	    !ASSERT_OK(netns_create("pod", p.ns), "pod netns"))
		goto out;
	if (!ASSERT_EQ(run_plugin(r, "ptp", "ADD", &p, ptp, NULL, prev), 0, "ptp ADD")) {
		printf("%s\n", prev);
		goto out;
	}
	added = true;
	j = cJSON_Parse(prev);
	snprintf(p.host, sizeof(p.host), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(
			 cJSON_GetArrayItem(cJSON_GetObjectItem(j, "interfaces"), 0), "name")) ?: "");
	cJSON_Delete(j);
	hidx = if_nametoindex(p.host);
	/* another program (the pod datapath, not an sl_entry) at sluice's handle */
	if (!ASSERT_OK(hidx ? 0 : -ENODEV, "ptp's host veth") ||
	    !ASSERT_OK(poddp_load(-1, -1, true, &fd, NULL), "load another program") ||
	    !ASSERT_OK(bpf_obj_get_info_by_fd(fd, &info, &len), "its id") ||
	    !ASSERT_OK(attach_tc_replace(hidx, false, SL_TC_HANDLE, SL_TC_PRIO, fd, NULL),
		       "it holds sluice's handle"))
		goto out;
	ASSERT_NEQ(run_plugin(r, NULL, "ADD", &p, sl, prev, out), 0, "chained ADD fails");
	ASSERT_EQ(cni_err_code(out), 102, "with the chain's code");
	ASSERT_STRCONTAINS(out, "another program holds sluice's tc handle", "and says why");
	ASSERT_EQ(attach_tc_query(hidx, false, SL_TC_HANDLE, SL_TC_PRIO), info.id,
		  "the other program stays");
	ASSERT_EQ(poddp_tc_prog(hidx), 0, "no pod datapath left behind");
	ASSERT_EQ(cni_count_endpoints(r), 0, "no endpoint left behind");
	/* the handle free again: the chain goes on */
	ASSERT_OK(attach_tc_delete(hidx, false, SL_TC_HANDLE, SL_TC_PRIO), "the other program off");
	ASSERT_EQ(run_plugin(r, NULL, "ADD", &p, sl, prev, out), 0, "chained ADD");
	ASSERT_TRUE(attach_prog_named(attach_tc_query(hidx, false, SL_TC_HANDLE, SL_TC_PRIO),
				      SL_TC_PROG), "the chain's entry at sluice's handle");
out:
	if (added) {
		ASSERT_EQ(run_plugin(r, NULL, "DEL", &p, sl, prev, out), 0, "chained DEL");
		ASSERT_EQ(attach_tc_query(hidx, false, SL_TC_HANDLE, SL_TC_PRIO), 0,
			  "DEL took the chain off");
		ASSERT_EQ(run_plugin(r, "ptp", "DEL", &p, ptp, prev, out), 0, "ptp DEL");
	}
	ASSERT_EQ(cni_count_records(r, "podf"), 0, "no record left");
	if (fd >= 0)
		close(fd);
	free(ptp);
	free(sl);
}

/* An endpoints map an older sluice-cni pinned (no MACs in its value):
 * ADD refuses it (104) and leaves nothing, STATUS says 50. */
static void subtest_old_layout(struct cni_rig *r)
{
	char pin[PATH_MAX], dir[PATH_MAX + 8], pod[NETNS_NAME_MAX], out[OUT], extra[PATH_MAX + 32];
	char *conf = NULL, *conf11 = NULL;
	int fd;

	if (!ASSERT_OK(netns_pin_root(pin, sizeof(pin)), "pin root") ||
	    !ASSERT_OK(netns_create("pod", pod), "pod netns"))
		return;
	snprintf(dir, sizeof(dir), "%s/cni", pin);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "old_eps", sizeof(struct sl_cni_ep_key),
			    sizeof(struct sl_cni_ep) - 16, CNI_EP_MAX, NULL);
	if (!ASSERT_GE(fd, 0, "old map") || !ASSERT_OK(mkdir_p(dir), "cni dir") ||
	    !ASSERT_OK(pin_fd(fd, dir, "endpoints"), "pin the old map"))
		goto out;
	snprintf(extra, sizeof(extra), "{\"pinRoot\":\"%s\"}", pin);
	conf = cni_conf(r, "1.0.0", "podo", "10.98.0.0/24", extra);
	conf11 = cni_conf(r, "1.1.0", "podo", "10.98.0.0/24", extra);
	cni_exec(r, "ADD", "po-a", netns_path(pod), "eth0", NULL, conf, strlen(conf), out, OUT);
	ASSERT_EQ(cni_err_code(out), 104, "ADD: the old endpoints map is refused (104)");
	ASSERT_EQ(cni_count_links(r), 0, "no veth left");
	ASSERT_EQ(cni_count_ipam(r, "podo"), 0, "no reservation left");
	cni_exec(r, "STATUS", NULL, NULL, NULL, NULL, conf11, strlen(conf11), out, OUT);
	ASSERT_EQ(cni_err_code(out), 50, "STATUS: 50");
	ASSERT_EQ(cni_exec(r, "DEL", "po-a", "", "eth0", NULL, conf, strlen(conf), out, OUT), 0,
		  "DEL still works");
out:
	if (fd >= 0)
		close(fd);
	free(conf);
	free(conf11);
}

void test_cni_pod(void)
{
	struct cni_rig r;

	if (test__start_subtest("fixtures"))
		subtest_fixtures();
	if (access("/usr/lib/cni/host-local", X_OK)) {
		test__skip("containernetworking-plugins is not installed (tools/install-deps.sh)");
		return;
	}
	if (!ASSERT_OK(cni_rig_setup(&r), "rig"))
		goto cleanup;
	if (test__start_subtest("redirect"))
		subtest_redirect(&r);
	if (test__start_subtest("chain_lb"))
		subtest_chain_lb(&r);
	if (test__start_subtest("chained"))
		subtest_chained(&r);
	if (test__start_subtest("chain_foreign"))
		subtest_chain_foreign(&r);
	if (test__start_subtest("old_layout"))
		subtest_old_layout(&r);
cleanup:
	cni_rig_teardown(&r);
	netns_cleanup_all();
}
