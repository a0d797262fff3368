/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The error convention of cove: functions return int, >= 0 on success and a negative errno on
 * failure. When a caller wants to know why, it passes a `struct error` as the last parameter;
 * the callee fills in a human-readable message (lower case, no full stop, the failing thing
 * first) and, optionally, a machine-readable id such as "name_conflict". The struct is
 * fixed-size and owned by the caller: nothing to free, nothing to leak. A NULL error pointer
 * is allowed everywhere and means "I only want the code".
 *
 * The API maps codes to HTTP statuses in one place (api-http.c):
 *   -EINVAL 422 invalid_params, -EBADMSG 400 bad_request, -ENOENT 404 not_found,
 *   -EEXIST 409 conflict, -EACCES 403 forbidden, -EPERM 401 unauthorized,
 *   -EMSGSIZE 413 request_entity_too_large, -ENOTEMPTY 409 conflict, -EBUSY 429, else 500.
 */

#include "base/macro.h"

#define ERROR_MESSAGE_MAX 512
#define ERROR_ID_MAX 48

struct error {
	int code;                       /* negative errno, 0 when unset */
	char id[ERROR_ID_MAX];          /* optional machine-readable id, "" when unset */
	char message[ERROR_MESSAGE_MAX];
};

/* Records code and a formatted message in err (which may be NULL) and returns -|code|. */
int error_set(struct error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Like error_set(), with an explicit machine-readable id. */
int error_set_id(struct error *err, int code, const char *id, const char *fmt, ...) _printf_(4, 5);

/* Clears err (may be NULL). */
void error_clear(struct error *err);

/* True when an error has been recorded. */
static inline bool error_is_set(const struct error *err)
{
	return err && err->code != 0;
}
