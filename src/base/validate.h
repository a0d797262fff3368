/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Validation of the names and values users give cove. Each returns 0 when the value is
 * acceptable, or -EINVAL with a message in err that says what is wrong and what is allowed.
 * `what` names the thing in the message ("app", "space", ...).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/*
 * Names of apps, spaces and teams, as Heroku has them: starts with a lower-case letter,
 * then lower-case letters, digits and single dashes, no trailing dash; at most max_len.
 */
int validate_name(const char *what, const char *name, unsigned max_len, struct error *err);

/* An e-mail address: something@domain.tld, printable, at most 254 characters. */
int validate_email(const char *email, struct error *err);

/* A config var key: letters, digits and underscores, not starting with a digit, 1..128 chars. */
int validate_config_key(const char *key, struct error *err);

/* True when key uses a prefix reserved for the platform (HEROKU_, COVE_). */
bool config_key_is_reserved(const char *key);

/* True when text[0, len) is well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool utf8_valid(const char *text, size_t len);

/* An IPv4 network in CIDR notation. */
struct cidr4 {
	uint32_t addr; /* host byte order, the network address (host bits zero) */
	unsigned prefix;
};

/*
 * Parses "a.b.c.d/n". The address must be the network address (no host bits set).
 * min_prefix..max_prefix bounds the prefix length.
 */
int cidr4_parse(const char *s, unsigned min_prefix, unsigned max_prefix, struct cidr4 *ret, struct error *err);

/* True when a and b share any address. */
bool cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b);

/* True when the network is inside one of the private ranges of RFC 1918. */
bool cidr4_is_private(const struct cidr4 *c);
