/* SPDX-License-Identifier: MIT */
#include "base/validate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int validate_name(const char *what, const char *name, unsigned max_len, struct error *err)
{
	if (isempty(name))
		return error_set(err, -EINVAL, "%s name is empty", what);
	size_t len = strlen(name);
	if (len > max_len)
		return error_set(err, -EINVAL, "%s name '%.64s' is too long: at most %u characters", what,
				 name, max_len);
	bool ok = name[0] >= 'a' && name[0] <= 'z' && name[len - 1] != '-';
	for (size_t i = 0; ok && i < len; i++) {
		char c = name[i];
		if (c == '-')
			ok = name[i + 1] != '-';
		else
			ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
	}
	if (!ok)
		return error_set(err, -EINVAL,
				 "%s name '%.64s' is invalid: use lower-case letters, digits and single dashes, "
				 "starting with a letter and not ending with a dash",
				 what, name);
	return 0;
}

int validate_email(const char *email, struct error *err)
{
	if (isempty(email))
		return error_set(err, -EINVAL, "email is empty");
	size_t len = strlen(email);
	const char *at = strchr(email, '@');
	bool ok = len <= 254 && at && at != email && !strchr(at + 1, '@');
	if (ok) {
		const char *dot = strrchr(at + 1, '.');
		ok = dot && dot > at + 1 && dot[1] != '\0';
	}
	for (size_t i = 0; ok && i < len; i++)
		ok = isgraph((unsigned char)email[i]) && email[i] != '<' && email[i] != '>' && email[i] != '\'' &&
		     email[i] != '"';
	if (!ok)
		return error_set(err, -EINVAL, "email '%.64s' is invalid", email);
	return 0;
}

int validate_config_key(const char *key, struct error *err)
{
	if (isempty(key))
		return error_set(err, -EINVAL, "config var key is empty");
	size_t len = strlen(key);
	bool ok = len <= 128 && !isdigit((unsigned char)key[0]);
	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)key[i]) || key[i] == '_';
	if (!ok)
		return error_set(err, -EINVAL,
				 "config var key '%.64s' is invalid: use letters, digits and underscores, "
				 "not starting with a digit, at most 128 characters",
				 key);
	return 0;
}

bool config_key_is_reserved(const char *key)
{
	return strncmp(key, "HEROKU_", 7) == 0 || strncmp(key, "COVE_", 5) == 0;
}

int cidr4_parse(const char *s, unsigned min_prefix, unsigned max_prefix, struct cidr4 *ret, struct error *err)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return error_set(err, -EINVAL, "CIDR '%.64s' is invalid: expected a.b.c.d/n", s ? s : "");
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';

	struct in_addr in;
	if (inet_pton(AF_INET, addr, &in) != 1)
		return error_set(err, -EINVAL, "CIDR '%.64s' is invalid: bad address", s);

	const char *p = slash + 1;
	if (!isdigit((unsigned char)p[0]) || strlen(p) > 2 || (p[1] && !isdigit((unsigned char)p[1])))
		return error_set(err, -EINVAL, "CIDR '%.64s' is invalid: bad prefix length", s);
	unsigned prefix = (unsigned)atoi(p);
	if (prefix < min_prefix || prefix > max_prefix)
		return error_set(err, -EINVAL, "CIDR '%.64s' is invalid: prefix length must be between /%u and /%u", s,
				 min_prefix, max_prefix);

	uint32_t a = ntohl(in.s_addr);
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	if (a & ~mask)
		return error_set(err, -EINVAL, "CIDR '%.64s' is invalid: host bits are set", s);
	ret->addr = a;
	ret->prefix = prefix;
	return 0;
}

bool cidr4_overlap(const struct cidr4 *a, const struct cidr4 *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
	uint32_t mask = p ? ~0u << (32 - p) : 0;
	return (a->addr & mask) == (b->addr & mask);
}

bool cidr4_is_private(const struct cidr4 *c)
{
	static const struct cidr4 ranges[] = {
		{ 0x0a000000, 8 },  /* 10.0.0.0/8 */
		{ 0xac100000, 12 }, /* 172.16.0.0/12 */
		{ 0xc0a80000, 16 }, /* 192.168.0.0/16 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
		if (c->prefix >= ranges[i].prefix && cidr4_overlap(c, &ranges[i]))
			return true;
	return false;
}

bool utf8_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
		if (!n || i + n > len)
			return false;
		uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += n;
	}
	return true;
}
