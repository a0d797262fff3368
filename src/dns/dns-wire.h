/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The DNS wire format as the space resolver speaks it (RFC 1035, EDNS0 of RFC 6891): a strict
 * parser of queries, a check of an upstream's response against the query it answers, and an
 * encoder of the few responses the resolver gives. No allocation, no global state: every
 * function works on the caller's buffers, so the parser is fuzzed as it is
 * (tests/fuzz/fuzz-dns-wire.c).
 *
 * Strict means: exactly one question, no answer or authority records in a query, at most one
 * additional record and that one an OPT of the root name, no compression pointer in the
 * question (nothing precedes it that one could point to), labels of at most 63 bytes, names
 * of at most 255, no byte after the last record. Anything else is malformed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_SIZE 12
#define DNS_NAME_WIRE_MAX 255   /* a name on the wire, its final zero byte included */
#define DNS_NAME_TEXT_MAX 254   /* its text: labels joined by dots, no final dot, and the NUL */
#define DNS_UDP_PLAIN_MAX 512   /* the size of a UDP response to a client without EDNS */
#define DNS_UDP_EDNS_MAX 1232   /* the largest UDP response this resolver sends (DNS flag day 2020) */
#define DNS_MESSAGE_MAX 65535   /* over TCP: the length prefix is 16 bits */

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_ANY = 255,
	DNS_CLASS_IN = 1,
};

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended: only with EDNS */
};

#define DNS_OPCODE_QUERY 0

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;                            /* recursion desired */
	bool cd;                            /* checking disabled (echoed) */
	uint8_t qname[DNS_NAME_WIRE_MAX];   /* the question's name as it came, case kept */
	size_t qname_len;
	char name[DNS_NAME_TEXT_MAX];       /* lower case, labels joined by dots; "" for the root */
	bool name_plain;                    /* every label is letters, digits, '-' or '_' (so `name` is exact) */
	uint16_t qtype, qclass;
	bool edns;                          /* the query carried an OPT record */
	uint16_t edns_udp_size;             /* what the client takes over UDP (at least 512) */
	uint8_t edns_version;
	bool edns_do;
};

/*
 * Outcome of parsing a query. Only DNS_PARSE_OK fills the whole query; the others fill `id`,
 * `opcode` and `rd` so that an error response can be sent (except DNS_PARSE_DROP).
 */
enum dns_parse_result {
	DNS_PARSE_OK = 0,
	DNS_PARSE_DROP,     /* shorter than a header, or a response: ignore it, answer nothing */
	DNS_PARSE_FORMERR,  /* malformed: answer FORMERR */
	DNS_PARSE_NOTIMP,   /* an opcode other than QUERY: answer NOTIMP */
	DNS_PARSE_BADVERS,  /* EDNS of a version other than 0: answer BADVERS (with an OPT) */
};

enum dns_parse_result dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *ret);

/*
 * Whether buf is a response to q sent with the id `id` (a forwarded query carries an id of
 * the forwarder's choosing): a well-formed header with QR set, that id, and the same question
 * (names compared without regard to case).
 */
bool dns_response_matches(const uint8_t *buf, size_t len, uint16_t id, const struct dns_query *q);

/* The largest response q may get over UDP: 512 without EDNS, else what it asked, up to 1232. */
size_t dns_udp_limit(const struct dns_query *q);

/* The start of authority for negative answers of a zone (RFC 2308): the minimum is the TTL. */
struct dns_soa {
	const char *zone;  /* lower case text, "localspace"; q's name must be in it */
	uint32_t serial;
	uint32_t ttl;
};

struct dns_answer {
	uint8_t rcode;               /* DNS_RCODE_* */
	bool authoritative;
	const uint32_t *addresses;   /* A records, host byte order; may be NULL when n is 0 */
	size_t n_addresses;
	size_t first;                /* the answers start at addresses[first] and wrap around */
	uint32_t ttl;
	const struct dns_soa *soa;   /* added to the authority section, or NULL */
};

/*
 * Encodes the response to q into out (out_size bytes): the question, the A records, the SOA,
 * an OPT when q had one. When the whole response exceeds `limit` (dns_udp_limit() over UDP,
 * DNS_MESSAGE_MAX over TCP), the answer and authority sections are left out and the TC bit is
 * set, so that the client asks again over TCP. Returns the length, or -ENOBUFS when not even
 * that fits in out_size.
 */
int dns_response_encode(const struct dns_query *q, const struct dns_answer *a, size_t limit, uint8_t *out,
			size_t out_size);

/*
 * Encodes a response without a question, for a query that could not be parsed: the header
 * with q's id, opcode and rd, and rcode. Returns DNS_HEADER_SIZE (out holds at least that).
 */
int dns_error_encode(const struct dns_query *q, uint8_t rcode, uint8_t out[static DNS_HEADER_SIZE]);

/* Whether the lower case text name is zone or below it ("a.b.localspace" in "localspace"). */
bool dns_name_in_zone(const char *name, const char *zone);

/*
 * Checks a name as the resolver's table may hold it: lower case labels of letters, digits,
 * '-' and '_', 1 to 63 bytes each, at most 253 bytes in all, no final dot.
 */
bool dns_name_valid(const char *name);
