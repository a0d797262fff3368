/* SPDX-License-Identifier: MIT */
/*
 * The DNS wire format (see dns-wire.h). Every read is checked against the end of the message
 * before it is made; the reader never follows a compression pointer, since a strict query has
 * none. The writer compresses: each answer's owner is a pointer to the question's name, and the
 * SOA's owner a pointer into it, since the question's name is in the SOA's zone.
 */
#include "dns/dns-wire.h"

#include <errno.h>
#include <string.h>

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define FLAG_CD 0x0010
#define EDNS_DO 0x8000

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool label_char_plain(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static char lower(uint8_t c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/*
 * Reads an uncompressed name at *off: its wire form into q->qname, its text into q->name.
 * Returns false when it is malformed or runs past the end.
 */
static bool read_qname(const uint8_t *buf, size_t len, size_t *off, struct dns_query *q)
{
	size_t p = *off, wire = 0, text = 0;
	q->name_plain = true;
	for (;;) {
		if (p >= len)
			return false;
		uint8_t l = buf[p];
		if (l & 0xc0)
			return false; /* a pointer (0xc0) or a reserved label type */
		if (wire + 1 + l > DNS_NAME_WIRE_MAX || p + 1 + l > len)
			return false;
		memcpy(q->qname + wire, buf + p, 1u + l);
		wire += 1u + l;
		p += 1u + l;
		if (l == 0)
			break;
		if (text)
			q->name[text++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = buf[p - l + i];
			q->name_plain &= label_char_plain(c);
			q->name[text++] = lower(c);
		}
	}
	/* 255 bytes of wire hold at most 253 of text: the NUL fits in DNS_NAME_TEXT_MAX. */
	q->name[text] = '\0';
	q->qname_len = wire;
	*off = p;
	return true;
}

/* Reads the OPT record of a query's additional section (RFC 6891 §6.1). */
static bool read_opt(const uint8_t *buf, size_t len, size_t *off, struct dns_query *q)
{
	size_t p = *off;
	/* The root name, TYPE, CLASS (the UDP size), TTL (extended rcode, version, flags), RDLENGTH. */
	if (p + 11 > len || buf[p] != 0 || get16(buf + p + 1) != DNS_TYPE_OPT)
		return false;
	uint16_t rdlen = get16(buf + p + 9);
	if (p + 11 + rdlen > len)
		return false;
	/* The options: each code, length, data, exactly filling RDATA. */
	size_t o = p + 11, end = o + rdlen;
	while (o < end) {
		if (o + 4 > end || o + 4 + get16(buf + o + 2) > end)
			return false;
		o += 4u + get16(buf + o + 2);
	}
	uint16_t size = get16(buf + p + 3);
	q->edns = true;
	q->edns_udp_size = size < DNS_UDP_PLAIN_MAX ? DNS_UDP_PLAIN_MAX : size;
	q->edns_version = buf[p + 6];
	q->edns_do = (get16(buf + p + 7) & EDNS_DO) != 0;
	*off = end;
	return true;
}

enum dns_parse_result dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len < DNS_HEADER_SIZE)
		return DNS_PARSE_DROP;
	uint16_t flags = get16(buf + 2);
	ret->id = get16(buf);
	ret->opcode = (uint8_t)((flags >> 11) & 0xf);
	ret->rd = (flags & FLAG_RD) != 0;
	ret->cd = (flags & FLAG_CD) != 0;
	if (flags & FLAG_QR)
		return DNS_PARSE_DROP;
	if (ret->opcode != DNS_OPCODE_QUERY)
		return DNS_PARSE_NOTIMP;
	uint16_t qd = get16(buf + 4), an = get16(buf + 6), ns = get16(buf + 8), ar = get16(buf + 10);
	/* TC in a query, the reserved Z bit, answers or authority: none belongs in a query. */
	if (qd != 1 || an != 0 || ns != 0 || ar > 1 || (flags & (FLAG_TC | 0x0040)))
		return DNS_PARSE_FORMERR;
	size_t off = DNS_HEADER_SIZE;
	if (!read_qname(buf, len, &off, ret) || off + 4 > len)
		return DNS_PARSE_FORMERR;
	ret->qtype = get16(buf + off);
	ret->qclass = get16(buf + off + 2);
	off += 4;
	if (ar == 1 && !read_opt(buf, len, &off, ret))
		return DNS_PARSE_FORMERR;
	if (off != len)
		return DNS_PARSE_FORMERR;
	/* Meta types that belong to zone transfers and the like are not questions for a resolver. */
	if (ret->qtype == DNS_TYPE_OPT || (ret->qtype >= 249 && ret->qtype <= 254))
		return DNS_PARSE_FORMERR;
	if (ret->edns && ret->edns_version != 0)
		return DNS_PARSE_BADVERS;
	return DNS_PARSE_OK;
}

bool dns_response_matches(const uint8_t *buf, size_t len, uint16_t id, const struct dns_query *q)
{
	if (len < DNS_HEADER_SIZE || get16(buf) != id || !(get16(buf + 2) & FLAG_QR) || get16(buf + 4) != 1)
		return false;
	size_t off = DNS_HEADER_SIZE;
	if (off + q->qname_len + 4 > len)
		return false;
	/* The name, byte by byte without regard to case (length bytes are never letters). */
	for (size_t i = 0; i < q->qname_len; i++)
		if (lower(buf[off + i]) != lower(q->qname[i]))
			return false;
	off += q->qname_len;
	return get16(buf + off) == q->qtype && get16(buf + off + 2) == q->qclass;
}

size_t dns_udp_limit(const struct dns_query *q)
{
	if (!q->edns)
		return DNS_UDP_PLAIN_MAX;
	return q->edns_udp_size > DNS_UDP_EDNS_MAX ? DNS_UDP_EDNS_MAX : q->edns_udp_size;
}

static void header_put(uint8_t *out, const struct dns_query *q, uint8_t rcode, bool aa, bool tc)
{
	uint16_t flags = FLAG_QR | (uint16_t)(q->opcode << 11) | (q->rd ? FLAG_RD : 0) | FLAG_RA |
			 (q->cd ? FLAG_CD : 0) | (aa ? FLAG_AA : 0) | (tc ? FLAG_TC : 0) | (rcode & 0xf);
	put16(out, q->id);
	put16(out + 2, flags);
	memset(out + 4, 0, 8);
}

int dns_error_encode(const struct dns_query *q, uint8_t rcode, uint8_t out[static DNS_HEADER_SIZE])
{
	header_put(out, q, rcode, false, false);
	return DNS_HEADER_SIZE;
}

/* A writer that remembers when something did not fit. */
struct writer {
	uint8_t *buf;
	size_t size, len;
	bool full;
};

static void w_bytes(struct writer *w, const void *data, size_t n)
{
	if (w->full || w->len + n > w->size) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void w16(struct writer *w, uint16_t v)
{
	uint8_t b[2];
	put16(b, v);
	w_bytes(w, b, 2);
}

static void w32(struct writer *w, uint32_t v)
{
	uint8_t b[4];
	put32(b, v);
	w_bytes(w, b, 4);
}

/* Labels of a lower case text name, uncompressed, without the final zero byte. */
static void w_labels(struct writer *w, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");
		uint8_t lb = (uint8_t)(l > 63 ? 63 : l);
		w_bytes(w, &lb, 1);
		w_bytes(w, name, lb);
		name += l;
		if (*name == '.')
			name++;
	}
}

/* The offset of the zone's labels inside the question's name (the name ends with them). */
static size_t zone_offset(const struct dns_query *q, const char *zone)
{
	size_t zlen = 1; /* the final zero byte */
	for (const char *z = zone; *z;) {
		size_t l = strcspn(z, ".");
		zlen += 1 + l;
		z += l + (z[l] == '.');
	}
	return DNS_HEADER_SIZE + q->qname_len - zlen;
}

static void w_soa(struct writer *w, const struct dns_query *q, const struct dns_soa *soa)
{
	uint16_t zone_ptr = (uint16_t)(0xc000 | zone_offset(q, soa->zone));
	w16(w, zone_ptr);
	w16(w, DNS_TYPE_SOA);
	w16(w, DNS_CLASS_IN);
	w32(w, soa->ttl);
	size_t rdlen_at = w->len;
	w16(w, 0);
	size_t start = w->len;
	w_labels(w, "ns"); /* MNAME ns.<zone>, RNAME hostmaster.<zone> */
	w16(w, zone_ptr);
	w_labels(w, "hostmaster");
	w16(w, zone_ptr);
	w32(w, soa->serial);
	w32(w, 3600); /* refresh, retry, expire: no secondaries exist; conventional values */
	w32(w, 600);
	w32(w, 86400);
	w32(w, soa->ttl); /* the minimum: how long a negative answer may be cached */
	if (!w->full)
		put16(w->buf + rdlen_at, (uint16_t)(w->len - start));
}

static void w_opt(struct writer *w, uint8_t rcode)
{
	uint8_t root = 0;
	w_bytes(w, &root, 1);
	w16(w, DNS_TYPE_OPT);
	w16(w, DNS_UDP_EDNS_MAX);
	w32(w, (uint32_t)(rcode >> 4) << 24); /* extended rcode, version 0, no flags */
	w16(w, 0);
}

int dns_response_encode(const struct dns_query *q, const struct dns_answer *a, size_t limit, uint8_t *out,
			size_t out_size)
{
	size_t size = limit < out_size ? limit : out_size;
	bool soa = a->soa && dns_name_in_zone(q->name, a->soa->zone) && q->name_plain;
	/* First in full; then, if that did not fit, truncated: question and OPT only. */
	for (int truncated = 0; truncated <= 1; truncated++) {
		struct writer w = { .buf = out, .size = size };
		if (size < DNS_HEADER_SIZE)
			return -ENOBUFS;
		header_put(out, q, a->rcode, a->authoritative, truncated);
		w.len = DNS_HEADER_SIZE;
		put16(out + 4, 1);
		w_bytes(&w, q->qname, q->qname_len);
		w16(&w, q->qtype);
		w16(&w, q->qclass);
		size_t n = truncated ? 0 : a->n_addresses;
		for (size_t i = 0; i < n; i++) {
			w16(&w, 0xc000 | DNS_HEADER_SIZE);
			w16(&w, DNS_TYPE_A);
			w16(&w, DNS_CLASS_IN);
			w32(&w, a->ttl);
			w16(&w, 4);
			w32(&w, a->addresses[(a->first + i) % a->n_addresses]);
		}
		if (soa && !truncated)
			w_soa(&w, q, a->soa);
		if (q->edns)
			w_opt(&w, a->rcode);
		if (w.full)
			continue;
		put16(out + 6, (uint16_t)n);
		put16(out + 8, soa && !truncated ? 1 : 0);
		put16(out + 10, q->edns ? 1 : 0);
		return (int)w.len;
	}
	return -ENOBUFS;
}

bool dns_name_in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);
	if (n == z)
		return memcmp(name, zone, n) == 0;
	return n > z && name[n - z - 1] == '.' && memcmp(name + n - z, zone, z) == 0;
}

bool dns_name_valid(const char *name)
{
	size_t total = strlen(name);
	if (total == 0 || total > 253)
		return false;
	for (const char *p = name; *p;) {
		size_t l = 0;
		for (; p[l] && p[l] != '.'; l++)
			if (!label_char_plain((uint8_t)p[l]) || (p[l] >= 'A' && p[l] <= 'Z'))
				return false;
		if (l == 0 || l > 63)
			return false;
		p += l;
		if (*p == '.') {
			p++;
			if (!*p)
				return false;
		}
	}
	return true;
}
