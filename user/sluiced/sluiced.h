/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluiced, the node agent: watches spec files (a mounted ConfigMap),
 * applies them through libsluice, serves metrics and health. docs/agent.md.
 *
 * Threads: the main thread watches, debounces and applies; libmicrohttpd's
 * thread serves HTTP. They share `agent` under agent.mu, which the main
 * thread holds only to update fields, never during an apply.
 */
#ifndef SLUICED_H
#define SLUICED_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "chain.h"
#include "errs.h"

/* Logging: JSON lines on stderr. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct kv {
	const char *k;
	char t; /* 's' string, 'n' number, 'b' bool; 0 ends the list */
	const char *s;
	double n;
};
#define KS(key, val) ((struct kv){ .k = (key), .t = 's', .s = (val) })
#define KN(key, val) ((struct kv){ .k = (key), .t = 'n', .n = (double)(val) })
#define KB(key, val) ((struct kv){ .k = (key), .t = 'b', .n = (val) ? 1 : 0 })
#define KEND ((struct kv){ 0 })

int log_set_level(const char *name);
void log_kv(enum log_level lvl, const char *msg, const struct kv *kv);
#define LOG(lvl, msg, ...) log_kv(lvl, msg, (const struct kv[]){ __VA_ARGS__ __VA_OPT__(,) KEND })

/* Results of one apply, as the metrics name them. */
enum apply_res {
	RES_NONE = 0,	 /* never applied */
	RES_COMMITTED,	 /* a new generation is live */
	RES_UNCHANGED,	 /* the live generation already has this spec */
	RES_INVALID,	 /* the spec is invalid: nothing changed */
	RES_FAILED,	 /* runtime or kernel error: nothing changed */
	RES_LOCKED,	 /* another writer held the chain lock */
	RES__MAX,
};
const char *apply_res_str(enum apply_res r);

#define MAX_ERRS_KEPT 64
#define HIST_BUCKETS 14
extern const double hist_bounds[HIST_BUCKETS];

/* One spec file. */
struct source {
	char path[PATH_MAX];
	char raw_sha[65];	/* of the bytes last read ("" never read) */
	char chain[64];		/* metadata.name of its last valid read */
	char desired_sha[65];	/* spec sha256 of its last valid read */
	bool valid;		/* the last read parsed and validated */
	bool present;		/* found at the last scan */
	bool pending;		/* to apply (changed, or a retry) */
	struct spec *spec;	/* parsed, kept while pending */
	char *errs[MAX_ERRS_KEPT]; /* "path: message" of the last failure */
	size_t nerrs, more_errs;
	uint64_t retry_at_ms;	/* monotonic; 0: no retry scheduled */
	uint32_t backoff_ms;
};

/* The expiry sweep's results (gc.c). */
enum gc_res { GC_OK = 0, GC_LOCKED, GC_ERROR, GC__MAX };
enum gc_table { GC_CT = 0, GC_LB, GC_NAT, GC_TABLES };

/* What the agent knows about a chain it applied to. */
struct chain_stat {
	char name[64];
	char file[PATH_MAX];
	enum apply_res last;
	double last_time;	/* unix seconds of the last apply */
	double last_duration;	/* seconds */
	uint32_t last_gen;
	uint64_t results[RES__MAX];
	uint64_t buckets[HIST_BUCKETS]; /* cumulative counts are made at render */
	uint64_t hist_count;
	double hist_sum;
	uint64_t gc_runs[GC__MAX];	/* sweeps by result */
	uint64_t gc_removed[GC_TABLES];	/* entries this agent's sweeps removed */
	double gc_last_time;		/* unix seconds of the last sweep done */
	double gc_last_duration;	/* seconds */
};

#define MAX_SOURCES 64
#define MAX_CHAINS 64

struct agent {
	pthread_mutex_t mu;
	struct chain_opts copts;
	char **paths;		/* files and directories given */
	int npaths;
	struct source src[MAX_SOURCES];
	int nsrc;
	struct chain_stat chains[MAX_CHAINS];
	int nchains;
	bool started;		/* the first scan and apply are done */
	uint64_t heartbeat_ms;	/* main loop, monotonic */
	bool applying;
	double start_time;
	int debounce_ms;
	int resync_s;
	int gc_interval_s;	/* expiry sweep period; 0: none */
};

extern struct agent agent;

uint64_t mono_ms(void);
double wall_s(void);

/* watch.c */
int watch_init(void);
int watch_fd(void);
/* Add watches for every given path (and what its symlinks point to). */
void watch_refresh(void);
/* Drain events; true when something relevant changed. */
bool watch_read(void);

/* apply.c */
/* Read every source; mark changed ones pending. force: all valid ones. */
void sources_scan(bool force);
/* Re-apply where the live generation is not the desired spec. */
void sources_check_live(void);
/* Apply what is pending and due. Returns ms until the next retry, or -1. */
int sources_apply_due(void);
/* Live generation and sha of a chain from the kernel (no lock). */
int chain_live(const char *chain, uint32_t *gen, uint32_t *prev, char sha[65]);
struct chain_stat *chain_stat_get(const char *name, bool create);

/* gc.c: one expiry sweep of every chain's flow tables */
void gc_sweep_all(void);

/* http.c */
int http_start(const char *listen);
void http_stop(void);

/* metrics.c (the exposition) */
char *metrics_render(size_t *len);
/* /status as JSON; ready set when every source is valid and live. */
char *status_render(size_t *len, bool *ready, char *why, size_t whylen);

#endif
