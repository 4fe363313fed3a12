// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Conntrack end to end: client -- router -- server namespaces, one chain
 * (conntrack, then a firewall) attached with native XDP on both router
 * interfaces, so it sees both directions; applied by the real `sluice`.
 * "Allow established and related, allow new TCP to 443, deny the rest",
 * with real TCP (socat echo servers on both ends):
 *  - client -> server:443 and server -> client:443 connect and echo, IPv4
 *    and IPv6 (the replies pass as established);
 *  - the same to port 5001 (listening too) never connects, and leaves no
 *    conntrack entry behind (the commit at the chain's end): checked with
 *    nc each way, with the `created` counter and `sluice conntrack --all`;
 *  - a long-lived connection keeps working through a new generation
 *    (the table is the chain's), and `sluice conntrack` lists it
 *    established; `sluice stats` shows the conntrack counters.
 * Generation 1 is examples/conntrack.json as it is; generation 2 the same
 * chain with one more rule. */
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define SRV4 NETNS_R_SERVER4
#define SRV6 NETNS_R_SERVER6
#define CLI4 NETNS_R_CLIENT4
#define CLI6 NETNS_R_CLIENT6

static void make_spec(char *buf, size_t len, const char *extra)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"gateway\"},\"spec\":{"
		 "\"attach\":[{\"interface\":\"in\",\"hook\":\"xdp\",\"mode\":\"native\"},"
		 "{\"interface\":\"out\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		 "\"functions\":["
		 "{\"name\":\"ct\",\"type\":\"conntrack\",\"tableSize\":4096},"
		 "{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\",\"rules\":["
		 "{\"id\":\"nd\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":135},"
		 "{\"id\":\"na\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":136},"
		 "%s"
		 "{\"id\":\"established\",\"action\":\"allow\",\"state\":[\"established\",\"related\"]},"
		 "{\"id\":\"new-443\",\"action\":\"allow\",\"proto\":\"tcp\",\"dstPorts\":[443],"
		 "\"state\":[\"new\"]}]}]}}\n",
		 extra);
}

static bool tcp_ok(const char *ns, const char *addr, int port, int timeout_ms)
{
	int fd = e2e_tcp_connect(ns, addr, port, timeout_ms), err;

	if (fd < 0)
		return false;
	err = e2e_tcp_echo(fd, 32768, (unsigned)port, 5000);
	close(fd);
	return err == 0;
}

/* Entries of `sluice -j conntrack ARGS` with state `state` (NULL: any). */
static int ct_count(struct e2e_rig *r, const char *args, const char *state)
{
	static char out[1 << 16];
	cJSON *doc, *e;
	int n = 0;

	if (e2e_sluice(r, out, sizeof(out), "-j conntrack %s", args))
		return -1;
	doc = cJSON_Parse(out);
	if (!cJSON_IsArray(doc)) {
		printf("    conntrack -j: %s\n", out);
		cJSON_Delete(doc);
		return -1;
	}
	cJSON_ArrayForEach(e, doc) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "state");

		n += !state || (cJSON_IsString(s) && !strcmp(s->valuestring, state));
	}
	cJSON_Delete(doc);
	return n;
}

static long long ct_counter(const cJSON *st, const char *name)
{
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(st, "functions"), *fn;

	cJSON_ArrayForEach(fn, fns) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(fn, "type");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(fn, "counters");

		if (cJSON_IsString(t) && !strcmp(t->valuestring, "conntrack")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);

			return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
		}
	}
	return -1;
}

void test_ct_e2e(void)
{
	static char spec[8192], out[8192];
	struct e2e_rig r;
	cJSON *st;
	int fd = -1, err, i;
	const char *ns[2];

	err = e2e_rig_routed(&r);
	if (!ASSERT_OK(err, "rig"))
		goto out;
	ns[0] = r.server;
	ns[1] = r.client;
	for (i = 0; i < 2; i++) {
		ASSERT_GT(netns_spawn(ns[i], "socat TCP6-LISTEN:443,ipv6only=0,fork,reuseaddr PIPE"), 0,
			  "echo 443");
		ASSERT_GT(netns_spawn(ns[i], "socat TCP6-LISTEN:5001,ipv6only=0,fork,reuseaddr PIPE"), 0,
			  "echo 5001");
		ASSERT_OK(netns_wait_listen(ns[i], IPPROTO_TCP, 443, 5000), "listen 443");
		ASSERT_OK(netns_wait_listen(ns[i], IPPROTO_TCP, 5001, 5000), "listen 5001");
	}
	/* generation 1: examples/conntrack.json, unmodified */
	if (!ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "apply -f %s",
				  test__src_path("examples/conntrack.json")), 0,
		       "apply examples/conntrack.json")) {
		printf("%s\n", out);
		goto out;
	}

	if (test__start_subtest("client_to_server")) {
		ASSERT_TRUE(tcp_ok(r.client, SRV4, 443, 3000), "v4 to 443");
		ASSERT_TRUE(tcp_ok(r.client, SRV6, 443, 3000), "v6 to 443");
		ASSERT_FALSE(tcp_ok(r.client, SRV4, 5001, 1000), "v4 to 5001 denied");
		ASSERT_FALSE(tcp_ok(r.client, SRV6, 5001, 1000), "v6 to 5001 denied");
	}
	if (test__start_subtest("server_to_client")) {
		ASSERT_TRUE(tcp_ok(r.server, CLI4, 443, 3000), "v4 to 443");
		ASSERT_TRUE(tcp_ok(r.server, CLI6, 443, 3000), "v6 to 443");
		ASSERT_FALSE(tcp_ok(r.server, CLI4, 5001, 1000), "v4 to 5001 denied");
		ASSERT_FALSE(tcp_ok(r.server, CLI6, 5001, 1000), "v6 to 5001 denied");
	}
	if (test__start_subtest("denied_leaves_no_entry")) {
		/* Real TCP with nc, each way and each family: a connect the
		 * firewall denies leaves no entry (dead ones included), one
		 * it allows makes exactly one and echoes. */
		const char *from[4] = { r.client, r.client, r.server, r.server };
		const char *to[4] = { SRV4, SRV6, CLI4, CLI6 };
		long long created0 = -1, created1 = -1;
		char cmd_out[256], what[96], args[64];

		ASSERT_TRUE(netns_have_tool("nc"), "nc (netcat-openbsd) installed");
		st = e2e_stats(&r);
		created0 = st ? ct_counter(st, "created") : -1;
		cJSON_Delete(st);
		for (i = 0; i < 4; i++) {
			snprintf(what, sizeof(what), "denied connect to [%s]:5001", to[i]);
			ASSERT_NEQ(netns_run(from[i], "nc -z -w 1 -p %d %s 5001", 41000 + i, to[i]),
				   0, what);
			snprintf(args, sizeof(args), "--all port %d", 41000 + i);
			ASSERT_EQ(ct_count(&r, args, NULL), 0, what);
		}
		ASSERT_EQ(ct_count(&r, "--all port 5001", NULL), 0,
			  "no entry for any denied connect (earlier subtests' too)");
		st = e2e_stats(&r);
		created1 = st ? ct_counter(st, "created") : -2;
		cJSON_Delete(st);
		ASSERT_EQ(created1, created0, "denied connects created nothing");
		for (i = 0; i < 4; i++) {
			snprintf(what, sizeof(what), "allowed connect to [%s]:443", to[i]);
			cmd_out[0] = '\0';
			ASSERT_EQ(netns_run_out(from[i], cmd_out, sizeof(cmd_out),
						"printf ct-commit-%d | nc -N -w 3 -p %d %s 443", i,
						42000 + i, to[i]),
				  0, what);
			snprintf(args, sizeof(args), "ct-commit-%d", i);
			ASSERT_STREQ(cmd_out, args, what);
			snprintf(args, sizeof(args), "--all port %d", 42000 + i);
			ASSERT_EQ(ct_count(&r, args, NULL), 1, what);
		}
		st = e2e_stats(&r);
		ASSERT_EQ(st ? ct_counter(st, "created") : -3, created1 + 4,
			  "one entry per allowed connect");
		cJSON_Delete(st);
	}
	if (test__start_subtest("across_generations")) {
		fd = e2e_tcp_connect(r.client, SRV4, 443, 3000);
		if (ASSERT_GE(fd, 0, "long-lived connect")) {
			ASSERT_OK(e2e_tcp_echo(fd, 4096, 1, 3000), "echo before");
			ASSERT_GE(ct_count(&r, "proto tcp dst " SRV4 " port 443", "established"), 1,
				  "listed established");
			ASSERT_EQ(ct_count(&r, "proto udp", "established"), 0, "no udp flows");
			make_spec(spec, sizeof(spec),
				  "{\"id\":\"deny-7\",\"action\":\"deny\",\"proto\":\"udp\",\"dstPorts\":[7]},");
			ASSERT_EQ(e2e_apply(&r, "ct2.json", spec), 0, "apply generation 2");
			ASSERT_EQ(e2e_live_gen(&r), 2, "generation 2 live");
			ASSERT_OK(e2e_tcp_echo(fd, 65536, 2, 3000), "echo after");
			close(fd);
			fd = -1;
		}
	}
	if (test__start_subtest("stats_and_gc")) {
		st = e2e_stats(&r);
		if (ASSERT_OK_PTR(st, "stats")) {
			ASSERT_GT(ct_counter(st, "new"), 0, "new");
			ASSERT_GT(ct_counter(st, "established"), 0, "established");
			ASSERT_GT(ct_counter(st, "created"), 0, "created");
			ASSERT_EQ(ct_counter(st, "insert_failed_full"), 0, "full");
			ASSERT_EQ(ct_counter(st, "insert_failed_busy"), 0, "busy");
			cJSON_Delete(st);
		}
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j conntrack gc"), 0, "gc");
		ASSERT_STRCONTAINS(out, "\"removed\"", "gc output");
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "conntrack state bogus"), 2, "bad state");
		/* sluice trace names the state the conntrack stage gave */
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j trace tcp " CLI4 ":40123 " SRV4 ":443"),
			  0, "trace a SYN to 443");
		ASSERT_STRCONTAINS(out, "\"rule\":\"new\"", "trace: conntrack state new");
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "-j trace tcp " CLI4 ":40124 " SRV4
				     ":443 flags A"), 0, "trace an ACK out of nowhere");
		ASSERT_STRCONTAINS(out, "\"rule\":\"invalid\"", "trace: conntrack state invalid");
		ASSERT_STRCONTAINS(out, "firewall_default_deny", "trace: the firewall drops it");
		ASSERT_EQ(e2e_sluice(&r, out, sizeof(out), "conntrack"), 0, "human list");
		ASSERT_STRCONTAINS(out, "PROTO", "header");
	}
out:
	if (fd >= 0)
		close(fd);
	netns_cleanup_all();
}
