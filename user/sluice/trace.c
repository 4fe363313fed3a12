// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* trace: one crafted packet through the live generation's real programs
 * (BPF_PROG_TEST_RUN on the pinned entry), printing what each stage
 * decided and why. The packet is counted in stats like real traffic.
 * Packet syntax: user/lib/probe.h.
 *
 *   sluice trace tcp 10.0.0.1:40000 192.0.2.10:80 [flags S] [vlan ID]
 *   sluice trace udp [2001:db8::1]:53 [2001:db8::2]:53
 *   sluice trace icmp 10.0.0.1 10.0.0.2 [type 8] [code 0]
 *   sluice trace 47 10.0.0.1 10.0.0.2
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "nf_ct.h"
#include "cli.h"
#include "history.h"
#include "names.h"
#include "probe.h"
#include "shared/meta.h"

static const cJSON *live_functions(const cJSON *doc)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");

	return cJSON_GetObjectItemCaseSensitive(spec, "functions");
}

const char *trace_rule_id(const cJSON *fn, uint32_t rule)
{
	const cJSON *r, *t = cJSON_GetObjectItemCaseSensitive(fn, "type");

	/* a conntrack stage records the packet's state (docs/conntrack.md) */
	if (cJSON_IsString(t) && !strcmp(t->valuestring, "conntrack"))
		return ct_state_name(rule);
	if (!rule)
		return "(default)";
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fn, "rules"), (int)rule - 1);
	r = cJSON_GetObjectItemCaseSensitive(r, "id");
	return cJSON_IsString(r) ? r->valuestring : "?";
}

/* Stage records and the result of one probe, inside the current object. */
void trace_print(const struct probe_result *res, const cJSON *fns, bool tc)
{
	const struct sl_meta *m = &res->meta;
	uint32_t i;

	out_u64("generation", ", generation %llu", m->gen);
	out_u64("bytes", ", %llu-byte frame\n", (uint64_t)res->len);
	out_human("  %-5s %-16s %-9s %-28s %s\n", "STAGE", "FUNCTION", "VERDICT", "REASON", "RULE");
	out_arr_begin("stages");
	for (i = 0; i < m->nstages && i < SL_MAX_STAGES; i++) {
		const struct sl_trace_rec *tr = &m->trace[i];
		const cJSON *fn = cJSON_GetArrayItem(fns, tr->stage);
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");

		out_obj_begin(NULL);
		out_u64("stage", "  %-5llu", tr->stage);
		out_str("function", " %-16s", cJSON_IsString(name) ? name->valuestring : "?");
		out_str("verdict", " %-9s", verdict_str(tr->verdict));
		out_str("reason", " %-28s", tr->reason ? drop_reason_str(tr->reason) : "-");
		out_str("rule", " %s\n", trace_rule_id(fn, tr->rule));
		out_obj_end();
	}
	out_arr_end();
	out_str("verdict", "result: %s", verdict_str(m->verdict));
	out_str("reason", m->reason ? " (%s)" : NULL, drop_reason_str(m->reason));
	if (tc)
		out_str("tc_action", ", TC action %s\n", res->retval == TC_ACT_SHOT ? "TC_ACT_SHOT" :
			res->retval == TC_ACT_OK ? "TC_ACT_OK" :
			res->retval == (uint32_t)TC_ACT_UNSPEC ? "TC_ACT_UNSPEC" : "other");
	else
		out_str("xdp_action", ", XDP action %s\n", res->retval == XDP_DROP ? "XDP_DROP" :
			res->retval == XDP_PASS ? "XDP_PASS" : "other");
}

int cmd_trace(int argc, char **argv)
{
	struct probe_result res;
	struct probe_pkt pkt;
	const cJSON *fns = NULL;
	cJSON *hist = NULL;
	struct chain c;
	int err, ret = SL_EXIT_RUNTIME;

	if (probe_parse(argc - 1, argv + 1, &pkt)) {
		out_error("usage: sluice trace " PROBE_USAGE "; PROTO is tcp, udp, sctp, icmp, "
			  "icmpv6 or a number; IPv6 with a port as [ADDR]:PORT");
		return SL_EXIT_INVALID;
	}
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	if (!c.live) {
		out_error("chain %s has no live generation", c.name);
		ret = SL_EXIT_NOT_FOUND;
		goto out;
	}
	if (!hist_spec_doc(&c.paths, c.live, &hist))
		fns = live_functions(hist);
	err = probe_run(c.entry_fd, c.sh.meta_fd, &pkt, &res);
	if (err) {
		out_error("test run failed: %s", strerror(-err));
		goto out;
	}
	out_obj_begin(NULL);
	out_str("chain", "chain %s", c.name);
	trace_print(&res, fns, c.tc);
	out_obj_end();
	out_finish();
	ret = SL_EXIT_OK;
out:
	cJSON_Delete(hist);
	chain_close(&c);
	return ret;
}
