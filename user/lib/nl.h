/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Netlink (rtnetlink through libmnl): what the kernel says about a link. */
#ifndef SLUICE_NL_H
#define SLUICE_NL_H

#include <stdint.h>

/* XDP state of a device: attached is XDP_ATTACHED_* (linux/if_link.h),
 * prog_id the program in the mode that is attached (0: none). */
int nl_xdp_query(int ifindex, uint8_t *attached, uint32_t *prog_id);
/* "native", "generic", "offload", "multi" or "none". */
const char *nl_xdp_mode_str(uint8_t attached);

#endif
