/* SPDX-License-Identifier: MIT */
/*
 * The resolver's table (see dns-table.h): parsed into one array of records sorted by name,
 * found by binary search. The names live in one block and the addresses in another, so that
 * the whole table goes with three frees.
 */
#include "dns/dns-table.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/macro.h"
#include "base/strbuf.h"
#include "dns/dns-wire.h"

static const char *const kinds[] = { "formation", "dyno", "addon", "name" };

/* A record while parsing: offsets, since the storage grows. */
struct draft {
	size_t name;
	size_t first, n;
	bool given; /* in the JSON, not only an ancestor of a name there */
};

static int compare_drafts(const void *a, const void *b, void *names)
{
	const struct draft *x = a, *y = b;
	return strcmp((const char *)names + x->name, (const char *)names + y->name);
}

static int record_compare(const void *key, const void *elem)
{
	return strcmp(key, ((const struct dns_record *)elem)->name);
}

void dns_table_free(struct dns_table *t)
{
	if (!t)
		return;
	free(t->records);
	free(t->addresses);
	free(t->names);
	free(t);
}

struct dns_table *dns_table_empty(void)
{
	struct dns_table *t = xcalloc(1, sizeof(*t));
	t->ttl = DNS_TTL_DEFAULT;
	t->serial = (uint32_t)time(NULL);
	t->names = xstrdup("");
	return t;
}

static bool kind_valid(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (streq(kinds[i], kind))
			return true;
	return false;
}

int dns_table_parse(const char *text, size_t len, struct dns_table **ret, struct error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return error_set(err, -EINVAL, "not JSON: %s (line %d)", jerr.text, jerr.line);
	int r = 0;
	_cleanup_strbuf_ struct strbuf names = STRBUF_INIT;
	_cleanup_free_ struct draft *drafts = NULL;
	_cleanup_free_ uint32_t *addrs = NULL;
	size_t n_drafts = 0, n_addrs = 0;
	const char *space = NULL;
	json_int_t ttl = DNS_TTL_DEFAULT;
	json_t *records = NULL;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s?s, s?I, s:o}", "space", &space, "ttl", &ttl, "records", &records) <
		    0 ||
	    !json_is_array(records)) {
		r = error_set(err, -EINVAL, "not a DNS table: %s", jerr.text);
		goto out;
	}
	if (ttl < 0 || ttl > DNS_TTL_MAX) {
		r = error_set(err, -EINVAL, "ttl %lld is out of range: 0 to %d", (long long)ttl, DNS_TTL_MAX);
		goto out;
	}
	if (json_array_size(records) > DNS_TABLE_RECORDS_MAX) {
		r = error_set(err, -E2BIG, "too many records: at most %d", DNS_TABLE_RECORDS_MAX);
		goto out;
	}
	/* The ancestors of each name, up to the zone, join as records without addresses. */
	size_t cap = json_array_size(records) * 4 + 4;
	drafts = xcalloc(cap, sizeof(*drafts));
	size_t i;
	json_t *rec;
	json_array_foreach(records, i, rec)
	{
		const char *name = NULL, *kind = NULL;
		json_t *list = NULL;
		if (json_unpack_ex(rec, &jerr, JSON_STRICT, "{s:s, s:s, s:o}", "name", &name, "kind", &kind, "addresses",
				   &list) < 0 ||
		    !json_is_array(list)) {
			r = error_set(err, -EINVAL, "record %zu: not a record: %s", i, jerr.text);
			goto out;
		}
		if (!dns_name_valid(name) || streq(name, DNS_ZONE)) {
			r = error_set(err, -EINVAL, "record %zu: name '%s' is invalid", i, name);
			goto out;
		}
		if (!kind_valid(kind)) {
			r = error_set(err, -EINVAL, "record '%s': kind '%s' is unknown", name, kind);
			goto out;
		}
		size_t n = json_array_size(list);
		if (n > DNS_RECORD_ADDRESSES_MAX) {
			r = error_set(err, -E2BIG, "record '%s': too many addresses: at most %d", name,
				      DNS_RECORD_ADDRESSES_MAX);
			goto out;
		}
		addrs = xrealloc(addrs, (n_addrs + n + 1) * sizeof(*addrs));
		struct draft d = { .name = names.len, .first = n_addrs, .n = n, .given = true };
		for (size_t k = 0; k < n; k++) {
			const char *s = json_string_value(json_array_get(list, k));
			struct in_addr in;
			if (!s || inet_pton(AF_INET, s, &in) != 1) {
				r = error_set(err, -EINVAL, "record '%s': address %zu is not an IPv4 address", name, k);
				goto out;
			}
			addrs[n_addrs++] = ntohl(in.s_addr);
		}
		strbuf_add(&names, name, strlen(name) + 1);
		drafts[n_drafts++] = d;
		/* Its ancestors in the zone. */
		if (!dns_name_in_zone(name, DNS_ZONE))
			continue;
		for (const char *p = strchr(name, '.'); p && !streq(p + 1, DNS_ZONE); p = strchr(p + 1, '.')) {
			if (n_drafts == cap) {
				cap *= 2;
				drafts = xrealloc(drafts, cap * sizeof(*drafts));
			}
			drafts[n_drafts++] = (struct draft){ .name = names.len };
			strbuf_add(&names, p + 1, strlen(p + 1) + 1);
		}
		if (n_drafts == cap) {
			cap *= 2;
			drafts = xrealloc(drafts, cap * sizeof(*drafts));
		}
		drafts[n_drafts++] = (struct draft){ .name = names.len };
		strbuf_add(&names, DNS_ZONE, sizeof(DNS_ZONE));
	}
	qsort_r(drafts, n_drafts, sizeof(*drafts), compare_drafts, names.buf);
	/* Names given twice are an error; names added as ancestors merge (with nothing to merge). */
	size_t k = 0;
	for (i = 0; i < n_drafts; i++) {
		if (k && streq(names.buf + drafts[k - 1].name, names.buf + drafts[i].name)) {
			/* An ancestor and a given record (or two ancestors) merge; two given ones do not. */
			if (drafts[k - 1].given && drafts[i].given) {
				r = error_set(err, -EINVAL, "record '%s' is given twice", names.buf + drafts[i].name);
				goto out;
			}
			if (drafts[i].given)
				drafts[k - 1] = drafts[i];
			continue;
		}
		drafts[k++] = drafts[i];
	}
	n_drafts = k;

	struct dns_table *t = xcalloc(1, sizeof(*t));
	snprintf(t->space, sizeof(t->space), "%s", space ? space : "");
	t->ttl = (uint32_t)ttl;
	t->serial = (uint32_t)time(NULL);
	t->names = strbuf_detach(&names);
	t->addresses = TAKE_PTR(addrs);
	t->records = xcalloc(n_drafts + 1, sizeof(*t->records));
	for (i = 0; i < n_drafts; i++)
		t->records[i] = (struct dns_record){ .name = t->names + drafts[i].name,
						     .addresses = t->addresses ? t->addresses + drafts[i].first : NULL,
						     .n_addresses = drafts[i].n };
	t->n_records = n_drafts;
	*ret = t;
out:
	json_decref(root);
	return r;
}

const struct dns_record *dns_table_find(const struct dns_table *t, const char *name)
{
	if (!t->n_records)
		return NULL;
	return bsearch(name, t->records, t->n_records, sizeof(*t->records), record_compare);
}
