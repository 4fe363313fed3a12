// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* End-to-end helpers; see e2e_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test_progs.h"
#include "e2e_util.h"

uint64_t e2e_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void e2e_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int e2e_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static int rig_dirs(struct e2e_rig *r)
{
	int err;

	err = netns_pin_root(r->pin, sizeof(r->pin));
	if (!err)
		err = netns_tmpdir(r->tmp, sizeof(r->tmp));
	if (err)
		return err;
	snprintf(r->state, sizeof(r->state), "%s/state", r->tmp);
	snprintf(r->sluice, sizeof(r->sluice), "%s", test__build_path("sluice"));
	if (access(r->sluice, X_OK)) {
		printf("    e2e: %s is missing: run make\n", r->sluice);
		return -ENOENT;
	}
	return 0;
}

int e2e_rig_routed(struct e2e_rig *r)
{
	struct netns_routed t;
	int err;

	err = netns_routed_create(&t);
	if (err)
		return err;
	memcpy(r->client, t.client, sizeof(r->client));
	memcpy(r->router, t.router, sizeof(r->router));
	memcpy(r->server, t.server, sizeof(r->server));
	return rig_dirs(r);
}

static int addr2(const char *ns, const char *ifname, const char *a4, const char *a6)
{
	int err = netns_addr(ns, ifname, a4);

	return err ? err : netns_addr(ns, ifname, a6);
}

/* "10.200.1.1/24" -> "10.200.1.1" */
static const char *host_of(const char *cidr, char *buf, size_t len)
{
	snprintf(buf, len, "%s", cidr);
	if (strchr(buf, '/'))
		*strchr(buf, '/') = '\0';
	return buf;
}

int e2e_rig_custom(struct e2e_rig *r, const struct e2e_topo *t)
{
	char gw[64];
	int err;

	err = netns_create("client", r->client);
	if (!err)
		err = netns_create("router", r->router);
	if (!err)
		err = netns_create("server", r->server);
	if (!err)
		err = netns_veth(r->client, t->client_if, r->router, t->router_in);
	if (!err)
		err = netns_veth(r->router, t->router_out, r->server, t->server_if);
	if (!err)
		err = addr2(r->client, t->client_if, t->client4, t->client6);
	if (!err)
		err = addr2(r->router, t->router_in, t->in4, t->in6);
	if (!err)
		err = addr2(r->router, t->router_out, t->out4, t->out6);
	if (!err)
		err = addr2(r->server, t->server_if, t->server4, t->server6);
	if (!err)
		err = netns_sysctl(r->router, "net.ipv4.ip_forward", "1");
	if (!err)
		err = netns_sysctl(r->router, "net.ipv6.conf.all.forwarding", "1");
	if (!err)
		err = netns_route(r->client, "default", host_of(t->in4, gw, sizeof(gw)));
	if (!err)
		err = netns_route(r->client, "default", host_of(t->in6, gw, sizeof(gw)));
	if (!err)
		err = netns_route(r->server, "default", host_of(t->out4, gw, sizeof(gw)));
	if (!err)
		err = netns_route(r->server, "default", host_of(t->out6, gw, sizeof(gw)));
	return err ? err : rig_dirs(r);
}

int e2e_sluice(struct e2e_rig *r, char *out, size_t len, const char *fmt, ...)
{
	char args[1024], buf[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return netns_run_out(r->router, out ? out : buf, out ? len : sizeof(buf),
			     "%s --pin-root %s --state-dir %s %s 2>&1", r->sluice, r->pin,
			     r->state, args);
}

int e2e_apply(struct e2e_rig *r, const char *name, const char *text)
{
	char path[PATH_MAX + 64], out[16384];
	int err;

	snprintf(path, sizeof(path), "%s/%s", r->tmp, name);
	err = e2e_write_file(path, text);
	if (err)
		return err;
	err = e2e_sluice(r, out, sizeof(out), "apply -f %s", path);
	if (err)
		printf("    e2e: sluice apply -f %s exited %d:\n%s\n", name, err, out);
	return err;
}

int e2e_live_gen(struct e2e_rig *r)
{
	char out[16384];
	cJSON *j, *live, *g;
	int gen = -1;

	if (e2e_sluice(r, out, sizeof(out), "-j status"))
		return -1;
	j = cJSON_Parse(out);
	live = cJSON_GetObjectItemCaseSensitive(j, "live");
	g = cJSON_GetObjectItemCaseSensitive(live, "generation");
	if (cJSON_IsNumber(g))
		gen = (int)g->valuedouble;
	cJSON_Delete(j);
	return gen;
}

cJSON *e2e_stats(struct e2e_rig *r)
{
	static char out[1 << 17];
	cJSON *j;
	int err;

	err = e2e_sluice(r, out, sizeof(out), "-j stats");
	if (err) {
		printf("    e2e: sluice -j stats exited %d: %s\n", err, out);
		return NULL;
	}
	j = cJSON_Parse(out);
	if (!j)
		printf("    e2e: sluice -j stats is not JSON: %.200s\n", out);
	return j;
}

static long long num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

static const cJSON *find_fn(const cJSON *st, const char *fn)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(st, "functions")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, fn))
			return f;
	}
	return NULL;
}

long long e2e_rule_packets(const cJSON *st, const char *fn, const char *id)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(find_fn(st, fn), "rules")) {
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(r, "id");

		if (cJSON_IsString(i) && !strcmp(i->valuestring, id))
			return num(r, "packets");
	}
	return -1;
}

long long e2e_default_packets(const cJSON *st, const char *fn)
{
	const cJSON *f = find_fn(st, fn);

	return f ? num(cJSON_GetObjectItemCaseSensitive(f, "default"), "packets") : -1;
}

long long e2e_drop_packets(const cJSON *st, const char *reason)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(st, "drops")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "reason");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, reason))
			return num(d, "packets");
	}
	return -1;
}

int e2e_socket(const char *ns, int family, int type)
{
	int old, fd, err;

	old = netns_enter(ns);
	if (old < 0)
		return old;
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	netns_restore(old);
	return err ? err : fd;
}

int e2e_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -EINVAL;
}

int e2e_tcp_connect(const char *ns, const char *addr, int port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl, el = sizeof(int);
	struct pollfd pfd;
	int fd, family, err = 0, soerr = 0, flags;

	family = e2e_addr(addr, port, &ss, &sl);
	if (family < 0)
		return family;
	fd = e2e_socket(ns, family, SOCK_STREAM);
	if (fd < 0)
		return fd;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		err = -errno;
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	err = poll(&pfd, 1, timeout_ms);
	if (err == 0) {
		err = -ETIMEDOUT;
		goto fail;
	}
	if (err < 0) {
		err = -errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) || soerr) {
		err = soerr ? -soerr : -errno;
		goto fail;
	}
	fcntl(fd, F_SETFL, flags);
	return fd;
fail:
	close(fd);
	return err;
}

static uint8_t pattern(unsigned seed, size_t i)
{
	return (uint8_t)((i * 2654435761u + seed) >> 7);
}

int e2e_tcp_echo(int fd, size_t len, unsigned seed, int timeout_ms)
{
	uint64_t deadline = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;
	size_t sent = 0, got = 0, i;
	uint8_t buf[4096];
	struct pollfd pfd = { .fd = fd };
	ssize_t n;
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	while (got < len) {
		int64_t left = (int64_t)(deadline - e2e_now_ns()) / 1000000;

		if (left <= 0)
			break;
		pfd.events = POLLIN | (sent < len ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < len) {
			size_t k = len - sent < sizeof(buf) ? len - sent : sizeof(buf);

			for (i = 0; i < k; i++)
				buf[i] = pattern(seed, sent + i);
			n = send(fd, buf, k, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
			else if (n < 0 && errno != EAGAIN)
				break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0 && !(n < 0 && errno == EAGAIN))
				break;
			for (i = 0; n > 0 && i < (size_t)n; i++) {
				if (buf[i] != pattern(seed, got + i)) {
					fcntl(fd, F_SETFL, flags);
					return -EBADMSG;
				}
			}
			if (n > 0)
				got += n;
		}
	}
	fcntl(fd, F_SETFL, flags);
	return got == len ? 0 : -ETIMEDOUT;
}

int e2e_udp_bind(const char *ns, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int fd, off = 0, buf = 4 << 20, err;

	fd = e2e_socket(ns, AF_INET6, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	/* root: past net.core.rmem_max */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int e2e_udp_connect(const char *ns, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, family, err;

	family = e2e_addr(addr, port, &ss, &sl);
	if (family < 0)
		return family;
	fd = e2e_socket(ns, family, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int e2e_udp_drain(int fd, int quiet_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[2048];
	int n = 0;

	while (poll(&pfd, 1, quiet_ms) > 0) {
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			n++;
	}
	return n;
}

int e2e_udp_echo(int fd, const void *msg, size_t len, int timeout_ms)
{
	uint64_t deadline = e2e_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[2048];
	ssize_t n;

	if (send(fd, msg, len, 0) != (ssize_t)len)
		return -errno;
	for (;;) {
		int64_t left = (int64_t)(deadline - e2e_now_ns()) / 1000000;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		/* An ICMP error shows as ECONNREFUSED: not an echo. */
		if (n == (ssize_t)len && !memcmp(buf, msg, len))
			return 1;
	}
}

int e2e_ping(const char *ns, const char *addr, int count, int interval_ms, int wait_ms,
	     int *sent, int *received)
{
	char out[8192], *p;
	int ret;

	*sent = *received = -1;
	/* -n: no name lookups; -q: only the summary. */
	ret = netns_run_out(ns, out, sizeof(out), "ping -n -q -c %d -i %d.%03d -W %d.%03d %s 2>&1",
			    count, interval_ms / 1000, interval_ms % 1000, wait_ms / 1000,
			    wait_ms % 1000, addr);
	if (ret < 0)
		return ret;
	p = strstr(out, " packets transmitted, ");
	if (!p) {
		printf("    e2e: ping %s: no summary (exit %d): %s\n", addr, ret, out);
		return -EIO;
	}
	while (p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (sscanf(p, "%d packets transmitted, %d received", sent, received) != 2)
		return -EIO;
	return 0;
}
