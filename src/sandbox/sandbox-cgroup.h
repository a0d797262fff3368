/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The cgroups of dynos. A dyno's cgroup is named after its id, under a "cove" parent:
 *   cgroup v1: /sys/fs/cgroup/{memory,pids,cpu}/cove/<id>, one per controller
 *   cgroup v2: /sys/fs/cgroup/cove/<id>, with memory, pids and cpu enabled for it
 * The version is the host's: v2 when /sys/fs/cgroup is a cgroup2 file system, v1 (legacy or
 * hybrid) when it is a tmpfs holding one hierarchy per controller.
 *
 * The pure parts (paths, the settings a spec asks for, parsing counters) take the root as a
 * parameter so that tests can run them anywhere; the others act on SANDBOX_CGROUP_ROOT.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define SANDBOX_CGROUP_ROOT "/sys/fs/cgroup"
#define SANDBOX_CGROUP_PARENT "cove"
#define SANDBOX_CGROUP_SETTINGS_MAX 8

enum sandbox_cgroup_version {
	SANDBOX_CGROUP_V1 = 1,
	SANDBOX_CGROUP_V2 = 2,
};

/* The v1 controllers a dyno uses, each its own hierarchy. */
extern const char *const sandbox_cgroup_v1_controllers[];
extern const size_t sandbox_cgroup_v1_controllers_count;

/* One file to write in a new cgroup: controller (NULL on v2) / file = value. */
struct sandbox_cgroup_setting {
	const char *controller;
	const char *file;
	char value[24];
	bool optional; /* skip it when the file does not exist (v1 memsw without swap accounting) */
};

/* Finds the host's cgroup version with statfs() on SANDBOX_CGROUP_ROOT. */
int sandbox_cgroup_detect(enum sandbox_cgroup_version *ret, struct error *err);

/*
 * Returns the directory of dyno id's cgroup (caller frees): for v1 in the hierarchy of
 * controller, for v2 the one cgroup (controller is ignored). A NULL id gives the parent.
 */
char *sandbox_cgroup_path(const char *root, enum sandbox_cgroup_version version, const char *controller,
			  const char *id);

/*
 * Fills ret with the settings that enforce the limits, in the order they must be written, and
 * returns how many. 0 means "no limit" for memory and pids and "default" for the CPU weight.
 * v1: memory.limit_in_bytes and memory.memsw.limit_in_bytes (so swap cannot extend the limit),
 * pids.max, cpu.shares. v2: memory.max, memory.swap.max 0, pids.max, cpu.weight.
 */
size_t sandbox_cgroup_settings(enum sandbox_cgroup_version version, uint64_t memory_bytes, unsigned pids_max,
			       unsigned cpu_weight, struct sandbox_cgroup_setting ret[static SANDBOX_CGROUP_SETTINGS_MAX]);

/*
 * Finds "key value" (sep ' ') or "key=value" (sep '=') as a whole line of text and parses the
 * value as an unsigned decimal: the format of memory.events, memory.oom_control and of the
 * sandbox's own state files. -ENOENT when the key is missing, -EINVAL when the value is no
 * number.
 */
int sandbox_parse_key_u64(const char *text, const char *key, char sep, uint64_t *ret);

/*
 * Creates dyno id's cgroup with the given limits. A leftover cgroup of the same name is
 * removed first, so the counters (OOM kills) start at 0; -EBUSY if it still holds processes.
 */
int sandbox_cgroup_create(enum sandbox_cgroup_version version, const char *id, uint64_t memory_bytes,
			  unsigned pids_max, unsigned cpu_weight, struct error *err);

/* Moves process pid into dyno id's cgroup (every hierarchy on v1). */
int sandbox_cgroup_attach(enum sandbox_cgroup_version version, const char *id, pid_t pid, struct error *err);

/*
 * Removes dyno id's cgroup; a missing one is fine. Retries briefly while it is busy (the last
 * task of a cgroup may still be on its way out).
 */
int sandbox_cgroup_remove(enum sandbox_cgroup_version version, const char *id, struct error *err);

/* Reads memory usage, limit (UINT64_MAX for none) and OOM kills; NULL ret_ pointers are skipped. */
int sandbox_cgroup_memory(enum sandbox_cgroup_version version, const char *id, uint64_t *ret_usage,
			  uint64_t *ret_limit, uint64_t *ret_oom_kills, struct error *err);
