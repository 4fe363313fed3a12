// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The firewall end to end: client -- router -- server namespaces, the chain
 * attached with native XDP on the router's "in" (client -> server traffic),
 * applied by the real `sluice` binary, real TCP connections to socat echo
 * servers, real UDP datagrams, the real ping, IPv4 and IPv6.
 *
 * Allowed flows get through, denied ones do not, and the counters of
 * `sluice -j stats` move by exactly what was sent: only client -> server
 * packets cross the XDP hook (replies come back through "out"), so N pings
 * or N UDP datagrams move their rule by exactly N. TCP connects to a denied
 * port are counted with >= (SYN retransmissions). ND and MLD have their own
 * allow rules so that nothing stray reaches the default.
 *
 * Then a new spec is applied under live TCP connections (they keep working:
 * the new spec still allows them) and `sluice rollback` restores the
 * previous verdicts on real traffic, with the counters continuing.
 */
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "netns.h"
#include "e2e_util.h"

#define SRV4 NETNS_R_SERVER4
#define SRV6 NETNS_R_SERVER6
#define ALT4 "10.250.2.3"    /* a second server address: pings to it are denied */
#define ALT6 "fd00:250:2::3"

#define TCP_ECHO 5001	     /* allowed, socat echo */
#define TCP_DENIED 5002	     /* socat echo, denied by A, allowed by B */
#define UDP_ECHO 6001	     /* allowed, socat echo */
#define UDP_DENIED 6002	     /* our receiver, denied by A, allowed by B */
#define UDP_AUDIT 6003	     /* our receiver, audit-deny then allow */
#define UDP_NORULE 6009	     /* no rule: the default (deny) */

#define FW "fw"

/* Spec A (b = false) and B (b = true): B allows TCP_DENIED and UDP_DENIED
 * instead of denying them; every other rule is the same. */
static void make_spec(char *buf, size_t len, bool b)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"e2e\"},\"spec\":{"
		 "\"attach\":[{\"interface\":\"in\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		 "\"functions\":[{\"name\":\"" FW "\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		 "\"rules\":["
		 "{\"id\":\"nd-rs\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":133},"
		 "{\"id\":\"nd-ra\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":134},"
		 "{\"id\":\"nd-ns\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":135},"
		 "{\"id\":\"nd-na\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":136},"
		 "{\"id\":\"mld-query\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":130},"
		 "{\"id\":\"mld-report\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":131},"
		 "{\"id\":\"mld-done\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":132},"
		 "{\"id\":\"mld2-report\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":143},"
		 "{\"id\":\"deny-ping-alt4\",\"action\":\"deny\",\"proto\":\"icmp\",\"icmpType\":8,"
		 "\"dst\":[\"" ALT4 "\"]},"
		 "{\"id\":\"deny-ping-alt6\",\"action\":\"deny\",\"proto\":\"icmpv6\",\"icmpType\":128,"
		 "\"dst\":[\"" ALT6 "\"]},"
		 "{\"id\":\"allow-ping4\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":8,"
		 "\"dst\":[\"" SRV4 "\"]},"
		 "{\"id\":\"allow-ping6\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":128,"
		 "\"dst\":[\"" SRV6 "\"]},"
		 "{\"id\":\"allow-tcp-echo\",\"action\":\"allow\",\"proto\":\"tcp\","
		 "\"src\":[\"10.250.1.0/24\",\"fd00:250:1::/64\"],\"dst\":[\"" SRV4 "\",\"" SRV6 "\"],"
		 "\"dstPorts\":[%d]},"
		 "{\"id\":\"%s-tcp-%d\",\"action\":\"%s\",\"proto\":\"tcp\",\"dstPorts\":[%d]},"
		 "{\"id\":\"allow-udp-echo\",\"action\":\"allow\",\"proto\":\"udp\","
		 "\"dst\":[\"" SRV4 "\",\"" SRV6 "\"],\"dstPorts\":[\"%d\"]},"
		 "{\"id\":\"%s-udp-%d\",\"action\":\"%s\",\"proto\":\"udp\",\"dstPorts\":[%d]},"
		 "{\"id\":\"audit-udp-%d\",\"action\":\"deny\",\"audit\":true,\"proto\":\"udp\","
		 "\"dstPorts\":[%d]},"
		 "{\"id\":\"allow-udp-%d\",\"action\":\"allow\",\"proto\":\"udp\",\"dstPorts\":[%d]}"
		 "]}]}}\n",
		 TCP_ECHO,
		 b ? "allow" : "deny", TCP_DENIED, b ? "allow" : "deny", TCP_DENIED,
		 UDP_ECHO,
		 b ? "allow" : "deny", UDP_DENIED, b ? "allow" : "deny", UDP_DENIED,
		 UDP_AUDIT, UDP_AUDIT, UDP_AUDIT, UDP_AUDIT);
}

struct fw_rig {
	struct e2e_rig r;
	int rx_denied, rx_audit;   /* our receivers in the server ns */
	char spec_a[4096], spec_b[4096];
};

/* A counter snapshot: the rule ids and reasons this test reads. */
static const char *const ids[] = {
	"deny-ping-alt4", "deny-ping-alt6", "allow-ping4", "allow-ping6",
	"allow-tcp-echo", "deny-tcp-5002", "allow-tcp-5002", "allow-udp-echo",
	"deny-udp-6002", "allow-udp-6002", "audit-udp-6003", "allow-udp-6003",
};
#define NIDS (sizeof(ids) / sizeof(ids[0]))
struct snap {
	long long rule[NIDS], def, deny, default_deny;
	bool ok;
};

static struct snap snap(struct fw_rig *f)
{
	struct snap s = {};
	cJSON *st = e2e_stats(&f->r);
	size_t i;

	if (!st)
		return s;
	for (i = 0; i < NIDS; i++)
		s.rule[i] = e2e_rule_packets(st, FW, ids[i]);
	s.def = e2e_default_packets(st, FW);
	s.deny = e2e_drop_packets(st, "firewall_deny");
	s.default_deny = e2e_drop_packets(st, "firewall_default_deny");
	s.ok = s.def >= 0 && s.deny >= 0 && s.default_deny >= 0;
	cJSON_Delete(st);
	return s;
}

/* Packets of a rule between two snapshots (a rule missing from a live spec
 * reads -1: delta of two missing reads is 0). */
static long long delta(const struct snap *a, const struct snap *b, const char *id)
{
	size_t i;

	for (i = 0; i < NIDS; i++)
		if (!strcmp(ids[i], id))
			return (b->rule[i] < 0 ? 0 : b->rule[i]) - (a->rule[i] < 0 ? 0 : a->rule[i]);
	return -999999;
}

static long long val(const struct snap *s, const char *id)
{
	size_t i;

	for (i = 0; i < NIDS; i++)
		if (!strcmp(ids[i], id))
			return s->rule[i];
	return -1;
}

/* Counters move when the router's NAPI runs the hook, which may be a
 * little after the sender's call returned: take snapshots until the rule
 * (NULL: the default) has moved by at least want since a, for up to 3 s.
 * The caller then checks for exactly want. */
static struct snap snap_until(struct fw_rig *f, const struct snap *a, const char *id,
			      long long want)
{
	uint64_t end = e2e_now_ns() + 3000000000ull;
	struct snap b;

	for (;;) {
		b = snap(f);
		if (!b.ok || e2e_now_ns() > end)
			return b;
		if ((id ? delta(a, &b, id) : b.def - a->def) >= want)
			return b;
		e2e_sleep_ms(20);
	}
}

/* Send n datagrams from the client to addr:port; returns how many left. */
static int udp_send_n(struct fw_rig *f, const char *addr, int port, int n)
{
	char msg[64];
	int fd, i, sent = 0;

	fd = e2e_udp_connect(f->r.client, addr, port);
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof(msg), "e2e %s:%d #%d", addr, port, i);

		if (send(fd, msg, len, 0) == len)
			sent++;
	}
	close(fd);
	return sent;
}

/* n datagrams to each family; the number our receiver got. */
static int udp_through(struct fw_rig *f, int rx, int port, int n)
{
	int s4 = udp_send_n(f, SRV4, port, n), s6 = udp_send_n(f, SRV6, port, n);

	if (s4 != n || s6 != n)
		return -EIO;
	/* A datagram that got through is queued within microseconds; wait
	 * 300 ms of quiet so that late ones are not missed. */
	return e2e_udp_drain(rx, 300);
}

/* TCP connect + echo of 64 KiB; true when the whole echo came back. */
static bool tcp_ok(struct fw_rig *f, const char *addr, int port)
{
	int fd = e2e_tcp_connect(f->r.client, addr, port, 2000), err;

	if (fd < 0)
		return false;
	err = e2e_tcp_echo(fd, 65536, port, 5000);
	close(fd);
	return err == 0;
}

static int ping(struct fw_rig *f, const char *addr, int n, int wait_ms)
{
	int sent, rcvd;

	if (e2e_ping(f->r.client, addr, n, 10, wait_ms, &sent, &rcvd))
		return -1;
	if (sent != n) {
		printf("    ping %s: sent %d, expected %d\n", addr, sent, n);
		return -1;
	}
	return rcvd;
}

static int udp_echo_n(struct fw_rig *f, const char *addr, int n)
{
	char msg[64];
	int fd, i, ok = 0;

	fd = e2e_udp_connect(f->r.client, addr, UDP_ECHO);
	if (fd < 0)
		return fd;
	for (i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof(msg), "echo %s #%d", addr, i);

		ok += e2e_udp_echo(fd, msg, len, 2000) == 1;
	}
	close(fd);
	return ok;
}

static int setup(struct fw_rig *f)
{
	struct e2e_rig *r = &f->r;
	int port, err;
	static const int tcp_ports[] = { TCP_ECHO, TCP_DENIED };

	err = e2e_rig_routed(r);
	if (err)
		return err;
	/* Deprecated (preferred_lft 0), so that the kernel never picks them
	 * as the source of a reply (an echo from ALT6 to a socket connected
	 * to SRV6 would draw an ICMPv6 port unreachable from the client). */
	if (netns_run(r->server, "ip addr add %s/32 dev eth0 && "
		      "ip addr add %s/64 dev eth0 nodad preferred_lft 0",
		      ALT4, ALT6))
		return -EIO;
	for (port = 0; port < 2; port++) {
		if (netns_spawn(r->server, "socat TCP6-LISTEN:%d,ipv6only=0,fork,reuseaddr PIPE",
				tcp_ports[port]) < 0)
			return -EIO;
	}
	if (netns_spawn(r->server, "socat UDP6-RECVFROM:%d,ipv6only=0,fork,reuseaddr PIPE",
			UDP_ECHO) < 0)
		return -EIO;
	f->rx_denied = e2e_udp_bind(r->server, UDP_DENIED);
	f->rx_audit = e2e_udp_bind(r->server, UDP_AUDIT);
	if (f->rx_denied < 0 || f->rx_audit < 0)
		return -EIO;
	for (port = 0; port < 2; port++)
		if (netns_wait_listen(r->server, IPPROTO_TCP, tcp_ports[port], 5000))
			return -ETIMEDOUT;
	if (netns_wait_listen(r->server, IPPROTO_UDP, UDP_ECHO, 5000))
		return -ETIMEDOUT;
	make_spec(f->spec_a, sizeof(f->spec_a), false);
	make_spec(f->spec_b, sizeof(f->spec_b), true);
	return 0;
}

/* Without a chain everything gets through: so a flow that fails later
 * failed because of the chain. */
static void subtest_baseline(struct fw_rig *f)
{
	ASSERT_TRUE(tcp_ok(f, SRV4, TCP_DENIED), "tcp v4 5002 open without a chain");
	ASSERT_TRUE(tcp_ok(f, SRV6, TCP_DENIED), "tcp v6 5002 open without a chain");
	ASSERT_EQ(udp_through(f, f->rx_denied, UDP_DENIED, 3), 6, "udp 6002 delivered without a chain");
	ASSERT_EQ(ping(f, ALT4, 2, 1000), 2, "ping alt v4 without a chain");
	ASSERT_EQ(ping(f, ALT6, 2, 1000), 2, "ping alt v6 without a chain");
}

static void subtest_allowed(struct fw_rig *f)
{
	struct snap a, b;
	const int n = 20, m = 5;

	a = snap(f);
	if (!ASSERT_TRUE(a.ok, "stats"))
		return;
	ASSERT_EQ(ping(f, SRV4, n, 1000), n, "ping v4: every echo answered");
	ASSERT_EQ(ping(f, SRV6, n, 1000), n, "ping v6: every echo answered");
	ASSERT_EQ(udp_echo_n(f, SRV4, m), m, "udp v4 6001: every datagram echoed");
	ASSERT_EQ(udp_echo_n(f, SRV6, m), m, "udp v6 6001: every datagram echoed");
	b = snap(f);
	ASSERT_EQ(delta(&a, &b, "allow-ping4"), n, "allow-ping4 counted every echo request");
	ASSERT_EQ(delta(&a, &b, "allow-ping6"), n, "allow-ping6 counted every echo request");
	ASSERT_EQ(delta(&a, &b, "allow-udp-echo"), 2 * m, "allow-udp-echo counted every datagram");
	ASSERT_EQ(b.deny - a.deny, 0, "nothing denied");
	ASSERT_EQ(b.default_deny - a.default_deny, 0, "nothing reached the default");

	a = b;
	ASSERT_TRUE(tcp_ok(f, SRV4, TCP_ECHO), "tcp v4 5001: connect and 64 KiB echoed");
	ASSERT_TRUE(tcp_ok(f, SRV6, TCP_ECHO), "tcp v6 5001: connect and 64 KiB echoed");
	b = snap(f);
	/* 64 KiB each way at most 1448 bytes a segment, plus handshake and
	 * ACKs of the echo: more than 2 * 45 segments client -> server. */
	ASSERT_GE(delta(&a, &b, "allow-tcp-echo"), 2 * 45, "allow-tcp-echo counted the connections");
	ASSERT_EQ(b.deny - a.deny, 0, "nothing denied (tcp)");
	ASSERT_EQ(b.default_deny - a.default_deny, 0, "nothing reached the default (tcp)");
}

static void subtest_denied(struct fw_rig *f)
{
	struct snap a, b;
	uint64_t t0;
	int err;
	const int n = 25, p = 10;

	a = snap(f);
	if (!ASSERT_TRUE(a.ok, "stats"))
		return;
	t0 = e2e_now_ns();
	err = e2e_tcp_connect(f->r.client, SRV4, TCP_DENIED, 1000);
	ASSERT_EQ(err, -ETIMEDOUT, "tcp v4 5002: no answer");
	if (err >= 0)
		close(err);
	err = e2e_tcp_connect(f->r.client, SRV6, TCP_DENIED, 1000);
	ASSERT_EQ(err, -ETIMEDOUT, "tcp v6 5002: no answer");
	if (err >= 0)
		close(err);
	ASSERT_LT(e2e_now_ns() - t0, 3000000000ull, "denied connects give up within 1 s each");
	b = snap(f);
	ASSERT_GE(delta(&a, &b, "deny-tcp-5002"), 2, "deny-tcp-5002 counted the SYNs");
	ASSERT_EQ(b.deny - a.deny, delta(&a, &b, "deny-tcp-5002"),
		  "firewall_deny moved by the SYNs");

	/* Exact counts with UDP and ICMP. */
	a = b;
	ASSERT_EQ(udp_through(f, f->rx_denied, UDP_DENIED, n), 0, "udp 6002: nothing delivered");
	ASSERT_EQ(ping(f, ALT4, p, 300), 0, "ping alt v4: no answer");
	ASSERT_EQ(ping(f, ALT6, p, 300), 0, "ping alt v6: no answer");
	b = snap_until(f, &a, "deny-ping-alt6", p);
	ASSERT_EQ(delta(&a, &b, "deny-udp-6002"), 2 * n, "deny-udp-6002 counted exactly the datagrams");
	ASSERT_EQ(delta(&a, &b, "deny-ping-alt4"), p, "deny-ping-alt4 counted exactly the pings");
	ASSERT_EQ(delta(&a, &b, "deny-ping-alt6"), p, "deny-ping-alt6 counted exactly the pings");
	ASSERT_EQ(b.deny - a.deny, 2 * n + 2 * p, "firewall_deny moved by exactly what was sent");
	ASSERT_EQ(b.default_deny - a.default_deny, 0, "the default untouched");
	ASSERT_EQ(delta(&a, &b, "allow-ping4"), 0, "allow rules untouched");
}

static void subtest_default_deny(struct fw_rig *f)
{
	struct snap a, b;
	const int n = 15;
	int s4, s6;

	a = snap(f);
	if (!ASSERT_TRUE(a.ok, "stats"))
		return;
	s4 = udp_send_n(f, SRV4, UDP_NORULE, n);
	s6 = udp_send_n(f, SRV6, UDP_NORULE, n);
	ASSERT_EQ(s4 + s6, 2 * n, "datagrams sent");
	b = snap_until(f, &a, NULL, 2 * n);
	ASSERT_EQ(b.def - a.def, 2 * n, "(default) counted exactly the datagrams");
	ASSERT_EQ(b.default_deny - a.default_deny, 2 * n, "firewall_default_deny moved by exactly n");
	ASSERT_EQ(b.deny - a.deny, 0, "firewall_deny untouched");
}

/* An audit rule counts and never decides: the next rule (an allow here)
 * does. The datagrams are delivered and counted on both rules. */
static void subtest_audit(struct fw_rig *f)
{
	struct snap a, b;
	const int n = 12;

	a = snap(f);
	if (!ASSERT_TRUE(a.ok, "stats"))
		return;
	ASSERT_EQ(udp_through(f, f->rx_audit, UDP_AUDIT, n), 2 * n, "udp 6003: every datagram delivered");
	b = snap(f);
	ASSERT_EQ(delta(&a, &b, "audit-udp-6003"), 2 * n, "audit-udp-6003 counted every datagram");
	ASSERT_EQ(delta(&a, &b, "allow-udp-6003"), 2 * n, "allow-udp-6003 decided every datagram");
	ASSERT_EQ(b.deny - a.deny, 0, "audit is not a drop");
	ASSERT_EQ(b.default_deny - a.default_deny, 0, "the default untouched");
}

/* Apply B while TCP connections run; then B's verdicts on real traffic;
 * then rollback to A with A's verdicts back and the counters continuing. */
static void subtest_apply_rollback(struct fw_rig *f)
{
	int c4 = -1, c6 = -1, rounds = 0, bad = 0, status = -1, err, gen;
	char path[PATH_MAX + 16], out[8192];
	struct snap a, b, pre;
	unsigned seed = 1;
	pid_t pid;
	const int n = 10;

	c4 = e2e_tcp_connect(f->r.client, SRV4, TCP_ECHO, 2000);
	c6 = e2e_tcp_connect(f->r.client, SRV6, TCP_ECHO, 2000);
	if (!ASSERT_GE(c4, 0, "live tcp v4") || !ASSERT_GE(c6, 0, "live tcp v6"))
		goto out;
	ASSERT_OK(e2e_tcp_echo(c4, 8192, seed++, 3000), "live v4 echo before apply");
	ASSERT_OK(e2e_tcp_echo(c6, 8192, seed++, 3000), "live v6 echo before apply");
	gen = e2e_live_gen(&f->r);
	pre = snap(f);

	snprintf(path, sizeof(path), "%s/b.json", f->r.tmp);
	if (!ASSERT_OK(e2e_write_file(path, f->spec_b), "write B"))
		goto out;
	pid = netns_spawn(f->r.router, "%s --pin-root %s --state-dir %s apply -f %s",
			  f->r.sluice, f->r.pin, f->r.state, path);
	if (!ASSERT_GT(pid, 0, "spawn apply B"))
		goto out;
	/* Echo on both connections for as long as the apply runs. */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		bad += e2e_tcp_echo(c4, 2048, seed++, 3000) != 0;
		bad += e2e_tcp_echo(c6, 2048, seed++, 3000) != 0;
		rounds++;
		if (w == pid || w < 0)
			break;
	}
	netns_kill(pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "apply B under live connections");
	ASSERT_EQ(e2e_live_gen(&f->r), gen + 1, "B is live");
	ASSERT_EQ(bad, 0, "echo exchanges lost during the apply");
	printf("    %d echo rounds on 2 live connections during the apply\n", rounds);
	ASSERT_OK(e2e_tcp_echo(c4, 65536, seed++, 5000), "live v4 echo after apply");
	ASSERT_OK(e2e_tcp_echo(c6, 65536, seed++, 5000), "live v6 echo after apply");

	a = snap(f);
	ASSERT_TRUE(tcp_ok(f, SRV4, TCP_DENIED), "B: tcp v4 5002 allowed");
	ASSERT_TRUE(tcp_ok(f, SRV6, TCP_DENIED), "B: tcp v6 5002 allowed");
	ASSERT_EQ(udp_through(f, f->rx_denied, UDP_DENIED, n), 2 * n, "B: udp 6002 delivered");
	b = snap(f);
	ASSERT_EQ(delta(&a, &b, "allow-udp-6002"), 2 * n, "B: allow-udp-6002 counted the datagrams");
	ASSERT_GE(delta(&a, &b, "allow-tcp-5002"), 2, "B: allow-tcp-5002 counted");
	ASSERT_EQ(b.deny - a.deny, 0, "B: nothing denied");

	err = e2e_sluice(&f->r, out, sizeof(out), "-j rollback");
	ASSERT_EQ(err, 0, "sluice rollback");
	ASSERT_EQ(e2e_live_gen(&f->r), gen, "A is live again");
	ASSERT_OK(e2e_tcp_echo(c4, 65536, seed++, 5000), "live v4 echo after rollback");
	ASSERT_OK(e2e_tcp_echo(c6, 65536, seed++, 5000), "live v6 echo after rollback");

	a = snap(f);
	err = e2e_tcp_connect(f->r.client, SRV4, TCP_DENIED, 1000);
	ASSERT_EQ(err, -ETIMEDOUT, "A again: tcp v4 5002 denied");
	if (err >= 0)
		close(err);
	ASSERT_EQ(udp_through(f, f->rx_denied, UDP_DENIED, n), 0, "A again: udp 6002 not delivered");
	ASSERT_EQ(ping(f, SRV6, n, 1000), n, "A again: ping v6 allowed");
	b = snap(f);
	/* The counters of A's rules continue where they were. */
	ASSERT_EQ(delta(&a, &b, "deny-udp-6002"), 2 * n, "A again: deny-udp-6002 counted exactly");
	ASSERT_GE(delta(&a, &b, "deny-tcp-5002"), 1, "A again: deny-tcp-5002 counted");
	ASSERT_EQ(val(&b, "deny-udp-6002"), val(&pre, "deny-udp-6002") + 2 * n,
		  "deny-udp-6002 continued from its count before B");
	ASSERT_EQ(delta(&a, &b, "allow-ping6"), n, "A again: allow-ping6 counted exactly");
out:
	if (c4 >= 0)
		close(c4);
	if (c6 >= 0)
		close(c6);
}

void test_e2e_firewall(void)
{
	struct fw_rig f = { .rx_denied = -1, .rx_audit = -1 };

	if (!ASSERT_OK(setup(&f), "rig"))
		goto cleanup;
	if (test__start_subtest("baseline"))
		subtest_baseline(&f);
	if (!ASSERT_EQ(e2e_apply(&f.r, "a.json", f.spec_a), 0, "apply A") ||
	    !ASSERT_EQ(e2e_live_gen(&f.r), 1, "A is generation 1"))
		goto cleanup;
	if (test__start_subtest("allowed"))
		subtest_allowed(&f);
	if (test__start_subtest("denied"))
		subtest_denied(&f);
	if (test__start_subtest("default_deny"))
		subtest_default_deny(&f);
	if (test__start_subtest("audit"))
		subtest_audit(&f);
	if (test__start_subtest("apply_rollback"))
		subtest_apply_rollback(&f);
cleanup:
	if (f.rx_denied >= 0)
		close(f.rx_denied);
	if (f.rx_audit >= 0)
		close(f.rx_audit);
	netns_cleanup_all();
}
