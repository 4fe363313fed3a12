/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names of the datapath's enums, as the CLI and the metrics print them. */
#ifndef SLUICE_NAMES_H
#define SLUICE_NAMES_H

/* enum sl_drop_reason -> "firewall_deny"; "unknown" when out of range. */
const char *drop_reason_str(unsigned int reason);
/* enum sl_verdict -> "pass", "drop", "continue", "audit". */
const char *verdict_str(unsigned int verdict);

#endif
