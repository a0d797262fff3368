/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Allocation helpers. Allocation failure is not an error cove handles: it aborts, so callers
 * never test for NULL from these.
 */

#include <stdarg.h>
#include <stddef.h>

#include "base/macro.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);
