/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers for the sluiced selftests: the real agent binary started in the
 * router namespace of an e2e rig (its pins and state private to the test),
 * its HTTP endpoints read with curl, its JSON-lines log searched, and the
 * specs the tests apply. */
#ifndef SLUICE_SELFTESTS_SLUICED_UTIL_H
#define SLUICE_SELFTESTS_SLUICED_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "e2e_util.h"

struct sd_agent {
	pid_t pid;
	int port;		/* 127.0.0.1:port in the router namespace */
	char log[PATH_MAX];	/* its stderr */
	char bin[PATH_MAX];
};

/* Start build/sluiced in r->router: --pin-root/--state-dir of the rig,
 * --listen 127.0.0.1:port, --debounce-ms 100, --log-level debug, then
 * `extra` (options, may be "") and `paths`. prefix (may be NULL) goes
 * before the binary (e.g. a setpriv command line). The log is appended to
 * tmp/<logname>. Returns 0 or a negative errno. */
int sd_start(struct e2e_rig *r, struct sd_agent *a, int port, const char *logname,
	     const char *prefix, const char *extra, const char *paths);
/* Send sig and wait up to timeout_ms for the exit. Returns the wait status
 * (>= 0) or a negative errno. */
int sd_stop(struct sd_agent *a, int sig, int timeout_ms);
/* GET http://127.0.0.1:port/path in the router namespace: returns the
 * HTTP status (0: no answer) and the body in out. */
int sd_http(struct e2e_rig *r, int port, const char *path, char *out, size_t len);
/* Poll /readyz until 200; 0, or -ETIMEDOUT. */
int sd_wait_ready(struct e2e_rig *r, int port, int timeout_ms);
/* Wait until the log holds needle at or after byte offset from (so that a
 * test can wait for what follows an action); 0, or -ETIMEDOUT. */
int sd_wait_log(const char *log, long from, const char *needle, int timeout_ms);
long sd_log_size(const char *log);
/* One sample's value from an exposition: the first line starting with
 * `series` (name and labels, as printed) ; -1 when absent. */
double sd_metric(const char *text, const char *series);

/* A firewall spec for the routed rig: default deny, IPv6 neighbour
 * discovery allowed, ping to the server ("ping4"), TCP to the server's
 * ports 5001-5002 ("tcp-long"), TCP 9090 denied ("deny-9090"), plus
 * `extra_rules` (JSON rule objects, each followed by a comma, or ""). */
void sd_spec(char *buf, size_t len, const char *chain, const char *extra_rules);

#endif
