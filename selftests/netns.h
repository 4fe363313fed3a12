/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Network namespaces, veth pairs, background servers and private pin roots
 * for selftests, with guaranteed cleanup.
 *
 * Names are unique to the test process: "slt-<pid>-<n>[-<tag>]" for
 * namespaces (/run/netns/), pin roots (/sys/fs/bpf/) and temporary dirs
 * (/tmp/). Everything is registered when it is created and torn down:
 *  - when the test calls netns_cleanup_all() (do it at the end, after
 *    goto cleanup);
 *  - when the test dies of SIGTERM or SIGALRM (the runner's timeout): a
 *    handler tears everything down before the signal ends the process;
 *  - whenever the test process ends in any other way (return, _exit, a
 *    crash, SIGKILL): a watchdog process, started at the first
 *    registration and detached from the test's process group, waits for the
 *    test to go and sweeps every "slt-<pid>-*" object left behind;
 *  - and before every run, selftests/run.sh sweeps the objects of test
 *    processes that no longer exist.
 *
 * Interface names live inside the namespaces, so tests can use fixed names
 * (veth0, eth0) and fixed private addresses without colliding.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure; failures are also logged to stdout.
 */
#ifndef SLUICE_SELFTESTS_NETNS_H
#define SLUICE_SELFTESTS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NETNS_NAME_MAX 48
#define NETNS_PREFIX "slt-"

/* Create a namespace "slt-<pid>-<n>[-<tag>]" (tag may be NULL, at most 16
 * chars of [A-Za-z0-9_]) with lo up, and register it. name receives the
 * name (NETNS_NAME_MAX bytes). */
int netns_create(const char *tag, char *name);
/* Kill what runs inside the namespace and delete it (idempotent). */
int netns_delete(const char *name);
/* Path of a namespace's file: "/run/netns/<name>" (static buffer). */
const char *netns_path(const char *name);

/* A veth pair: if_a in ns_a, if_b in ns_b, both up. A NULL namespace is the
 * one the test runs in. */
int netns_veth(const char *ns_a, const char *if_a, const char *ns_b,
	       const char *if_b);
/* "10.250.0.1/24" or "fd00:250::1/64". Namespaces made here run without
 * IPv6 duplicate address detection: addresses are usable at once. */
int netns_addr(const char *ns, const char *ifname, const char *cidr);
/* A route: dst "default" or a prefix, via a gateway address. */
int netns_route(const char *ns, const char *dst, const char *via);
/* Write a sysctl inside the namespace ("net.ipv4.ip_forward", "1"). */
int netns_sysctl(const char *ns, const char *key, const char *value);

/* Run `sh -c CMD` inside ns (NULL: here). Returns the exit status (0-255,
 * 128 + signal when killed) or a negative errno. Its stdout goes to
 * /dev/null unless the runner is verbose; stderr is kept. */
int netns_run(const char *ns, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same, capturing stdout (NUL-terminated, truncated to len - 1). */
int netns_run_out(const char *ns, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Start `sh -c "exec CMD"` in the background inside ns; registered, and
 * killed by netns_kill() or at cleanup. Returns the pid or a negative
 * errno. */
pid_t netns_spawn(const char *ns, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* SIGTERM, then SIGKILL after 1 s; reaps and unregisters. */
int netns_kill(pid_t pid);
/* Wait until something listens on a local port inside ns: proto is
 * IPPROTO_TCP (LISTEN) or IPPROTO_UDP (bound). 0, or -ETIMEDOUT. */
int netns_wait_listen(const char *ns, int proto, int port, int timeout_ms);

/* Move this thread into ns. Returns an fd of the namespace it was in, to
 * hand to netns_restore(), or a negative errno. */
int netns_enter(const char *ns);
int netns_restore(int oldfd);

/* A private bpffs pin root "/sys/fs/bpf/slt-<pid>-<n>" (0700) and a private
 * temporary dir "/tmp/slt-<pid>-<n>" (0700, e.g. a --state-dir), both
 * registered and removed recursively at cleanup. path gets PATH_MAX-sized
 * text; len is its size. */
int netns_pin_root(char *path, size_t len);
int netns_tmpdir(char *path, size_t len);

/* Register a namespace made by other means (e.g. by the code under test) so
 * that it is deleted at cleanup too. */
int netns_register(const char *name);

/* Tear down everything this process registered or named "slt-<pid>-*":
 * background processes, namespaces (and processes inside), pin roots and
 * temporary dirs. Safe to call more than once. */
void netns_cleanup_all(void);

/* Is a program on PATH? For test__skip() when an outside tool is missing. */
bool netns_have_tool(const char *name);

/* Two namespaces joined by veth0 <-> veth0:
 *   a: 10.250.0.1/24 fd00:250::1/64   b: 10.250.0.2/24 fd00:250::2/64 */
#define NETNS_PAIR_A4 "10.250.0.1"
#define NETNS_PAIR_B4 "10.250.0.2"
#define NETNS_PAIR_A6 "fd00:250::1"
#define NETNS_PAIR_B6 "fd00:250::2"
struct netns_pair {
	char a[NETNS_NAME_MAX];
	char b[NETNS_NAME_MAX];
};
int netns_pair_create(struct netns_pair *p);

/* client -- router -- server, the router forwarding (the place to attach a
 * chain: XDP on "in" sees client -> server traffic):
 *   client eth0 10.250.1.2/24 fd00:250:1::2/64  <->  router in  .1.1 / ::1
 *   router out 10.250.2.1/24 fd00:250:2::1/64   <->  server eth0 .2.2 / ::2
 * Client and server route everything through the router. */
#define NETNS_R_CLIENT4 "10.250.1.2"
#define NETNS_R_CLIENT6 "fd00:250:1::2"
#define NETNS_R_SERVER4 "10.250.2.2"
#define NETNS_R_SERVER6 "fd00:250:2::2"
struct netns_routed {
	char client[NETNS_NAME_MAX];
	char router[NETNS_NAME_MAX];
	char server[NETNS_NAME_MAX];
};
int netns_routed_create(struct netns_routed *t);

#endif
