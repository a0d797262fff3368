/* SPDX-License-Identifier: MIT */
#include "router/router-table.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

const struct router_timeouts router_timeouts_default = {
	.connect_ms = 5000,
	.response_ms = 30000,
	.idle_ms = 55000,
	.header_ms = 30000,
	.keepalive_ms = 90000,
};

int router_timeouts_parse(const char *spec, struct router_timeouts *ret, struct error *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "connect", offsetof(struct router_timeouts, connect_ms) },
		{ "response", offsetof(struct router_timeouts, response_ms) },
		{ "idle", offsetof(struct router_timeouts, idle_ms) },
		{ "header", offsetof(struct router_timeouts, header_ms) },
		{ "keepalive", offsetof(struct router_timeouts, keepalive_ms) },
	};
	*ret = router_timeouts_default;
	for (const char *p = spec; p && *p;) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		size_t i = 0;
		for (; eq && i < ARRAY_SIZE(fields); i++)
			if (strlen(fields[i].name) == (size_t)(eq - p) && strncmp(p, fields[i].name, (size_t)(eq - p)) == 0)
				break;
		char *end;
		double s = eq ? strtod(eq + 1, &end) : 0;
		if (!eq || i == ARRAY_SIZE(fields) || end != p + len || !(s >= 0.001 && s <= 86400))
			return error_set(err, -EINVAL,
					 "router timeouts '%s' are invalid: NAME=SECONDS,... with connect, response, idle, header "
					 "and keepalive",
					 spec);
		*(uint32_t *)((char *)ret + fields[i].offset) = (uint32_t)(s * 1000 + 0.5);
		p += len + (p[len] == ',');
	}
	return 0;
}

static uint32_t hash_name(const char *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 16777619u;
	}
	return h;
}

static void table_free(struct route_table *t)
{
	free(t->apps);
	free(t->dynos);
	free(t->slots);
	free(t->names);
	free(t->trusted);
	free(t);
}

struct route_table *route_table_ref(struct route_table *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void route_table_unref(struct route_table *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		table_free(t);
}

struct route_table *route_table_empty(void)
{
	struct route_table *t = xcalloc(1, sizeof(*t));
	atomic_init(&t->refs, 1);
	t->timeouts = router_timeouts_default;
	t->n_slots = 1;
	t->slots = xcalloc(1, sizeof(*t->slots));
	t->trust_all = true;
	return t;
}

/* A domain as the table keeps it: lower case, 1 to 253 characters of a host name, maybe "*." first. */
static int domain_normalize(const char *in, char *out, size_t *ret_len)
{
	size_t len = strlen(in);
	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > ROUTE_HOST_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			  (c == '*' && i == 0 && len > 2 && in[1] == '.');
		if (!ok)
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	*ret_len = len;
	return 0;
}

static bool slot_insert(struct route_table *t, const char *name, size_t len, uint32_t app)
{
	uint32_t h = hash_name(name, len);
	for (size_t i = h & (t->n_slots - 1);; i = (i + 1) & (t->n_slots - 1)) {
		struct route_domain *s = &t->slots[i];
		if (!s->name) {
			*s = (struct route_domain){ .name = name, .len = len, .hash = h, .app = app };
			return true;
		}
		if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
			return false; /* the first app to claim a name keeps it */
	}
}

static int parse_timeouts(json_t *j, struct router_timeouts *t, struct error *err)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{ "connect_ms", offsetof(struct router_timeouts, connect_ms) },
		{ "response_ms", offsetof(struct router_timeouts, response_ms) },
		{ "idle_ms", offsetof(struct router_timeouts, idle_ms) },
		{ "header_ms", offsetof(struct router_timeouts, header_ms) },
		{ "keepalive_ms", offsetof(struct router_timeouts, keepalive_ms) },
	};
	*t = router_timeouts_default;
	if (!j)
		return 0;
	if (!json_is_object(j))
		return error_set(err, -EINVAL, "'timeouts' is not an object");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		json_t *v = json_object_get(j, fields[i].key);
		if (!v)
			continue;
		json_int_t ms = json_integer_value(v);
		if (!json_is_integer(v) || ms < 1 || ms > 24 * 3600 * 1000)
			return error_set(err, -EINVAL, "timeout '%s' is invalid", fields[i].key);
		*(uint32_t *)((char *)t + fields[i].offset) = (uint32_t)ms;
	}
	return 0;
}

static int parse_trusted(json_t *j, struct route_table *t, struct error *err)
{
	t->trust_all = true;
	if (!j)
		return 0;
	if (!json_is_array(j) || json_array_size(j) > RULESET_INBOUND_MAX)
		return error_set(err, -EINVAL, "'trusted' is not a list of at most %d rules", RULESET_INBOUND_MAX);
	t->trusted = xcalloc(json_array_size(j) + 1, sizeof(*t->trusted));
	size_t i;
	json_t *rule;
	json_array_foreach(j, i, rule)
	{
		int r = inbound_rule_parse(i + 1, json_string_value(json_object_get(rule, "action")),
					   json_string_value(json_object_get(rule, "source")), &t->trusted[i], err);
		if (r < 0)
			return r;
	}
	t->n_trusted = json_array_size(j);
	t->trust_all = inbound_is_open(t->trusted, t->n_trusted);
	return 0;
}

bool route_table_trusts(const struct route_table *t, uint32_t addr)
{
	return t->trust_all || inbound_allows(t->trusted, t->n_trusted, ntohl(addr));
}

int route_table_parse(const char *text, size_t len, struct route_table **ret, struct error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!root)
		return error_set(err, -EINVAL, "routing table is not JSON: %s (line %d)", jerr.text, jerr.line);
	struct route_table *t = xcalloc(1, sizeof(*t));
	atomic_init(&t->refs, 1);
	int r = 0;
	json_t *apps = json_object_get(root, "apps");
	const char *space = json_string_value(json_object_get(root, "space"));
	if (!json_is_object(root) || !json_is_array(apps)) {
		r = error_set(err, -EINVAL, "routing table has no 'apps' list");
		goto out;
	}
	snprintf(t->space, sizeof(t->space), "%s", space ? space : "");
	r = parse_timeouts(json_object_get(root, "timeouts"), &t->timeouts, err);
	if (r < 0)
		goto out;
	r = parse_trusted(json_object_get(root, "trusted"), t, err);
	if (r < 0)
		goto out;

	size_t n_domains = 0, names_size = 0, n_dynos = 0, i;
	json_t *app;
	json_array_foreach(apps, i, app)
	{
		json_t *domains = json_object_get(app, "domains"), *dynos = json_object_get(app, "dynos"), *d;
		size_t k;
		if (!json_is_object(app) || !json_is_array(domains) || (dynos && !json_is_array(dynos)) ||
		    !json_is_string(json_object_get(app, "name"))) {
			r = error_set(err, -EINVAL, "app %zu of the routing table is malformed", i);
			goto out;
		}
		json_array_foreach(domains, k, d)
		{
			if (!json_is_string(d)) {
				r = error_set(err, -EINVAL, "a domain of app %zu is not a string", i);
				goto out;
			}
			names_size += strlen(json_string_value(d)) + 1;
			n_domains++;
		}
		n_dynos += json_array_size(dynos);
	}
	t->n_apps = json_array_size(apps);
	t->apps = xcalloc(t->n_apps ? t->n_apps : 1, sizeof(*t->apps));
	t->dynos = xcalloc(n_dynos ? n_dynos : 1, sizeof(*t->dynos));
	t->names = xmalloc(names_size ? names_size : 1);
	for (t->n_slots = 4; t->n_slots < n_domains * 2; t->n_slots *= 2)
		;
	t->slots = xcalloc(t->n_slots, sizeof(*t->slots));

	char *names = t->names;
	json_array_foreach(apps, i, app)
	{
		struct route_app *a = &t->apps[i];
		snprintf(a->name, sizeof(a->name), "%s", json_string_value(json_object_get(app, "name")));
		snprintf(a->id, sizeof(a->id), "%s", json_string_value(json_object_get(app, "id")) ?: "");
		a->maintenance = json_is_true(json_object_get(app, "maintenance"));
		a->internal = json_is_true(json_object_get(app, "internal"));
		json_int_t web = json_integer_value(json_object_get(app, "web"));
		a->web = web > 0 ? (unsigned)web : 0;
		a->first_dyno = t->n_dynos;
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(app, "dynos"), k, d)
		{
			struct route_dyno *dy = &t->dynos[t->n_dynos];
			const char *id = json_string_value(json_object_get(d, "id"));
			const char *name = json_string_value(json_object_get(d, "name"));
			const char *address = json_string_value(json_object_get(d, "address"));
			json_int_t port = json_integer_value(json_object_get(d, "port"));
			dy->addr.sin_family = AF_INET;
			if (!id || !name || !address || port < 1 || port > 65535 ||
			    inet_pton(AF_INET, address, &dy->addr.sin_addr) != 1) {
				r = error_set(err, -EINVAL, "a dyno of app '%s' is malformed", a->name);
				goto out;
			}
			dy->addr.sin_port = htons((uint16_t)port);
			snprintf(dy->id, sizeof(dy->id), "%s", id);
			snprintf(dy->name, sizeof(dy->name), "%s", name);
			t->n_dynos++;
		}
		a->n_dynos = t->n_dynos - a->first_dyno;
		json_array_foreach(json_object_get(app, "domains"), k, d)
		{
			size_t dlen;
			if (domain_normalize(json_string_value(d), names, &dlen) < 0) {
				r = error_set(err, -EINVAL, "domain '%s' of app '%s' is invalid", json_string_value(d), a->name);
				goto out;
			}
			if (slot_insert(t, names, dlen, (uint32_t)i))
				names += dlen + 1;
		}
	}
out:
	json_decref(root);
	if (r < 0) {
		table_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static const struct route_domain *lookup(const struct route_table *t, const char *name, size_t len)
{
	uint32_t h = hash_name(name, len);
	for (size_t i = h & (t->n_slots - 1);; i = (i + 1) & (t->n_slots - 1)) {
		const struct route_domain *s = &t->slots[i];
		if (!s->name)
			return NULL;
		if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
			return s;
	}
}

const struct route_app *route_table_find(const struct route_table *t, const char *host, size_t len, bool internal)
{
	char name[ROUTE_HOST_MAX + 2];
	if (len && host[len - 1] == '.')
		len--;
	if (len == 0 || len > ROUTE_HOST_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];
		name[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	const struct route_domain *d = lookup(t, name, len);
	if (!d) {
		/* "*.example.org" for "a.example.org": the first label becomes the star. */
		const char *dot = memchr(name, '.', len);
		if (dot && dot > name) {
			size_t rest = len - (size_t)(dot - name);
			name[0] = '*';
			memmove(name + 1, dot, rest);
			d = lookup(t, name, rest + 1);
		}
	}
	if (!d)
		return NULL;
	const struct route_app *a = &t->apps[d->app];
	return a->internal && !internal ? NULL : a;
}
