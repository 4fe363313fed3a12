/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The selftest harness, in the style of the kernel's BPF selftests.
 *
 * A test is `void test_<name>(void)` in selftests/prog_tests/<file>.c; the
 * list is generated from those definitions. Tests use the ASSERT_* macros
 * (each returns the bool it checked and logs name and values on failure),
 * may split into subtests with test__start_subtest(), and clean up with
 * goto. A test that makes no assertion fails. Each test runs in its own
 * forked process with a timeout, so a crash is one failure, not the end.
 */
#ifndef SLUICE_TEST_PROGS_H
#define SLUICE_TEST_PROGS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <stdint.h>
#include <inttypes.h>

struct test_env {
	const char *test_name;
	const char *subtest_name;
	const char *sub_filter;	   /* -t a/b: only subtests containing b */
	const char *build_dir;	   /* where sluice and the BPF objects are */
	const char *src_dir;	   /* the source tree (examples/, selftests/) */
	int verbose;
	long nasserts;		   /* assertions made by this test */
	long nfailed;		   /* assertions failed by this test */
	bool skipped;
	char skip_reason[256];
};

extern struct test_env env;

void test__fail_log(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Returns false when the subtest is filtered out. */
bool test__start_subtest(const char *name);
/* Marks the whole test skipped: counted as skipped, never as passed. Use
 * only when a prerequisite outside the project is missing. */
void test__skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path of a file in the build dir or source dir. */
const char *test__build_path(const char *rel);
const char *test__src_path(const char *rel);

#define _ASSERT_CORE(ok, ...)                                                  \
	({                                                                     \
		bool ___ok = (ok);                                             \
		env.nasserts++;                                                \
		if (!___ok)                                                    \
			test__fail_log(__FILE__, __LINE__, __VA_ARGS__);       \
		___ok;                                                         \
	})

#define ASSERT_TRUE(c, name) _ASSERT_CORE(!!(c), "%s: unexpected false", name)
#define ASSERT_FALSE(c, name) _ASSERT_CORE(!(c), "%s: unexpected true", name)

#define _ASSERT_CMP(a, b, op, name)                                            \
	({                                                                     \
		long long ___a = (long long)(a), ___b = (long long)(b);        \
		_ASSERT_CORE(___a op ___b, "%s: expected %lld %s %lld",        \
			     name, ___a, #op, ___b);                           \
	})
#define ASSERT_EQ(a, b, name) _ASSERT_CMP(a, b, ==, name)
#define ASSERT_NEQ(a, b, name) _ASSERT_CMP(a, b, !=, name)
#define ASSERT_LT(a, b, name) _ASSERT_CMP(a, b, <, name)
#define ASSERT_LE(a, b, name) _ASSERT_CMP(a, b, <=, name)
#define ASSERT_GT(a, b, name) _ASSERT_CMP(a, b, >, name)
#define ASSERT_GE(a, b, name) _ASSERT_CMP(a, b, >=, name)

#define ASSERT_OK(err, name)                                                   \
	({                                                                     \
		long long ___e = (long long)(err);                             \
		_ASSERT_CORE(___e == 0, "%s: unexpected error %lld (%s)",      \
			     name, ___e, strerror(___e < 0 ? -___e : ___e));   \
	})
#define ASSERT_ERR(err, name)                                                  \
	_ASSERT_CORE((long long)(err) < 0, "%s: expected an error", name)
#define ASSERT_OK_PTR(p, name)                                                 \
	_ASSERT_CORE((p) != NULL, "%s: unexpected NULL", name)
#define ASSERT_STREQ(a, b, name)                                               \
	({                                                                     \
		const char *___a = (a), *___b = (b);                           \
		_ASSERT_CORE(___a && ___b && !strcmp(___a, ___b),              \
			     "%s: expected \"%s\" == \"%s\"", name,            \
			     ___a ? ___a : "(null)", ___b ? ___b : "(null)");  \
	})
#define ASSERT_STRCONTAINS(hay, needle, name)                                  \
	({                                                                     \
		const char *___h = (hay), *___n = (needle);                    \
		_ASSERT_CORE(___h && strstr(___h, ___n),                       \
			     "%s: \"%s\" not found in \"%s\"", name, ___n,     \
			     ___h ? ___h : "(null)");                          \
	})
#define ASSERT_MEMEQ(a, b, len, name)                                          \
	({                                                                     \
		size_t ___l = (len);                                           \
		bool ___eq = !memcmp(a, b, ___l);                              \
		if (!___eq)                                                    \
			test__hexdiff(a, b, ___l);                             \
		_ASSERT_CORE(___eq, "%s: %zu bytes differ", name, ___l);       \
	})

void test__hexdiff(const void *got, const void *want, size_t len);

#endif
