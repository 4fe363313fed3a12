/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Config maps from userspace: fill an mmapable ARRAY through a shared
 * mapping, then freeze it. The two meet at one kernel rule: a map cannot
 * be frozen while a writable mapping of it exists anywhere, in this
 * process or in a child that inherited one. */
#ifndef SLUICE_CFGMAP_H
#define SLUICE_CFGMAP_H

#include <stddef.h>

/* Map the whole value area of the ARRAY (BPF_F_MMAPABLE) at fd for
 * writing; *len gets the mapping's length (whole pages). The mapping is
 * never inherited by a child. NULL with errno set on failure. */
void *cfgmap_mmap(int fd, size_t *len);
/* bpf_map_freeze, waiting out a writable mapping that a child still holds
 * (it drops it at exec or exit) for at most CFGMAP_FREEZE_WAIT_MS. 0 or a
 * negative errno (-EBUSY when a mapping outlived the wait). A map frozen
 * already gives EBUSY too, after the wait: freeze each map once. */
int cfgmap_freeze(int fd);

#define CFGMAP_FREEZE_WAIT_MS 2000

#endif
