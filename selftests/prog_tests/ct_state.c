// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Conntrack through the real entry program, parser and ct stage
 * (BPF_PROG_TEST_RUN on a private generation): the TCP state machine, UDP
 * and ICMP pseudo-states, ICMP errors related to a tracked flow, the
 * counters, expiry and the GC. docs/conntrack.md is the contract. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "ct_run.h"
#include "pkt.h"
#include "fw_run.h"

#define SPEC(fns)                                                              \
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"   \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'xdp'}]," \
	"'functions':[" fns "]}}"

#define CT_FN "{'name':'ct','type':'conntrack','tableSize':1024}"

#define C4 "10.0.0.1"
#define S4 "10.0.0.2"
#define R4 "10.0.9.9" /* a router */
#define C6 "fd00::1"
#define S6 "fd00::2"

#define SYN PKT_TCP_SYN
#define ACK PKT_TCP_ACK
#define FIN PKT_TCP_FIN
#define RST PKT_TCP_RST
#define PSH PKT_TCP_PSH

#define NOENT (-1)

struct step {
	const char *what;
	struct ct_p p;
	uint8_t state;	/* SL_CT_* of the packet */
	int pstate;	/* enum ct_proto_state of the entry after, or NOENT */
};

static const struct ct_p tcp4 = { 4, IPPROTO_TCP, C4, S4, 40000, 443 };
static const struct ct_p tcp6 = { 6, IPPROTO_TCP, C6, S6, 40001, 443 };

static struct ct_p tf(const struct ct_p *base, uint8_t flags)
{
	struct ct_p p = *base;

	p.flags = flags;
	return p;
}

static void run_steps(struct ct_rig *r, const struct step *v, size_t n, const char *name)
{
	char label[160];
	struct sl_meta m;
	struct ct_entry e;
	uint32_t ret;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "%s[%zu] %s", name, i, v[i].what);
		err = ct_send(r, &v[i].p, &m, &ret);
		if (!ASSERT_OK(err, label))
			return;
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, label);
		ASSERT_EQ(m.ct_state, v[i].state, label);
		ASSERT_EQ(m.trace[0].rule, v[i].state, label);
		err = ct_lookup(r, &v[i].p, &e);
		if (v[i].pstate == NOENT)
			ASSERT_EQ(err, -ENOENT, label);
		else if (ASSERT_OK(err, label))
			ASSERT_EQ(e.state, v[i].pstate, label);
	}
}

#define RUN(r, v) run_steps(r, v, sizeof(v) / sizeof(v[0]), #v)

static void tcp_cases(struct ct_rig *r, const struct ct_p *c)
{
	struct ct_p s = ct_rev(c, 0);
#define CS(f) tf(c, f)
#define SC(f) tf(&s, f)
	const struct step handshake[] = {
		{ "SYN", CS(SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
		{ "SYN again", CS(SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
		{ "SYN+ACK", SC(SYN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_SYN_RECV },
		{ "SYN+ACK again", SC(SYN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_SYN_RECV },
		{ "ACK", CS(ACK), SL_CT_ESTABLISHED, CT_S_TCP_ESTABLISHED },
		{ "data", SC(PSH | ACK), SL_CT_ESTABLISHED, CT_S_TCP_ESTABLISHED },
		{ "SYN inside", CS(SYN), SL_CT_INVALID, CT_S_TCP_ESTABLISHED },
		{ "SYN+FIN inside", CS(SYN | FIN), SL_CT_INVALID, CT_S_TCP_ESTABLISHED },
		{ "no flags", CS(0), SL_CT_INVALID, CT_S_TCP_ESTABLISHED },
		{ "FIN without ACK", CS(FIN), SL_CT_INVALID, CT_S_TCP_ESTABLISHED },
		{ "FIN", CS(FIN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_FIN_WAIT },
		{ "its ACK", SC(ACK), SL_CT_ESTABLISHED, CT_S_TCP_FIN_WAIT },
		{ "FIN back", SC(FIN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_CLOSING },
		{ "last ACK", CS(ACK), SL_CT_ESTABLISHED, CT_S_TCP_CLOSING },
		{ "port reused: SYN", CS(SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
		{ "SYN+ACK", SC(SYN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_SYN_RECV },
		{ "ACK", CS(ACK), SL_CT_ESTABLISHED, CT_S_TCP_ESTABLISHED },
		{ "RST", SC(RST), SL_CT_ESTABLISHED, CT_S_TCP_CLOSE },
		{ "after RST", CS(ACK), SL_CT_INVALID, CT_S_TCP_CLOSE },
		{ "after RST, data", SC(PSH | ACK), SL_CT_INVALID, CT_S_TCP_CLOSE },
		{ "SYN after RST", CS(SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
		{ "refused: RST+ACK", SC(RST | ACK), SL_CT_ESTABLISHED, CT_S_TCP_CLOSE },
	};
	RUN(r, handshake);
#undef CS
#undef SC
}

void test_ct_state(void)
{
	struct ct_rig r;
	int err;

	err = ct_rig_open(&r, SPEC(CT_FN));
	if (!ASSERT_OK(err, "ct_rig_open"))
		goto out;

	if (test__start_subtest("tcp_handshake")) {
		tcp_cases(&r, &tcp4);
		tcp_cases(&r, &tcp6);
	}
	if (test__start_subtest("non_syn_first")) {
		struct ct_p c = tcp4;
		c.sport = 40100;
		{
			struct ct_p s = ct_rev(&c, 0);
			const struct step first[] = {
				{ "ACK first", tf(&c, ACK), SL_CT_INVALID, NOENT },
				{ "data first", tf(&c, PSH | ACK), SL_CT_INVALID, NOENT },
				{ "FIN+ACK first", tf(&c, FIN | ACK), SL_CT_INVALID, NOENT },
				{ "RST first", tf(&c, RST), SL_CT_INVALID, NOENT },
				{ "no flags first", tf(&c, 0), SL_CT_INVALID, NOENT },
				{ "SYN+FIN first", tf(&c, SYN | FIN), SL_CT_INVALID, NOENT },
				{ "SYN+RST first", tf(&c, SYN | RST), SL_CT_INVALID, NOENT },
				{ "SYN+ACK first (reply before request)", tf(&s, SYN | ACK), SL_CT_INVALID, NOENT },
				{ "then the SYN", tf(&c, SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
				{ "ACK before SYN+ACK", tf(&c, ACK), SL_CT_INVALID, CT_S_TCP_SYN_SENT },
				{ "answerer's SYN", tf(&s, SYN), SL_CT_INVALID, CT_S_TCP_SYN_SENT },
				{ "answerer's ACK without SYN", tf(&s, ACK), SL_CT_INVALID, CT_S_TCP_SYN_SENT },
				{ "opener's SYN+ACK", tf(&c, SYN | ACK), SL_CT_INVALID, CT_S_TCP_SYN_SENT },
				{ "SYN+ACK", tf(&s, SYN | ACK), SL_CT_ESTABLISHED, CT_S_TCP_SYN_RECV },
			};
			RUN(&r, first);
		}
	}
	if (test__start_subtest("udp")) {
		struct ct_p c = { 4, IPPROTO_UDP, C4, S4, 5000, 53 };
		struct ct_p s = ct_rev(&c, 0);
		struct ct_p c6 = { 6, IPPROTO_UDP, C6, S6, 5000, 53 };
		/* a reply before the request is a flow opened the other way */
		struct ct_p b = { 4, IPPROTO_UDP, C4, S4, 5001, 53 };
		struct ct_p bs = ct_rev(&b, 0);
		const struct step udp[] = {
			{ "request", c, SL_CT_NEW, CT_S_UDP },
			{ "request again", c, SL_CT_NEW, CT_S_UDP },
			{ "reply", s, SL_CT_ESTABLISHED, CT_S_UDP_REPLIED },
			{ "request after the reply", c, SL_CT_ESTABLISHED, CT_S_UDP_REPLIED },
			{ "v6 request", c6, SL_CT_NEW, CT_S_UDP },
			{ "v6 reply", ct_rev(&c6, 0), SL_CT_ESTABLISHED, CT_S_UDP_REPLIED },
			{ "reply first", bs, SL_CT_NEW, CT_S_UDP },
			{ "then the request", b, SL_CT_ESTABLISHED, CT_S_UDP_REPLIED },
		};
		struct ct_entry e;

		RUN(&r, udp);
		if (ASSERT_OK(ct_lookup(&r, &b, &e), "reply-first entry"))
			ASSERT_EQ(e.packets[0] + e.packets[1], 2, "reply-first packets");
		if (ASSERT_OK(ct_lookup(&r, &c, &e), "udp entry")) {
			ASSERT_EQ(e.packets[CT_DIR_ORIG], 3, "orig packets");
			ASSERT_EQ(e.packets[CT_DIR_REPLY], 1, "reply packets");
		}
	}
	if (test__start_subtest("icmp")) {
		struct ct_p q = { 4, IPPROTO_ICMP, C4, S4, .icmp_type = 8, .icmp_id = 77 };
		struct ct_p a = ct_rev(&q, 0), a2, q6 = { 6, IPPROTO_ICMPV6, C6, S6, .icmp_type = 128, .icmp_id = 78 };
		struct ct_p a6 = ct_rev(&q6, 0), info = q;

		a.icmp_type = 0;
		a2 = a;
		a2.icmp_id = 99;
		a6.icmp_type = 129;
		info.icmp_type = 13; /* timestamp: not tracked */
		info.icmp_id = 1234;
		{
			const struct step icmp[] = {
				{ "echo request", q, SL_CT_NEW, CT_S_ICMP },
				{ "echo request again", q, SL_CT_NEW, CT_S_ICMP },
				{ "echo reply", a, SL_CT_ESTABLISHED, CT_S_ICMP },
				{ "a request from the other side on the same id", ct_rev(&q, 0), SL_CT_INVALID, CT_S_ICMP },
				{ "echo reply to nothing", a2, SL_CT_INVALID, NOENT },
				{ "v6 echo request", q6, SL_CT_NEW, CT_S_ICMP },
				{ "v6 echo reply", a6, SL_CT_ESTABLISHED, CT_S_ICMP },
				{ "timestamp: untracked", info, SL_CT_NEW, NOENT },
			};
			RUN(&r, icmp);
		}
	}
	if (test__start_subtest("related")) {
		struct ct_p c = tcp4, u6 = { 6, IPPROTO_UDP, C6, S6, 6000, 4789 };
		struct ct_p ping = { 4, IPPROTO_ICMP, C4, S4, .icmp_type = 8, .icmp_id = 5 };
		struct ct_p unk = tcp4, e1, e2, e3, e4, e5, e6, e7;

		c.sport = 41000;
		unk.sport = 41001;
		/* host unreachable from a router, quoting the client's SYN */
		e1 = (struct ct_p){ 4, IPPROTO_ICMP, R4, C4, .icmp_type = 3, .icmp_code = 1, .inner = &c };
		e2 = e1;
		e2.inner = &unk;
		/* ICMPv6 packet too big quoting the UDP flow */
		e3 = (struct ct_p){ 6, IPPROTO_ICMPV6, "fd00::9", C6, .icmp_type = 2, .inner = &u6 };
		/* time exceeded quoting the echo request */
		e4 = (struct ct_p){ 4, IPPROTO_ICMP, R4, C4, .icmp_type = 11, .inner = &ping };
		/* an error quoting an error: never related */
		e5 = (struct ct_p){ 4, IPPROTO_ICMP, R4, C4, .icmp_type = 3, .inner = &e1 };
		/* an error about the reply direction relates too */
		{
			static struct ct_p sr;

			sr = ct_rev(&c, SYN | ACK);
			e6 = (struct ct_p){ 4, IPPROTO_ICMP, C4, S4, .icmp_type = 3, .icmp_code = 3, .inner = &sr };
		}
		/* ICMPv6 error about a flow that is not tracked */
		e7 = e3;
		{
			static struct ct_p u6x;

			u6x = u6;
			u6x.sport = 6001;
			e7.inner = &u6x;
		}
		{
			const struct step related[] = {
				{ "unreachable before any flow", e1, SL_CT_INVALID, NOENT },
				{ "SYN", tf(&c, SYN), SL_CT_NEW, CT_S_TCP_SYN_SENT },
				{ "host unreachable quoting it", e1, SL_CT_RELATED, NOENT },
				{ "quoting an unknown flow", e2, SL_CT_INVALID, NOENT },
				{ "UDP v6", u6, SL_CT_NEW, CT_S_UDP },
				{ "packet too big quoting it", e3, SL_CT_RELATED, NOENT },
				{ "echo request", ping, SL_CT_NEW, CT_S_ICMP },
				{ "time exceeded quoting it", e4, SL_CT_RELATED, NOENT },
				{ "an error quoting an error", e5, SL_CT_INVALID, NOENT },
				{ "port unreachable quoting the reply direction", e6, SL_CT_RELATED, NOENT },
				{ "v6 error, untracked flow", e7, SL_CT_INVALID, NOENT },
			};
			RUN(&r, related);
		}
	}
	if (test__start_subtest("fragments_and_other")) {
		struct ct_p fr = { 4, IPPROTO_UDP, C4, S4, .frag_later = true };
		struct ct_p gre = { 4, 47, C4, S4 }, gre_r = ct_rev(&gre, 0);
		const struct step other[] = {
			{ "a later fragment: no ports, no flow", fr, SL_CT_INVALID, NOENT },
			{ "GRE", gre, SL_CT_NEW, CT_S_OTHER },
			{ "GRE back", gre_r, SL_CT_ESTABLISHED, CT_S_OTHER },
		};
		RUN(&r, other);
	}
	if (test__start_subtest("counters")) {
		uint64_t before[CT_STAT_SLOTS], after[CT_STAT_SLOTS];
		struct ct_p c = tcp4;
		struct sl_meta m;

		c.sport = 42000;
		ASSERT_OK(ct_stats_read(r.stats_fd, before), "stats before");
		ct_send(&r, &(struct ct_p){ .family = 4, .proto = IPPROTO_TCP, .src = C4, .dst = S4,
					    .sport = 42000, .dport = 443, .flags = SYN }, &m, NULL);
		c = ct_rev(&c, SYN | ACK);
		ct_send(&r, &c, &m, NULL);
		c = ct_rev(&c, ACK);
		ct_send(&r, &c, &m, NULL);
		ct_send(&r, &(struct ct_p){ .family = 4, .proto = IPPROTO_TCP, .src = C4, .dst = S4,
					    .sport = 42001, .dport = 443, .flags = ACK }, &m, NULL);
		ASSERT_OK(ct_stats_read(r.stats_fd, after), "stats after");
		ASSERT_EQ(after[CT_STAT_NEW] - before[CT_STAT_NEW], 1, "new");
		ASSERT_EQ(after[CT_STAT_ESTABLISHED] - before[CT_STAT_ESTABLISHED], 2, "established");
		ASSERT_EQ(after[CT_STAT_INVALID] - before[CT_STAT_INVALID], 1, "invalid");
		ASSERT_EQ(after[CT_STAT_CREATED] - before[CT_STAT_CREATED], 1, "created");
		ASSERT_EQ(after[CT_STAT_INSERT_FULL], 0, "insert full");
		ASSERT_EQ(after[CT_STAT_INSERT_BUSY], 0, "insert busy");
	}
out:
	ct_rig_close(&r);
}

/* "allow established, allow new to 443, deny the rest", conntrack then
 * the firewall, through the real programs. */
#define FW_FN                                                                  \
	"{'name':'fw','type':'firewall','defaultAction':'deny','rules':["     \
	"{'id':'est','action':'allow','state':['established','related']},"   \
	"{'id':'web','action':'allow','proto':'tcp','dstPorts':[443],'state':['new']}]}"

void test_ct_firewall(void)
{
	struct ct_rig r;
	struct sl_meta m;
	uint32_t ret;
	int err;
	struct ct_p c = tcp4, s, c80 = tcp4;
	struct ct_p u = { 4, IPPROTO_UDP, C4, S4, 5000, 53 };
	struct ct_p e1 = { 4, IPPROTO_ICMP, R4, C4, .icmp_type = 3, .icmp_code = 4, .inner = &c };

	err = ct_rig_open(&r, SPEC(CT_FN "," FW_FN));
	if (!ASSERT_OK(err, "ct_rig_open"))
		goto out;
	s = ct_rev(&c, SYN | ACK);
	c80.dport = 80;
	struct {
		const char *what;
		struct ct_p p;
		uint8_t state;
		uint32_t verdict;
	} v[] = {
		{ "SYN to 443 (new)", tf(&c, SYN), SL_CT_NEW, SL_VERDICT_PASS },
		{ "SYN+ACK back (established)", s, SL_CT_ESTABLISHED, SL_VERDICT_PASS },
		{ "ACK", tf(&c, ACK), SL_CT_ESTABLISHED, SL_VERDICT_PASS },
		{ "data both ways", ct_rev(&c, PSH | ACK), SL_CT_ESTABLISHED, SL_VERDICT_PASS },
		{ "frag needed about it (related)", e1, SL_CT_RELATED, SL_VERDICT_PASS },
		{ "ACK to 443 out of nowhere (invalid)", tf(&(struct ct_p){ 4, IPPROTO_TCP, C4, S4, 40999, 443 }, ACK), SL_CT_INVALID, SL_VERDICT_DROP },
		{ "SYN to 80 (new, not 443)", tf(&c80, SYN), SL_CT_NEW, SL_VERDICT_DROP },
		{ "the server's own SYN to the client (new)", tf(&(struct ct_p){ 4, IPPROTO_TCP, S4, C4, 22, 40000 }, SYN), SL_CT_NEW, SL_VERDICT_DROP },
		{ "UDP (new)", u, SL_CT_NEW, SL_VERDICT_DROP },
	};
	size_t i;
	char label[128];

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(label, sizeof(label), "[%zu] %s", i, v[i].what);
		if (!ASSERT_OK(ct_send(&r, &v[i].p, &m, &ret), label))
			break;
		ASSERT_EQ(m.ct_state, v[i].state, label);
		ASSERT_EQ(m.verdict, v[i].verdict, label);
		ASSERT_EQ(ret, v[i].verdict == SL_VERDICT_PASS ? 2 /* XDP_PASS */ : 1, label);
	}
out:
	ct_rig_close(&r);
}

/* The spec of a conntrack function and of the firewall's `state`: every
 * error with its path. */
static void spec_errs(const char *json, const char *const *want, size_t nwant, const char *name)
{
	struct sl_errs errs = { 0 };
	struct spec *s = NULL;
	char *doc = fw_json(json);
	size_t i, j;
	int err;

	err = spec_parse(doc, strlen(doc), &s, &errs);
	free(doc);
	if (!nwant) {
		if (!ASSERT_OK(err, name))
			errs_print(&errs, stdout);
	} else {
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
	}
	spec_free(s);
	errs_free(&errs);
}

void test_ct_spec(void)
{
	{
		const char *const w[] = {
			"spec.functions[0].tableSize: 10 is out of range 1024..16777216",
			"spec.functions[0].timeouts.udp: 0 is out of range 1..2592000",
			"spec.functions[0].timeouts.tcpEstablishd: unknown field \"tcpEstablishd\" (did you mean \"tcpEstablished\"?)",
			"spec.functions[0].tabelSize: unknown field",
		};
		spec_errs(SPEC("{'name':'ct','type':'conntrack','tableSize':10,'tabelSize':1,"
			       "'timeouts':{'udp':0,'tcpEstablishd':5}}"),
			  w, 4, "bad conntrack fields");
	}
	{
		const char *const w[] = {
			"spec.functions[1].rules[0].state: matching a conntrack state needs a conntrack function before this firewall",
			"spec.functions[1].rules[1].state: matching a conntrack state needs",
			"spec.functions[3].type: a chain has one conntrack function (its table is the chain's), and spec.functions[2] is one already",
			"spec.functions[1].rules[1].state[1]: \"establised\" is not one of \"new\", \"established\", \"related\", \"invalid\" (did you mean \"established\"?)",
			"spec.functions[1].rules[2].state: empty list",
		};
		spec_errs(SPEC("{'name':'a','type':'firewall','defaultAction':'deny'},"
			       "{'name':'fw','type':'firewall','defaultAction':'deny','rules':["
			       "{'id':'a','action':'allow','state':['new']},"
			       "{'id':'b','action':'allow','state':['new','establised']},"
			       "{'id':'c','action':'allow','state':[]}]},"
			       "{'name':'ct','type':'conntrack'},{'name':'ct2','type':'conntrack'}"),
			  w, 5, "state needs conntrack first; one conntrack");
	}
	{
		struct sl_errs errs = { 0 };
		struct spec *s = NULL;
		char *doc = fw_json(SPEC("{'name':'ct','type':'conntrack','timeouts':{'udp':5}},"
					 "{'name':'fw','type':'firewall','defaultAction':'deny','rules':["
					 "{'id':'a','action':'allow','state':['established','related']}]}"));

		if (ASSERT_OK(spec_parse(doc, strlen(doc), &s, &errs), "good spec")) {
			ASSERT_EQ(s->fns[0].type, SPEC_FN_CONNTRACK, "type");
			ASSERT_EQ(s->fns[0].ct.table_size, CT_TABLE_DEFAULT, "default size");
			ASSERT_EQ(s->fns[0].ct.timeouts[CT_TO_UDP], 5, "udp timeout");
			ASSERT_EQ(s->fns[0].ct.timeouts[CT_TO_TCP_ESTABLISHED], 21600, "default");
			ASSERT_EQ(s->fns[1].fw.rules[0].states,
				  (1 << SL_CT_ESTABLISHED) | (1 << SL_CT_RELATED), "states");
			ASSERT_STREQ(spec_fn_type_str(SPEC_FN_CONNTRACK), "conntrack", "type name");
		}
		free(doc);
		spec_free(s);
		errs_free(&errs);
	}
}

/* A table of 1024 entries filled with new flows to 100% and 120% while 16
 * established TCP flows keep exchanging packets: the LRU makes room from
 * the idle flows, every live one stays established, and the evictions show
 * in the counters (created - gc_removed - entries). */
#define LIVE 16

static void fill_round(struct ct_rig *r, unsigned int pct, uint32_t *next)
{
	struct ct_p live[LIVE], u = { 4, IPPROTO_UDP, "10.1.0.0", S4, 0, 53 };
	char src[LIVE][32], label[96], usrc[32];
	uint32_t n = CT_TABLE_MIN * pct / 100, i, k, bad = 0, lost = 0;
	uint64_t created0 = ct_stat_get(r, CT_STAT_CREATED), entries = 0;
	struct sl_meta m;
	struct ct_entry e;
	struct ct_key key, nk;

	for (k = 0; k < LIVE; k++) {
		snprintf(src[k], sizeof(src[k]), "10.2.0.%u", k + 1);
		live[k] = (struct ct_p){ 4, IPPROTO_TCP, src[k], S4, (uint16_t)(30000 + k), 443 };
		ct_send(r, &(struct ct_p){ 4, IPPROTO_TCP, src[k], S4, (uint16_t)(30000 + k), 443, SYN }, &m, NULL);
		{
			struct ct_p sa = ct_rev(&live[k], SYN | ACK);

			ct_send(r, &sa, &m, NULL);
		}
		live[k].flags = ACK;
		ct_send(r, &live[k], &m, NULL);
	}
	for (i = 0; i < n; i++) {
		uint32_t id = (*next)++;

		snprintf(usrc, sizeof(usrc), "10.1.%u.%u", (id >> 8) & 0xff, id & 0xff);
		u.src = usrc;
		u.sport = (uint16_t)(1000 + (id >> 16));
		ct_send(r, &u, &m, NULL);
		if (i % 32 == 31) {
			for (k = 0; k < LIVE; k++) {
				struct ct_p p = (i / 32) % 2 ? live[k] : ct_rev(&live[k], PSH | ACK);

				p.flags = PSH | ACK;
				if (ct_send(r, &p, &m, NULL) || m.ct_state != SL_CT_ESTABLISHED)
					bad++;
			}
		}
	}
	for (k = 0; k < LIVE; k++)
		if (ct_lookup(r, &live[k], &e) || e.state != CT_S_TCP_ESTABLISHED)
			lost++;
	memset(&key, 0, sizeof(key));
	while (!bpf_map_get_next_key(r->table_fd, entries ? &key : NULL, &nk)) {
		key = nk;
		entries++;
	}
	snprintf(label, sizeof(label), "%u%%: live packets not established", pct);
	ASSERT_EQ(bad, 0, label);
	snprintf(label, sizeof(label), "%u%%: live flows lost", pct);
	ASSERT_EQ(lost, 0, label);
	snprintf(label, sizeof(label), "%u%%: entries within the table", pct);
	ASSERT_LE(entries, CT_TABLE_MIN, label);
	/* every new flow, and the live ones when this round opened them */
	snprintf(label, sizeof(label), "%u%%: created", pct);
	ASSERT_GE(ct_stat_get(r, CT_STAT_CREATED) - created0, n, label);
	ASSERT_LE(ct_stat_get(r, CT_STAT_CREATED) - created0, n + LIVE, label);
	printf("    %u%%: %u new flows into %u entries: %llu entries now, %llu evicted so far, "
	       "%u live flows kept\n", pct, n, CT_TABLE_MIN, (unsigned long long)entries,
	       (unsigned long long)ct_evicted((uint64_t[CT_STAT_SLOTS]){
		       [CT_STAT_CREATED] = ct_stat_get(r, CT_STAT_CREATED),
		       [CT_STAT_GC_REMOVED] = ct_stat_get(r, CT_STAT_GC_REMOVED) }, entries),
	       LIVE - lost);
}

void test_ct_full(void)
{
	struct ct_rig r;
	uint32_t next = 0;

	if (!ASSERT_OK(ct_rig_open(&r, SPEC(CT_FN)), "ct_rig_open"))
		goto out;
	if (test__start_subtest("fill_100"))
		fill_round(&r, 100, &next);
	if (test__start_subtest("fill_120")) {
		fill_round(&r, 120, &next);
		ASSERT_GT(ct_evicted((uint64_t[CT_STAT_SLOTS]){
				  [CT_STAT_CREATED] = ct_stat_get(&r, CT_STAT_CREATED) }, CT_TABLE_MIN),
			  0, "evictions counted");
		ASSERT_EQ(ct_stat_get(&r, CT_STAT_INSERT_FULL), 0, "no insert refused");
		ASSERT_EQ(ct_stat_get(&r, CT_STAT_INSERT_BUSY), 0, "no contention");
	}
out:
	ct_rig_close(&r);
}

/* Expiry: a dead entry is no flow for the stage (a packet after it opens a
 * new one, in place), and the GC removes dead entries, counting them. */
void test_ct_gc(void)
{
	struct ct_rig r;
	struct ct_gc_result res;
	struct ct_entry e;
	struct sl_meta m;
	uint64_t now;
	char src[32];
	int i;
	struct ct_p u = { 4, IPPROTO_UDP, C4, S4, 7000, 53 }, keep = { 4, IPPROTO_UDP, C4, S4, 7999, 53 };

	if (!ASSERT_OK(ct_rig_open(&r, SPEC("{'name':'ct','type':'conntrack','tableSize':1024,"
					    "'timeouts':{'udp':1,'udpReplied':1}}")),
		       "ct_rig_open"))
		goto out;
	for (i = 0; i < 10; i++) {
		snprintf(src, sizeof(src), "10.3.0.%d", i + 1);
		u.src = src;
		ct_send(&r, &u, &m, NULL);
		ASSERT_EQ(m.ct_state, SL_CT_NEW, "udp new");
	}
	u.src = C4;
	ct_send(&r, &u, &m, NULL);
	ct_send(&r, &keep, &m, NULL);
	usleep(1300 * 1000);
	/* the reply of a dead flow: no flow, so it opens one the other way */
	{
		struct ct_p back = ct_rev(&u, 0);

		ct_send(&r, &back, &m, NULL);
		ASSERT_EQ(m.ct_state, SL_CT_NEW, "reply after expiry is new");
		ASSERT_EQ(ct_stat_get(&r, CT_STAT_REUSED), 1, "dead entry reused");
		if (ASSERT_OK(ct_lookup(&r, &u, &e), "reused entry"))
			ASSERT_EQ(e.packets[CT_DIR_ORIG], 1, "counters restart");
	}
	/* a sweep as of now: the renewed flow expires a second after it */
	now = ct_now_ns();
	ct_send(&r, &keep, &m, NULL);
	ASSERT_OK(ct_gc(r.table_fd, r.stats_fd, now, &res), "gc");
	ASSERT_EQ(res.scanned, 12, "scanned");
	ASSERT_EQ(res.removed, 10, "removed");
	ASSERT_EQ(res.live, 2, "left");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_GC_REMOVED), 10, "gc_removed counter");
	ASSERT_OK(ct_lookup(&r, &keep, &e), "renewed flow kept");
	/* a sweep "in the future" takes everything */
	ASSERT_OK(ct_gc(r.table_fd, r.stats_fd, ct_now_ns() + 3600ull * 1000000000ull, &res),
		  "gc later");
	ASSERT_EQ(res.removed, 2, "removed later");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_GC_REMOVED), 12, "gc_removed counter later");
	ASSERT_EQ(ct_evicted((uint64_t[CT_STAT_SLOTS]){
			  [CT_STAT_CREATED] = ct_stat_get(&r, CT_STAT_CREATED),
			  [CT_STAT_GC_REMOVED] = ct_stat_get(&r, CT_STAT_GC_REMOVED) }, 0),
		  0, "no eviction");
out:
	ct_rig_close(&r);
}

/* The TC twin: the same machine through the sched_cls entry and stage. */
void test_ct_tc(void)
{
	struct ct_rig r;
	struct ct_p q = { 4, IPPROTO_ICMP, C4, S4, .icmp_type = 8, .icmp_id = 9 };
	struct ct_p e = { 4, IPPROTO_ICMP, R4, C4, .icmp_type = 11, .inner = &q };
	struct ct_p u = { 6, IPPROTO_UDP, C6, S6, 5000, 53 };

	if (!ASSERT_OK(ct_rig_open(&r, "{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"
				       "'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'tc-ingress'}],"
				       "'functions':[" CT_FN "]}}"),
		       "ct_rig_open tc"))
		goto out;
	tcp_cases(&r, &tcp4);
	tcp_cases(&r, &tcp6);
	{
		struct ct_p a = ct_rev(&q, 0);

		a.icmp_type = 0;
		const struct step tc[] = {
			{ "echo request", q, SL_CT_NEW, CT_S_ICMP },
			{ "echo reply", a, SL_CT_ESTABLISHED, CT_S_ICMP },
			{ "time exceeded quoting it", e, SL_CT_RELATED, NOENT },
			{ "udp v6", u, SL_CT_NEW, CT_S_UDP },
			{ "udp v6 reply", ct_rev(&u, 0), SL_CT_ESTABLISHED, CT_S_UDP_REPLIED },
		};
		RUN(&r, tc);
	}
out:
	ct_rig_close(&r);
}
