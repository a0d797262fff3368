/* SPDX-License-Identifier: MIT */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int error_vset(struct error *err, int code, const char *id, const char *fmt, va_list ap) _printf_(4, 0);

static int error_vset(struct error *err, int code, const char *id, const char *fmt, va_list ap)
{
	if (code > 0)
		code = -code;
	if (code == 0)
		code = -EIO;
	if (!err)
		return code;
	err->code = code;
	snprintf(err->id, sizeof(err->id), "%s", id ? id : "");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int error_set_id(struct error *err, int code, const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(err, code, id, fmt, ap);
	va_end(ap);
	return r;
}

void error_clear(struct error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->id[0] = '\0';
	err->message[0] = '\0';
}
