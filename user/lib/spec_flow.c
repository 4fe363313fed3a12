// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* "timeouts" of the loadbalancer and nat functions: the idle timeouts of
 * their flow tables per flow state (shared/flow.h; docs/loadbalancer.md,
 * docs/nat.md). */
#include <string.h>
#include "spec_int.h"
#include "shared/flow.h"

_Static_assert(SPEC_FLOW_NTIMEOUTS == FLOW_NTIMEOUTS, "spec and ABI timeouts differ");

/* In the order of enum flow_state from FLOW_S_TCP_SYN. */
const char *const spec_flow_timeout_keys[] = {
	"tcpSynSent", "tcpEstablished", "tcpClosing", "udp", "udpReplied", "icmp", NULL,
};
/* The same without icmp (the load balancer has no ICMP flows). */
static const char *const lb_keys[] = {
	"tcpSynSent", "tcpEstablished", "tcpClosing", "udp", "udpReplied", NULL,
};
static const uint32_t defaults[SPEC_FLOW_NTIMEOUTS] = FLOW_TO_DEFAULTS;

void spec_flow_timeouts(struct pctx *c, const cJSON *v, uint32_t *timeouts, bool icmp)
{
	const cJSON *tv[SPEC_FLOW_NTIMEOUTS + 1] = { 0 };
	size_t m, i;
	long l;

	memcpy(timeouts, defaults, sizeof(defaults));
	if (!v)
		return;
	m = path_key(c, "timeouts");
	if (obj_fields(c, v, icmp ? spec_flow_timeout_keys : lb_keys, tv)) {
		for (i = 0; i < SPEC_FLOW_NTIMEOUTS; i++)
			if (tv[i] && get_int(c, spec_flow_timeout_keys[i], tv[i], 1, FLOW_TO_MAX_S,
					     &l))
				timeouts[i] = (uint32_t)l;
	}
	path_pop(c, m);
}
