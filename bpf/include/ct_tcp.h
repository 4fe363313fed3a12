/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The TCP state machine of conntrack (docs/conntrack.md, "TCP"): one step
 * per packet of a tracked flow. Pure: no maps, no packet; the stage applies
 * the result. No sequence-number window tracking: the machine follows the
 * flags only. */
#ifndef SLUICE_CT_TCP_H
#define SLUICE_CT_TCP_H

#include "shared/ct.h"

#define CT_TCP_FIN 0x01
#define CT_TCP_SYN 0x02
#define CT_TCP_RST 0x04
#define CT_TCP_ACK 0x10

/* May a packet with these flags open a TCP flow? Only a plain SYN (no ACK,
 * FIN or RST; ECE/CWR/PSH/URG do not matter). */
static __always_inline int ct_tcp_opens(__u8 f)
{
	return (f & (CT_TCP_SYN | CT_TCP_ACK | CT_TCP_FIN | CT_TCP_RST)) == CT_TCP_SYN;
}

/* Flags no segment may carry: SYN with FIN or RST; no flag of the four. */
static __always_inline int ct_tcp_bad_flags(__u8 f)
{
	if ((f & CT_TCP_SYN) && (f & (CT_TCP_FIN | CT_TCP_RST)))
		return 1;
	return !(f & (CT_TCP_SYN | CT_TCP_ACK | CT_TCP_FIN | CT_TCP_RST));
}

/* Result of a step */
#define CT_STEP_OK 0	  /* the packet fits the flow; state/flags updated */
#define CT_STEP_INVALID 1 /* it does not; nothing changes */
#define CT_STEP_REOPEN 2  /* a SYN opening a new flow on a closed one's key */

/* One step: the entry's state and flags (in/out), the packet's direction
 * (reply: from the answerer) and TCP flags. */
static __always_inline int ct_tcp_step(__u8 *state, __u8 *eflags, int reply, __u8 f)
{
	__u8 fin_me = reply ? CT_F_FIN_REPLY : CT_F_FIN_ORIG;
	__u8 s = *state;

	if (ct_tcp_bad_flags(f))
		return CT_STEP_INVALID;
	if (f & CT_TCP_RST) {
		*state = CT_S_TCP_CLOSE;
		return CT_STEP_OK;
	}
	if (f & CT_TCP_SYN) {
		if (!(f & CT_TCP_ACK)) { /* a plain SYN */
			if (s == CT_S_TCP_CLOSE || s == CT_S_TCP_CLOSING)
				return CT_STEP_REOPEN; /* the port is reused */
			/* the opener retransmits before or after the answer */
			if (!reply && (s == CT_S_TCP_SYN_SENT || s == CT_S_TCP_SYN_RECV))
				return CT_STEP_OK;
			return CT_STEP_INVALID;
		}
		/* SYN+ACK: only the answerer, answering */
		if (reply && (s == CT_S_TCP_SYN_SENT || s == CT_S_TCP_SYN_RECV)) {
			*state = CT_S_TCP_SYN_RECV;
			*eflags |= CT_F_SEEN_REPLY;
			return CT_STEP_OK;
		}
		return CT_STEP_INVALID;
	}
	/* No SYN, no RST: a segment of an open connection must carry ACK. */
	if (!(f & CT_TCP_ACK))
		return CT_STEP_INVALID;
	switch (s) {
	case CT_S_TCP_SYN_SENT: /* nothing to acknowledge yet */
	case CT_S_TCP_CLOSE:
		return CT_STEP_INVALID;
	case CT_S_TCP_SYN_RECV:
		if (reply)
			break; /* the answerer's ACKs: wait for the opener's */
		s = CT_S_TCP_ESTABLISHED;
		/* fall through */
	case CT_S_TCP_ESTABLISHED:
	case CT_S_TCP_FIN_WAIT:
		if (f & CT_TCP_FIN) {
			*eflags |= fin_me;
			s = (*eflags & (CT_F_FIN_ORIG | CT_F_FIN_REPLY)) ==
					    (CT_F_FIN_ORIG | CT_F_FIN_REPLY) ?
				    CT_S_TCP_CLOSING : CT_S_TCP_FIN_WAIT;
		}
		*state = s;
		break;
	default: /* CLOSING: the last ACKs */
		break;
	}
	if (reply)
		*eflags |= CT_F_SEEN_REPLY;
	return CT_STEP_OK;
}

static __always_inline __u32 ct_tcp_timeout_idx(__u8 state)
{
	switch (state) {
	case CT_S_TCP_SYN_SENT:
		return CT_TO_TCP_SYN_SENT;
	case CT_S_TCP_SYN_RECV:
		return CT_TO_TCP_SYN_RECV;
	case CT_S_TCP_ESTABLISHED:
		return CT_TO_TCP_ESTABLISHED;
	case CT_S_TCP_FIN_WAIT:
		return CT_TO_TCP_FIN_WAIT;
	case CT_S_TCP_CLOSING:
		return CT_TO_TCP_CLOSING;
	default:
		return CT_TO_TCP_CLOSE;
	}
}

#endif
