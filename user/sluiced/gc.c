// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The periodic expiry sweep (docs/agent.md): every --gc-interval seconds,
 * for every chain this agent applied to, the conntrack table (ct_gc), the
 * load balancer's and the NAT's flow tables (flow_gc_chain), under the
 * chain's writer lock like `sluice conntrack gc`. A chain whose lock is
 * held (an apply by the CLI) is skipped until the next round. The results
 * feed the sluice_gc_* metrics; what each sweep removed is also counted in
 * the kernel's counters (sluice_flow_expired_total). */
#include <errno.h>
#include <string.h>
#include "sluiced.h"
#include "nf_ct.h"
#include "nf_flow.h"

static int sweep_chain(const char *name, uint64_t removed[GC_TABLES])
{
	struct chain_opts o = agent.copts;
	struct flow_gc_result fr;
	struct ct_gc_result cr;
	struct chain c;
	int *t, *s, err, e;

	o.lock_wait_ms = 0; /* never wait behind an apply: next round */
	if (!chain_exists(&o, name))
		return -ENOENT;
	err = chain_open(&c, &o, name, CHAIN_LOCK);
	if (err)
		return err;
	t = ct_shared_fd(&c.sh, CT_TABLE_PIN);
	s = ct_shared_fd(&c.sh, CT_STATS_PIN);
	if (t && *t > 0) {
		e = ct_gc(*t, s && *s > 0 ? *s : -1, 0, &cr);
		removed[GC_CT] = cr.removed;
		err = err ?: e;
	}
	e = flow_gc_chain(&c, FLOW_KIND_LB, 0, &fr);
	if (e != -ENOENT) {
		removed[GC_LB] = fr.removed + fr.removed_rev;
		err = err ?: e;
	}
	e = flow_gc_chain(&c, FLOW_KIND_NAT, 0, &fr);
	if (e != -ENOENT) {
		removed[GC_NAT] = fr.removed + fr.removed_rev;
		err = err ?: e;
	}
	chain_close(&c);
	return err;
}

void gc_sweep_all(void)
{
	char names[MAX_CHAINS][64];
	int n, i, k;

	pthread_mutex_lock(&agent.mu);
	n = agent.nchains;
	for (i = 0; i < n; i++)
		memcpy(names[i], agent.chains[i].name, sizeof(names[i]));
	pthread_mutex_unlock(&agent.mu);
	for (i = 0; i < n; i++) {
		uint64_t removed[GC_TABLES] = { 0 }, t0 = mono_ms();
		int err = sweep_chain(names[i], removed);
		double secs = (double)(mono_ms() - t0) / 1000.0;
		enum gc_res r = !err ? GC_OK : err == -EWOULDBLOCK ? GC_LOCKED : GC_ERROR;
		struct chain_stat *cs;

		if (err == -ENOENT)
			continue; /* detached: nothing to sweep */
		if (r == GC_ERROR)
			LOG(LOG_WARN, "expiry sweep failed", KS("chain", names[i]),
			    KS("error", strerror(-err)));
		else if (removed[GC_CT] + removed[GC_LB] + removed[GC_NAT])
			LOG(LOG_DEBUG, "expiry sweep", KS("chain", names[i]),
			    KN("conntrack", removed[GC_CT]), KN("loadbalancer", removed[GC_LB]),
			    KN("nat", removed[GC_NAT]), KN("ms", secs * 1000));
		pthread_mutex_lock(&agent.mu);
		cs = chain_stat_get(names[i], false);
		if (cs) {
			cs->gc_runs[r]++;
			if (r == GC_OK) {
				cs->gc_last_time = wall_s();
				cs->gc_last_duration = secs;
				for (k = 0; k < GC_TABLES; k++)
					cs->gc_removed[k] += removed[k];
			}
		}
		pthread_mutex_unlock(&agent.mu);
	}
}
