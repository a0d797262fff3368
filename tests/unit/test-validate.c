/* SPDX-License-Identifier: MIT */
/* Unit tests of base/validate: names, e-mails, config keys and IPv4 CIDRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/validate.h"

/* Asserts a refusal: -EINVAL, with a message in err that contains `needle`. */
#define assert_refused(call, err, needle)                                                                  \
	do {                                                                                               \
		error_clear(&(err));                                                                       \
		assert_int_equal((call), -EINVAL);                                                         \
		assert_int_equal((err).code, -EINVAL);                                                     \
		if (!strstr((err).message, (needle)))                                                      \
			fail_msg("message '%s' lacks '%s'", (err).message, (needle));                      \
	} while (0)

static void test_name_valid(void **state)
{
	static const char *const ok[] = { "a", "app", "my-app", "a1", "a-1-b", "web2-prod", "z9" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct error err = { 0 };
		assert_int_equal(validate_name("app", ok[i], 30, &err), 0);
		assert_false(error_is_set(&err));
	}
}

static void test_name_invalid(void **state)
{
	static const char *const bad[] = { "A",     "App",   "1app", "-app", "app-", "my--app", "my_app",
					   "my app", "app.x", "app/", "ä",    " app",  "app\n",   "-" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error err = { 0 };
		assert_refused(validate_name("app", bad[i], 30, &err), err, "is invalid");
		assert_non_null(strstr(err.message, "app name"));
	}
	struct error err = { 0 };
	assert_refused(validate_name("space", "", 30, &err), err, "space name is empty");
	assert_refused(validate_name("space", NULL, 30, &err), err, "space name is empty");
}

static void test_name_length(void **state)
{
	char name[64];
	memset(name, 'a', sizeof(name));
	name[30] = '\0';
	struct error err = { 0 };
	assert_int_equal(validate_name("team", name, 30, &err), 0);
	name[30] = 'a';
	name[31] = '\0';
	assert_refused(validate_name("team", name, 30, &err), err, "too long: at most 30 characters");
	assert_non_null(strstr(err.message, "team name"));
	/* A NULL error is allowed: only the code comes back. */
	assert_int_equal(validate_name("team", name, 30, NULL), -EINVAL);
}

static void test_email(void **state)
{
	static const char *const ok[] = { "a@b.co", "jane.doe+tag@example.com", "x@sub.domain.org", "A@B.IO" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_int_equal(validate_email(ok[i], NULL), 0);

	static const char *const bad[] = { "plain",     "@b.co",     "a@",        "a@b",    "a@.co",  "a@b.",
					   "a@@b.co",   "a@b@c.co",  "a b@c.co",  "<a>@b.co", "a\"@b.co", "a'@b.co",
					   "a@b.co\n", "\ta@b.co" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error err = { 0 };
		assert_refused(validate_email(bad[i], &err), err, "is invalid");
	}
	struct error err = { 0 };
	assert_refused(validate_email("", &err), err, "email is empty");
	assert_refused(validate_email(NULL, &err), err, "email is empty");

	/* 254 characters is the most. */
	char long_email[300];
	memset(long_email, 'a', sizeof(long_email));
	memcpy(long_email + 254 - 6, "@b.com", 7);
	assert_int_equal(strlen(long_email), 254);
	assert_int_equal(validate_email(long_email, NULL), 0);
	memset(long_email, 'a', sizeof(long_email));
	memcpy(long_email + 255 - 6, "@b.com", 7);
	assert_refused(validate_email(long_email, &err), err, "is invalid");
}

static void test_config_key(void **state)
{
	static const char *const ok[] = { "A", "a", "_A", "DATABASE_URL", "key1", "K_2_", "lower_case" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_int_equal(validate_config_key(ok[i], NULL), 0);

	static const char *const bad[] = { "1A", "9", "A-B", "A.B", "A B", "A=B", "É", "A\n", "$A" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error err = { 0 };
		assert_refused(validate_config_key(bad[i], &err), err, "is invalid");
	}
	struct error err = { 0 };
	assert_refused(validate_config_key("", &err), err, "config var key is empty");
	assert_refused(validate_config_key(NULL, &err), err, "config var key is empty");

	char key[200];
	memset(key, 'K', sizeof(key));
	key[128] = '\0';
	assert_int_equal(validate_config_key(key, NULL), 0);
	key[128] = 'K';
	key[129] = '\0';
	assert_refused(validate_config_key(key, &err), err, "at most 128 characters");
}

static void test_config_key_reserved(void **state)
{
	assert_true(config_key_is_reserved("HEROKU_APP_NAME"));
	assert_true(config_key_is_reserved("HEROKU_"));
	assert_true(config_key_is_reserved("COVE_ANYTHING"));
	assert_false(config_key_is_reserved("HEROKU"));
	assert_false(config_key_is_reserved("COVE"));
	assert_false(config_key_is_reserved("MY_HEROKU_KEY"));
	assert_false(config_key_is_reserved("COVERAGE"));
	assert_false(config_key_is_reserved("DATABASE_URL"));
	assert_false(config_key_is_reserved(""));
}

static void test_cidr_parse(void **state)
{
	struct cidr4 c;
	struct error err = { 0 };
	assert_int_equal(cidr4_parse("10.0.0.0/16", 8, 24, &c, &err), 0);
	assert_int_equal(c.addr, 0x0a000000);
	assert_int_equal(c.prefix, 16);
	assert_int_equal(cidr4_parse("192.168.4.0/24", 8, 24, &c, &err), 0);
	assert_int_equal(c.addr, 0xc0a80400);
	assert_int_equal(c.prefix, 24);
	assert_int_equal(cidr4_parse("172.16.0.0/12", 8, 24, &c, &err), 0);
	assert_int_equal(c.addr, 0xac100000);
	/* The extremes, when the bounds allow them. */
	assert_int_equal(cidr4_parse("0.0.0.0/0", 0, 32, &c, &err), 0);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr4_parse("1.2.3.4/32", 0, 32, &c, &err), 0);
	assert_int_equal(c.addr, 0x01020304);
	assert_int_equal(c.prefix, 32);
	assert_false(error_is_set(&err));
}

static void test_cidr_malformed(void **state)
{
	static const char *const bad[] = { "10.0.0.0",     "10.0.0/16",     "10.0.0.0.0/16", "256.0.0.0/8", "a.b.c.d/8",
					   "10.0.0.0/",    "10.0.0.0/x",    "10.0.0.0/1x",   "10.0.0.0/123", "10.0.0.0/-1",
					   "10.0.0.0/+8",  "10.0.0.0/8 ",   " 10.0.0.0/8",   "/8",           "",
					   "10.0.0.0//8",  "::1/128",       "10.0.0.0/16/8" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cidr4 c;
		struct error err = { 0 };
		assert_refused(cidr4_parse(bad[i], 0, 32, &c, &err), err, "is invalid");
	}
	struct cidr4 c;
	struct error err = { 0 };
	assert_refused(cidr4_parse(NULL, 0, 32, &c, &err), err, "expected a.b.c.d/n");
	/* An address longer than any IPv4 address is refused before it is copied. */
	assert_refused(cidr4_parse("100.100.100.100.100.100.100/8", 0, 32, &c, &err), err, "expected a.b.c.d/n");
}

static void test_cidr_host_bits(void **state)
{
	static const char *const bad[] = { "10.0.0.1/16", "10.0.1.0/16", "10.1.0.0/8", "192.168.0.128/24",
					   "172.17.0.0/12", "1.2.3.5/31" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cidr4 c;
		struct error err = { 0 };
		assert_refused(cidr4_parse(bad[i], 0, 32, &c, &err), err, "host bits are set");
	}
	struct cidr4 c;
	assert_int_equal(cidr4_parse("192.168.0.128/25", 0, 32, &c, NULL), 0);
}

static void test_cidr_prefix_bounds(void **state)
{
	struct cidr4 c;
	struct error err = { 0 };
	assert_int_equal(cidr4_parse("10.0.0.0/8", 8, 24, &c, &err), 0);
	assert_int_equal(cidr4_parse("10.0.0.0/24", 8, 24, &c, &err), 0);
	assert_refused(cidr4_parse("10.0.0.0/7", 8, 24, &c, &err), err, "between /8 and /24");
	assert_refused(cidr4_parse("10.0.0.0/25", 8, 24, &c, &err), err, "between /8 and /24");
	assert_refused(cidr4_parse("0.0.0.0/0", 8, 24, &c, &err), err, "between /8 and /24");
	assert_refused(cidr4_parse("10.0.0.0/32", 8, 24, &c, &err), err, "between /8 and /24");
	assert_refused(cidr4_parse("10.0.0.0/33", 0, 32, &c, &err), err, "between /0 and /32");
}

static struct cidr4 cidr(const char *s)
{
	struct cidr4 c;
	struct error err = { 0 };
	if (cidr4_parse(s, 0, 32, &c, &err) < 0)
		fail_msg("%s", err.message);
	return c;
}

static void test_cidr_overlap(void **state)
{
	static const struct {
		const char *a, *b;
		bool overlap;
	} cases[] = {
		{ "10.0.0.0/16", "10.1.0.0/16", false },     { "10.0.0.0/16", "10.0.0.0/16", true },
		{ "10.0.0.0/8", "10.1.0.0/16", true },       { "10.0.0.0/16", "10.0.255.0/24", true },
		{ "10.0.0.0/16", "10.0.0.0/24", true },      { "192.168.0.0/24", "192.168.1.0/24", false },
		{ "192.168.0.0/23", "192.168.1.0/24", true }, { "172.16.0.0/12", "172.32.0.0/16", false },
		{ "0.0.0.0/0", "8.8.8.0/24", true },         { "10.0.0.0/32", "10.0.0.1/32", false },
		{ "10.0.0.0/31", "10.0.0.1/32", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr4 a = cidr(cases[i].a), b = cidr(cases[i].b);
		if (cidr4_overlap(&a, &b) != cases[i].overlap || cidr4_overlap(&b, &a) != cases[i].overlap)
			fail_msg("overlap of %s and %s should be %d", cases[i].a, cases[i].b, cases[i].overlap);
	}
}

static void test_cidr_private(void **state)
{
	static const struct {
		const char *c;
		bool private;
	} cases[] = {
		{ "10.0.0.0/8", true },       { "10.0.0.0/16", true },      { "10.255.255.0/24", true },
		{ "172.16.0.0/12", true },    { "172.31.0.0/16", true },    { "172.20.5.0/24", true },
		{ "192.168.0.0/16", true },   { "192.168.77.0/24", true },  { "10.0.0.0/7", false },
		{ "172.0.0.0/8", false },     { "172.15.0.0/16", false },   { "172.32.0.0/16", false },
		{ "172.0.0.0/11", false },    { "192.169.0.0/16", false },  { "192.0.0.0/8", false },
		{ "192.168.0.0/15", false },  { "8.8.8.0/24", false },      { "100.64.0.0/10", false },
		{ "0.0.0.0/0", false },       { "11.0.0.0/8", false },      { "169.254.0.0/16", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr4 c = cidr(cases[i].c);
		if (cidr4_is_private(&c) != cases[i].private)
			fail_msg("%s should%s be private", cases[i].c, cases[i].private ? "" : " not");
	}
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{ "", true },
		{ "at=info path=\"/\"", true },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true }, /* 2, 3 and 4 bytes */
		{ "\xf4\x8f\xbf\xbf", true },                       /* U+10FFFF */
		{ "\xff", false },
		{ "\xc3", false },                                     /* cut short */
		{ "\xc3(", false },                                    /* not a continuation */
		{ "\xc0\xaf", false },                                 /* overlong "/" */
		{ "\xe0\x80\xaf", false },                             /* overlong, 3 bytes */
		{ "\xed\xa0\x80", false },                             /* a surrogate */
		{ "\xf4\x90\x80\x80", false },                         /* past U+10FFFF */
		{ "\x80", false },                                     /* a lone continuation */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].valid)
			fail_msg("case %zu should be %s", i, cases[i].valid ? "valid" : "invalid");
	/* The length is what counts: a NUL inside is a character like any other. */
	assert_true(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("ok\xff", 3));
	assert_true(utf8_valid("ok\xff", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_config_key),
		cmocka_unit_test(test_config_key_reserved),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_malformed),
		cmocka_unit_test(test_cidr_host_bits),
		cmocka_unit_test(test_cidr_prefix_bounds),
		cmocka_unit_test(test_cidr_overlap),
		cmocka_unit_test(test_cidr_private),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
