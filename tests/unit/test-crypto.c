/* SPDX-License-Identifier: MIT */
/* Unit tests of base/crypto: tokens, token hashes, passwords, base64 and comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

static int setup(void **state)
{
	return crypto_init();
}

static bool is_lower_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static void test_token_new(void **state)
{
	char a[CRYPTO_TOKEN_MAX], b[CRYPTO_TOKEN_MAX];
	crypto_token_new(a);
	crypto_token_new(b);
	assert_true(is_lower_hex(a, 64));
	assert_true(is_lower_hex(b, 64));
	assert_string_not_equal(a, b);
}

static void test_token_hash_is_stable(void **state)
{
	/* BLAKE2b-256: the stored form of a token must never change, or every token stops working. */
	static const struct {
		const char *token, *hash;
	} vectors[] = {
		{ "", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8" },
		{ "abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319" },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "3083e1ce982abd7f59235aa1ea3c97046562c75205d4dab8affd2f3600d79958" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		char h[CRYPTO_TOKEN_HASH_MAX];
		crypto_token_hash(vectors[i].token, h);
		assert_string_equal(h, vectors[i].hash);
	}

	char token[CRYPTO_TOKEN_MAX], h1[CRYPTO_TOKEN_HASH_MAX], h2[CRYPTO_TOKEN_HASH_MAX];
	crypto_token_new(token);
	crypto_token_hash(token, h1);
	crypto_token_hash(token, h2);
	assert_string_equal(h1, h2);
	assert_true(is_lower_hex(h1, 64));
	assert_string_not_equal(h1, token);
	token[0] = token[0] == 'a' ? 'b' : 'a';
	crypto_token_hash(token, h2);
	assert_string_not_equal(h1, h2);
}

static void test_password_hash_verify(void **state)
{
	char hash[CRYPTO_PASSWORD_HASH_MAX], hash2[CRYPTO_PASSWORD_HASH_MAX];
	struct error err = { 0 };
	assert_int_equal(crypto_password_hash("correct horse", hash, &err), 0);
	assert_false(error_is_set(&err));
	assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
	assert_null(strstr(hash, "correct horse"));
	assert_true(crypto_password_verify("correct horse", hash));
	assert_false(crypto_password_verify("correct horsE", hash));
	assert_false(crypto_password_verify("correct hors", hash));
	assert_false(crypto_password_verify("", hash));
	assert_false(crypto_password_verify(NULL, hash));
	assert_false(crypto_password_verify("correct horse", ""));
	assert_false(crypto_password_verify("correct horse", NULL));
	assert_false(crypto_password_verify("correct horse", "not a hash"));

	/* Salted: the same password hashes differently each time, and both verify. */
	assert_int_equal(crypto_password_hash("correct horse", hash2, &err), 0);
	assert_string_not_equal(hash, hash2);
	assert_true(crypto_password_verify("correct horse", hash2));
}

static void test_password_length(void **state)
{
	char hash[CRYPTO_PASSWORD_HASH_MAX];
	struct error err = { 0 };
	assert_int_equal(crypto_password_hash("1234567", hash, &err), -EINVAL);
	assert_non_null(strstr(err.message, "at least 8 characters"));
	error_clear(&err);
	assert_int_equal(crypto_password_hash("", hash, &err), -EINVAL);
	assert_int_equal(crypto_password_hash(NULL, hash, &err), -EINVAL);
	assert_int_equal(crypto_password_hash("12345678", hash, &err), 0);

	char *long_password = malloc(1026);
	memset(long_password, 'p', 1025);
	long_password[1025] = '\0';
	error_clear(&err);
	assert_int_equal(crypto_password_hash(long_password, hash, &err), -EINVAL);
	assert_non_null(strstr(err.message, "at most 1024 characters"));
	long_password[1024] = '\0';
	assert_int_equal(crypto_password_hash(long_password, hash, &err), 0);
	assert_true(crypto_password_verify(long_password, hash));
	free(long_password);
}

static void test_base64_decode(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vOmJhcg==", "foo:bar" },
		{ "amFuZUBleGFtcGxlLmNvbTpzM2NyZXQ6d2l0aDpjb2xvbnM=", "jane@example.com:s3cret:with:colons" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *out = NULL;
		assert_int_equal(crypto_base64_decode(ok[i].in, &out), 0);
		assert_string_equal(out, ok[i].out);
		free(out);
	}
}

static void test_base64_malformed(void **state)
{
	static const char *const bad[] = {
		"Zg",        /* missing padding */
		"Zg=",       /* short padding */
		"Zm9vYmE==", /* too much padding */
		"Zm9v====",
		"====",
		"Zm9v!",    /* not in the alphabet */
		"Zm9v ",    /* trailing space */
		" Zm9v",
		"Zm9v\n",
		"Zg==x",    /* data after the padding */
		"Zh==",     /* non-zero trailing bits */
		"Zm9-",     /* the URL-safe alphabet is another variant */
		"AA==",     /* decodes to a NUL byte: no embedded NUL in a C string */
		"Zm9vAGJhcg==",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = (char *)"untouched";
		if (crypto_base64_decode(bad[i], &out) != -EINVAL)
			fail_msg("'%s' should be malformed", bad[i]);
		assert_string_equal(out, "untouched");
	}
}

static void test_streq(void **state)
{
	assert_true(crypto_streq("", ""));
	assert_true(crypto_streq("secret", "secret"));
	assert_false(crypto_streq("secret", "secreT"));
	assert_false(crypto_streq("secret", "secret2"));
	assert_false(crypto_streq("secret", ""));
}

static void test_random_hex(void **state)
{
	char a[33], b[33];
	crypto_random_hex(a, 16);
	crypto_random_hex(b, 16);
	assert_true(is_lower_hex(a, 32));
	assert_true(is_lower_hex(b, 32));
	assert_string_not_equal(a, b);
	char c[9];
	crypto_random_hex(c, 4);
	assert_true(is_lower_hex(c, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_new),
		cmocka_unit_test(test_token_hash_is_stable),
		cmocka_unit_test(test_password_hash_verify),
		cmocka_unit_test(test_password_length),
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_base64_malformed),
		cmocka_unit_test(test_streq),
		cmocka_unit_test(test_random_hex),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
