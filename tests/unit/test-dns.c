/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of dns/dns-wire and dns/dns-table: what a query must be to be answered, the
 * malformed shapes the parser refuses, responses as a stub resolver reads them (compression,
 * rotation, truncation, SOA, EDNS), the check of an upstream's answer, and the table's names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns-table.h"
#include "dns/dns-wire.h"

/* A query as a client sends it: id 0x1234, RD, one question, maybe an OPT of version `ver`. */
static size_t make_query(uint8_t *buf, const char *name, uint16_t type, int edns_size, int ver)
{
	size_t n = 0;
	uint8_t head[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns_size ? 1 : 0 };
	memcpy(buf, head, 12);
	n = 12;
	for (const char *p = name; *p;) {
		size_t l = strcspn(p, ".");
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	buf[n++] = 0;
	buf[n++] = (uint8_t)(type >> 8);
	buf[n++] = (uint8_t)type;
	buf[n++] = 0;
	buf[n++] = 1;
	if (edns_size) {
		uint8_t opt[11] = { 0, 0, 41, (uint8_t)(edns_size >> 8), (uint8_t)edns_size, 0, (uint8_t)ver, 0x80, 0, 0, 0 };
		memcpy(buf + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_parse_query(void **state)
{
	uint8_t buf[512];
	struct dns_query q;
	size_t n = make_query(buf, "Web.MyApp.app.localspace", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_int_equal(q.id, 0x1234);
	assert_true(q.rd);
	assert_string_equal(q.name, "web.myapp.app.localspace");
	assert_true(q.name_plain);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_false(q.edns);
	assert_int_equal(dns_udp_limit(&q), 512);
	/* The wire name keeps its case, for the response's question. */
	assert_memory_equal(q.qname, "\x03Web", 4);

	n = make_query(buf, "x.localspace", DNS_TYPE_AAAA, 4096, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(dns_udp_limit(&q), DNS_UDP_EDNS_MAX);
	n = make_query(buf, "x.localspace", DNS_TYPE_A, 100, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_int_equal(dns_udp_limit(&q), 512);

	/* The root, and a label with a byte no table name has. */
	n = make_query(buf, "", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_string_equal(q.name, "");
	n = make_query(buf, "a b.localspace", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_false(q.name_plain);
}

static void test_parse_refuses(void **state)
{
	uint8_t buf[600];
	struct dns_query q;
	size_t n = make_query(buf, "web.a.app.localspace", DNS_TYPE_A, 0, 0);

	assert_int_equal(dns_query_parse(buf, 11, &q), DNS_PARSE_DROP);
	buf[2] |= 0x80; /* a response */
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_DROP);
	buf[2] = 0x01 | (2 << 3); /* opcode STATUS */
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_NOTIMP);
	assert_int_equal(q.id, 0x1234);
	buf[2] = 0x01;

	static const struct {
		size_t off;
		uint8_t value;
		const char *why;
	} bad[] = {
		{ 5, 2, "two questions" },    { 5, 0, "no question" },     { 7, 1, "an answer" },
		{ 9, 1, "an authority" },     { 11, 2, "two additionals" }, { 11, 1, "an additional that is missing" },
		{ 12, 0xc0, "a pointer" },    { 12, 0x40, "a reserved label type" }, { 12, 60, "a label past the end" },
		{ 2, 0x03, "TC in a query" }, { 3, 0x40, "the Z bit" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t copy[600];
		memcpy(copy, buf, n);
		copy[bad[i].off] = bad[i].value;
		if (dns_query_parse(copy, n, &q) != DNS_PARSE_FORMERR)
			fail_msg("accepted %s", bad[i].why);
	}
	/* Truncated anywhere, or a byte too many. */
	for (size_t len = 12; len < n; len++)
		assert_int_equal(dns_query_parse(buf, len, &q), DNS_PARSE_FORMERR);
	buf[n] = 0;
	assert_int_equal(dns_query_parse(buf, n + 1, &q), DNS_PARSE_FORMERR);
	/* A zone transfer is not a question for a resolver. */
	n = make_query(buf, "localspace", 252, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_FORMERR);
	/* EDNS: an OPT whose options overrun it; another version. */
	n = make_query(buf, "a.localspace", DNS_TYPE_A, 1232, 0);
	buf[n - 1] = 4;
	memcpy(buf + n, "\x00\x0a\x00\x08", 4);
	assert_int_equal(dns_query_parse(buf, n + 4, &q), DNS_PARSE_FORMERR);
	n = make_query(buf, "a.localspace", DNS_TYPE_A, 1232, 1);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_BADVERS);
	/* A name of 256 bytes: four labels of 63. */
	char big[300];
	snprintf(big, sizeof(big), "%1$.63s.%1$.63s.%1$.63s.%1$.63s",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	n = make_query(buf, big, DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_FORMERR);
	big[252] = '\0'; /* 253 of text, 255 of wire: the longest name */
	n = make_query(buf, big, DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	assert_int_equal(strlen(q.name), 252);
}

static void test_encode_answers(void **state)
{
	uint8_t buf[512], out[1500];
	struct dns_query q;
	size_t n = make_query(buf, "web.a.app.localspace", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	const uint32_t addrs[] = { 0x0a00000a, 0x0a00000b, 0x0a00000c };
	struct dns_answer a = { .rcode = DNS_RCODE_NOERROR, .authoritative = true, .addresses = addrs,
				.n_addresses = 3, .first = 1, .ttl = 5 };
	int len = dns_response_encode(&q, &a, 512, out, sizeof(out));
	assert_int_equal(len, (int)n + 3 * 16);
	assert_int_equal(get16(out), 0x1234);
	assert_int_equal(get16(out + 2), 0x8000 | 0x0400 | 0x0100 | 0x0080); /* QR AA RD RA */
	assert_int_equal(get16(out + 4), 1);
	assert_int_equal(get16(out + 6), 3);
	assert_memory_equal(out + 12, buf + 12, n - 12);
	const uint8_t *rr = out + n;
	assert_int_equal(get16(rr), 0xc00c); /* the question's name */
	assert_int_equal(get16(rr + 2), DNS_TYPE_A);
	assert_int_equal(get16(rr + 8), 5);
	assert_int_equal(get16(rr + 10), 4);
	assert_memory_equal(rr + 12, "\x0a\x00\x00\x0b", 4); /* rotated: starts at the second */
	assert_memory_equal(rr + 16 + 12, "\x0a\x00\x00\x0c", 4);
	assert_memory_equal(rr + 32 + 12, "\x0a\x00\x00\x0a", 4);

	/* Too many for 512 bytes: the answers go, TC says to ask over TCP. */
	uint32_t many[40];
	for (size_t i = 0; i < 40; i++)
		many[i] = 0x0a000100 + (uint32_t)i;
	a = (struct dns_answer){ .rcode = DNS_RCODE_NOERROR, .addresses = many, .n_addresses = 40, .ttl = 5 };
	len = dns_response_encode(&q, &a, 512, out, sizeof(out));
	assert_int_equal(len, (int)n);
	assert_true(get16(out + 2) & 0x0200);
	assert_int_equal(get16(out + 6), 0);
	len = dns_response_encode(&q, &a, DNS_MESSAGE_MAX, out, sizeof(out));
	assert_int_equal(len, (int)n + 40 * 16);
	assert_false(get16(out + 2) & 0x0200);
	assert_int_equal(dns_response_encode(&q, &a, 512, out, 11), -ENOBUFS);
}

static void test_encode_negative(void **state)
{
	uint8_t buf[512], out[512];
	struct dns_query q;
	size_t n = make_query(buf, "nope.app.localspace", DNS_TYPE_A, 1232, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	struct dns_soa soa = { .zone = "localspace", .serial = 7, .ttl = 5 };
	struct dns_answer a = { .rcode = DNS_RCODE_NXDOMAIN, .authoritative = true, .ttl = 5, .soa = &soa };
	int len = dns_response_encode(&q, &a, dns_udp_limit(&q), out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(get16(out + 2) & 0xf, DNS_RCODE_NXDOMAIN);
	assert_int_equal(get16(out + 6), 0);
	assert_int_equal(get16(out + 8), 1);
	assert_int_equal(get16(out + 10), 1);
	size_t qend = 12 + q.qname_len + 4;
	/* The SOA's owner points at "localspace" inside the question's name. */
	uint16_t ptr = get16(out + qend) & 0x3fff;
	assert_memory_equal(out + ptr, "\x0alocalspace\x00", 12);
	assert_int_equal(get16(out + qend + 2), DNS_TYPE_SOA);
	/* The OPT at the end: the root, type 41. */
	assert_memory_equal(out + len - 11, "\x00\x00\x29", 3);

	/* BADVERS: 16 is 0 in the header and 1 in the OPT's extended rcode. */
	n = make_query(buf, "a.localspace", DNS_TYPE_A, 1232, 3);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_BADVERS);
	a = (struct dns_answer){ .rcode = DNS_RCODE_BADVERS };
	len = dns_response_encode(&q, &a, 512, out, sizeof(out));
	assert_int_equal(get16(out + 2) & 0xf, 0);
	assert_int_equal(out[len - 11 + 5], 1);

	/* An error without a question: the header only. */
	assert_int_equal(dns_error_encode(&q, DNS_RCODE_FORMERR, out), 12);
	assert_int_equal(get16(out + 2) & 0x800f, 0x8001);
	assert_int_equal(get16(out + 4), 0);
}

static void test_response_matches(void **state)
{
	uint8_t buf[512], resp[512];
	struct dns_query q;
	size_t n = make_query(buf, "db.example.test", DNS_TYPE_A, 0, 0);
	assert_int_equal(dns_query_parse(buf, n, &q), DNS_PARSE_OK);
	memcpy(resp, buf, n);
	resp[0] = 0xab;
	resp[1] = 0xcd;
	resp[2] |= 0x80;
	assert_true(dns_response_matches(resp, n, 0xabcd, &q));
	assert_false(dns_response_matches(resp, n, 0x1234, &q)); /* another id */
	resp[13] = 'D';
	assert_true(dns_response_matches(resp, n, 0xabcd, &q)); /* case does not matter */
	resp[14] = 'x';
	assert_false(dns_response_matches(resp, n, 0xabcd, &q)); /* another name */
	resp[14] = 'b';
	resp[2] &= 0x7f;
	assert_false(dns_response_matches(resp, n, 0xabcd, &q)); /* a query, not a response */
	resp[2] |= 0x80;
	assert_false(dns_response_matches(resp, n - 1, 0xabcd, &q)); /* cut short */
}

static void test_names(void **state)
{
	assert_true(dns_name_in_zone("localspace", "localspace"));
	assert_true(dns_name_in_zone("web.a.app.localspace", "localspace"));
	assert_false(dns_name_in_zone("xlocalspace", "localspace"));
	assert_false(dns_name_in_zone("", "localspace"));
	assert_true(dns_name_valid("1.web.my-app.app.localspace"));
	assert_true(dns_name_valid("postgresql-shaped-12345"));
	assert_true(dns_name_valid("my_worker.a.app.localspace"));
	const char *bad[] = { "", "Web.a", "a..b", "a.", ".a", "a b", "a/b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dns_name_valid(bad[i]))
			fail_msg("'%s' is valid", bad[i]);
}

static void test_table(void **state)
{
	const char *text = "{\"space\":\"s\",\"ttl\":3,\"records\":["
			   "{\"name\":\"web.a.app.localspace\",\"kind\":\"formation\",\"addresses\":[\"10.0.0.10\",\"10.0.0.11\"]},"
			   "{\"name\":\"1.web.a.app.localspace\",\"kind\":\"dyno\",\"addresses\":[\"10.0.0.10\"]},"
			   "{\"name\":\"a.app.localspace\",\"kind\":\"name\",\"addresses\":[\"10.0.0.2\"]},"
			   "{\"name\":\"pg-1\",\"kind\":\"addon\",\"addresses\":[\"10.0.0.3\"]}]}";
	struct dns_table *t = NULL;
	struct error err = { 0 };
	assert_int_equal(dns_table_parse(text, strlen(text), &t, &err), 0);
	assert_int_equal(t->ttl, 3);
	const struct dns_record *r = dns_table_find(t, "web.a.app.localspace");
	assert_non_null(r);
	assert_int_equal(r->n_addresses, 2);
	assert_int_equal(r->addresses[1], 0x0a00000b);
	/* A name given and an ancestor of another: the given one's addresses stay. */
	r = dns_table_find(t, "a.app.localspace");
	assert_non_null(r);
	assert_int_equal(r->n_addresses, 1);
	r = dns_table_find(t, "app.localspace");
	assert_non_null(r);
	assert_int_equal(r->n_addresses, 0);
	assert_non_null(dns_table_find(t, "localspace"));
	assert_non_null(dns_table_find(t, "pg-1"));
	assert_null(dns_table_find(t, "2.web.a.app.localspace"));
	assert_null(dns_table_find(t, "b.app.localspace"));
	dns_table_free(t);

	const char *bad[] = {
		"[]",
		"{\"records\":{}}",
		"{\"ttl\":-1,\"records\":[]}",
		"{\"ttl\":1000,\"records\":[]}",
		"{\"records\":[],\"extra\":1}",
		"{\"records\":[{\"name\":\"Web.a\",\"kind\":\"name\",\"addresses\":[]}]}",
		"{\"records\":[{\"name\":\"localspace\",\"kind\":\"name\",\"addresses\":[]}]}",
		"{\"records\":[{\"name\":\"a\",\"kind\":\"cname\",\"addresses\":[]}]}",
		"{\"records\":[{\"name\":\"a\",\"kind\":\"name\",\"addresses\":[\"::1\"]}]}",
		"{\"records\":[{\"name\":\"a\",\"kind\":\"name\",\"addresses\":[]},{\"name\":\"a\",\"kind\":\"dyno\",\"addresses\":[]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = NULL;
		error_clear(&err);
		if (dns_table_parse(bad[i], strlen(bad[i]), &t, &err) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_null(t);
		assert_true(err.message[0]);
	}
	t = dns_table_empty();
	assert_null(dns_table_find(t, "localspace"));
	dns_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),   cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_encode_answers), cmocka_unit_test(test_encode_negative),
		cmocka_unit_test(test_response_matches), cmocka_unit_test(test_names),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
