// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluiced's metrics read by the real consumers: a Prometheus server
 * scrapes the agent (1 s interval) and PromQL queries return what real
 * traffic through the chain counted (5 pings on rule ping4, the SYNs that
 * deny-9090 dropped, equal to `sluice -j stats`); `promtool check metrics`
 * finds no problem in the exposition (format and lint: counters end in
 * _total, units in names, HELP and TYPE on every family). Also every
 * family docs/metrics.md lists is exposed, and the map usage is there.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "sluiced_util.h"

#define CHAIN "sdprom"
#define PORT 19966
#define PROM_PORT 19090

/* Run a PromQL query; the first result's value, or -1. */
static double promql(struct e2e_rig *r, const char *q, char *out, size_t len)
{
	cJSON *j, *res, *val;
	double v = -1;

	if (netns_run_out(r->router, out, len,
			  "curl -s -m 5 -G --data-urlencode 'query=%s' "
			  "http://127.0.0.1:%d/api/v1/query", q, PROM_PORT))
		return -1;
	j = cJSON_Parse(out);
	res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
	val = cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "value");
	if (cJSON_GetArraySize(val) == 2 && cJSON_IsString(cJSON_GetArrayItem(val, 1)))
		v = strtod(cJSON_GetArrayItem(val, 1)->valuestring, NULL);
	cJSON_Delete(j);
	return v;
}

static double promql_wait(struct e2e_rig *r, const char *q, double want, int timeout_ms)
{
	char out[65536];
	uint64_t end = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;
	double v;

	do {
		v = promql(r, q, out, sizeof(out));
		if (v == want)
			return v;
		e2e_sleep_ms(250);
	} while (e2e_now_ns() < end);
	printf("    promql %s: %g, want %g (%.300s)\n", q, v, want, out);
	return v;
}

void test_sluiced_prom(void)
{
	static const char *const families[] = {
		"sluice_agent_ready", "sluice_spec_valid", "sluice_spec_errors",
		"sluice_desired_spec_info", "sluice_live_generation_info",
		"sluice_live_generation", "sluice_previous_generation", "sluice_chain_in_sync",
		"sluice_applies_total", "sluice_last_apply_result",
		"sluice_last_apply_timestamp_seconds", "sluice_apply_duration_seconds",
		"sluice_rule_packets_total", "sluice_rule_bytes_total",
		"sluice_dropped_packets_total", "sluice_dropped_bytes_total",
		"sluice_generation_packets_total", "sluice_generation_passed_packets_total",
		"sluice_generation_dropped_packets_total", "sluice_generation_bytes_total",
		"sluice_map_entries", "sluice_map_max_entries", "sluice_map_memory_bytes",
		"sluice_agent_start_time_seconds", NULL,
	};
	struct e2e_rig r = {};
	struct sd_agent a = {};
	char spec[8192], specs[PATH_MAX + 16], path[PATH_MAX + 64], cfg[PATH_MAX + 64];
	char *out = malloc(1 << 20), q[512], fam[128];
	long long deny_cli;
	double deny_agent, v;
	pid_t prom = -1;
	int sent = 0, rcvd = 0, i, fd;
	cJSON *st;

	if (!out)
		return;
	if (!netns_have_tool("prometheus") || !netns_have_tool("promtool") ||
	    !netns_have_tool("curl")) {
		test__skip("prometheus, promtool or curl missing (tools/install-deps.sh installs them)");
		goto out;
	}
	if (!ASSERT_OK(e2e_rig_routed(&r), "rig"))
		goto out;
	snprintf(specs, sizeof(specs), "%s/specs", r.tmp);
	mkdir(specs, 0700);
	sd_spec(spec, sizeof(spec), CHAIN, "");
	snprintf(path, sizeof(path), "%s/edge.json", specs);
	e2e_write_file(path, spec);
	if (!ASSERT_OK(sd_start(&r, &a, PORT, "agent.log", NULL, "", specs), "start agent"))
		goto out;
	if (!ASSERT_OK(sd_wait_ready(&r, PORT, 10000), "agent ready"))
		goto out;

	/* Real traffic through the chain: 5 pings (rule ping4), SYNs to 9090
	 * (rule deny-9090, a listener there so that only the chain stops them). */
	fd = e2e_socket(r.server, AF_INET, SOCK_STREAM);
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9090) };

		ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8), "listen 9090");
	}
	ASSERT_OK(e2e_ping(r.client, NETNS_R_SERVER4, 5, 50, 1000, &sent, &rcvd), "ping");
	ASSERT_EQ(rcvd, 5, "5 pings answered");
	ASSERT_EQ(e2e_tcp_connect(r.client, NETNS_R_SERVER4, 9090, 1500), -ETIMEDOUT,
		  "9090 dropped");
	close(fd);
	e2e_sleep_ms(200);
	st = e2e_stats(&r);
	deny_cli = e2e_rule_packets(st, "fw", "deny-9090");
	cJSON_Delete(st);
	ASSERT_GE(deny_cli, 1, "CLI: deny-9090 counted");

	/* The exposition, and promtool on it. */
	ASSERT_EQ(sd_http(&r, PORT, "/metrics", out, 1 << 20), 200, "GET /metrics");
	ASSERT_EQ(sd_metric(out, "sluice_rule_packets_total{chain=\"" CHAIN "\",function=\"fw\","
				 "type=\"firewall\",rule=\"ping4\"}"), 5, "exposition: ping4 = 5");
	deny_agent = sd_metric(out, "sluice_rule_packets_total{chain=\"" CHAIN "\",function=\"fw\","
				    "type=\"firewall\",rule=\"deny-9090\"}");
	ASSERT_EQ(deny_agent, deny_cli, "exposition: deny-9090 = sluice stats");
	ASSERT_EQ(sd_metric(out, "sluice_dropped_packets_total{chain=\"" CHAIN "\",reason=\"firewall_deny\"}"),
		  deny_cli, "exposition: drops by reason");
	ASSERT_GT(sd_metric(out, "sluice_map_max_entries{chain=\"" CHAIN "\",owner=\"chain\",map=\"fw_counters\",type=\"array\"}"),
		  300000, "exposition: fw_counters capacity");
	ASSERT_EQ(sd_metric(out, "sluice_map_entries{chain=\"" CHAIN "\",owner=\"chain\",map=\"fw_counters\",type=\"array\"}"),
		  6, "exposition: fw_counters slots in use (5 rules + default)");
	ASSERT_EQ(sd_metric(out, "sluice_map_entries{chain=\"" CHAIN "\",owner=\"generation\",map=\"sl_chain\",type=\"prog_array\"}"),
		  1, "exposition: one stage in sl_chain");
	for (i = 0; families[i]; i++) {
		snprintf(fam, sizeof(fam), "# TYPE %s ", families[i]);
		ASSERT_STRCONTAINS(out, fam, families[i]);
	}
	snprintf(path, sizeof(path), "%s/metrics.txt", r.tmp);
	e2e_write_file(path, out);
	ASSERT_EQ(netns_run_out(NULL, out, 65536, "promtool check metrics < %s 2>&1", path), 0,
		  "promtool check metrics: exit 0");
	ASSERT_STREQ(out, "", "promtool: no lint problem");

	/* A real Prometheus scrapes it. */
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", r.tmp);
	snprintf(out, 65536,
		 "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		 "scrape_configs:\n  - job_name: sluiced\n    static_configs:\n"
		 "      - targets: ['127.0.0.1:%d']\n", PORT);
	e2e_write_file(cfg, out);
	prom = netns_spawn(r.router,
			   "prometheus --config.file=%s --storage.tsdb.path=%s/tsdb "
			   "--web.listen-address=127.0.0.1:%d --log.level=warn 2>%s/prometheus.log",
			   cfg, r.tmp, PROM_PORT, r.tmp);
	if (!ASSERT_GT(prom, 0, "start prometheus"))
		goto out;
	for (i = 0; i < 200; i++) {
		if (!netns_run(r.router, "curl -sf -m 2 http://127.0.0.1:%d/-/ready >/dev/null",
			       PROM_PORT))
			break;
		e2e_sleep_ms(100);
	}
	ASSERT_LT(i, 200, "prometheus ready");
	ASSERT_EQ(promql_wait(&r, "up{job=\"sluiced\"}", 1, 20000), 1, "PromQL: target up");
	ASSERT_EQ(promql_wait(&r, "sluice_rule_packets_total{chain=\"" CHAIN "\",rule=\"ping4\"}", 5, 10000),
		  5, "PromQL: ping4 counted 5 packets");
	snprintf(q, sizeof(q), "sum(sluice_dropped_packets_total{chain=\"%s\",reason=\"firewall_deny\"})",
		 CHAIN);
	ASSERT_EQ(promql_wait(&r, q, deny_cli, 10000), deny_cli, "PromQL: firewall_deny drops");
	v = promql_wait(&r, "sluice_live_generation_info{chain=\"" CHAIN "\",generation=\"1\"}", 1, 5000);
	ASSERT_EQ(v, 1, "PromQL: live generation info");
	v = promql_wait(&r, "sluice_apply_duration_seconds_count{chain=\"" CHAIN "\"}", 1, 5000);
	ASSERT_EQ(v, 1, "PromQL: one apply observed");
	v = promql_wait(&r, "max(sluice_map_entries / sluice_map_max_entries)", 1, 5000);
	ASSERT_EQ(v, 1, "PromQL: map pressure computable");
	printf("    prometheus: ping4 5, deny-9090 %lld, firewall_deny %g\n", deny_cli, deny_agent);
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "agent exit 0");
out:
	if (prom > 0)
		netns_kill(prom);
	free(out);
	netns_cleanup_all();
}
