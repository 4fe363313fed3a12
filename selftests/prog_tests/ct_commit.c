// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Conntrack commits only what the chain accepts (docs/conntrack.md, "The
 * commit"): real frames through the real entry program, ct stage,
 * firewall and ct_commit (BPF_PROG_TEST_RUN on a private generation), at
 * XDP and at TC.
 *  - a SYN the firewall denies leaves no entry, so the answerer's SYN+ACK
 *    is invalid and dropped by "allow established, allow new 443, deny the
 *    rest"; an allowed SYN makes exactly one entry;
 *  - a denied SYN does not take over a closed flow's key (a reopen);
 *  - a state change by a packet the firewall drops is not recorded (TCP
 *    SYN+ACK, UDP first reply);
 *  - a drop two stages later leaves nothing; audit mode, conntrack last
 *    or alone commit;
 *  - ct_commit driven directly: returns the action a transmitting stage
 *    passes (XDP_TX, XDP_REDIRECT), applies only marked work, checks the
 *    generation, does not apply a stale state change;
 *  - an empty commit slot fails closed: what would open or change a flow
 *    is dropped (missing_stage), what changes nothing passes;
 *  - "cost": what the commit adds per packet (printed, not asserted).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "netns.h"
#include "nf_flow.h"
#include "ct_run.h"
#include "pkt.h"
#include "shared/drop_reasons.h"

#define CHAIN(hook, fns)                                                       \
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"   \
	"'metadata':{'name':'t'},'spec':{'attach':[{'interface':'lo','hook':'" hook "'}]," \
	"'functions':[" fns "]}}"

#define CT_FN "{'name':'ct','type':'conntrack','tableSize':65536}"
/* First match: packets from the "hostile" servers 10.0.0.9 and fd00::9
 * are denied whatever their state; new TCP to 22 is denied outright; then
 * "allow established and related, allow new to 443 (and DNS), deny the
 * rest". */
#define FW_FN                                                                  \
	"{'name':'fw','type':'firewall','defaultAction':'deny','rules':["     \
	"{'id':'from-9','action':'deny','src':['10.0.0.9/32','fd00::9/128']},"  \
	"{'id':'ssh','action':'deny','proto':'tcp','dstPorts':[22],'state':['new']}," \
	"{'id':'est','action':'allow','state':['established','related']},"   \
	"{'id':'web','action':'allow','proto':'tcp','dstPorts':[443],'state':['new']}," \
	"{'id':'dns','action':'allow','proto':'udp','dstPorts':[53],'state':['new']}]}"

#define SYN PKT_TCP_SYN
#define ACK PKT_TCP_ACK
#define RST PKT_TCP_RST
#define PSH PKT_TCP_PSH
#define FIN PKT_TCP_FIN

#define NOENT (-1)

struct hook {
	const char *name;
	uint32_t pass, drop; /* the program's return values */
};

static const struct hook xdp = { "xdp", 2 /* XDP_PASS */, 1 /* XDP_DROP */ };
/* a chain passes at TC with TC_ACT_UNSPEC: on to the next filter (stage.h) */
static const struct hook tc = { "tc", (uint32_t)-1 /* TC_ACT_UNSPEC */, 2 /* TC_ACT_SHOT */ };

static uint64_t table_entries(struct ct_rig *r)
{
	struct ct_key k, nk;
	uint64_t n = 0;

	while (!bpf_map_get_next_key(r->table_fd, n ? &k : NULL, &nk)) {
		k = nk;
		n++;
	}
	return n;
}

struct cstep {
	const char *what;
	struct ct_p p;
	uint8_t state;	 /* SL_CT_* the ct stage gives */
	uint8_t verdict; /* SL_VERDICT_PASS or _DROP */
	int pstate;	 /* the entry's state after, or NOENT */
};

static void run(struct ct_rig *r, const struct hook *h, const struct cstep *v, size_t n,
		const char *name)
{
	char label[192];
	struct sl_meta m;
	struct ct_entry e;
	uint32_t ret;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "%s %s[%zu] %s", h->name, name, i, v[i].what);
		err = ct_send(r, &v[i].p, &m, &ret);
		if (!ASSERT_OK(err, label))
			return;
		ASSERT_EQ(m.ct_state, v[i].state, label);
		ASSERT_EQ(m.verdict, v[i].verdict, label);
		ASSERT_EQ(ret, v[i].verdict == SL_VERDICT_PASS ? h->pass : h->drop, label);
		if (v[i].verdict == SL_VERDICT_PASS)
			ASSERT_EQ(m.commit, 0, label); /* done on the way out */
		err = ct_lookup(r, &v[i].p, &e);
		if (v[i].pstate == NOENT) {
			ASSERT_EQ(err, -ENOENT, label);
			continue;
		}
		if (!ASSERT_OK(err, label))
			continue;
		ASSERT_EQ(e.state, v[i].pstate, label);
	}
}

#define RUN(r, h, v) run(r, h, v, sizeof(v) / sizeof(v[0]), #v)

static struct ct_p tcp(int fam, const char *src, const char *dst, uint16_t sp, uint16_t dp,
		       uint8_t flags)
{
	return (struct ct_p){ .family = fam, .proto = IPPROTO_TCP, .src = src, .dst = dst,
			      .sport = sp, .dport = dp, .flags = flags };
}

static struct ct_p udp(int fam, const char *src, const char *dst, uint16_t sp, uint16_t dp)
{
	return (struct ct_p){ .family = fam, .proto = IPPROTO_UDP, .src = src, .dst = dst,
			      .sport = sp, .dport = dp };
}

static void chain_case(struct ct_rig *r, const struct hook *h, int fam)
{
	const char *C = fam == 4 ? "10.0.0.1" : "fd00::1";
	const char *S = fam == 4 ? "10.0.0.2" : "fd00::2";
	const char *H = fam == 4 ? "10.0.0.9" : "fd00::9"; /* denied source */
	uint64_t created0 = ct_stat_get(r, CT_STAT_CREATED), n0 = table_entries(r);
	uint64_t reused0 = ct_stat_get(r, CT_STAT_REUSED);
	struct ct_entry before, after;
	const struct cstep ssh[] = {
		{ "SYN to 22: denied, no entry", tcp(fam, C, S, 40000, 22, SYN),
		  SL_CT_NEW, SL_VERDICT_DROP, NOENT },
		{ "SYN again: the same", tcp(fam, C, S, 40000, 22, SYN),
		  SL_CT_NEW, SL_VERDICT_DROP, NOENT },
		{ "the answerer's SYN+ACK: invalid, dropped", tcp(fam, S, C, 22, 40000, SYN | ACK),
		  SL_CT_INVALID, SL_VERDICT_DROP, NOENT },
		{ "the opener's ACK: invalid, dropped", tcp(fam, C, S, 40000, 22, ACK),
		  SL_CT_INVALID, SL_VERDICT_DROP, NOENT },
		{ "the answerer's data: invalid, dropped", tcp(fam, S, C, 22, 40000, PSH | ACK),
		  SL_CT_INVALID, SL_VERDICT_DROP, NOENT },
	};
	const struct cstep web[] = {
		{ "SYN to 443: allowed, one entry", tcp(fam, C, S, 40000, 443, SYN),
		  SL_CT_NEW, SL_VERDICT_PASS, CT_S_TCP_SYN_SENT },
		{ "SYN+ACK", tcp(fam, S, C, 443, 40000, SYN | ACK),
		  SL_CT_ESTABLISHED, SL_VERDICT_PASS, CT_S_TCP_SYN_RECV },
		{ "ACK", tcp(fam, C, S, 40000, 443, ACK),
		  SL_CT_ESTABLISHED, SL_VERDICT_PASS, CT_S_TCP_ESTABLISHED },
		{ "data", tcp(fam, S, C, 443, 40000, PSH | ACK),
		  SL_CT_ESTABLISHED, SL_VERDICT_PASS, CT_S_TCP_ESTABLISHED },
		{ "RST from the server", tcp(fam, S, C, 443, 40000, RST),
		  SL_CT_ESTABLISHED, SL_VERDICT_PASS, CT_S_TCP_CLOSE },
	};
	/* The closed flow's key reopened by the server's SYN (new, not to
	 * 443: denied): no takeover, so the client's SYN+ACK is no answer. */
	const struct cstep reopen[] = {
		{ "server's SYN on the closed key: denied, no takeover",
		  tcp(fam, S, C, 443, 40000, SYN), SL_CT_NEW, SL_VERDICT_DROP, CT_S_TCP_CLOSE },
		{ "client's SYN+ACK to it: invalid, dropped",
		  tcp(fam, C, S, 40000, 443, SYN | ACK), SL_CT_INVALID, SL_VERDICT_DROP,
		  CT_S_TCP_CLOSE },
		{ "client's SYN reopens it: allowed", tcp(fam, C, S, 40000, 443, SYN),
		  SL_CT_NEW, SL_VERDICT_PASS, CT_S_TCP_SYN_SENT },
	};
	/* State changes by packets the firewall drops are not recorded. */
	const struct cstep step[] = {
		{ "SYN to the hostile server's 443: allowed", tcp(fam, C, H, 40001, 443, SYN),
		  SL_CT_NEW, SL_VERDICT_PASS, CT_S_TCP_SYN_SENT },
		{ "its SYN+ACK: established to ct, denied by from-9: no syn_recv",
		  tcp(fam, H, C, 443, 40001, SYN | ACK), SL_CT_ESTABLISHED, SL_VERDICT_DROP,
		  CT_S_TCP_SYN_SENT },
		{ "the client's ACK: nothing answered, invalid", tcp(fam, C, H, 40001, 443, ACK),
		  SL_CT_INVALID, SL_VERDICT_DROP, CT_S_TCP_SYN_SENT },
		{ "UDP to its 53: allowed", udp(fam, C, H, 5353, 53),
		  SL_CT_NEW, SL_VERDICT_PASS, CT_S_UDP },
		{ "its reply: denied, the flow stays unanswered", udp(fam, H, C, 53, 5353),
		  SL_CT_ESTABLISHED, SL_VERDICT_DROP, CT_S_UDP },
		{ "the client's next datagram: still new", udp(fam, C, H, 5353, 53),
		  SL_CT_NEW, SL_VERDICT_PASS, CT_S_UDP },
	};
	struct ct_p flow = tcp(fam, C, S, 40000, 443, 0);

	RUN(r, h, ssh);
	ASSERT_EQ(ct_stat_get(r, CT_STAT_CREATED) - created0, 0, "denied SYNs create nothing");
	ASSERT_EQ(table_entries(r) - n0, 0, "denied SYNs: no entry in the table");
	RUN(r, h, web);
	ASSERT_EQ(ct_stat_get(r, CT_STAT_CREATED) - created0, 1, "one SYN allowed: one created");
	ASSERT_EQ(table_entries(r) - n0, 1, "one SYN allowed: one entry");
	ASSERT_OK(ct_lookup(r, &flow, &before), "closed flow");
	RUN(r, h, reopen);
	ASSERT_OK(ct_lookup(r, &flow, &after), "reopened flow");
	ASSERT_NEQ(after.created_ns, before.created_ns, "the allowed reopen made a new flow");
	ASSERT_EQ(ct_stat_get(r, CT_STAT_REUSED) - reused0, 1, "one takeover (the allowed one)");
	{
		/* the reopened flow's opener is the client: the server's
		 * SYN+ACK answers it */
		struct ct_p sa = tcp(fam, S, C, 443, 40000, SYN | ACK);
		struct sl_meta m;

		ASSERT_OK(ct_send(r, &sa, &m, NULL), "answer to the reopen");
		ASSERT_EQ(m.ct_state, SL_CT_ESTABLISHED, "answer to the reopen: established");
		ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "answer to the reopen passes");
	}
	RUN(r, h, step);
	{
		struct ct_p u = udp(fam, C, H, 5353, 53);
		struct ct_entry e;

		if (ASSERT_OK(ct_lookup(r, &u, &e), "udp flow"))
			ASSERT_EQ(e.flags & CT_F_SEEN_REPLY, 0, "the dropped reply is not seen");
	}
	ASSERT_EQ(ct_stat_get(r, CT_STAT_CREATED) - created0, 3, "created: 443, hostile 443, udp");
	ASSERT_EQ(table_entries(r) - n0, 3, "three entries");
	ASSERT_EQ(ct_stat_get(r, CT_STAT_INSERT_FULL), 0, "no insert refused");
	ASSERT_EQ(ct_stat_get(r, CT_STAT_INSERT_BUSY), 0, "no contention");
}

static void chain_hook(const struct hook *h, const char *spec)
{
	struct ct_rig r;

	if (!ASSERT_OK(ct_rig_open(&r, spec), h->name))
		goto out;
	chain_case(&r, h, 4);
	chain_case(&r, h, 6);
out:
	ct_rig_close(&r);
}

/* The chain's commit slot emptied by hand: whatever needs the commit is
 * dropped (missing_stage) and leaves nothing; what needs none passes. */
static void missing_commit(void)
{
	struct ct_p c = tcp(4, "10.0.0.1", "10.0.0.2", 41000, 443, SYN);
	struct ct_p d = tcp(4, "10.0.0.1", "10.0.0.2", 41001, 443, SYN);
	struct ct_rig r;
	struct sl_meta m;
	struct ct_entry e;
	uint32_t ret, slot = 2; /* ct, fw: the commit is slot 2 */
	int chain = -1;

	if (!ASSERT_OK(ct_rig_open(&r, CHAIN("xdp", CT_FN "," FW_FN)), "rig"))
		goto out;
	ct_send(&r, &c, &m, NULL);
	c = ct_rev(&c, SYN | ACK);
	ct_send(&r, &c, &m, NULL);
	c = ct_rev(&c, ACK);
	ct_send(&r, &c, &m, NULL);
	if (!ASSERT_OK(ct_lookup(&r, &c, &e), "flow") ||
	    !ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "established"))
		goto out;
	chain = ct_rig_map(&r, "sl_chain");
	if (!ASSERT_GE(chain, 0, "sl_chain") ||
	    !ASSERT_OK(bpf_map_delete_elem(chain, &slot), "empty the commit slot"))
		goto out;
	c.flags = PSH | ACK;
	ASSERT_OK(ct_send(&r, &c, &m, &ret), "data");
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "data needs no commit: passes");
	ASSERT_EQ(ret, xdp.pass, "data: XDP_PASS");
	ASSERT_OK(ct_send(&r, &d, &m, &ret), "new SYN");
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "SYN without a commit: dropped");
	ASSERT_EQ(m.reason, SL_DROP_TAIL_CALL, "as missing_stage");
	ASSERT_EQ(ret, xdp.drop, "SYN: XDP_DROP");
	ASSERT_EQ(ct_lookup(&r, &d, &e), -ENOENT, "and no entry");
	c.flags = FIN | ACK;
	ASSERT_OK(ct_send(&r, &c, &m, &ret), "FIN");
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "a state change without a commit: dropped");
	if (ASSERT_OK(ct_lookup(&r, &c, &e), "flow after"))
		ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "still established");
out:
	if (chain >= 0)
		close(chain);
	ct_rig_close(&r);
}

/* One SYN through a chain: its final verdict, and whether it left a flow. */
static void one_syn(const char *spec, uint8_t verdict, bool entry, const char *name)
{
	struct ct_p c = tcp(4, "10.0.0.1", "10.0.0.2", 43000, 22, SYN);
	struct ct_rig r;
	struct sl_meta m;
	struct ct_entry e;
	uint32_t ret;

	if (!ASSERT_OK(ct_rig_open(&r, spec), name))
		goto out;
	if (!ASSERT_OK(ct_send(&r, &c, &m, &ret), name))
		goto out;
	ASSERT_EQ(m.verdict, verdict, name);
	ASSERT_EQ(ret, verdict == SL_VERDICT_PASS ? xdp.pass : xdp.drop, name);
	ASSERT_EQ(ct_lookup(&r, &c, &e), entry ? 0 : -ENOENT, name);
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_CREATED), entry ? 1 : 0, name);
	if (entry)
		ASSERT_EQ(e.state, CT_S_TCP_SYN_SENT, name);
out:
	ct_rig_close(&r);
}

/* The load balancer with "fib" ends the chain itself: it redirects the
 * translated packet through stage_leave(), bpf_redirect's action passed
 * on, so the flow conntrack opened earlier in the chain is committed on
 * that exit too. BPF_PROG_TEST_RUN's XDP packet comes in on lo of the
 * current namespace: one made here with a route to the backend (veth,
 * permanent neighbour, forwarding on) gives a FIB hit. */
static void redirect(void)
{
	static const char spec[] = CHAIN("xdp", CT_FN ","
		"{'name':'fw','type':'firewall','defaultAction':'allow','rules':["
		"{'id':'from-9','action':'deny','src':['10.0.0.9/32']}]},"
		"{'name':'lb','type':'loadbalancer','fib':true,'services':[{'name':'u',"
		"'vip':'10.0.9.10','port':53,'proto':'udp','tableSize':1009,"
		"'backends':[{'ip':'10.0.1.2','port':5353}]}]}");
	struct ct_p ok = udp(4, "10.0.0.2", "10.0.9.10", 5555, 53);
	struct ct_p bad = udp(4, "10.0.0.9", "10.0.9.10", 5556, 53);
	uint64_t v[FLOW_STAT__MAX] = { 0 };
	char ns[NETNS_NAME_MAX];
	struct ct_rig r = { 0 };
	struct ct_entry e;
	struct sl_meta m;
	uint32_t ret = 0;
	int fd, old = -1;
	bool open = false;

	if (!ASSERT_OK(netns_create("ctfib", ns), "netns") ||
	    !ASSERT_OK(netns_run(ns, "ip link set lo up"), "lo up") ||
	    !ASSERT_OK(netns_run(ns, "ip link add v0 type veth peer name v1"), "veth") ||
	    !ASSERT_OK(netns_run(ns, "ip link set v0 up"), "v0 up") ||
	    !ASSERT_OK(netns_run(ns, "ip link set v1 up"), "v1 up") ||
	    !ASSERT_OK(netns_run(ns, "ip addr add 10.0.1.1/24 dev v0"), "addr") ||
	    !ASSERT_OK(netns_run(ns, "ip neigh replace 10.0.1.2 lladdr 02:00:00:00:01:02 "
				 "dev v0 nud permanent"), "neighbour") ||
	    !ASSERT_OK(netns_sysctl(ns, "net.ipv4.ip_forward", "1"), "forwarding"))
		goto out;
	old = netns_enter(ns);
	if (!ASSERT_GE(old, 0, "enter") || !ASSERT_OK(ct_rig_open(&r, spec), "ct_rig_open"))
		goto out;
	open = true;

	/* denied by the firewall before the load balancer: no flow */
	ASSERT_OK(ct_send(&r, &bad, &m, &ret), "denied");
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "denied: dropped");
	ASSERT_EQ(ret, xdp.drop, "denied: XDP_DROP");
	ASSERT_EQ(ct_lookup(&r, &bad, &e), -ENOENT, "denied: no flow");

	/* allowed: translated, redirected by the load balancer, committed */
	ASSERT_OK(ct_send(&r, &ok, &m, &ret), "allowed");
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "allowed: passed");
	ASSERT_EQ(ret, 4 /* XDP_REDIRECT */, "allowed: XDP_REDIRECT from the stage");
	ASSERT_EQ(m.commit, 0, "allowed: the work was done");
	if (ASSERT_OK(ct_lookup(&r, &ok, &e), "allowed: its flow is committed"))
		ASSERT_EQ(e.state, CT_S_UDP, "allowed: udp");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_CREATED), 1, "one created");
	fd = ct_rig_map(&r, "lbnat_stats");
	if (ASSERT_GE(fd, 0, "lbnat_stats")) {
		flow_stats_read(fd, FLOW_KIND_LB, v);
		ASSERT_EQ(v[FLOW_STAT_FIB_REDIRECT], 1, "fib_redirected: the stage's own exit");
		close(fd);
	}
out:
	if (open)
		ct_rig_close(&r);
	if (old >= 0)
		netns_restore(old);
	netns_cleanup_all();
}

/* A record a dropped packet left in ct_pending (this CPU's: the rig is
 * pinned) is never applied for a later packet: the entry program clears
 * sl_meta.commit, so an accepted packet that changes nothing does not run
 * ct_commit, and one that leaves work overwrites the record first. */
static void stale_pending(const struct hook *h, const char *spec)
{
	struct ct_p y = tcp(4, "10.0.0.1", "10.0.0.2", 45000, 443, SYN);
	struct ct_p x = tcp(4, "10.0.0.1", "10.0.0.2", 45001, 22, SYN);
	struct ct_p hs = tcp(4, "10.0.0.1", "10.0.0.9", 45002, 443, SYN);
	uint64_t created0;
	struct ct_entry e;
	struct sl_meta m;
	struct ct_rig r;
	uint32_t ret;

	if (!ASSERT_OK(ct_rig_open(&r, spec), h->name))
		goto out;
	/* y established, hs opened (its server is denied by from-9) */
	ct_send(&r, &y, &m, NULL);
	y = ct_rev(&y, SYN | ACK);
	ct_send(&r, &y, &m, NULL);
	y = ct_rev(&y, ACK);
	ct_send(&r, &y, &m, NULL);
	ct_send(&r, &hs, &m, NULL);
	if (!ASSERT_OK(ct_lookup(&r, &y, &e), "y") ||
	    !ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "y established") ||
	    !ASSERT_OK(ct_lookup(&r, &hs, &e), "hs") ||
	    !ASSERT_EQ(e.state, CT_S_TCP_SYN_SENT, "hs syn_sent"))
		goto out;
	created0 = ct_stat_get(&r, CT_STAT_CREATED);
	y.flags = PSH | ACK;

	/* x's SYN, denied: an OPEN left behind; then y's data passes */
	ASSERT_OK(ct_send(&r, &x, &m, &ret), "x SYN");
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "x SYN denied");
	ASSERT_EQ(m.commit, SL_COMMIT_CT, "x SYN left work");
	ASSERT_OK(ct_send(&r, &y, &m, &ret), "y data after x");
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "y data passes");
	ASSERT_EQ(ret, h->pass, "y data: pass");
	ASSERT_EQ(ct_lookup(&r, &x, &e), -ENOENT, "x's stale OPEN not applied");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_CREATED), created0, "nothing created");

	/* the hostile server's SYN+ACK, denied: a STEP left behind; then
	 * y's data passes */
	hs = ct_rev(&hs, SYN | ACK);
	ASSERT_OK(ct_send(&r, &hs, &m, &ret), "hs SYN+ACK");
	ASSERT_EQ(m.verdict, SL_VERDICT_DROP, "hs SYN+ACK denied");
	ASSERT_EQ(m.commit, SL_COMMIT_CT, "hs SYN+ACK left work");
	ASSERT_OK(ct_send(&r, &y, &m, &ret), "y data after hs");
	ASSERT_EQ(m.verdict, SL_VERDICT_PASS, "y data passes");
	if (ASSERT_OK(ct_lookup(&r, &hs, &e), "hs after"))
		ASSERT_EQ(e.state, CT_S_TCP_SYN_SENT, "hs's stale STEP not applied");
	if (ASSERT_OK(ct_lookup(&r, &y, &e), "y after"))
		ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "y unchanged");
out:
	ct_rig_close(&r);
}

/* The drop two stages after conntrack; a firewall in audit mode lets the
 * packet through, so its flow is committed; conntrack last. */
static void other_chains(void)
{
	one_syn(CHAIN("xdp", CT_FN ","
			     "{'name':'fw1','type':'firewall','defaultAction':'allow'},"
			     "{'name':'fw2','type':'firewall','defaultAction':'allow','rules':["
			     "{'id':'ssh','action':'deny','proto':'tcp','dstPorts':[22]}]}"),
		SL_VERDICT_DROP, false, "dropped by the third stage: no flow");
	one_syn(CHAIN("xdp", CT_FN ","
			     "{'name':'fw','type':'firewall','defaultAction':'deny','audit':true}"),
		SL_VERDICT_PASS, true, "audit mode passes it: a flow");
	one_syn(CHAIN("xdp", "{'name':'fw','type':'firewall','defaultAction':'allow'}," CT_FN),
		SL_VERDICT_PASS, true, "conntrack last: a flow");
	one_syn(CHAIN("xdp", CT_FN), SL_VERDICT_PASS, true, "conntrack alone: a flow");
	/* A full chain (SL_MAX_STAGES functions): the commit program sits in
	 * slot 8, the one sl_chain has beyond the stages (SL_CHAIN_SLOTS). */
#define FW_ALLOW(n) "{'name':'fw" #n "','type':'firewall','defaultAction':'allow'}"
#define FW_7 FW_ALLOW(1) "," FW_ALLOW(2) "," FW_ALLOW(3) "," FW_ALLOW(4) "," FW_ALLOW(5) \
	     "," FW_ALLOW(6) "," FW_ALLOW(7)
	one_syn(CHAIN("xdp", CT_FN "," FW_7), SL_VERDICT_PASS, true,
		"eight functions, conntrack first: a flow");
	one_syn(CHAIN("xdp", FW_7 "," CT_FN), SL_VERDICT_PASS, true,
		"eight functions, conntrack last: a flow");
	one_syn(CHAIN("xdp", CT_FN "," FW_ALLOW(1) "," FW_ALLOW(2) "," FW_ALLOW(3) ","
			     FW_ALLOW(4) "," FW_ALLOW(5) "," FW_ALLOW(6) ","
			     "{'name':'fw7','type':'firewall','defaultAction':'deny'}"),
		SL_VERDICT_DROP, false, "eight functions, the last denies: no flow");
#undef FW_7
#undef FW_ALLOW
}

/* Write v (size bytes) into every CPU's slot 0 of a per-CPU array. */
static int percpu_set(int fd, const void *v, size_t size, int ncpus)
{
	size_t stride = (size + 7) & ~7ul;
	uint32_t zero = 0;
	char *buf = calloc((size_t)ncpus, stride);
	int i, err;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < ncpus; i++)
		memcpy(buf + (size_t)i * stride, v, size);
	err = bpf_map_update_elem(fd, &zero, buf, BPF_ANY) ? -errno : 0;
	free(buf);
	return err;
}

/* ct_commit driven directly (BPF_PROG_TEST_RUN of the program in the
 * chain's commit slot), its metadata and pending record written by hand:
 * it returns the action the packet leaves with (XDP_TX, XDP_REDIRECT: what
 * a transmitting stage's stage_leave passes), does the pending work only
 * with SL_COMMIT_CT, drops a packet of another generation, and a state
 * change that finds the flow changed since is not applied. */
static void commit_program(void)
{
	struct ct_p f = tcp(4, "10.0.0.1", "10.0.0.2", 44000, 443, 0);
	struct ct_p g = tcp(4, "10.0.0.1", "10.0.0.2", 44001, 443, 0);
	uint8_t frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);
	uint32_t slot = 2, id, zero = 0; /* ct, fw: the commit is slot 2 */
	int chain = -1, prog = -1, pend = -1;
	struct ct_pending p = { 0 };
	struct sl_meta m = { 0 }, out;
	struct ct_entry e;
	struct ct_rig r;
	char *percpu = NULL;

	if (!ASSERT_OK(ct_rig_open(&r, CHAIN("xdp", CT_FN "," FW_FN)), "rig"))
		goto out;
	chain = ct_rig_map(&r, "sl_chain");
	pend = ct_rig_map(&r, "ct_pending");
	if (!ASSERT_GE(chain, 0, "sl_chain") || !ASSERT_GE(pend, 0, "ct_pending") ||
	    !ASSERT_OK(bpf_map_lookup_elem(chain, &slot, &id), "the commit slot is filled"))
		goto out;
	prog = bpf_prog_get_fd_by_id(id);
	if (!ASSERT_GE(prog, 0, "ct_commit"))
		goto out;
	percpu = calloc((size_t)r.ncpus, (sizeof(struct sl_meta) + 7) & ~7ul);
	if (!ASSERT_OK_PTR(percpu, "alloc"))
		goto out;

#define RUN_COMMIT(label)                                                      	do {                                                                   		ASSERT_OK(percpu_set(pend, &p, sizeof(p), r.ncpus), label);    		ASSERT_OK(percpu_set(r.gp.meta_fd, &m, sizeof(m), r.ncpus), label); 		ASSERT_OK(bpf_prog_test_run_opts(prog, &opts), label);         		ASSERT_OK(bpf_map_lookup_elem(r.gp.meta_fd, &zero, percpu), label); 		out = *(struct sl_meta *)(percpu + (size_t)r.cpu *             					  ((sizeof(struct sl_meta) + 7) & ~7ul)); 	} while (0)

	/* an OPEN, leaving by XDP_TX */
	ct_key_of(&f, &p.key);
	p.op = CT_PEND_OPEN;
	p.now_ns = ct_now_ns();
	p.entry.state = CT_S_TCP_SYN_SENT;
	p.entry.created_ns = p.now_ns;
	p.entry.expires_ns = p.now_ns + 60ull * 1000000000ull;
	p.entry.packets[0] = 1;
	m.gen = 1; /* the private generation's */
	m.commit = SL_COMMIT_CT;
	m.leave_act = 3; /* XDP_TX */
	RUN_COMMIT("open, XDP_TX");
	ASSERT_EQ(opts.retval, 3, "returns XDP_TX");
	ASSERT_EQ(out.verdict, SL_VERDICT_PASS, "verdict pass");
	ASSERT_EQ(out.commit, 0, "commit cleared");
	if (ASSERT_OK(ct_lookup(&r, &f, &e), "the flow is made"))
		ASSERT_EQ(e.state, CT_S_TCP_SYN_SENT, "as pending");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_CREATED), 1, "created");

	/* nothing marked: the record is not applied, the action returned */
	ct_key_of(&g, &p.key);
	m.commit = 0;
	m.leave_act = 4; /* XDP_REDIRECT */
	RUN_COMMIT("unmarked, XDP_REDIRECT");
	ASSERT_EQ(opts.retval, 4, "returns XDP_REDIRECT");
	ASSERT_EQ(ct_lookup(&r, &g, &e), -ENOENT, "an unmarked record is not applied");

	/* another generation's packet: dropped, nothing applied */
	m.commit = SL_COMMIT_CT;
	m.gen = 7;
	RUN_COMMIT("generation 7");
	ASSERT_EQ(opts.retval, 1, "XDP_DROP");
	ASSERT_EQ(out.reason, SL_DROP_GEN_MISMATCH, "generation_mismatch");
	ASSERT_EQ(ct_lookup(&r, &g, &e), -ENOENT, "nothing applied");

	/* a STEP that finds the flow changed since (old state not what the
	 * stage saw): the first change wins; then one that matches */
	ct_key_of(&f, &p.key);
	p.op = CT_PEND_STEP;
	p.old_state = CT_S_TCP_SYN_RECV;
	p.old_flags = 0;
	p.entry.state = CT_S_TCP_ESTABLISHED;
	p.entry.flags = CT_F_SEEN_REPLY;
	m.gen = 1;
	m.leave_act = 2; /* XDP_PASS */
	RUN_COMMIT("stale step");
	ASSERT_EQ(opts.retval, 2, "XDP_PASS");
	if (ASSERT_OK(ct_lookup(&r, &f, &e), "flow"))
		ASSERT_EQ(e.state, CT_S_TCP_SYN_SENT, "a stale step is not applied");
	p.old_state = CT_S_TCP_SYN_SENT;
	RUN_COMMIT("step");
	if (ASSERT_OK(ct_lookup(&r, &f, &e), "flow")) {
		ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "the step is applied");
		ASSERT_EQ(e.flags, CT_F_SEEN_REPLY, "with its flags");
	}
	/* a STEP for another instance of the flow (created_ns differs) */
	p.old_state = CT_S_TCP_ESTABLISHED;
	p.old_flags = CT_F_SEEN_REPLY;
	p.entry.state = CT_S_TCP_CLOSE;
	p.entry.created_ns += 1;
	RUN_COMMIT("step of another instance");
	if (ASSERT_OK(ct_lookup(&r, &f, &e), "flow"))
		ASSERT_EQ(e.state, CT_S_TCP_ESTABLISHED, "another instance's step is not applied");
#undef RUN_COMMIT
out:
	free(percpu);
	if (prog >= 0)
		close(prog);
	if (pend >= 0)
		close(pend);
	if (chain >= 0)
		close(chain);
	ct_rig_close(&r);
}

/* ns of one run of p through the chain (the kernel's figure). */
static int run_ns(struct ct_rig *r, const struct ct_p *p, uint32_t repeat, uint32_t *ns)
{
	uint8_t buf[256];
	int n = ct_frame(p, buf, sizeof(buf));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .repeat = repeat);

	if (n < 0)
		return n;
	opts.data_size_in = (uint32_t)n;
	if (bpf_prog_test_run_opts(r->gp.entry_fd, &opts))
		return -errno;
	*ns = opts.duration;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

#define COST_N 3000

/* What the commit costs: medians over COST_N distinct flows, one run each
 * (a flow opens, or changes, once), taken in turns so that the machine's
 * noise falls on all alike; and one established packet repeated. */
static void cost(void)
{
	static uint32_t open_ok[COST_N], open_deny[COST_N], step_ok[COST_N], same[COST_N];
	char src[COST_N][24];
	struct ct_rig r;
	uint32_t i, est = 0, first = 0, bad = 0;
	struct ct_p p;

	if (!ASSERT_OK(ct_rig_open(&r, CHAIN("xdp", CT_FN "," FW_FN)), "rig"))
		goto out;
	for (i = 0; i < COST_N; i++) {
		snprintf(src[i], sizeof(src[i]), "10.8.%u.%u", i >> 8, i & 0xff);
		/* a new TCP flow accepted: the stage records, ct_commit inserts */
		p = tcp(4, src[i], "10.0.0.2", 50000, 443, SYN);
		bad += !!run_ns(&r, &p, 1, &open_ok[i]);
		/* a new TCP flow denied: nothing to commit */
		p.dport = 22;
		bad += !!run_ns(&r, &p, 1, &open_deny[i]);
		/* a UDP flow's first reply: a state change, committed */
		p = udp(4, src[i], "10.0.0.2", 5000, 53);
		bad += !!run_ns(&r, &p, 1, &first);
		p = ct_rev(&p, 0);
		bad += !!run_ns(&r, &p, 1, &step_ok[i]);
		/* its second reply: no change, no commit */
		bad += !!run_ns(&r, &p, 1, &same[i]);
	}
	/* flow 0 (syn_sent) established: SYN+ACK, ACK, then data */
	p = tcp(4, "10.0.0.2", src[0], 443, 50000, SYN | ACK);
	bad += !!run_ns(&r, &p, 1, &est);
	p = ct_rev(&p, ACK);
	bad += !!run_ns(&r, &p, 1, &est);
	p.flags = PSH | ACK;
	bad += !!run_ns(&r, &p, 200000, &est);
	ASSERT_EQ(bad, 0, "runs");
	ASSERT_EQ(ct_stat_get(&r, CT_STAT_CREATED), 2 * COST_N, "created: the accepted flows");
	qsort(open_ok, COST_N, sizeof(open_ok[0]), cmp_u32);
	qsort(open_deny, COST_N, sizeof(open_deny[0]), cmp_u32);
	qsort(step_ok, COST_N, sizeof(step_ok[0]), cmp_u32);
	qsort(same, COST_N, sizeof(same[0]), cmp_u32);
	printf("    cost (ct, fw at XDP; medians of %d, ns/packet): new TCP accepted %u, "
	       "new TCP denied %u, UDP first reply (state change) %u, UDP reply (no change) %u, "
	       "established TCP (repeat 200000) %u\n",
	       COST_N, open_ok[COST_N / 2], open_deny[COST_N / 2], step_ok[COST_N / 2],
	       same[COST_N / 2], est);
out:
	ct_rig_close(&r);
}

void test_ct_commit(void)
{
	if (test__start_subtest("xdp"))
		chain_hook(&xdp, CHAIN("xdp", CT_FN "," FW_FN));
	if (test__start_subtest("tc"))
		chain_hook(&tc, CHAIN("tc-ingress", CT_FN "," FW_FN));
	if (test__start_subtest("stale_pending")) {
		stale_pending(&xdp, CHAIN("xdp", CT_FN "," FW_FN));
		stale_pending(&tc, CHAIN("tc-ingress", CT_FN "," FW_FN));
	}
	if (test__start_subtest("redirect"))
		redirect();
	if (test__start_subtest("other_chains"))
		other_chains();
	if (test__start_subtest("commit_program"))
		commit_program();
	if (test__start_subtest("missing_commit"))
		missing_commit();
	if (test__start_subtest("cost"))
		cost();
}
