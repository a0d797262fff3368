/* SPDX-License-Identifier: MIT */
/* Unit tests of net/net-nft: rendering of the host and space tables, rule validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "net/net-nft.h"
#include "net/net-plan.h"

static uint32_t ip(const char *s)
{
	uint32_t a;
	assert_int_equal(net_ipv4_parse(s, &a, NULL), 0);
	return a;
}

static const char host_head[] = "# cove: the host table, rendered by src/net/net-nft.c and replaced as a whole\n"
				"table inet cove {}\n"
				"delete table inet cove\n"
				"table inet cove {\n"
				"\tset outbound_ips {\n"
				"\t\ttype ipv4_addr\n";

static const char host_chains[] = "\tchain input {\n"
				  "\t\ttype filter hook input priority filter; policy accept;\n"
				  "\t\tiifname \"cu-*\" ct state established,related accept\n"
				  "\t\tiifname \"cu-*\" drop\n"
				  "\t\tiifname != \"lo\" ip daddr @outbound_ips ct state new drop\n"
				  "\t}\n\n"
				  "\tchain forward {\n"
				  "\t\ttype filter hook forward priority filter; policy accept;\n"
				  "\t\tiifname \"cu-*\" oifname \"cu-*\" drop\n"
				  "\t\tiifname \"cu-*\" ip daddr 169.254.0.0/16 drop\n"
				  "\t\tiifname \"cu-*\" accept\n"
				  "\t\toifname \"cu-*\" ct state established,related accept\n"
				  "\t\toifname \"cu-*\" drop\n"
				  "\t}\n\n"
				  "\tchain postrouting {\n"
				  "\t\ttype nat hook postrouting priority srcnat; policy accept;\n";

static void test_host_no_spaces(void **state)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	net_nft_render_host(NULL, 0, &out);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want, "%s\t}\n\n%s\t}\n}\n", host_head, host_chains) > 0);
	assert_string_equal(out.buf, want);
}

static void test_host_spaces_sorted(void **state)
{
	/* Given out of order: the text depends only on the set of spaces. */
	const struct net_nft_snat snat[] = {
		{ ip("100.64.0.6"), ip("198.18.0.3") },
		{ ip("100.64.0.2"), ip("198.18.0.2") },
	};
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	net_nft_render_host(snat, ARRAY_SIZE(snat), &out);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want,
			     "%s\t\telements = { 198.18.0.2, 198.18.0.3 }\n\t}\n\n%s"
			     "\t\tip saddr 100.64.0.2 oifname != \"cu-*\" snat ip to 198.18.0.2\n"
			     "\t\tip saddr 100.64.0.6 oifname != \"cu-*\" snat ip to 198.18.0.3\n"
			     "\t}\n}\n",
			     host_head, host_chains) > 0);
	assert_string_equal(out.buf, want);

	const struct net_nft_snat swapped[] = { snat[1], snat[0] };
	_cleanup_strbuf_ struct strbuf again = STRBUF_INIT;
	net_nft_render_host(swapped, ARRAY_SIZE(swapped), &again);
	assert_string_equal(again.buf, out.buf);
}

static const char space_tail[] = "\tchain input {\n"
				 "\t\ttype filter hook input priority filter; policy drop;\n"
				 "\t\tiif \"lo\" accept\n"
				 "\t\tct state established,related accept\n"
				 "\t\tiifname \"br0\" jump services\n"
				 "\t}\n\n"
				 "\tchain forward {\n"
				 "\t\ttype filter hook forward priority filter; policy drop;\n"
				 "\t\tiifname \"br0\" oifname \"br0\" accept\n"
				 "\t\tct state established,related accept\n"
				 "\t\tiifname \"br0\" oifname \"uplink\" jump egress_rules\n"
				 "\t\tiifname \"br0\" oifname \"uplink\" accept\n"
				 "\t}\n\n"
				 "\tchain postrouting {\n"
				 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
				 "\t\toifname \"uplink\" masquerade\n"
				 "\t}\n"
				 "}\n";

static const char services_comment[] =
	"\t# dyno -> this namespace (DNS resolver); the first match decides, the rest is dropped\n";
static const char egress_comment[] =
	"\t# dyno -> outside (outbound rules); the first match decides, the rest is allowed\n";

static void test_space_empty(void **state)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct error err = { 0 };
	assert_int_equal(net_nft_render_space(&(struct net_nft_space){ 0 }, &out, &err), 0);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want,
			     "# cove: the space table, rendered by src/net/net-nft.c and replaced as a whole\n"
			     "table inet cove {}\n"
			     "delete table inet cove\n"
			     "table inet cove {\n"
			     "%s\tchain services {\n\t}\n\n"
			     "%s\tchain egress_rules {\n\t}\n\n%s",
			     services_comment, egress_comment, space_tail) > 0);
	assert_string_equal(out.buf, want);
}

static const struct net_nft_rule services[] = {
	{ { 0x0a000001u, 32 }, NET_NFT_UDP, 53, 53, true },
	{ { 0x0a000001u, 32 }, NET_NFT_TCP, 0, 0, true },
};
static const struct net_nft_rule egress[] = {
	{ { 0x0a010000u, 16 }, NET_NFT_TCP, 5432, 5439, true },
	{ { 0xc0a80000u, 16 }, NET_NFT_ANY, 0, 0, false },
	{ { 0, 0 }, NET_NFT_ANY, 0, 0, true },
};

static void test_space_rules(void **state)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct error err = { 0 };
	struct net_nft_space space = { services, ARRAY_SIZE(services), egress, ARRAY_SIZE(egress) };
	assert_int_equal(net_nft_render_space(&space, &out, &err), 0);
	const char *want_services = "\tchain services {\n"
				    "\t\tip daddr 10.0.0.1/32 udp dport 53 accept\n"
				    "\t\tip daddr 10.0.0.1/32 meta l4proto tcp accept\n"
				    "\t}\n";
	const char *want_egress = "\tchain egress_rules {\n"
				  "\t\tip daddr 10.1.0.0/16 tcp dport 5432-5439 accept\n"
				  "\t\tip daddr 192.168.0.0/16 drop\n"
				  "\t\tip daddr 0.0.0.0/0 accept\n"
				  "\t}\n";
	if (!strstr(out.buf, want_services))
		fail_msg("services chain missing from:\n%s", out.buf);
	if (!strstr(out.buf, want_egress))
		fail_msg("egress chain missing from:\n%s", out.buf);
	assert_non_null(strstr(out.buf, space_tail));
}

static void test_space_bad_rules(void **state)
{
	static const struct {
		struct net_nft_rule rule;
		const char *needle;
	} bad[] = {
		{ { { 0x0a000001u, 16 }, NET_NFT_ANY, 0, 0, true }, "'10.0.0.1/16' is invalid: not a network address" },
		{ { { 0x0a000000u, 33 }, NET_NFT_ANY, 0, 0, true }, "not a network address" },
		{ { { 0x0a000000u, 8 }, NET_NFT_ANY, 80, 80, true }, "bad port range 80-80" },
		{ { { 0x0a000000u, 8 }, NET_NFT_TCP, 90, 80, true }, "bad port range 90-80" },
		{ { { 0x0a000000u, 8 }, NET_NFT_UDP, 0, 80, true }, "bad port range 0-80" },
		{ { { 0x0a000000u, 8 }, (enum net_nft_proto)7, 0, 0, true }, "unknown protocol" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
		struct error err = { 0 };
		struct net_nft_space space = { .egress = &bad[i].rule, .n_egress = 1 };
		assert_int_equal(net_nft_render_space(&space, &out, &err), -EINVAL);
		if (!strstr(err.message, bad[i].needle))
			fail_msg("message '%s' lacks '%s'", err.message, bad[i].needle);
		space = (struct net_nft_space){ .services = &bad[i].rule, .n_services = 1 };
		assert_int_equal(net_nft_render_space(&space, &out, &err), -EINVAL);
	}
}

static void test_ingress(void **state)
{
	const struct net_nft_source trusted[] = {
		{ { 0xcb007107u, 32 }, false },
		{ { 0xcb007100u, 24 }, true },
	};
	struct net_nft_ingress in = { ip("127.0.2.6"), 8080, trusted, ARRAY_SIZE(trusted) };
	char table[NET_NFT_INGRESS_TABLE_MAX];
	net_nft_ingress_table("1a2b3c4d-0000-4000-8000-00000000abcd", table);
	assert_string_equal(table, "cove_in_1a2b3c4d");
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct error err = { 0 };
	assert_int_equal(net_nft_render_ingress(table, &in, &out, &err), 0);
	assert_string_equal(out.buf,
			    "# cove: the trusted IP ranges of a space's ingress, rendered by src/net/net-nft.c\n"
			    "table ip cove_in_1a2b3c4d {}\n"
			    "delete table ip cove_in_1a2b3c4d\n"
			    "table ip cove_in_1a2b3c4d {\n"
			    "\t# client -> the space's router; the first match decides, the rest is dropped\n"
			    "\tchain trusted {\n"
			    "\t\tip saddr 203.0.113.7/32 drop\n"
			    "\t\tip saddr 203.0.113.0/24 return\n"
			    "\t\tdrop\n"
			    "\t}\n\n"
			    "\tchain input {\n"
			    "\t\ttype filter hook input priority filter; policy accept;\n"
			    "\t\tip daddr 127.0.2.6 tcp dport 8080 jump trusted\n"
			    "\t}\n"
			    "}\n");
	/* No trusted range: every source is dropped. */
	_cleanup_strbuf_ struct strbuf none = STRBUF_INIT;
	in.n_trusted = 0;
	assert_int_equal(net_nft_render_ingress(table, &in, &none, &err), 0);
	assert_non_null(strstr(none.buf, "\tchain trusted {\n\t\tdrop\n\t}\n"));
	/* Malformed ranges and a missing port are refused. */
	const struct net_nft_source bad = { { 0xcb007101u, 24 }, true };
	in = (struct net_nft_ingress){ ip("127.0.2.6"), 8080, &bad, 1 };
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	assert_int_equal(net_nft_render_ingress(table, &in, &b, &err), -EINVAL);
	assert_non_null(strstr(err.message, "'203.0.113.1/24' is invalid"));
	in.n_trusted = 0;
	in.port = 0;
	assert_int_equal(net_nft_render_ingress(table, &in, &b, &err), -EINVAL);
	_cleanup_strbuf_ struct strbuf del = STRBUF_INIT;
	net_nft_render_ingress_delete(table, &del);
	assert_string_equal(del.buf, "table ip cove_in_1a2b3c4d {}\ndelete table ip cove_in_1a2b3c4d\n");
}

static void test_icmp_rule(void **state)
{
	const struct net_nft_rule rules[] = { { { 0xc6336400u, 24 }, NET_NFT_ICMP, 0, 0, true } };
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct error err = { 0 };
	struct net_nft_space space = { .egress = rules, .n_egress = 1 };
	assert_int_equal(net_nft_render_space(&space, &out, &err), 0);
	assert_non_null(strstr(out.buf, "\t\tip daddr 198.51.100.0/24 meta l4proto icmp accept\n"));
	const struct net_nft_rule ported[] = { { { 0xc6336400u, 24 }, NET_NFT_ICMP, 8, 8, true } };
	space.egress = ported;
	assert_int_equal(net_nft_render_space(&space, &out, &err), -EINVAL);
}

/* Runs `nft --check` on text: nft parses and the kernel validates, nothing is applied. */
static int nft_check(const char *text)
{
	FILE *p = popen("nft -c -f - >/dev/null 2>&1", "w");
	if (!p)
		return -1;
	fputs(text, p);
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The rendered text is nftables syntax the kernel takes, rules included. */
static void test_nft_accepts(void **state)
{
	if (geteuid() != 0 || system("command -v nft >/dev/null 2>&1") != 0)
		skip();
	_cleanup_strbuf_ struct strbuf space = STRBUF_INIT;
	struct net_nft_space rules = { services, ARRAY_SIZE(services), egress, ARRAY_SIZE(egress) };
	assert_int_equal(net_nft_render_space(&rules, &space, NULL), 0);
	assert_int_equal(nft_check(space.buf), 0);

	const struct net_nft_snat snat[] = { { ip("100.64.0.2"), ip("198.18.0.2") } };
	_cleanup_strbuf_ struct strbuf host = STRBUF_INIT;
	net_nft_render_host(snat, ARRAY_SIZE(snat), &host);
	assert_int_equal(nft_check(host.buf), 0);
	_cleanup_strbuf_ struct strbuf empty = STRBUF_INIT;
	net_nft_render_host(NULL, 0, &empty);
	assert_int_equal(nft_check(empty.buf), 0);

	const struct net_nft_source trusted[] = { { { 0xcb007107u, 32 }, false }, { { 0, 0 }, true } };
	struct net_nft_ingress in = { ip("127.0.2.6"), 80, trusted, ARRAY_SIZE(trusted) };
	_cleanup_strbuf_ struct strbuf ingress = STRBUF_INIT;
	assert_int_equal(net_nft_render_ingress("cove_in_1a2b3c4d", &in, &ingress, NULL), 0);
	assert_int_equal(nft_check(ingress.buf), 0);
	const struct net_nft_rule icmp[] = { { { 0, 0 }, NET_NFT_ICMP, 0, 0, true } };
	_cleanup_strbuf_ struct strbuf space_icmp = STRBUF_INIT;
	assert_int_equal(net_nft_render_space(&(struct net_nft_space){ .egress = icmp, .n_egress = 1 }, &space_icmp, NULL), 0);
	assert_int_equal(nft_check(space_icmp.buf), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_no_spaces),
		cmocka_unit_test(test_host_spaces_sorted),
		cmocka_unit_test(test_space_empty),
		cmocka_unit_test(test_space_rules),
		cmocka_unit_test(test_space_bad_rules),
		cmocka_unit_test(test_ingress),
		cmocka_unit_test(test_icmp_rule),
		cmocka_unit_test(test_nft_accepts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
