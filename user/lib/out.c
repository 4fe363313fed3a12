// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "out.h"

#define OUT_MAX_DEPTH 16

static bool json_mode, pretty_mode;
static cJSON *stack[OUT_MAX_DEPTH];
static int depth = -1;

void out_init(bool json, bool pretty)
{
	json_mode = json || pretty;
	pretty_mode = pretty;
}

bool out_is_json(void)
{
	return json_mode;
}

static void attach(const char *key, cJSON *item)
{
	cJSON *parent;

	if (depth < 0) {
		/* a bare value at the root */
		stack[++depth] = item;
		return;
	}
	parent = stack[depth];
	if (cJSON_IsArray(parent))
		cJSON_AddItemToArray(parent, item);
	else
		cJSON_AddItemToObject(parent, key ? key : "", item);
}

static void push(const char *key, cJSON *item)
{
	if (!json_mode)
		return;
	if (depth < 0) {
		stack[++depth] = item;
		return;
	}
	attach(key, item);
	if (depth + 1 < OUT_MAX_DEPTH)
		stack[++depth] = item;
}

void out_obj_begin(const char *key)
{
	if (json_mode)
		push(key, cJSON_CreateObject());
}

void out_arr_begin(const char *key)
{
	if (json_mode)
		push(key, cJSON_CreateArray());
}

static void pop(void)
{
	if (json_mode && depth > 0)
		depth--;
}

void out_obj_end(void)
{
	pop();
}

void out_arr_end(void)
{
	pop();
}

void out_str(const char *key, const char *fmt, const char *val)
{
	if (json_mode) {
		attach(key, val ? cJSON_CreateString(val) : cJSON_CreateNull());
		return;
	}
	if (fmt)
		printf(fmt, val ? val : "-");
}

void out_u64(const char *key, const char *fmt, uint64_t val)
{
	if (json_mode) {
		/* cJSON stores numbers as double: exact up to 2^53. */
		attach(key, cJSON_CreateNumber((double)val));
		return;
	}
	if (fmt)
		printf(fmt, (unsigned long long)val);
}

void out_i64(const char *key, const char *fmt, int64_t val)
{
	if (json_mode) {
		attach(key, cJSON_CreateNumber((double)val));
		return;
	}
	if (fmt)
		printf(fmt, (long long)val);
}

void out_bool(const char *key, const char *fmt, bool val)
{
	if (json_mode) {
		attach(key, cJSON_CreateBool(val));
		return;
	}
	if (fmt)
		printf(fmt, val ? "yes" : "no");
}

void out_human(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void out_finish(void)
{
	char *s;

	if (!json_mode || depth < 0)
		return;
	s = pretty_mode ? cJSON_Print(stack[0]) : cJSON_PrintUnformatted(stack[0]);
	if (s) {
		puts(s);
		free(s);
	}
	cJSON_Delete(stack[0]);
	depth = -1;
	fflush(stdout);
}

void out_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_mode) {
		cJSON *o = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(o, "error", msg);
		s = cJSON_PrintUnformatted(o);
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(o);
		return;
	}
	fprintf(stderr, "sluice: %s\n", msg);
}

const char *out_fmt_time(int64_t t)
{
	static char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm))
		return "-";
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
