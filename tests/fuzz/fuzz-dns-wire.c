/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target of the space resolver's DNS wire format (src/dns/dns-wire.c). Besides
 * finding crashes and out-of-bounds reads, it checks that the parser and the encoder agree:
 *
 *   - an accepted query's name fits the limits, its text is lower case, and it consumed the
 *     whole input;
 *   - the response encoded to it fits the limit it was given (truncated if need be), and the
 *     resolver's own check of a response takes it as the answer to that query;
 *   - the input taken as an upstream's response to a fixed query never crashes the check.
 *
 *   make fuzz                    (a longer run of every fuzzer, see the Makefile)
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns-wire.h"

static const uint32_t addresses[] = { 0x0a00000a, 0x0a00000b, 0x0a00000c, 0x0a00000d, 0x0a00000e };

static void check_response(const struct dns_query *q, const struct dns_answer *a, size_t limit)
{
	static uint8_t out[DNS_MESSAGE_MAX];
	int n = dns_response_encode(q, a, limit, out, sizeof(out));
	assert(n > 0 && (size_t)n <= limit);
	assert(dns_response_matches(out, (size_t)n, q->id, q));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	enum dns_parse_result r = dns_query_parse(data, size, &q);
	uint8_t header[DNS_HEADER_SIZE];
	if (r == DNS_PARSE_FORMERR || r == DNS_PARSE_NOTIMP)
		assert(dns_error_encode(&q, DNS_RCODE_FORMERR, header) == DNS_HEADER_SIZE);
	if (r == DNS_PARSE_OK || r == DNS_PARSE_BADVERS) {
		assert(q.qname_len >= 1 && q.qname_len <= DNS_NAME_WIRE_MAX);
		assert(strlen(q.name) < DNS_NAME_TEXT_MAX);
		for (const char *p = q.name; *p; p++)
			assert(!(*p >= 'A' && *p <= 'Z'));
		if (q.name_plain && q.name[0])
			assert(dns_name_valid(q.name) || strlen(q.name) > 253);
		struct dns_soa soa = { .zone = "localspace", .serial = 1, .ttl = 5 };
		size_t n = size % (sizeof(addresses) / sizeof(addresses[0]) + 1);
		struct dns_answer a = { .rcode = DNS_RCODE_NOERROR, .authoritative = true, .addresses = addresses,
					.n_addresses = n, .first = size, .ttl = 5, .soa = &soa };
		check_response(&q, &a, dns_udp_limit(&q));
		check_response(&q, &a, DNS_MESSAGE_MAX);
		a = (struct dns_answer){ .rcode = DNS_RCODE_NXDOMAIN, .soa = &soa };
		check_response(&q, &a, DNS_UDP_PLAIN_MAX);
	}
	/* The input as an upstream's answer to a query of ours. */
	static const uint8_t query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
				       "\x02" "db\x07" "example\x04" "test\x00\x00\x01\x00\x01";
	struct dns_query ours;
	assert(dns_query_parse(query, sizeof(query) - 1, &ours) == DNS_PARSE_OK);
	(void)dns_response_matches(data, size, 0x1234, &ours);
	return 0;
}
