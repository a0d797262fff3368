/* SPDX-License-Identifier: MIT */
#include "base/id.h"

#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>

void id_new(char ret[static ID_STRING_MAX])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, ret);
}

bool id_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}
