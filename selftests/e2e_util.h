/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* End-to-end helpers: a client -- router -- server rig with the real
 * `sluice` binary run inside the router namespace, its counters read back
 * through `sluice -j stats`, and real traffic (sockets made inside the
 * client and server namespaces, the real ping).
 */
#ifndef SLUICE_SELFTESTS_E2E_UTIL_H
#define SLUICE_SELFTESTS_E2E_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>
#include "netns.h"

struct e2e_rig {
	char client[NETNS_NAME_MAX], router[NETNS_NAME_MAX], server[NETNS_NAME_MAX];
	char pin[PATH_MAX];   /* private bpffs root (--pin-root) */
	char tmp[PATH_MAX];   /* private temporary dir: specs, outputs */
	char state[PATH_MAX]; /* --state-dir, under tmp */
	char sluice[PATH_MAX];
};

/* The routed topology of netns_routed_create() (router interface "in"
 * facing the client, addresses NETNS_R_*), a private pin root and state
 * dir. */
int e2e_rig_routed(struct e2e_rig *r);
/* The same shape with the caller's interface names and addresses (for
 * specs written for another topology): cidrs are "a.b.c.d/24" or
 * "x::y/64", two per interface (v4 then v6); gateways are the router's. */
struct e2e_topo {
	const char *client_if, *router_in, *router_out, *server_if;
	const char *client4, *client6, *in4, *in6, *out4, *out6, *server4, *server6;
};
int e2e_rig_custom(struct e2e_rig *r, const struct e2e_topo *t);

/* Run `sluice --pin-root P --state-dir S ARGS` in the router namespace;
 * returns its exit code. out (may be NULL) gets stdout and stderr. */
int e2e_sluice(struct e2e_rig *r, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Write text to tmp/name and `sluice apply -f` it; returns the exit code. */
int e2e_apply(struct e2e_rig *r, const char *name, const char *text);
int e2e_write_file(const char *path, const char *text);
/* The live generation from `sluice -j status`, or -1. */
int e2e_live_gen(struct e2e_rig *r);

/* `sluice -j stats`, parsed (cJSON_Delete it), or NULL. */
cJSON *e2e_stats(struct e2e_rig *r);
/* Packets of a rule / of a function's default / of a drop reason; -1 when
 * the stats do not hold it. */
long long e2e_rule_packets(const cJSON *st, const char *fn, const char *id);
long long e2e_default_packets(const cJSON *st, const char *fn);
long long e2e_drop_packets(const cJSON *st, const char *reason);

/* A socket made inside ns (it stays in that namespace whatever thread
 * uses it later). Returns the fd or a negative errno. */
int e2e_socket(const char *ns, int family, int type);
/* "10.0.0.1" or "fd00::1" and a port into a sockaddr; returns the family
 * (AF_INET/AF_INET6) or -EINVAL. */
int e2e_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len);
/* TCP connect from ns to addr:port within timeout_ms. Returns the connected
 * fd, -ETIMEDOUT (no answer), -ECONNREFUSED or another negative errno. */
int e2e_tcp_connect(const char *ns, const char *addr, int port, int timeout_ms);
/* Send len bytes of a pattern (seeded) on a connected socket and read the
 * same bytes back (an echo server) within timeout_ms. 0 when they match. */
int e2e_tcp_echo(int fd, size_t len, unsigned seed, int timeout_ms);
/* A UDP socket in ns bound to port on every address (IPv6, dual-stack),
 * with a large receive buffer. */
int e2e_udp_bind(const char *ns, int port);
/* A UDP socket in ns connected to addr:port. */
int e2e_udp_connect(const char *ns, const char *addr, int port);
/* Receive every datagram queued on fd, waiting up to quiet_ms for each
 * next one; returns how many were received. */
int e2e_udp_drain(int fd, int quiet_ms);
/* Send one datagram and wait up to timeout_ms for a reply with the same
 * bytes (an echo server). 1 echoed, 0 no reply, negative errno. */
int e2e_udp_echo(int fd, const void *buf, size_t len, int timeout_ms);

/* The real ping from ns: count echo requests at interval_ms (>= 2), each
 * reply awaited at most wait_ms. Fills sent/received from its summary.
 * Returns 0 when the summary was read, a negative errno otherwise. */
int e2e_ping(const char *ns, const char *addr, int count, int interval_ms, int wait_ms,
	     int *sent, int *received);

uint64_t e2e_now_ns(void);
void e2e_sleep_ms(int ms);

#endif
