// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluiced: the node agent. Options, signals and the main loop.
 *
 *   SIGHUP           re-read every spec file and apply (a no-op where the
 *                    live generation already has the spec)
 *   SIGTERM, SIGINT  exit; the datapath stays attached and running
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "sluiced.h"

struct agent agent = { .mu = PTHREAD_MUTEX_INITIALIZER };

uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluiced [OPTIONS] PATH...\n"
		"\n"
		"Watches the spec files named (or every *.json in the directories named: a\n"
		"mounted ConfigMap) and applies each change, one chain per spec. Serves\n"
		"Prometheus metrics on /metrics, /healthz, /readyz and /status. See docs/agent.md.\n"
		"\n"
		"Options:\n"
		"      --listen ADDR:PORT  metrics and health address (default 127.0.0.1:9965;\n"
		"                          \":PORT\" every address, \"[::1]:PORT\", \"none\")\n"
		"      --pin-root DIR      bpffs root (default %s)\n"
		"      --state-dir DIR     state and history (default %s)\n"
		"      --log-level LEVEL   debug, info, warn or error (default info)\n"
		"      --debounce-ms N     wait for N ms of quiet after a change (default 500)\n"
		"      --resync SECONDS    re-check files and the live generations this often\n"
		"                          (default 60; 0: only on events and SIGHUP)\n"
		"      --lock-wait-ms N    wait this long for another writer's lock (default 5000)\n"
		"      --gc-interval SECONDS  sweep expired conntrack, load balancer and NAT\n"
		"                          flows this often (default 10; 0: never)\n"
		"      --history-keep N    generations whose history stays on disk per chain\n"
		"                          (default %d, min %d; live and previous always)\n"
		"  -h, --help              this help\n"
		"\n"
		"Signals: SIGHUP re-reads and re-applies every spec; SIGTERM exits and\n"
		"leaves the datapath running.\n"
		"Exit codes: 0 after SIGTERM/SIGINT, 1 runtime error at start, 2 usage.\n",
		SL_DEFAULT_PIN_ROOT, SL_DEFAULT_STATE_DIR, SL_HISTORY_KEEP_DEFAULT,
		SL_HISTORY_KEEP_MIN);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char buf[65536];
	const char *p = buf;
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* A verifier log says why at its end. */
	if (n > 2048)
		p = buf + n - 2048;
	LOG(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "libbpf", KS("detail", p));
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "debounce-ms", required_argument, NULL, 'D' },
		{ "resync", required_argument, NULL, 'R' },
		{ "lock-wait-ms", required_argument, NULL, 'W' },
		{ "gc-interval", required_argument, NULL, 'G' },
		{ "history-keep", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *listen = "127.0.0.1:9965";
	uint64_t dirty_at = 0, dirty_first = 0, resync_at, gc_at;
	struct pollfd pfd[2];
	sigset_t mask;
	int opt, sfd, rc = 0;

	agent.debounce_ms = 500;
	agent.resync_s = 60;
	agent.gc_interval_s = 10;
	agent.copts.lock_wait_ms = 5000;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'P': agent.copts.pin_root = optarg; break;
		case 'S': agent.copts.state_dir = optarg; break;
		case 'L':
			if (log_set_level(optarg)) {
				fprintf(stderr, "sluiced: --log-level: \"%s\" is not debug, info, warn or error\n", optarg);
				return 2;
			}
			break;
		case 'D':
			if (parse_int(optarg, 0, 600000, &agent.debounce_ms))
				goto bad_num;
			break;
		case 'R':
			if (parse_int(optarg, 0, 86400, &agent.resync_s))
				goto bad_num;
			break;
		case 'W':
			if (parse_int(optarg, 0, 3600000, &agent.copts.lock_wait_ms))
				goto bad_num;
			break;
		case 'G':
			if (parse_int(optarg, 0, 86400, &agent.gc_interval_s))
				goto bad_num;
			break;
		case 'K': {
			int keep;

			if (parse_int(optarg, SL_HISTORY_KEEP_MIN, 1000000, &keep))
				goto bad_num;
			agent.copts.history_keep = (uint32_t)keep;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "sluiced: name at least one spec file or directory\n");
		usage(stderr);
		return 2;
	}
	agent.paths = argv + optind;
	agent.npaths = argc - optind;
	agent.start_time = wall_s();

	/* Pins, state and history: nobody else's business (CVE-2022-29178). */
	umask(077);
	libbpf_set_print(libbpf_log);
	/* Before 5.11 BPF memory counts against RLIMIT_MEMLOCK; raising it
	 * needs CAP_SYS_RESOURCE, which newer kernels do not need at all. */
	if (setrlimit(RLIMIT_MEMLOCK, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }))
		LOG(LOG_DEBUG, "memlock limit not raised (not needed on Linux >= 5.11)",
		    KS("error", strerror(errno)));
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so that only the signalfd sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || watch_init()) {
		LOG(LOG_ERROR, "cannot set up signals or inotify", KS("error", strerror(errno)));
		return 1;
	}
	agent.heartbeat_ms = mono_ms();
	if (strcmp(listen, "none") && http_start(listen))
		return 1;
	LOG(LOG_INFO, "sluiced starting", KS("listen", listen),
	    KS("pin_root", agent.copts.pin_root ?: SL_DEFAULT_PIN_ROOT),
	    KS("state_dir", agent.copts.state_dir ?: SL_DEFAULT_STATE_DIR),
	    KN("paths", agent.npaths), KN("gc_interval_s", agent.gc_interval_s), KN("pid", getpid()));

	/* Adopt: applying the spec that is already live changes nothing. */
	watch_refresh();
	sources_scan(true);
	watch_refresh();
	sources_apply_due();
	pthread_mutex_lock(&agent.mu);
	agent.started = true;
	pthread_mutex_unlock(&agent.mu);
	resync_at = mono_ms() + (uint64_t)agent.resync_s * 1000;
	gc_at = mono_ms() + (uint64_t)agent.gc_interval_s * 1000;

	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = watch_fd(), .events = POLLIN };
	for (;;) {
		uint64_t now = mono_ms();
		int timeout = 1000, next;

		next = sources_apply_due();
		now = mono_ms();
		if (next >= 0 && next < timeout)
			timeout = next;
		if (agent.gc_interval_s && gc_at > now && gc_at - now < (uint64_t)timeout)
			timeout = (int)(gc_at - now);
		if (dirty_at && (int)(dirty_at - now) < timeout)
			timeout = dirty_at > now ? (int)(dirty_at - now) : 0;
		pthread_mutex_lock(&agent.mu);
		agent.heartbeat_ms = now;
		pthread_mutex_unlock(&agent.mu);
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			LOG(LOG_ERROR, "poll failed", KS("error", strerror(errno)));
			rc = 1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			bool stop = false;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					LOG(LOG_INFO, "SIGHUP: re-reading every spec");
					sources_scan(true);
					watch_refresh();
				} else {
					LOG(LOG_INFO, "exiting; the datapath stays attached and running",
					    KS("signal", strsignal(si.ssi_signo)));
					stop = true;
				}
			}
			if (stop)
				break;
		}
		now = mono_ms();
		if ((pfd[1].revents & POLLIN) && watch_read()) {
			/* Debounce: wait for a quiet period, but not forever. */
			if (!dirty_first)
				dirty_first = now;
			dirty_at = now + agent.debounce_ms;
			if (dirty_at > dirty_first + 10ull * agent.debounce_ms + 1000)
				dirty_at = dirty_first + 10ull * agent.debounce_ms + 1000;
		}
		if (dirty_at && now >= dirty_at) {
			dirty_at = dirty_first = 0;
			sources_scan(false);
			watch_refresh();
		}
		if (agent.gc_interval_s && now >= gc_at) {
			gc_sweep_all();
			gc_at = mono_ms() + (uint64_t)agent.gc_interval_s * 1000;
		}
		if (agent.resync_s && now >= resync_at) {
			resync_at = now + (uint64_t)agent.resync_s * 1000;
			sources_check_live();
			watch_refresh();
		}
	}
	http_stop();
	return rc;
bad_num:
	fprintf(stderr, "sluiced: --%s: \"%s\" is not a number in range\n",
		opts[0].name ? argv[optind - 1] : "", optarg);
	return 2;
}
