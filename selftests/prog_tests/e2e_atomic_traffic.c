// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Atomic commits under real traffic: client -- router -- server with the
 * chain on the router's "in" (native XDP), specs A and B committed
 * alternately >= 1000 times while real traffic runs:
 *  - flows both specs allow: ping floods (the real ping, v4 and v6), a UDP
 *    stream with sequence numbers (v4 and v6) and a paced TCP stream (v6);
 *    none may lose anything: every ping answered, every datagram received
 *    once, every TCP byte received intact;
 *  - UDP to 7001, which A denies and B allows, and to 7002, the reverse.
 *    Every datagram carries its send time and the receiver notes when it
 *    arrived; the commit loop notes when each commit started and ended.
 *    A datagram sent after a commit of the denying spec returned and
 *    received before the next commit started was judged by the denying
 *    generation alone: it must never be delivered. And every datagram of
 *    these flows is either delivered or counted by the denying rule, never
 *    both, never neither (rule counter == sent - delivered).
 *
 * The specs differ only in the rules for 7001 and 7002. The first two
 * generations are applied with the real `sluice` binary; the 1000 commits
 * that follow go through libsluice in this process (the code behind
 * `sluice apply` and `sluice rollback`): one `sluice` process costs
 * ~50 ms here (~110 ms for an apply), which would put 1000 commits past a
 * minute on 2 cores. Every 10th commit is a full apply (a new generation,
 * compiled and loaded), the others are O(1) warm rollbacks to the other
 * spec. Afterwards `sluice -j stats` must show no generation_mismatch,
 * missing_stage or no_generation drop.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "chain.h"
#include "spec.h"

#define COMMITS 1000
#define APPLY_EVERY 10	       /* every 10th commit a full apply */
#define DWELL_US 3000	       /* each generation stays live at least this long */
#define SEND_PERIOD_US 500     /* one datagram per flow per period */
#define MAX_SEQ 300000
#define TCP_CHUNK 16384
#define TCP_PERIOD_US 4000     /* ~4 MB/s */
#define PING_BATCH 500
#define UDP_STREAM 6001
#define TCP_STREAM 5003
#define CHAIN "e2eatomic"

static const int flow_port[2] = { 7001, 7002 };	/* denied by A, by B */

/* spec 0 (A) denies 7001 and allows 7002; spec 1 (B) the reverse. */
static void make_spec(char *buf, size_t len, int b)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"" CHAIN "\"},\"spec\":{"
		 "\"attach\":[{\"interface\":\"in\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		 "\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		 "\"rules\":["
		 "{\"id\":\"nd-ns\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":135},"
		 "{\"id\":\"nd-na\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":136},"
		 "{\"id\":\"nd-rs\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":133},"
		 "{\"id\":\"mld2-report\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":143},"
		 "{\"id\":\"ping4\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":8,"
		 "\"dst\":[\"" NETNS_R_SERVER4 "\"]},"
		 "{\"id\":\"ping6\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":128,"
		 "\"dst\":[\"" NETNS_R_SERVER6 "\"]},"
		 "{\"id\":\"udp-stream\",\"action\":\"allow\",\"proto\":\"udp\","
		 "\"dst\":[\"" NETNS_R_SERVER4 "\",\"" NETNS_R_SERVER6 "\"],\"dstPorts\":[%d]},"
		 "{\"id\":\"tcp-stream\",\"action\":\"allow\",\"proto\":\"tcp\","
		 "\"src\":[\"10.250.1.0/24\",\"fd00:250:1::/64\"],"
		 "\"dst\":[\"" NETNS_R_SERVER4 "\",\"" NETNS_R_SERVER6 "\"],\"dstPorts\":[%d]},"
		 "{\"id\":\"%s-%d\",\"action\":\"%s\",\"proto\":\"udp\",\"dstPorts\":[%d]},"
		 "{\"id\":\"%s-%d\",\"action\":\"%s\",\"proto\":\"udp\",\"dstPorts\":[%d]}"
		 "]}]}}\n",
		 UDP_STREAM, TCP_STREAM,
		 b ? "allow" : "deny", flow_port[0], b ? "allow" : "deny", flow_port[0],
		 b ? "deny" : "allow", flow_port[1], b ? "deny" : "allow", flow_port[1]);
}

struct msg {
	uint32_t flow; /* 0, 1: flow_port[]; 2: the stream */
	uint32_t seq;
	uint64_t t_send;
};

struct rec {
	uint64_t t_send, t_recv; /* t_recv 0: not received */
};

struct commit {
	uint64_t t0, t1; /* CLOCK_MONOTONIC before and after the call */
	int spec;	 /* the spec live after it */
};

struct atr {
	struct e2e_rig r;
	atomic_bool stop_send, stop_recv;
	/* UDP: [0..1] the A/B flows, [2] the stream; v4 and v6 senders. */
	int tx[3][2], rx[3];
	long sent[3], send_err;
	struct rec *rec[3];
	long rcvd[3], dups, bogus;
	_Atomic uint64_t last_rx_ns;
	/* TCP */
	int tcp_cli, tcp_srv;
	uint64_t tcp_sent, tcp_rcvd;
	bool tcp_bad, tcp_done;
	/* ping */
	long ping_sent, ping_rcvd, ping_batches, ping_err;
	/* commits */
	struct commit *commits;
	int ncommits;
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 9);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void *udp_sender(void *arg)
{
	struct atr *a = arg;
	uint32_t seq[3] = {};
	int f;

	while (!atomic_load(&a->stop_send)) {
		for (f = 0; f < 3; f++) {
			struct msg m = { .flow = f, .seq = seq[f] };

			if (seq[f] >= MAX_SEQ)
				continue;
			m.t_send = e2e_now_ns();
			a->rec[f][m.seq].t_send = m.t_send;
			if (send(a->tx[f][m.seq % 2], &m, sizeof(m), 0) != sizeof(m))
				a->send_err++;
			seq[f]++;
		}
		sleep_us(SEND_PERIOD_US);
	}
	for (f = 0; f < 3; f++)
		a->sent[f] = seq[f];
	return NULL;
}

static void *udp_receiver(void *arg)
{
	struct atr *a = arg;
	struct pollfd pfd[3];
	struct msg m;
	int f;

	for (f = 0; f < 3; f++)
		pfd[f] = (struct pollfd){ .fd = a->rx[f], .events = POLLIN };
	while (!atomic_load(&a->stop_recv)) {
		if (poll(pfd, 3, 50) <= 0)
			continue;
		for (f = 0; f < 3; f++) {
			if (!(pfd[f].revents & POLLIN))
				continue;
			while (recv(a->rx[f], &m, sizeof(m), MSG_DONTWAIT) == sizeof(m)) {
				uint64_t now = e2e_now_ns();

				atomic_store(&a->last_rx_ns, now);
				if (m.flow != (uint32_t)f || m.seq >= MAX_SEQ ||
				    a->rec[f][m.seq].t_send != m.t_send) {
					a->bogus++;
					continue;
				}
				if (a->rec[f][m.seq].t_recv) {
					a->dups++;
					continue;
				}
				a->rec[f][m.seq].t_recv = now;
				a->rcvd[f]++;
			}
		}
	}
	return NULL;
}

static void *tcp_sender(void *arg)
{
	struct atr *a = arg;
	uint8_t buf[TCP_CHUNK];
	size_t i;

	while (!atomic_load(&a->stop_send)) {
		ssize_t n;

		for (i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(a->tcp_sent + i);
		n = send(a->tcp_cli, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n <= 0) {
			a->tcp_bad = true;
			break;
		}
		a->tcp_sent += n;
		/* The pattern continues from what was really sent. */
		sleep_us(TCP_PERIOD_US);
	}
	shutdown(a->tcp_cli, SHUT_WR);
	return NULL;
}

static void *tcp_receiver(void *arg)
{
	struct atr *a = arg;
	struct pollfd pfd = { .fd = a->tcp_srv, .events = POLLIN };
	uint8_t buf[65536];
	ssize_t n, i;

	for (;;) {
		/* Nothing for 20 s: the stream is stuck; give up. */
		if (poll(&pfd, 1, 20000) <= 0) {
			a->tcp_bad = true;
			break;
		}
		n = recv(a->tcp_srv, buf, sizeof(buf), 0);
		if (n == 0) {
			a->tcp_done = true;
			break;
		}
		if (n < 0) {
			a->tcp_bad = true;
			break;
		}
		for (i = 0; i < n; i++)
			if (buf[i] != pattern(a->tcp_rcvd + i))
				a->tcp_bad = true;
		a->tcp_rcvd += n;
	}
	return NULL;
}

static void *pinger(void *arg)
{
	struct atr *a = arg;
	int sent, rcvd, k = 0;

	while (!atomic_load(&a->stop_send)) {
		const char *dst = k++ % 2 ? NETNS_R_SERVER6 : NETNS_R_SERVER4;

		if (e2e_ping(a->r.client, dst, PING_BATCH, 2, 1000, &sent, &rcvd)) {
			a->ping_err++;
			continue;
		}
		a->ping_sent += sent;
		a->ping_rcvd += rcvd;
		a->ping_batches++;
	}
	return NULL;
}

static int setup(struct atr *a)
{
	static const char *const dst[2] = { NETNS_R_SERVER4, NETNS_R_SERVER6 };
	const int ports[3] = { flow_port[0], flow_port[1], UDP_STREAM };
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(TCP_STREAM),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int f, fam, lfd, err, off = 0;

	err = e2e_rig_routed(&a->r);
	if (err)
		return err;
	for (f = 0; f < 3; f++) {
		a->rec[f] = calloc(MAX_SEQ, sizeof(struct rec));
		if (!a->rec[f])
			return -ENOMEM;
		a->rx[f] = e2e_udp_bind(a->r.server, ports[f]);
		if (a->rx[f] < 0)
			return a->rx[f];
		for (fam = 0; fam < 2; fam++) {
			a->tx[f][fam] = e2e_udp_connect(a->r.client, dst[fam], ports[f]);
			if (a->tx[f][fam] < 0)
				return a->tx[f][fam];
		}
	}
	lfd = e2e_socket(a->r.server, AF_INET6, SOCK_STREAM);
	if (lfd < 0)
		return lfd;
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		err = -errno;
		close(lfd);
		return err;
	}
	/* Before any chain: the connection itself is not what is tested. */
	a->tcp_cli = e2e_tcp_connect(a->r.client, NETNS_R_SERVER6, TCP_STREAM, 5000);
	a->tcp_srv = a->tcp_cli >= 0 ? accept(lfd, NULL, NULL) : -1;
	close(lfd);
	if (a->tcp_cli < 0 || a->tcp_srv < 0)
		return -EIO;
	return 0;
}

/* Which spec was the only one committed from t to the next commit's
 * start: -1 when t is inside a commit. *end gets the next commit's start. */
static int window_of(const struct atr *a, uint64_t t, uint64_t *end)
{
	int lo = 0, hi = a->ncommits; /* first commit with t1 > t */

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (a->commits[mid].t1 <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	*end = lo < a->ncommits ? a->commits[lo].t0 : UINT64_MAX;
	if (lo < a->ncommits && a->commits[lo].t0 <= t)
		return -1;
	/* Before the first in-process commit, B (the second CLI apply). */
	return lo == 0 ? 1 : a->commits[lo - 1].spec;
}

void test_e2e_atomic_traffic(void)
{
	struct atr a = { .tcp_cli = -1, .tcp_srv = -1 };
	struct chain_opts co = { .lock_wait_ms = 5000 };
	pthread_t th_us, th_ur, th_ts, th_tr, th_p;
	bool t_us = false, t_ur = false, t_ts = false, t_tr = false, t_p = false;
	bool chain_ok = false;
	struct spec *specs[2] = {};
	char text[2][4096], name[32];
	struct chain c;
	int i, f, oldns = -1, err, live;
	long applies = 0, rollbacks = 0;
	uint64_t t_start, t_end, deadline;
	cJSON *st = NULL, *st2 = NULL;

	memset(a.tx, -1, sizeof(a.tx));
	memset(a.rx, -1, sizeof(a.rx));
	if (!ASSERT_OK(setup(&a), "rig"))
		goto cleanup;
	a.commits = calloc(COMMITS, sizeof(*a.commits));
	if (!ASSERT_OK_PTR(a.commits, "commits"))
		goto cleanup;
	for (i = 0; i < 2; i++) {
		struct sl_errs errs = {};

		make_spec(text[i], sizeof(text[i]), i);
		err = spec_parse(text[i], strlen(text[i]), &specs[i], &errs);
		if (err)
			errs_print(&errs, stdout);
		errs_free(&errs);
		if (!ASSERT_OK(err, "spec"))
			goto cleanup;
	}
	/* The real binary: A is generation 1, B generation 2 (live). */
	if (!ASSERT_EQ(e2e_apply(&a.r, "a.json", text[0]), 0, "sluice apply A") ||
	    !ASSERT_EQ(e2e_apply(&a.r, "b.json", text[1]), 0, "sluice apply B") ||
	    !ASSERT_EQ(e2e_live_gen(&a.r), 2, "B live"))
		goto cleanup;

	t_ur = !pthread_create(&th_ur, NULL, udp_receiver, &a);
	t_tr = t_ur && !pthread_create(&th_tr, NULL, tcp_receiver, &a);
	t_us = t_tr && !pthread_create(&th_us, NULL, udp_sender, &a);
	t_ts = t_us && !pthread_create(&th_ts, NULL, tcp_sender, &a);
	t_p = t_ts && !pthread_create(&th_p, NULL, pinger, &a);
	if (!ASSERT_TRUE(t_p, "traffic threads"))
		goto stop;
	/* Traffic flows before the first commit. */
	deadline = e2e_now_ns() + 5000000000ull;
	while ((!a.rcvd[2] || !a.tcp_rcvd) && e2e_now_ns() < deadline)
		e2e_sleep_ms(10);
	if (!ASSERT_GT(a.rcvd[2], 0, "udp stream flows") || !ASSERT_GT(a.tcp_rcvd, 0, "tcp stream flows"))
		goto stop;

	oldns = netns_enter(a.r.router);
	if (!ASSERT_GE(oldns, 0, "enter router"))
		goto stop;
	co.pin_root = a.r.pin;
	co.state_dir = a.r.state;
	err = chain_open(&c, &co, CHAIN, CHAIN_LOCK);
	if (!ASSERT_OK(err, "chain_open"))
		goto stop;
	chain_ok = true;
	live = 1;
	t_start = e2e_now_ns();
	for (i = 0; i < COMMITS; i++) {
		struct apply_result res;
		struct sl_errs errs = {};
		int want = !live;

		a.commits[i].t0 = e2e_now_ns();
		if ((i + 1) % APPLY_EVERY == 0) {
			struct apply_opts ao = {};

			err = gen_apply(&c, specs[want], &ao, &res, &errs);
			applies++;
		} else {
			err = gen_rollback(&c, 0, &res, &errs);
			rollbacks++;
		}
		a.commits[i].t1 = e2e_now_ns();
		a.commits[i].spec = want;
		if (err)
			errs_print(&errs, stdout);
		errs_free(&errs);
		if (!ASSERT_OK(err, "commit") || !ASSERT_FALSE(res.unchanged, "commit changed"))
			break;
		live = want;
		a.ncommits++;
		/* Not a synchronisation: each generation stays live for a
		 * while so that datagrams fall wholly inside its window. */
		sleep_us(DWELL_US);
	}
	t_end = e2e_now_ns();
	chain_close(&c);
	chain_ok = false;
	netns_restore(oldns);
	oldns = -1;
stop:
	atomic_store(&a.stop_send, true);
	if (t_us)
		pthread_join(th_us, NULL);
	if (t_ts)
		pthread_join(th_ts, NULL);
	if (t_p)
		pthread_join(th_p, NULL);
	if (t_tr)
		pthread_join(th_tr, NULL);
	/* The datagrams in flight: wait for 500 ms without any (at most 5 s). */
	deadline = e2e_now_ns() + 5000000000ull;
	while (e2e_now_ns() < deadline && e2e_now_ns() - atomic_load(&a.last_rx_ns) < 500000000ull)
		e2e_sleep_ms(20);
	atomic_store(&a.stop_recv, true);
	if (t_ur)
		pthread_join(th_ur, NULL);
	if (!t_p || a.ncommits == 0)
		goto cleanup;

	{
		long in_deny[2] = {}, delivered_in_deny[2] = {}, undelivered_in_allow[2] = {};
		long long counted[2], lost_stream;
		int final_gen;
		uint64_t end;
		long s;

		for (f = 0; f < 2; f++) {
			for (s = 0; s < a.sent[f]; s++) {
				const struct rec *rc = &a.rec[f][s];
				int w = window_of(&a, rc->t_send, &end);

				if (w < 0)
					continue;
				if (w == f) { /* spec f denies flow f */
					in_deny[f]++;
					if (rc->t_recv && rc->t_recv < end)
						delivered_in_deny[f]++;
				} else if (!rc->t_recv) {
					undelivered_in_allow[f]++;
				}
			}
		}
		/* `sluice stats` shows the live spec's rules: read the deny
		 * rule of the live spec, roll back (the real binary, O(1)) and
		 * read the other one. No traffic runs any more. */
		counted[0] = counted[1] = -1;
		st = e2e_stats(&a.r);
		for (f = 0; f < 2; f++) {
			snprintf(name, sizeof(name), "deny-%d", flow_port[f]);
			if (counted[f] < 0)
				counted[f] = e2e_rule_packets(st, "fw", name);
		}
		final_gen = e2e_live_gen(&a.r);
		ASSERT_EQ(e2e_sluice(&a.r, NULL, 0, "rollback"), 0, "sluice rollback");
		st2 = e2e_stats(&a.r);
		for (f = 0; f < 2; f++) {
			snprintf(name, sizeof(name), "deny-%d", flow_port[f]);
			if (counted[f] < 0)
				counted[f] = e2e_rule_packets(st2, "fw", name);
		}
		lost_stream = a.sent[2] - a.rcvd[2];
		printf("    %d commits (%ld applies, %ld rollbacks) in %.1f s, final generation %d\n",
		       a.ncommits, applies, rollbacks, (t_end - t_start) / 1e9, final_gen);
		printf("    ping: %ld batches, %ld sent, %ld received, %ld lost\n", a.ping_batches,
		       a.ping_sent, a.ping_rcvd, a.ping_sent - a.ping_rcvd);
		printf("    udp %d (both allow): %ld sent, %ld received, %lld lost, %ld dups\n",
		       UDP_STREAM, a.sent[2], a.rcvd[2], lost_stream, a.dups);
		printf("    tcp %d (both allow): %llu bytes sent, %llu received\n", TCP_STREAM,
		       (unsigned long long)a.tcp_sent, (unsigned long long)a.tcp_rcvd);
		for (f = 0; f < 2; f++)
			printf("    udp %d (%s denies): %ld sent, %ld delivered, %lld counted by deny-%d; "
			       "%ld sent inside %s-only windows, %ld of them delivered inside; "
			       "%ld sent inside allowing windows not delivered\n",
			       flow_port[f], f ? "B" : "A", a.sent[f], a.rcvd[f], counted[f],
			       flow_port[f], in_deny[f], f ? "B" : "A", delivered_in_deny[f],
			       undelivered_in_allow[f]);

		ASSERT_EQ(a.ncommits, COMMITS, "commits");
		ASSERT_EQ(a.send_err, 0, "udp send errors");
		ASSERT_EQ(a.ping_err, 0, "ping runs without a summary");
		ASSERT_GE(a.ping_sent, PING_BATCH, "pings sent");
		ASSERT_EQ(a.ping_sent - a.ping_rcvd, 0, "pings lost");
		ASSERT_GT(a.sent[2], COMMITS, "stream datagrams sent");
		ASSERT_EQ(lost_stream, 0, "stream datagrams lost");
		ASSERT_EQ(a.dups, 0, "datagrams received twice");
		ASSERT_EQ(a.bogus, 0, "datagrams not sent by us");
		ASSERT_FALSE(a.tcp_bad, "tcp stream intact (no error, pattern holds)");
		ASSERT_TRUE(a.tcp_done, "tcp stream ended cleanly");
		ASSERT_EQ(a.tcp_rcvd, a.tcp_sent, "tcp bytes received == bytes sent");
		for (f = 0; f < 2; f++) {
			ASSERT_GT(in_deny[f], 100, "datagrams sent inside denying windows");
			ASSERT_EQ(delivered_in_deny[f], 0, "delivered while only the denying generation was committed");
			ASSERT_GT(a.rcvd[f], 100, "delivered while the allowing generation was live");
			ASSERT_EQ(counted[f], a.sent[f] - a.rcvd[f],
				  "every datagram delivered or counted by the deny rule");
		}
		ASSERT_EQ(e2e_drop_packets(st, "generation_mismatch"), 0, "no generation_mismatch drop");
		ASSERT_EQ(e2e_drop_packets(st, "missing_stage"), 0, "no missing_stage drop");
		ASSERT_EQ(e2e_drop_packets(st, "no_generation"), 0, "no no_generation drop");
		ASSERT_EQ(e2e_drop_packets(st, "firewall_default_deny"), 0, "nothing reached the default");
		ASSERT_EQ(final_gen, 2 + COMMITS / APPLY_EVERY, "final generation: one per apply");
	}
cleanup:
	if (chain_ok)
		chain_close(&c);
	if (oldns >= 0)
		netns_restore(oldns);
	cJSON_Delete(st);
	cJSON_Delete(st2);
	for (f = 0; f < 3; f++) {
		if (a.rx[f] >= 0)
			close(a.rx[f]);
		if (a.tx[f][0] >= 0)
			close(a.tx[f][0]);
		if (a.tx[f][1] >= 0)
			close(a.tx[f][1]);
		free(a.rec[f]);
	}
	if (a.tcp_cli >= 0)
		close(a.tcp_cli);
	if (a.tcp_srv >= 0)
		close(a.tcp_srv);
	free(a.commits);
	spec_free(specs[0]);
	spec_free(specs[1]);
	netns_cleanup_all();
}
