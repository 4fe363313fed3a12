// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ICMP through the NAT and the load balancer, and their fragment policy,
 * through the real entry program, parser and stage (BPF_PROG_TEST_RUN on a
 * private generation), at XDP and TC. Every expected frame is built by the
 * packet builder (selftests' own checksum code: the outer IPv4 header's,
 * the quoted IPv4 header's and TCP/UDP checksums over the whole inner
 * datagram, the ICMP/ICMPv6 checksum over the message, pseudo-header
 * included), never by the code under test:
 * - nat: a server's port unreachable (UDP/IPv4), a router's frag needed
 *   (TCP/IPv4), an ICMPv6 packet too big (UDP/IPv6) about translated flows
 *   go back to the client with outer and quoted headers translated back; a
 *   client's port unreachable about a reply goes out as the NAT's; echo
 *   request and reply (IPv4, IPv6) with the identifier as the port; a time
 *   exceeded quoting a translated echo; an error about nothing untouched;
 * - lb: a backend's port unreachable (outer source: the VIP), a router's
 *   frag needed (outer source kept), a client's error about a reply (to
 *   the backend), an ICMPv6 error from a backend;
 * - later fragments: from a translated source, to the NAT address, to a
 *   VIP, from a backend: dropped (nat_fragment, lb_fragment); others pass
 *   untouched. */
#include <string.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"
#include "shared/drop_reasons.h"

#define SPEC(fns)                                                              \
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"   \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'%s'}]," \
	"'functions':[" fns "]}}"

static int send_p(struct ct_rig *r, const struct ct_p *p, uint8_t *out, uint32_t *nout,
		  struct sl_meta *m)
{
	uint8_t in[1024];
	int n = ct_frame(p, in, sizeof(in));

	if (n < 0)
		return n;
	*nout = 1024;
	return ct_send_raw(r, in, (size_t)n, out, nout, m, NULL);
}

/* p through the chain: passed, and out exactly want's bytes. */
static void expect(struct ct_rig *r, const struct ct_p *p, const struct ct_p *want,
		   const char *what)
{
	uint8_t out[1024], w[1024];
	uint32_t nout;
	struct sl_meta m;
	int n = ct_frame(want, w, sizeof(w));

	if (!ASSERT_GT(n, 0, what) || !ASSERT_OK(send_p(r, p, out, &nout, &m), what))
		return;
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, what);
	if (ASSERT_EQ(nout, n, what))
		ASSERT_MEMEQ(out, w, (size_t)n, what);
}

static void expect_drop(struct ct_rig *r, const struct ct_p *p, unsigned int reason,
			const char *what)
{
	uint8_t out[1024];
	uint32_t nout;
	struct sl_meta m;

	if (!ASSERT_OK(send_p(r, p, out, &nout, &m), what))
		return;
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, what);
	ASSERT_EQ(m.reason, reason, what);
}

/* A flow out through the NAT: its translated source port. */
static uint16_t nat_port(struct ct_rig *r, const struct ct_p *p)
{
	uint8_t out[1024];
	uint32_t nout;
	struct sl_meta m;

	if (!ASSERT_OK(send_p(r, p, out, &nout, &m), "flow out") ||
	    !ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "flow out translated"))
		return 0;
	return m.sport;
}

#define NAT_FN                                                                 \
	"{'name':'snat','type':'nat','address':'192.0.2.1','address6':'2001:db8::1'," \
	"'ports':'20000-20099','sources':['10.0.0.0/8','fd00::/8'],'flowTableSize':1024}"

static void nat_icmp(const char *hook)
{
	char spec[2048];
	struct ct_rig r;
	uint16_t pu, pt, p6, pe;

	snprintf(spec, sizeof(spec), SPEC(NAT_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	{ /* UDP/IPv4: the server's port unreachable */
		struct ct_p up = { 4, IPPROTO_UDP, "10.0.0.1", "198.51.100.1", 5000, 53, .payload = 9 };
		struct ct_p q, wq = up, err, want;

		pu = nat_port(&r, &up);
		q = (struct ct_p){ 4, IPPROTO_UDP, "192.0.2.1", "198.51.100.1", pu, 53, .payload = 9 };
		err = (struct ct_p){ 4, IPPROTO_ICMP, "198.51.100.1", "192.0.2.1", .icmp_type = 3,
				     .icmp_code = 3, .inner = &q };
		want = err;
		want.dst = "10.0.0.1";
		want.inner = &wq;
		expect(&r, &err, &want, "port unreachable back to the client (udp4): exact bytes");
	}
	{ /* TCP/IPv4: a router's frag needed, the outer source kept */
		struct ct_p syn = { 4, IPPROTO_TCP, "10.0.0.2", "198.51.100.1", 40000, 443, PKT_TCP_SYN, .payload = 100 };
		struct ct_p q, wq = syn, err, want;

		pt = nat_port(&r, &syn);
		q = syn;
		q.src = "192.0.2.1";
		q.sport = pt;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "203.0.113.9", "192.0.2.1", .icmp_type = 3,
				     .icmp_code = 4, .inner = &q };
		want = err;
		want.dst = "10.0.0.2";
		want.inner = &wq;
		expect(&r, &err, &want, "frag needed from a router (tcp4): exact bytes");
	}
	{ /* UDP/IPv6: packet too big */
		struct ct_p up = { 6, IPPROTO_UDP, "fd00::1", "2001:db8:ffff::1", 5353, 53, .payload = 30 };
		struct ct_p q, wq = up, err, want;

		p6 = nat_port(&r, &up);
		q = up;
		q.src = "2001:db8::1";
		q.sport = p6;
		err = (struct ct_p){ 6, IPPROTO_ICMPV6, "2001:db8:ffff::1", "2001:db8::1",
				     .icmp_type = 2, .icmp_code = 0, .inner = &q };
		want = err;
		want.dst = "fd00::1";
		want.inner = &wq;
		expect(&r, &err, &want, "packet too big back to the client (udp6): exact bytes");
	}
	{ /* the client's port unreachable about a reply: out as the NAT's */
		struct ct_p q = { 4, IPPROTO_UDP, "198.51.100.1", "10.0.0.1", 53, 5000, .payload = 4 };
		struct ct_p wq = q, err, want;

		wq.dst = "192.0.2.1";
		wq.dport = pu;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "10.0.0.1", "198.51.100.1", .icmp_type = 3,
				     .icmp_code = 3, .inner = &q };
		want = err;
		want.src = "192.0.2.1";
		want.inner = &wq;
		expect(&r, &err, &want, "the client's error about a reply: as the NAT's (exact bytes)");
	}
	{ /* echo: the identifier is the port */
		struct ct_p req = { 4, IPPROTO_ICMP, "10.0.0.3", "198.51.100.1", .icmp_type = 8,
				    .icmp_id = 0x1234, .payload = 56 };
		struct ct_p want = req, rep, wrep, q, wq, err, werr;
		uint8_t out[1024];
		uint32_t nout;
		struct sl_meta m;

		if (!ASSERT_OK(send_p(&r, &req, out, &nout, &m), "echo request"))
			goto out;
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "echo request translated");
		pe = (uint16_t)(out[14 + 20 + 4] << 8 | out[14 + 20 + 5]);
		ASSERT_GE(pe, 20000, "identifier from the range");
		ASSERT_LE(pe, 20099, "identifier from the range");
		want.src = "192.0.2.1";
		want.icmp_id = pe;
		if (ASSERT_EQ(nout, ct_frame(&want, out + 512, 512), "echo request length"))
			ASSERT_MEMEQ(out, out + 512, nout, "echo request translated: exact bytes");
		rep = (struct ct_p){ 4, IPPROTO_ICMP, "198.51.100.1", "192.0.2.1", .icmp_type = 0,
				     .icmp_id = pe, .payload = 56 };
		wrep = rep;
		wrep.dst = "10.0.0.3";
		wrep.icmp_id = 0x1234;
		expect(&r, &rep, &wrep, "echo reply back to the client: exact bytes");
		q = want;
		q.payload = 0;
		wq = req;
		wq.payload = 0;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "203.0.113.9", "192.0.2.1", .icmp_type = 11,
				     .inner = &q };
		werr = err;
		werr.dst = "10.0.0.3";
		werr.inner = &wq;
		expect(&r, &err, &werr, "time exceeded quoting a translated echo: exact bytes");
	}
	{ /* ICMPv6 echo: the checksum's pseudo-header follows */
		struct ct_p req = { 6, IPPROTO_ICMPV6, "fd00::7", "2001:db8:ffff::1", .icmp_type = 128,
				    .icmp_id = 0x4321, .payload = 16 };
		struct ct_p want = req, rep, wrep;
		uint8_t out[1024];
		uint32_t nout;
		struct sl_meta m;
		uint16_t id;

		if (!ASSERT_OK(send_p(&r, &req, out, &nout, &m), "echo6 request"))
			goto out;
		id = (uint16_t)(out[14 + 40 + 4] << 8 | out[14 + 40 + 5]);
		want.src = "2001:db8::1";
		want.icmp_id = id;
		if (ASSERT_EQ(nout, ct_frame(&want, out + 512, 512), "echo6 length"))
			ASSERT_MEMEQ(out, out + 512, nout, "echo6 request translated: exact bytes");
		rep = (struct ct_p){ 6, IPPROTO_ICMPV6, "2001:db8:ffff::1", "2001:db8::1",
				     .icmp_type = 129, .icmp_id = id, .payload = 16 };
		wrep = rep;
		wrep.dst = "fd00::7";
		wrep.icmp_id = 0x4321;
		expect(&r, &rep, &wrep, "echo6 reply back: exact bytes");
	}
	{ /* an error about no flow: untouched */
		struct ct_p q = { 4, IPPROTO_UDP, "192.0.2.1", "198.51.100.1", 29999, 53 };
		struct ct_p err = { 4, IPPROTO_ICMP, "198.51.100.1", "192.0.2.1", .icmp_type = 3,
				    .icmp_code = 3, .inner = &q };

		expect(&r, &err, &err, "an error about nothing: untouched");
	}
	{ /* later fragments */
		struct ct_p f1 = { 4, IPPROTO_UDP, "10.0.0.1", "198.51.100.1", .frag_later = true };
		struct ct_p f2 = { 4, IPPROTO_UDP, "198.51.100.1", "192.0.2.1", .frag_later = true };
		struct ct_p f3 = { 4, IPPROTO_UDP, "172.16.0.1", "198.51.100.1", .frag_later = true };

		expect_drop(&r, &f1, SL_DROP_NAT_FRAGMENT, "later fragment from a source: nat_fragment");
		expect_drop(&r, &f2, SL_DROP_NAT_FRAGMENT, "later fragment to the NAT address: nat_fragment");
		expect(&r, &f3, &f3, "an unrelated later fragment: untouched");
	}
out:
	ct_rig_close(&r);
}

#define LB_FN                                                                  \
	"{'name':'lb','type':'loadbalancer','flowTableSize':4096,'services':[" \
	"{'name':'web','vip':'10.0.9.10','port':80,'proto':'tcp','tableSize':1009," \
	" 'backends':[{'ip':'10.0.1.1','port':8080}]},"                         \
	"{'name':'dns','vip':'10.0.9.10','port':53,'proto':'udp','tableSize':1009," \
	" 'backends':[{'ip':'10.0.1.2','port':5353}]},"                         \
	"{'name':'dns6','vip':'fd00:9::10','port':53,'proto':'udp','tableSize':1009," \
	" 'backends':[{'ip':'fd00:1::2','port':5353}]}]}"

static void lb_icmp(const char *hook)
{
	char spec[2048];
	struct ct_rig r;
	uint8_t out[1024];
	uint32_t nout;
	struct sl_meta m;
	struct ct_p u = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.10", 5555, 53, .payload = 12 };
	struct ct_p t = { 4, IPPROTO_TCP, "10.0.0.3", "10.0.9.10", 40000, 80, PKT_TCP_SYN, .payload = 200 };
	struct ct_p u6 = { 6, IPPROTO_UDP, "fd00::2", "fd00:9::10", 6000, 53, .payload = 7 };

	snprintf(spec, sizeof(spec), SPEC(LB_FN), hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	ASSERT_OK(send_p(&r, &u, out, &nout, &m), "udp flow");
	ASSERT_OK(send_p(&r, &t, out, &nout, &m), "tcp flow");
	ASSERT_OK(send_p(&r, &u6, out, &nout, &m), "udp6 flow");
	{ /* the backend's port unreachable: from the VIP */
		struct ct_p q = u, err, want;

		q.dst = "10.0.1.2";
		q.dport = 5353;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "10.0.1.2", "10.0.0.2", .icmp_type = 3,
				     .icmp_code = 3, .inner = &q };
		want = err;
		want.src = "10.0.9.10";
		want.inner = &u;
		expect(&r, &err, &want, "backend's port unreachable: from the VIP (exact bytes)");
	}
	{ /* a router's frag needed: the quote translated, its source kept */
		struct ct_p q = t, err, want;

		q.dst = "10.0.1.1";
		q.dport = 8080;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "10.0.5.1", "10.0.0.3", .icmp_type = 3,
				     .icmp_code = 4, .inner = &q };
		want = err;
		want.inner = &t;
		expect(&r, &err, &want, "router's frag needed: quote translated, source kept (exact bytes)");
	}
	{ /* the client's error about a reply from the VIP: to the backend */
		struct ct_p q = { 4, IPPROTO_UDP, "10.0.9.10", "10.0.0.2", 53, 5555, .payload = 3 };
		struct ct_p wq = q, err, want;

		wq.src = "10.0.1.2";
		wq.sport = 5353;
		err = (struct ct_p){ 4, IPPROTO_ICMP, "10.0.0.2", "10.0.9.10", .icmp_type = 3,
				     .icmp_code = 3, .inner = &q };
		want = err;
		want.dst = "10.0.1.2";
		want.inner = &wq;
		expect(&r, &err, &want, "client's error about a reply: to the backend (exact bytes)");
	}
	{ /* ICMPv6 from the backend */
		struct ct_p q = u6, err, want;

		q.dst = "fd00:1::2";
		q.dport = 5353;
		err = (struct ct_p){ 6, IPPROTO_ICMPV6, "fd00:1::2", "fd00::2", .icmp_type = 1,
				     .icmp_code = 4, .inner = &q };
		want = err;
		want.src = "fd00:9::10";
		want.inner = &u6;
		expect(&r, &err, &want, "backend's ICMPv6 port unreachable: from the VIP (exact bytes)");
	}
	{ /* later fragments */
		struct ct_p f1 = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.10", .frag_later = true };
		struct ct_p f2 = { 4, IPPROTO_UDP, "10.0.1.2", "10.0.0.2", .frag_later = true };
		struct ct_p f3 = { 4, IPPROTO_UDP, "10.0.0.2", "10.0.9.11", .frag_later = true };

		expect_drop(&r, &f1, SL_DROP_LB_FRAGMENT, "later fragment to a VIP: lb_fragment");
		expect_drop(&r, &f2, SL_DROP_LB_FRAGMENT, "later fragment from a backend: lb_fragment");
		expect(&r, &f3, &f3, "an unrelated later fragment: untouched");
	}
out:
	ct_rig_close(&r);
}

void test_lbnat_icmp(void)
{
	if (test__start_subtest("nat_xdp"))
		nat_icmp("xdp");
	if (test__start_subtest("nat_tc"))
		nat_icmp("tc-egress");
	if (test__start_subtest("lb_xdp"))
		lb_icmp("xdp");
	if (test__start_subtest("lb_tc"))
		lb_icmp("tc-ingress");
}
