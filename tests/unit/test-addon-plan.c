/* SPDX-License-Identifier: MIT */
/* Unit tests of addons/addon-plan: the catalog, plan lookup, names and attachment names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <string.h>

#include "addons/addon-plan.h"
#include "base/id.h"
#include "base/macro.h"

static void test_services_by_name_alias_id(void **state)
{
	const struct addon_service *pg = addon_service_find("heroku-postgresql");
	assert_non_null(pg);
	assert_ptr_equal(addon_service_find("postgresql"), pg);
	assert_ptr_equal(addon_service_find("HEROKU-POSTGRESQL"), pg);
	assert_ptr_equal(addon_service_find(pg->id), pg);
	assert_int_equal(addon_service_find("redis")->kind, ADDON_REDIS);
	assert_null(addon_service_find("mysql"));
	assert_null(addon_service_find(NULL));
}

static void test_plan_lookup(void **state)
{
	const struct addon_plan *p;
	struct error err = { 0 };
	assert_int_equal(addon_plan_find("heroku-postgresql:standard-4", NULL, &p, &err), 0);
	assert_string_equal(p->name, "standard-4");
	assert_int_equal(p->max_connections, 500);
	const struct addon_plan *q;
	assert_int_equal(addon_plan_find("postgresql:standard-4", NULL, &q, &err), 0);
	assert_ptr_equal(p, q);
	assert_int_equal(addon_plan_find(p->id, NULL, &q, &err), 0);
	assert_ptr_equal(p, q);
	assert_int_equal(addon_plan_find("standard-4", p->service, &q, &err), 0);
	assert_ptr_equal(p, q);
	/* A service alone is its default plan. */
	assert_int_equal(addon_plan_find("heroku-redis", NULL, &q, &err), 0);
	assert_string_equal(q->name, "mini");
	assert_int_equal(addon_plan_find("heroku-postgresql:standard-9", NULL, &q, &err), -ENOENT);
	assert_non_null(strstr(err.message, "standard-9"));
	assert_int_equal(addon_plan_find("mysql:small", NULL, &q, &err), -ENOENT);
	assert_int_equal(addon_plan_find("standard-4", NULL, &q, &err), -ENOENT);
	assert_int_equal(addon_plan_find("redis:mini", p->service, &q, &err), -ENOENT);
	assert_int_equal(addon_plan_find("", NULL, &q, &err), -EINVAL);
}

static void test_catalog_is_sound(void **state)
{
	for (size_t i = 0; i < addon_plans_count; i++) {
		const struct addon_plan *p = &addon_plans[i];
		assert_true(id_is_uuid(p->id));
		assert_true(p->memory_mb > 0 && p->max_connections > 0);
		if (p->service->kind == ADDON_REDIS)
			assert_true(p->maxmemory_mb > 0 && p->maxmemory_mb < p->memory_mb);
		else
			assert_true(p->storage_gb > 0);
		for (size_t k = 0; k < i; k++) {
			assert_string_not_equal(p->id, addon_plans[k].id);
			assert_false(p->service == addon_plans[k].service && strcmp(p->name, addon_plans[k].name) == 0);
		}
	}
	char full[96], human[64];
	addon_plan_full_name(&addon_plans[0], full, sizeof(full));
	assert_string_equal(full, "heroku-postgresql:essential-0");
	addon_plan_human_name(&addon_plans[0], human, sizeof(human));
	assert_string_equal(human, "Essential 0");
}

static void test_shared_buffers(void **state)
{
	const struct addon_plan *p;
	assert_int_equal(addon_plan_find("postgresql:standard-4", NULL, &p, NULL), 0);
	assert_int_equal(addon_shared_buffers_mb(p->memory_mb, 1024 * 1024), 30720 / 4);
	assert_int_equal(addon_shared_buffers_mb(p->memory_mb, 16384), 1024); /* a sixteenth of a small host */
	assert_int_equal(addon_shared_buffers_mb(p->memory_mb, 64), 16);      /* never below 16 MB */
}

static void test_names(void **state)
{
	regex_t re;
	assert_int_equal(regcomp(&re, "^postgresql-[a-z]+-[0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	const struct addon_service *pg = addon_service_find("postgresql");
	for (unsigned long r = 0; r < 100000; r += 997) {
		char name[64];
		addon_name_generate(pg, r * 2654435761ul, name, sizeof(name));
		assert_int_equal(regexec(&re, name, 0, NULL, 0), 0);
	}
	regfree(&re);
	char a[64], b[64];
	addon_name_generate(pg, 12345, a, sizeof(a));
	addon_name_generate(pg, 12345, b, sizeof(b));
	assert_string_equal(a, b);
}

static void test_attachment_names(void **state)
{
	const struct addon_service *pg = addon_service_find("postgresql");
	const struct addon_service *kv = addon_service_find("redis");
	char name[64];
	struct error err = { 0 };
	assert_int_equal(addon_attachment_name(pg, NULL, 0, 7, name, sizeof(name), &err), 0);
	assert_string_equal(name, "DATABASE");
	const char *taken[40] = { "DATABASE" };
	assert_int_equal(addon_attachment_name(pg, taken, 1, 0, name, sizeof(name), &err), 0);
	assert_string_equal(name, "HEROKU_POSTGRESQL_AMBER");
	taken[1] = "HEROKU_POSTGRESQL_AMBER";
	assert_int_equal(addon_attachment_name(pg, taken, 2, 0, name, sizeof(name), &err), 0);
	assert_string_equal(name, "HEROKU_POSTGRESQL_AQUA");
	assert_int_equal(addon_attachment_name(kv, taken, 2, 0, name, sizeof(name), &err), 0);
	assert_string_equal(name, "REDIS");
	/* Every color taken: no name is left. */
	static char colors[40][64];
	size_t n = 1;
	for (unsigned s = 0; s < 35; s++) {
		assert_int_equal(addon_attachment_name(pg, taken, n, 0, colors[s], sizeof(colors[s]), &err), 0);
		taken[n++] = colors[s];
	}
	assert_int_equal(addon_attachment_name(pg, taken, n, 0, name, sizeof(name), &err), -ENOSPC);

	assert_int_equal(addon_attachment_name_check("SHARED_DB", &err), 0);
	assert_int_equal(addon_attachment_name_check("DB2", &err), 0);
	assert_int_equal(addon_attachment_name_check("lower", &err), -EINVAL);
	assert_int_equal(addon_attachment_name_check("2DB", &err), -EINVAL);
	assert_int_equal(addon_attachment_name_check("DB-X", &err), -EINVAL);
	assert_int_equal(addon_attachment_name_check("", &err), -EINVAL);
	assert_int_equal(addon_attachment_name_check("MY_URL", &err), -EINVAL);
	assert_non_null(strstr(err.message, "_URL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_services_by_name_alias_id),
		cmocka_unit_test(test_plan_lookup),
		cmocka_unit_test(test_catalog_is_sound),
		cmocka_unit_test(test_shared_buffers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_attachment_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
