/* SPDX-License-Identifier: MIT */
/*
 * The router's HTTP/1.1 parser (see router-http.h for what it accepts). Written for one pass
 * over bytes already in memory: character classes come from tables, lengths are checked
 * before every read, and nothing is copied.
 */
#include "router/router-http.h"

#include <string.h>

/* tchar: the characters of a token (method, header name, coding). */
static const uint8_t tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
	['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* The characters of a header value: HTAB, SP, VCHAR and obs-text. */
static const uint8_t fchar[256] = {
	['\t'] = 1, [' ' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* The characters of a request target: VCHAR. */
static const uint8_t uchar[256] = {
	['!' ... '~'] = 1,
};

/* The characters of a host name (reg-name without percent-encoding and sub-delims). */
static const uint8_t hchar[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* The characters of an IPv6 literal between the brackets. */
static const uint8_t ipchar[256] = {
	[':'] = 1, ['.'] = 1, ['0' ... '9'] = 1, ['A' ... 'F'] = 1, ['a' ... 'f'] = 1,
};

/* The characters of a request id Heroku keeps: alphanumerics, '+', '=', '/' and '-'. */
static const uint8_t ridchar[256] = {
	['+'] = 1, ['='] = 1, ['/'] = 1, ['-'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* Hex digits, as their value plus one (0: not a hex digit). */
static const uint8_t hex1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13,
	['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* p[0..len) equals the lower-case literal lit ignoring case. */
static bool case_eq(const char *p, size_t len, const char *lit, size_t lit_len)
{
	if (len != lit_len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower(p[i]) != lit[i])
			return false;
	return true;
}

#define CASE_EQ(s, lit) case_eq((s).p, (s).len, lit, sizeof(lit) - 1)

bool rstr_case_eq(struct rstr a, struct rstr b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

static enum http_header_id header_id(const char *p, size_t len)
{
	switch (len) {
	case 2:
		return case_eq(p, len, "te", 2) ? HTTP_H_TE : HTTP_H_OTHER;
	case 4:
		return case_eq(p, len, "host", 4) ? HTTP_H_HOST : HTTP_H_OTHER;
	case 6:
		return case_eq(p, len, "expect", 6) ? HTTP_H_EXPECT : HTTP_H_OTHER;
	case 7:
		return case_eq(p, len, "upgrade", 7) ? HTTP_H_UPGRADE : HTTP_H_OTHER;
	case 10:
		if (case_eq(p, len, "connection", 10))
			return HTTP_H_CONNECTION;
		return case_eq(p, len, "keep-alive", 10) ? HTTP_H_KEEP_ALIVE : HTTP_H_OTHER;
	case 12:
		return case_eq(p, len, "x-request-id", 12) ? HTTP_H_X_REQUEST_ID : HTTP_H_OTHER;
	case 14:
		return case_eq(p, len, "content-length", 14) ? HTTP_H_CONTENT_LENGTH : HTTP_H_OTHER;
	case 15:
		if (case_eq(p, len, "x-forwarded-for", 15))
			return HTTP_H_X_FORWARDED_FOR;
		return case_eq(p, len, "x-request-start", 15) ? HTTP_H_X_REQUEST_START : HTTP_H_OTHER;
	case 16:
		if (case_eq(p, len, "proxy-connection", 16))
			return HTTP_H_PROXY_CONNECTION;
		return case_eq(p, len, "x-forwarded-port", 16) ? HTTP_H_X_FORWARDED_PORT : HTTP_H_OTHER;
	case 17:
		if (case_eq(p, len, "transfer-encoding", 17))
			return HTTP_H_TRANSFER_ENCODING;
		return case_eq(p, len, "x-forwarded-proto", 17) ? HTTP_H_X_FORWARDED_PROTO : HTTP_H_OTHER;
	}
	return HTTP_H_OTHER;
}

int http_head_scan(const char *buf, size_t len, size_t *scanned)
{
	size_t i = *scanned;
	if (i == 0 && len > 0 && !tchar[(uint8_t)buf[0]])
		return 1;
	while (i < len) {
		const char *lf = memchr(buf + i, '\n', len - i);
		if (!lf)
			break;
		size_t at = (size_t)(lf - buf);
		*scanned = at + 1;
		if (at == 0 || buf[at - 1] != '\r')
			return 1; /* a bare LF: malformed, let the parser say so */
		if (at >= 3 && buf[at - 2] == '\n' && buf[at - 3] == '\r')
			return 1;
		i = at + 1;
	}
	*scanned = len;
	return 0;
}

/*
 * Reads the header lines from p up to and including the empty line. Returns the number of
 * headers (>= 0) with *ret_end after the empty line, -1 when more bytes are needed, -2 when
 * malformed, -3 when there are more than max headers.
 */
static int parse_headers(const char **pp, const char *end, struct http_header *headers, size_t max)
{
	const char *p = *pp;
	size_t n = 0;
	for (;;) {
		if (p == end)
			return -1;
		if (*p == '\r') {
			if (p + 1 == end)
				return -1;
			if (p[1] != '\n')
				return -2;
			*pp = p + 2;
			return (int)n;
		}
		const char *name = p;
		while (p < end && tchar[(uint8_t)*p])
			p++;
		if (p == end)
			return -1;
		/* Whitespace before the colon, an obsolete line folding, anything but a token. */
		if (*p != ':' || p == name)
			return -2;
		size_t name_len = (size_t)(p - name);
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *value = p;
		while (p < end && fchar[(uint8_t)*p])
			p++;
		if (p == end)
			return -1;
		if (*p != '\r')
			return -2; /* NUL, a bare LF or another control character */
		if (p + 1 == end)
			return -1;
		if (p[1] != '\n')
			return -2; /* a bare CR */
		const char *value_end = p;
		while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
			value_end--;
		if (n == max)
			return -3;
		headers[n] = (struct http_header){
			.name = { name, name_len },
			.value = { value, (size_t)(value_end - value) },
			.line = name,
			.line_len = (uint32_t)(p + 2 - name),
			.id = (uint8_t)header_id(name, name_len),
		};
		n++;
		p += 2;
	}
}

/*
 * Walks the comma-separated list of a header value (RFC 9110's #element: empty elements and
 * whitespace around commas allowed). Returns 1 with the next element in *ret, 0 at the end,
 * -1 when an element is not a token.
 */
static int list_next(struct rstr *rest, struct rstr *ret)
{
	const char *p = rest->p, *end = rest->p + rest->len;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end) {
			rest->p = p;
			rest->len = 0;
			return 0;
		}
		const char *t = p;
		while (p < end && tchar[(uint8_t)*p])
			p++;
		if (p == t)
			return -1;
		*ret = (struct rstr){ t, (size_t)(p - t) };
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != ',')
			return -1;
		rest->p = p;
		rest->len = (size_t)(end - p);
		return 1;
	}
}

/* Content-Length: digits only, at most 18 of them (no overflow, no sign, no list). */
static int parse_length(struct rstr v, uint64_t *ret)
{
	if (v.len == 0 || v.len > 18)
		return -1;
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	*ret = n;
	return 0;
}

/*
 * The Connection headers: their options, and the headers they name marked hop-by-hop.
 * Returns -1 when a token is malformed or names a header that carries framing.
 */
static int connection_options(struct http_header *headers, size_t n, bool *close, bool *keep_alive, bool *upgrade)
{
	for (size_t i = 0; i < n; i++) {
		if (headers[i].id != HTTP_H_CONNECTION)
			continue;
		headers[i].hop = true;
		struct rstr rest = headers[i].value, tok;
		int r;
		while ((r = list_next(&rest, &tok)) > 0) {
			if (CASE_EQ(tok, "close")) {
				*close = true;
			} else if (CASE_EQ(tok, "keep-alive")) {
				*keep_alive = true;
			} else if (CASE_EQ(tok, "upgrade")) {
				*upgrade = true;
			} else {
				enum http_header_id id = header_id(tok.p, tok.len);
				if (id == HTTP_H_HOST || id == HTTP_H_CONTENT_LENGTH || id == HTTP_H_TRANSFER_ENCODING)
					return -1;
				for (size_t k = 0; k < n; k++)
					if (rstr_case_eq(headers[k].name, tok))
						headers[k].hop = true;
			}
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Host: a name, an IPv4 address or a bracketed IPv6 literal, and an optional port. */
static int parse_host(struct rstr v, struct rstr *ret)
{
	const char *p = v.p, *end = v.p + v.len;
	if (p == end)
		return -1;
	if (*p == '[') {
		p++;
		while (p < end && ipchar[(uint8_t)*p])
			p++;
		if (p == end || *p != ']' || p == v.p + 1)
			return -1;
		p++;
	} else {
		while (p < end && hchar[(uint8_t)*p])
			p++;
		if (p == v.p)
			return -1;
	}
	ret->p = v.p;
	ret->len = (size_t)(p - v.p);
	if (p == end)
		return 0;
	if (*p != ':')
		return -1;
	p++;
	size_t digits = (size_t)(end - p);
	if (digits == 0 || digits > 5)
		return -1;
	for (; p < end; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return 0;
}

static bool valid_request_id(struct rstr v)
{
	if (v.len < HTTP_REQUEST_ID_MIN || v.len > HTTP_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!ridchar[(uint8_t)v.p[i]])
			return false;
	return true;
}

/*
 * The request target: origin-form, asterisk-form for OPTIONS, or absolute-form whose
 * authority must be the Host header's value. Fills req->path.
 */
static int parse_target(struct http_request *req, struct rstr host_value)
{
	struct rstr t = req->target;
	if (t.p[0] == '/') {
		req->path = t;
		return 0;
	}
	if (t.len == 1 && t.p[0] == '*')
		return CASE_EQ(req->method, "options") ? (req->path = t, 0) : -1;
	size_t skip;
	if (t.len > 7 && case_eq(t.p, 7, "http://", 7))
		skip = 7;
	else if (t.len > 8 && case_eq(t.p, 8, "https://", 8))
		skip = 8;
	else
		return -1;
	const char *a = t.p + skip, *end = t.p + t.len, *p = a;
	while (p < end && *p != '/' && *p != '?' && *p != '#')
		p++;
	struct rstr authority = { a, (size_t)(p - a) };
	if (!rstr_case_eq(authority, host_value) || memchr(a, '@', authority.len))
		return -1;
	if (p == end) {
		req->path = RSTR_LIT("/");
		return 0;
	}
	if (*p != '/')
		return -1;
	req->path = (struct rstr){ p, (size_t)(end - p) };
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req, struct http_header *headers,
		       size_t max)
{
	*req = (struct http_request){ .headers = headers };
	const char *p = buf, *end = buf + len;

	/* method SP request-target SP HTTP-version CRLF */
	const char *m = p;
	while (p < end && tchar[(uint8_t)*p])
		p++;
	if (p - m > 32)
		return -400;
	if (p == end)
		return 0;
	if (*p != ' ' || p == m)
		return -400;
	req->method = (struct rstr){ m, (size_t)(p - m) };
	const char *t = ++p;
	while (p < end && uchar[(uint8_t)*p])
		p++;
	if (p - buf > HTTP_REQUEST_LINE_MAX)
		return -414;
	if (p == end)
		return 0;
	if (*p != ' ' || p == t)
		return -400;
	req->target = (struct rstr){ t, (size_t)(p - t) };
	p++;
	static const char version[] = "HTTP/1.";
	size_t avail = (size_t)(end - p);
	if (avail < 10) {
		/* Refuse early what cannot become a version. */
		if (memcmp(p, version, avail < 7 ? avail : 7) != 0)
			return -400;
		return p - buf + 10 > HTTP_REQUEST_LINE_MAX + 2 ? -414 : 0;
	}
	if (memcmp(p, version, 7) != 0) {
		if (memcmp(p, "HTTP/", 5) == 0 && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9' &&
		    p[8] == '\r')
			return -505;
		return -400;
	}
	if (p[7] != '0' && p[7] != '1')
		return p[7] >= '2' && p[7] <= '9' && p[8] == '\r' ? -505 : -400;
	req->minor = (uint8_t)(p[7] - '0');
	if (p[8] != '\r' || p[9] != '\n')
		return -400;
	p += 10;
	if (p - buf - 2 > HTTP_REQUEST_LINE_MAX)
		return -414;
	const char *headers_start = p;

	int n = parse_headers(&p, end, headers, max);
	if (n == -1)
		return end - headers_start > HTTP_HEADER_SECTION_MAX ? -431 : 0;
	if (n == -2)
		return -400;
	if (n == -3 || p - headers_start > HTTP_HEADER_SECTION_MAX + 2)
		return -431;
	req->n_headers = (size_t)n;
	req->head_len = (size_t)(p - buf);

	bool close = false, keep_alive = false, upgrade = false, host_seen = false, cl_seen = false, te_seen = false;
	struct rstr host_value = { 0 };
	if (connection_options(headers, req->n_headers, &close, &keep_alive, &upgrade) < 0)
		return -400;
	for (size_t i = 0; i < req->n_headers; i++) {
		struct http_header *h = &headers[i];
		switch (h->id) {
		case HTTP_H_HOST:
			if (host_seen || parse_host(h->value, &req->host) < 0)
				return -400;
			host_seen = true;
			host_value = h->value;
			break;
		case HTTP_H_CONTENT_LENGTH:
			if (cl_seen || parse_length(h->value, &req->content_length) < 0)
				return -400;
			cl_seen = true;
			break;
		case HTTP_H_TRANSFER_ENCODING:
			if (te_seen || !CASE_EQ(h->value, "chunked"))
				return -400;
			te_seen = true;
			break;
		case HTTP_H_KEEP_ALIVE:
		case HTTP_H_PROXY_CONNECTION:
		case HTTP_H_TE:
			h->hop = true;
			break;
		case HTTP_H_UPGRADE:
			if (req->upgrade_value.p)
				return -400;
			req->upgrade_value = h->value;
			h->hop = true;
			break;
		case HTTP_H_EXPECT:
			if (!CASE_EQ(h->value, "100-continue"))
				return -417;
			req->expect_continue = true;
			break;
		case HTTP_H_X_REQUEST_ID:
			if (!req->request_id.p && valid_request_id(h->value))
				req->request_id = h->value;
			break;
		}
	}
	if (!host_seen || (cl_seen && te_seen) || (te_seen && req->minor == 0))
		return -400;
	if (CASE_EQ(req->method, "connect"))
		return -405;
	if (parse_target(req, host_value) < 0)
		return -400;
	req->is_head = CASE_EQ(req->method, "head");
	req->body = te_seen ? HTTP_BODY_CHUNKED : cl_seen && req->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	req->keep_alive = req->minor == 1 ? !close : keep_alive && !close;
	req->upgrade = upgrade && req->upgrade_value.len > 0 && req->minor == 1;
	if (req->upgrade && req->body != HTTP_BODY_NONE)
		return -400; /* what follows the head must be the new protocol's, or nothing */
	return (int)req->head_len;
}

int http_parse_response(const char *buf, size_t len, bool head_request, struct http_response *resp,
			struct http_header *headers, size_t max)
{
	*resp = (struct http_response){ .headers = headers };
	const char *p = buf, *end = buf + len;
	if (len > HTTP_RESPONSE_HEAD_MAX)
		end = buf + HTTP_RESPONSE_HEAD_MAX;

	/* HTTP-version SP 3DIGIT [SP reason-phrase] CRLF */
	if (end - p < 13) {
		size_t avail = (size_t)(end - p);
		return memcmp(p, "HTTP/1.", avail < 7 ? avail : 7) == 0 ? 0 : -502;
	}
	if (memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return -502;
	resp->minor = (uint8_t)(p[7] - '0');
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return -502;
	resp->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	p += 12;
	if (*p == ' ') {
		p++;
		while (p < end && fchar[(uint8_t)*p])
			p++;
	}
	if (p == end)
		return len > HTTP_RESPONSE_HEAD_MAX ? -502 : 0;
	if (*p != '\r')
		return -502;
	if (p + 1 == end)
		return len > HTTP_RESPONSE_HEAD_MAX ? -502 : 0;
	if (p[1] != '\n')
		return -502;
	p += 2;

	int n = parse_headers(&p, end, headers, max);
	if (n == -1)
		return len > HTTP_RESPONSE_HEAD_MAX ? -502 : 0;
	if (n < 0)
		return -502;
	resp->n_headers = (size_t)n;
	resp->head_len = (size_t)(p - buf);

	bool close = false, keep_alive = false, upgrade = false, cl_seen = false, te_seen = false, chunked = false;
	if (connection_options(headers, resp->n_headers, &close, &keep_alive, &upgrade) < 0)
		return -502;
	for (size_t i = 0; i < resp->n_headers; i++) {
		struct http_header *h = &headers[i];
		switch (h->id) {
		case HTTP_H_CONTENT_LENGTH:
			if (cl_seen || parse_length(h->value, &resp->content_length) < 0)
				return -502;
			cl_seen = true;
			break;
		case HTTP_H_TRANSFER_ENCODING: {
			if (te_seen)
				return -502;
			te_seen = true;
			struct rstr rest = h->value, tok = { 0 };
			int r;
			while ((r = list_next(&rest, &tok)) > 0)
				chunked = CASE_EQ(tok, "chunked");
			if (r < 0 || !tok.p)
				return -502;
			break;
		}
		case HTTP_H_KEEP_ALIVE:
		case HTTP_H_PROXY_CONNECTION:
		case HTTP_H_UPGRADE:
			h->hop = true;
			break;
		}
	}
	if (cl_seen && te_seen)
		return -502;
	if (resp->status == 101) {
		/* The client needs the Connection and Upgrade headers of a switch. */
		resp->upgrade = true;
		for (size_t i = 0; i < resp->n_headers; i++)
			if (headers[i].id == HTTP_H_CONNECTION || headers[i].id == HTTP_H_UPGRADE)
				headers[i].hop = false;
	}
	if (resp->status < 200 || resp->status == 204 || resp->status == 304 || head_request)
		resp->body = HTTP_BODY_NONE;
	else if (te_seen)
		resp->body = chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
	else if (cl_seen)
		resp->body = resp->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	else
		resp->body = HTTP_BODY_CLOSE;
	resp->keep_alive = resp->body != HTTP_BODY_CLOSE && !resp->upgrade &&
			   (resp->minor == 1 ? !close : keep_alive && !close);
	return (int)resp->head_len;
}

/* ---- chunked bodies -------------------------------------------------------------------- */

enum {
	CH_SIZE,        /* the first digit of a chunk size */
	CH_SIZE_MORE,   /* more digits, an extension, or CR */
	CH_SIZE_BWS,    /* whitespace after the size: more of it, or ';' */
	CH_EXT,         /* a chunk extension, up to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,     /* the start of a trailer line, or the CR of the empty line */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
};

#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILER_MAX 8192

ssize_t http_chunked_scan(struct http_chunked *c, const char *p, size_t n, bool *done)
{
	size_t i = 0;
	*done = c->state == CH_DONE;
	while (i < n && c->state != CH_DONE) {
		uint8_t ch = (uint8_t)p[i];
		if (c->state == CH_DATA) {
			size_t take = n - i < c->remaining ? n - i : (size_t)c->remaining;
			c->remaining -= take;
			i += take;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		if (c->state <= CH_EXT && ++c->line_len > CHUNK_LINE_MAX)
			return -1;
		if (c->state >= CH_TRAILER && c->state <= CH_TRAILER_LF && ++c->trailer_len > CHUNK_TRAILER_MAX)
			return -1;
		i++;
		switch (c->state) {
		case CH_SIZE:
			if (!hex1[ch])
				return -1;
			c->remaining = (uint64_t)(hex1[ch] - 1);
			c->digits = 1;
			c->state = CH_SIZE_MORE;
			break;
		case CH_SIZE_MORE:
			if (hex1[ch]) {
				if (++c->digits > 16)
					return -1;
				c->remaining = c->remaining << 4 | (uint64_t)(hex1[ch] - 1);
			} else if (ch == ';') {
				c->state = CH_EXT;
			} else if (ch == ' ' || ch == '\t') {
				c->state = CH_SIZE_BWS;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				return -1;
			}
			break;
		case CH_SIZE_BWS:
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch != ' ' && ch != '\t')
				return -1;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!fchar[ch])
				return -1;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
			c->line_len = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				return -1;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (tchar[ch])
				c->state = CH_TRAILER_NAME;
			else
				return -1;
			break;
		case CH_TRAILER_NAME:
			if (ch == ':')
				c->state = CH_TRAILER_VALUE;
			else if (!tchar[ch])
				return -1;
			break;
		case CH_TRAILER_VALUE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!fchar[ch])
				return -1;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_DONE;
			*done = true;
			break;
		}
	}
	return (ssize_t)i;
}
