// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON-lines logging on stderr: one object per line with time (RFC 3339,
 * UTC, milliseconds), level, msg and the event's own fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "sluiced.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_set_level(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			min_level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_kv(enum log_level lvl, const char *msg, const struct kv *kv)
{
	struct timespec ts;
	struct tm tm;
	char when[40];
	cJSON *o;
	char *line;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ",
		 ts.tv_nsec / 1000000);
	o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "level", level_names[lvl]);
	cJSON_AddStringToObject(o, "msg", msg);
	for (; kv && kv->t; kv++) {
		switch (kv->t) {
		case 's':
			cJSON_AddStringToObject(o, kv->k, kv->s ? kv->s : "");
			break;
		case 'n':
			cJSON_AddNumberToObject(o, kv->k, kv->n);
			break;
		case 'b':
			cJSON_AddBoolToObject(o, kv->k, kv->n != 0);
			break;
		}
	}
	line = cJSON_PrintUnformatted(o);
	if (line) {
		/* One write per line: lines of two threads never interleave. */
		size_t n = strlen(line);

		line[n] = '\n';
		fwrite(line, 1, n + 1, stderr);
		fflush(stderr);
		line[n] = '\0';
	}
	cJSON_free(line);
	cJSON_Delete(o);
}
