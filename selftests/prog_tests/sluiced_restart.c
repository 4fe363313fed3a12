// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Agent restarts are invisible to traffic: 100 restarts of sluiced (every
 * other one by SIGKILL, the rest by SIGTERM), each waiting for /readyz,
 * while real traffic runs through the chain (XDP on the router's "in"):
 *  - the real ping, in batches at 10 ms: no echo may be lost;
 *  - 20 long-lived TCP connections to an echo server, each sending a
 *    numbered 32-byte record every 20 ms and checking the echo: none may
 *    break (error, EOF, a record out of order) or stall past the end;
 *  - UDP to port 7001, which the spec denies: not one datagram may reach
 *    the listener, and the chain must count them all.
 * Before and after: the same live generation, the same program on the
 * interface, one generation in the history, and no chain-integrity drop
 * (missing_stage, generation_mismatch, no_generation). Every agent must
 * say it adopted the chain, none that it committed anything.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"
#include "sluiced_util.h"

#define CHAIN "sdrestart"
#define PORT 19967
#define RESTARTS 100
#define NCONN 20
#define TCP_PORT 5001
#define UDP_DENIED 7001
#define REC 32

struct rec {
	uint32_t conn, seq;
	uint8_t pad[REC - 8];
};

struct rs {
	struct e2e_rig r;
	atomic_bool stop;
	/* ping */
	long ping_sent, ping_rcvd, ping_err;
	/* tcp */
	int cli[NCONN], srv[NCONN];
	uint32_t sent[NCONN], echoed[NCONN];
	uint8_t inbuf[NCONN][REC];
	size_t inlen[NCONN];
	int broken[NCONN];
	uint64_t last_echo[NCONN], max_gap_ns;
	/* udp */
	int utx, urx;
	long usent, urcvd;
};

static void *pinger(void *arg)
{
	struct rs *s = arg;
	int sent, rcvd;

	while (!atomic_load(&s->stop)) {
		if (e2e_ping(s->r.client, NETNS_R_SERVER4, 100, 10, 1000, &sent, &rcvd)) {
			s->ping_err++;
			continue;
		}
		s->ping_sent += sent;
		s->ping_rcvd += rcvd;
	}
	return NULL;
}

static void conn_read(struct rs *s, int i, uint64_t now)
{
	uint8_t buf[4096];
	ssize_t n, k;

	for (;;) {
		n = recv(s->cli[i], buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0) {
			s->broken[i] = 1; /* EOF */
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				s->broken[i] = 2;
			return;
		}
		for (k = 0; k < n; k++) {
			s->inbuf[i][s->inlen[i]++] = buf[k];
			if (s->inlen[i] == REC) {
				struct rec *r = (struct rec *)s->inbuf[i];

				if (r->conn != (uint32_t)i || r->seq != s->echoed[i])
					s->broken[i] = 3; /* out of order */
				s->echoed[i]++;
				s->inlen[i] = 0;
				if (s->last_echo[i] && now - s->last_echo[i] > s->max_gap_ns)
					s->max_gap_ns = now - s->last_echo[i];
				s->last_echo[i] = now;
			}
		}
	}
}

static void echo_srv(struct rs *s, int i)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = recv(s->srv[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (send(s->srv[i], buf, n, MSG_NOSIGNAL) != n)
			s->broken[i] = 4;
}

/* TCP records out and echoes back, UDP to the denied port. */
static void *pump(void *arg)
{
	struct rs *s = arg;
	struct pollfd pfd[2 * NCONN + 1];
	uint64_t next_send = 0, drain_end = 0, now;
	uint8_t ubuf[64];
	int i;

	for (i = 0; i < NCONN; i++) {
		pfd[i] = (struct pollfd){ .fd = s->cli[i], .events = POLLIN };
		pfd[NCONN + i] = (struct pollfd){ .fd = s->srv[i], .events = POLLIN };
	}
	pfd[2 * NCONN] = (struct pollfd){ .fd = s->urx, .events = POLLIN };
	for (;;) {
		now = e2e_now_ns();
		if (atomic_load(&s->stop) && !drain_end)
			drain_end = now + 5000000000ull;
		if (drain_end) {
			bool done = true;

			for (i = 0; i < NCONN; i++)
				done &= s->echoed[i] == s->sent[i] || s->broken[i];
			if (done || now > drain_end)
				break;
		} else if (now >= next_send) {
			next_send = now + 20000000ull;
			for (i = 0; i < NCONN; i++) {
				struct rec r = { .conn = i, .seq = s->sent[i] };

				if (s->broken[i])
					continue;
				if (send(s->cli[i], &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(r))
					s->broken[i] = 5;
				else
					s->sent[i]++;
			}
			if (send(s->utx, &now, sizeof(now), MSG_DONTWAIT) == sizeof(now))
				s->usent++;
		}
		poll(pfd, 2 * NCONN + 1, 5);
		now = e2e_now_ns();
		for (i = 0; i < NCONN; i++) {
			if (pfd[NCONN + i].revents)
				echo_srv(s, i);
			if (pfd[i].revents)
				conn_read(s, i, now);
		}
		while (recv(s->urx, ubuf, sizeof(ubuf), MSG_DONTWAIT) > 0)
			s->urcvd++;
	}
	return NULL;
}

static int setup_tcp(struct rs *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	int lfd, i, one = 1;

	lfd = e2e_socket(s->r.server, AF_INET, SOCK_STREAM);
	if (lfd < 0)
		return lfd;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, NCONN)) {
		close(lfd);
		return -errno;
	}
	for (i = 0; i < NCONN; i++) {
		s->cli[i] = e2e_tcp_connect(s->r.client, NETNS_R_SERVER4, TCP_PORT, 3000);
		if (s->cli[i] < 0)
			break;
		s->srv[i] = accept(lfd, NULL, NULL);
		if (s->srv[i] < 0)
			break;
		setsockopt(s->cli[i], IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	}
	close(lfd);
	return i == NCONN ? 0 : -EIO;
}

static int setup_udp(struct rs *s)
{
	s->urx = e2e_udp_bind(s->r.server, UDP_DENIED);
	s->utx = e2e_udp_connect(s->r.client, NETNS_R_SERVER4, UDP_DENIED);
	return s->urx >= 0 && s->utx >= 0 ? 0 : -EIO;
}

static void chain_state(struct e2e_rig *r, long long *prog, long long *nhist)
{
	char out[16384];
	cJSON *j, *a;

	*prog = *nhist = -1;
	if (!e2e_sluice(r, out, sizeof(out), "-j -c " CHAIN " status")) {
		j = cJSON_Parse(out);
		a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "attach"), 0);
		if (a)
			*prog = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "prog_id"));
		cJSON_Delete(j);
	}
	if (!e2e_sluice(r, out, sizeof(out), "-j -c " CHAIN " history")) {
		j = cJSON_Parse(out);
		*nhist = cJSON_GetArraySize(j);
		cJSON_Delete(j);
	}
}

static int count_in_file(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

void test_sluiced_restart(void)
{
	struct rs *s = calloc(1, sizeof(*s));
	struct sd_agent a = {};
	char spec[8192], specs[PATH_MAX + 16], path[PATH_MAX + 64];
	pthread_t tp, tq;
	bool threads = false;
	long long prog0, hist0, prog1, hist1, deny_before, deny_after;
	int gen0, gen1, i, nterm = 0, nkill = 0, ready_fail = 0, st, broken = 0;
	uint64_t t0, t_ready_max = 0;
	cJSON *stats;

	if (!s)
		return;
	for (i = 0; i < NCONN; i++)
		s->cli[i] = s->srv[i] = -1;
	s->utx = s->urx = -1;
	if (!ASSERT_OK(e2e_rig_routed(&s->r), "rig"))
		goto out;
	snprintf(specs, sizeof(specs), "%s/specs", s->r.tmp);
	mkdir(specs, 0700);
	sd_spec(spec, sizeof(spec), CHAIN, "");
	snprintf(path, sizeof(path), "%s/edge.json", specs);
	e2e_write_file(path, spec);

	/* The first agent builds generation 1. */
	if (!ASSERT_OK(sd_start(&s->r, &a, PORT, "agent.log", NULL, "--resync 0", specs), "start"))
		goto out;
	if (!ASSERT_OK(sd_wait_ready(&s->r, PORT, 10000), "ready"))
		goto out;
	gen0 = e2e_live_gen(&s->r);
	chain_state(&s->r, &prog0, &hist0);
	ASSERT_EQ(gen0, 1, "generation 1");
	ASSERT_EQ(hist0, 1, "one generation");
	if (!ASSERT_OK(setup_tcp(s), "20 TCP connections") || !ASSERT_OK(setup_udp(s), "udp"))
		goto out;
	stats = e2e_stats(&s->r);
	deny_before = e2e_default_packets(stats, "fw");
	cJSON_Delete(stats);

	if (pthread_create(&tp, NULL, pinger, s) || pthread_create(&tq, NULL, pump, s))
		goto out;
	threads = true;
	e2e_sleep_ms(300);
	t0 = e2e_now_ns();
	for (i = 0; i < RESTARTS; i++) {
		uint64_t ts = e2e_now_ns(), dt;

		/* Kill the running one: even rounds SIGKILL, odd SIGTERM. */
		st = sd_stop(&a, i % 2 ? SIGTERM : SIGKILL, 5000);
		if (i % 2)
			nterm += st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
		else
			nkill += st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		if (sd_start(&s->r, &a, PORT, "agent.log", NULL, "--resync 0", specs) ||
		    sd_wait_ready(&s->r, PORT, 10000)) {
			if (!ready_fail++)
				netns_run(NULL, "echo '    restart %d: agent log tail:'; tail -5 %s >&2", i,
					  a.log);
			continue;
		}
		dt = e2e_now_ns() - ts;
		if (dt > t_ready_max)
			t_ready_max = dt;
	}
	printf("    %d restarts in %.1f s (%d SIGKILL, %d SIGTERM with exit 0), slowest stop-start-ready %.0f ms\n",
	       RESTARTS, (e2e_now_ns() - t0) / 1e9, nkill, nterm, t_ready_max / 1e6);
	e2e_sleep_ms(300);
	/* Restarts can be quicker than the traffic needs to mean something
	 * (8 s for 100 here): keep it going until the pinger has sent enough,
	 * at most 30 s more. */
	for (i = 0; i < 300 && __atomic_load_n(&s->ping_sent, __ATOMIC_RELAXED) <= 1000; i++)
		e2e_sleep_ms(100);
	atomic_store(&s->stop, true);
	pthread_join(tp, NULL);
	pthread_join(tq, NULL);
	threads = false;

	ASSERT_EQ(ready_fail, 0, "every agent became ready");
	ASSERT_EQ(nkill, RESTARTS / 2, "SIGKILLed agents");
	ASSERT_EQ(nterm, RESTARTS / 2, "SIGTERMed agents exited 0");
	ASSERT_EQ(count_in_file(a.log, "adopted, nothing changed"), RESTARTS, "every restart adopted");
	ASSERT_EQ(count_in_file(a.log, "generation committed"), 1, "only the first agent committed");

	for (i = 0; i < NCONN; i++) {
		if (s->broken[i] || s->echoed[i] != s->sent[i]) {
			printf("    conn %d: broken %d, sent %u, echoed %u\n", i, s->broken[i], s->sent[i],
			       s->echoed[i]);
			broken++;
		}
	}
	printf("    ping: %ld sent, %ld received; tcp: %d connections, %u records each (max echo gap %.0f ms), %d broken;"
	       " udp to denied %d: %ld sent, %ld delivered\n",
	       s->ping_sent, s->ping_rcvd, NCONN, s->sent[0], s->max_gap_ns / 1e6, broken,
	       UDP_DENIED, s->usent, s->urcvd);
	ASSERT_GT(s->ping_sent, 1000, "pings sent");
	ASSERT_EQ(s->ping_rcvd, s->ping_sent, "0 pings lost");
	ASSERT_EQ(s->ping_err, 0, "ping ran");
	ASSERT_EQ(broken, 0, "0 broken TCP connections");
	ASSERT_GT(s->sent[0], 100, "records per connection");
	ASSERT_GT(s->usent, 100, "denied datagrams sent");
	ASSERT_EQ(s->urcvd, 0, "0 denied datagrams delivered");

	gen1 = e2e_live_gen(&s->r);
	chain_state(&s->r, &prog1, &hist1);
	ASSERT_EQ(gen1, gen0, "the same generation live after");
	ASSERT_EQ(prog1, prog0, "the same program on the interface");
	ASSERT_EQ(hist1, 1, "no generation added");
	stats = e2e_stats(&s->r);
	deny_after = e2e_default_packets(stats, "fw");
	ASSERT_GE(deny_after - deny_before, s->usent, "every denied datagram counted");
	ASSERT_EQ(e2e_drop_packets(stats, "missing_stage"), 0, "no missing_stage");
	ASSERT_EQ(e2e_drop_packets(stats, "generation_mismatch"), 0, "no generation_mismatch");
	ASSERT_EQ(e2e_drop_packets(stats, "no_generation"), 0, "no no_generation");
	cJSON_Delete(stats);
	ASSERT_EQ(sd_stop(&a, SIGTERM, 5000), 0, "last agent exit 0");
out:
	if (threads) {
		atomic_store(&s->stop, true);
		pthread_join(tp, NULL);
		pthread_join(tq, NULL);
	}
	for (i = 0; i < NCONN; i++) {
		if (s->cli[i] >= 0)
			close(s->cli[i]);
		if (s->srv[i] >= 0)
			close(s->srv[i]);
	}
	if (s->utx >= 0)
		close(s->utx);
	if (s->urx >= 0)
		close(s->urx);
	free(s);
	netns_cleanup_all();
}
