/* SPDX-License-Identifier: MIT */
#include "base/crypto.h"

#include <sodium.h>
#include <string.h>

#include "base/alloc.h"

int crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void crypto_random_bytes(void *ret, size_t n)
{
	randombytes_buf(ret, n);
}

void crypto_random_hex(char *ret, size_t bytes)
{
	unsigned char buf[64];
	if (bytes > sizeof(buf))
		bytes = sizeof(buf);
	randombytes_buf(buf, bytes);
	sodium_bin2hex(ret, bytes * 2 + 1, buf, bytes);
	sodium_memzero(buf, sizeof(buf));
}

void crypto_token_new(char ret[static CRYPTO_TOKEN_MAX])
{
	crypto_random_hex(ret, 32);
}

void crypto_token_hash(const char *token, char ret[static CRYPTO_TOKEN_HASH_MAX])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(ret, CRYPTO_TOKEN_HASH_MAX, h, sizeof(h));
}

int crypto_password_hash(const char *password, char ret[static CRYPTO_PASSWORD_HASH_MAX], struct error *err)
{
	if (!password || strlen(password) < 8)
		return error_set(err, -EINVAL, "password is too short: at least 8 characters");
	if (strlen(password) > 1024)
		return error_set(err, -EINVAL, "password is too long: at most 1024 characters");
	if (crypto_pwhash_str(ret, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return error_set(err, -ENOMEM, "hash password: out of memory");
	return 0;
}

bool crypto_password_verify(const char *password, const char *hash)
{
	if (!password || !hash || !*hash)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool crypto_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return sodium_memcmp(a, b, la) == 0;
}

int crypto_base64_decode(const char *in, char **ret)
{
	size_t inlen = strlen(in);
	size_t max = inlen / 4 * 3 + 3;
	_cleanup_free_ char *out = xmalloc(max + 1);
	size_t len;
	if (sodium_base642bin((unsigned char *)out, max, in, inlen, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) !=
	    0)
		return -EINVAL;
	out[len] = '\0';
	if (strlen(out) != len) /* embedded NUL */
		return -EINVAL;
	*ret = TAKE_PTR(out);
	return 0;
}
