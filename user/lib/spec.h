/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The chain spec (sluice.dev/v1alpha1 NetworkFunctionChain): parsed and
 * fully validated into these structs before anything touches the kernel.
 * docs/spec.md is the reference; docs/spec.schema.json the JSON Schema.
 */
#ifndef SLUICE_SPEC_H
#define SLUICE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include "errs.h"

/* Limits, enforced before and during parsing (docs/spec.md). */
#define SPEC_MAX_FILE_BYTES (64u << 20)	/* whole document */
#define SPEC_MAX_DEPTH 16		/* JSON nesting */
#define SPEC_MAX_NAME_LEN 63		/* chain, function names: DNS label */
#define SPEC_MAX_ATTACH 64
#define SPEC_MAX_FUNCTIONS 8		/* = SL_MAX_STAGES */
#define SPEC_MAX_RULES 100000		/* per firewall function */
#define SPEC_MAX_RULE_ID_LEN 63		/* fits struct fw_rule_id */
#define SPEC_MAX_PREFIXES_PER_RULE 4096
#define SPEC_MAX_PORTS_PER_RULE 1024
#define SPEC_MAX_PREFIXES 1000000	/* all rules of one function */

enum spec_hook {
	SPEC_HOOK_XDP = 1,
	SPEC_HOOK_TC_INGRESS,
	SPEC_HOOK_TC_EGRESS,
};

enum spec_xdp_mode {
	SPEC_XDP_NATIVE = 1, /* driver mode; fail when unsupported */
	SPEC_XDP_GENERIC,    /* skb mode */
};

struct spec_attach {
	char ifname[IF_NAMESIZE];
	enum spec_hook hook;
	enum spec_xdp_mode mode; /* XDP only */
};

struct spec_prefix {
	uint8_t family;	   /* 4 or 6 */
	uint8_t plen;
	uint32_t addr[4];  /* network order, host bits zero; IPv4 in addr[0] */
};

struct spec_port_range {
	uint16_t lo, hi; /* inclusive, lo <= hi */
};

enum spec_action {
	SPEC_ACT_ALLOW = 1, /* = FW_ACT_ALLOW */
	SPEC_ACT_DENY = 2,  /* = FW_ACT_DENY */
};

struct spec_fw_rule {
	char *id;
	enum spec_action action;
	bool audit;
	struct spec_prefix *src;	/* nsrc == 0: any source */
	size_t nsrc;
	struct spec_prefix *dst;	/* ndst == 0: any destination */
	size_t ndst;
	int proto;			/* -1: any; else IPPROTO_* */
	struct spec_port_range *sports; /* nsports == 0: any */
	size_t nsports;
	struct spec_port_range *dports;
	size_t ndports;
	int icmp_type;			/* -1: any; needs proto icmp/ipv6-icmp */
	int icmp_code;			/* -1: any; needs icmp_type */
	uint8_t states;			/* 0: any; else bits 1 << SL_CT_*
					 * (shared/ct.h): conntrack states */
};

struct spec_firewall {
	enum spec_action default_action;
	bool audit;
	struct spec_fw_rule *rules;
	size_t nrules;
	void *mem;	/* internal: holds the rules' ids and lists */
};

/* type: conntrack (spec_ct.c, docs/conntrack.md). Timeouts in seconds,
 * in the order of enum ct_timeout (shared/ct.h). */
#define SPEC_CT_NTIMEOUTS 10
#define SPEC_CT_MAX_TIMEOUT 2592000	/* 30 days */
struct spec_conntrack {
	uint32_t table_size;
	uint32_t timeouts[SPEC_CT_NTIMEOUTS];
};

/* type: loadbalancer (spec_lb.c, docs/loadbalancer.md) */
#define SPEC_LB_KEYLEN 128 /* "service:[addr]:port" */
#define SPEC_LB_MAX_SERVICES 1024
#define SPEC_LB_MAX_BACKENDS 1024	/* per service */
enum spec_lb_state {
	SPEC_LB_ACTIVE = 1,	/* = LB_BE_ACTIVE */
	SPEC_LB_DRAINING = 2,	/* = LB_BE_DRAINING */
};
struct spec_lb_backend {
	struct spec_prefix ip;	/* a host address (/32, /128) */
	uint16_t port;
	uint32_t weight;	/* 1-1000; draining: no slots */
	enum spec_lb_state state;
	char key[SPEC_LB_KEYLEN]; /* "service:ip:port": its counter key and
				   * Maglev identity */
};
struct spec_lb_service {
	char *name;
	struct spec_prefix vip;
	uint16_t port;
	uint8_t proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	uint32_t table_size;	/* prime */
	uint8_t mode;		/* LB_MODE_DNAT / LB_MODE_DSR */
	uint8_t encap;		/* dsr: LB_ENCAP_IPIP / LB_ENCAP_GUE */
	uint16_t gue_port;	/* dsr, gue: outer UDP destination port */
	struct spec_prefix encap_src; /* dsr: outer source; family 0: the
				       * node's (lb_compile) */
	struct spec_lb_backend *backends;
	size_t nbackends;
};
/* Idle timeouts of the lb and nat flow tables (spec_flow.c), seconds, in
 * the order of enum flow_state from FLOW_S_TCP_SYN (shared/flow.h). */
#define SPEC_FLOW_NTIMEOUTS 6
struct spec_loadbalancer {
	struct spec_lb_service *services;
	size_t nservices;
	uint32_t flow_table_size;
	uint32_t timeouts[SPEC_FLOW_NTIMEOUTS];
	bool fib;			/* redirect by a FIB lookup */
};

/* type: nat (spec_nat.c, docs/nat.md) */
#define SPEC_NAT_MAX_SOURCES 4096
struct spec_nat {
	uint32_t addr4;			/* network order; 0: none */
	uint32_t addr6[4];		/* network order; all 0: none */
	struct spec_port_range ports;
	struct spec_prefix *sources;
	size_t nsources;
	uint32_t flow_table_size;
	uint32_t timeouts[SPEC_FLOW_NTIMEOUTS];
};

enum spec_fn_type {
	SPEC_FN_FIREWALL = 1,
	SPEC_FN_CONNTRACK = 2,
	SPEC_FN_LOADBALANCER = 3,
	SPEC_FN_NAT = 4,
};

struct spec_function {
	char *name;
	enum spec_fn_type type;
	union {
		struct spec_firewall fw;
		struct spec_conntrack ct;
		struct spec_loadbalancer lb;
		struct spec_nat nat;
	};
};

struct spec {
	char *name;			/* metadata.name: the chain */
	struct spec_attach *attach;
	size_t nattach;
	struct spec_function *fns;
	size_t nfns;
	char *canonical;		/* the document re-serialised compactly,
					 * as cJSON_PrintUnformatted() does */
	char sha256[65];		/* hex sha256 of canonical */
};

/* Parse and validate a document. On failure returns -EINVAL with every
 * problem in errs (paths like "spec.functions[0].rules[2].dst[0]"). */
int spec_parse(const char *buf, size_t len, struct spec **out, struct sl_errs *errs);
/* Read a file (bounded by SPEC_MAX_FILE_BYTES) and spec_parse() it. */
int spec_load_file(const char *path, struct spec **out, struct sl_errs *errs);
void spec_free(struct spec *s);

/* The spec's own words for each value ("tc-ingress", "generic", "deny",
 * "firewall"); "none" for 0 (spec_attach.mode of a TC hook) and "unknown"
 * for anything else. */
const char *spec_hook_str(enum spec_hook h);
const char *spec_xdp_mode_str(enum spec_xdp_mode m);
const char *spec_action_str(enum spec_action a);
const char *spec_fn_type_str(enum spec_fn_type t);

/* The function named name, or NULL. */
const struct spec_function *spec_fn_find(const struct spec *s, const char *name);

/* Address, port and protocol syntax as the spec writes it (spec_net.c),
 * for the CLI and the tests as well. */

/* "10.0.0.0/8", "2001:db8::/32", or a plain address (= /32, /128).
 * Returns 0; -EINVAL when s is not a prefix (why says what is wrong);
 * -ERANGE when host bits are set below the length: *p then holds the
 * prefix the writer probably meant (host bits cleared). */
int spec_prefix_parse(const char *s, struct spec_prefix *p, char *why, size_t whylen);
#define SPEC_PREFIX_STRLEN 48 /* INET6_ADDRSTRLEN + "/128" */
/* "addr/len" into buf; returns buf. */
char *spec_prefix_str(const struct spec_prefix *p, char *buf, size_t len);
/* "N" or "N-M", decimal 0-65535, N <= M. Returns 0, -EINVAL (syntax) or
 * -ERANGE (a port above 65535, or N > M); why says which. */
int spec_port_range_parse(const char *s, struct spec_port_range *r, char *why,
			  size_t whylen);
/* A protocol name ("tcp", "icmpv6", "ipv6-icmp", ... see docs/spec.md) or
 * a decimal number 0-255: the number, or -EINVAL. */
int spec_proto_parse(const char *s);
/* The name of a protocol number ("tcp"), or NULL if it has none. */
const char *spec_proto_str(int proto);

#endif
