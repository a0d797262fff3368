/* SPDX-License-Identifier: MIT */
#include "addons/addon-plan.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/macro.h"

const struct addon_service addon_services[] = {
	{ "622b3361-ee51-5dc8-8e67-2a1a3676f6df", "heroku-postgresql", "postgresql", "Heroku Postgres", ADDON_POSTGRESQL,
	  "DATABASE", "HEROKU_POSTGRESQL", 5432 },
	{ "b25da779-9c92-5189-8d2d-51d386991a59", "heroku-redis", "redis", "Heroku Key-Value Store", ADDON_REDIS, "REDIS",
	  "HEROKU_REDIS", 6379 },
};
const size_t addon_services_count = ARRAY_SIZE(addon_services);

#define PG (&addon_services[0])
#define KV (&addon_services[1])

/* Heroku's published figures: memory, storage and connections (PostgreSQL), memory and clients (Redis). */
const struct addon_plan addon_plans[] = {
	{ "042af3dc-83cf-5703-a929-2e73d9fd6c51", PG, "essential-0", 512, 1, 20, 0, false },
	{ "fb0630bb-c791-56c6-9e8e-5da1f5ce7c9e", PG, "essential-1", 512, 10, 20, 0, false },
	{ "cf2af573-8a33-5356-bbc9-57fc3a202a7e", PG, "essential-2", 1024, 32, 40, 0, false },
	{ "b3ecb05b-cedc-59a2-8bd6-612377dacbf8", PG, "standard-0", 4096, 64, 120, 0, false },
	{ "1e141688-f92c-52c5-bac8-157813887033", PG, "standard-1", 4096, 128, 200, 0, false },
	{ "726621f6-cbbc-5c20-9e3d-eb0566838421", PG, "standard-2", 8192, 256, 400, 0, false },
	{ "178dc8b9-b867-596c-9737-eb6709bf3efc", PG, "standard-3", 15360, 512, 500, 0, false },
	{ "a694df3e-ba03-5b47-a6df-25cea8944c08", PG, "standard-4", 30720, 768, 500, 0, false },
	{ "62e04fd5-0434-5fad-85d4-be3432ffa5e2", PG, "premium-0", 4096, 64, 120, 0, true },
	{ "0dcb5b3a-af30-535b-8998-b91a0517d111", PG, "premium-1", 4096, 128, 200, 0, true },
	{ "86c52a98-bf28-5bf3-912c-aab77ea701fd", PG, "premium-2", 8192, 256, 400, 0, true },
	{ "11ba7165-5f21-5bbb-9b23-8a95c70f4aec", PG, "premium-3", 15360, 512, 500, 0, true },
	{ "40406c3a-7aa2-5d30-91b6-935e9c5ae292", PG, "premium-4", 30720, 768, 500, 0, true },
	{ "68caa420-0181-511a-84d8-e033faed69aa", KV, "mini", 64, 0, 20, 25, false },
	{ "3fecc892-b58b-5990-bb75-d506c0a4845a", KV, "premium-0", 128, 0, 40, 50, true },
	{ "57599460-f78e-5ce0-97e6-f9d0e171198a", KV, "premium-1", 256, 0, 80, 100, true },
	{ "d502313c-fba0-569f-b047-e4990aeac537", KV, "premium-2", 512, 0, 200, 250, true },
	{ "4d8eea63-310f-5b29-bc65-e0f03bfa8541", KV, "premium-3", 1024, 0, 400, 500, true },
	{ "2a2ef728-058f-5384-99f1-ae451fa0c427", KV, "premium-4", 1536, 0, 1000, 750, true },
	{ "f99005a7-ff55-59d0-ba6b-10ab1057728e", KV, "premium-5", 2048, 0, 1000, 1024, true },
};
const size_t addon_plans_count = ARRAY_SIZE(addon_plans);

/* What "heroku-postgresql" alone means. */
static const char *const default_plans[] = { "essential-0", "mini" };

const struct addon_service *addon_service_find(const char *ref)
{
	for (size_t i = 0; ref && i < addon_services_count; i++) {
		const struct addon_service *s = &addon_services[i];
		if (strcasecmp(ref, s->name) == 0 || strcasecmp(ref, s->alias) == 0 || strcasecmp(ref, s->id) == 0)
			return s;
	}
	return NULL;
}

static const struct addon_plan *plan_in(const struct addon_service *s, const char *name)
{
	for (size_t i = 0; i < addon_plans_count; i++)
		if (addon_plans[i].service == s && strcasecmp(addon_plans[i].name, name) == 0)
			return &addon_plans[i];
	return NULL;
}

int addon_plan_find(const char *ref, const struct addon_service *within, const struct addon_plan **ret,
		    struct error *err)
{
	if (!ref || !*ref)
		return error_set(err, -EINVAL, "plan must not be empty");
	for (size_t i = 0; i < addon_plans_count; i++)
		if (strcasecmp(ref, addon_plans[i].id) == 0 && (!within || addon_plans[i].service == within)) {
			*ret = &addon_plans[i];
			return 0;
		}
	const char *colon = strchr(ref, ':');
	char service_name[64];
	const char *plan_name;
	const struct addon_service *s = within;
	if (colon) {
		snprintf(service_name, sizeof(service_name), "%.*s", (int)(colon - ref), ref);
		s = addon_service_find(service_name);
		if (!s || (within && s != within))
			return error_set(err, -ENOENT, "add-on service '%s' not found", service_name);
		plan_name = colon + 1;
	} else if (!within && (s = addon_service_find(ref))) {
		plan_name = default_plans[s->kind];
	} else if (!within) {
		return error_set(err, -ENOENT, "add-on service '%s' not found", ref);
	} else {
		plan_name = ref;
	}
	const struct addon_plan *p = plan_in(s, plan_name);
	if (!p)
		return error_set(err, -ENOENT, "plan '%s' of add-on service '%s' not found", plan_name, s->name);
	*ret = p;
	return 0;
}

void addon_plan_full_name(const struct addon_plan *p, char *ret, size_t size)
{
	snprintf(ret, size, "%s:%s", p->service->name, p->name);
}

void addon_plan_human_name(const struct addon_plan *p, char *ret, size_t size)
{
	/* "standard-4" -> "Standard 4" */
	snprintf(ret, size, "%s", p->name);
	if (size && ret[0])
		ret[0] = (char)toupper((unsigned char)ret[0]);
	for (char *c = ret; *c; c++)
		if (*c == '-')
			*c = ' ';
}

unsigned long addon_shared_buffers_mb(unsigned long memory_mb, unsigned long host_mb)
{
	unsigned long mb = memory_mb / 4;
	if (host_mb && mb > host_mb / 16)
		mb = host_mb / 16;
	return mb < 16 ? 16 : mb;
}

/* Shapes, as Heroku's add-on names have them. */
static const char *const adjectives[] = {
	"angular",  "animate",    "asymmetrical", "clean",   "concentric", "contoured",   "convex",      "crystalline",
	"cubic",    "curly",      "curved",       "deep",    "defined",    "dimensional", "elliptical",  "encircled",
	"flat",     "fluffy",     "graceful",     "horizontal", "infinite", "lively",     "octagonal",   "opaque",
	"parallel", "perpendicular", "polished",  "regular", "reticulated", "rigid",      "round",       "rugged",
	"shallow",  "shaped",     "sinuous",      "slippery", "solid",     "spherical",   "symmetrical", "tetrahedral",
	"transparent", "triangular", "vertical",
};

void addon_name_generate(const struct addon_service *s, unsigned long r, char *ret, size_t size)
{
	snprintf(ret, size, "%s-%s-%lu", s->alias, adjectives[r % ARRAY_SIZE(adjectives)],
		 (r / ARRAY_SIZE(adjectives)) % 9999 + 1);
}

/* The colors Heroku names later databases with. */
static const char *const colors[] = {
	"AMBER",  "AQUA",  "BLACK",  "BLUE",   "BRONZE", "BROWN",  "CHARCOAL", "CHESTNUT", "COBALT",
	"COPPER", "CORAL", "CRIMSON", "CYAN",  "GOLD",   "GRAY",   "GREEN",    "IVORY",    "JADE",
	"LIME",   "MAROON", "MAUVE", "NAVY",   "OLIVE",  "ONYX",   "ORANGE",   "PINK",     "PURPLE",
	"RED",    "ROSE",  "SILVER", "TEAL",   "TOPAZ",  "VIOLET", "WHITE",    "YELLOW",
};

static bool taken_has(const char *const *taken, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(taken[i], name) == 0)
			return true;
	return false;
}

int addon_attachment_name(const struct addon_service *s, const char *const *taken, size_t n, unsigned start,
			  char *ret, size_t size, struct error *err)
{
	if (!taken_has(taken, n, s->attachment)) {
		snprintf(ret, size, "%s", s->attachment);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(colors); i++) {
		snprintf(ret, size, "%s_%s", s->color_prefix, colors[(start + i) % ARRAY_SIZE(colors)]);
		if (!taken_has(taken, n, ret))
			return 0;
	}
	return error_set(err, -ENOSPC, "every attachment name of %s is taken", s->human_name);
}

int addon_attachment_name_check(const char *name, struct error *err)
{
	size_t len = name ? strlen(name) : 0;
	bool ok = len > 0 && len <= 64 && isupper((unsigned char)name[0]);
	for (size_t i = 0; ok && i < len; i++)
		ok = isupper((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_';
	if (!ok)
		return error_set(err, -EINVAL,
				 "attachment name '%s' is invalid: it must start with a letter and hold only upper-case "
				 "letters, digits and underscores (at most 64)",
				 name ? name : "");
	if (len >= 4 && strcmp(name + len - 4, "_URL") == 0)
		return error_set(err, -EINVAL, "attachment name '%s' is invalid: leave out the '_URL', it is added", name);
	return 0;
}
