// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Helpers of the parse_*.c tests (see parse_run.h). */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "entry.skel.h"
#include "parse_run.h"

#define SL_DROP_NAME(name, str) [SL_DROP_##name] = str,
static const char *const reason_names[] = { SL_DROP_REASONS(SL_DROP_NAME) };
#undef SL_DROP_NAME

const char *prun_reason_name(unsigned reason)
{
	if (reason < sizeof(reason_names) / sizeof(reason_names[0]))
		return reason_names[reason];
	return "?";
}

/* Per-CPU values are laid out one per possible CPU, each rounded up to 8
 * bytes. */
#define PERCPU_STRIDE(sz) (((sz) + 7) & ~(size_t)7)

static int pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			break;
	if (cpu == CPU_SETSIZE)
		return -ENOENT;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return cpu;
}

int prun_open(struct prun *r)
{
	size_t stride = PERCPU_STRIDE(sizeof(struct sl_meta));
	int err;

	memset(r, 0, sizeof(*r));
	r->cpu = pin_to_one_cpu();
	if (r->cpu < 0)
		return r->cpu;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		return r->ncpus ? r->ncpus : -EINVAL;
	if (stride < PERCPU_STRIDE(sizeof(struct sl_counter)))
		stride = PERCPU_STRIDE(sizeof(struct sl_counter));
	r->percpu = calloc(r->ncpus, stride);
	if (!r->percpu)
		return -ENOMEM;
	r->skel = entry__open_and_load();
	if (!r->skel) {
		err = -errno;
		free(r->percpu);
		r->percpu = NULL;
		return err ? err : -EINVAL;
	}
	r->prog_fd = bpf_program__fd(r->skel->progs.sl_entry);
	r->meta_fd = bpf_map__fd(r->skel->maps.sl_meta_scratch);
	r->drops_fd = bpf_map__fd(r->skel->maps.sl_drops);
	r->root_fd = bpf_map__fd(r->skel->maps.sl_root);
	return 0;
}

void prun_close(struct prun *r)
{
	entry__destroy(r->skel);
	r->skel = NULL;
	free(r->percpu);
	r->percpu = NULL;
}

int prun_drops(struct prun *r, __u32 reason, __u64 *packets, __u64 *bytes)
{
	size_t stride = PERCPU_STRIDE(sizeof(struct sl_counter));
	struct sl_counter *c;
	int i;

	*packets = *bytes = 0;
	if (bpf_map_lookup_elem(r->drops_fd, &reason, r->percpu))
		return -errno;
	for (i = 0; i < r->ncpus; i++) {
		c = (struct sl_counter *)((char *)r->percpu + i * stride);
		*packets += c->packets;
		*bytes += c->bytes;
	}
	return 0;
}

/* Fills every CPU's metadata with a pattern, so a field the program did not
 * write cannot pass for one it did. */
static int meta_poison(struct prun *r)
{
	size_t stride = PERCPU_STRIDE(sizeof(struct sl_meta));
	__u32 zero = 0;

	memset(r->percpu, 0xa5, r->ncpus * stride);
	return bpf_map_update_elem(r->meta_fd, &zero, r->percpu, BPF_ANY) ?
		       -errno : 0;
}

int prun_run(struct prun *r, const void *pkt, __u32 len, struct prun_res *res)
{
	size_t stride = PERCPU_STRIDE(sizeof(struct sl_meta));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = len, .repeat = 1);
	__u64 p0, b0, p1, b1;
	__u32 zero = 0;
	int err;

	memset(res, 0, sizeof(*res));
	err = meta_poison(r);
	if (err)
		return err;
	err = bpf_prog_test_run_opts(r->prog_fd, &opts);
	if (err)
		return -errno;
	res->retval = opts.retval;
	if (bpf_map_lookup_elem(r->meta_fd, &zero, r->percpu))
		return -errno;
	memcpy(&res->meta, (char *)r->percpu + r->cpu * stride,
	       sizeof(res->meta));
	if (res->meta.reason >= SL_DROP_MAP_SIZE)
		return 0;
	/* Run once more with the same bytes to measure the counter delta of
	 * the reason this packet gets: BPF_PROG_TEST_RUN is deterministic. */
	err = prun_drops(r, res->meta.reason, &p0, &b0);
	if (err)
		return err;
	err = bpf_prog_test_run_opts(r->prog_fd, &opts);
	if (err)
		return -errno;
	err = prun_drops(r, res->meta.reason, &p1, &b1);
	if (err)
		return err;
	res->drops = p1 - p0;
	res->drop_bytes = b1 - b0;
	return 0;
}

__u32 prun_verified_insns(struct prun *r)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(r->prog_fd, &info, &len))
		return 0;
	return info.verified_insns;
}
