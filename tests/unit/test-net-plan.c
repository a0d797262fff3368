/* SPDX-License-Identifier: MIT */
/* Unit tests of net/net-plan: address arithmetic, uplink addresses, link names, ownership records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/net-netns.h"
#include "net/net-plan.h"

#define SPACE_ID "1a2b3c4d-0000-4000-8000-00000000abcd"
#define DYNO_ID "9f8e7d6c-1111-4111-8111-111111111111"

/* Asserts a refusal with code, and a message in err that contains needle. */
#define assert_refused(call, code, err, needle)                                                            \
	do {                                                                                               \
		error_clear(&(err));                                                                       \
		assert_int_equal((call), (code));                                                          \
		if (!strstr((err).message, (needle)))                                                      \
			fail_msg("message '%s' lacks '%s'", (err).message, (needle));                      \
	} while (0)

static uint32_t ip(const char *s)
{
	uint32_t a;
	assert_int_equal(net_ipv4_parse(s, &a, NULL), 0);
	return a;
}

static void test_mask_and_membership(void **state)
{
	assert_int_equal(net_prefix_mask(0), 0);
	assert_int_equal(net_prefix_mask(8), 0xff000000u);
	assert_int_equal(net_prefix_mask(30), 0xfffffffcu);
	assert_int_equal(net_prefix_mask(32), 0xffffffffu);
	assert_true(net_ipv4_in(ip("10.0.255.255"), ip("10.0.0.0"), 16));
	assert_false(net_ipv4_in(ip("10.1.0.0"), ip("10.0.0.0"), 16));
	assert_true(net_ipv4_in(ip("8.8.8.8"), 0, 0));
}

static void test_parse_format(void **state)
{
	struct error err = { 0 };
	struct net_addr4 a;
	char s[NET_ADDR4_STRING_MAX];
	assert_int_equal(net_addr4_parse("10.0.0.5/16", &a, &err), 0);
	assert_int_equal(a.addr, 0x0a000005u);
	assert_int_equal(a.prefix, 16);
	net_addr4_format(&a, s);
	assert_string_equal(s, "10.0.0.5/16");
	assert_int_equal(net_addr4_parse("255.255.255.255/32", &a, &err), 0);
	net_addr4_format(&a, s);
	assert_string_equal(s, "255.255.255.255/32");

	static const char *const bad[] = { "10.0.0.5", "10.0.0.5/", "10.0.0.5/33", "10.0.0/8", "10.0.0.5/1x",
					   "10.0.0.5/ 8", "x/8", "10.0.0.256/8", "10.0.0.5/123", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_refused(net_addr4_parse(bad[i], &a, &err), -EINVAL, err, "is invalid");
	assert_refused(net_addr4_parse(NULL, &a, &err), -EINVAL, err, "is invalid");

	uint32_t v;
	assert_refused(net_ipv4_parse("198.18.0.2/32", &v, &err), -EINVAL, err, "address '198.18.0.2/32' is invalid");
	char ipbuf[NET_IPV4_STRING_MAX];
	net_ipv4_format(ip("198.18.0.2"), ipbuf);
	assert_string_equal(ipbuf, "198.18.0.2");
}

static void test_uplink_plan(void **state)
{
	struct error err = { 0 };
	struct net_uplink up;
	char h[NET_IPV4_STRING_MAX], s[NET_IPV4_STRING_MAX];

	assert_int_equal(net_uplink_plan(0, &up, &err), 0);
	net_ipv4_format(up.host, h);
	net_ipv4_format(up.space, s);
	assert_string_equal(h, "100.64.0.1");
	assert_string_equal(s, "100.64.0.2");

	assert_int_equal(net_uplink_plan(1, &up, &err), 0);
	net_ipv4_format(up.host, h);
	assert_string_equal(h, "100.64.0.5");

	assert_int_equal(net_uplink_plan(64, &up, &err), 0);
	net_ipv4_format(up.space, s);
	assert_string_equal(s, "100.64.1.2");

	/* The last /30 of 100.64.0.0/10. */
	assert_int_equal(net_uplink_plan(NET_UPLINK_INDEX_MAX, &up, &err), 0);
	net_ipv4_format(up.host, h);
	net_ipv4_format(up.space, s);
	assert_string_equal(h, "100.127.255.253");
	assert_string_equal(s, "100.127.255.254");
	assert_true(net_ipv4_in(up.space, NET_UPLINK_POOL_ADDR, NET_UPLINK_POOL_PREFIX));

	assert_refused(net_uplink_plan(NET_UPLINK_INDEX_MAX + 1, &up, &err), -EINVAL, err, "out of range");
}

static void test_space_gateway(void **state)
{
	struct error err = { 0 };
	struct net_addr4 gw;
	char s[NET_ADDR4_STRING_MAX];
	assert_int_equal(net_space_gateway("10.0.0.0/16", &gw, &err), 0);
	net_addr4_format(&gw, s);
	assert_string_equal(s, "10.0.0.1/16");
	assert_int_equal(net_space_gateway("172.16.4.0/30", &gw, &err), 0);
	net_addr4_format(&gw, s);
	assert_string_equal(s, "172.16.4.1/30");

	assert_refused(net_space_gateway("10.0.0.1/16", &gw, &err), -EINVAL, err, "host bits");
	assert_refused(net_space_gateway("10.0.0.0/31", &gw, &err), -EINVAL, err, "prefix length");
	assert_refused(net_space_gateway("10.0.0.0/7", &gw, &err), -EINVAL, err, "prefix length");
	assert_refused(net_space_gateway("100.64.0.0/16", &gw, &err), -EINVAL, err, "overlaps 100.64.0.0/10");
	assert_refused(net_space_gateway("100.0.0.0/8", &gw, &err), -EINVAL, err, "overlaps 100.64.0.0/10");
	assert_refused(net_space_gateway("127.0.0.0/16", &gw, &err), -EINVAL, err, "overlaps 127.0.0.0/8");
	assert_refused(net_space_gateway("224.0.0.0/8", &gw, &err), -EINVAL, err, "overlaps 224.0.0.0/3");
}

static void test_dyno_address(void **state)
{
	struct error err = { 0 };
	struct net_addr4 gw = { ip("10.0.0.1"), 16 };
	struct net_addr4 a = { ip("10.0.0.5"), 16 };
	assert_int_equal(net_dyno_address_check(&gw, &a, &err), 0);
	a = (struct net_addr4){ ip("10.0.255.254"), 16 };
	assert_int_equal(net_dyno_address_check(&gw, &a, &err), 0);

	a = (struct net_addr4){ ip("10.1.0.5"), 16 };
	assert_refused(net_dyno_address_check(&gw, &a, &err), -EINVAL, err, "not in the space network");
	a = (struct net_addr4){ ip("10.0.0.5"), 24 };
	assert_refused(net_dyno_address_check(&gw, &a, &err), -EINVAL, err, "not in the space network");
	a = (struct net_addr4){ ip("10.0.0.1"), 16 };
	assert_refused(net_dyno_address_check(&gw, &a, &err), -EINVAL, err, "is the space gateway");
	a = (struct net_addr4){ ip("10.0.0.0"), 16 };
	assert_refused(net_dyno_address_check(&gw, &a, &err), -EINVAL, err, "network or broadcast");
	a = (struct net_addr4){ ip("10.0.255.255"), 16 };
	assert_refused(net_dyno_address_check(&gw, &a, &err), -EINVAL, err, "network or broadcast");
}

static void test_outbound(void **state)
{
	struct error err = { 0 };
	assert_int_equal(net_outbound_check(&(struct cidr4){ ip("198.18.0.2"), 32 }, &err), 0);
	assert_int_equal(net_outbound_check(&(struct cidr4){ ip("198.18.0.0"), 24 }, &err), 0);
	assert_int_equal(net_outbound_check(&(struct cidr4){ ip("203.0.113.7"), 32 }, &err), 0);
	assert_refused(net_outbound_check(&(struct cidr4){ ip("100.64.0.2"), 32 }, &err), -EINVAL, err,
		       "outbound IP '100.64.0.2' is invalid");
	assert_refused(net_outbound_check(&(struct cidr4){ ip("127.0.0.1"), 32 }, &err), -EINVAL, err, "is invalid");
	assert_refused(net_outbound_check(&(struct cidr4){ ip("0.0.0.0"), 32 }, &err), -EINVAL, err, "is invalid");
	assert_refused(net_outbound_check(&(struct cidr4){ ip("255.255.255.255"), 32 }, &err), -EINVAL, err,
		       "is invalid");
	assert_refused(net_outbound_check(&(struct cidr4){ ip("96.0.0.0"), 4 }, &err), -EINVAL, err,
		       "outbound pool '96.0.0.0/4' is invalid");
}

static void test_mac(void **state)
{
	uint8_t mac[6];
	net_mac_for(ip("10.20.0.5"), mac);
	static const uint8_t want[6] = { 0x02, 0x63, 0x0a, 0x14, 0x00, 0x05 };
	assert_memory_equal(mac, want, 6);
	assert_int_equal(mac[0] & 0x01, 0); /* unicast */
	assert_int_equal(mac[0] & 0x02, 0x02); /* locally administered */
}

static void test_ids_and_names(void **state)
{
	struct error err = { 0 };
	char id[ID_STRING_MAX], name[IFNAMSIZ];
	assert_int_equal(net_id_normalize("space", "1A2B3C4D-0000-4000-8000-00000000ABCD", id, &err), 0);
	assert_string_equal(id, SPACE_ID);
	assert_refused(net_id_normalize("space", "web.1", id, &err), -EINVAL, err, "space id 'web.1' is invalid");
	assert_refused(net_id_normalize("dyno", NULL, id, &err), -EINVAL, err, "dyno id '' is invalid");

	net_link_name_for(NET_LINK_PREFIX_UPLINK, SPACE_ID, name);
	assert_string_equal(name, "cu-1a2b3c4d");
	net_link_name_for(NET_LINK_PREFIX_DYNO, DYNO_ID, name);
	assert_string_equal(name, "cd-9f8e7d6c");
	assert_true(strlen(name) < IFNAMSIZ);

	char ns[NET_NETNS_NAME_MAX], path[NET_NETNS_PATH_MAX];
	assert_int_equal(net_netns_name(NET_NETNS_SPACE, "1A2B3C4D-0000-4000-8000-00000000ABCD", ns, &err), 0);
	assert_string_equal(ns, "cove-s-" SPACE_ID);
	assert_int_equal(net_netns_path(NET_NETNS_DYNO, DYNO_ID, path, &err), 0);
	assert_string_equal(path, "/run/netns/cove-d-" DYNO_ID);
	assert_refused(net_netns_path(NET_NETNS_DYNO, "../etc", path, &err), -EINVAL, err, "dyno id '../etc' is invalid");
}

static void test_records(void **state)
{
	char alias[NET_RECORD_MAX];
	struct net_space_record rec = { SPACE_ID, 1048575, ip("198.18.0.2") }, back;
	net_space_record_format(&rec, alias);
	assert_string_equal(alias, "space=" SPACE_ID " uplink=1048575 outbound=198.18.0.2");
	assert_int_equal(net_space_record_parse(alias, &back), 0);
	assert_string_equal(back.space_id, SPACE_ID);
	assert_int_equal(back.uplink_index, 1048575);
	assert_int_equal(back.outbound_ip, rec.outbound_ip);

	static const char *const bad[] = {
		"",
		"space=" SPACE_ID,
		"space=" SPACE_ID " uplink=1048576 outbound=198.18.0.2",
		"space=" SPACE_ID " uplink= outbound=198.18.0.2",
		"space=" SPACE_ID " uplink=3 outbound=198.18.0",
		"space=" SPACE_ID " uplink=3 outbound=198.18.0.2 extra",
		"space=not-a-uuid-0000-4000-8000-00000000abcd uplink=3 outbound=198.18.0.2",
		"dyno=" DYNO_ID,
		"some operator's note",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_space_record_parse(bad[i], &back) != -EINVAL)
			fail_msg("'%s' parsed as a space record", bad[i]);
	assert_int_equal(net_space_record_parse(NULL, &back), -EINVAL);

	char id[ID_STRING_MAX];
	net_dyno_record_format(DYNO_ID, alias);
	assert_string_equal(alias, "dyno=" DYNO_ID);
	assert_int_equal(net_dyno_record_parse(alias, id), 0);
	assert_string_equal(id, DYNO_ID);
	assert_int_equal(net_dyno_record_parse("dyno=" DYNO_ID "x", id), -EINVAL);
	assert_int_equal(net_dyno_record_parse("dyno=" DYNO_ID " ", id), -EINVAL);
	assert_int_equal(net_dyno_record_parse("dyno=9f8e7d6c", id), -EINVAL);
	assert_int_equal(net_dyno_record_parse("", id), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_and_membership),
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_uplink_plan),
		cmocka_unit_test(test_space_gateway),
		cmocka_unit_test(test_dyno_address),
		cmocka_unit_test(test_outbound),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_ids_and_names),
		cmocka_unit_test(test_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
