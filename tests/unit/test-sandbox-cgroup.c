/* SPDX-License-Identifier: MIT */
/* Unit tests of sandbox/sandbox-cgroup: paths, the settings a spec's limits give, CPU weight
 * conversions, parsing of keyed counter files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox-cgroup.h"
#include "sandbox/sandbox.h"

static void test_paths(void **state)
{
	char *p = sandbox_cgroup_path("/sys/fs/cgroup", SANDBOX_CGROUP_V1, "memory", "d-1");
	assert_string_equal(p, "/sys/fs/cgroup/memory/cove/d-1");
	free(p);
	p = sandbox_cgroup_path("/sys/fs/cgroup", SANDBOX_CGROUP_V1, "pids", NULL);
	assert_string_equal(p, "/sys/fs/cgroup/pids/cove");
	free(p);
	p = sandbox_cgroup_path("/sys/fs/cgroup", SANDBOX_CGROUP_V2, "memory", "d-1");
	assert_string_equal(p, "/sys/fs/cgroup/cove/d-1");
	free(p);
	p = sandbox_cgroup_path("/x", SANDBOX_CGROUP_V2, NULL, NULL);
	assert_string_equal(p, "/x/cove");
	free(p);
}

/* Finds the value of controller/file in settings, or NULL. */
static const char *find(const struct sandbox_cgroup_setting *s, size_t n, const char *file)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].file, file) == 0)
			return s[i].value;
	return NULL;
}

static void test_settings_v1(void **state)
{
	struct sandbox_cgroup_setting s[SANDBOX_CGROUP_SETTINGS_MAX];
	size_t n = sandbox_cgroup_settings(SANDBOX_CGROUP_V1, 512ULL << 20, 256, 50, s);
	assert_int_equal(n, 4);
	/* The limit comes before memsw, which the kernel refuses below the limit. */
	assert_string_equal(s[0].file, "memory.limit_in_bytes");
	assert_string_equal(s[0].controller, "memory");
	assert_string_equal(s[0].value, "536870912");
	assert_false(s[0].optional);
	assert_string_equal(s[1].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(s[1].value, "536870912");
	assert_true(s[1].optional);
	assert_string_equal(find(s, n, "pids.max"), "256");
	assert_string_equal(find(s, n, "cpu.shares"), "512");
	for (size_t i = 0; i < n; i++)
		assert_non_null(s[i].controller);
}

static void test_settings_v1_unlimited(void **state)
{
	struct sandbox_cgroup_setting s[SANDBOX_CGROUP_SETTINGS_MAX];
	size_t n = sandbox_cgroup_settings(SANDBOX_CGROUP_V1, 0, 0, 0, s);
	assert_int_equal(n, 3);
	assert_string_equal(find(s, n, "memory.limit_in_bytes"), "-1");
	assert_null(find(s, n, "memory.memsw.limit_in_bytes"));
	assert_string_equal(find(s, n, "pids.max"), "max");
	assert_string_equal(find(s, n, "cpu.shares"), "1024");
}

static void test_settings_v2(void **state)
{
	struct sandbox_cgroup_setting s[SANDBOX_CGROUP_SETTINGS_MAX];
	size_t n = sandbox_cgroup_settings(SANDBOX_CGROUP_V2, 2560ULL << 20, 1024, 200, s);
	assert_int_equal(n, 4);
	assert_string_equal(s[0].file, "memory.max");
	assert_string_equal(s[0].value, "2684354560");
	assert_string_equal(find(s, n, "memory.swap.max"), "0");
	assert_string_equal(find(s, n, "pids.max"), "1024");
	assert_string_equal(find(s, n, "cpu.weight"), "200");
	for (size_t i = 0; i < n; i++)
		assert_null(s[i].controller);

	n = sandbox_cgroup_settings(SANDBOX_CGROUP_V2, 0, 0, 0, s);
	assert_int_equal(n, 3);
	assert_string_equal(find(s, n, "memory.max"), "max");
	assert_null(find(s, n, "memory.swap.max"));
	assert_string_equal(find(s, n, "pids.max"), "max");
	assert_string_equal(find(s, n, "cpu.weight"), "100");
}

static void test_cpu_conversions(void **state)
{
	assert_int_equal(sandbox_cpu_shares_from_weight(100), 1024);
	assert_int_equal(sandbox_cpu_shares_from_weight(0), 1024); /* the default */
	assert_int_equal(sandbox_cpu_shares_from_weight(1), 10);
	assert_int_equal(sandbox_cpu_shares_from_weight(10000), 102400);
	assert_int_equal(sandbox_cpu_weight_from_shares(1024), 100);
	assert_int_equal(sandbox_cpu_weight_from_shares(512), 50);
	assert_int_equal(sandbox_cpu_weight_from_shares(8192), 800);
	assert_int_equal(sandbox_cpu_weight_from_shares(2), 1);         /* clamped up */
	assert_int_equal(sandbox_cpu_weight_from_shares(262144), 10000); /* clamped down */
	/* The dyno sizes of api-formation.c survive the round trip. */
	unsigned sizes[] = { 512, 1024, 2048, 8192 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sandbox_cpu_shares_from_weight(sandbox_cpu_weight_from_shares(sizes[i])), sizes[i]);
}

static void test_parse_key(void **state)
{
	uint64_t v = 0;
	const char *oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	assert_int_equal(sandbox_parse_key_u64(oom_control, "oom_kill", ' ', &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(sandbox_parse_key_u64(oom_control, "under_oom", ' ', &v), 0);
	assert_int_equal(v, 0);
	/* A key must match whole, not as a prefix of another. */
	assert_int_equal(sandbox_parse_key_u64("oom_kill_disable 1\n", "oom_kill", ' ', &v), -ENOENT);
	const char *events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0";
	assert_int_equal(sandbox_parse_key_u64(events, "oom_kill", ' ', &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sandbox_parse_key_u64(events, "oom_group_kill", ' ', &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sandbox_parse_key_u64("a=1\nb=18446744073709551615\n", "b", '=', &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sandbox_parse_key_u64("b=18446744073709551616\n", "b", '=', &v), -EINVAL);
	assert_int_equal(sandbox_parse_key_u64("b=\n", "b", '=', &v), -EINVAL);
	assert_int_equal(sandbox_parse_key_u64("b=1x\n", "b", '=', &v), -EINVAL);
	assert_int_equal(sandbox_parse_key_u64("b 1\n", "b", '=', &v), -ENOENT);
	assert_int_equal(sandbox_parse_key_u64("", "b", '=', &v), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_settings_v1),
		cmocka_unit_test(test_settings_v1_unlimited),
		cmocka_unit_test(test_settings_v2),
		cmocka_unit_test(test_cpu_conversions),
		cmocka_unit_test(test_parse_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
