/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Running sluice-cni the way a container runtime does (environment, stdin,
 * stdout, exit status), from a node namespace, and counting what it left. */
#ifndef SLUICE_SELFTESTS_CNI_UTIL_H
#define SLUICE_SELFTESTS_CNI_UTIL_H

#include <stddef.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "netns.h"

struct cni_rig {
	char node[NETNS_NAME_MAX];	/* where the plugin runs (the "host") */
	char pin[4096], tmp[4096];	/* private pin root and temp dir */
	char state[4200], ipam[4200];	/* stateDir and host-local dataDir */
	char plugin[4096];
	char cni_path[8400];
	int oldns;			/* the test's netns, to restore */
};

int cni_rig_setup(struct cni_rig *r);
void cni_rig_teardown(struct cni_rig *r);
/* A network config: version, network name, subnet; extra (may be NULL) is
 * merged in (its keys replace ours). Freed by the caller. */
char *cni_conf(struct cni_rig *r, const char *ver, const char *net, const char *subnet,
	       const char *extra);
/* Run the plugin in the node netns: cmd, container id, netns path, ifname,
 * more "K=V" environment entries (NULL-terminated, may be NULL), stdin.
 * Returns the exit status; out gets stdout. */
int cni_exec(struct cni_rig *r, const char *cmd, const char *cid, const char *netns,
	     const char *ifname, const char *const *env, const char *in, size_t inlen, char *out,
	     size_t outlen);
/* The error code in an error result, or -1. */
int cni_err_code(const char *out);
/* Host veths (sl*) in the node netns; IPAM reservations of a network;
 * records of a network; endpoints map entries. */
int cni_count_links(struct cni_rig *r);
int cni_count_ipam(struct cni_rig *r, const char *net);
int cni_count_records(struct cni_rig *r, const char *net);
int cni_count_endpoints(struct cni_rig *r);

#endif
