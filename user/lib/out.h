/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Output in bpftool's style: every field goes through one printer call that
 * serves both modes (as iproute2's print_*(PRINT_ANY, ...)): in JSON mode
 * (-j compact, -p pretty) the key and value go into the document printed by
 * out_finish(); in human mode the value is printed with the given format,
 * or not at all when the format is NULL.
 */
#ifndef SLUICE_OUT_H
#define SLUICE_OUT_H

#include <stdbool.h>
#include <stdint.h>

void out_init(bool json, bool pretty);
bool out_is_json(void);
/* Objects and arrays; key is ignored inside arrays and for the root. */
void out_obj_begin(const char *key);
void out_obj_end(void);
void out_arr_begin(const char *key);
void out_arr_end(void);

void out_str(const char *key, const char *fmt, const char *val);
void out_u64(const char *key, const char *fmt, uint64_t val);
void out_i64(const char *key, const char *fmt, int64_t val);
void out_bool(const char *key, const char *fmt, bool val);
/* Human text only (headers, separators). */
void out_human(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the JSON document (JSON mode) and reset. */
void out_finish(void);
/* An error: {"error": msg} on stdout in JSON mode, "sluice: msg" on stderr
 * otherwise. */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "12.3 KiB"-style byte and count formatting for human output. */
const char *out_fmt_time(int64_t unix_secs);

#endif
