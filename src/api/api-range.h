/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Range pagination of list responses, as the Heroku Platform API has it. A client sends
 *
 *   Range: version ..; max=10, order=desc
 *
 * and gets at most max items sorted by the field, with `206 Partial Content` and a
 * `Next-Range: version ]5..; max=10, order=desc` header when more remain; it sends that value
 * back as its next Range to get the following page. A leading "]" on the start means "after
 * start". Without a Range header a list is sorted by its first range field, up to
 * API_RANGE_MAX_DEFAULT items.
 *
 * The parser is strict about the field (one of the list's range fields) and lenient about
 * spacing; values that look like integers compare as integers, others as strings.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define API_RANGE_MAX_DEFAULT 200
#define API_RANGE_MAX_LIMIT 1000

struct api_range {
	char field[64];
	json_t *start; /* first key to include; NULL when open */
	bool start_exclusive; /* "]start..": the first key after start */
	json_t *end;   /* last key to include; NULL when open */
	size_t max;    /* 1..API_RANGE_MAX_LIMIT */
	bool desc;
};

/*
 * Parses a Range header value "field [start]..[end][; max=N[, order=asc|desc]]". allowed is
 * the comma-separated list of fields the list may be sorted by. Fails with -EBADMSG (400)
 * and a message when the header is malformed or names another field; a max above
 * API_RANGE_MAX_LIMIT is lowered to it. Release *ret with api_range_release(), also after
 * a failure.
 */
int api_range_parse(const char *header, const char *allowed, struct api_range *ret, struct error *err);

/* The range of a request without a Range header: the first allowed field, ascending. */
void api_range_default(const char *allowed, struct api_range *ret);

/* Frees the start and end values of a range (not the struct, which is the caller's). */
void api_range_release(struct api_range *r);

/*
 * Cuts a list (an array of objects) to the range and returns the page as a new array that
 * holds references to the list's items; the list itself is unchanged. When more items follow
 * the page, *ret_next gets the Next-Range value (caller frees); else it is NULL.
 */
json_t *api_range_apply(json_t *list, const struct api_range *r, char **ret_next);
