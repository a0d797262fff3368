/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Secrets: API tokens and passwords, on top of libsodium. Call crypto_init() once at start.
 *
 * Tokens are 32 random bytes shown to the user once as 64 hex characters and stored only as
 * their BLAKE2b hash (they carry enough entropy that a slow hash buys nothing). Passwords are
 * stored as argon2id strings (libsodium's "interactive" cost).
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define CRYPTO_TOKEN_MAX 65       /* 64 hex characters and the NUL */
#define CRYPTO_TOKEN_HASH_MAX 65  /* 64 hex characters and the NUL */
#define CRYPTO_PASSWORD_HASH_MAX 128

int crypto_init(void);

/* A new random token. */
void crypto_token_new(char ret[static CRYPTO_TOKEN_MAX]);

/* The hex hash under which a token is stored. */
void crypto_token_hash(const char *token, char ret[static CRYPTO_TOKEN_HASH_MAX]);

/* Hashes a password with argon2id. Fails with -EINVAL if it is shorter than 8 characters. */
int crypto_password_hash(const char *password, char ret[static CRYPTO_PASSWORD_HASH_MAX], struct error *err);

/* True when password matches the stored hash (constant time). */
bool crypto_password_verify(const char *password, const char *hash);

/* Random lower-case hex string of 2*bytes characters into ret (size 2*bytes+1). */
void crypto_random_hex(char *ret, size_t bytes);

/* n random bytes into ret. */
void crypto_random_bytes(void *ret, size_t n);

/* Constant-time string comparison. */
bool crypto_streq(const char *a, const char *b);

/*
 * Decodes standard base64 (with padding) into a new NUL-terminated string (*ret, caller
 * frees). Fails with -EINVAL on malformed input.
 */
int crypto_base64_decode(const char *in, char **ret);
