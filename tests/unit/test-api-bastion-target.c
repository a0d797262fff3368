/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the bastion's address check (api/api-bastion-target.h): only addresses inside
 * the space's networks, never the gateway, the network or the broadcast address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "api/api-bastion-target.h"

static int check(const char *addr)
{
	return api_bastion_address_check(addr, "10.0.0.0/16", "10.1.0.0/16", NULL);
}

static void test_inside(void **state)
{
	assert_int_equal(check("10.0.0.2"), 0);
	assert_int_equal(check("10.0.37.200"), 0);
	assert_int_equal(check("10.0.255.254"), 0);
	assert_int_equal(check("10.1.0.5"), 0);
}

static void test_the_space_itself(void **state)
{
	assert_int_equal(check("10.0.0.0"), -EINVAL);   /* the network */
	assert_int_equal(check("10.0.0.1"), -EINVAL);   /* the gateway: the space's bridge */
	assert_int_equal(check("10.0.255.255"), -EINVAL); /* the broadcast */
	assert_int_equal(check("10.1.0.1"), -EINVAL);   /* the data network's gateway */
}

static void test_outside(void **state)
{
	struct error err = { 0 };
	assert_int_equal(api_bastion_address_check("127.0.0.1", "10.0.0.0/16", "10.1.0.0/16", &err), -EINVAL);
	assert_non_null(strstr(err.message, "not inside the space's networks"));
	assert_int_equal(check("10.2.0.5"), -EINVAL);
	assert_int_equal(check("100.64.0.1"), -EINVAL); /* the uplink */
	assert_int_equal(check("198.18.0.2"), -EINVAL); /* the outbound pool */
	assert_int_equal(check("0.0.0.0"), -EINVAL);
}

static void test_not_an_address(void **state)
{
	assert_int_equal(check(""), -EINVAL);
	assert_int_equal(check("10.0.0.300"), -EINVAL);
	assert_int_equal(check("web.1"), -EINVAL);
	assert_int_equal(check("::1"), -EINVAL);
	assert_int_equal(check(NULL), -EINVAL);
	/* A space whose CIDRs cannot be read holds nothing. */
	assert_int_equal(api_bastion_address_check("10.0.0.2", "nonsense", NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside),
		cmocka_unit_test(test_the_space_itself),
		cmocka_unit_test(test_outside),
		cmocka_unit_test(test_not_an_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
