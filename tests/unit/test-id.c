/* SPDX-License-Identifier: MIT */
/* Unit tests of base/id: new resource ids and recognising them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "base/id.h"
#include "base/macro.h"

static void test_new_is_v4_lower_case(void **state)
{
	for (int n = 0; n < 100; n++) {
		char id[ID_STRING_MAX];
		id_new(id);
		assert_int_equal(strlen(id), 36);
		assert_true(id_is_uuid(id));
		for (int i = 0; i < 36; i++)
			assert_false(isupper((unsigned char)id[i]));
		assert_int_equal(id[14], '4'); /* version 4: random */
		assert_non_null(strchr("89ab", id[19])); /* RFC 4122 variant */
	}
}

static void test_new_is_unique(void **state)
{
	char ids[64][ID_STRING_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		id_new(ids[i]);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
}

static void test_is_uuid(void **state)
{
	assert_true(id_is_uuid("01234567-89ab-cdef-0123-456789abcdef"));
	assert_true(id_is_uuid("01234567-89AB-CDEF-0123-456789ABCDEF"));
	assert_true(id_is_uuid("00000000-0000-0000-0000-000000000000"));

	static const char *const bad[] = {
		"",
		"myapp",
		"01234567-89ab-cdef-0123-456789abcde",   /* too short */
		"01234567-89ab-cdef-0123-456789abcdef0", /* too long */
		"0123456789ab-cdef-0123-456789abcdef-",  /* dashes misplaced */
		"01234567-89ab-cdef-0123_456789abcdef",
		"01234567-89ab-cdef-0123-456789abcdeg", /* not hex */
		"{1234567-89ab-cdef-0123-456789abcdef}",
		"01234567089ab0cdef001230456789abcdef",
		" 1234567-89ab-cdef-0123-456789abcdef",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (id_is_uuid(bad[i]))
			fail_msg("'%s' is not a UUID", bad[i]);
	assert_false(id_is_uuid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_v4_lower_case),
		cmocka_unit_test(test_new_is_unique),
		cmocka_unit_test(test_is_uuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
