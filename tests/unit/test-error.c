/* SPDX-License-Identifier: MIT */
/* Unit tests of base/error: the error convention every module relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/error.h"

static void test_set(void **state)
{
	struct error err = { 0 };
	assert_false(error_is_set(&err));
	assert_int_equal(error_set(&err, -ENOENT, "app '%s' not found", "web"), -ENOENT);
	assert_true(error_is_set(&err));
	assert_int_equal(err.code, -ENOENT);
	assert_string_equal(err.message, "app 'web' not found");
	assert_string_equal(err.id, "");
}

static void test_code_sign(void **state)
{
	struct error err = { 0 };
	/* A positive errno is turned negative; 0 is not a failure code, so it becomes -EIO. */
	assert_int_equal(error_set(&err, EEXIST, "taken"), -EEXIST);
	assert_int_equal(err.code, -EEXIST);
	assert_int_equal(error_set(&err, 0, "no code"), -EIO);
	assert_int_equal(err.code, -EIO);
	assert_true(error_is_set(&err));
}

static void test_null_error(void **state)
{
	assert_int_equal(error_set(NULL, -EINVAL, "ignored %d", 1), -EINVAL);
	assert_int_equal(error_set_id(NULL, EACCES, "forbidden", "ignored"), -EACCES);
	error_clear(NULL);
	assert_false(error_is_set(NULL));
}

static void test_id(void **state)
{
	struct error err = { 0 };
	assert_int_equal(error_set_id(&err, -EEXIST, "name_conflict", "app name '%s' is taken", "x"), -EEXIST);
	assert_string_equal(err.id, "name_conflict");
	assert_string_equal(err.message, "app name 'x' is taken");
	/* A later error_set() clears the id. */
	error_set(&err, -EINVAL, "other");
	assert_string_equal(err.id, "");
	/* An id too long for the struct is cut, not overflowed. */
	char long_id[ERROR_ID_MAX * 2];
	memset(long_id, 'i', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	error_set_id(&err, -EINVAL, long_id, "x");
	assert_int_equal(strlen(err.id), ERROR_ID_MAX - 1);
}

static void test_long_message_is_cut(void **state)
{
	struct error err = { 0 };
	char name[ERROR_MESSAGE_MAX * 2];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(error_set(&err, -EINVAL, "name '%s' is invalid", name), -EINVAL);
	assert_int_equal(strlen(err.message), ERROR_MESSAGE_MAX - 1);
	assert_int_equal(strncmp(err.message, "name 'nnn", 9), 0);
}

static void test_clear(void **state)
{
	struct error err = { 0 };
	error_set_id(&err, -EPERM, "unauthorized", "who are you");
	error_clear(&err);
	assert_false(error_is_set(&err));
	assert_int_equal(err.code, 0);
	assert_string_equal(err.id, "");
	assert_string_equal(err.message, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_code_sign),
		cmocka_unit_test(test_null_error),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_long_message_is_cut),
		cmocka_unit_test(test_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
