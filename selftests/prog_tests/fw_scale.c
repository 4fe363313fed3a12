// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* 100k rules: compile (timed), load, classify a sample of packets spread
 * over the whole rule space and compare with the reference model; print
 * the image sizes, the worst-case scan and the verifier's instruction
 * count. Then the per-packet cost, measured by the kernel
 * (BPF_PROG_TEST_RUN duration, one run per distinct packet, so caches see
 * spread traffic) against the baselines of docs/firewall.md: an empty
 * program, one lookup in a 100k-entry hash, one lookup in a 100k-prefix
 * LPM trie.
 *
 * The rule set: half IPv4, half IPv6; every rule names a destination
 * (services), 40% a source too, prefix lengths mixed (/8../32, /32../128),
 * addresses half from shared sites (nesting) and half random; tcp/udp with
 * ports, ICMP, audit rules; plus a few rules with src and dst "any". */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "test_progs.h"
#include "fw_run.h"

#define NRULES 100000
#define NSAMPLE 2000
#define NBENCH 20000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this thread: less sensitive than the wall clock to other
 * work on the machine. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct sites {
	uint32_t v4[2000];    /* /16s */
	uint32_t v6[1000][2]; /* /32s (first word) + a /48 word */
};

static void gen_prefix(struct fw_rng *r, const struct sites *st, int fam, struct spec_prefix *p)
{
	static const uint8_t len4[] = { 8, 12, 16, 16, 20, 20, 24, 24, 24, 24, 24, 24, 24, 24,
					28, 28, 32, 32, 32, 32 };
	static const uint8_t len6[] = { 32, 48, 48, 48, 48, 56, 56, 56, 64, 64, 64, 64, 64,
					64, 64, 96, 128, 128, 128, 128 };
	int w;

	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)fam;
	if (fam == 4) {
		p->plen = len4[fw_below(r, sizeof(len4))];
		p->addr[0] = fw_below(r, 2) ? htonl(st->v4[fw_below(r, 2000)] | (uint32_t)fw_below(r, 65536))
					 : (uint32_t)fw_rnd(r);
	} else {
		p->plen = len6[fw_below(r, sizeof(len6))];
		for (w = 0; w < 4; w++)
			p->addr[w] = (uint32_t)fw_rnd(r);
		if (fw_below(r, 10) < 7) {
			const uint32_t *s = st->v6[fw_below(r, 1000)];

			p->addr[0] = htonl(s[0]);
			if (fw_below(r, 2))
				p->addr[1] = htonl(s[1]);
		}
	}
	fw_prefix_mask(p);
}

static void gen_rules(struct fw_rng *r, struct spec_firewall *fw)
{
	struct sites st;
	size_t i;
	int k;

	for (k = 0; k < 2000; k++)
		st.v4[k] = (uint32_t)fw_rnd(r) & 0xffff0000u;
	for (k = 0; k < 1000; k++) {
		st.v6[k][0] = (uint32_t)fw_rnd(r);
		st.v6[k][1] = (uint32_t)fw_rnd(r) & 0xffff0000u;
	}
	memset(fw, 0, sizeof(*fw));
	fw->default_action = SPEC_ACT_DENY;
	fw->nrules = NRULES;
	fw->rules = calloc(NRULES, sizeof(*fw->rules));
	for (i = 0; i < NRULES; i++) {
		struct spec_fw_rule *x = &fw->rules[i];
		int fam = fw_below(r, 2) ? 4 : 6, pk = (int)fw_below(r, 100);

		x->action = fw_below(r, 10) < 7 ? SPEC_ACT_ALLOW : SPEC_ACT_DENY;
		x->audit = fw_below(r, 100) < 2;
		x->proto = -1;
		x->icmp_type = x->icmp_code = -1;
		if (i % 20000 == 19999) { /* a few any/any rules */
			x->proto = IPPROTO_TCP;
			x->dports = calloc(1, sizeof(*x->dports));
			x->dports[0].lo = x->dports[0].hi = (uint16_t)(23 + i / 20000);
			x->ndports = 1;
			x->action = SPEC_ACT_DENY;
			continue;
		}
		x->ndst = fw_below(r, 10) ? 1 : 2;
		x->dst = calloc(x->ndst, sizeof(*x->dst));
		for (k = 0; k < (int)x->ndst; k++)
			gen_prefix(r, &st, fam, &x->dst[k]);
		if (fw_below(r, 10) < 4) {
			x->nsrc = 1;
			x->src = calloc(1, sizeof(*x->src));
			gen_prefix(r, &st, fam, &x->src[0]);
		}
		if (pk < 50 || pk < 70) {
			x->proto = pk < 50 ? IPPROTO_TCP : IPPROTO_UDP;
			if (fw_below(r, 10) < 6) {
				static const uint16_t pop[] = { 22, 25, 53, 80, 123, 443, 8080, 8443 };

				x->ndports = 1;
				x->dports = calloc(1, sizeof(*x->dports));
				if (fw_below(r, 2)) {
					x->dports[0].lo = x->dports[0].hi = pop[fw_below(r, 8)];
				} else {
					x->dports[0].lo = (uint16_t)(1024 + fw_below(r, 60000));
					x->dports[0].hi = (uint16_t)(x->dports[0].lo + fw_below(r, 100));
				}
			}
		} else if (pk < 75) {
			x->proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
			x->icmp_type = fam == 4 ? 8 : 128;
		}
	}
}

static void addr_in(struct fw_rng *r, const struct spec_prefix *list, size_t n, int fam, uint32_t *a)
{
	int w, bits;

	for (w = 0; w < 4; w++)
		a[w] = fam == 4 && w ? 0 : (uint32_t)fw_rnd(r);
	if (!n)
		return;
	list += fw_below(r, (uint32_t)n);
	for (w = 0, bits = list->plen; w < (fam == 4 ? 1 : 4); w++, bits -= 32) {
		uint32_t m = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

		a[w] = htonl((ntohl(list->addr[w]) & m) | (ntohl(a[w]) & ~m));
	}
}

/* A packet aimed at a random rule (80%), or anywhere. */
static void gen_packet(struct fw_rng *r, const struct spec_firewall *fw, struct fw_ref_pkt *p)
{
	const struct spec_fw_rule *x = &fw->rules[fw_below(r, (uint32_t)fw->nrules)];
	int fam = x->ndst ? x->dst[0].family : fw_below(r, 2) ? 4 : 6;
	bool aimed = fw_below(r, 10) < 8;

	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)fam;
	addr_in(r, aimed ? x->src : NULL, aimed ? x->nsrc : 0, fam, p->saddr);
	addr_in(r, aimed ? x->dst : NULL, aimed ? x->ndst : 0, fam, p->daddr);
	p->proto = aimed && x->proto >= 0 ? (uint8_t)x->proto : fw_below(r, 2) ? IPPROTO_TCP : IPPROTO_UDP;
	p->flags = SL_F_HAS_L4;
	p->sport = (uint16_t)(1024 + fw_below(r, 60000));
	p->dport = aimed && x->ndports ? (uint16_t)(x->dports[0].lo + fw_below(r, x->dports[0].hi - x->dports[0].lo + 1u))
				       : (uint16_t)fw_below(r, 65536);
	if (aimed && x->icmp_type >= 0) {
		p->dport = (uint16_t)x->icmp_type;
		p->sport = 0;
	}
	if (fw_below(r, 50) == 0) /* now and then a later fragment */
		p->flags = SL_F_FRAG | SL_F_FRAG_LATER;
	p->len = 64 + fw_below(r, 1400);
}

/* ---- baselines: tiny programs from raw instructions ---- */

#define I(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* lpm: key {prefixlen 32, addr} at fp-8; else a 4-byte key at fp-4.
 * map_fd < 0: no lookup (the empty program). The key is the packet's
 * bytes 14..17. */
static int baseline_prog(int map_fd, bool lpm)
{
	struct bpf_insn p[32];
	int n = 0, out;

	p[n++] = I(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0); /* r2 = data */
	p[n++] = I(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 4, 0); /* r3 = data_end */
	p[n++] = I(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0);
	p[n++] = I(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 18);
	out = n;
	p[n++] = I(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, 0); /* patched */
	if (map_fd >= 0) {
		p[n++] = I(BPF_LDX | BPF_MEM | BPF_W, 5, 2, 14, 0);
		p[n++] = I(BPF_STX | BPF_MEM | BPF_W, 10, 5, -4, 0);
		p[n++] = I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -8, 32);
		p[n++] = I(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);
		p[n++] = I(0, 0, 0, 0, 0);
		p[n++] = I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
		p[n++] = I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, lpm ? -8 : -4);
		p[n++] = I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	}
	p[out].off = (short)(n - out - 1);
	p[n++] = I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS);
	p[n++] = I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return bpf_prog_load(BPF_PROG_TYPE_XDP, "fw_baseline", "GPL", p, (size_t)n, NULL);
}

/* Mean kernel-measured ns per run over distinct frames (key at byte 14). */
static double bench_prog(int prog_fd, const uint32_t *keys, size_t n)
{
	uint8_t frame[64] = { 0 };
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .repeat = 1);

		memcpy(frame + 14, &keys[i], 4);
		if (bpf_prog_test_run_opts(prog_fd, &o))
			return -1;
		sum += o.duration;
	}
	return (double)sum / (double)n;
}

/* The fw stage the same way: one run per distinct packet. */
static double bench_fw(struct fw_rig *rig, const struct fw_ref_pkt *pk, size_t n)
{
	uint64_t sum = 0;
	uint32_t ret, ns;
	size_t i;

	for (i = 0; i < n; i++) {
		if (fw_rig_put(rig, &pk[i]) || fw_rig_exec(rig, &ret, &ns))
			return -1;
		sum += ns;
	}
	return (double)sum / (double)n;
}

void test_fw_scale(void)
{
	struct fw_rng r = { 0x100000 };
	struct spec_firewall fw;
	struct sl_errs errs = { 0 };
	struct fw_image img = { 0 };
	struct fw_rig rig = { 0 };
	struct fw_ref_pkt *pk = NULL;
	char *log = NULL, w[96], g[96];
	double t0, t_compile = 1e9, t_cpu = 1e9, t_load, ns[6];
	int err, i, mismatches = 0, hash_fd = -1, lpm_fd = -1, progs[3] = { -1, -1, -1 };
	uint32_t *keys = NULL;
	bool rig_ok = false;

	gen_rules(&r, &fw);
	for (i = 0; i < 3; i++) { /* best of three */
		double c0 = cpu_ms();

		t0 = now_ms();
		err = fw_compile(&fw, "spec.functions[0]", &img, &errs);
		if (now_ms() - t0 < t_compile)
			t_compile = now_ms() - t0;
		if (cpu_ms() - c0 < t_cpu)
			t_cpu = cpu_ms() - c0;
		if (!ASSERT_OK(err, "fw_compile")) {
			errs_print(&errs, stdout);
			goto out;
		}
		if (i < 2)
			fw_image_free(&img);
	}
	printf("  fw_scale: %d rules compiled in %.1f ms (best of 3; %.1f ms of CPU)\n", NRULES,
	       t_compile, t_cpu);
	printf("  fw_scale: atoms v4 %zu v6 %zu; classes v4 src/dst/port %zu/%zu/%zu, v6 %zu/%zu/%zu\n",
	       img.natoms4, img.natoms6, img.nclasses4[0], img.nclasses4[1], img.nclasses4[2],
	       img.nclasses6[0], img.nclasses6[1], img.nclasses6[2]);
	printf("  fw_scale: longest list v4 src/dst/port %zu/%zu/%zu, v6 %zu/%zu/%zu; max scan v4 %zu v6 %zu\n",
	       img.max_list4[0], img.max_list4[1], img.max_list4[2], img.max_list6[0],
	       img.max_list6[1], img.max_list6[2], img.max_scan4, img.max_scan6);
	printf("  fw_scale: images %.1f MiB: lpm4 %zu elements (%.1f MiB; cap bound %zu DIR-16-8-8 chunks), lpm6 %zu elements (%.1f MiB), candidates v4 %zu v6 %zu, port index %s\n",
	       (double)img.bytes / 1048576.0, img.lpm4.n / FW_LPM4_ELEM_ENTRIES,
	       (double)img.lpm4.n * 4 / 1048576.0, img.lpm4_chunks, img.lpm6.n / FW_LPM4_ELEM_ENTRIES,
	       (double)img.lpm6.n * 4 / 1048576.0, img.ncand4, img.ncand6,
	       img.port_cls ? "built" : "not built");
	ASSERT_LE(img.max_scan4, FW_MAX_SCAN, "max_scan4");
	ASSERT_LE(img.max_scan6, FW_MAX_SCAN, "max_scan6");
	ASSERT_LT(t_compile, 1000, "compile time (ms)");

	rig_ok = ASSERT_OK(fw_rig_open(&rig), "fw_rig_open");
	if (!rig_ok)
		goto out;
	{
		/* The chain's shared maps (fw_counters: 301024 slots per CPU)
		 * are made once per chain, not per apply: not timed. */
		struct spec_firewall none = { .default_action = SPEC_ACT_ALLOW };
		struct fw_image empty;

		if (!ASSERT_OK(fw_compile(&none, "none", &empty, &errs), "empty") ||
		    !ASSERT_OK(fw_rig_load(&rig, &empty, NULL), "empty load"))
			goto out;
		fw_image_free(&empty);
	}
	t0 = now_ms();
	err = fw_rig_load(&rig, &img, &log);
	t_load = now_ms() - t0;
	if (!ASSERT_OK(err, "fw_rig_load")) {
		printf("%s\n", log ? log : "");
		goto out;
	}
	printf("  fw_scale: loaded and filled in %.1f ms; verified_insns %u\n", t_load,
	       rig.verified_insns);

	pk = calloc(NBENCH, sizeof(*pk));
	if (!ASSERT_OK_PTR(pk, "packets"))
		goto out;
	for (i = 0; i < NBENCH; i++)
		gen_packet(&r, &fw, &pk[i]);
	for (i = 0; i < NSAMPLE; i++) {
		struct fw_ref_res ref;
		struct sl_meta m;
		uint32_t ret;

		fw_ref_eval(&fw, &pk[i], &ref);
		err = fw_rig_run(&rig, &pk[i], &m, &ret);
		if (!ASSERT_OK(err, "fw_rig_run"))
			break;
		if (m.trace[0].verdict == ref.verdict && m.trace[0].reason == ref.reason &&
		    m.trace[0].rule == ref.rule)
			continue;
		if (mismatches++ < 5)
			printf("    packet %d: model %s, stage %s\n", i,
			       fw_ref_str(ref.verdict, ref.reason, ref.rule, w, sizeof(w)),
			       fw_ref_str(m.trace[0].verdict, m.trace[0].reason, m.trace[0].rule, g,
					  sizeof(g)));
	}
	printf("  fw_scale: %d sample packets checked against the model, %d mismatches\n", NSAMPLE,
	       mismatches);
	ASSERT_EQ(mismatches, 0, "mismatches");

	/* Cost per packet (ns, kernel-measured, one run per distinct input). */
	{
		LIBBPF_OPTS(bpf_map_create_opts, lo, .map_flags = BPF_F_NO_PREALLOC);
		struct fw_ref_pkt *p4 = calloc(NBENCH, sizeof(*p4)), *p6 = calloc(NBENCH, sizeof(*p6));
		uint32_t *hkeys = calloc(NBENCH, sizeof(*hkeys)), *lkeys = calloc(NBENCH, sizeof(*lkeys));
		struct spec_prefix *lpfx = calloc(NRULES, sizeof(*lpfx));
		struct spec_firewall none = { .default_action = SPEC_ACT_ALLOW };
		struct fw_image empty = { 0 };
		size_t n4 = 0, n6 = 0, k;
		uint32_t val = 1;
		struct sites st;

		keys = calloc(NRULES, sizeof(*keys));
		hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fw_bench_hash", 4, 4, NRULES, NULL);
		lpm_fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "fw_bench_lpm", 8, 4, NRULES, &lo);
		if (!ASSERT_OK_PTR(keys, "keys") || !ASSERT_GE(hash_fd, 0, "hash map") ||
		    !ASSERT_GE(lpm_fd, 0, "lpm map") || !ASSERT_OK_PTR(p4, "p4") ||
		    !ASSERT_OK_PTR(p6, "p6") || !ASSERT_OK_PTR(hkeys, "hkeys") ||
		    !ASSERT_OK_PTR(lkeys, "lkeys") || !ASSERT_OK_PTR(lpfx, "lpfx"))
			goto bench_out;
		/* The hash: 100k keys, looked up (hits) in random order. The
		 * trie: 100k prefixes like the rules' (mixed lengths, half from
		 * shared /16 sites), looked up with addresses inside them. */
		for (k = 0; k < 2000; k++)
			st.v4[k] = (uint32_t)fw_rnd(&r) & 0xffff0000u;
		for (k = 0; k < NRULES; k++) {
			struct { uint32_t plen, addr; } lk;

			keys[k] = (uint32_t)fw_rnd(&r);
			bpf_map_update_elem(hash_fd, &keys[k], &val, 0);
			gen_prefix(&r, &st, 4, &lpfx[k]);
			lk.plen = lpfx[k].plen;
			lk.addr = lpfx[k].addr[0];
			bpf_map_update_elem(lpm_fd, &lk, &val, 0);
		}
		for (k = 0; k < NBENCH; k++) {
			uint32_t a[4];

			hkeys[k] = keys[fw_below(&r, NRULES)];
			addr_in(&r, &lpfx[fw_below(&r, NRULES)], 1, 4, a);
			lkeys[k] = a[0];
		}
		progs[0] = baseline_prog(-1, false);
		progs[1] = baseline_prog(hash_fd, false);
		progs[2] = baseline_prog(lpm_fd, true);
		if (!ASSERT_GE(progs[0], 0, "empty prog") || !ASSERT_GE(progs[1], 0, "hash prog") ||
		    !ASSERT_GE(progs[2], 0, "lpm prog"))
			goto bench_out;
		for (i = 0; i < NBENCH; i++) {
			if (pk[i].family == 4)
				p4[n4++] = pk[i];
			else
				p6[n6++] = pk[i];
		}
		ns[0] = bench_prog(progs[0], hkeys, NBENCH);
		ns[1] = bench_prog(progs[1], hkeys, NBENCH);
		ns[2] = bench_prog(progs[2], lkeys, NBENCH);
		ns[3] = bench_fw(&rig, p4, n4);
		ns[4] = bench_fw(&rig, p6, n6);
		/* the same stage with no rules: its fixed cost */
		if (!fw_compile(&none, "none", &empty, &errs) && !fw_rig_load(&rig, &empty, NULL))
			ns[5] = bench_fw(&rig, p4, n4);
		else
			ns[5] = -1;
		fw_image_free(&empty);
		printf("  fw_scale: ns/packet (kernel-measured, %d distinct inputs): empty prog %.0f, 100k-key hash lookup %.0f, 100k-prefix LPM trie lookup %.0f\n",
		       NBENCH, ns[0], ns[1], ns[2]);
		printf("  fw_scale: ns/packet: fw stage, no rules %.0f; 100k rules IPv4 %.0f, IPv6 %.0f\n",
		       ns[5], ns[3], ns[4]);
		printf("  fw_scale: in hash lookups, (x - fixed cost) / (hash - empty): fw IPv4 %.1f, fw IPv6 %.1f, LPM trie %.1f\n",
		       (ns[3] - ns[5]) / (ns[1] - ns[0]), (ns[4] - ns[5]) / (ns[1] - ns[0]),
		       (ns[2] - ns[0]) / (ns[1] - ns[0]));
		ASSERT_GT(ns[3], 0, "bench ran");
bench_out:
		free(p4);
		free(p6);
		free(hkeys);
		free(lkeys);
		free(lpfx);
	}
out:
	for (i = 0; i < 3; i++)
		if (progs[i] >= 0)
			close(progs[i]);
	if (hash_fd >= 0)
		close(hash_fd);
	if (lpm_fd >= 0)
		close(lpm_fd);
	free(keys);
	free(pk);
	free(log);
	if (rig_ok)
		fw_rig_close(&rig);
	fw_image_free(&img);
	errs_free(&errs);
	fw_rules_free(&fw);
}
