/* SPDX-License-Identifier: MIT */
/* Unit tests of base/timeutil: the Platform API's time stamps and the monotonic clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/timeutil.h"

static void test_iso(void **state)
{
	char buf[TIME_ISO_MAX];
	assert_string_equal(time_iso(0, buf), "1970-01-01T00:00:00Z");
	assert_string_equal(time_iso(1795685866, buf), "2026-11-26T09:37:46Z");
	/* A leap day, and the last second of a year. */
	assert_string_equal(time_iso(951782400, buf), "2000-02-29T00:00:00Z");
	assert_string_equal(time_iso(1767225599, buf), "2025-12-31T23:59:59Z");
	/* The text sorts like the time it stands for (lists are ranged by created_at). */
	char a[TIME_ISO_MAX], b[TIME_ISO_MAX];
	time_iso(999999999, a);
	time_iso(1000000000, b);
	assert_true(strcmp(a, b) < 0);
}

static void test_now(void **state)
{
	char buf[TIME_ISO_MAX];
	time_t before = time(NULL);
	time_now_iso(buf);
	time_t after = time(NULL);
	char lo[TIME_ISO_MAX], hi[TIME_ISO_MAX];
	time_iso(before, lo);
	time_iso(after, hi);
	assert_true(strcmp(lo, buf) <= 0 && strcmp(buf, hi) <= 0);
	assert_int_equal(strlen(buf), 20);
}

static void test_mono(void **state)
{
	uint64_t a = time_mono_usec();
	uint64_t b = time_mono_usec();
	assert_true(a > 0);
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_mono),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
