/* SPDX-License-Identifier: MIT */
/* Unit tests of api/api-range: parsing Range headers and cutting lists into pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api-range.h"

#define FIELDS "version,id,created_at"

static void test_parse_open(void **state)
{
	struct api_range r;
	struct error err = { 0 };
	assert_int_equal(api_range_parse("version ..; max=1, order=desc", FIELDS, &r, &err), 0);
	assert_string_equal(r.field, "version");
	assert_null(r.start);
	assert_null(r.end);
	assert_false(r.start_exclusive);
	assert_int_equal(r.max, 1);
	assert_true(r.desc);
	api_range_release(&r);

	/* A field alone: everything, ascending, the default page size. */
	assert_int_equal(api_range_parse("id", FIELDS, &r, &err), 0);
	assert_string_equal(r.field, "id");
	assert_null(r.start);
	assert_int_equal(r.max, API_RANGE_MAX_DEFAULT);
	assert_false(r.desc);
	api_range_release(&r);

	assert_int_equal(api_range_parse("  created_at ..", FIELDS, &r, &err), 0);
	assert_string_equal(r.field, "created_at");
	api_range_release(&r);

	assert_int_equal(api_range_parse("version; order=asc", FIELDS, &r, &err), 0);
	assert_false(r.desc);
	api_range_release(&r);
}

static void test_parse_bounds(void **state)
{
	struct api_range r;
	struct error err = { 0 };
	assert_int_equal(api_range_parse("version 2..4; max=10", FIELDS, &r, &err), 0);
	assert_true(json_is_integer(r.start));
	assert_int_equal(json_integer_value(r.start), 2);
	assert_true(json_is_integer(r.end));
	assert_int_equal(json_integer_value(r.end), 4);
	assert_int_equal(r.max, 10);
	api_range_release(&r);
	assert_null(r.start);

	assert_int_equal(api_range_parse("version ]7..", FIELDS, &r, &err), 0);
	assert_true(r.start_exclusive);
	assert_int_equal(json_integer_value(r.start), 7);
	assert_null(r.end);
	api_range_release(&r);

	/* Values that are not integers are strings. */
	assert_int_equal(api_range_parse("id ]0a1b-c..ffff ; max=3", FIELDS, &r, &err), 0);
	assert_true(json_is_string(r.start));
	assert_string_equal(json_string_value(r.start), "0a1b-c");
	assert_string_equal(json_string_value(r.end), "ffff");
	assert_int_equal(r.max, 3);
	api_range_release(&r);

	/* max is capped. */
	assert_int_equal(api_range_parse("version ..; max=5000", FIELDS, &r, &err), 0);
	assert_int_equal(r.max, API_RANGE_MAX_LIMIT);
	api_range_release(&r);
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"name ..",                    /* not a range field of this list */
		"vers ..",                    /* a prefix of one is not one */
		"versions ..",
		"version ..; max=0",
		"version ..; max=-3",
		"version ..; max=",
		"version ..; max=abc",
		"version ..; order=sideways",
		"version ..; limit=3",
		"version junk",
		"version 1-5",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ..",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct api_range r;
		struct error err = { 0 };
		if (api_range_parse(bad[i], FIELDS, &r, &err) != -EBADMSG)
			fail_msg("Range '%s' should be refused", bad[i]);
		assert_int_equal(err.code, -EBADMSG);
		assert_true(err.message[0] != '\0');
		api_range_release(&r);
	}
	struct api_range r;
	struct error err = { 0 };
	assert_int_equal(api_range_parse("name ..", FIELDS, &r, &err), -EBADMSG);
	assert_non_null(strstr(err.message, "use one of version,id,created_at"));
	api_range_release(&r);
}

static void test_default(void **state)
{
	struct api_range r;
	api_range_default(FIELDS, &r);
	assert_string_equal(r.field, "version");
	assert_int_equal(r.max, API_RANGE_MAX_DEFAULT);
	assert_false(r.desc);
	assert_null(r.start);
	api_range_default("name", &r);
	assert_string_equal(r.field, "name");
	api_range_release(&r);
}

/* A list of releases with versions 1..n, shuffled. */
static json_t *releases(int n)
{
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		int v = (i * 7) % n + 1; /* a permutation when gcd(7, n) = 1 */
		char id[16];
		snprintf(id, sizeof(id), "id-%02d", v);
		json_array_append_new(list, json_pack("{s:i, s:s}", "version", v, "id", id));
	}
	return list;
}

/* Applies a Range header to the list; returns the versions of the page as "1,2,3". */
static char *page(json_t *list, const char *header, char **ret_next)
{
	struct api_range r;
	struct error err = { 0 };
	if (api_range_parse(header, FIELDS, &r, &err) < 0)
		fail_msg("%s: %s", header, err.message);
	json_t *out = api_range_apply(list, &r, ret_next);
	api_range_release(&r);
	char buf[512] = "";
	size_t i;
	json_t *item;
	json_array_foreach(out, i, item)
	{
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "%s%lld", i ? "," : "",
			 (long long)json_integer_value(json_object_get(item, "version")));
	}
	json_decref(out);
	return strdup(buf);
}

static void check_page(json_t *list, const char *header, const char *expect, const char *expect_next)
{
	char *next = NULL;
	char *got = page(list, header, &next);
	if (!streq(got, expect))
		fail_msg("Range '%s': got [%s], expected [%s]", header, got, expect);
	if (!streq_ptr(next, expect_next))
		fail_msg("Range '%s': Next-Range '%s', expected '%s'", header, next ? next : "(none)",
			 expect_next ? expect_next : "(none)");
	free(got);
	free(next);
}

static void test_apply_pages_ascending(void **state)
{
	json_t *list = releases(5);
	check_page(list, "version ..; max=2", "1,2", "version ]2..; max=2, order=asc");
	check_page(list, "version ]2..; max=2, order=asc", "3,4", "version ]4..; max=2, order=asc");
	/* The last page has no Next-Range. */
	check_page(list, "version ]4..; max=2, order=asc", "5", NULL);
	check_page(list, "version ]5..; max=2, order=asc", "", NULL);
	/* A page that ends exactly at the end of the list has none either. */
	check_page(list, "version ]1..; max=4", "2,3,4,5", NULL);
	check_page(list, "version ..; max=5", "1,2,3,4,5", NULL);
	check_page(list, "version", "1,2,3,4,5", NULL);
	/* Inclusive start and an end. */
	check_page(list, "version 2..4", "2,3,4", NULL);
	check_page(list, "version 2..4; max=2", "2,3", "version ]3..; max=2, order=asc");
	check_page(list, "version ..2", "1,2", NULL);
	/* The list itself is not changed. */
	assert_int_equal(json_array_size(list), 5);
	json_decref(list);
}

static void test_apply_pages_descending(void **state)
{
	json_t *list = releases(5);
	/* The newest first: how `cove releases` finds the current release. */
	check_page(list, "version ..; max=1, order=desc", "5", "version ]5..; max=1, order=desc");
	check_page(list, "version ]5..; max=1, order=desc", "4", "version ]4..; max=1, order=desc");
	check_page(list, "version ]2..; max=1, order=desc", "1", NULL);
	check_page(list, "version ..; max=3, order=desc", "5,4,3", "version ]3..; max=3, order=desc");
	check_page(list, "version ]3..; max=3, order=desc", "2,1", NULL);
	check_page(list, "version 4..2; order=desc", "4,3,2", NULL);
	json_decref(list);
}

static void test_apply_walks_every_item_once(void **state)
{
	/* Following Next-Range from the first page visits each item exactly once, in order. */
	json_t *list = releases(23);
	for (int desc = 0; desc <= 1; desc++) {
		char *header = strdup(desc ? "version ..; max=4, order=desc" : "version ..; max=4");
		char all[512] = "";
		int pages = 0;
		while (header) {
			char *next = NULL;
			char *got = page(list, header, &next);
			size_t l = strlen(all);
			snprintf(all + l, sizeof(all) - l, "%s%s", l && *got ? "," : "", got);
			free(got);
			free(header);
			header = next;
			pages++;
			assert_true(pages < 10);
		}
		assert_int_equal(pages, 6);
		char expect[512] = "";
		for (int i = 1; i <= 23; i++) {
			size_t l = strlen(expect);
			snprintf(expect + l, sizeof(expect) - l, "%s%d", i > 1 ? "," : "", desc ? 24 - i : i);
		}
		assert_string_equal(all, expect);
	}
	json_decref(list);
}

static void test_apply_string_field(void **state)
{
	json_t *list = releases(3);
	struct api_range r;
	char *next = NULL;
	assert_int_equal(api_range_parse("id ..; max=2, order=desc", FIELDS, &r, NULL), 0);
	json_t *out = api_range_apply(list, &r, &next);
	api_range_release(&r);
	assert_int_equal(json_array_size(out), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "id")), "id-03");
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "id")), "id-02");
	assert_string_equal(next, "id ]id-02..; max=2, order=desc");
	json_decref(out);
	free(next);
	json_decref(list);
}

static void test_apply_empty(void **state)
{
	json_t *list = json_array();
	struct api_range r;
	char *next = (char *)"untouched";
	api_range_default(FIELDS, &r);
	json_t *out = api_range_apply(list, &r, &next);
	assert_int_equal(json_array_size(out), 0);
	assert_null(next);
	json_decref(out);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_open),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_apply_pages_ascending),
		cmocka_unit_test(test_apply_pages_descending),
		cmocka_unit_test(test_apply_walks_every_item_once),
		cmocka_unit_test(test_apply_string_field),
		cmocka_unit_test(test_apply_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
