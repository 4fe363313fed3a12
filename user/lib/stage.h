/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading one network-function stage of a generation.
 *
 * Every stage object declares the chain maps (bpf/include/chain_maps.h,
 * stage.h). Shared maps are handed in and reused with bpf_map__reuse_fd;
 * a map whose fd is still -1 is created by the first object that loads and
 * its fd is written back (dup'ed, owned by the caller), so every map carries
 * the BTF of the object that made it.
 */
#ifndef SLUICE_STAGE_H_USER
#define SLUICE_STAGE_H_USER

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* Other chain-level maps: the state of stateful functions (a conntrack
 * table, NAT ports, ...) that must survive generations, by name. A function
 * type adds its map's name here; the chain adopts it from its pin, the
 * first stage that declares it creates it, and the generation code pins it
 * at the chain root. */
#define STAGE_MAX_EXTRA 8
extern const char *const stage_shared_names[STAGE_MAX_EXTRA];

/* Maps shared by the whole chain, across generations (pinned at the chain
 * root). -1 (extra_fd: 0): not created yet. */
struct stage_shared {
	int meta_fd;	    /* sl_meta_scratch */
	int drops_fd;	    /* sl_drops */
	int fw_counters_fd; /* fw_counters: counters by slot */
	int extra_fd[STAGE_MAX_EXTRA]; /* stage_shared_names[i]; 0: none
					  (our fds are dup'ed above 2) */
};

/* Maps owned by one generation. -1: not created yet. */
struct stage_gen {
	uint32_t gen;
	uint32_t nstages;
	bool tc;	   /* TC (sched_cls) programs, else XDP */
	int chain_fd;	   /* sl_chain */
	int gen_stats_fd;  /* sl_gen_stats */
};

#define STAGE_MAX_PINS 24

/* A loaded stage: its program and the maps to pin in the generation dir. */
struct stage_obj {
	int prog_fd;
	int commit_fd;	/* > 0: the program for the chain's slot nstages,
			 * run when a packet leaves the chain accepted with
			 * this stage's work pending (bpf/include/stage.h,
			 * stage_leave); owned by skel */
	void *skel;
	void (*destroy)(void *skel);
	struct {
		const char *name;
		int fd;
	} pins[STAGE_MAX_PINS];
	size_t npins;
};

void stage_obj_destroy(struct stage_obj *so);

/* Every program has an XDP build <name>.bpf.c and a TC twin
 * <name>_tc.bpf.c made from the same source: their skeletons have the same
 * layout, so a loader opens the right one and then uses the XDP type for
 * both. STAGE_TWIN_CHECK asserts the layouts really agree. */
#define STAGE_TWIN_CHECK(xdp, tc)                                              \
	_Static_assert(sizeof(struct xdp) == sizeof(struct tc) &&              \
			       sizeof(((struct xdp *)0)->maps) ==              \
				       sizeof(((struct tc *)0)->maps) &&       \
			       sizeof(((struct xdp *)0)->progs) ==             \
				       sizeof(((struct tc *)0)->progs),        \
		       "the TC twin of " #xdp " differs in layout")

/* The verifier's log of one stage load: stage_log_begin() gives prog a
 * buffer (libbpf fills it only when the load fails; want false: no
 * buffer), stage_log_end() hands the caller the log's last
 * STAGE_LOG_TAIL bytes, from a line start, when the load failed. */
#define STAGE_LOG_SIZE (4u << 20)
#define STAGE_LOG_TAIL 8192
struct bpf_program;
char *stage_log_begin(struct bpf_program *prog, bool want);
void stage_log_end(char *buf, int err, char **log);

/* Freeze the config maps and list them with .rodata (frozen by libbpf,
 * pinned as rodata_name) in out->pins for the generation directory. */
struct bpf_map;
int stage_pin_config(struct stage_obj *out, struct bpf_map *const *maps, size_t n,
		     const struct bpf_map *rodata, const char *rodata_name);

/* The .rodata every stage has (bpf/include/stage.h): generation, position
 * in the chain and the test hook SLUICE_TEST_FAULT=verifier. */
#define STAGE_SET_RODATA(skel, g, idx)                                         \
	do {                                                                   \
		(skel)->rodata->sl_gen = (g) ? (g)->gen : 0;                   \
		(skel)->rodata->sl_stage = (idx);                              \
		(skel)->rodata->sl_nstages = (g) ? (g)->nstages : 1;           \
		(skel)->rodata->sl_test_verifier_reject =                      \
			fault_at("verifier") ? 1 : 0;                          \
	} while (0)
/* Test hook (chain.c): SLUICE_TEST_FAULT=<step> makes that step fail with
 * -EIO. */
int fault_at(const char *step);

/* Load an opened stage skeleton: hand it the shared and per-generation
 * maps, load it (the verifier's log tail in *log on a rejection) and take
 * the fds of the shared maps it created. */
struct bpf_object_skeleton;
struct bpf_object;
struct bpf_program;
int stage_load(struct bpf_object_skeleton *skel, struct bpf_object *obj,
	       struct bpf_program *prog, struct stage_shared *sh, struct stage_gen *g,
	       char **log);

/* Hand the shared and per-generation maps to an object before load. */
struct bpf_object;
int stage_reuse_maps(struct bpf_object *obj, const struct stage_shared *sh,
		     const struct stage_gen *g);
/* After load: take the fds of maps this object created (-1 slots). */
int stage_take_maps(struct bpf_object *obj, struct stage_shared *sh,
		    struct stage_gen *g);

#endif
