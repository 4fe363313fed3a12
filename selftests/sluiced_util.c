// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluiced selftest helpers; see sluiced_util.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "sluiced_util.h"

int sd_start(struct e2e_rig *r, struct sd_agent *a, int port, const char *logname,
	     const char *prefix, const char *extra, const char *paths)
{
	snprintf(a->bin, sizeof(a->bin), "%s", test__build_path("sluiced"));
	if (access(a->bin, X_OK)) {
		printf("    sluiced: %s is missing: run make\n", a->bin);
		return -ENOENT;
	}
	snprintf(a->log, sizeof(a->log), "%s/%s", r->tmp, logname);
	a->port = port;
	a->pid = netns_spawn(r->router,
			     "%s %s --pin-root %s --state-dir %s --listen 127.0.0.1:%d "
			     "--debounce-ms 100 --log-level debug %s %s 2>>%s",
			     prefix ? prefix : "", a->bin, r->pin, r->state, port, extra, paths,
			     a->log);
	return a->pid > 0 ? 0 : a->pid;
}

int sd_stop(struct sd_agent *a, int sig, int timeout_ms)
{
	int status = -1, waited = 0;
	pid_t w;

	if (a->pid <= 0)
		return -ESRCH;
	kill(a->pid, sig);
	for (;;) {
		w = waitpid(a->pid, &status, WNOHANG);
		if (w == a->pid)
			break;
		if (w < 0 || waited >= timeout_ms) {
			netns_kill(a->pid);
			a->pid = 0;
			return w < 0 ? -errno : -ETIMEDOUT;
		}
		usleep(5000);
		waited += 5;
	}
	netns_kill(a->pid); /* reaped already: only unregisters it */
	a->pid = 0;
	return status;
}

int sd_http(struct e2e_rig *r, int port, const char *path, char *out, size_t len)
{
	char *nl;
	int code = 0, ret;

	out[0] = '\0';
	ret = netns_run_out(r->router, out, len,
			    "curl -s -m 5 -w '\\n%%{http_code}' http://127.0.0.1:%d%s", port,
			    path);
	if (ret < 0)
		return ret;
	nl = strrchr(out, '\n');
	if (!nl)
		return 0;
	code = atoi(nl + 1);
	*nl = '\0';
	return code;
}

int sd_wait_ready(struct e2e_rig *r, int port, int timeout_ms)
{
	char out[4096];
	uint64_t end = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;

	do {
		if (sd_http(r, port, "/readyz", out, sizeof(out)) == 200)
			return 0;
		e2e_sleep_ms(20);
	} while (e2e_now_ns() < end);
	printf("    sluiced: not ready after %d ms: %s\n", timeout_ms, out);
	return -ETIMEDOUT;
}

long sd_log_size(const char *log)
{
	struct stat st;

	return stat(log, &st) ? 0 : (long)st.st_size;
}

int sd_wait_log(const char *log, long from, const char *needle, int timeout_ms)
{
	uint64_t end = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;

	do {
		FILE *f = fopen(log, "r");
		char *buf = NULL;
		long n;

		if (f) {
			fseek(f, 0, SEEK_END);
			n = ftell(f) - from;
			if (n > 0 && (buf = calloc(1, n + 1))) {
				fseek(f, from, SEEK_SET);
				n = fread(buf, 1, n, f);
				buf[n] = '\0';
			}
			fclose(f);
		}
		if (buf && strstr(buf, needle)) {
			free(buf);
			return 0;
		}
		free(buf);
		e2e_sleep_ms(20);
	} while (e2e_now_ns() < end);
	printf("    sluiced: \"%s\" not in %s after %d ms\n", needle, log, timeout_ms);
	return -ETIMEDOUT;
}

double sd_metric(const char *text, const char *series)
{
	size_t l = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, series, l) && p[l] == ' ')
			return strtod(p + l + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

void sd_spec(char *buf, size_t len, const char *chain, const char *extra_rules)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"sluice.dev/v1alpha1\",\"kind\":\"NetworkFunctionChain\","
		 "\"metadata\":{\"name\":\"%s\"},\"spec\":{"
		 "\"attach\":[{\"interface\":\"in\",\"hook\":\"xdp\",\"mode\":\"native\"}],"
		 "\"functions\":[{\"name\":\"fw\",\"type\":\"firewall\",\"defaultAction\":\"deny\","
		 "\"rules\":["
		 "%s"
		 "{\"id\":\"nd-ns\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":135},"
		 "{\"id\":\"nd-na\",\"action\":\"allow\",\"proto\":\"icmpv6\",\"icmpType\":136},"
		 "{\"id\":\"ping4\",\"action\":\"allow\",\"proto\":\"icmp\",\"icmpType\":8,"
		 "\"dst\":[\"" NETNS_R_SERVER4 "\"]},"
		 "{\"id\":\"tcp-long\",\"action\":\"allow\",\"proto\":\"tcp\","
		 "\"dst\":[\"" NETNS_R_SERVER4 "\"],\"dstPorts\":[\"5001-5002\"]},"
		 "{\"id\":\"deny-9090\",\"action\":\"deny\",\"proto\":\"tcp\",\"dstPorts\":[9090]}"
		 "]}]}}\n",
		 chain, extra_rules);
}
