// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-field fixtures: a spec (through the real spec parser), packets, and
 * for each the expected stage verdict, reason, trace rule and counter
 * movement, through the real fw stage. Every expectation is also checked
 * against the reference model, so the model is pinned down by hand. Last,
 * the loaded config maps are frozen and carry BTF. */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fw_run.h"
#include "shared/drop_reasons.h"

#define DEF (-1)  /* the default action's counter */
#define NONE (-2) /* no counter */

#define L4 SL_F_HAS_L4
#define FRAG_LATER (SL_F_FRAG | SL_F_FRAG_LATER)
#define FRAG_FIRST (SL_F_FRAG | SL_F_HAS_L4)

#define CONT SL_VERDICT_CONTINUE
#define DROP SL_VERDICT_DROP
#define AUDIT SL_VERDICT_AUDIT

struct fx_pkt {
	const char *desc;
	int family;
	const char *src, *dst;
	int proto;
	uint16_t sport, dport; /* ICMP: code, type */
	uint16_t flags;
	uint8_t verdict, reason;
	uint32_t rule;	      /* trace: index + 1, 0 default */
	int count;	      /* rule index, DEF or NONE */
	int audit;	      /* audit rule counted too, or -1 */
};

struct fx {
	const char *name;
	const char *fn; /* the firewall function after "type", ' for " */
	struct fx_pkt pkts[10];
};

static const struct fx fixtures[] = {
	{ "src_v4",
	  "'defaultAction':'allow','rules':[{'id':'r','action':'deny','src':['10.0.0.0/8']}]",
	  { { "inside", 4, "10.1.2.3", "192.0.2.1", IPPROTO_TCP, 1, 80, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "first address", 4, "10.0.0.0", "192.0.2.1", IPPROTO_UDP, 1, 53, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "last address", 4, "10.255.255.255", "192.0.2.1", IPPROTO_GRE, 0, 0, 0, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "one below", 4, "9.255.255.255", "192.0.2.1", IPPROTO_TCP, 1, 80, L4, CONT, 0, 0, DEF, -1 },
	    { "one above", 4, "11.0.0.0", "192.0.2.1", IPPROTO_TCP, 1, 80, L4, CONT, 0, 0, DEF, -1 },
	    { "dst is not src", 4, "192.0.2.1", "10.1.2.3", IPPROTO_TCP, 1, 80, L4, CONT, 0, 0, DEF, -1 },
	    { "v6 never matches a v4 list", 6, "::a01:203", "2001:db8::1", IPPROTO_TCP, 1, 80, L4, CONT, 0, 0, DEF, -1 } } },
	{ "dst_v6",
	  "'defaultAction':'deny','rules':[{'id':'web','action':'allow','proto':'tcp','dst':['2001:db8:0:1::/64'],'dstPorts':[443]}]",
	  { { "inside", 6, "2001:db8::9", "2001:db8:0:1::5", IPPROTO_TCP, 40000, 443, L4, CONT, 0, 1, 0, -1 },
	    { "last address", 6, "2001:db8::9", "2001:db8:0:1:ffff:ffff:ffff:ffff", IPPROTO_TCP, 40000, 443, L4, CONT, 0, 1, 0, -1 },
	    { "next /64", 6, "2001:db8::9", "2001:db8:0:2::", IPPROTO_TCP, 40000, 443, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "other port", 6, "2001:db8::9", "2001:db8:0:1::5", IPPROTO_TCP, 40000, 444, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "udp", 6, "2001:db8::9", "2001:db8:0:1::5", IPPROTO_UDP, 40000, 443, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "v4", 4, "192.0.2.1", "198.51.100.1", IPPROTO_TCP, 40000, 443, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 } } },
	{ "mixed_families_and_slash0",
	  "'defaultAction':'allow','rules':[{'id':'a','action':'deny','src':['10.0.0.0/8','fd00::/8']},"
	  "{'id':'b','action':'deny','dst':['0.0.0.0/0']}]",
	  { { "v4 in list", 4, "10.9.9.9", "2.2.2.2", IPPROTO_UDP, 1, 1, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "v6 in list", 6, "fd12::1", "2001:db8::2", IPPROTO_UDP, 1, 1, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "v4 /0 is any v4", 4, "11.0.0.1", "2.2.2.2", IPPROTO_UDP, 1, 1, L4, DROP, SL_DROP_FW_DENY, 2, 1, -1 },
	    { "v4 /0 is not v6", 6, "fe80::1", "2001:db8::2", IPPROTO_UDP, 1, 1, L4, CONT, 0, 0, DEF, -1 } } },
	{ "proto_name_and_number",
	  "'defaultAction':'allow','rules':[{'id':'u','action':'deny','proto':'udp'},"
	  "{'id':'gre','action':'allow','proto':47},{'id':'s','action':'deny','proto':'sctp','dstPorts':['9']},"
	  "{'id':'n','action':'deny','proto':'6'}]",
	  { { "udp by name", 4, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 5, 5, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "gre by number", 4, "1.1.1.1", "2.2.2.2", IPPROTO_GRE, 0, 0, 0, CONT, 0, 2, 1, -1 },
	    { "sctp port", 6, "2001:db8::1", "2001:db8::2", IPPROTO_SCTP, 5, 9, L4, DROP, SL_DROP_FW_DENY, 3, 2, -1 },
	    { "sctp other port", 6, "2001:db8::1", "2001:db8::2", IPPROTO_SCTP, 5, 10, L4, CONT, 0, 0, DEF, -1 },
	    { "tcp by number string", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 5, 10, L4, DROP, SL_DROP_FW_DENY, 4, 3, -1 },
	    { "icmp", 4, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 0, 8, L4, CONT, 0, 0, DEF, -1 } } },
	{ "port_lists_and_ranges",
	  "'defaultAction':'deny','rules':[{'id':'p','action':'allow','proto':'tcp',"
	  "'dstPorts':['80',443,'8000-8080'],'srcPorts':['1024-65535']}]",
	  { { "80", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 2000, 80, L4, CONT, 0, 1, 0, -1 },
	    { "443", 6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 65535, 443, L4, CONT, 0, 1, 0, -1 },
	    { "range start", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1024, 8000, L4, CONT, 0, 1, 0, -1 },
	    { "range end", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1024, 8080, L4, CONT, 0, 1, 0, -1 },
	    { "past range", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1024, 8081, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "before range", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1024, 7999, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "source port too low", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1023, 80, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "udp same ports", 4, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 2000, 80, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 } } },
	{ "icmp_type_code",
	  "'defaultAction':'deny','rules':[{'id':'echo','action':'allow','proto':'icmp','icmpType':8,'icmpCode':0},"
	  "{'id':'unreach','action':'deny','proto':'icmp','icmpType':3},"
	  "{'id':'echo6','action':'allow','proto':'icmpv6','icmpType':128},{'id':'icmp','action':'allow','proto':'icmp'}]",
	  { { "echo", 4, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 0, 8, L4, CONT, 0, 1, 0, -1 },
	    { "echo code 1", 4, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 1, 8, L4, CONT, 0, 4, 3, -1 },
	    { "unreachable any code", 4, "1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 4, 3, L4, DROP, SL_DROP_FW_DENY, 2, 1, -1 },
	    { "echo6", 6, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, 0, 128, L4, CONT, 0, 3, 2, -1 },
	    { "icmp6 reply", 6, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, 0, 129, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "tcp to port 8", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 8, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 } } },
	{ "default_allow_no_rules",
	  "'defaultAction':'allow','rules':[]",
	  { { "v4", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 2, L4, CONT, 0, 0, DEF, -1 },
	    { "v6", 6, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, 1, 2, L4, CONT, 0, 0, DEF, -1 } } },
	{ "default_deny_no_rules",
	  "'defaultAction':'deny'",
	  { { "v4", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 2, L4, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "v6", 6, "2001:db8::1", "2001:db8::2", 0x88, 0, 0, 0, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 } } },
	{ "rule_audit",
	  "'defaultAction':'deny','rules':[{'id':'would-deny-ssh','action':'deny','audit':true,'proto':'tcp','dstPorts':[22]},"
	  "{'id':'deny-ssh-10','action':'deny','proto':'tcp','src':['10.0.0.0/8'],'dstPorts':[22]},"
	  "{'id':'tcp','action':'allow','proto':'tcp'}]",
	  { { "audit then deny", 4, "10.1.1.1", "2.2.2.2", IPPROTO_TCP, 999, 22, L4, DROP, SL_DROP_FW_DENY, 2, 1, 0 },
	    { "audit then allow", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 999, 22, L4, CONT, 0, 3, 2, 0 },
	    { "audit rule not hit", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 999, 23, L4, CONT, 0, 3, 2, -1 },
	    { "audit then default", 6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 999, 22, L4, CONT, 0, 3, 2, 0 } } },
	{ "function_audit",
	  "'defaultAction':'deny','audit':true,'rules':[{'id':'telnet','action':'deny','proto':'tcp','dstPorts':[23]},"
	  "{'id':'dns','action':'allow','proto':'udp','dstPorts':[53]},"
	  "{'id':'frag','action':'deny','proto':'udp','dstPorts':[9]}]",
	  { { "deny audited", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 1, 23, L4, AUDIT, SL_DROP_FW_DENY, 1, 0, -1 },
	    { "default deny audited", 6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 1, 24, L4, AUDIT, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "allow unchanged", 4, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 1, 53, L4, CONT, 0, 2, 1, -1 },
	    { "fragment audited", 4, "1.1.1.1", "2.2.2.2", IPPROTO_UDP, 0, 0, FRAG_LATER, AUDIT, SL_DROP_FRAG_NO_PORTS, 2, NONE, -1 } } },
	{ "fragments",
	  "'defaultAction':'deny','rules':[{'id':'audit-any-22','action':'deny','audit':true,'proto':'tcp','dstPorts':[22]},"
	  "{'id':'from-10','action':'allow','proto':'tcp','src':['10.0.0.0/8']},"
	  "{'id':'deny-23','action':'deny','proto':'tcp','dstPorts':[23]},{'id':'tcp','action':'allow','proto':'tcp'}]",
	  { { "later fragment, port rule first", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 0, FRAG_LATER, DROP, SL_DROP_FRAG_NO_PORTS, 3, NONE, -1 },
	    { "later fragment, plain rule first", 4, "10.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 0, FRAG_LATER, CONT, 0, 2, 1, -1 },
	    { "later fragment v6", 6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 0, 0, FRAG_LATER, DROP, SL_DROP_FRAG_NO_PORTS, 3, NONE, -1 },
	    { "later fragment, no L3 match", 4, "11.1.1.1", "2.2.2.2", IPPROTO_UDP, 0, 0, FRAG_LATER, DROP, SL_DROP_FW_DEFAULT_DENY, 0, DEF, -1 },
	    { "first fragment has ports", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 5, 80, FRAG_FIRST, CONT, 0, 4, 3, -1 },
	    { "first fragment port 23", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 5, 23, FRAG_FIRST, DROP, SL_DROP_FW_DENY, 3, 2, -1 },
	    { "first fragment port 22 audited", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 5, 22, FRAG_FIRST, CONT, 0, 4, 3, 0 },
	    { "fragment without L4 header", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 0, SL_F_FRAG, DROP, SL_DROP_FRAG_NO_PORTS, 3, NONE, -1 },
	    { "later fragment claiming ports", 4, "11.1.1.1", "2.2.2.2", IPPROTO_TCP, 5, 80, FRAG_LATER | L4, DROP, SL_DROP_FRAG_NO_PORTS, 3, NONE, -1 } } },
	{ "no_l4_header",
	  "'defaultAction':'allow','rules':[{'id':'deny-tcp-80','action':'deny','proto':'tcp','dstPorts':[80]},"
	  "{'id':'deny-gre','action':'deny','proto':'gre'}]",
	  { { "tcp without L4 skips port rule", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 80, 0, CONT, 0, 0, DEF, -1 },
	    { "gre", 4, "1.1.1.1", "2.2.2.2", IPPROTO_GRE, 0, 0, 0, DROP, SL_DROP_FW_DENY, 2, 1, -1 },
	    { "tcp 80", 4, "1.1.1.1", "2.2.2.2", IPPROTO_TCP, 0, 80, L4, DROP, SL_DROP_FW_DENY, 1, 0, -1 } } },
	{ "non_ip",
	  "'defaultAction':'deny','rules':[{'id':'all','action':'deny'}]",
	  { { "arp continues", 0, "0.0.0.0", "0.0.0.0", 0, 0, 0, 0, CONT, 0, 0, NONE, -1 },
	    { "ip is judged", 4, "1.1.1.1", "2.2.2.2", 0, 0, 0, 0, DROP, SL_DROP_FW_DENY, 1, 0, -1 } } },
};

static char *doc_of(const char *fn)
{
	char *body = NULL, *doc;

	if (asprintf(&body, "{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain',"
			    "'metadata':{'name':'t'},'spec':{'attach':[{'interface':'eth0','hook':'xdp'}],"
			    "'functions':[{'name':'fw','type':'firewall',%s}]}}", fn) < 0)
		return NULL;
	doc = fw_json(body);
	free(body);
	return doc;
}

static int to_ref(const struct fx_pkt *x, struct fw_ref_pkt *p)
{
	int af = x->family == 6 ? AF_INET6 : AF_INET;

	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)x->family;
	p->proto = (uint8_t)x->proto;
	p->flags = x->flags;
	p->sport = x->sport;
	p->dport = x->dport;
	p->len = 100 + (uint32_t)x->dport % 7;
	if (inet_pton(af, x->src, p->saddr) != 1 || inet_pton(af, x->dst, p->daddr) != 1)
		return -1;
	return 0;
}

static void run_fixture(struct fw_rig *rig, const struct fx *f)
{
	const struct spec_firewall *fw;
	struct sl_errs errs = { 0 };
	struct spec *spec = NULL;
	struct fw_image img = { 0 };
	uint64_t before[16][2], after[16][2];
	char *doc = doc_of(f->fn), *log = NULL, w[96], g[96];
	size_t i, k, n;
	int err;

	if (!ASSERT_OK_PTR(doc, "doc"))
		return;
	err = spec_parse(doc, strlen(doc), &spec, &errs);
	if (!ASSERT_OK(err, "spec_parse")) {
		errs_print(&errs, stdout);
		goto out;
	}
	fw = &spec->fns[0].fw;
	n = fw->nrules;
	err = fw_compile(fw, "spec.functions[0]", &img, &errs);
	if (!ASSERT_OK(err, "fw_compile")) {
		errs_print(&errs, stdout);
		goto out;
	}
	err = fw_rig_load(rig, &img, &log);
	if (!ASSERT_OK(err, "fw_rig_load")) {
		printf("%s\n", log ? log : "");
		goto out;
	}
	for (i = 0; i < sizeof(f->pkts) / sizeof(f->pkts[0]) && f->pkts[i].desc; i++) {
		const struct fx_pkt *x = &f->pkts[i];
		struct fw_ref_pkt p;
		struct fw_ref_res ref;
		struct sl_meta m;
		uint32_t ret;
		char name[160];

		snprintf(name, sizeof(name), "%s: %s", f->name, x->desc);
		if (!ASSERT_OK(to_ref(x, &p), name))
			continue;
		/* The model agrees with the fixture... */
		fw_ref_eval(fw, &p, &ref);
		ASSERT_STREQ(fw_ref_str(ref.verdict, ref.reason, ref.rule, g, sizeof(g)),
			     fw_ref_str(x->verdict, x->reason, x->rule, w, sizeof(w)), name);
		ASSERT_EQ(ref.decider, x->count == DEF ? FW_REF_DEFAULT : x->count == NONE ? FW_REF_NOBODY : x->count, name);
		ASSERT_EQ(ref.naudit, x->audit >= 0 ? 1 : 0, name);

		/* ...and so does the stage, counters included. */
		for (k = 0; k <= n; k++)
			fw_rig_counter(rig, k < n ? fw_rig_rule_slot(rig, k) : fw_rig_default_slot(rig),
				       &before[k][0], &before[k][1]);
		err = fw_rig_run(rig, &p, &m, &ret);
		if (!ASSERT_OK(err, name))
			continue;
		ASSERT_STREQ(fw_ref_str(m.trace[0].verdict, m.trace[0].reason, m.trace[0].rule, g, sizeof(g)),
			     fw_ref_str(x->verdict, x->reason, x->rule, w, sizeof(w)), name);
		ASSERT_EQ(ret, x->verdict == DROP ? XDP_DROP : XDP_PASS, name);
		for (k = 0; k <= n; k++) {
			int moved = (k < n && ((int)k == x->count || (int)k == x->audit)) ||
				    (k == n && x->count == DEF);

			fw_rig_counter(rig, k < n ? fw_rig_rule_slot(rig, k) : fw_rig_default_slot(rig),
				       &after[k][0], &after[k][1]);
			ASSERT_EQ(after[k][0] - before[k][0], moved, name);
			ASSERT_EQ(after[k][1] - before[k][1], moved ? p.len : 0, name);
		}
	}
out:
	free(log);
	fw_image_free(&img);
	spec_free(spec);
	errs_free(&errs);
	free(doc);
}

/* After load every config map the loader hands out for pinning is frozen
 * (no write by syscall, no writable mapping) and carries BTF, so that
 * `bpftool map dump` shows its fields. */
static void check_maps(struct fw_rig *rig)
{
	static const char *const want[] = { "fw_lpm4", "fw_lpm6", "fw_port_cls",
					    "fw_bkt4", "fw_bkt6", "fw_cand4", "fw_cand6",
					    "fw_rules", "fw_rule_ids", "fw_config" };
	struct spec_firewall fw = { .default_action = SPEC_ACT_ALLOW };
	struct sl_errs errs = { 0 };
	struct fw_image img;
	size_t i, k;

	if (!ASSERT_OK(fw_compile(&fw, "f", &img, &errs), "fw_compile") ||
	    !ASSERT_OK(fw_rig_load(rig, &img, NULL), "fw_rig_load"))
		goto out;
	ASSERT_EQ(rig->so.npins, sizeof(want) / sizeof(want[0]), "pins");
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		const char *name = want[k];
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info), key = 0;
		char value[1024] = { 0 };
		void *m;
		int fd = -1;

		for (i = 0; i < rig->so.npins; i++)
			if (!strcmp(rig->so.pins[i].name, name))
				fd = rig->so.pins[i].fd;
		if (!ASSERT_GE(fd, 0, name))
			continue;
		ASSERT_OK(bpf_obj_get_info_by_fd(fd, &info, &len), name);
		ASSERT_NEQ(info.btf_value_type_id, 0, name);
		ASSERT_ERR(bpf_map_update_elem(fd, &key, value, 0), name);
		ASSERT_EQ(errno, EPERM, name);
		if (info.map_flags & BPF_F_MMAPABLE) {
			m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			ASSERT_TRUE(m == MAP_FAILED, name);
			if (m != MAP_FAILED)
				munmap(m, 4096);
		}
	}
out:
	fw_image_free(&img);
	errs_free(&errs);
}

static int pinned_fd(const struct fw_rig *rig, const char *name)
{
	size_t i;

	for (i = 0; i < rig->so.npins; i++)
		if (!strcmp(rig->so.pins[i].name, name))
			return rig->so.pins[i].fd;
	return -1;
}

/* The tail a root entry leads to, in a loaded address table (*k: its
 * element). */
static bool root_tail(int fd, uint32_t entry, union fw_lpm6_elem *el, uint32_t *k_out)
{
	uint32_t k = entry / FW_LPM4_ELEM_ENTRIES, v;

	if (bpf_map_lookup_elem(fd, &k, el))
		return false;
	v = el->e[entry % FW_LPM4_ELEM_ENTRIES];
	if ((v & (FW_LPM_CHUNK | FW_LPM_TAIL)) != (FW_LPM_CHUNK | FW_LPM_TAIL))
		return false;
	k = v & ~(FW_LPM_CHUNK | FW_LPM_TAIL);
	*k_out = k;
	return !bpf_map_lookup_elem(fd, &k, el);
}

/* Atom i of the IPv4 tail group at element k, as loaded. */
static bool group_atom(int fd, uint32_t k, int i, struct fw_atom4 *a)
{
	union fw_lpm4_elem el;
	uint32_t e = k + 1 + i / 2;

	if (bpf_map_lookup_elem(fd, &e, &el))
		return false;
	*a = el.atom[i % 2];
	return true;
}

/* Rule 0's /24 nests in rule 1's /20 (both in one tail, longest first;
 * the other way round rule 0 would shadow rule 1 and head both lists),
 * rule 2 is IPv6. The IPv4 tail's group carries those lists' first atoms
 * inline, counter slots stamped by the loader: the verdicts come from them
 * (fw_diff compares), here their bytes are checked against the atoms in
 * fw_cand4 the lists name. */
static void check_inline_atoms(struct fw_rig *rig)
{
	char *doc = doc_of("'defaultAction':'deny','rules':["
			   "{'id':'b','action':'deny','dst':['10.1.2.0/24']},"
			   "{'id':'a','action':'allow','dst':['10.1.0.0/20']},"
			   "{'id':'c','action':'allow','dst':['2001:db8:1::/48']}]");
	struct sl_errs errs = { 0 };
	struct spec *spec = NULL;
	union fw_lpm6_elem el;
	struct fw_image img;
	struct fw_atom4 in, want;
	int fd4, fd6, fdc, i;
	uint32_t k, off;

	memset(&img, 0, sizeof(img));
	if (!ASSERT_OK_PTR(doc, "doc") ||
	    !ASSERT_OK(spec_parse(doc, strlen(doc), &spec, &errs), "spec_parse") ||
	    !ASSERT_OK(fw_compile(&spec->fns[0].fw, "spec.functions[0]", &img, &errs), "fw_compile") ||
	    !ASSERT_OK(fw_rig_load(rig, &img, NULL), "fw_rig_load"))
		goto out;
	fd4 = pinned_fd(rig, "fw_lpm4");
	fd6 = pinned_fd(rig, "fw_lpm6");
	fdc = pinned_fd(rig, "fw_cand4");
	if (ASSERT_TRUE(root_tail(fd4, FW_LPM4_DST_ROOT + 0x0a01, &el, &k), "10.1/16 ends in a tail")) {
		struct fw_lpm4_tail t = ((union fw_lpm4_elem *)&el)->tail;

		ASSERT_EQ(t.plen[0], 24, "longest first");
		ASSERT_EQ(t.plen[1], 20, "then the /20");
		ASSERT_EQ(t.plen[2], 0, "unused slot");
		ASSERT_EQ(t.inl, 0x3, "inline atoms: the two lists; the empty fallback none");
		ASSERT_EQ(k % FW_LPM4_PAGE_ELEMS <= FW_LPM4_PAGE_ELEMS - FW_LPM4_TAIL_ELEMS, true,
			  "the group stays within a page");
		for (i = 0; i < 2; i++) {
			ASSERT_TRUE(t.leaf[i] & FW_LPM_LIST, "a short list, inline in the leaf");
			off = t.leaf[i] & FW_LIST_MAX_OFF;
			if (!ASSERT_TRUE(group_atom(fd4, k, i, &in), "inline atom") ||
			    !ASSERT_OK(bpf_map_lookup_elem(fdc, &off, &want), "fw_cand4 atom"))
				break;
			ASSERT_EQ(in.rule, (uint32_t)i, "the list's first atom: its rule");
			ASSERT_EQ(in.counter, fw_rig_rule_slot(rig, i), "its counter slot, stamped");
			ASSERT_EQ(memcmp(&in, &want, sizeof(in)), 0, "a byte copy of the list's first atom");
		}
	}
	if (ASSERT_TRUE(root_tail(fd6, FW_LPM4_DST_ROOT + 0x2001, &el, &k), "2001::/16 ends in a tail")) {
		struct fw_lpm6_tail *t = &el.tail;

		ASSERT_EQ(t->plen[0], 48, "the /48");
		ASSERT_EQ(t->plen[1], 0, "unused slot");
		ASSERT_EQ(t->leaf[1], t->fallback, "holds the fallback");
	}
out:
	fw_image_free(&img);
	spec_free(spec);
	errs_free(&errs);
	free(doc);
}

void test_fw_fields(void)
{
	struct fw_rig rig;
	size_t i;

	if (!ASSERT_OK(fw_rig_open(&rig), "fw_rig_open"))
		return;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		if (test__start_subtest(fixtures[i].name))
			run_fixture(&rig, &fixtures[i]);
	if (test__start_subtest("maps_frozen_with_btf"))
		check_maps(&rig);
	if (test__start_subtest("inline_atoms"))
		check_inline_atoms(&rig);
	fw_rig_close(&rig);
}
