/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Probing a chain with crafted packets: the packet description language of
 * `sluice trace` and `sluice test`, and one run through the real programs
 * with the per-packet metadata read back.
 *
 *   PROTO SRC[:PORT] DST[:PORT] [flags FSRPAU] [type N] [code N] [vlan ID]
 *
 * PROTO is tcp, udp, sctp, icmp, icmpv6 or a protocol number; an IPv6
 * address with a port is written [ADDR]:PORT. TCP defaults to a SYN, ICMP
 * to an echo request.
 */
#ifndef SLUICE_PROBE_H
#define SLUICE_PROBE_H

#include <arpa/inet.h>
#include "pkt.h"
#include "shared/meta.h"

struct probe_pkt {
	struct pkt_spec ps;
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
};

#define PROBE_USAGE "PROTO SRC[:PORT] DST[:PORT] [flags FSRPAU] [type N] [code N] [vlan ID]"

/* argv[0] is PROTO. -EINVAL on any syntax error. */
int probe_parse(int argc, char **argv, struct probe_pkt *p);
/* The same from one string (split on blanks). */
int probe_parse_str(const char *text, struct probe_pkt *p);

struct probe_result {
	struct sl_meta meta; /* what the programs wrote for this packet */
	uint32_t retval;     /* XDP action */
	int len;	     /* frame bytes */
};

/* Build the frame and run it through entry_fd (BPF_PROG_TEST_RUN) on the
 * current CPU, then read that CPU's metadata from meta_fd. */
int probe_run(int entry_fd, int meta_fd, const struct probe_pkt *p,
	      struct probe_result *res);

#endif
