/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A growable, always NUL-terminated byte buffer in the manner of git's strbuf, with an
 * optional hard size limit for buffers fed by input. Appending past the limit fails with
 * -EMSGSIZE and leaves the buffer as it was.
 *
 *   struct strbuf sb = STRBUF_INIT;
 *   strbuf_addf(&sb, "v%d", 3);
 *   ...
 *   strbuf_release(&sb);
 */

#include <stdarg.h>
#include <stddef.h>

#include "base/macro.h"

struct strbuf {
	char *buf;    /* never NULL after init; "" when empty */
	size_t len;   /* bytes used, not counting the NUL */
	size_t alloc; /* bytes allocated, 0 while buf points at the shared empty string */
	size_t limit; /* maximum len, 0 for no limit */
};

extern char strbuf_empty[];
#define STRBUF_INIT { .buf = strbuf_empty, .len = 0, .alloc = 0, .limit = 0 }

void strbuf_init(struct strbuf *sb, size_t limit);
void strbuf_release(struct strbuf *sb);
/* Returns the buffer's string and resets sb to empty; the caller frees the string. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);

int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, char c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);

static inline void strbuf_releasep(struct strbuf *sb)
{
	strbuf_release(sb);
}
#define _cleanup_strbuf_ _cleanup_(strbuf_releasep)
