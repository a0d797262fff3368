/* SPDX-License-Identifier: MIT */
#pragma once

/* Resource ids: random (version 4) UUIDs in their canonical lower-case text form. */

#include <stdbool.h>

#define ID_STRING_MAX 37 /* 36 characters and the NUL */

/* Writes a new random UUID into ret. */
void id_new(char ret[static ID_STRING_MAX]);

/* True when s is a UUID in canonical text form (any case). */
bool id_is_uuid(const char *s);
