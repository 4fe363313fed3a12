// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The micro benchmark (tier 2, docs/benchmarks.md): BPF_PROG_TEST_RUN with
 * a large repeat, pinned to one CPU, every program of a setup run once per
 * round (interleaved), rounds repeated; each figure is a difference against
 * its own floor in the same round; ratios are taken round by round.
 *
 * Setups: family x number of rules. For each: the rule set (rules.c) is
 * compiled with the product's fw_compile() and loaded with fw_stage_load()
 * as the only stage of a generation; two entry programs (entry.bpf.o) share
 * its sl_meta_scratch, one with the fw stage in sl_root, one with an empty
 * root; the drivers and baselines of bench.bpf.c share it too. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "bench_abi.h"
#include "rules.h"
#include "fw_compile.h"
#include "nf_fw.h"
#include "entry.skel.h"
#include "bench.skel.h"
#include "shared/drop_reasons.h"
#include "shared/meta.h"

#define MAX_SIZES 8
#define MAX_ROUNDS 64
#define NEST_PCT 3

/* What a round runs: one program each, all with the same repeat. */
enum prog_id {
	P_XDP_DROP,
	P_KEY_DROP,
	P_KEY_HASH,
	P_KEY_LPM,
	P_KEY_BIG,
	P_META_DROP,
	P_META_TAIL_DROP,
	P_META_TAIL_FW,
	P_PKT_DROP,
	P_PKT_TAIL_DROP,
	P_PKT_TAIL_PARSE,
	P_PKT_TAIL_CHAIN,
	P_ENTRY_PARSE,	/* the entry program alone, one packet (hot) */
	P_ENTRY_CHAIN,	/* entry + fw, one packet (hot) */
	P__N,
};

static const char *const prog_names[P__N] = {
	"xdp_drop", "key_drop", "key_hash", "key_lpm", "key_big", "meta_drop", "meta_tail_drop",
	"meta_tail_fw", "pkt_drop", "pkt_tail_drop", "pkt_tail_parse", "pkt_tail_chain",
	"entry_parse", "entry_chain",
};

/* Derived figures: program a minus program b, same round. */
enum fig_id {
	F_FW,		/* fw stage incl. the tail call into it, varying keys */
	F_FW_STAGE,	/* fw stage alone */
	F_HASH,
	F_LPM,
	F_BIG,
	F_TAIL,		/* one tail call */
	F_PARSE,	/* parser, varying keys, via a tail call */
	F_PARSE_HOT,	/* parser alone, one packet */
	F_CHAIN,	/* entry (parse) + fw, varying keys, both tail calls */
	F_CHAIN_HOT,	/* entry + fw, one packet */
	F_FLOOR_KEY,	/* key fetch above the bare floor */
	F__N,
};

static const struct fig {
	const char *name, *what;
	enum prog_id a, b;
} figs[F__N] = {
	[F_FW] = { "fw", "fw stage + its tail call, varying keys", P_META_TAIL_FW, P_META_DROP },
	[F_FW_STAGE] = { "fw_stage", "fw stage without the tail call", P_META_TAIL_FW, P_META_TAIL_DROP },
	[F_HASH] = { "hash", "one hash lookup, N entries, varying keys", P_KEY_HASH, P_KEY_DROP },
	[F_LPM] = { "lpm", "one LPM trie lookup, same N prefixes", P_KEY_LPM, P_KEY_DROP },
	[F_BIG] = { "rand_load", "one load at a random place of an ARRAY the size of the fw tables", P_KEY_BIG, P_KEY_DROP },
	[F_TAIL] = { "tail_call", "one tail call", P_META_TAIL_DROP, P_META_DROP },
	[F_PARSE] = { "parse", "entry program, empty root, varying keys", P_PKT_TAIL_PARSE, P_PKT_TAIL_DROP },
	[F_PARSE_HOT] = { "parse_hot", "entry program, empty root, one packet", P_ENTRY_PARSE, P_XDP_DROP },
	[F_CHAIN] = { "chain", "entry + fw through sl_root, varying keys", P_PKT_TAIL_CHAIN, P_PKT_DROP },
	[F_CHAIN_HOT] = { "chain_hot", "entry + fw through sl_root, one packet", P_ENTRY_CHAIN, P_XDP_DROP },
	[F_FLOOR_KEY] = { "key_fetch", "driver's key fetch above xdp_drop", P_KEY_DROP, P_XDP_DROP },
};

struct opts {
	uint64_t repeat;
	uint64_t max_run_ms;	/* cap on one run (0: none) ... */
	uint64_t min_repeat;	/* ... but never fewer repeats than this */
	int rounds;
	int cpu;
	size_t sizes[MAX_SIZES];
	int nsizes;
	int fams[2];
	int nfams;
	uint64_t seed;
	FILE *csv;
};

struct setup {
	int fam;
	size_t n;
	struct bset set;
	struct fw_image img;
	struct stage_shared sh;
	struct stage_gen g;
	struct stage_obj fw;
	struct entry *e_chain, *e_parse;
	struct bench *b;
	int fd[P__N];
	uint8_t frame[BENCH_FRAME6_LEN];
	uint32_t frame_len;
	struct bench_key *keys;
	double ns[MAX_ROUNDS][P__N];
	uint64_t rep[P__N];
	int ncpus;
};

static void die_err(const char *what, int err)
{
	fprintf(stderr, "micro: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int parse_sizes(const char *s, struct opts *o)
{
	char *dup = strdup(s), *tok, *save = NULL;

	o->nsizes = 0;
	for (tok = strtok_r(dup, ",", &save); tok && o->nsizes < MAX_SIZES;
	     tok = strtok_r(NULL, ",", &save))
		o->sizes[o->nsizes++] = strtoul(tok, NULL, 0);
	free(dup);
	return o->nsizes ? 0 : -EINVAL;
}

/* The frame of key k: Ethernet (to dmac, NULL: a made-up one), IPv4/IPv6,
 * 20 bytes of L4. */
uint32_t bench_build_frame(const struct bench_key *k, const uint8_t *dmac, uint8_t *f)
{
	uint32_t len = k->family == 4 ? BENCH_FRAME4_LEN : BENCH_FRAME6_LEN;
	uint8_t *l3 = f + BENCH_L3_OFF;
	uint16_t v;

	memset(f, 0, BENCH_FRAME6_LEN);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (dmac)
		memcpy(f, dmac, 6);
	if (k->family == 4) {
		f[12] = 0x08, f[13] = 0x00;
		l3[0] = 0x45;
		v = htons(40);
		memcpy(l3 + 2, &v, 2);
		l3[8] = 64;
		l3[9] = k->proto;
		memcpy(l3 + 12, &k->saddr[0], 4);
		memcpy(l3 + 16, &k->daddr[0], 4);
		l3 += 20;
	} else {
		f[12] = 0x86, f[13] = 0xdd;
		l3[0] = 0x60;
		v = htons(20);
		memcpy(l3 + 4, &v, 2);
		l3[6] = k->proto;
		l3[7] = 64;
		memcpy(l3 + 8, k->saddr, 16);
		memcpy(l3 + 24, k->daddr, 16);
		l3 += 40;
	}
	v = htons(k->sport);
	memcpy(l3, &v, 2);
	v = htons(k->dport);
	memcpy(l3 + 2, &v, 2);
	l3[12] = 0x50; /* TCP data offset 5 */
	l3[13] = 0x10; /* ACK */
	return len;
}

/* Packets spread over the whole rule space: packet j goes to the host
 * address of a random rule, with its protocol and port, from one of 64
 * sources. */
void bench_make_keys(struct bench_key *keys, size_t nkeys, const struct bset *set, uint64_t seed)
{
	uint64_t st = seed ^ 0x5eed;
	size_t j;

	for (j = 0; j < nkeys; j++) {
		const struct brule *r = &set->r[brnd(&st) % set->n];
		struct bench_key *k = &keys[j];

		memset(k, 0, sizeof(*k));
		k->family = (uint8_t)set->fam;
		k->proto = r->proto;
		k->sport = (uint16_t)(32768 + brnd(&st) % 28000);
		k->dport = r->dport;
		memcpy(k->daddr, r->host, 16);
		if (set->fam == 4) {
			k->saddr[0] = htonl(0xc6336400u | (uint32_t)(j % 64)); /* 198.51.100.x */
		} else {
			k->saddr[0] = htonl(0x20010db8u);
			k->saddr[3] = htonl((uint32_t)(j % 64) + 1);
		}
	}
}

/* First match over the rule set, as the spec defines it: the rule index,
 * or -1 for the default action. */
static long ref_match(const struct setup *su, const struct bench_key *k)
{
	size_t i;
	int w;

	for (i = 0; i < su->n; i++) {
		const struct brule *r = &su->set.r[i];
		int ok = r->proto == k->proto && r->dport == k->dport, bits = r->plen;

		for (w = 0; ok && w < 4; w++, bits -= 32) {
			uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

			ok = (ntohl(k->daddr[w]) & m) == ntohl(r->addr[w]);
		}
		if (ok)
			return (long)i;
	}
	return -1;
}

static int set_ctr(struct setup *su, uint32_t v)
{
	uint64_t *vals = calloc((size_t)su->ncpus, 8);
	uint32_t zero = 0;
	int i, err;

	if (!vals)
		return -ENOMEM;
	for (i = 0; i < su->ncpus; i++)
		vals[i] = v;
	err = bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_ctr), &zero, vals, 0) ? -errno : 0;
	free(vals);
	return err;
}

static int run_prog(struct setup *su, int fd, uint64_t repeat, double *ns, uint32_t *retval)
{
	uint8_t frame[BENCH_FRAME6_LEN];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = su->frame_len,
		    .repeat = (int)repeat);

	memcpy(frame, su->frame, sizeof(frame));
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	if (ns)
		*ns = (double)o.duration;
	if (retval)
		*retval = o.retval;
	return 0;
}

#define META_STRIDE ((sizeof(struct sl_meta) + 7) & ~7ul)

/* Run key j through prog (one repeat) and read back the rule the fw stage
 * decided on (trace rule: index + 1, 0 = default). */
static int judge(struct setup *su, int cpu, int fd, uint32_t j, long *rule)
{
	void *buf = calloc((size_t)su->ncpus, META_STRIDE);
	struct sl_meta *m = (struct sl_meta *)((char *)buf + (size_t)cpu * META_STRIDE);
	uint32_t zero = 0, rv;
	int err;

	if (!buf)
		return -ENOMEM;
	err = set_ctr(su, j);
	if (!err)
		err = bpf_map_update_elem(su->sh.meta_fd, &zero, buf, 0) ? -errno : 0;
	if (!err)
		err = run_prog(su, fd, 1, NULL, &rv);
	if (!err)
		err = bpf_map_lookup_elem(su->sh.meta_fd, &zero, buf) ? -errno : 0;
	if (!err) {
		if (m->nstages < 1 || m->gen != 1)
			err = -EPROTO;
		else
			*rule = (long)m->trace[0].rule - 1;
	}
	free(buf);
	return err;
}

/* The harness must judge the packets it claims to: a sample of keys, fw
 * stage alone and through the entry program, against ref_match(). Also
 * checks that the hash and the LPM trie hit for them. */
static int verify(struct setup *su, int cpu)
{
	uint64_t st = 42;
	int i, err, bad = 0, hit_h = 0, hit_l = 0, def = 0;
	const int nsample = 200;

	for (i = 0; i < nsample; i++) {
		uint32_t j = (uint32_t)(brnd(&st) % NKEYS), v;
		const struct bench_key *k = &su->keys[j];
		long want = ref_match(su, k), got1 = -2, got2 = -2;

		err = judge(su, cpu, su->fd[P_META_TAIL_FW], j, &got1);
		if (!err)
			err = judge(su, cpu, su->fd[P_PKT_TAIL_CHAIN], j, &got2);
		if (err)
			return err;
		if (got1 != want || got2 != want) {
			if (bad++ < 5)
				fprintf(stderr, "micro: key %u: reference rule %ld, fw %ld, chain %ld\n",
					j, want, got1, got2);
		}
		def += want < 0;
		if (su->fam == 4) {
			struct bench_lpm4_key lk = { 32, k->daddr[0] };

			hit_h += !bpf_map_lookup_elem(bpf_map__fd(su->b->maps.bench_hash4), &k->daddr[0], &v);
			hit_l += !bpf_map_lookup_elem(bpf_map__fd(su->b->maps.bench_lpm4), &lk, &v);
		} else {
			struct bench_lpm6_key lk = { 128 };

			memcpy(lk.addr, k->daddr, 16);
			hit_h += !bpf_map_lookup_elem(bpf_map__fd(su->b->maps.bench_hash6), k->daddr, &v);
			hit_l += !bpf_map_lookup_elem(bpf_map__fd(su->b->maps.bench_lpm6), &lk, &v);
		}
	}
	printf("  check: %d/%d sampled packets judged as the reference (fw stage and chain),"
	       " %d by the default; hash hits %d/%d, LPM hits %d/%d\n",
	       nsample - bad, nsample, def, hit_h, nsample, hit_l, nsample);
	return bad || hit_h != nsample || hit_l != nsample ? -EPROTO : 0;
}

static int fill_baselines(struct setup *su)
{
	size_t i;
	uint32_t v;
	int err = 0;

	for (i = 0; i < su->n && !err; i++) {
		const struct brule *r = &su->set.r[i];

		v = (uint32_t)i;
		if (su->fam == 4) {
			struct bench_lpm4_key lk = { r->plen, r->addr[0] };

			if (bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_hash4), &r->host[0], &v, 0) ||
			    bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_lpm4), &lk, &v, 0))
				err = -errno;
		} else {
			struct bench_lpm6_key lk = { r->plen };

			memcpy(lk.addr, r->addr, 16);
			if (bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_hash6), r->host, &v, 0) ||
			    bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_lpm6), &lk, &v, 0))
				err = -errno;
		}
	}
	return err;
}

static struct entry *entry_open_load(struct setup *su)
{
	struct entry *e = entry__open();
	int err;

	if (!e)
		return NULL;
	err = bpf_map__reuse_fd(e->maps.sl_meta_scratch, su->sh.meta_fd) ?:
	      bpf_map__reuse_fd(e->maps.sl_drops, su->sh.drops_fd) ?: entry__load(e);
	if (err) {
		entry__destroy(e);
		errno = -err;
		return NULL;
	}
	return e;
}

static int setup_open(struct setup *su, int fam, size_t n, const struct opts *o)
{
	struct spec_firewall fw;
	struct sl_errs errs = {};
	char *log = NULL;
	uint32_t slot;
	size_t i;
	int err, fd;
	uint64_t t0 = bench_now_ns();

	memset(su, 0, sizeof(*su));
	su->fam = fam;
	su->n = n;
	su->ncpus = libbpf_num_possible_cpus();
	su->sh.meta_fd = su->sh.drops_fd = su->sh.fw_counters_fd = -1;
	su->g.chain_fd = su->g.gen_stats_fd = -1;
	su->g.gen = 1;
	su->g.nstages = 1;

	err = bset_gen(&su->set, n, fam, NEST_PCT, o->seed);
	if (err)
		die_err("rule set", err);
	err = bset_fw(&su->set, &fw);
	if (err)
		die_err("rule set", err);
	err = fw_compile(&fw, "spec.functions[0]", &su->img, &errs);
	bset_fw_free(&fw);
	if (err) {
		errs_print(&errs, stderr);
		die_err("fw_compile", err);
	}
	errs_free(&errs);
	for (i = 0; i < su->img.nrules; i++)
		su->img.rules[i].counter = (uint32_t)(1 + i);
	err = fw_stage_load(&su->img, (uint32_t)(1 + su->img.nrules), &su->sh, &su->g, 0, &su->fw,
			    &log);
	if (err) {
		if (log)
			fprintf(stderr, "%s\n", log);
		die_err("fw_stage_load", err);
	}

	su->e_chain = entry_open_load(su);
	su->e_parse = entry_open_load(su);
	if (!su->e_chain || !su->e_parse)
		die_err("entry load", errno);
	slot = 0;
	fd = su->fw.prog_fd;
	if (bpf_map_update_elem(bpf_map__fd(su->e_chain->maps.sl_root), &slot, &fd, 0))
		die_err("sl_root", errno);

	su->b = bench__open();
	if (!su->b)
		die_err("bench open", errno);
	su->b->rodata->bench_mask = NKEYS - 1;
	su->b->rodata->bench_big_n = (uint32_t)(su->img.bytes / 1024 ? su->img.bytes / 1024 : 1);
	err = bpf_map__set_max_entries(su->b->maps.bench_keys, NKEYS) ?:
	      bpf_map__set_max_entries(su->b->maps.bench_hash4, fam == 4 ? (uint32_t)n : 1) ?:
	      bpf_map__set_max_entries(su->b->maps.bench_hash6, fam == 6 ? (uint32_t)n : 1) ?:
	      bpf_map__set_max_entries(su->b->maps.bench_lpm4, fam == 4 ? (uint32_t)n : 1) ?:
	      bpf_map__set_max_entries(su->b->maps.bench_lpm6, fam == 6 ? (uint32_t)n : 1) ?:
	      bpf_map__set_max_entries(su->b->maps.bench_big, su->b->rodata->bench_big_n) ?:
	      bpf_map__reuse_fd(su->b->maps.sl_meta_scratch, su->sh.meta_fd) ?:
	      bpf_map__reuse_fd(su->b->maps.sl_drops, su->sh.drops_fd) ?: bench__load(su->b);
	if (err)
		die_err("bench load", err);

	su->keys = calloc(NKEYS, sizeof(*su->keys));
	if (!su->keys)
		die_err("keys", -ENOMEM);
	bench_make_keys(su->keys, NKEYS, &su->set, o->seed);
	{
		uint32_t *idx = malloc(NKEYS * sizeof(*idx)), count = NKEYS;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		for (i = 0; i < NKEYS; i++)
			idx[i] = (uint32_t)i;
		if (bpf_map_update_batch(bpf_map__fd(su->b->maps.bench_keys), idx, su->keys, &count, &bo))
			die_err("keys fill", errno);
		free(idx);
	}
	err = fill_baselines(su);
	if (err)
		die_err("baseline maps", err);
	{
		int slots[BENCH_NSLOTS] = {
			[BENCH_SLOT_FW] = su->fw.prog_fd,
			[BENCH_SLOT_DROP] = bpf_program__fd(su->b->progs.xdp_drop),
			[BENCH_SLOT_CHAIN] = bpf_program__fd(su->e_chain->progs.sl_entry),
			[BENCH_SLOT_PARSE] = bpf_program__fd(su->e_parse->progs.sl_entry),
		};
		for (slot = 0; slot < BENCH_NSLOTS; slot++)
			if (bpf_map_update_elem(bpf_map__fd(su->b->maps.bench_jmp), &slot, &slots[slot], 0))
				die_err("bench_jmp", errno);
	}
	su->fd[P_XDP_DROP] = bpf_program__fd(su->b->progs.xdp_drop);
	su->fd[P_KEY_DROP] = bpf_program__fd(su->b->progs.key_drop);
	su->fd[P_KEY_HASH] = bpf_program__fd(fam == 4 ? su->b->progs.key_hash4 : su->b->progs.key_hash6);
	su->fd[P_KEY_LPM] = bpf_program__fd(fam == 4 ? su->b->progs.key_lpm4 : su->b->progs.key_lpm6);
	su->fd[P_KEY_BIG] = bpf_program__fd(su->b->progs.key_big);
	su->fd[P_META_DROP] = bpf_program__fd(su->b->progs.meta_drop);
	su->fd[P_META_TAIL_DROP] = bpf_program__fd(su->b->progs.meta_tail_drop);
	su->fd[P_META_TAIL_FW] = bpf_program__fd(su->b->progs.meta_tail_fw);
	su->fd[P_PKT_DROP] = bpf_program__fd(su->b->progs.pkt_drop);
	su->fd[P_PKT_TAIL_DROP] = bpf_program__fd(su->b->progs.pkt_tail_drop);
	su->fd[P_PKT_TAIL_PARSE] = bpf_program__fd(su->b->progs.pkt_tail_parse);
	su->fd[P_PKT_TAIL_CHAIN] = bpf_program__fd(su->b->progs.pkt_tail_chain);
	su->fd[P_ENTRY_PARSE] = bpf_program__fd(su->e_parse->progs.sl_entry);
	su->fd[P_ENTRY_CHAIN] = bpf_program__fd(su->e_chain->progs.sl_entry);
	su->frame_len = bench_build_frame(&su->keys[0], NULL, su->frame);

	printf("\n== IPv%d, %zu rules: %zu atoms, worst scan %zu, %zu address table elements, "
	       "%.1f MiB of tables, fw stage %u verified insns; set up in %.1f s\n",
	       fam, n, fam == 4 ? su->img.natoms4 : su->img.natoms6,
	       fam == 4 ? su->img.max_scan4 : su->img.max_scan6,
	       (fam == 4 ? su->img.lpm4.n : su->img.lpm6.n) / FW_LPM4_ELEM_ENTRIES,
	       (double)su->img.bytes / (1 << 20), fw_prog_verified_insns(su->fw.prog_fd),
	       (double)(bench_now_ns() - t0) / 1e9);
	return 0;
}

static void setup_close(struct setup *su)
{
	bench__destroy(su->b);
	entry__destroy(su->e_chain);
	entry__destroy(su->e_parse);
	stage_obj_destroy(&su->fw);
	fw_image_free(&su->img);
	bset_free(&su->set);
	free(su->keys);
	if (su->sh.meta_fd >= 0)
		close(su->sh.meta_fd);
	if (su->sh.drops_fd >= 0)
		close(su->sh.drops_fd);
	if (su->sh.fw_counters_fd >= 0)
		close(su->sh.fw_counters_fd);
	if (su->g.chain_fd >= 0)
		close(su->g.chain_fd);
	if (su->g.gen_stats_fd >= 0)
		close(su->g.gen_stats_fd);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double min, med, max;
};

static struct stat3 stats(double *v, int n)
{
	struct stat3 s;
	double t[MAX_ROUNDS];

	memcpy(t, v, (size_t)n * sizeof(*v));
	qsort(t, (size_t)n, sizeof(*t), cmp_dbl);
	s.min = t[0];
	s.max = t[n - 1];
	s.med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	return s;
}

static double fig_val(const struct setup *su, int r, enum fig_id f)
{
	return su->ns[r][figs[f].a] - su->ns[r][figs[f].b];
}

static void report(struct setup *su, const struct opts *o, int *pass, int *miss)
{
	double v[MAX_ROUNDS], ratio_h[MAX_ROUNDS], ratio_l[MAX_ROUNDS];
	struct stat3 s, rh, rl;
	int r, f, p;
	bool at_target = su->n >= 100000;
	double target_h = su->fam == 4 ? 2.0 : 4.0;

	printf("  %-16s %6s %8s %8s %10s   %s\n", "program", "min ns", "median", "max", "repeat", "(raw, incl. floor)");
	for (p = 0; p < P__N; p++) {
		for (r = 0; r < o->rounds; r++)
			v[r] = su->ns[r][p];
		s = stats(v, o->rounds);
		printf("  %-16s %6.0f %8.0f %8.0f %10llu\n", prog_names[p], s.min, s.med, s.max,
		       (unsigned long long)su->rep[p]);
		if (o->csv)
			fprintf(o->csv, "%d,%zu,raw,%s,%.1f,%.1f,%.1f\n", su->fam, su->n, prog_names[p],
				s.min, s.med, s.max);
	}
	printf("  %-12s %8s %8s %8s   %s\n", "figure", "min ns", "median", "max", "(above its floor, same round)");
	for (f = 0; f < F__N; f++) {
		for (r = 0; r < o->rounds; r++)
			v[r] = fig_val(su, r, f);
		s = stats(v, o->rounds);
		printf("  %-12s %8.1f %8.1f %8.1f   %s - %s: %s\n", figs[f].name, s.min, s.med, s.max,
		       prog_names[figs[f].a], prog_names[figs[f].b], figs[f].what);
		if (o->csv)
			fprintf(o->csv, "%d,%zu,fig,%s,%.1f,%.1f,%.1f\n", su->fam, su->n, figs[f].name,
				s.min, s.med, s.max);
	}
	for (r = 0; r < o->rounds; r++) {
		double fw = fig_val(su, r, F_FW), h = fig_val(su, r, F_HASH), l = fig_val(su, r, F_LPM);

		ratio_h[r] = h > 0 ? fw / h : INFINITY;
		ratio_l[r] = fw > 0 ? l / fw : INFINITY;
	}
	rh = stats(ratio_h, o->rounds);
	rl = stats(ratio_l, o->rounds);
	printf("  fw / hash  = %.2f (per-round min %.2f, max %.2f)   target <= %.0f at 100k%s\n",
	       rh.med, rh.min, rh.max, target_h,
	       at_target ? (rh.med <= target_h ? ": PASS" : ": MISS") : "");
	printf("  lpm / fw   = %.2f (per-round min %.2f, max %.2f)   target >= 5 at 100k%s\n",
	       rl.med, rl.min, rl.max, at_target ? (rl.med >= 5 ? ": PASS" : ": MISS") : "");
	if (o->csv) {
		fprintf(o->csv, "%d,%zu,ratio,fw_over_hash,%.3f,%.3f,%.3f\n", su->fam, su->n, rh.min,
			rh.med, rh.max);
		fprintf(o->csv, "%d,%zu,ratio,lpm_over_fw,%.3f,%.3f,%.3f\n", su->fam, su->n, rl.min,
			rl.med, rl.max);
	}
	{
		double rb[MAX_ROUNDS];
		struct stat3 sb;

		for (r = 0; r < o->rounds; r++) {
			double b = fig_val(su, r, F_BIG);

			rb[r] = b > 0 ? fig_val(su, r, F_FW) / b : INFINITY;
		}
		sb = stats(rb, o->rounds);
		printf("  fw / rand_load = %.2f (per-round min %.2f, max %.2f): the fw stage costs as much as"
		       " that many random loads from a table of its size\n", sb.med, sb.min, sb.max);
		if (o->csv)
			fprintf(o->csv, "%d,%zu,ratio,fw_over_rand_load,%.3f,%.3f,%.3f\n", su->fam, su->n,
				sb.min, sb.med, sb.max);
	}
	if (at_target) {
		*pass += (rh.med <= target_h) + (rl.med >= 5);
		*miss += (rh.med > target_h) + (rl.med < 5);
	}
	{
		for (r = 0; r < o->rounds; r++)
			v[r] = fig_val(su, r, F_TAIL);
		s = stats(v, o->rounds);
		printf("  tail call  = %.1f ns (median)   target <= 2 ns per stage: %s\n", s.med,
		       s.med <= 2 ? "PASS" : "MISS");
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-bench micro [-r REPEAT] [-k ROUNDS] [-n N,N,...] [-f 4|6|46]\n"
		"                          [-c CPU] [-s SEED] [--csv FILE]\n"
		"                          [--max-run-ms MS] [--min-repeat R]\n"
		"defaults: -r 5000000 -k 11 -n 10,1000,10000,100000 -f 46, the last CPU,\n"
		"  --max-run-ms 400 --min-repeat 200000: a program slower than MS/REPEAT\n"
		"  runs about MS per run, never fewer than R repeats (--max-run-ms 0: always -r)\n");
}

int cmd_micro(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "csv", required_argument, NULL, 'C' },
		{ "max-run-ms", required_argument, NULL, 'M' },
		{ "min-repeat", required_argument, NULL, 'm' },
		{}
	};
	struct opts o = { .repeat = 5000000, .rounds = 11, .cpu = -1, .seed = 1,
			  .max_run_ms = 400, .min_repeat = 200000,
			  .sizes = { 10, 1000, 10000, 100000 }, .nsizes = 4,
			  .fams = { 4, 6 }, .nfams = 2 };
	struct setup *su;
	struct utsname u;
	cpu_set_t set;
	int opt, fi, si, r, p, pass = 0, miss = 0, err, order[P__N];
	uint64_t t0 = bench_now_ns();

	while ((opt = getopt_long(argc, argv, "r:k:n:f:c:s:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'r': o.repeat = strtoull(optarg, NULL, 0); break;
		case 'k': o.rounds = atoi(optarg); break;
		case 'n':
			if (parse_sizes(optarg, &o))
				return usage(), 2;
			break;
		case 'f':
			o.nfams = 0;
			if (strchr(optarg, '4'))
				o.fams[o.nfams++] = 4;
			if (strchr(optarg, '6'))
				o.fams[o.nfams++] = 6;
			break;
		case 'c': o.cpu = atoi(optarg); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'M': o.max_run_ms = strtoull(optarg, NULL, 0); break;
		case 'm': o.min_repeat = strtoull(optarg, NULL, 0); break;
		case 'C':
			o.csv = fopen(optarg, "w");
			if (!o.csv)
				die_err(optarg, errno);
			break;
		default:
			return usage(), 2;
		}
	}
	if (o.rounds < 1 || o.rounds > MAX_ROUNDS || !o.nfams || o.repeat < 1 || o.repeat > INT32_MAX)
		return usage(), 2;
	if (o.cpu < 0)
		o.cpu = libbpf_num_possible_cpus() - 1;
	CPU_ZERO(&set);
	CPU_SET(o.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die_err("sched_setaffinity", errno);
	uname(&u);
	printf("micro: BPF_PROG_TEST_RUN, repeat %llu (slow programs: ~%llu ms per run, at least"
	       " %llu repeats), %d rounds (every program once per round, interleaved), pinned to"
	       " CPU %d; kernel %s; seed %llu\n",
	       (unsigned long long)o.repeat, (unsigned long long)o.max_run_ms,
	       (unsigned long long)o.min_repeat, o.rounds, o.cpu, u.release,
	       (unsigned long long)o.seed);
	printf("micro: %u precomputed packets per setup, each to the host address of a random rule;"
	       " %d%% of rules nested exceptions\n", NKEYS, NEST_PCT);
	if (o.csv)
		fprintf(o.csv, "family,rules,kind,name,min,median,max\n");

	su = calloc(1, sizeof(*su));
	for (fi = 0; fi < o.nfams; fi++) {
		for (si = 0; si < o.nsizes; si++) {
			setup_open(su, o.fams[fi], o.sizes[si], &o);
			err = verify(su, o.cpu);
			if (err)
				die_err("verify: the harness does not judge what it claims", err);
			/* Warm up every program once and pick its repeat: o.repeat,
			 * cut for slow programs to about max_run_ms per run (the
			 * kernel's ns/run excludes the test run's fixed cost, so
			 * the figure is not biased by the cut). */
			for (p = 0; p < P__N; p++) {
				double est;

				if (run_prog(su, su->fd[p], 100000, &est, NULL))
					die_err(prog_names[p], errno);
				su->rep[p] = o.repeat;
				if (o.max_run_ms && est * (double)o.repeat > o.max_run_ms * 1e6) {
					su->rep[p] = (uint64_t)(o.max_run_ms * 1e6 / (est > 1 ? est : 1));
					if (su->rep[p] < o.min_repeat)
						su->rep[p] = o.min_repeat;
					if (su->rep[p] > o.repeat)
						su->rep[p] = o.repeat;
				}
			}
			for (r = 0; r < o.rounds; r++) {
				/* a different order each round: no program always
				 * follows the same one */
				for (p = 0; p < P__N; p++)
					order[p] = (p + r) % P__N;
				for (p = 0; p < P__N; p++) {
					err = run_prog(su, su->fd[order[p]], su->rep[order[p]],
						       &su->ns[r][order[p]], NULL);
					if (err)
						die_err(prog_names[order[p]], err);
				}
			}
			report(su, &o, &pass, &miss);
			fflush(stdout);
			setup_close(su);
		}
	}
	free(su);
	if (o.csv)
		fclose(o.csv);
	printf("\nmicro: targets at 100k rules: %d PASS, %d MISS; %.0f s\n", pass, miss,
	       (double)(bench_now_ns() - t0) / 1e9);
	return 0;
}
