// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* status, history and stats: the read-only verbs. They take no lock: every
 * value is read from the kernel or from files written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "attach.h"
#include "history.h"
#include "nl.h"
#include "names.h"
#include "metrics.h"
#include "shared/meta.h"
#include "shared/drop_reasons.h"
#include "shared/fw.h"

static int no_args(int argc, char **argv)
{
	if (argc > 1) {
		out_error("usage: sluice %s (takes no arguments)", argv[0]);
		return -EINVAL;
	}
	return 0;
}

static void print_gen(const char *key, const struct chain *c, uint32_t gen)
{
	cJSON *h = NULL;

	out_obj_begin(key);
	out_u64("generation", "%llu", gen);
	if (gen && !hist_read(&c->paths, gen, &h)) {
		out_str("sha256", "  sha256 %.16s", hist_str(h, "sha256"));
		out_str("committed", "  committed %s", out_fmt_time(hist_num(h, "committed")));
	}
	out_human("\n");
	out_obj_end();
	cJSON_Delete(h);
}

int cmd_status(int argc, char **argv)
{
	struct attach_info *ai = NULL;
	struct chain c;
	size_t n = 0, i;
	int err;

	if (no_args(argc, argv))
		return SL_EXIT_INVALID;
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	attach_list(&c.paths, &ai, &n);
	out_obj_begin(NULL);
	out_str("chain", "chain        %s\n", c.name);
	out_str("pin_dir", "pins         %s\n", c.paths.pin);
	out_str("state_dir", "state        %s\n", c.paths.state);
	out_human("live         ");
	print_gen("live", &c, c.live);
	out_human("previous     ");
	print_gen("previous", &c, c.prev);
	out_human("attach points:\n  %-16s %-6s %-8s %-8s %-8s %s\n", "INTERFACE", "HOOK",
		  "MODE", "IFINDEX", "LINK", "PROG");
	out_arr_begin("attach");
	for (i = 0; i < n; i++) {
		uint8_t attached = 0;
		uint32_t xdp_prog = 0;

		/* The mode as the kernel reports it, not as the spec asked. */
		if (ai[i].ifindex && !strcmp(ai[i].hook, "xdp"))
			nl_xdp_query(ai[i].ifindex, &attached, &xdp_prog);
		out_obj_begin(NULL);
		out_str("interface", "  %-16s", ai[i].ifname);
		out_str("hook", " %-6s", ai[i].hook);
		out_str("mode", " %-8s", strcmp(ai[i].hook, "xdp") ? "cls_bpf" : nl_xdp_mode_str(attached));
		out_u64("ifindex", " %-8llu", ai[i].ifindex);
		out_u64("link_id", " %-8llu", ai[i].link_id);
		out_u64("prog_id", " %llu\n", ai[i].prog_id);
		out_obj_end();
	}
	out_arr_end();
	out_obj_end();
	out_finish();
	free(ai);
	chain_close(&c);
	return SL_EXIT_OK;
}

int cmd_history(int argc, char **argv)
{
	uint32_t *gens = NULL;
	struct chain c;
	size_t n = 0, i;
	int err;

	if (no_args(argc, argv))
		return SL_EXIT_INVALID;
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	hist_list(&c.paths, &gens, &n);
	out_human("%-6s %-4s %-16s %-20s %-20s %s\n", "GEN", "", "SHA256", "CREATED",
		  "COMMITTED", "RESULT");
	out_arr_begin(NULL);
	for (i = 0; i < n; i++) {
		cJSON *h;

		if (hist_read(&c.paths, gens[i], &h))
			continue;
		out_obj_begin(NULL);
		out_u64("generation", "%-6llu", gens[i]);
		out_str("role", " %-4s", gens[i] == c.live ? "live" :
					 gens[i] == c.prev ? "prev" : "");
		out_str("sha256", " %.16s", hist_str(h, "sha256"));
		out_str("created", " %-20s", out_fmt_time(hist_num(h, "created")));
		out_str("committed", " %-20s", out_fmt_time(hist_num(h, "committed")));
		out_str("result", " %s\n", hist_str(h, "result"));
		out_obj_end();
		cJSON_Delete(h);
	}
	out_arr_end();
	out_finish();
	free(gens);
	chain_close(&c);
	return SL_EXIT_OK;
}

static struct sl_counter slot_value(const struct sl_counter *all, const cJSON *slot)
{
	struct sl_counter zero = {};

	if (!all || !cJSON_IsNumber(slot) || slot->valuedouble < 0 ||
	    slot->valuedouble >= FW_RULE_SLOTS)
		return zero;
	return all[(uint32_t)slot->valuedouble];
}

static void stats_function(const struct sl_counter *all, const cJSON *fn_spec,
			   const cJSON *slots)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn_spec, "name");
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(fn_spec, "rules");
	const cJSON *slot_map, *r, *slot;
	struct sl_counter v;

	if (!cJSON_IsString(name))
		return;
	slot_map = cJSON_GetObjectItemCaseSensitive(slots, name->valuestring);
	out_obj_begin(NULL);
	out_str("name", "function %s", name->valuestring);
	out_str("type", " (%s)\n", hist_str(fn_spec, "type"));
	out_human("  %-32s %-7s %-6s %14s %16s\n", "RULE", "ACTION", "AUDIT", "PACKETS", "BYTES");
	out_arr_begin("rules");
	/* The slot map lists the default first, then the rules in spec
	 * order: walk both together instead of searching by id. */
	slot = slot_map ? slot_map->child : NULL;
	if (slot)
		slot = slot->next;
	cJSON_ArrayForEach(r, rules) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
		const cJSON *audit = cJSON_GetObjectItemCaseSensitive(r, "audit");
		const char *ids = cJSON_IsString(id) ? id->valuestring : "?";

		if (!slot || !slot->string || strcmp(slot->string, ids))
			slot = cJSON_GetObjectItemCaseSensitive(slot_map, ids);
		v = slot_value(all, slot);
		out_obj_begin(NULL);
		out_str("id", "  %-32s", ids);
		out_str("action", " %-7s", hist_str(r, "action"));
		out_bool("audit", " %-6s", cJSON_IsTrue(audit));
		out_u64("packets", " %14llu", v.packets);
		out_u64("bytes", " %16llu\n", v.bytes);
		out_obj_end();
		slot = slot ? slot->next : NULL;
	}
	out_arr_end();
	v = slot_value(all, cJSON_GetObjectItemCaseSensitive(slot_map, "(default)"));
	out_obj_begin("default");
	out_human("  %-32s", "(default)");
	out_str("action", " %-7s", hist_str(fn_spec, "defaultAction"));
	out_u64("packets", "        %14llu", v.packets);
	out_u64("bytes", " %16llu\n", v.bytes);
	out_obj_end();
	out_obj_end();
}

static void stats_gen(const struct chain *c, uint32_t gen, const char *role)
{
	uint64_t v[4] = {};
	int fd;

	if (!gen)
		return;
	fd = gen_pin_get(c, gen, "sl_gen_stats");
	if (fd >= 0) {
		percpu_sum(fd, 0, v, 4);
		close(fd);
	}
	out_obj_begin(NULL);
	out_u64("generation", "  %-6llu", gen);
	out_str("role", " %-5s", role);
	out_u64("packets", " %14llu", v[0]);
	out_u64("passed", " %14llu", v[1]);
	out_u64("dropped", " %14llu", v[2]);
	out_u64("bytes", " %16llu\n", v[3]);
	out_obj_end();
}

int cmd_stats(int argc, char **argv)
{
	const cJSON *spec, *fns, *fn, *slots;
	cJSON *h = NULL, *doc = NULL;
	struct chain c;
	uint64_t v[2];
	uint32_t r;
	int err;

	if (no_args(argc, argv))
		return SL_EXIT_INVALID;
	err = cli_chain_open(&c, 0);
	if (err)
		return cli_exit_for(err);
	out_obj_begin(NULL);
	out_str("chain", "chain %s", c.name);
	out_u64("generation", ", live generation %llu\n\n", c.live);
	out_arr_begin("functions");
	if (c.live && !hist_counters(&c.paths, c.live, &h) && !hist_spec_doc(&c.paths, c.live, &doc)) {
		spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
		fns = cJSON_GetObjectItemCaseSensitive(spec, "functions");
		slots = h;
		struct sl_counter *all = metrics_fw_counters(c.sh.fw_counters_fd);

		cJSON_ArrayForEach(fn, fns) {
			const char *type = hist_str(fn, "type");

			if (type && !strcmp(type, "conntrack"))
				conntrack_stats(&c, fn);
			else if (type && !strcmp(type, "loadbalancer"))
				lb_stats(&c, fn);
			else if (type && !strcmp(type, "nat"))
				nat_stats(&c, fn);
			else
				stats_function(all, fn, slots);
			out_human("\n");
		}
		free(all);
	}
	out_arr_end();
	out_human("drops by reason:\n  %-32s %14s %16s\n", "REASON", "PACKETS", "BYTES");
	out_arr_begin("drops");
	for (r = 1; r < SL_DROP__MAX; r++) {
		if (percpu_sum(c.sh.drops_fd, r, v, 2))
			continue;
		/* Human output lists the reasons seen; JSON lists all. */
		if (!v[0] && !out_is_json())
			continue;
		out_obj_begin(NULL);
		out_str("reason", "  %-32s", drop_reason_str(r));
		out_u64("packets", " %14llu", v[0]);
		out_u64("bytes", " %16llu\n", v[1]);
		out_obj_end();
	}
	out_arr_end();
	out_human("\ngenerations:\n  %-6s %-5s %14s %14s %14s %16s\n", "GEN", "ROLE", "PACKETS",
		  "PASSED", "DROPPED", "BYTES");
	out_arr_begin("generations");
	stats_gen(&c, c.live, "live");
	stats_gen(&c, c.prev, "prev");
	out_arr_end();
	out_obj_end();
	out_finish();
	cJSON_Delete(h);
	cJSON_Delete(doc);
	chain_close(&c);
	return SL_EXIT_OK;
}
