/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where a chain lives: its bpffs pin directory and its state directory.
 *
 *   PIN_ROOT/<chain>/entry, sl_root, sl_meta_scratch, sl_drops, fw_counters
 *   PIN_ROOT/<chain>/link_<ifname>_<hook>
 *   PIN_ROOT/<chain>/gen/<N>/stage_<i>, sl_chain, sl_gen_stats, <fn>_<map>
 *   STATE_DIR/<chain>/lock, state.json, history/<N>.json, history/log.jsonl
 *
 * Directories are 0700 and state files 0600: pins and state readable by
 * others leak control (CVE-2022-29178).
 */
#ifndef SLUICE_PIN_H
#define SLUICE_PIN_H

#include <limits.h>
#include <stdint.h>

#define SL_DEFAULT_PIN_ROOT "/sys/fs/bpf/sluice"
#define SL_DEFAULT_STATE_DIR "/var/lib/sluice"

struct chain_paths {
	char pin[PATH_MAX];   /* PIN_ROOT/<chain> */
	char gen[PATH_MAX];   /* PIN_ROOT/<chain>/gen */
	char state[PATH_MAX]; /* STATE_DIR/<chain> */
	char hist[PATH_MAX];  /* STATE_DIR/<chain>/history */
};

int paths_init(struct chain_paths *p, const char *pin_root,
	       const char *state_dir, const char *chain);
/* mkdir -p with mode 0700 for every created component. */
int mkdir_p(const char *path);
/* Pin fd at dir/name (dir must exist). Replaces nothing: -EEXIST. */
int pin_fd(int fd, const char *dir, const char *name);
/* bpf_obj_get of dir/name; -ENOENT when absent. */
int pin_get(const char *dir, const char *name);
/* Unpin everything under a bpffs directory, then remove it. Missing is
 * fine. Recurses one level deep per call into subdirectories. */
int pin_rmtree(const char *dir);
/* Write a file atomically (tmp + fsync + rename), mode 0600. */
int file_write_atomic(const char *path, const char *data, size_t len);
/* Read a whole file (NUL-terminated). *out freed by the caller. */
int file_read(const char *path, char **out, size_t *len, size_t max);

#endif
