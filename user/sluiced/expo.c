// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Prometheus exposition (/metrics) and /status. docs/metrics.md lists
 * every metric. Counters are read from the kernel at each scrape: rule
 * counters by function and rule id (the live generation's slot map), drops
 * by reason, per-generation verdicts, and every pinned map's usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include "sluiced.h"
#include "history.h"
#include "metrics.h"
#include "names.h"
#include "shared/drop_reasons.h"
#include "shared/fw.h"

struct snap {
	const char *name;
	const struct chain_stat *cs;	/* NULL: never applied by this agent */
	const struct source *src;	/* the valid source naming it, or NULL */
	bool open;
	struct chain c;
	char live_sha[65];
	cJSON *doc, *slots;		/* live spec, its counter slots */
	struct sl_counter *ctr;
	struct metrics_map *maps;
	size_t nmaps;
	uint64_t gstats[2][4];
	uint64_t drops[SL_DROP__MAX][2];
	struct metrics_flow_table flows[METRICS_FLOW_TABLES];
	size_t nflows;
};

/* Label values: backslash, double quote and newline escaped. */
static void lv(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void snap_read(struct snap *s)
{
	cJSON *h;
	int fd, k;
	uint32_t gens[2], r;

	if (!chain_exists(&agent.copts, s->name) || chain_open(&s->c, &agent.copts, s->name, 0))
		return;
	s->open = true;
	gens[0] = s->c.live;
	gens[1] = s->c.prev;
	if (s->c.live && !hist_read(&s->c.paths, s->c.live, &h)) {
		snprintf(s->live_sha, sizeof(s->live_sha), "%s", hist_str(h, "sha256") ?: "");
		cJSON_Delete(h);
	}
	if (s->c.live) {
		hist_counters(&s->c.paths, s->c.live, &s->slots);
		hist_spec_doc(&s->c.paths, s->c.live, &s->doc);
	}
	if (s->c.sh.fw_counters_fd >= 0)
		s->ctr = metrics_fw_counters(s->c.sh.fw_counters_fd);
	for (r = 1; r < SL_DROP__MAX; r++)
		percpu_sum(s->c.sh.drops_fd, r, s->drops[r], 2);
	for (k = 0; k < 2; k++) {
		if (!gens[k])
			continue;
		fd = gen_pin_get(&s->c, gens[k], "sl_gen_stats");
		if (fd >= 0) {
			percpu_sum(fd, 0, s->gstats[k], 4);
			close(fd);
		}
	}
	metrics_chain_maps(&s->c, &s->maps, &s->nmaps);
	s->nflows = metrics_flow_tables(&s->c, s->flows);
}

static void snap_free(struct snap *s)
{
	if (s->open)
		chain_close(&s->c);
	cJSON_Delete(s->doc);
	cJSON_Delete(s->slots);
	free(s->ctr);
	free(s->maps);
}

/* Every chain this agent knows: applied to, or named by a valid spec. */
static size_t snaps_collect(struct snap *v, size_t max)
{
	size_t n = 0, j;
	int i;

	for (i = 0; i < agent.nchains && n < max; i++) {
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = agent.chains[i].name;
		v[n].cs = &agent.chains[i];
		n++;
	}
	for (i = 0; i < agent.nsrc; i++) {
		const struct source *s = &agent.src[i];

		if (!s->present || !s->chain[0])
			continue;
		for (j = 0; j < n && strcmp(v[j].name, s->chain); j++)
			;
		if (j == n) {
			if (n == max)
				continue;
			memset(&v[n], 0, sizeof(v[n]));
			v[n].name = s->chain;
			n++;
		}
		if (s->valid)
			v[j].src = s;
	}
	for (j = 0; j < n; j++)
		snap_read(&v[j]);
	return n;
}

static bool in_sync(const struct snap *s)
{
	return s->src && !s->src->pending && s->live_sha[0] &&
	       !strcmp(s->live_sha, s->src->desired_sha);
}

/* Ready: started, at least one spec, every spec valid and live. */
static bool ready_of(const struct snap *v, size_t n, char *why, size_t whylen)
{
	size_t j;
	int i, present = 0;

	if (!agent.started) {
		snprintf(why, whylen, "starting");
		return false;
	}
	for (i = 0; i < agent.nsrc; i++) {
		const struct source *s = &agent.src[i];

		if (!s->present)
			continue;
		present++;
		if (!s->valid) {
			snprintf(why, whylen, "%s: invalid spec: %s", s->path,
				 s->nerrs ? s->errs[0] : "unreadable");
			return false;
		}
		for (j = 0; j < n && strcmp(v[j].name, s->chain); j++)
			;
		if (j == n || !in_sync(&v[j])) {
			snprintf(why, whylen, "chain %s: the live generation (sha256 %.12s) is not the desired spec (sha256 %.12s)%s%s",
				 s->chain, j < n && v[j].live_sha[0] ? v[j].live_sha : "none",
				 s->desired_sha, s->nerrs ? ": " : "", s->nerrs ? s->errs[0] : "");
			return false;
		}
	}
	if (!present) {
		snprintf(why, whylen, "no spec file found");
		return false;
	}
	snprintf(why, whylen, "ok");
	return true;
}

static void render_rules(FILE *f, const struct snap *v, size_t n, bool bytes)
{
	const cJSON *fn, *r;
	size_t j;

	family(f, bytes ? "sluice_rule_bytes_total" : "sluice_rule_packets_total", "counter",
	       bytes ? "Bytes matched by a rule of the live generation (rule=\"(default)\": the function's default action), by rule id; continues across generations while the id stays."
		     : "Packets matched by a rule of the live generation (rule=\"(default)\": the function's default action), by rule id; continues across generations while the id stays.");
	for (j = 0; j < n; j++) {
		const cJSON *fns = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(v[j].doc, "spec"), "functions");

		if (!v[j].ctr || !v[j].slots)
			continue;
		cJSON_ArrayForEach(fn, fns) {
			const char *fname = hist_str(fn, "name"), *type = hist_str(fn, "type");
			const cJSON *map = cJSON_GetObjectItemCaseSensitive(v[j].slots, fname);

			cJSON_ArrayForEach(r, map) {
				struct sl_counter c;

				if (!cJSON_IsNumber(r) || r->valuedouble < 0 ||
				    r->valuedouble >= FW_RULE_SLOTS)
					continue;
				c = v[j].ctr[(uint32_t)r->valuedouble];
				fputs(bytes ? "sluice_rule_bytes_total{chain=\"" : "sluice_rule_packets_total{chain=\"", f);
				lv(f, v[j].name);
				fputs("\",function=\"", f);
				lv(f, fname);
				fputs("\",type=\"", f);
				lv(f, type);
				fputs("\",rule=\"", f);
				lv(f, r->string);
				fprintf(f, "\"} %llu\n", (unsigned long long)(bytes ? c.bytes : c.packets));
			}
		}
	}
}

static const char *map_type_str(uint32_t t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "unknown";
}

static void render_maps(FILE *f, const struct snap *v, size_t n, int which)
{
	static const char *const names[] = { "sluice_map_entries", "sluice_map_max_entries",
					     "sluice_map_memory_bytes" };
	static const char *const helps[] = {
		"Entries in use in a pinned map (hash maps: counted; fw_counters: slots held by the live and previous generations; other arrays: preallocated, all of them).",
		"Capacity of a pinned map in entries (max_entries); pressure is sluice_map_entries / sluice_map_max_entries.",
		"Kernel memory charged for a pinned map (memlock), in bytes.",
	};
	size_t j, k;

	family(f, names[which], "gauge", helps[which]);
	for (j = 0; j < n; j++) {
		for (k = 0; k < v[j].nmaps; k++) {
			const struct metrics_map *m = &v[j].maps[k];
			uint64_t val = which == 0 ? m->entries : which == 1 ? m->max_entries :
						    m->memlock_bytes;

			fprintf(f, "%s{chain=\"", names[which]);
			lv(f, v[j].name);
			fprintf(f, "\",owner=\"%s\",map=\"", m->generation ? "generation" : "chain");
			lv(f, m->name);
			fprintf(f, "\",type=\"%s\"} %llu\n", map_type_str(m->type),
				(unsigned long long)val);
		}
	}
}

/* The flow tables (kernel counters) and the agent's expiry sweeps. */
static void render_flows(FILE *f, const struct snap *v, size_t n)
{
	static const char *const gc_res[GC__MAX] = { "ok", "locked", "error" };
	static const struct {
		const char *name, *type, *help;
		int field; /* 0 entries, 1 live, 2 created, 3 expired, 4 reused */
		bool fwd;  /* only forward tables (the pair's counters) */
	} fam[] = {
		{ "sluice_flow_entries", "gauge", "Entries in a flow table (ct_table, lb_flows, lb_rev, nat_flows, nat_rev), expired ones included.", 0, false },
		{ "sluice_flow_live_entries", "gauge", "Entries of a flow table not past their expiry (the rest waits for the sweep).", 1, false },
		{ "sluice_flow_created_total", "counter", "Flows inserted into a forward flow table (ct_table, lb_flows, nat_flows).", 2, true },
		{ "sluice_flow_expired_total", "counter", "Expired entries the sweeps (agent, sluice ... gc) removed from a flow table.", 3, false },
		{ "sluice_flow_reused_expired_total", "counter", "Packets that met an expired flow and started a new one in its place.", 4, true },
	};
	size_t i, j, k;

	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		family(f, fam[i].name, fam[i].type, fam[i].help);
		for (j = 0; j < n; j++) {
			for (k = 0; k < v[j].nflows; k++) {
				const struct metrics_flow_table *m = &v[j].flows[k];
				uint64_t val = fam[i].field == 0 ? m->entries : fam[i].field == 1 ? m->live :
					       fam[i].field == 2 ? m->created : fam[i].field == 3 ? m->expired :
					       m->reused;

				if (fam[i].fwd && !m->has_counters)
					continue;
				fprintf(f, "%s{chain=\"", fam[i].name);
				lv(f, v[j].name);
				fprintf(f, "\",table=\"%s\"} %llu\n", m->name, (unsigned long long)val);
			}
		}
	}
	family(f, "sluice_flow_insert_failed_total", "counter",
	       "Inserts into a flow table pair that failed: reason full (no room: -E2BIG, -ENOMEM) or busy (bucket-lock contention: -EBUSY); the packet still went on.");
	for (j = 0; j < n; j++) {
		for (k = 0; k < v[j].nflows; k++) {
			const struct metrics_flow_table *m = &v[j].flows[k];
			int r;

			if (!m->has_counters)
				continue;
			for (r = 0; r < 2; r++) {
				fputs("sluice_flow_insert_failed_total{chain=\"", f);
				lv(f, v[j].name);
				fprintf(f, "\",table=\"%s\",reason=\"%s\"} %llu\n", m->name,
					r ? "busy" : "full",
					(unsigned long long)(r ? m->insert_busy : m->insert_full));
			}
		}
	}
	family(f, "sluice_lb_fib_packets_total", "counter",
	       "Packets a loadbalancer with fib translated: redirected by its FIB lookup, or left to the stack (no neighbour yet, TTL 1, local, MTU, ...).");
	for (j = 0; j < n; j++) {
		for (k = 0; k < v[j].nflows; k++) {
			const struct metrics_flow_table *m = &v[j].flows[k];
			int r;

			if (!m->has_counters || strcmp(m->name, "lb_flows"))
				continue;
			for (r = 0; r < 2; r++) {
				fputs("sluice_lb_fib_packets_total{chain=\"", f);
				lv(f, v[j].name);
				fprintf(f, "\",result=\"%s\"} %llu\n", r ? "stack" : "redirected",
					(unsigned long long)(r ? m->fib_stack : m->fib_redirected));
			}
		}
	}
	family(f, "sluice_nat_ports_adopted_total", "counter",
	       "NAT flows whose nat_flows entry was lost (LRU, a sweep racing a refresh) that found their own live reverse entry and kept their port.");
	for (j = 0; j < n; j++) {
		for (k = 0; k < v[j].nflows; k++) {
			const struct metrics_flow_table *m = &v[j].flows[k];

			if (!m->has_counters || strcmp(m->name, "nat_flows"))
				continue;
			fputs("sluice_nat_ports_adopted_total{chain=\"", f);
			lv(f, v[j].name);
			fprintf(f, "\"} %llu\n", (unsigned long long)m->adopted);
		}
	}
	family(f, "sluice_gc_runs_total", "counter",
	       "Expiry sweeps of a chain's flow tables by this agent, by result (ok, locked: another writer held the lock, error).");
	for (j = 0; j < n; j++) {
		if (!v[j].cs)
			continue;
		for (i = 0; i < GC__MAX; i++) {
			fputs("sluice_gc_runs_total{chain=\"", f);
			lv(f, v[j].name);
			fprintf(f, "\",result=\"%s\"} %llu\n", gc_res[i],
				(unsigned long long)v[j].cs->gc_runs[i]);
		}
	}
	family(f, "sluice_gc_last_duration_seconds", "gauge", "Time of the last successful expiry sweep of a chain.");
	for (j = 0; j < n; j++) {
		if (!v[j].cs || !v[j].cs->gc_runs[GC_OK])
			continue;
		fputs("sluice_gc_last_duration_seconds{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %.6f\n", v[j].cs->gc_last_duration);
	}
	family(f, "sluice_gc_last_timestamp_seconds", "gauge", "When the last successful expiry sweep of a chain ended, unix time.");
	for (j = 0; j < n; j++) {
		if (!v[j].cs || !v[j].cs->gc_runs[GC_OK])
			continue;
		fputs("sluice_gc_last_timestamp_seconds{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %.3f\n", v[j].cs->gc_last_time);
	}
}

char *metrics_render(size_t *len)
{
	static const char *const gnames[4][2] = {
		{ "sluice_generation_packets_total", "Packets judged by a generation (live and previous)." },
		{ "sluice_generation_passed_packets_total", "Packets a generation passed." },
		{ "sluice_generation_dropped_packets_total", "Packets a generation dropped." },
		{ "sluice_generation_bytes_total", "Bytes judged by a generation." },
	};
	struct snap *v = calloc(MAX_CHAINS + MAX_SOURCES, sizeof(*v));
	char *buf = NULL, why[256];
	size_t n, j;
	FILE *f;
	int i, k, b;
	uint32_t r;

	if (!v)
		return NULL;
	f = open_memstream(&buf, len);
	if (!f) {
		free(v);
		return NULL;
	}
	pthread_mutex_lock(&agent.mu);
	n = snaps_collect(v, MAX_CHAINS + MAX_SOURCES);

	family(f, "sluice_agent_start_time_seconds", "gauge", "When this sluiced started, unix time.");
	fprintf(f, "sluice_agent_start_time_seconds %.3f\n", agent.start_time);
	family(f, "sluice_agent_ready", "gauge", "1 when every spec is valid and its generation is live (/readyz).");
	fprintf(f, "sluice_agent_ready %d\n", ready_of(v, n, why, sizeof(why)) ? 1 : 0);

	family(f, "sluice_spec_valid", "gauge", "1 when the spec file read last is valid; 0: it is not applied and the live generation keeps running.");
	for (i = 0; i < agent.nsrc; i++) {
		if (!agent.src[i].present)
			continue;
		fputs("sluice_spec_valid{file=\"", f);
		lv(f, agent.src[i].path);
		fputs("\",chain=\"", f);
		lv(f, agent.src[i].chain);
		fprintf(f, "\"} %d\n", agent.src[i].valid ? 1 : 0);
	}
	family(f, "sluice_spec_errors", "gauge", "Errors of the last read or apply of a spec file (each logged with its JSON path; listed in /status).");
	for (i = 0; i < agent.nsrc; i++) {
		if (!agent.src[i].present)
			continue;
		fputs("sluice_spec_errors{file=\"", f);
		lv(f, agent.src[i].path);
		fputs("\",chain=\"", f);
		lv(f, agent.src[i].chain);
		fprintf(f, "\"} %zu\n", agent.src[i].nerrs + agent.src[i].more_errs);
	}
	family(f, "sluice_desired_spec_info", "gauge", "The spec a chain should run: its file and sha256.");
	for (j = 0; j < n; j++) {
		if (!v[j].src)
			continue;
		fputs("sluice_desired_spec_info{chain=\"", f);
		lv(f, v[j].name);
		fputs("\",file=\"", f);
		lv(f, v[j].src->path);
		fprintf(f, "\",sha256=\"%s\"} 1\n", v[j].src->desired_sha);
	}
	family(f, "sluice_live_generation_info", "gauge", "The live generation of a chain (read from the kernel) and the sha256 of its spec.");
	for (j = 0; j < n; j++) {
		if (!v[j].open || !v[j].c.live)
			continue;
		fputs("sluice_live_generation_info{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\",generation=\"%u\",sha256=\"%s\"} 1\n", v[j].c.live, v[j].live_sha);
	}
	family(f, "sluice_live_generation", "gauge", "Number of the live generation (0: none).");
	for (j = 0; j < n; j++) {
		fputs("sluice_live_generation{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %u\n", v[j].open ? v[j].c.live : 0);
	}
	family(f, "sluice_previous_generation", "gauge", "Number of the warm rollback target (0: none).");
	for (j = 0; j < n; j++) {
		fputs("sluice_previous_generation{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %u\n", v[j].open ? v[j].c.prev : 0);
	}
	family(f, "sluice_chain_in_sync", "gauge", "1 when the live generation runs the desired spec (same sha256).");
	for (j = 0; j < n; j++) {
		fputs("sluice_chain_in_sync{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %d\n", in_sync(&v[j]) ? 1 : 0);
	}

	family(f, "sluice_applies_total", "counter", "Applies by this agent, by result (committed, unchanged, invalid, failed, locked).");
	for (j = 0; j < n; j++) {
		for (r = RES_COMMITTED; r < RES__MAX; r++) {
			fputs("sluice_applies_total{chain=\"", f);
			lv(f, v[j].name);
			fprintf(f, "\",result=\"%s\"} %llu\n", apply_res_str(r),
				(unsigned long long)(v[j].cs ? v[j].cs->results[r] : 0));
		}
	}
	family(f, "sluice_last_apply_result", "gauge", "The result of the last apply: 1 for it, 0 for the others.");
	for (j = 0; j < n; j++) {
		if (!v[j].cs)
			continue;
		for (r = RES_COMMITTED; r < RES__MAX; r++) {
			fputs("sluice_last_apply_result{chain=\"", f);
			lv(f, v[j].name);
			fprintf(f, "\",result=\"%s\"} %d\n", apply_res_str(r), v[j].cs->last == r);
		}
	}
	family(f, "sluice_last_apply_timestamp_seconds", "gauge", "When the last apply (or rejected read) happened, unix time.");
	for (j = 0; j < n; j++) {
		if (!v[j].cs)
			continue;
		fputs("sluice_last_apply_timestamp_seconds{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %.3f\n", v[j].cs->last_time);
	}
	family(f, "sluice_apply_duration_seconds", "histogram", "Time of one apply: lock, validate, compile, load, commit.");
	for (j = 0; j < n; j++) {
		uint64_t cum = 0;

		if (!v[j].cs)
			continue;
		for (b = 0; b < HIST_BUCKETS; b++) {
			cum += v[j].cs->buckets[b];
			fputs("sluice_apply_duration_seconds_bucket{chain=\"", f);
			lv(f, v[j].name);
			fprintf(f, "\",le=\"%g\"} %llu\n", hist_bounds[b], (unsigned long long)cum);
		}
		fputs("sluice_apply_duration_seconds_bucket{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)v[j].cs->hist_count);
		fputs("sluice_apply_duration_seconds_sum{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %.6f\n", v[j].cs->hist_sum);
		fputs("sluice_apply_duration_seconds_count{chain=\"", f);
		lv(f, v[j].name);
		fprintf(f, "\"} %llu\n", (unsigned long long)v[j].cs->hist_count);
	}

	render_rules(f, v, n, false);
	render_rules(f, v, n, true);
	for (k = 0; k < 2; k++) {
		family(f, k ? "sluice_dropped_bytes_total" : "sluice_dropped_packets_total", "counter",
		       k ? "Bytes dropped by the chain, by drop reason (docs/operations.md#drop-reasons)."
			 : "Packets dropped by the chain, by drop reason (docs/operations.md#drop-reasons).");
		for (j = 0; j < n; j++) {
			if (!v[j].open)
				continue;
			for (r = 1; r < SL_DROP__MAX; r++) {
				fprintf(f, "%s{chain=\"", k ? "sluice_dropped_bytes_total" : "sluice_dropped_packets_total");
				lv(f, v[j].name);
				fprintf(f, "\",reason=\"%s\"} %llu\n", drop_reason_str(r),
					(unsigned long long)v[j].drops[r][k]);
			}
		}
	}
	for (k = 0; k < 4; k++) {
		family(f, gnames[k][0], "counter", gnames[k][1]);
		for (j = 0; j < n; j++) {
			uint32_t gens[2] = { v[j].open ? v[j].c.live : 0, v[j].open ? v[j].c.prev : 0 };
			int g;

			for (g = 0; g < 2; g++) {
				if (!gens[g])
					continue;
				fprintf(f, "%s{chain=\"", gnames[k][0]);
				lv(f, v[j].name);
				fprintf(f, "\",generation=\"%u\"} %llu\n", gens[g],
					(unsigned long long)v[j].gstats[g][k]);
			}
		}
	}
	for (k = 0; k < 3; k++)
		render_maps(f, v, n, k);
	render_flows(f, v, n);
	pthread_mutex_unlock(&agent.mu);
	for (j = 0; j < n; j++)
		snap_free(&v[j]);
	free(v);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *status_render(size_t *len, bool *ready, char *why, size_t whylen)
{
	struct snap *v = calloc(MAX_CHAINS + MAX_SOURCES, sizeof(*v));
	cJSON *o = cJSON_CreateObject(), *arr, *e, *errs, *la;
	size_t n, j, k;
	char *out;
	int i;

	if (!o || !v) {
		cJSON_Delete(o);
		free(v);
		return NULL;
	}
	pthread_mutex_lock(&agent.mu);
	n = snaps_collect(v, MAX_CHAINS + MAX_SOURCES);
	*ready = ready_of(v, n, why, whylen);
	cJSON_AddBoolToObject(o, "ready", *ready);
	cJSON_AddStringToObject(o, "reason", why);
	cJSON_AddBoolToObject(o, "started", agent.started);
	arr = cJSON_AddArrayToObject(o, "specs");
	for (i = 0; i < agent.nsrc; i++) {
		const struct source *s = &agent.src[i];

		if (!s->present)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "file", s->path);
		cJSON_AddStringToObject(e, "chain", s->chain);
		cJSON_AddBoolToObject(e, "valid", s->valid);
		cJSON_AddStringToObject(e, "sha256", s->desired_sha);
		cJSON_AddBoolToObject(e, "pending", s->pending);
		errs = cJSON_AddArrayToObject(e, "errors");
		for (k = 0; k < s->nerrs; k++)
			cJSON_AddItemToArray(errs, cJSON_CreateString(s->errs[k]));
		if (s->more_errs)
			cJSON_AddNumberToObject(e, "more_errors", s->more_errs);
		cJSON_AddItemToArray(arr, e);
	}
	arr = cJSON_AddArrayToObject(o, "chains");
	for (j = 0; j < n; j++) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "chain", v[j].name);
		cJSON_AddNumberToObject(e, "live_generation", v[j].open ? v[j].c.live : 0);
		cJSON_AddNumberToObject(e, "previous_generation", v[j].open ? v[j].c.prev : 0);
		cJSON_AddStringToObject(e, "live_sha256", v[j].live_sha);
		cJSON_AddStringToObject(e, "desired_sha256", v[j].src ? v[j].src->desired_sha : "");
		cJSON_AddBoolToObject(e, "in_sync", in_sync(&v[j]));
		if (v[j].cs) {
			la = cJSON_AddObjectToObject(e, "last_apply");
			cJSON_AddStringToObject(la, "result", apply_res_str(v[j].cs->last));
			cJSON_AddNumberToObject(la, "time", v[j].cs->last_time);
			cJSON_AddNumberToObject(la, "duration_seconds", v[j].cs->last_duration);
			cJSON_AddNumberToObject(la, "generation", v[j].cs->last_gen);
		}
		cJSON_AddItemToArray(arr, e);
	}
	pthread_mutex_unlock(&agent.mu);
	for (j = 0; j < n; j++)
		snap_free(&v[j]);
	free(v);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out) {
		*len = strlen(out);
		/* the HTTP layer frees with free() */
		char *copy = strdup(out);

		cJSON_free(out);
		out = copy;
	}
	return out;
}
