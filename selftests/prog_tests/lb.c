// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The load balancer stage (dnat) through the real entry program, parser
 * and stage (BPF_PROG_TEST_RUN on a private generation): exact output
 * bytes, the expected frame built by the packet builder (selftests' own
 * checksum code, not the stage's), for TCP and UDP over IPv4 and IPv6, the
 * forward rewrite and the reply's reverse one; flows pinned to their
 * backend; spread by weight; draining backends take no new flows. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"
#include "shared/lb.h"

#define SPEC(fns)                                                              \
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"   \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'%s'}]," \
	"'functions':[" fns "]}}"

#define LB_FN                                                                  \
	"{'name':'lb','type':'loadbalancer','flowTableSize':4096,'services':[" \
	"{'name':'web','vip':'10.0.9.10','port':80,'proto':'tcp','tableSize':1009," \
	" 'backends':[{'ip':'10.0.1.1','port':8080}]},"                         \
	"{'name':'dns','vip':'10.0.9.10','port':53,'proto':'udp',"             \
	" 'backends':[{'ip':'10.0.1.2','port':5353}]},"                         \
	"{'name':'web6','vip':'fd00:9::10','port':443,'proto':'tcp',"          \
	" 'backends':[{'ip':'fd00:1::1','port':8443}]},"                        \
	"{'name':'dns6','vip':'fd00:9::10','port':53,'proto':'udp',"           \
	" 'backends':[{'ip':'fd00:1::2'}]},"                                    \
	"{'name':'spread','vip':'10.0.9.11','port':80,'proto':'tcp','tableSize':65537," \
	" 'backends':[{'ip':'10.0.2.1','weight':1},{'ip':'10.0.2.2','weight':2}," \
	"  {'ip':'10.0.2.3','weight':1,'state':'draining'},{'ip':'10.0.2.4','weight':1}]}]}"

struct fx {
	const char *what;
	struct ct_p in, want;
};

static void check(struct ct_rig *r, const struct fx *f, bool tc)
{
	uint8_t in[1024], want[1024], out[1024];
	int nin = ct_frame(&f->in, in, sizeof(in)), nwant = ct_frame(&f->want, want, sizeof(want));
	uint32_t nout = sizeof(out), ret;
	struct sl_meta m;

	if (!ASSERT_GT(nin, 0, f->what) || !ASSERT_GT(nwant, 0, f->what))
		return;
	if (!ASSERT_OK(ct_send_raw(r, in, (size_t)nin, out, &nout, &m, &ret), f->what))
		return;
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, f->what);
	/* TC: the chain passes on to the next filter (bpf/include/stage.h) */
	ASSERT_EQ(ret, tc ? (uint32_t)TC_ACT_UNSPEC : 2, f->what);
	if (ASSERT_EQ(nout, nwant, f->what))
		ASSERT_MEMEQ(out, want, (size_t)nwant, f->what);
}

static void fixtures(const char *hook)
{
	char spec[4096];
	struct ct_rig r;
	bool tc = strcmp(hook, "xdp");
	size_t i;
	const struct fx v[] = {
		{ "tcp4 SYN to the vip: to the backend",
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 80, PKT_TCP_SYN, .payload = 20 },
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.1.1", 40000, 8080, PKT_TCP_SYN, .payload = 20 } },
		{ "tcp4 reply from the backend: from the vip",
		  { 4, IPPROTO_TCP, "10.0.1.1", "10.0.0.1", 8080, 40000, PKT_TCP_SYN | PKT_TCP_ACK },
		  { 4, IPPROTO_TCP, "10.0.9.10", "10.0.0.1", 80, 40000, PKT_TCP_SYN | PKT_TCP_ACK } },
		{ "tcp4 data, pinned flow",
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 80, PKT_TCP_ACK | PKT_TCP_PSH, .payload = 333 },
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.1.1", 40000, 8080, PKT_TCP_ACK | PKT_TCP_PSH, .payload = 333 } },
		{ "udp4 to the vip",
		  { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.10", 5555, 53, .payload = 41 },
		  { 4, IPPROTO_UDP, "10.0.0.2", "10.0.1.2", 5555, 5353, .payload = 41 } },
		{ "udp4 reply",
		  { 4, IPPROTO_UDP, "10.0.1.2", "10.0.0.2", 5353, 5555, .payload = 7 },
		  { 4, IPPROTO_UDP, "10.0.9.10", "10.0.0.2", 53, 5555, .payload = 7 } },
		{ "tcp6 SYN to the vip",
		  { 6, IPPROTO_TCP, "fd00::1", "fd00:9::10", 40001, 443, PKT_TCP_SYN, .payload = 3 },
		  { 6, IPPROTO_TCP, "fd00::1", "fd00:1::1", 40001, 8443, PKT_TCP_SYN, .payload = 3 } },
		{ "tcp6 reply",
		  { 6, IPPROTO_TCP, "fd00:1::1", "fd00::1", 8443, 40001, PKT_TCP_SYN | PKT_TCP_ACK },
		  { 6, IPPROTO_TCP, "fd00:9::10", "fd00::1", 443, 40001, PKT_TCP_SYN | PKT_TCP_ACK } },
		{ "udp6 to the vip (backend port = service port)",
		  { 6, IPPROTO_UDP, "fd00::2", "fd00:9::10", 6000, 53, .payload = 100 },
		  { 6, IPPROTO_UDP, "fd00::2", "fd00:1::2", 6000, 53, .payload = 100 } },
		{ "udp6 reply",
		  { 6, IPPROTO_UDP, "fd00:1::2", "fd00::2", 53, 6000, .payload = 1 },
		  { 6, IPPROTO_UDP, "fd00:9::10", "fd00::2", 53, 6000, .payload = 1 } },
		{ "not a service: untouched",
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 81, PKT_TCP_SYN },
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.10", 40000, 81, PKT_TCP_SYN } },
		{ "udp to the tcp service's port: untouched",
		  { 4, IPPROTO_UDP, "10.0.0.1", "10.0.9.10", 40000, 80 },
		  { 4, IPPROTO_UDP, "10.0.0.1", "10.0.9.10", 40000, 80 } },
	};

	snprintf(spec, sizeof(spec), SPEC(LB_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(&r, &v[i], tc);
out:
	ct_rig_close(&r);
}

/* 6000 new flows to the 'spread' service: shares follow the weights
 * (1:2:0:1, the third draining), and every flow stays on its backend. */
static void spread(void)
{
	char spec[4096], dst[INET_ADDRSTRLEN], src[32];
	uint8_t in[256], out[256];
	uint32_t nout, cnt[4] = { 0 }, moved = 0, first[600];
	struct ct_rig r;
	struct sl_meta m;
	int i, n, b;

	snprintf(spec, sizeof(spec), SPEC(LB_FN), "xdp");
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	for (i = 0; i < 6000; i++) {
		struct ct_p p = { 4, IPPROTO_TCP, src, "10.0.9.11", (uint16_t)(1024 + i % 50000), 80,
				  i < 600 || i >= 5400 ? PKT_TCP_ACK : PKT_TCP_SYN };

		snprintf(src, sizeof(src), "10.%d.%d.%d", 100 + (i % 600) / 250, (i % 600) % 250, 1 + i / 600);
		if (i >= 5400) /* the first 600 flows again, not SYN: pinned */
			snprintf(src, sizeof(src), "10.%d.%d.%d", 100 + (i - 5400) / 250, (i - 5400) % 250, 1);
		p.sport = (uint16_t)(1024 + (i >= 5400 ? i - 5400 : i) % 50000);
		n = ct_frame(&p, in, sizeof(in));
		nout = sizeof(out);
		if (ct_send_raw(&r, in, (size_t)n, out, &nout, &m, NULL) || m.verdict != SL_VERDICT_PASS)
			continue;
		inet_ntop(AF_INET, m.daddr, dst, sizeof(dst));
		b = dst[strlen(dst) - 1] - '1';
		if (b < 0 || b > 3)
			continue;
		if (i < 600)
			first[i] = (uint32_t)b;
		else if (i >= 5400)
			moved += first[i - 5400] != (uint32_t)b;
		if (i < 5400)
			cnt[b]++;
	}
	printf("    5400 new flows by weight 1:2:0(draining):1 -> %u:%u:%u:%u\n", cnt[0], cnt[1],
	       cnt[2], cnt[3]);
	ASSERT_EQ(cnt[0] + cnt[1] + cnt[2] + cnt[3], 5400, "every flow balanced");
	ASSERT_EQ(cnt[2], 0, "draining backend: no new flow");
	ASSERT_LE(abs((int)cnt[1] - 2700), 270, "weight 2: half");
	ASSERT_LE(abs((int)cnt[0] - 1350), 200, "weight 1: a quarter");
	ASSERT_LE(abs((int)cnt[3] - 1350), 200, "weight 1: a quarter");
	ASSERT_EQ(moved, 0, "pinned flows stay on their backend");
out:
	ct_rig_close(&r);
}

/* dsr: the expected frame is the input frame with an outer header built
 * here (its checksums by the packet builder's pkt_csum, the GUE/IPv6 one
 * over the whole datagram, not from the inner checksum as the stage does). */
#define DSR_FN                                                                 \
	"{'name':'lb','type':'loadbalancer','flowTableSize':4096,'services':[" \
	"{'name':'ipip4','vip':'10.0.9.20','port':80,'proto':'tcp','mode':'dsr',"  \
	" 'encapSource':'10.0.0.254','backends':[{'ip':'10.0.1.1'}]},"          \
	"{'name':'gue4','vip':'10.0.9.20','port':53,'proto':'udp','mode':'dsr','encap':'gue'," \
	" 'encapSource':'10.0.0.254','backends':[{'ip':'10.0.1.2'}]},"          \
	"{'name':'ipip6','vip':'fd00:9::20','port':443,'proto':'tcp','mode':'dsr','encap':'ipip'," \
	" 'encapSource':'fd00::fe','backends':[{'ip':'fd00:1::1','port':443}]}," \
	"{'name':'gue6','vip':'fd00:9::20','port':53,'proto':'udp','mode':'dsr','encap':'gue'," \
	" 'guePort':7777,'encapSource':'fd00::fe','backends':[{'ip':'fd00:1::2'}]}]}"

struct dsr_fx {
	const char *what;
	struct ct_p in;
	bool gue;
	uint16_t gue_port;
	const char *src, *dst; /* outer */
};

/* lb.bpf.c's lb_hash, again (it picks the GUE source port). */
static uint32_t t_mix(uint32_t h, uint32_t w)
{
	h ^= w;
	h *= 0xcc9e2d51;
	h = (h << 15) | (h >> 17);
	return h * 0x1b873593;
}

static uint32_t t_hash(const struct ct_p *p)
{
	uint32_t s[4] = { 0 }, d[4] = { 0 }, h = 0x736c6263;
	int i, af = p->family == 4 ? AF_INET : AF_INET6;

	inet_pton(af, p->src, s);
	inet_pton(af, p->dst, d);
	for (i = 0; i < 4; i++) {
		h = t_mix(h, s[i]);
		h = t_mix(h, d[i]);
	}
	h = t_mix(h, (uint32_t)p->sport << 16 | p->dport);
	h = t_mix(h, (uint32_t)p->proto << 8 | (uint32_t)p->family);
	h ^= h >> 16;
	h *= 0x85ebca6b;
	return h ^ (h >> 13);
}

static int dsr_want(const struct dsr_fx *f, const uint8_t *in, int nin, uint8_t *w)
{
	int v6 = f->in.family == 6, ol = v6 ? 40 : 20, hl = ol + (f->gue ? 8 : 0);
	int ilen = nin - 14;
	uint8_t *o = w + 14, *u = o + ol;

	memcpy(w, in, 14);
	memcpy(w + 14 + hl, in + 14, (size_t)ilen);
	memset(o, 0, (size_t)hl);
	if (v6) {
		o[0] = 0x60 | (in[14] & 0x0f);
		o[1] = in[15] & 0xf0;
		o[4] = (uint8_t)((ilen + hl - 40) >> 8);
		o[5] = (uint8_t)(ilen + hl - 40);
		o[6] = f->gue ? IPPROTO_UDP : IPPROTO_IPV6;
		o[7] = 64;
		inet_pton(AF_INET6, f->src, o + 8);
		inet_pton(AF_INET6, f->dst, o + 24);
	} else {
		o[0] = 0x45;
		o[1] = in[15];
		o[2] = (uint8_t)((ilen + hl) >> 8);
		o[3] = (uint8_t)(ilen + hl);
		o[6] = 0x40; /* DF */
		o[8] = 64;
		o[9] = f->gue ? IPPROTO_UDP : IPPROTO_IPIP;
		inet_pton(AF_INET, f->src, o + 12);
		inet_pton(AF_INET, f->dst, o + 16);
		pkt_ipv4_fix_csum(w, 14);
	}
	if (f->gue) {
		uint16_t sport = (uint16_t)(49152 + t_hash(&f->in) % 16384), c;
		int ulen = ilen + 8;

		u[0] = sport >> 8;
		u[1] = (uint8_t)sport;
		u[2] = f->gue_port >> 8;
		u[3] = (uint8_t)f->gue_port;
		u[4] = (uint8_t)(ulen >> 8);
		u[5] = (uint8_t)ulen;
		if (v6) { /* pseudo header, then the datagram */
			static uint8_t b[2048];

			memset(b, 0, 40);
			memcpy(b, o + 8, 32);
			b[34] = (uint8_t)(ulen >> 8);
			b[35] = (uint8_t)ulen;
			b[39] = IPPROTO_UDP;
			memcpy(b + 40, u, (size_t)ulen);
			c = pkt_csum(b, (size_t)(40 + ulen));
			if (!c)
				c = 0xffff;
			u[6] = c >> 8;
			u[7] = (uint8_t)c;
		}
	}
	return nin + hl;
}

static void dsr_fixtures(const char *hook)
{
	char spec[4096];
	struct ct_rig r;
	bool tc = strcmp(hook, "xdp");
	size_t i;
	const struct dsr_fx v[] = {
		{ "ipip4: tcp SYN to the vip",
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.20", 40000, 80, PKT_TCP_SYN, .payload = 20 },
		  false, 0, "10.0.0.254", "10.0.1.1" },
		{ "ipip4: tcp data, pinned",
		  { 4, IPPROTO_TCP, "10.0.0.1", "10.0.9.20", 40000, 80, PKT_TCP_ACK | PKT_TCP_PSH, .payload = 333 },
		  false, 0, "10.0.0.254", "10.0.1.1" },
		{ "gue4: udp to the vip",
		  { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.20", 5555, 53, .payload = 41 },
		  true, 6080, "10.0.0.254", "10.0.1.2" },
		{ "gue4: odd payload, another flow",
		  { 4, IPPROTO_UDP, "10.0.7.9", "10.0.9.20", 1234, 53, .payload = 1 },
		  true, 6080, "10.0.0.254", "10.0.1.2" },
		{ "ipip6: tcp SYN to the vip",
		  { 6, IPPROTO_TCP, "fd00::1", "fd00:9::20", 40001, 443, PKT_TCP_SYN, .payload = 3 },
		  false, 0, "fd00::fe", "fd00:1::1" },
		{ "gue6: udp to the vip (checksummed)",
		  { 6, IPPROTO_UDP, "fd00::2", "fd00:9::20", 6000, 53, .payload = 100 },
		  true, 7777, "fd00::fe", "fd00:1::2" },
		{ "gue6: tcp-sized odd payload",
		  { 6, IPPROTO_UDP, "fd00::3", "fd00:9::20", 6001, 53, .payload = 1001 },
		  true, 7777, "fd00::fe", "fd00:1::2" },
	};

	snprintf(spec, sizeof(spec), SPEC(DSR_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t in[2048], want[2048], out[2048];
		int nin = ct_frame(&v[i].in, in, sizeof(in)), nwant;
		uint32_t nout = sizeof(out), ret;
		struct sl_meta m;

		if (!ASSERT_GT(nin, 0, v[i].what))
			continue;
		nwant = dsr_want(&v[i], in, nin, want);
		if (!ASSERT_OK(ct_send_raw(&r, in, (size_t)nin, out, &nout, &m, &ret), v[i].what))
			continue;
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, v[i].what);
		ASSERT_EQ(ret, tc ? (uint32_t)TC_ACT_UNSPEC : 2, v[i].what);
		if (ASSERT_EQ(nout, nwant, v[i].what))
			ASSERT_MEMEQ(out, want, (size_t)nwant, v[i].what);
	}
	/* replies bypass the load balancer: no reverse entry was made */
	{
		struct lb_flow_key nk;
		int fd = ct_rig_map(&r, "lb_rev");

		if (ASSERT_GE(fd, 0, "lb_rev")) {
			ASSERT_ERR(bpf_map_get_next_key(fd, NULL, &nk), "lb_rev empty in dsr");
			close(fd);
		}
	}
out:
	ct_rig_close(&r);
}

void test_lb(void)
{
	if (test__start_subtest("fixtures_xdp"))
		fixtures("xdp");
	if (test__start_subtest("fixtures_tc"))
		fixtures("tc-ingress");
	if (test__start_subtest("spread_and_pin"))
		spread();
	if (test__start_subtest("dsr_xdp"))
		dsr_fixtures("xdp");
	if (test__start_subtest("dsr_tc"))
		dsr_fixtures("tc-ingress");
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

void test_lb_spec(void)
{
	const char *const w[] = {
		"spec.functions[0].services[0].vip: \"10.0.0.0/24\" is not an IPv4 or IPv6 address",
		"spec.functions[0].services[0].proto: \"icmp\" is not one of \"tcp\", \"udp\"",
		"spec.functions[0].services[0].tableSize: 65536 is not a prime",
		"spec.functions[0].services[1].backends[0].ip: an IPv6 backend for an IPv4 vip",
		"spec.functions[0].services[1].backends[2]: duplicate backend (also backends[1])",
		"spec.functions[0].services[1].backends[2].weight: 0 is out of range 1..1000",
		"spec.functions[0].services[2]: the same vip, port and proto as services[1]",
		"spec.functions[0].services[2].name: duplicate service name \"b\"",
		"spec.functions[0].services[2].backends[0].state: \"drained\" is not one of",
		"spec.functions[0].services[2].tableSize: 3 slots for 3 backends",
		"spec.functions[0].services[2].mode: \"tunnel\" is not one of \"dnat\", \"dsr\"",
		"spec.functions[0].services[0].encap: only mode \"dsr\" encapsulates",
		"spec.functions[0].services[3].guePort: only encap \"gue\" (mode \"dsr\") has a GUE port",
		"spec.functions[0].services[3].encapSource: an IPv6 source for an IPv4 vip",
		"spec.functions[0].services[3].backends[0].port: 8080: dsr does not rewrite the port",
		"spec.functions[0].services[3].backends[1].ip: an IPv6 backend for an IPv4 vip: dsr keeps the family",
		"spec.functions[0].services[4].encap: \"vxlan\" is not one of \"ipip\", \"gue\"",
		"spec.functions[0].services[4].encapSource: \"10.0.0.0/8\" is not an IPv4 or IPv6 address",
	};
	char spec[4096];

	snprintf(spec, sizeof(spec),
		 SPEC("{'name':'lb','type':'loadbalancer','services':["
		      "{'name':'a','vip':'10.0.0.0/24','port':80,'proto':'icmp','tableSize':65536,'encap':'ipip',"
		      " 'backends':[{'ip':'10.0.1.1'}]},"
		      "{'name':'b','vip':'10.0.0.1','port':80,'proto':'tcp',"
		      " 'backends':[{'ip':'fd00::1'},{'ip':'10.0.1.1'},{'ip':'10.0.1.1','weight':0}]},"
		      "{'name':'b','vip':'10.0.0.1','port':80,'proto':'tcp','tableSize':3,'mode':'tunnel',"
		      " 'backends':[{'ip':'10.0.1.1','state':'drained'},{'ip':'10.0.1.2'},{'ip':'10.0.1.3'}]},"
		      "{'name':'c','vip':'10.0.0.3','port':80,'proto':'tcp','mode':'dsr','guePort':6080,"
		      " 'encapSource':'fd00::1','backends':[{'ip':'10.0.1.1','port':8080},{'ip':'fd00::2'}]},"
		      "{'name':'d','vip':'10.0.0.4','port':80,'proto':'tcp','mode':'dsr','encap':'vxlan',"
		      " 'encapSource':'10.0.0.0/8','backends':[{'ip':'10.0.1.1','port':80}]}]}"),
		 "xdp");
	spec_errs(spec, w, sizeof(w) / sizeof(w[0]), "bad services");
}
