/* SPDX-License-Identifier: MIT */
/* Unit tests of the build proxy's address filter: where a build may connect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "build/build-proxy.h"

static bool allowed(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return build_proxy_address_allowed((struct sockaddr *)&ss);
}

static void test_allowed(void **state)
{
	static const char *const ok[] = {
		"104.16.2.35", "151.101.1.63", "8.8.8.8", "203.0.113.80", "192.0.3.1", "172.32.0.1", "100.128.0.1",
		"2606:4700::6810:1723", "2a04:4e42::223", "::ffff:104.16.2.35",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!allowed(ok[i]))
			fail_msg("%s should be allowed", ok[i]);
}

static void test_denied(void **state)
{
	static const char *const denied[] = {
		"127.0.0.1",   "127.1.2.3",     "0.0.0.0",        "10.0.0.5",      "10.255.255.53",
		"172.16.0.1",  "172.31.255.255", "192.168.1.1",    "169.254.169.254", "100.64.0.1",
		"100.127.255.254", "198.18.0.2", "198.19.255.255", "224.0.0.1",     "255.255.255.255",
		"240.0.0.1",   "192.0.0.8",     "::",             "::1",            "fe80::1",
		"fd00::2",     "fc00::1",       "ff02::1",        "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe",
	};
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
		if (allowed(denied[i]))
			fail_msg("%s should be denied", denied[i]);
	struct sockaddr unix_addr = { .sa_family = AF_UNIX };
	assert_false(build_proxy_address_allowed(&unix_addr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
