// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Source NAT through the real entry program, parser and nat stage
 * (BPF_PROG_TEST_RUN on a private generation), at XDP and TC: exact
 * output bytes against frames built by the packet builder (its own
 * checksums); replies translated back to the right client; a port range of
 * 4 ports: 4 clients to one server get 4 distinct ports, the 5th is dropped
 * (nat_ports_exhausted), a flow to another server port still gets one;
 * untranslated sources untouched. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"
#include "shared/drop_reasons.h"

#define NAT_FN                                                                 \
	"{'name':'snat','type':'nat','address':'192.0.2.1','address6':'2001:db8::1'," \
	"'ports':'20000-20003','sources':['10.0.0.0/8','fd00::/8'],'flowTableSize':1024}"

/* Run p; the output's L4 source port (translated packets) in *sport. */
static int run(struct ct_rig *r, const struct ct_p *p, uint8_t *out, uint32_t *nout,
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

static void fixtures(const char *hook)
{
	char spec[2048], cli[5][16];
	struct ct_rig r;
	struct sl_meta m;
	uint8_t out[512];
	uint32_t nout, ports[5] = { 0 };
	int i, j;

	snprintf(spec, sizeof(spec),
		 "{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain','metadata':{'name':'t'},"
		 "'spec':{'attach':[{'interface':'lo','hook':'%s'}],'functions':[" NAT_FN "]}}", hook);
	if (!ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	for (i = 0; i < 5; i++) {
		struct ct_p p = { 4, IPPROTO_TCP, cli[i], "198.51.100.1", 40000, 80, PKT_TCP_SYN, .payload = 10 };
		struct ct_p want = p;

		snprintf(cli[i], sizeof(cli[i]), "10.0.0.%d", i + 1);
		if (!ASSERT_OK(run(&r, &p, out, &nout, &m), "run"))
			goto out;
		if (i == 4) {
			ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "5th client: no port left");
			ASSERT_EQ(m.reason, SL_DROP_NAT_NO_PORT, "reason nat_ports_exhausted");
			break;
		}
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "translated");
		ports[i] = m.sport;
		ASSERT_GE(ports[i], 20000, "port in range");
		ASSERT_LE(ports[i], 20003, "port in range");
		for (j = 0; j < i; j++)
			ASSERT_NEQ(ports[j], ports[i], "distinct translated ports");
		want.src = "192.0.2.1";
		want.sport = (uint16_t)ports[i];
		same_frame(out, nout, &want, "SYN translated: exact bytes");
	}
	for (i = 0; i < 4; i++) {
		/* each reply to its own client, in any order */
		int k = 3 - i;
		struct ct_p rep = { 4, IPPROTO_TCP, "198.51.100.1", "192.0.2.1", 80, (uint16_t)ports[k],
				    PKT_TCP_SYN | PKT_TCP_ACK, .payload = 5 };
		struct ct_p want = rep;

		want.dst = cli[k];
		want.dport = 40000;
		if (ASSERT_OK(run(&r, &rep, out, &nout, &m), "reply"))
			same_frame(out, nout, &want, "reply to its client: exact bytes");
	}
	{
		struct ct_p again = { 4, IPPROTO_TCP, cli[2], "198.51.100.1", 40000, 80, PKT_TCP_ACK };
		struct ct_p other = { 4, IPPROTO_TCP, cli[4], "198.51.100.1", 40000, 81, PKT_TCP_SYN };
		struct ct_p plain = { 4, IPPROTO_UDP, "172.16.0.1", "198.51.100.1", 5000, 53, .payload = 3 };

		ASSERT_OK(run(&r, &again, out, &nout, &m), "flow again");
		ASSERT_EQ(m.sport, ports[2], "a flow keeps its port");
		ASSERT_OK(run(&r, &other, out, &nout, &m), "another server port");
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "ports are per destination: one is free");
		ASSERT_OK(run(&r, &plain, out, &nout, &m), "not a source");
		same_frame(out, nout, &plain, "untranslated source untouched");
	}
	{
		struct ct_p u6 = { 6, IPPROTO_UDP, "fd00::1", "2001:db8:ffff::1", 5353, 53, .payload = 20 };
		struct ct_p w6 = u6, rep, wrep;

		ASSERT_OK(run(&r, &u6, out, &nout, &m), "v6 udp");
		w6.src = "2001:db8::1";
		w6.sport = m.sport;
		same_frame(out, nout, &w6, "v6 udp translated: exact bytes");
		rep = (struct ct_p){ 6, IPPROTO_UDP, "2001:db8:ffff::1", "2001:db8::1", 53, m.sport, .payload = 9 };
		wrep = rep;
		wrep.dst = "fd00::1";
		wrep.dport = 5353;
		if (ASSERT_OK(run(&r, &rep, out, &nout, &m), "v6 reply"))
			same_frame(out, nout, &wrep, "v6 reply back: exact bytes");
	}
out:
	ct_rig_close(&r);
}

void test_nat(void)
{
	if (test__start_subtest("xdp"))
		fixtures("xdp");
	if (test__start_subtest("tc"))
		fixtures("tc-egress");
}
