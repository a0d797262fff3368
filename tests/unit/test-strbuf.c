/* SPDX-License-Identifier: MIT */
/* Unit tests of base/strbuf: growth, the hard limit, detach and reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

static void test_init_is_empty(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
	assert_string_equal(sb.buf, "");

	strbuf_init(&sb, 10);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.limit, 10);
	strbuf_release(&sb);
	assert_int_equal(sb.limit, 10); /* release keeps the limit for reuse */
}

static void test_add(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	assert_int_equal(strbuf_addstr(&sb, "hello"), 0);
	assert_int_equal(strbuf_addch(&sb, ','), 0);
	assert_int_equal(strbuf_add(&sb, " world!!!", 6), 0);
	assert_string_equal(sb.buf, "hello, world");
	assert_int_equal(sb.len, 12);
	assert_int_equal(strbuf_addf(&sb, " v%d %s", 42, "x"), 0);
	assert_string_equal(sb.buf, "hello, world v42 x");
	assert_int_equal(sb.len, strlen(sb.buf));
}

static void test_add_empty(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	assert_int_equal(strbuf_addstr(&sb, ""), 0);
	assert_int_equal(strbuf_addf(&sb, "%s", ""), 0);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
}

static void test_grows(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(strbuf_addch(&sb, (char)('a' + i % 26)), 0);
	assert_int_equal(sb.len, 10000);
	assert_true(sb.alloc > sb.len);
	assert_int_equal(strlen(sb.buf), 10000);
	assert_int_equal(sb.buf[26], 'a');
	assert_int_equal(sb.buf[9999], 'a' + 9999 % 26);

	/* One long formatted append, beyond the first allocation. */
	_cleanup_strbuf_ struct strbuf big = STRBUF_INIT;
	assert_int_equal(strbuf_addf(&big, "%0500d|%s", 7, "end"), 0);
	assert_int_equal(big.len, 504);
	assert_string_equal(big.buf + 500, "|end");
}

static void test_limit(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb, 8);
	assert_int_equal(strbuf_addstr(&sb, "12345"), 0);
	/* Past the limit: refused, and the buffer is as it was. */
	assert_int_equal(strbuf_addstr(&sb, "6789"), -EMSGSIZE);
	assert_string_equal(sb.buf, "12345");
	assert_int_equal(sb.len, 5);
	assert_int_equal(strbuf_addf(&sb, "%d", 6789), -EMSGSIZE);
	assert_string_equal(sb.buf, "12345");
	/* Up to the limit exactly: accepted. */
	assert_int_equal(strbuf_addstr(&sb, "678"), 0);
	assert_string_equal(sb.buf, "12345678");
	assert_int_equal(strbuf_addch(&sb, '9'), -EMSGSIZE);
	assert_int_equal(strbuf_addstr(&sb, ""), 0);
	assert_int_equal(sb.len, 8);
	strbuf_release(&sb);
}

static void test_limit_from_empty(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb, 4);
	assert_int_equal(strbuf_addstr(&sb, "12345"), -EMSGSIZE);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
}

static void test_huge_length_is_refused(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	assert_int_equal(strbuf_addstr(&sb, "x"), 0);
	/* A length that would overflow size_t arithmetic fails instead of wrapping. */
	assert_int_equal(strbuf_add(&sb, "y", SIZE_MAX - 1), -EMSGSIZE);
	assert_string_equal(sb.buf, "x");
}

static void test_reset(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_reset(&sb); /* on the shared empty buffer */
	assert_string_equal(sb.buf, "");
	assert_int_equal(strbuf_addstr(&sb, "abc"), 0);
	size_t alloc = sb.alloc;
	strbuf_reset(&sb);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.alloc, alloc); /* keeps its memory */
	assert_int_equal(strbuf_addstr(&sb, "de"), 0);
	assert_string_equal(sb.buf, "de");
}

static void test_detach(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_addf(&sb, "%s-%s", "a", "b"), 0);
	char *s = strbuf_detach(&sb);
	assert_string_equal(s, "a-b");
	free(s);
	/* The buffer is empty and usable again, with its limit. */
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.limit, 100);

	/* Detaching an empty buffer still gives an allocated string. */
	s = strbuf_detach(&sb);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	strbuf_release(&sb);
}

static void test_embedded_nul(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	assert_int_equal(strbuf_add(&sb, "a\0b", 3), 0);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.buf, "a\0b", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_empty),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_empty),
		cmocka_unit_test(test_grows),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_from_empty),
		cmocka_unit_test(test_huge_length_is_refused),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_embedded_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
