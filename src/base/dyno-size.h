/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Dyno sizes: the names users pick (`ps:type web=private-m`) and the limits the sandbox
 * enforces for them. Shared by the API (validation) and the agent (cgroup limits).
 */

#include <stddef.h>

struct dyno_size {
	const char *name;       /* as the API shows it: "Private-M" */
	unsigned long memory_mb; /* the memory quota */
	unsigned cpu_weight;    /* relative CPU weight, 1..10000 */
	unsigned pids_max;      /* processes and threads */
};

extern const struct dyno_size dyno_sizes[];
extern const size_t dyno_sizes_count;
#define DYNO_SIZE_DEFAULT "Private-S"

/* Finds a size by name, case-insensitively ("private-m" is "Private-M"); NULL if unknown. */
const struct dyno_size *dyno_size_find(const char *name);
