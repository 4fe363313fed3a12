// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The HTTP endpoints, served by libmicrohttpd on its own thread:
 *   /metrics  Prometheus text exposition (metrics.c)
 *   /healthz  200 while the main loop is alive
 *   /readyz   200 when every spec is valid and its generation is live
 *   /status   JSON: per spec and chain, desired and live, last apply, errors
 * GET and HEAD only; no request body is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "sluiced.h"

static struct MHD_Daemon *daemon_;

/* The main loop is alive if it went round recently (an apply of a very
 * large spec may take a while: it counts as alive). */
#define HEARTBEAT_STALE_MS 60000

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code,
				  const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(conn, code, "text/plain; charset=utf-8", s, n);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	char why[512];
	size_t len = 0;
	bool ready;
	char *body;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/metrics")) {
		body = metrics_render(&len);
		if (!body)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
	}
	if (!strcmp(url, "/healthz")) {
		uint64_t hb;
		bool applying;

		pthread_mutex_lock(&agent.mu);
		hb = agent.heartbeat_ms;
		applying = agent.applying;
		pthread_mutex_unlock(&agent.mu);
		if (!applying && mono_ms() - hb > HEARTBEAT_STALE_MS)
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "main loop stuck for %llu ms\n",
					  (unsigned long long)(mono_ms() - hb));
		return reply_text(conn, MHD_HTTP_OK, "ok\n");
	}
	if (!strcmp(url, "/readyz") || !strcmp(url, "/status")) {
		body = status_render(&len, &ready, why, sizeof(why));
		if (!body)
			return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		if (!strcmp(url, "/status"))
			return reply(conn, MHD_HTTP_OK, "application/json", body, len);
		free(body);
		if (!ready)
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: %s\n", why);
		return reply_text(conn, MHD_HTTP_OK, "ready\n");
	}
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK,
				  "sluiced: /metrics /healthz /readyz /status\n");
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	LOG(LOG_WARN, "http", KS("detail", buf));
}

/* "127.0.0.1:9965", "[::1]:9965", ":9965" (every address, v4 and v6). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *flags,
			uint16_t *port)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (!colon)
		return -EINVAL;
	p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	memset(ss, 0, sizeof(*ss));
	if (colon == s) {
		*flags |= MHD_USE_DUAL_STACK;
		return 1; /* no address: MHD binds every one */
	}
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (colon - s < 3 || colon[-1] != ']' || (size_t)(colon - s - 2) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, colon - s - 2);
		host[colon - s - 2] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(*port);
		*flags |= MHD_USE_IPv6;
		return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	if ((size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons(*port);
	return inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1 ? 0 : -EINVAL;
}

int http_start(const char *listen)
{
	unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	uint16_t port;
	int any;

	any = parse_listen(listen, &ss, &flags, &port);
	if (any < 0) {
		LOG(LOG_ERROR, "--listen: not ADDR:PORT, [ADDR6]:PORT or :PORT", KS("listen", listen));
		return -EINVAL;
	}
	if (any)
		daemon_ = MHD_start_daemon(flags, port, NULL, NULL, handler, NULL,
					   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
					   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
					   MHD_OPTION_END);
	else
		daemon_ = MHD_start_daemon(flags, port, NULL, NULL, handler, NULL,
					   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
					   MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
					   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
					   MHD_OPTION_END);
	if (!daemon_) {
		LOG(LOG_ERROR, "cannot serve HTTP (address in use?)", KS("listen", listen));
		return -EADDRINUSE;
	}
	return 0;
}

void http_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
