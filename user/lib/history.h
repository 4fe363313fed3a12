/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* On-disk history and state of a chain (STATE_DIR/<chain>/):
 *   history/<N>.json  one generation: sha256, times, result, attach points
 *   history/<N>.spec.json      its spec, byte for byte as hashed
 *   history/<N>.counters.json  the counter slot of each function's rules
 * (split so that the O(1) paths, status and rollback, read only the small
 * metadata, whatever the number of rules)
 *   history/log.jsonl one line per apply, rollback and detach
 *   state.json        the live and previous generation as last committed
 * The kernel is the truth about which generation is live (the root
 * PROG_ARRAY slot); state.json is what sluice meant, used to tell the warm
 * previous generation and to recover after a crash between commit and the
 * state write.
 */
#ifndef SLUICE_HISTORY_H
#define SLUICE_HISTORY_H

#include <stdint.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "pin.h"

#define HIST_MAX_FILE (256u << 20)

/* result strings */
#define HIST_STAGED "staged"
#define HIST_COMMITTED "committed"
#define HIST_FAILED "failed"

/* Write the history of a generation. spec_canonical is the spec document;
 * attach its attach list; counters maps function -> rule id -> counter slot
 * (both borrowed, may be NULL). */
int hist_write(const struct chain_paths *p, uint32_t gen, const char *sha256,
	       const char *result, const char *spec_canonical,
	       const cJSON *attach, const cJSON *counters);
/* history/<gen>.counters.json */
int hist_counters(const struct chain_paths *p, uint32_t gen, cJSON **doc);
/* Read history/<gen>.json; *out freed with cJSON_Delete. */
int hist_read(const struct chain_paths *p, uint32_t gen, cJSON **out);
/* The spec of a generation: its text, or parsed. */
int hist_read_spec(const struct chain_paths *p, uint32_t gen, char **text);
int hist_spec_doc(const struct chain_paths *p, uint32_t gen, cJSON **doc);
/* Set result (and the commit time when result is HIST_COMMITTED). */
int hist_set_result(const struct chain_paths *p, uint32_t gen, const char *result);
/* Generations with a history file, ascending. */
int hist_list(const struct chain_paths *p, uint32_t **gens, size_t *n);
/* Keep the history files (meta, spec, counters) of the newest `keep`
 * generations and of live and prev, whatever their age; remove the others'.
 * log.jsonl keeps every line. Returns the number of generations removed or
 * a negative errno. */
int hist_prune(const struct chain_paths *p, uint32_t keep, uint32_t live, uint32_t prev);
/* Append one line to history/log.jsonl. */
int hist_log(const struct chain_paths *p, const char *action, uint32_t gen,
	     const char *sha256, const char *result, const char *msg);

/* state.json: 0 means none. */
int state_read(const struct chain_paths *p, uint32_t *live, uint32_t *prev);
int state_write(const struct chain_paths *p, uint32_t live, uint32_t prev);

/* Convenience accessors on a history document. */
const char *hist_str(const cJSON *h, const char *key);
int64_t hist_num(const cJSON *h, const char *key);

#endif
