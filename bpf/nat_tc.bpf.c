// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The TC (sched_cls) twin of nat.bpf.c: same code, TC context. */
#define SL_HOOK_TC
#include "nat.bpf.c"
