// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Real packets (the packet builder) through the real parser (the entry
 * program) into the fw stage: the fragment policy and the L4 fields hold
 * with the flags the parser really sets. The fw stage sits in the entry's
 * sl_root as the only stage of a generation and shares its metadata and
 * drop counter maps. Every outcome is also checked against the reference
 * model fed with the metadata the parser wrote. */
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test_progs.h"
#include "fw_run.h"
#include "pkt.h"
#include "entry.skel.h"
#include "shared/drop_reasons.h"

#define PERCPU_META ((sizeof(struct sl_meta) + 7) & ~7ul)

static const char *rules_json =
	"{'apiVersion':'sluice.dev/v1alpha1','kind':'NetworkFunctionChain','metadata':{'name':'t'},"
	"'spec':{'attach':[{'interface':'eth0','hook':'xdp'}],'functions':[{'name':'fw','type':'firewall',"
	"'defaultAction':'deny','rules':["
	"{'id':'trusted','action':'allow','src':['10.0.0.0/8']},"
	"{'id':'no-telnet','action':'deny','proto':'tcp','dstPorts':[23]},"
	"{'id':'web','action':'allow','proto':'tcp','dstPorts':[80]},"
	"{'id':'echo','action':'allow','proto':'icmp','icmpType':8},"
	"{'id':'echo6','action':'allow','proto':'icmpv6','icmpType':128},"
	"{'id':'dns6','action':'allow','proto':'udp','dst':['fd00::/64'],'dstPorts':[53]}]}]}}";

struct fp_case {
	const char *name;
	struct pkt_spec pkt;
	uint8_t verdict, reason;
	uint32_t rule;
};

static const uint8_t ip_opts[8] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };

static const struct fp_case cases[] = {
	{ "tcp 80", { .family = 4, .proto = IPPROTO_TCP, .sport = 4000, .dport = 80 },
	  SL_VERDICT_CONTINUE, 0, 3 },
	{ "tcp 23", { .family = 4, .proto = IPPROTO_TCP, .sport = 4000, .dport = 23 },
	  SL_VERDICT_DROP, SL_DROP_FW_DENY, 2 },
	{ "ipv4 options, tcp 80", { .family = 4, .ip4 = { .opts = ip_opts, .opts_len = 8 },
	  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80 }, SL_VERDICT_CONTINUE, 0, 3 },
	{ "first fragment, tcp 80", { .family = 4, .ip4 = { .frag = PKT_IP_MF },
	  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80, .payload_len = 64 },
	  SL_VERDICT_CONTINUE, 0, 3 },
	{ "first fragment, tcp 23", { .family = 4, .ip4 = { .frag = PKT_IP_MF },
	  .proto = IPPROTO_TCP, .sport = 4000, .dport = 23, .payload_len = 64 },
	  SL_VERDICT_DROP, SL_DROP_FW_DENY, 2 },
	{ "later fragment, tcp", { .family = 4, .ip4 = { .frag = 185 }, .proto = IPPROTO_TCP,
	  .no_l4 = true, .payload_len = 64 }, SL_VERDICT_DROP, SL_DROP_FRAG_NO_PORTS, 2 },
	{ "later fragment, tcp, trusted source", { .family = 4,
	  .ip4 = { .saddr = "10.1.2.3", .frag = PKT_IP_MF | 185 }, .proto = IPPROTO_TCP,
	  .no_l4 = true, .payload_len = 64 }, SL_VERDICT_CONTINUE, 0, 1 },
	{ "later fragment, udp v4", { .family = 4, .ip4 = { .frag = 185 }, .proto = IPPROTO_UDP,
	  .no_l4 = true, .payload_len = 64 }, SL_VERDICT_DROP, SL_DROP_FW_DEFAULT_DENY, 0 },
	{ "icmp echo", { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 8 },
	  SL_VERDICT_CONTINUE, 0, 4 },
	{ "icmp echo reply", { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 0 },
	  SL_VERDICT_DROP, SL_DROP_FW_DEFAULT_DENY, 0 },
	{ "icmpv6 echo", { .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128 },
	  SL_VERDICT_CONTINUE, 0, 5 },
	{ "udp 53 to fd00::/64", { .family = 6, .ip6 = { .daddr = "fd00::35" },
	  .proto = IPPROTO_UDP, .sport = 5353, .dport = 53 }, SL_VERDICT_CONTINUE, 0, 6 },
	{ "udp 53 behind a vlan tag", { .nvlan = 1, .vlan = { { 0, 100 } }, .family = 6,
	  .ip6 = { .daddr = "fd00::35" }, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53 },
	  SL_VERDICT_CONTINUE, 0, 6 },
	{ "v6 later fragment, udp", { .family = 6, .ip6 = { .daddr = "fd00::35" }, .next = 1,
	  .ext = { { .type = 44, .frag_off = 100, .id = 7 } }, .proto = IPPROTO_UDP,
	  .no_l4 = true, .payload_len = 64 }, SL_VERDICT_DROP, SL_DROP_FRAG_NO_PORTS, 6 },
	{ "v6 first fragment, udp 53", { .family = 6, .ip6 = { .daddr = "fd00::35" }, .next = 1,
	  .ext = { { .type = 44, .frag_off = 0, .more = true, .id = 8 } }, .proto = IPPROTO_UDP,
	  .sport = 5353, .dport = 53, .payload_len = 64 }, SL_VERDICT_CONTINUE, 0, 6 },
	{ "arp", { .family = 0 }, SL_VERDICT_CONTINUE, 0, 0 },
};

void test_fw_parse(void)
{
	struct sl_errs errs = { 0 };
	struct fw_image img = { 0 };
	struct spec *spec = NULL;
	struct entry *ent = NULL;
	struct fw_rig rig;
	char *doc = fw_json(rules_json), *log = NULL, w[96], g[96];
	uint32_t zero = 0;
	size_t i;
	int err, prog_fd;
	bool rig_ok;

	rig_ok = ASSERT_OK(fw_rig_open(&rig), "fw_rig_open");
	if (!rig_ok || !ASSERT_OK_PTR(doc, "doc"))
		goto out;
	ent = entry__open_and_load();
	if (!ASSERT_OK_PTR(ent, "entry__open_and_load"))
		goto out;
	/* The stage shares the entry's metadata and drop counters. */
	rig.sh.meta_fd = fcntl(bpf_map__fd(ent->maps.sl_meta_scratch), F_DUPFD_CLOEXEC, 3);
	rig.sh.drops_fd = fcntl(bpf_map__fd(ent->maps.sl_drops), F_DUPFD_CLOEXEC, 3);
	err = spec_parse(doc, strlen(doc), &spec, &errs);
	if (!ASSERT_OK(err, "spec_parse")) {
		errs_print(&errs, stdout);
		goto out;
	}
	err = fw_compile(&spec->fns[0].fw, "spec.functions[0]", &img, &errs);
	if (!ASSERT_OK(err, "fw_compile"))
		goto out;
	err = fw_rig_load(&rig, &img, &log);
	if (!ASSERT_OK(err, "fw_rig_load"))
		goto out;
	prog_fd = rig.so.prog_fd;
	err = bpf_map_update_elem(bpf_map__fd(ent->maps.sl_root), &zero, &prog_fd, 0);
	if (!ASSERT_OK(err, "sl_root"))
		goto out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fp_case *c = &cases[i];
		uint8_t frame[PKT_MAX];
		struct sl_meta m;
		struct fw_ref_pkt p = { 0 };
		struct fw_ref_res ref;
		int len = pkt_build(&c->pkt, frame, sizeof(frame));
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .repeat = 1);

		if (!ASSERT_GT(len, 0, c->name))
			continue;
		o.data_size_in = (uint32_t)len;
		err = bpf_prog_test_run_opts(bpf_program__fd(ent->progs.sl_entry), &o);
		if (!ASSERT_OK(err, c->name))
			continue;
		err = bpf_map_lookup_elem(rig.sh.meta_fd, &zero, rig.percpu);
		if (!ASSERT_OK(err, c->name))
			continue;
		memcpy(&m, (char *)rig.percpu + (size_t)rig.cpu * PERCPU_META, sizeof(m));
		if (!ASSERT_EQ(m.nstages, 1, c->name)) { /* the parser let it through */
			printf("    %s: parser verdict %u reason %u\n", c->name, m.verdict, m.reason);
			continue;
		}
		ASSERT_STREQ(fw_ref_str(m.trace[0].verdict, m.trace[0].reason, m.trace[0].rule, g, sizeof(g)),
			     fw_ref_str(c->verdict, c->reason, c->rule, w, sizeof(w)), c->name);
		ASSERT_EQ(o.retval, c->verdict == SL_VERDICT_DROP ? XDP_DROP : XDP_PASS, c->name);

		/* The model, fed what the parser wrote, agrees. */
		p.family = m.family;
		p.proto = m.l4proto;
		p.flags = m.flags;
		p.sport = m.sport;
		p.dport = m.dport;
		p.len = m.pkt_len;
		memcpy(p.saddr, m.saddr, sizeof(p.saddr));
		memcpy(p.daddr, m.daddr, sizeof(p.daddr));
		fw_ref_eval(&spec->fns[0].fw, &p, &ref);
		ASSERT_STREQ(fw_ref_str(ref.verdict, ref.reason, ref.rule, g, sizeof(g)),
			     fw_ref_str(c->verdict, c->reason, c->rule, w, sizeof(w)), c->name);
	}
out:
	free(log);
	free(doc);
	fw_image_free(&img);
	spec_free(spec);
	errs_free(&errs);
	if (rig_ok)
		fw_rig_close(&rig);
	entry__destroy(ent);
}
