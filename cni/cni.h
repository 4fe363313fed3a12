/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluice-cni: the CNI plugin (docs/cni.md). Internal interfaces. */
#ifndef SLUICE_CNI_H
#define SLUICE_CNI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <net/if.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>
#include "shared/cni.h"

/* CNI error codes (spec "Error"), and sluice-cni's own from 100. */
enum cni_code {
	CNI_E_VERSION = 1,	/* incompatible CNI version */
	CNI_E_FIELD = 2,	/* unsupported field in the network config */
	CNI_E_UNKNOWN = 3,	/* container unknown or does not exist */
	CNI_E_ENV = 4,		/* invalid necessary environment variables */
	CNI_E_IO = 5,		/* I/O failure */
	CNI_E_DECODE = 6,	/* failed to decode content */
	CNI_E_CONFIG = 7,	/* invalid network config */
	CNI_E_AGAIN = 11,	/* try again later */
	CNI_E_NOT_AVAILABLE = 50,
	CNI_E_LIMITED = 51,
	CNI_E_NETLINK = 100,	/* the kernel refused a link, address or route */
	CNI_E_IPAM = 101,	/* the IPAM plugin could not run or answered badly */
	CNI_E_CHAIN = 102,	/* the named chain is missing or not at TC */
	CNI_E_CHECK = 103,	/* CHECK found a difference */
	CNI_E_ENDPOINT = 104,	/* the endpoints map */
	CNI_E_DATAPATH = 105,	/* the pod datapath could not be loaded or attached */
	CNI_E_FAULT = 199,	/* test-only fault injection */
};

struct cni_err {
	int code;
	char msg[256];
	char details[512];
};

int cni_fail(struct cni_err *e, int code, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Limits on untrusted input. */
#define CNI_STDIN_MAX (1 << 20)
#define CNI_JSON_DEPTH_MAX 64

struct cni_ip {
	int family;		/* AF_INET / AF_INET6 */
	uint8_t addr[16];
	int plen;
	bool has_gw;
	uint8_t gw[16];
};

struct cni_route {
	int family;
	uint8_t dst[16];
	int plen;
	bool has_gw;
	uint8_t gw[16];
};

#define CNI_MAX_IPS 8
#define CNI_MAX_ROUTES 32

struct cni_ipam_result {
	struct cni_ip ips[CNI_MAX_IPS];
	int nips;
	struct cni_route routes[CNI_MAX_ROUTES];
	int nroutes;
	cJSON *dns;		/* owned */
};

/* nl.c: rtnetlink through libmnl. A socket belongs to the netns it was
 * opened in. */
struct mnl_socket;
struct mnl_socket *cnl_open(void);
void cnl_close(struct mnl_socket *nl);
int cnl_veth_create(struct mnl_socket *nl, const char *host, const char *peer, int peer_nsfd,
		    int mtu);
int cnl_link_get(struct mnl_socket *nl, const char *name, int *ifindex, uint8_t mac[6]);
int cnl_link_up(struct mnl_socket *nl, int ifindex);
int cnl_link_del(struct mnl_socket *nl, int ifindex);
int cnl_addr_add(struct mnl_socket *nl, int ifindex, int family, const uint8_t *addr, int plen);
/* Does ifindex carry addr (any prefix length)? 1 yes, 0 no, <0 error. */
int cnl_addr_has(struct mnl_socket *nl, int ifindex, int family, const uint8_t *addr);
int cnl_route_add(struct mnl_socket *nl, int family, const uint8_t *dst, int plen,
		  const uint8_t *gw, int ifindex, bool link_scope);
/* The output interface of the route to addr, or <0. */
int cnl_route_oif(struct mnl_socket *nl, int family, const uint8_t *addr);

/* nsexec.c: run fn inside the netns of nsfd: save, setns, run, restore. */
int cni_in_netns(int nsfd, int (*fn)(void *), void *arg);
/* Open a netns path, checking that it is a network namespace. */
int cni_netns_open(const char *path);
/* Is nsfd the namespace this process runs in? */
bool cni_netns_is_self(int nsfd);
int cni_sysctl_write(const char *path, const char *val);

/* ipam.c: the IPAM plugin, found in CNI_PATH and executed as the spec says. */
int cni_ipam_find(const char *type, char *path, size_t len, struct cni_err *e);
/* Run the plugin with CNI_COMMAND=cmd and stdin conf (cniVersion rewritten to
 * ver). *out gets its stdout (freed by the caller). */
int cni_ipam_exec(const char *path, const char *cmd, const cJSON *conf, const char *ver,
		  char **out, struct cni_err *e);
/* The highest version <= want the plugin speaks ("" if none). */
int cni_ipam_version(const char *path, const char *want, char *ver, size_t len);
int cni_ipam_parse(const char *out, struct cni_ipam_result *r, struct cni_err *e);
void cni_ipam_result_free(struct cni_ipam_result *r);

/* ep.c: the pinned endpoints map (layout in shared/cni.h). */
/* PIN_ROOT/cni/endpoints, created (with BTF) and pinned when missing;
 * -EPROTO when a pinned map has another layout (an older sluice-cni). */
int cni_ep_map_open(const char *pin_root, bool create);
int cni_ip_from_str(const char *s, int *family, uint8_t addr[16], int *plen);
void cni_ip_to_str(int family, const uint8_t *addr, char *out, size_t len);

#endif
