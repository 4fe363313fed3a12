// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Idle timeouts of the load balancer's and the NAT's flow tables
 * (shared/flow.h) through the real entry program, parser and stage
 * (BPF_PROG_TEST_RUN on a private generation), at XDP and TC:
 * - every packet, either way, sets both entries of its flow to the
 *   timeout of the flow's state (SYN, established, closing, UDP, replied),
 *   as the spec's "timeouts" say;
 * - an idle flow dies after its timeout while one refreshed by its
 *   replies only lives on; a reply to a dead flow is not translated; the
 *   sweep (flow_gc) removes exactly the dead entries and counts them;
 * - NAT: dead mappings keep their ports until the sweep (a new flow is
 *   refused on a full range), then the freed ports go to new flows, never
 *   to two flows at once (checked over the whole table), the live flows
 *   keep theirs; the translated bytes are the packet builder's;
 * - the spec's timeouts: ranges, misspelt keys, icmp only for nat. */
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"
#include "nf_flow.h"
#include "shared/lb.h"
#include "shared/nat.h"
#include "shared/drop_reasons.h"

#define SPEC(fns)                                                              \
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"   \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'%s'}]," \
	"'functions':[" fns "]}}"

#define NS 1000000000ull

static int send_p(struct ct_rig *r, const struct ct_p *p, uint8_t *out, uint32_t *nout,
		  struct sl_meta *m)
{
	uint8_t in[512];
	int n = ct_frame(p, in, sizeof(in));

	if (n < 0)
		return n;
	*nout = 512;
	return ct_send_raw(r, in, (size_t)n, out, nout, m, NULL);
}

static bool same_frame(const uint8_t *out, uint32_t nout, const struct ct_p *want, const char *what)
{
	uint8_t w[512];
	int n = ct_frame(want, w, sizeof(w));

	if (!ASSERT_EQ(nout, n, what))
		return false;
	return ASSERT_MEMEQ(out, w, (size_t)n, what);
}

static uint64_t stat(int stats_fd, enum flow_kind kind, unsigned int slot)
{
	uint64_t v[FLOW_STAT__MAX] = { 0 };

	if (flow_stats_read(stats_fd, kind, v))
		return ~0ull;
	return v[slot];
}

/* The entry's timeout is what its state says (expires - last seen). */
static void expect_state(int fd, const void *key, uint8_t st, uint64_t to_s, const char *what)
{
	struct lb_nat v;

	if (!ASSERT_OK(bpf_map_lookup_elem(fd, key, &v), what))
		return;
	ASSERT_EQ(v.state, st, what);
	ASSERT_EQ(v.expires_ns - v.last_ns, to_s * NS, what);
}

static void lb_key_of(struct lb_flow_key *k, const char *s, const char *d, uint16_t sp,
		      uint16_t dp, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET, s, k->saddr);
	inet_pton(AF_INET, d, k->daddr);
	k->sport = sp;
	k->dport = dp;
	k->proto = proto;
	k->family = 4;
}

#define LB_FN                                                                  \
	"{'name':'lb','type':'loadbalancer','flowTableSize':1024,"             \
	" 'timeouts':{'tcpSynSent':11,'tcpEstablished':22,'tcpClosing':33,'udp':2,'udpReplied':2}," \
	" 'services':["                                                        \
	"{'name':'web','vip':'10.0.9.10','port':80,'proto':'tcp','tableSize':1009," \
	" 'backends':[{'ip':'10.0.1.1','port':8080}]},"                         \
	"{'name':'dns','vip':'10.0.9.10','port':53,'proto':'udp','tableSize':1009," \
	" 'backends':[{'ip':'10.0.1.2','port':5353}]}]}"

static void lb_expiry(const char *hook)
{
	char spec[4096];
	struct ct_rig r;
	struct sl_meta m;
	struct lb_flow_key k;
	struct flow_gc_result g;
	uint8_t out[512];
	uint32_t nout;
	int fl = -1, rv = -1, st = -1;
	struct ct_p syn = { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 80, PKT_TCP_SYN };
	struct ct_p synack = { 4, IPPROTO_TCP, "10.0.1.1", "10.0.0.1", 8080, 40000,
			       PKT_TCP_SYN | PKT_TCP_ACK };
	struct ct_p fin = { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 80,
			    PKT_TCP_FIN | PKT_TCP_ACK };
	struct ct_p ua = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.10", 5000, 53, .payload = 8 };
	struct ct_p ua_rep = { 4, IPPROTO_UDP, "10.0.1.2", "10.0.0.2", 5353, 5000, .payload = 8 };
	struct ct_p ub = { 4, IPPROTO_UDP, "10.0.0.3", "10.0.9.10", 5001, 53, .payload = 8 };
	struct ct_p ub_rep = { 4, IPPROTO_UDP, "10.0.1.2", "10.0.0.3", 5353, 5001, .payload = 8 };

	snprintf(spec, sizeof(spec), SPEC(LB_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	fl = ct_rig_map(&r, "lb_flows");
	rv = ct_rig_map(&r, "lb_rev");
	st = ct_rig_map(&r, "lbnat_stats");
	if (!ASSERT_GE(fl, 0, "lb_flows") || !ASSERT_GE(rv, 0, "lb_rev") ||
	    !ASSERT_GE(st, 0, "lbnat_stats"))
		goto out;

	/* TCP: SYN (11 s), the answer (22 s, both entries), FIN (33 s) */
	ASSERT_OK(send_p(&r, &syn, out, &nout, &m), "syn");
	lb_key_of(&k, "10.0.0.1", "10.0.9.10", 40000, 80, IPPROTO_TCP);
	expect_state(fl, &k, FLOW_S_TCP_SYN, 11, "SYN: tcpSynSent");
	ASSERT_OK(send_p(&r, &synack, out, &nout, &m), "syn+ack");
	expect_state(fl, &k, FLOW_S_TCP_EST, 22, "answered: tcpEstablished (forward entry)");
	lb_key_of(&k, "10.0.1.1", "10.0.0.1", 8080, 40000, IPPROTO_TCP);
	expect_state(rv, &k, FLOW_S_TCP_EST, 22, "answered: tcpEstablished (reverse entry)");
	ASSERT_OK(send_p(&r, &fin, out, &nout, &m), "fin");
	expect_state(rv, &k, FLOW_S_TCP_CLOSING, 33, "FIN: tcpClosing (reverse entry)");
	lb_key_of(&k, "10.0.0.1", "10.0.9.10", 40000, 80, IPPROTO_TCP);
	expect_state(fl, &k, FLOW_S_TCP_CLOSING, 33, "FIN: tcpClosing (forward entry)");
	ASSERT_EQ(stat(st, FLOW_KIND_LB, FLOW_STAT_CREATED), 1, "created");

	/* UDP, 2 s: a answered, b not; at 1.2 s only a's reply comes */
	ASSERT_OK(send_p(&r, &ua, out, &nout, &m), "ua");
	ASSERT_OK(send_p(&r, &ua_rep, out, &nout, &m), "ua reply");
	ASSERT_OK(send_p(&r, &ub, out, &nout, &m), "ub");
	lb_key_of(&k, "10.0.0.2", "10.0.9.10", 5000, 53, IPPROTO_UDP);
	expect_state(fl, &k, FLOW_S_UDP_REPLIED, 2, "udp replied");
	usleep(1200 * 1000);
	ASSERT_OK(send_p(&r, &ua_rep, out, &nout, &m), "ua reply again");
	usleep(1200 * 1000);
	/* b is dead: its reply is not translated; a's forward entry was
	 * kept alive by the reply alone */
	ASSERT_OK(send_p(&r, &ub_rep, out, &nout, &m), "ub reply after expiry");
	same_frame(out, nout, &ub_rep, "reply of a dead flow: untranslated");
	ASSERT_OK(flow_gc(fl, rv, st, FLOW_KIND_LB, 0, &g), "flow_gc");
	/* dead: b (both), the TCP flow is closing for 33 s: alive */
	ASSERT_EQ(g.removed, 1, "gc removed b's forward entry");
	ASSERT_EQ(g.removed_rev, 1, "gc removed b's reverse entry");
	ASSERT_EQ(g.scanned, 3, "forward entries seen");
	ASSERT_EQ(stat(st, FLOW_KIND_LB, FLOW_STAT_GC_REMOVED), 1, "gc_removed");
	ASSERT_EQ(stat(st, FLOW_KIND_LB, FLOW_STAT_GC_REMOVED_REV), 1, "gc_removed_rev");
	lb_key_of(&k, "10.0.0.2", "10.0.9.10", 5000, 53, IPPROTO_UDP);
	expect_state(fl, &k, FLOW_S_UDP_REPLIED, 2, "a lives on (refreshed by its reply)");
	lb_key_of(&k, "10.0.0.3", "10.0.9.10", 5001, 53, IPPROTO_UDP);
	{
		struct lb_nat v;

		ASSERT_ERR(bpf_map_lookup_elem(fl, &k, &v), "b's forward entry gone");
	}
	/* a's reply still translated; b is a new flow again */
	{
		struct ct_p want = ua_rep;

		want.src = "10.0.9.10";
		want.sport = 53;
		ASSERT_OK(send_p(&r, &ua_rep, out, &nout, &m), "ua reply after gc");
		same_frame(out, nout, &want, "live flow's reply: translated (exact bytes)");
	}
	ASSERT_OK(send_p(&r, &ub, out, &nout, &m), "ub again");
	{
		struct ct_p want = ub;

		want.dst = "10.0.1.2";
		want.dport = 5353;
		same_frame(out, nout, &want, "b again: a new flow to the backend (exact bytes)");
	}
	ASSERT_OK(flow_gc(fl, rv, st, FLOW_KIND_LB, 0, &g), "second gc");
	ASSERT_EQ(g.removed + g.removed_rev, 0, "nothing dead");
out:
	if (fl >= 0)
		close(fl);
	if (rv >= 0)
		close(rv);
	if (st >= 0)
		close(st);
	ct_rig_close(&r);
}

#define NAT_FN                                                                 \
	"{'name':'snat','type':'nat','address':'192.0.2.1','ports':'20000-20003',"  \
	" 'sources':['10.0.0.0/8'],'flowTableSize':1024,"                      \
	" 'timeouts':{'udp':2,'udpReplied':2,'tcpSynSent':7}}"

/* Every live forward entry's translated 5-tuple is unique and its reverse
 * entry maps back to it; returns the live forward entries. Live: with at
 * least 200 ms left, so that a concurrent sweep cannot take the reverse
 * entry between the two reads. */
static int nat_invariant(int fl, int rv, const char *what)
{
	struct nat_key k, nk, seen[300], rk;
	struct nat_val v, r;
	bool first = true;
	int n = 0, i;
	uint64_t now = ct_now_ns() + 200 * 1000 * 1000ull;

	while (!bpf_map_get_next_key(fl, first ? NULL : &k, &nk) && n < 300) {
		first = false;
		k = nk;
		if (bpf_map_lookup_elem(fl, &k, &v) || v.expires_ns <= now)
			continue;
		memset(&rk, 0, sizeof(rk));
		memcpy(rk.saddr, k.daddr, 16);
		memcpy(rk.daddr, v.addr, 16);
		rk.sport = k.dport;
		rk.dport = v.port;
		rk.proto = k.proto;
		rk.family = k.family;
		for (i = 0; i < n; i++)
			if (!ASSERT_NEQ(memcmp(&seen[i], &rk, sizeof(rk)), 0, what))
				return -1;
		seen[n++] = rk;
		if (!ASSERT_OK(bpf_map_lookup_elem(rv, &rk, &r), what))
			return -1;
		ASSERT_EQ(memcmp(r.addr, k.saddr, 16), 0, what);
		ASSERT_EQ(r.port, k.sport, what);
	}
	return n;
}

static void nat_expiry(const char *hook)
{
	char spec[4096], cli[6][16];
	struct ct_rig r;
	struct sl_meta m;
	struct flow_gc_result g;
	uint8_t out[512];
	uint32_t nout, port[6] = { 0 };
	int fl = -1, rv = -1, st = -1, i;

	snprintf(spec, sizeof(spec), SPEC(NAT_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	fl = ct_rig_map(&r, "nat_flows");
	rv = ct_rig_map(&r, "nat_rev");
	st = ct_rig_map(&r, "lbnat_stats");
	if (!ASSERT_GE(fl, 0, "nat_flows") || !ASSERT_GE(rv, 0, "nat_rev") ||
	    !ASSERT_GE(st, 0, "lbnat_stats"))
		goto out;
	for (i = 0; i < 6; i++)
		snprintf(cli[i], sizeof(cli[i]), "10.0.0.%d", i + 1);
#define UP(i) ((struct ct_p){ 4, IPPROTO_UDP, cli[i], "198.51.100.1", 5000, 53, .payload = 9 })
#define DOWN(p) ((struct ct_p){ 4, IPPROTO_UDP, "198.51.100.1", "192.0.2.1", 53, (uint16_t)(p), .payload = 4 })
	/* four clients take the four ports; 0 and 1 are answered */
	for (i = 0; i < 4; i++) {
		struct ct_p p = UP(i);

		if (!ASSERT_OK(send_p(&r, &p, out, &nout, &m), "up") ||
		    !ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "translated"))
			goto out;
		port[i] = m.sport;
	}
	for (i = 0; i < 2; i++) {
		struct ct_p d = DOWN(port[i]);

		ASSERT_OK(send_p(&r, &d, out, &nout, &m), "down");
	}
	ASSERT_EQ(nat_invariant(fl, rv, "4 flows"), 4, "4 live flows");
	usleep(1200 * 1000);
	{ /* 0 refreshed by sending, 1 by its server's reply only */
		struct ct_p p = UP(0), d = DOWN(port[1]);

		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "0 again");
		ASSERT_EQ(m.sport, port[0], "0 keeps its port");
		ASSERT_OK(send_p(&r, &d, out, &nout, &m), "reply to 1");
	}
	usleep(1200 * 1000);
	{ /* 2 and 3 are dead but hold their ports until the sweep */
		struct ct_p p = UP(4), d = DOWN(port[2]);

		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "a 5th client");
		ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "no free port before the sweep");
		ASSERT_EQ(m.reason, SL_DROP_NAT_NO_PORT, "nat_ports_exhausted");
		ASSERT_OK(send_p(&r, &d, out, &nout, &m), "reply to dead 2");
		same_frame(out, nout, &d, "reply to a dead mapping: untranslated");
	}
	ASSERT_EQ(nat_invariant(fl, rv, "2 live"), 2, "2 live flows");
	ASSERT_OK(flow_gc(fl, rv, st, FLOW_KIND_NAT, 0, &g), "flow_gc");
	ASSERT_EQ(g.removed, 2, "2 dead forward entries removed");
	ASSERT_EQ(g.removed_rev, 2, "2 dead reverse entries removed (their ports free)");
	ASSERT_EQ(stat(st, FLOW_KIND_NAT, FLOW_STAT_GC_REMOVED), 2, "gc_removed");
	ASSERT_EQ(stat(st, FLOW_KIND_NAT, FLOW_STAT_GC_REMOVED_REV), 2, "gc_removed_rev");
	for (i = 0; i < 2; i++) {
		struct ct_p p = UP(i);

		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "live client again");
		ASSERT_EQ(m.sport, port[i], "a live flow keeps its port through the sweep");
	}
	{ /* the freed ports: to the 5th client and to 2 again, exact bytes */
		struct ct_p p = UP(4), want = UP(4);

		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "5th after the sweep");
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "5th translated");
		port[4] = m.sport;
		ASSERT_TRUE(port[4] == port[2] || port[4] == port[3], "a freed port");
		want.src = "192.0.2.1";
		want.sport = (uint16_t)port[4];
		same_frame(out, nout, &want, "5th translated: exact bytes");
		p = UP(2);
		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "2 again");
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "2 translated again");
		port[5] = m.sport;
		ASSERT_TRUE(port[5] == port[2] || port[5] == port[3], "the other freed port");
		ASSERT_NEQ(port[5], port[4], "not the 5th client's");
		p = UP(3);
		ASSERT_OK(send_p(&r, &p, out, &nout, &m), "3 again");
		ASSERT_EQ(m.reason, SL_DROP_NAT_NO_PORT, "range full again");
	}
	ASSERT_EQ(nat_invariant(fl, rv, "after reuse"), 4, "4 live flows, all distinct");
	{ /* the reply to the reused port goes to its new owner */
		struct ct_p d = DOWN(port[4]), want = DOWN(port[4]);

		want.dst = cli[4];
		want.dport = 5000;
		ASSERT_OK(send_p(&r, &d, out, &nout, &m), "reply to the 5th");
		same_frame(out, nout, &want, "reply to a reused port: its new client (exact bytes)");
	}
	ASSERT_EQ(stat(st, FLOW_KIND_NAT, FLOW_STAT_CREATED), 6, "created");
out:
	if (fl >= 0)
		close(fl);
	if (rv >= 0)
		close(rv);
	if (st >= 0)
		close(st);
	ct_rig_close(&r);
}

static void spec_errs(const char *json, const char *const *want, size_t nwant, const char *name)
{
	struct sl_errs errs = { 0 };
	struct spec *s = NULL;
	char *doc = fw_json(json);
	size_t i, j;
	int err;

	err = spec_parse(doc, strlen(doc), &s, &errs);
	free(doc);
	ASSERT_ERR(err, name);
	if (!ASSERT_EQ(errs.n, nwant, name))
		errs_print(&errs, stdout);
	for (i = 0; i < nwant; i++) {
		for (j = 0; j < errs.n; j++) {
			char line[512];

			snprintf(line, sizeof(line), "%s: %s", errs.v[j].path, errs.v[j].msg);
			if (strstr(line, want[i]))
				break;
		}
		if (!ASSERT_LT(j, errs.n, want[i]))
			errs_print(&errs, stdout);
	}
	spec_free(s);
	errs_free(&errs);
}

static void spec_timeouts(void)
{
	const char *const w[] = {
		"spec.functions[0].timeouts.tcpEstablished: 0 is out of range 1..2592000",
		"spec.functions[0].timeouts.icmp: unknown field \"icmp\"",
		"spec.functions[1].timeouts.udp: 2592001 is out of range 1..2592000",
		"spec.functions[1].timeouts.tcpEstablised: unknown field \"tcpEstablised\" (did you mean \"tcpEstablished\"?)",
		"spec.functions[1].timeouts.icmp: expected an integer",
	};
	char spec[4096];

	snprintf(spec, sizeof(spec),
		 SPEC("{'name':'lb','type':'loadbalancer','timeouts':{'tcpEstablished':0,'icmp':5},"
		      " 'services':[{'name':'a','vip':'10.0.0.1','port':80,'proto':'tcp',"
		      " 'backends':[{'ip':'10.0.1.1'}]}]},"
		      "{'name':'n','type':'nat','address':'192.0.2.1','sources':['10.0.0.0/8'],"
		      " 'timeouts':{'udp':2592001,'tcpEstablised':5,'icmp':'30'}}"),
		 "xdp");
	spec_errs(spec, w, sizeof(w) / sizeof(w[0]), "bad timeouts");
}

/* ns per packet of p through entry + stage, BPF_PROG_TEST_RUN repeat
 * (the kernel's own figure). */
static uint32_t cost(struct ct_rig *r, const struct ct_p *p, const char *what)
{
	uint8_t in[512], out[512];
	int n = ct_frame(p, in, sizeof(in));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 200000);

	if (!ASSERT_GT(n, 0, what))
		return 0;
	o.data_size_in = (uint32_t)n;
	if (!ASSERT_OK(bpf_prog_test_run_opts(r->gp.entry_fd, &o), what))
		return 0;
	ASSERT_LT(o.duration, 100000, what); /* sanity: under 100 us */
	return o.duration;
}

/* Per-packet figures for docs/loadbalancer.md and docs/nat.md: a live
 * flow's packets (a lookup of each of its entries, both refreshed), the
 * replies, an ICMP error, at XDP. */
static void costs(void)
{
	char spec[4096];
	struct ct_rig r;
	struct sl_meta m;
	uint8_t out[512];
	uint32_t nout, p;
	struct ct_p lf = { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 80, PKT_TCP_ACK, .payload = 64 };
	struct ct_p lr = { 4, IPPROTO_TCP, "10.0.1.1", "10.0.0.1", 8080, 40000, PKT_TCP_ACK, .payload = 64 };
	struct ct_p nf = { 4, IPPROTO_UDP, "10.0.0.1", "198.51.100.1", 5000, 53, .payload = 64 };
	struct ct_p nr, q, err;

	snprintf(spec, sizeof(spec), SPEC(LB_FN), "xdp");
	if (!ASSERT_OK(ct_rig_open(&r, spec), "lb rig"))
		return;
	send_p(&r, &lf, out, &nout, &m);
	send_p(&r, &lr, out, &nout, &m);
	printf("    lb: forward %u ns, reply %u ns per packet (entry + stage, XDP)\n",
	       cost(&r, &lf, "lb forward"), cost(&r, &lr, "lb reply"));
	ct_rig_close(&r);
	snprintf(spec, sizeof(spec), SPEC(NAT_FN), "xdp");
	if (!ASSERT_OK(ct_rig_open(&r, spec), "nat rig"))
		return;
	send_p(&r, &nf, out, &nout, &m);
	p = m.sport;
	nr = (struct ct_p){ 4, IPPROTO_UDP, "198.51.100.1", "192.0.2.1", 53, (uint16_t)p, .payload = 64 };
	q = (struct ct_p){ 4, IPPROTO_UDP, "192.0.2.1", "198.51.100.1", (uint16_t)p, 53, .payload = 64 };
	err = (struct ct_p){ 4, IPPROTO_ICMP, "198.51.100.1", "192.0.2.1", .icmp_type = 3, .icmp_code = 3,
			     .inner = &q };
	printf("    nat: out %u ns, reply %u ns, ICMP error back %u ns per packet (entry + stage, XDP)\n",
	       cost(&r, &nf, "nat out"), cost(&r, &nr, "nat reply"), cost(&r, &err, "nat icmp"));
	ct_rig_close(&r);
}

/* Port allocation under contention: two threads on two CPUs open and
 * refresh UDP flows (a window of 96 of 1024 flows that moves on every
 * 1.2 s, so older mappings idle out) through a 64-port range with a 1 s
 * timeout, while a third sweeps every 20 ms, for 6 s; then no two live
 * mappings share a translated 5-tuple, each live mapping's reverse entry
 * maps back to it, and ports were freed and reused. */
struct par {
	struct ct_rig *r;
	int cpu;
	volatile bool *stop;
	volatile unsigned int *window; /* which 64 of the 1024 flows send */
	unsigned long sent, passed;
	int fl, rv, st;
	unsigned long sweeps, swept;
};

static void *par_send(void *arg)
{
	struct par *p = arg;
	cpu_set_t cs;
	uint8_t in[256], out[256];
	char src[32];
	unsigned int seed = (unsigned int)p->cpu * 7919u + 1;

	CPU_ZERO(&cs);
	CPU_SET(p->cpu, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	while (!*p->stop) {
		unsigned int c = (*p->window * 64 + rand_r(&seed) % 96) % 1024;
		struct ct_p u = { 4, IPPROTO_UDP, src, "198.51.100.1", (uint16_t)(5000 + c % 4), 53, .payload = 8 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);
		int n;

		snprintf(src, sizeof(src), "10.1.%u.%u", c / 4 / 64, c / 4 % 64 + 1);
		n = ct_frame(&u, in, sizeof(in));
		if (n < 0)
			break;
		o.data_size_in = (uint32_t)n;
		if (bpf_prog_test_run_opts(p->r->gp.entry_fd, &o))
			break;
		p->sent++;
		p->passed += o.retval == 2; /* XDP_PASS: translated */
	}
	return NULL;
}

static void *par_sweep(void *arg)
{
	struct par *p = arg;
	struct flow_gc_result g;

	while (!*p->stop) {
		if (!flow_gc(p->fl, p->rv, p->st, FLOW_KIND_NAT, 0, &g)) {
			p->sweeps++;
			p->swept += g.removed_rev;
		}
		usleep(20 * 1000);
	}
	return NULL;
}

static void parallel(void)
{
	char spec[4096];
	struct ct_rig r;
	volatile bool stop = false;
	volatile unsigned int window = 0;
	struct par p[3] = {};
	pthread_t t[3];
	int i, n, ncpu = libbpf_num_possible_cpus(), fl, rv, st;

	snprintf(spec, sizeof(spec),
		 SPEC("{'name':'snat','type':'nat','address':'192.0.2.1','ports':'20000-20063',"
		      "'sources':['10.0.0.0/8'],'flowTableSize':4096,'timeouts':{'udp':1,'udpReplied':1}}"),
		 "xdp");
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		return;
	fl = ct_rig_map(&r, "nat_flows");
	rv = ct_rig_map(&r, "nat_rev");
	st = ct_rig_map(&r, "lbnat_stats");
	if (!ASSERT_GE(fl, 0, "maps") || !ASSERT_GE(rv, 0, "maps") || !ASSERT_GE(st, 0, "maps"))
		goto out;
	for (i = 0; i < 3; i++) {
		p[i].r = &r;
		p[i].cpu = i % (ncpu > 0 ? ncpu : 1);
		p[i].stop = &stop;
		p[i].window = &window;
		p[i].fl = fl;
		p[i].rv = rv;
		p[i].st = st;
	}
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, i < 2 ? par_send : par_sweep, &p[i]);
	for (i = 0; i < 5; i++) {
		usleep(1200 * 1000);
		window = window + 1;
		n = nat_invariant(fl, rv, "during the race");
		ASSERT_LE(n, 64, "no more live mappings than ports");
	}
	stop = true;
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	n = nat_invariant(fl, rv, "after the race");
	printf("    %lu + %lu packets on 2 CPUs (%lu + %lu translated), %lu sweeps freed %lu ports, %d live mappings, all distinct\n",
	       p[0].sent, p[1].sent, p[0].passed, p[1].passed, p[2].sweeps, p[2].swept, n);
	ASSERT_GT(n, 0, "live mappings");
	ASSERT_LE(n, 64, "no more mappings than ports");
	ASSERT_GT(p[2].swept, 0, "ports freed by sweeps and reused");
out:
	if (fl >= 0)
		close(fl);
	if (rv >= 0)
		close(rv);
	if (st >= 0)
		close(st);
	ct_rig_close(&r);
}

void test_lbnat_expiry(void)
{
	if (test__start_subtest("parallel"))
		parallel();
	if (test__start_subtest("cost"))
		costs();
	if (test__start_subtest("lb_xdp"))
		lb_expiry("xdp");
	if (test__start_subtest("lb_tc"))
		lb_expiry("tc-ingress");
	if (test__start_subtest("nat_xdp"))
		nat_expiry("xdp");
	if (test__start_subtest("nat_tc"))
		nat_expiry("tc-egress");
	if (test__start_subtest("spec"))
		spec_timeouts();
}
