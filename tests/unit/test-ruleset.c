/* SPDX-License-Identifier: MIT */
/* Unit tests of base/ruleset: parsing inbound and outbound rules, and matching sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/ruleset.h"

static void test_inbound_parse(void **state)
{
	struct inbound_rule r;
	struct error err = { 0 };
	assert_int_equal(inbound_rule_parse(1, "allow", "203.0.113.0/24", &r, &err), 0);
	assert_true(r.allow);
	assert_int_equal(r.source.addr, 0xcb007100u);
	assert_int_equal(r.source.prefix, 24);
	assert_int_equal(inbound_rule_parse(1, "deny", "0.0.0.0/0", &r, &err), 0);
	assert_false(r.allow);
	assert_int_equal(r.source.prefix, 0);

	static const struct {
		const char *action, *source, *needle;
	} bad[] = {
		{ "permit", "1.2.3.0/24", "rule 3 is invalid: action must be 'allow' or 'deny', not 'permit'" },
		{ NULL, "1.2.3.0/24", "action must be" },
		{ "allow", "1.2.3.4", "rule 3 is invalid: source CIDR '1.2.3.4' is invalid: expected a.b.c.d/n" },
		{ "allow", "1.2.3.4/24", "host bits are set" },
		{ "allow", "1.2.3.0/33", "prefix length" },
		{ "allow", "1.2.3/24", "bad address" },
		{ "allow", NULL, "rule 3 is invalid: source" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err = (struct error){ 0 };
		assert_int_equal(inbound_rule_parse(3, bad[i].action, bad[i].source, &r, &err), -EINVAL);
		if (!strstr(err.message, bad[i].needle))
			fail_msg("message '%s' lacks '%s'", err.message, bad[i].needle);
	}
}

static void test_outbound_parse(void **state)
{
	struct outbound_rule r;
	struct error err = { 0 };
	assert_int_equal(outbound_rule_parse(1, "0.0.0.0/0", 0, 65535, "any", &r, &err), 0);
	assert_int_equal(r.protocol, RULESET_ANY);
	assert_int_equal(outbound_rule_parse(1, "10.1.0.0/16", 5432, 5439, "tcp", &r, &err), 0);
	assert_int_equal(r.protocol, RULESET_TCP);
	assert_int_equal(r.from_port, 5432);
	assert_int_equal(r.to_port, 5439);
	assert_int_equal(outbound_rule_parse(1, "10.1.0.0/16", 0, 255, "icmp", &r, &err), 0);
	assert_string_equal(ruleset_protocol_name(r.protocol), "icmp");

	static const struct {
		const char *target;
		int64_t from, to;
		const char *protocol, *needle;
	} bad[] = {
		{ "10.0.0.0/8", 0, 65535, "sctp", "protocol must be tcp, udp, icmp or any, not 'sctp'" },
		{ "10.0.0.0/8", 0, 65535, NULL, "protocol must be" },
		{ "10.0.0.0/8", -1, 80, "tcp", "between 0 and 65535 for tcp" },
		{ "10.0.0.0/8", 0, 65536, "udp", "between 0 and 65535 for udp" },
		{ "10.0.0.0/8", 0, 256, "icmp", "between 0 and 255 for icmp" },
		{ "10.0.0.0/8", 90, 80, "tcp", "from_port 90 is above to_port 80" },
		{ "10.0.0.0/8", 80, 80, "any", "give tcp or udp for a port range" },
		{ "10.0.0.1/8", 0, 65535, "any", "target CIDR '10.0.0.1/8' is invalid: host bits are set" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err = (struct error){ 0 };
		assert_int_equal(outbound_rule_parse(2, bad[i].target, bad[i].from, bad[i].to, bad[i].protocol, &r, &err),
				 -EINVAL);
		if (!strstr(err.message, bad[i].needle))
			fail_msg("message '%s' lacks '%s'", err.message, bad[i].needle);
	}
}

static void test_inbound_allows(void **state)
{
	struct inbound_rule rules[3];
	assert_int_equal(inbound_rule_parse(1, "deny", "203.0.113.7/32", &rules[0], NULL), 0);
	assert_int_equal(inbound_rule_parse(2, "allow", "203.0.113.0/24", &rules[1], NULL), 0);
	assert_int_equal(inbound_rule_parse(3, "allow", "198.51.100.0/24", &rules[2], NULL), 0);
	assert_false(inbound_allows(rules, 3, 0xcb007107u)); /* 203.0.113.7: denied first */
	assert_true(inbound_allows(rules, 3, 0xcb007108u));  /* 203.0.113.8 */
	assert_true(inbound_allows(rules, 3, 0xc6336401u));  /* 198.51.100.1 */
	assert_false(inbound_allows(rules, 3, 0x7f000001u)); /* 127.0.0.1: no match */
	assert_false(inbound_allows(rules, 0, 0x7f000001u)); /* no rules: nobody */
	assert_false(inbound_is_open(rules, 3));

	struct inbound_rule open;
	assert_int_equal(inbound_rule_parse(1, "allow", "0.0.0.0/0", &open, NULL), 0);
	assert_true(inbound_is_open(&open, 1));
	assert_true(inbound_allows(&open, 1, 0x01020304u));
	open.allow = false;
	assert_false(inbound_is_open(&open, 1));
	assert_false(inbound_allows(&open, 1, 0x01020304u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inbound_parse),
		cmocka_unit_test(test_outbound_parse),
		cmocka_unit_test(test_inbound_allows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
