// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice test: a spec's unit tests through the real programs, before the
 * spec is applied. Every example spec with a cases file must pass; a wrong
 * expectation must fail with exit 5 and say why; a bad cases file is exit
 * 2; and nothing stays loaded in the kernel afterwards. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "netns.h"

static int run(char *out, size_t len, const char *args)
{
	return netns_run_out(NULL, out, len, "%s %s 2>&1", test__build_path("sluice"), args);
}

/* Loaded programs named like the entry program, with an id above min (made
 * after the test started). */
static int count_entries(uint32_t min)
{
	uint32_t id = min;
	int n = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "sl_entry"))
			n++;
		close(fd);
	}
	return n;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

void test_spectest(void)
{
	char out[16384], args[PATH_MAX * 3], tmp[PATH_MAX], cases[PATH_MAX];
	const char *spec = test__src_path("examples/edge.json");
	uint32_t start_id = 0, id = 0;
	int i, left = -1;

	while (!bpf_prog_get_next_id(id, &id))
		start_id = id;

	if (!ASSERT_OK(netns_tmpdir(tmp, sizeof(tmp)), "tmpdir"))
		goto cleanup;

	if (test__start_subtest("examples_pass")) {
		snprintf(args, sizeof(args), "-j test -f %s %s", spec,
			 test__src_path("examples/edge.cases.json"));
		ASSERT_EQ(run(out, sizeof(out), args), 0, "edge cases pass");
		ASSERT_STRCONTAINS(out, "\"failed\":0", "no case failed");
		ASSERT_STRCONTAINS(out, "\"passed\":10", "all ten ran");
	}
	if (test__start_subtest("wrong_expectation_fails")) {
		snprintf(cases, sizeof(cases), "%s/wrong.json", tmp);
		ASSERT_OK(write_file(cases,
			"{\"cases\":[{\"name\":\"9090 allowed?\",\"packet\":\"tcp 10.200.1.2:1 10.200.2.2:9090\","
			"\"expect\":{\"verdict\":\"pass\",\"rules\":{\"fw\":\"allow-tcp-8080-server\"}}}]}"),
			"cases file");
		snprintf(args, sizeof(args), "test -f %s %s", spec, cases);
		ASSERT_EQ(run(out, sizeof(out), args), 5, "a failed case exits 5");
		ASSERT_STRCONTAINS(out, "verdict drop, expected pass", "says the verdict");
		ASSERT_STRCONTAINS(out, "fw matched deny-9090, expected allow-tcp-8080-server",
				   "says which rule matched instead");
	}
	if (test__start_subtest("bad_cases")) {
		snprintf(cases, sizeof(cases), "%s/bad.json", tmp);
		ASSERT_OK(write_file(cases,
			"{\"cases\":[{\"name\":\"x\",\"packet\":\"tcp 10.0.0.1:1 ::1:2\",\"expect\":{\"verdict\":\"maybe\","
			"\"rules\":{\"nofn\":\"r\"}}},{\"packet\":\"tcp 1.1.1.1 2.2.2.2\",\"expect\":{}}]}"),
			"cases file");
		snprintf(args, sizeof(args), "test -f %s %s", spec, cases);
		ASSERT_EQ(run(out, sizeof(out), args), 2, "invalid cases exit 2");
		ASSERT_STRCONTAINS(out, "cases[0].packet", "bad packet named by path");
		ASSERT_STRCONTAINS(out, "verdict \"maybe\" is not pass or drop", "bad verdict");
		ASSERT_STRCONTAINS(out, "no function \"nofn\"", "unknown function");
		ASSERT_STRCONTAINS(out, "cases[1]: \"name\" is required", "missing name");
		ASSERT_STRCONTAINS(out, "cases[1].expect: expects nothing", "empty expectation");
	}
	/* The kernel frees a program after an RCU grace period: poll. */
	for (i = 0; i < 200 && (left = count_entries(start_id)); i++)
		usleep(10000);
	ASSERT_EQ(left, 0, "nothing left loaded in the kernel");
cleanup:
	netns_cleanup_all();
}
