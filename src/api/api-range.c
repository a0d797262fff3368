/* SPDX-License-Identifier: MIT */
#include "api/api-range.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static json_t *range_value(const char *s, size_t len)
{
	char *end;
	_cleanup_free_ char *copy = xstrndup(s, len);
	long long n = strtoll(copy, &end, 10);
	if (*copy && !*end)
		return json_integer(n);
	return json_string(copy);
}

void api_range_default(const char *allowed, struct api_range *ret)
{
	*ret = (struct api_range){ .max = API_RANGE_MAX_DEFAULT };
	snprintf(ret->field, sizeof(ret->field), "%.*s", (int)strcspn(allowed, ","), allowed);
}

void api_range_release(struct api_range *r)
{
	json_decref(r->start);
	json_decref(r->end);
	r->start = r->end = NULL;
}

int api_range_parse(const char *h, const char *allowed, struct api_range *r, struct error *err)
{
	*r = (struct api_range){ .max = API_RANGE_MAX_DEFAULT };
	const char *p = h + strspn(h, " ");
	size_t n = strcspn(p, " ;");
	if (n == 0 || n >= sizeof(r->field))
		return error_set(err, -EBADMSG, "Range header '%.64s' is invalid", h);
	memcpy(r->field, p, n);
	r->field[n] = '\0';

	bool ok = false;
	for (const char *a = allowed; a && *a;) {
		size_t l = strcspn(a, ",");
		if (l == n && strncmp(a, r->field, n) == 0)
			ok = true;
		a += l + (a[l] == ',');
	}
	if (!ok)
		return error_set(err, -EBADMSG, "Range field '%s' is invalid: use one of %s", r->field, allowed);

	p += n;
	p += strspn(p, " ");
	const char *semi = strchr(p, ';');
	size_t span = semi ? (size_t)(semi - p) : strlen(p);
	const char *dots = memmem(p, span, "..", 2);
	if (dots) {
		const char *s = p;
		if (*s == ']') {
			r->start_exclusive = true;
			s++;
		}
		if (dots > s)
			r->start = range_value(s, (size_t)(dots - s));
		const char *e = dots + 2;
		size_t elen = (size_t)(p + span - e);
		while (elen && e[elen - 1] == ' ')
			elen--;
		if (elen)
			r->end = range_value(e, elen);
	} else if (span && strspn(p, " ") != span) {
		return error_set(err, -EBADMSG, "Range header '%.64s' is invalid", h);
	}

	for (const char *o = semi; o && *o;) {
		o++;
		o += strspn(o, " ,");
		if (strncmp(o, "max=", 4) == 0) {
			char *end;
			long m = strtol(o + 4, &end, 10);
			if (m < 1 || end == o + 4)
				return error_set(err, -EBADMSG, "Range max is invalid");
			r->max = m > API_RANGE_MAX_LIMIT ? API_RANGE_MAX_LIMIT : (size_t)m;
		} else if (strncmp(o, "order=desc", 10) == 0) {
			r->desc = true;
		} else if (strncmp(o, "order=asc", 9) == 0) {
			r->desc = false;
		} else if (*o) {
			return error_set(err, -EBADMSG, "Range header '%.64s' is invalid", h);
		}
		o = strpbrk(o, ",");
	}
	return 0;
}

static int json_key_cmp(json_t *a, json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	}
	const char *x = json_is_string(a) ? json_string_value(a) : "";
	const char *y = json_is_string(b) ? json_string_value(b) : "";
	return strcmp(x, y);
}

static int item_cmp(const void *pa, const void *pb, void *userdata)
{
	const struct api_range *r = userdata;
	json_t *a = json_object_get(*(json_t *const *)pa, r->field);
	json_t *b = json_object_get(*(json_t *const *)pb, r->field);
	int c = json_key_cmp(a, b);
	return r->desc ? -c : c;
}

json_t *api_range_apply(json_t *list, const struct api_range *r, char **ret_next)
{
	*ret_next = NULL;
	size_t n = json_array_size(list);
	_cleanup_free_ json_t **items = xcalloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(list, i);
	qsort_r(items, n, sizeof(*items), item_cmp, (void *)r);

	json_t *out = json_array();
	size_t taken = 0;
	bool more = false;
	json_t *last = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *key = json_object_get(items[i], r->field);
		if (r->start) {
			int c = json_key_cmp(key, r->start) * (r->desc ? -1 : 1);
			if (c < 0 || (c == 0 && r->start_exclusive))
				continue;
		}
		if (r->end) {
			int c = json_key_cmp(key, r->end) * (r->desc ? -1 : 1);
			if (c > 0)
				continue;
		}
		if (taken == r->max) {
			more = true;
			break;
		}
		json_array_append(out, items[i]);
		last = key;
		taken++;
	}
	if (more && last) {
		_cleanup_free_ char *lastval = json_is_integer(last)
						       ? xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(last))
						       : xstrdup(json_is_string(last) ? json_string_value(last) : "");
		*ret_next = xasprintf("%s ]%s..; max=%zu, order=%s", r->field, lastval, r->max, r->desc ? "desc" : "asc");
	}
	return out;
}
