// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Network namespace helpers for selftests; see netns.h for the contract.
 *
 * Cleanup has three layers, all running the same sweep (a small shell
 * script, so that it can also run from a signal handler through
 * fork + execve, and from a watchdog that shares nothing with the test):
 *  1. netns_cleanup_all(), called by the test;
 *  2. a SIGTERM/SIGALRM handler (installed only over the default action),
 *     which kills the registered background processes, runs the sweep and
 *     lets the signal end the process;
 *  3. a watchdog: `sh` in its own session, reading a pipe whose only write
 *     end is this process's (close-on-exec). EOF means the test is gone,
 *     however it went; then it sweeps "slt-<pid>-*".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include "test_progs.h"
#include "netns.h"

extern char **environ;

#define MAX_PIDS 64
#define MAX_EXTRA 16

/* The sweep: $1 the owner pid, $2 a pid never to kill (the caller), then
 * extra namespace names. Kills what runs in each namespace, deletes it,
 * then removes the owner's pin roots and temporary dirs. */
#define SWEEP_SCRIPT                                                           \
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; P=$1; X=$2; shift 2\n"      \
	"for f in /run/netns/" NETNS_PREFIX "$P-*; do\n"                       \
	"  [ -e \"$f\" ] && set -- \"$@\" \"${f##*/}\"\n"                      \
	"done\n"                                                               \
	"for n in \"$@\"; do\n"                                                \
	"  [ -e \"/run/netns/$n\" ] || continue\n"                             \
	"  for p in $(ip netns pids \"$n\" 2>/dev/null); do\n"                 \
	"    [ \"$p\" = \"$X\" ] || kill -9 \"$p\" 2>/dev/null\n"              \
	"  done\n"                                                             \
	"  ip netns del \"$n\" 2>/dev/null ||\n"                               \
	"    { umount -l \"/run/netns/$n\" 2>/dev/null; rm -f \"/run/netns/$n\"; }\n" \
	"done\n"                                                               \
	"rm -rf /sys/fs/bpf/" NETNS_PREFIX "$P-* /tmp/" NETNS_PREFIX "$P-* 2>/dev/null\n" \
	"exit 0\n"

/* The watchdog reads extra names, one a line, until EOF, then sweeps. */
#define WATCHDOG_SCRIPT                                                        \
	"extra=; while read -r n; do extra=\"$extra $n\"; done\n"              \
	"set -- \"$1\" 0 $extra\n" SWEEP_SCRIPT

static struct {
	pid_t owner;	   /* the process this state belongs to */
	int wd_fd;	   /* write end of the watchdog's pipe */
	unsigned counter;  /* for unique names */
	pid_t pids[MAX_PIDS];
	int npids;
	/* Prebuilt argv of the sweep, usable from a signal handler. */
	char owner_str[16];
	char self_str[16];
	char *extra[MAX_EXTRA];
	int nextra;
	char *argv[5 + MAX_EXTRA + 1];
} st = { .wd_fd = -1 };

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	printf("    netns: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void build_argv(void)
{
	int i, n = 0;

	st.argv[n++] = "sh";
	st.argv[n++] = "-c";
	st.argv[n++] = SWEEP_SCRIPT;
	st.argv[n++] = "sh";
	st.argv[n++] = st.owner_str;
	st.argv[n++] = st.self_str;
	for (i = 0; i < st.nextra; i++)
		st.argv[n++] = st.extra[i];
	st.argv[n] = NULL;
}

/* Fork and exec the sweep; wait for it. Async-signal-safe. */
static void run_sweep(void)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		execve("/bin/sh", st.argv, environ);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
}

/* Async-signal-safe: only kill, fork, execve, waitpid. */
static void cleanup_now(void)
{
	int i;

	for (i = 0; i < st.npids; i++)
		if (st.pids[i] > 0)
			kill(st.pids[i], SIGKILL);
	run_sweep();
}

static void on_fatal_signal(int sig)
{
	int saved = errno;

	/* A forked child that has not made its own state yet must not tear
	 * down its parent's objects. */
	if (st.owner == getpid())
		cleanup_now();
	errno = saved;
	/* SA_RESETHAND restored the default action; the signal is blocked
	 * until the handler returns, then it ends the process. */
	raise(sig);
}

static void install_handlers(void)
{
	static const int sigs[] = { SIGTERM, SIGALRM };
	struct sigaction sa = { .sa_handler = on_fatal_signal,
				.sa_flags = SA_RESETHAND };
	struct sigaction old;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old))
			continue;
		/* Never take over a test's own handler. */
		if (old.sa_handler != SIG_DFL && old.sa_handler != on_fatal_signal)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static int start_watchdog(void)
{
	int p[2], status, nul;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		/* Out of the test's process group and session: the runner's
		 * kill of the group must not take the watchdog with it. Double
		 * fork so that the test never sees it as its child. */
		setsid();
		if (fork() != 0)
			_exit(0);
		dup2(p[0], 0);
		nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, 1);
		/* Hold no BPF object, socket or mapping of the test. */
		close_range(3, ~0U, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		execl("/bin/sh", "sh", "-c", WATCHDOG_SCRIPT, "sh", st.owner_str,
		      (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	st.wd_fd = p[1];
	return 0;
}

/* The state belongs to one process: a forked child starts its own. */
static int ensure_state(void)
{
	pid_t me = getpid();
	int i;

	if (st.owner == me)
		return 0;
	if (st.wd_fd >= 0)
		close(st.wd_fd); /* the parent's watchdog is not ours */
	for (i = 0; i < st.nextra; i++)
		free(st.extra[i]);
	memset(&st, 0, sizeof(st));
	st.wd_fd = -1;
	st.owner = me;
	snprintf(st.owner_str, sizeof(st.owner_str), "%d", (int)me);
	snprintf(st.self_str, sizeof(st.self_str), "%d", (int)me);
	build_argv();
	install_handlers();
	return start_watchdog();
}

static bool valid_name(const char *s, size_t max, const char *extra_ok)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++) {
		if (n >= max)
			return false;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' ||
		      strchr(extra_ok, *s)))
			return false;
	}
	return true;
}

const char *netns_path(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "/run/netns/%s", name);
	return buf;
}

static int enter_in_child(const char *ns)
{
	int fd;

	if (!ns)
		return 0;
	fd = open(netns_path(ns), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (setns(fd, CLONE_NEWNET))
		return -1;
	close(fd);
	return 0;
}

static int run_cmd(const char *ns, char *out, size_t len, const char *cmd)
{
	int p[2] = { -1, -1 }, status, nul;
	size_t got = 0;
	ssize_t n;
	char sink[512];
	pid_t pid;

	if (out && len)
		out[0] = '\0';
	if (out && pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		if (out) {
			close(p[0]);
			close(p[1]);
		}
		return err;
	}
	if (pid == 0) {
		if (enter_in_child(ns)) {
			fprintf(stderr, "netns: cannot enter %s: %s\n", ns,
				strerror(errno));
			_exit(127);
		}
		if (out) {
			dup2(p[1], 1);
		} else if (!env.verbose) {
			nul = open("/dev/null", O_WRONLY);
			if (nul >= 0)
				dup2(nul, 1);
		}
		nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		for (;;) {
			if (got + 1 < len)
				n = read(p[0], out + got, len - 1 - got);
			else
				n = read(p[0], sink, sizeof(sink));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (got + 1 < len)
				got += n;
		}
		if (len)
			out[got] = '\0';
		close(p[0]);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int vrun(const char *ns, char *out, size_t len, const char *fmt,
		va_list ap)
{
	char *cmd;
	int ret;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return -ENOMEM;
	if (env.verbose)
		logf_("[%s] %s", ns ? ns : "host", cmd);
	ret = run_cmd(ns, out, len, cmd);
	free(cmd);
	return ret;
}

int netns_run(const char *ns, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vrun(ns, NULL, 0, fmt, ap);
	va_end(ap);
	return ret;
}

int netns_run_out(const char *ns, char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vrun(ns, out, len, fmt, ap);
	va_end(ap);
	return ret;
}

/* A helper step that must succeed: logs the command on failure. */
static int must(const char *ns, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int must(const char *ns, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	if (env.verbose)
		logf_("[%s] %s", ns ? ns : "host", cmd);
	ret = run_cmd(ns, NULL, 0, cmd);
	if (ret)
		logf_("[%s] '%s' failed (%d)", ns ? ns : "host", cmd, ret);
	free(cmd);
	return ret == 0 ? 0 : ret < 0 ? ret : -EIO;
}

int netns_create(const char *tag, char *name)
{
	int err;

	if (tag && !valid_name(tag, 16, ""))
		return -EINVAL;
	err = ensure_state();
	if (err)
		return err;
	if (tag)
		snprintf(name, NETNS_NAME_MAX, NETNS_PREFIX "%d-%u-%s",
			 (int)st.owner, st.counter++, tag);
	else
		snprintf(name, NETNS_NAME_MAX, NETNS_PREFIX "%d-%u",
			 (int)st.owner, st.counter++);
	err = must(NULL, "ip netns add %s", name);
	if (err)
		return err;
	/* No duplicate address detection: addresses and link-locals are
	 * usable at once (a router whose link-local is still tentative does
	 * not resolve neighbours for the first second or two). */
	err = must(name, "sysctl -qw net.ipv6.conf.default.accept_dad=0 "
			 "net.ipv6.conf.all.accept_dad=0");
	if (err)
		return err;
	return must(name, "ip link set lo up");
}

int netns_delete(const char *name)
{
	if (!valid_name(name, NETNS_NAME_MAX - 1, "-."))
		return -EINVAL;
	if (access(netns_path(name), F_OK))
		return 0;
	return must(NULL,
		    "for p in $(ip netns pids %s); do [ $p = %d ] || kill -9 $p; done; "
		    "ip netns del %s",
		    name, (int)getpid(), name);
}

int netns_register(const char *name)
{
	int err;
	char line[NETNS_NAME_MAX + 2];
	void (*old)(int);
	ssize_t n;

	if (!valid_name(name, NETNS_NAME_MAX - 1, "-."))
		return -EINVAL;
	err = ensure_state();
	if (err)
		return err;
	if (st.nextra >= MAX_EXTRA)
		return -ENOSPC;
	st.extra[st.nextra] = strdup(name);
	if (!st.extra[st.nextra])
		return -ENOMEM;
	st.nextra++;
	build_argv();
	snprintf(line, sizeof(line), "%s\n", name);
	old = signal(SIGPIPE, SIG_IGN);
	n = write(st.wd_fd, line, strlen(line));
	signal(SIGPIPE, old);
	return n < 0 ? -errno : 0;
}

int netns_veth(const char *ns_a, const char *if_a, const char *ns_b,
	       const char *if_b)
{
	char peer_ns[NETNS_NAME_MAX + 16];
	int err;

	if (ns_b)
		snprintf(peer_ns, sizeof(peer_ns), "%s", ns_b);
	else
		snprintf(peer_ns, sizeof(peer_ns), "%d", (int)getpid());
	err = must(ns_a, "ip link add %s type veth peer name %s netns %s", if_a,
		   if_b, peer_ns);
	if (!err)
		err = must(ns_a, "ip link set %s up", if_a);
	if (!err)
		err = must(ns_b, "ip link set %s up", if_b);
	return err;
}

int netns_addr(const char *ns, const char *ifname, const char *cidr)
{
	return must(ns, "ip addr add %s dev %s%s", cidr, ifname,
		    strchr(cidr, ':') ? " nodad" : "");
}

int netns_route(const char *ns, const char *dst, const char *via)
{
	return must(ns, "ip %s route add %s via %s", strchr(via, ':') ? "-6" : "-4",
		    dst, via);
}

int netns_sysctl(const char *ns, const char *key, const char *value)
{
	return must(ns, "sysctl -qw %s=%s", key, value);
}

static int register_pid(pid_t pid)
{
	int i;

	for (i = 0; i < st.npids; i++) {
		if (st.pids[i] <= 0) {
			st.pids[i] = pid;
			return 0;
		}
	}
	if (st.npids >= MAX_PIDS)
		return -ENOSPC;
	st.pids[st.npids++] = pid;
	return 0;
}

pid_t netns_spawn(const char *ns, const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	pid_t pid;
	int err, nul;

	err = ensure_state();
	if (err)
		return err;
	va_start(ap, fmt);
	err = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (err < 0)
		return -ENOMEM;
	if (asprintf(&full, "exec %s", cmd) < 0) {
		free(cmd);
		return -ENOMEM;
	}
	if (env.verbose)
		logf_("[%s] spawn %s", ns ? ns : "host", cmd);
	free(cmd);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		free(full);
		return err;
	}
	if (pid == 0) {
		if (enter_in_child(ns))
			_exit(127);
		nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			if (!env.verbose)
				dup2(nul, 1);
		}
		close_range(3, ~0U, 0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		execl("/bin/sh", "sh", "-c", full, (char *)NULL);
		_exit(127);
	}
	free(full);
	err = register_pid(pid);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}
	return pid;
}

int netns_kill(pid_t pid)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i, status, tries;
	pid_t r;

	if (pid <= 0)
		return -EINVAL;
	kill(pid, SIGTERM);
	for (tries = 0; tries < 50; tries++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			goto done;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
done:
	for (i = 0; i < st.npids; i++)
		if (st.pids[i] == pid)
			st.pids[i] = 0;
	return 0;
}

int netns_enter(const char *ns)
{
	int old, fd, err;

	old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (old < 0)
		return -errno;
	fd = open(netns_path(ns), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		close(old);
		return err;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(fd);
		close(old);
		return err;
	}
	close(fd);
	return old;
}

int netns_restore(int oldfd)
{
	int err = 0;

	if (oldfd < 0)
		return -EBADF;
	if (setns(oldfd, CLONE_NEWNET))
		err = -errno;
	close(oldfd);
	return err;
}

/* Is a socket on the port listening (TCP) or bound (UDP) in this netns? */
static bool port_ready(int proto, int port)
{
	static const char *const tcp[] = { "/proc/thread-self/net/tcp",
					   "/proc/thread-self/net/tcp6" };
	static const char *const udp[] = { "/proc/thread-self/net/udp",
					   "/proc/thread-self/net/udp6" };
	const char *const *files = proto == IPPROTO_TCP ? tcp : udp;
	unsigned lport, state;
	char line[512];
	bool found = false;
	FILE *f;
	int i;

	for (i = 0; i < 2 && !found; i++) {
		f = fopen(files[i], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
				   &lport, &state) != 2)
				continue;
			if ((int)lport != port)
				continue;
			/* TCP_LISTEN is 0x0a; a bound UDP socket is TCP_CLOSE (7). */
			if ((proto == IPPROTO_TCP && state == 0x0a) ||
			    (proto == IPPROTO_UDP && state == 0x07)) {
				found = true;
				break;
			}
		}
		fclose(f);
	}
	return found;
}

int netns_wait_listen(const char *ns, int proto, int port, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int waited, old = -1;
	bool ok;

	for (waited = 0;; waited += 20) {
		if (ns) {
			old = netns_enter(ns);
			if (old < 0)
				return old;
		}
		ok = port_ready(proto, port);
		if (ns)
			netns_restore(old);
		if (ok)
			return 0;
		if (waited >= timeout_ms)
			break;
		nanosleep(&ts, NULL);
	}
	logf_("nothing listens on %s port %d in %s after %d ms",
	      proto == IPPROTO_TCP ? "tcp" : "udp", port, ns ? ns : "host",
	      timeout_ms);
	return -ETIMEDOUT;
}

static int make_dir(const char *base, char *path, size_t len)
{
	int err = ensure_state();

	if (err)
		return err;
	snprintf(path, len, "%s/" NETNS_PREFIX "%d-%u", base, (int)st.owner,
		 st.counter++);
	if (mkdir(path, 0700)) {
		err = -errno;
		logf_("mkdir %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

int netns_pin_root(char *path, size_t len)
{
	struct statfs sfs;

	if (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		logf_("/sys/fs/bpf is not a bpffs mount (run the tests through "
		      "selftests/run.sh, which mounts it)");
		return -ENOTSUP;
	}
	return make_dir("/sys/fs/bpf", path, len);
}

int netns_tmpdir(char *path, size_t len)
{
	return make_dir("/tmp", path, len);
}

void netns_cleanup_all(void)
{
	int i;

	if (st.owner != getpid())
		return;
	for (i = 0; i < st.npids; i++)
		if (st.pids[i] > 0)
			netns_kill(st.pids[i]);
	st.npids = 0;
	fflush(stdout);
	run_sweep();
	for (i = 0; i < st.nextra; i++)
		free(st.extra[i]);
	st.nextra = 0;
	build_argv();
}

bool netns_have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, buf[PATH_MAX];
	bool found = false;

	if (asprintf(&dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin") < 0)
		return false;
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		found = access(buf, X_OK) == 0;
	}
	free(dirs);
	return found;
}

int netns_pair_create(struct netns_pair *p)
{
	int err;

	err = netns_create("a", p->a);
	if (!err)
		err = netns_create("b", p->b);
	if (!err)
		err = netns_veth(p->a, "veth0", p->b, "veth0");
	if (!err)
		err = netns_addr(p->a, "veth0", NETNS_PAIR_A4 "/24");
	if (!err)
		err = netns_addr(p->a, "veth0", NETNS_PAIR_A6 "/64");
	if (!err)
		err = netns_addr(p->b, "veth0", NETNS_PAIR_B4 "/24");
	if (!err)
		err = netns_addr(p->b, "veth0", NETNS_PAIR_B6 "/64");
	return err;
}

int netns_routed_create(struct netns_routed *t)
{
	int err;

	err = netns_create("client", t->client);
	if (!err)
		err = netns_create("router", t->router);
	if (!err)
		err = netns_create("server", t->server);
	if (!err)
		err = netns_veth(t->client, "eth0", t->router, "in");
	if (!err)
		err = netns_veth(t->router, "out", t->server, "eth0");
	if (!err)
		err = netns_addr(t->client, "eth0", NETNS_R_CLIENT4 "/24");
	if (!err)
		err = netns_addr(t->client, "eth0", NETNS_R_CLIENT6 "/64");
	if (!err)
		err = netns_addr(t->router, "in", "10.250.1.1/24");
	if (!err)
		err = netns_addr(t->router, "in", "fd00:250:1::1/64");
	if (!err)
		err = netns_addr(t->router, "out", "10.250.2.1/24");
	if (!err)
		err = netns_addr(t->router, "out", "fd00:250:2::1/64");
	if (!err)
		err = netns_addr(t->server, "eth0", NETNS_R_SERVER4 "/24");
	if (!err)
		err = netns_addr(t->server, "eth0", NETNS_R_SERVER6 "/64");
	if (!err)
		err = netns_sysctl(t->router, "net.ipv4.ip_forward", "1");
	if (!err)
		err = netns_sysctl(t->router, "net.ipv6.conf.all.forwarding", "1");
	if (!err)
		err = netns_route(t->client, "default", "10.250.1.1");
	if (!err)
		err = netns_route(t->client, "default", "fd00:250:1::1");
	if (!err)
		err = netns_route(t->server, "default", "10.250.2.1");
	if (!err)
		err = netns_route(t->server, "default", "fd00:250:2::1");
	return err;
}
