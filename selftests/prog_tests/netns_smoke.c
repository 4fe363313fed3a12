// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The netns helpers check themselves: namespaces are made and removed,
 * traffic flows between them (ping, a TCP transfer, UDP), and nothing is
 * left behind when a test dies, however it dies. */
#include <stdlib.h>
#include <limits.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "netns.h"

static bool path_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* A process is gone when it no longer exists or is a zombie. */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool gone = true;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return gone;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll for up to timeout_ms until the path and the process are gone. */
static bool wait_gone(const char *path, pid_t pid, int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 50) {
		if ((!path || !path_exists(path)) && (pid <= 0 || proc_gone(pid)))
			return true;
		sleep_ms(50);
	}
	return false;
}

static void subtest_create_cleanup(void)
{
	char a[NETNS_NAME_MAX], b[NETNS_NAME_MAX], pins[PATH_MAX], tmp[PATH_MAX];
	char prefix[32], out[4096];
	pid_t srv;

	if (!ASSERT_OK(netns_create(NULL, a), "create a"))
		goto cleanup;
	if (!ASSERT_OK(netns_create("tagged", b), "create b"))
		goto cleanup;
	snprintf(prefix, sizeof(prefix), NETNS_PREFIX "%d-", (int)getpid());
	ASSERT_TRUE(!strncmp(a, prefix, strlen(prefix)), "name has prefix and pid");
	ASSERT_STRCONTAINS(b, "-tagged", "tag in name");
	ASSERT_TRUE(strcmp(a, b) != 0, "names are unique");
	ASSERT_TRUE(path_exists(netns_path(a)), "a exists");
	ASSERT_TRUE(path_exists(netns_path(b)), "b exists");
	ASSERT_EQ(netns_run_out(a, out, sizeof(out), "ip -o link show lo"), 0, "ip in a");
	ASSERT_STRCONTAINS(out, "UP", "lo is up");
	ASSERT_EQ(netns_create("bad/tag", out), -EINVAL, "tag validated");

	if (!ASSERT_OK(netns_pin_root(pins, sizeof(pins)), "pin root"))
		goto cleanup;
	ASSERT_STRCONTAINS(pins, "/sys/fs/bpf/" NETNS_PREFIX, "pin root path");
	ASSERT_OK(netns_run(NULL, "mkdir -p %s/chain/gen/1", pins), "nested dir");
	if (!ASSERT_OK(netns_tmpdir(tmp, sizeof(tmp)), "tmpdir"))
		goto cleanup;
	ASSERT_OK(netns_run(NULL, "echo x > %s/state.json", tmp), "file in tmpdir");

	srv = netns_spawn(a, "sleep 600");
	if (!ASSERT_GT(srv, 0, "spawn"))
		goto cleanup;

	netns_cleanup_all();
	ASSERT_FALSE(path_exists(netns_path(a)), "a removed");
	ASSERT_FALSE(path_exists(netns_path(b)), "b removed");
	ASSERT_FALSE(path_exists(pins), "pin root removed");
	ASSERT_FALSE(path_exists(tmp), "tmpdir removed");
	ASSERT_TRUE(proc_gone(srv), "server killed");
	/* Idempotent. */
	netns_cleanup_all();
	ASSERT_OK(netns_delete(a), "delete of a deleted namespace");
cleanup:
	netns_cleanup_all();
}

static void subtest_enter_restore(void)
{
	struct netns_pair p;
	struct stat before, inside, after;
	int old;

	if (!ASSERT_OK(netns_pair_create(&p), "pair"))
		goto cleanup;
	stat("/proc/thread-self/ns/net", &before);
	old = netns_enter(p.a);
	if (!ASSERT_GE(old, 0, "enter"))
		goto cleanup;
	stat("/proc/thread-self/ns/net", &inside);
	ASSERT_GT(if_nametoindex("veth0"), 0, "veth0 visible inside");
	ASSERT_OK(netns_restore(old), "restore");
	stat("/proc/thread-self/ns/net", &after);
	ASSERT_NEQ(inside.st_ino, before.st_ino, "entered another netns");
	ASSERT_EQ(after.st_ino, before.st_ino, "restored");
	ASSERT_OK(netns_delete(p.b), "delete b");
	ASSERT_FALSE(path_exists(netns_path(p.b)), "b deleted");
cleanup:
	netns_cleanup_all();
}

static void subtest_ping(void)
{
	struct netns_pair p;

	if (!netns_have_tool("ping")) {
		test__skip("ping (iputils-ping) not installed");
		return;
	}
	if (!ASSERT_OK(netns_pair_create(&p), "pair"))
		goto cleanup;
	ASSERT_EQ(netns_run(p.a, "ping -c 2 -i 0.2 -W 2 " NETNS_PAIR_B4), 0, "ping v4");
	ASSERT_EQ(netns_run(p.a, "ping -6 -c 2 -i 0.2 -W 2 " NETNS_PAIR_B6), 0, "ping v6");
	ASSERT_EQ(netns_run(p.b, "ping -c 1 -W 2 " NETNS_PAIR_A4), 0, "ping back");
	/* Nothing leaks into the host: the address is not reachable here. */
	ASSERT_NEQ(netns_run(NULL, "ip -o addr | grep -q ' " NETNS_PAIR_A4 "/'"), 0,
		   "address only inside");
cleanup:
	netns_cleanup_all();
}

static void tcp_transfer(const struct netns_pair *p, const char *tmp, int port,
			 const char *listen, const char *connect, const char *what)
{
	char name[64];
	pid_t srv;

	srv = netns_spawn(p->b, "socat -u %s:%d,reuseaddr OPEN:%s/recv-%d,creat,trunc",
			  listen, port, tmp, port);
	snprintf(name, sizeof(name), "%s: server", what);
	if (!ASSERT_GT(srv, 0, name))
		return;
	snprintf(name, sizeof(name), "%s: listening", what);
	if (!ASSERT_OK(netns_wait_listen(p->b, IPPROTO_TCP, port, 3000), name))
		return;
	snprintf(name, sizeof(name), "%s: send", what);
	ASSERT_EQ(netns_run(p->a, "timeout 10 socat -u OPEN:%s/payload %s:%d",
			    tmp, connect, port), 0, name);
	/* The server exits after the one connection once it has written all. */
	snprintf(name, sizeof(name), "%s: server done", what);
	ASSERT_TRUE(wait_gone(NULL, srv, 5000), name);
	netns_kill(srv);
	snprintf(name, sizeof(name), "%s: same bytes", what);
	ASSERT_EQ(netns_run(NULL, "cmp -s %s/payload %s/recv-%d", tmp, tmp, port), 0,
		  name);
}

static void subtest_tcp(void)
{
	struct netns_pair p;
	char tmp[PATH_MAX];

	if (!netns_have_tool("socat")) {
		test__skip("socat not installed");
		return;
	}
	if (!ASSERT_OK(netns_pair_create(&p), "pair") ||
	    !ASSERT_OK(netns_tmpdir(tmp, sizeof(tmp)), "tmpdir"))
		goto cleanup;
	if (!ASSERT_OK(netns_run(NULL, "head -c 4194304 /dev/urandom > %s/payload", tmp),
		       "payload"))
		goto cleanup;
	tcp_transfer(&p, tmp, 5001, "TCP4-LISTEN", "TCP4:" NETNS_PAIR_B4, "tcp4");
	tcp_transfer(&p, tmp, 5002, "TCP6-LISTEN", "TCP6:[" NETNS_PAIR_B6 "]", "tcp6");
cleanup:
	netns_cleanup_all();
}

static void subtest_udp(void)
{
	struct netns_pair p;
	char out[256];
	pid_t srv;

	if (!netns_have_tool("socat")) {
		test__skip("socat not installed");
		return;
	}
	if (!ASSERT_OK(netns_pair_create(&p), "pair"))
		goto cleanup;
	srv = netns_spawn(p.b, "socat UDP6-RECVFROM:5353,fork,reuseaddr EXEC:cat");
	if (!ASSERT_GT(srv, 0, "udp echo server") ||
	    !ASSERT_OK(netns_wait_listen(p.b, IPPROTO_UDP, 5353, 3000), "bound"))
		goto cleanup;
	ASSERT_EQ(netns_run_out(p.a, out, sizeof(out),
				"echo hello-v4 | timeout 3 socat -T 2 - UDP4:" NETNS_PAIR_B4 ":5353"),
		  0, "udp4 echo");
	ASSERT_STRCONTAINS(out, "hello-v4", "udp4 reply");
	ASSERT_EQ(netns_run_out(p.a, out, sizeof(out),
				"echo hello-v6 | timeout 3 socat -T 2 - UDP6:[" NETNS_PAIR_B6 "]:5353"),
		  0, "udp6 echo");
	ASSERT_STRCONTAINS(out, "hello-v6", "udp6 reply");
cleanup:
	netns_cleanup_all();
}

static void subtest_routed(void)
{
	struct netns_routed t;

	if (!ASSERT_OK(netns_routed_create(&t), "client-router-server"))
		goto cleanup;
	ASSERT_EQ(netns_run(t.client, "ping -c 1 -W 2 " NETNS_R_SERVER4), 0, "v4 through router");
	ASSERT_EQ(netns_run(t.client, "ping -6 -c 1 -W 2 " NETNS_R_SERVER6), 0, "v6 through router");
	ASSERT_EQ(netns_run(t.server, "ping -c 1 -W 2 " NETNS_R_CLIENT4), 0, "v4 back");
cleanup:
	netns_cleanup_all();
}

enum death { DIE_SIGALRM, DIE_SIGTERM, DIE_SIGKILL, DIE_ABORT, DIE_EXIT };

/* A child makes a namespace, a pin root, a temp dir and a server, reports
 * their names through a pipe, then dies; nothing may be left. */
static void subtest_failure(enum death how, bool synchronous)
{
	struct {
		char ns[NETNS_NAME_MAX];
		char pins[PATH_MAX];
		char tmp[PATH_MAX];
		pid_t srv;
		int ok;
	} r = {};
	int pfd[2], status;
	pid_t child;
	ssize_t n;

	if (!ASSERT_OK(pipe(pfd), "pipe"))
		return;
	fflush(stdout);
	child = fork();
	if (!ASSERT_GE(child, 0, "fork"))
		return;
	if (child == 0) {
		close(pfd[0]);
		r.ok = !netns_create("doomed", r.ns) &&
		       !netns_pin_root(r.pins, sizeof(r.pins)) &&
		       !netns_tmpdir(r.tmp, sizeof(r.tmp));
		r.srv = netns_spawn(r.ns, "sleep 600");
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		close(pfd[1]);
		switch (how) {
		case DIE_SIGALRM:
			alarm(1);
			for (;;)
				pause();
		case DIE_SIGTERM:
			raise(SIGTERM);
			break;
		case DIE_SIGKILL:
			raise(SIGKILL);
			break;
		case DIE_ABORT:
			abort();
		case DIE_EXIT:
			break;
		}
		_exit(7);
	}
	close(pfd[1]);
	n = read(pfd[0], &r, sizeof(r));
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!ASSERT_EQ(n, sizeof(r), "child reported") || !ASSERT_TRUE(r.ok, "child set up") ||
	    !ASSERT_GT(r.srv, 0, "child's server"))
		goto cleanup;
	if (synchronous) {
		/* The handler cleaned up before the signal ended the child. */
		ASSERT_TRUE(WIFSIGNALED(status), "died of the signal");
		ASSERT_FALSE(path_exists(netns_path(r.ns)), "namespace gone at death");
		ASSERT_FALSE(path_exists(r.pins), "pin root gone at death");
		ASSERT_FALSE(path_exists(r.tmp), "tmpdir gone at death");
		ASSERT_TRUE(wait_gone(NULL, r.srv, 2000), "server gone");
	} else {
		/* The watchdog sweeps after the child is gone. */
		ASSERT_TRUE(wait_gone(netns_path(r.ns), r.srv, 5000),
			    "namespace and server swept");
		ASSERT_TRUE(wait_gone(r.pins, 0, 5000), "pin root swept");
		ASSERT_TRUE(wait_gone(r.tmp, 0, 5000), "tmpdir swept");
	}
cleanup:
	if (r.ns[0])
		netns_register(r.ns);
	netns_cleanup_all();
	if (r.ns[0])
		netns_run(NULL, "rm -rf %s %s; [ -e %s ] && ip netns del %s; true",
			  r.pins[0] ? r.pins : "/nonexistent", r.tmp[0] ? r.tmp : "/nonexistent",
			  netns_path(r.ns), r.ns);
}

/* run.sh sweeps objects of test processes that are gone, and only those. */
static void subtest_runner_sweep(void)
{
	char stale[NETNS_NAME_MAX], live[NETNS_NAME_MAX], pins[PATH_MAX];
	pid_t dead;
	int status;

	dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, &status, 0);
	snprintf(stale, sizeof(stale), NETNS_PREFIX "%d-0-stale", (int)dead);
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/" NETNS_PREFIX "%d-1", (int)dead);
	/* Registered too, so that it goes even if the sweep fails. */
	if (!ASSERT_OK(netns_register(stale), "register stale") ||
	    !ASSERT_OK(netns_run(NULL, "ip netns add %s && mkdir -p %s/x", stale, pins),
		       "stale objects") ||
	    !ASSERT_OK(netns_create("live", live), "live"))
		goto cleanup;
	ASSERT_OK(netns_run(NULL, "%s --sweep", test__src_path("selftests/run.sh")),
		  "run.sh --sweep");
	ASSERT_FALSE(path_exists(netns_path(stale)), "stale namespace swept");
	ASSERT_FALSE(path_exists(pins), "stale pin root swept");
	ASSERT_TRUE(path_exists(netns_path(live)), "live namespace kept");
cleanup:
	netns_run(NULL, "rm -rf %s", pins);
	netns_cleanup_all();
}

void test_netns_smoke(void)
{
	if (test__start_subtest("create_cleanup"))
		subtest_create_cleanup();
	if (test__start_subtest("enter_restore"))
		subtest_enter_restore();
	if (test__start_subtest("ping"))
		subtest_ping();
	if (test__start_subtest("tcp_transfer"))
		subtest_tcp();
	if (test__start_subtest("udp_echo"))
		subtest_udp();
	if (test__start_subtest("routed"))
		subtest_routed();
	if (test__start_subtest("cleanup_on_sigalrm"))
		subtest_failure(DIE_SIGALRM, true);
	if (test__start_subtest("cleanup_on_sigterm"))
		subtest_failure(DIE_SIGTERM, true);
	if (test__start_subtest("cleanup_on_sigkill"))
		subtest_failure(DIE_SIGKILL, false);
	if (test__start_subtest("cleanup_on_crash"))
		subtest_failure(DIE_ABORT, false);
	if (test__start_subtest("cleanup_on_exit_without_cleanup"))
		subtest_failure(DIE_EXIT, false);
	if (test__start_subtest("runner_sweep"))
		subtest_runner_sweep();
}
