/* SPDX-License-Identifier: MIT */
#include "base/dyno-size.h"

#include <strings.h>

#include "base/macro.h"

const struct dyno_size dyno_sizes[] = {
	{ "Private-XS", 512, 50, 256 },
	{ "Private-S", 1024, 100, 512 },
	{ "Private-M", 2560, 200, 1024 },
	{ "Private-L", 14336, 800, 4096 },
};
const size_t dyno_sizes_count = ARRAY_SIZE(dyno_sizes);

const struct dyno_size *dyno_size_find(const char *name)
{
	for (size_t i = 0; name && i < dyno_sizes_count; i++)
		if (strcasecmp(dyno_sizes[i].name, name) == 0)
			return &dyno_sizes[i];
	return NULL;
}
