/* SPDX-License-Identifier: MIT */
/* Unit tests of what builds parse: Procfiles, bin/release's YAML, app.json, buildpack references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "build/build-buildpack.h"
#include "build/build-procfile.h"

#define assert_refused(call, err, needle)                                                                  \
	do {                                                                                               \
		error_clear(&(err));                                                                       \
		assert_int_equal((call), -EINVAL);                                                         \
		if (!strstr((err).message, (needle)))                                                      \
			fail_msg("message '%s' lacks '%s'", (err).message, (needle));                      \
	} while (0)

static json_t *procfile(const char *text)
{
	json_t *types = NULL;
	struct error err = { 0 };
	if (procfile_parse(text, strlen(text), &types, &err) < 0)
		fail_msg("Procfile refused: %s", err.message);
	return types;
}

static void test_procfile_good(void **state)
{
	json_t *t = procfile("# the app\n"
			     "web: bundle exec puma -p $PORT\n"
			     "\n"
			     "worker:   python3 worker.py --queue a:b  \r\n"
			     "  release : ./migrate.sh\n"
			     "clock:exec ./clock");
	assert_int_equal(json_object_size(t), 4);
	assert_string_equal(json_string_value(json_object_get(t, "web")), "bundle exec puma -p $PORT");
	assert_string_equal(json_string_value(json_object_get(t, "worker")), "python3 worker.py --queue a:b");
	assert_string_equal(json_string_value(json_object_get(t, "release")), "./migrate.sh");
	assert_string_equal(json_string_value(json_object_get(t, "clock")), "exec ./clock");
	json_decref(t);

	t = procfile("");
	assert_int_equal(json_object_size(t), 0);
	json_decref(t);
	t = procfile("web_2-x: a\n");
	assert_non_null(json_object_get(t, "web_2-x"));
	json_decref(t);
}

static void test_procfile_bad(void **state)
{
	json_t *t = NULL;
	struct error err = { 0 };
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "web npm start\n", "line 1: expected 'type: command'" },
		{ "web: a\n: b\n", "line 2: expected" },
		{ "web: a\nWeb: b\n", "line 2: process type 'Web' is invalid" },
		{ "1web: a\n", "is invalid" },
		{ "web:\n", "line 1: process type 'web' has no command" },
		{ "web: a\n\nweb: b\n", "line 3: process type 'web' is given twice" },
		{ "a-very-long-process-type-name-over-thirty: x\n", "is invalid" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_refused(procfile_parse(bad[i].text, strlen(bad[i].text), &t, &err), err, bad[i].needle);
		assert_null(t);
	}
	/* A command over the limit, too many types, a NUL byte, a huge file. */
	_cleanup_free_ char *long_command = xmalloc(PROCESS_COMMAND_MAX + 16);
	memcpy(long_command, "web: ", 5);
	memset(long_command + 5, 'x', PROCESS_COMMAND_MAX + 1);
	long_command[PROCESS_COMMAND_MAX + 6] = '\0';
	assert_refused(procfile_parse(long_command, strlen(long_command), &t, &err), err, "longer than");
	struct strbuf many = STRBUF_INIT;
	for (int i = 0; i <= PROCESS_TYPES_MAX; i++)
		strbuf_addf(&many, "t%d: x\n", i);
	assert_refused(procfile_parse(many.buf, many.len, &t, &err), err, "more than 30 process types");
	strbuf_release(&many);
	static const char nul[] = "web: a\0b\n";
	assert_refused(procfile_parse(nul, sizeof(nul) - 1, &t, &err), err, "NUL");
	assert_refused(procfile_parse("web: x", PROCFILE_MAX + 1, &t, &err), err, "larger than");
}

static void test_release_yaml(void **state)
{
	json_t *t = NULL;
	struct error err = { 0 };
	static const char yaml[] = "---\n"
				   "addons: []\n"
				   "config_vars:\n"
				   "  PATH: /app/bin:/usr/bin\n"
				   "default_process_types:\n"
				   "  web: npm start\n"
				   "  worker: \"node worker.js --name \\\"w\\\"\"\n"
				   "  clock: 'it''s ./clock'\n"
				   "other: x\n";
	assert_int_equal(release_yaml_parse(yaml, strlen(yaml), &t, &err), 0);
	assert_int_equal(json_object_size(t), 3);
	assert_string_equal(json_string_value(json_object_get(t, "web")), "npm start");
	assert_string_equal(json_string_value(json_object_get(t, "worker")), "node worker.js --name \"w\"");
	assert_string_equal(json_string_value(json_object_get(t, "clock")), "it's ./clock");
	assert_null(json_object_get(t, "PATH"));
	json_decref(t);

	static const char none[] = "---\ndefault_process_types: {}\n";
	assert_int_equal(release_yaml_parse(none, strlen(none), &t, &err), 0);
	assert_int_equal(json_object_size(t), 0);
	json_decref(t);
	assert_int_equal(release_yaml_parse("", 0, &t, &err), 0);
	assert_int_equal(json_object_size(t), 0);
	json_decref(t);

	static const char flow[] = "default_process_types: { web: x }\n";
	assert_refused(release_yaml_parse(flow, strlen(flow), &t, &err), err, "must be a block");
	static const char bad_type[] = "default_process_types:\n  Web: x\n";
	assert_refused(release_yaml_parse(bad_type, strlen(bad_type), &t, &err), err, "bin/release line 2");
}

static void test_app_manifest(void **state)
{
	struct app_manifest m;
	struct error err = { 0 };
	static const char json[] = "{\"name\": \"x\", \"formation\": {\"web\": {\"quantity\": 2, \"size\": \"private-m\"},"
				   " \"worker\": {\"quantity\": 0}}, \"buildpacks\": [{\"url\": \"heroku/nodejs\"}],"
				   " \"scripts\": {\"postdeploy\": \"./seed.sh\"}, \"env\": {}}";
	assert_int_equal(app_manifest_parse(json, strlen(json), &m, &err), 0);
	assert_int_equal(json_array_size(m.formation), 2);
	json_t *web = json_array_get(m.formation, 0);
	assert_string_equal(json_string_value(json_object_get(web, "type")), "web");
	assert_int_equal(json_integer_value(json_object_get(web, "quantity")), 2);
	assert_string_equal(json_string_value(json_object_get(web, "size")), "private-m");
	assert_int_equal(json_array_size(m.buildpacks), 1);
	assert_string_equal(json_string_value(json_array_get(m.buildpacks, 0)), "heroku/nodejs");
	assert_string_equal(m.postdeploy, "./seed.sh");
	app_manifest_release(&m);

	assert_int_equal(app_manifest_parse("{}", 2, &m, &err), 0);
	assert_int_equal(json_array_size(m.formation), 0);
	assert_null(m.postdeploy);
	app_manifest_release(&m);

	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "{", "not valid JSON" },
		{ "[]", "must hold an object" },
		{ "{\"formation\": {\"Web\": {}}}", "formation: process type 'Web' is invalid" },
		{ "{\"formation\": {\"web\": {\"quantity\": 101}}}", "quantity of 'web'" },
		{ "{\"formation\": {\"web\": 2}}", "must be an object" },
		{ "{\"buildpacks\": [{\"name\": \"x\"}]}", "buildpack 1 has no 'url'" },
		{ "{\"scripts\": {\"postdeploy\": 1}}", "postdeploy" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_refused(app_manifest_parse(bad[i].text, strlen(bad[i].text), &m, &err), err, bad[i].needle);
}

/* A directory with buildpacks in it, for the references. */
static char shipped[] = "/tmp/cove-test-buildpacks-XXXXXX";

static void make_buildpack(const char *dir)
{
	_cleanup_free_ char *bin = xasprintf("%s/bin", dir);
	_cleanup_free_ char *compile = xasprintf("%s/compile", bin);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(bin, 0755), 0);
	FILE *f = fopen(compile, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod(compile, 0755), 0);
}

static void test_buildpack_refs(void **state)
{
	assert_non_null(mkdtemp(shipped));
	_cleanup_free_ char *nodejs = xasprintf("%s/nodejs", shipped);
	_cleanup_free_ char *mine = xasprintf("%s/mine", shipped);
	_cleanup_free_ char *repo = xasprintf("%s/repo.git", shipped);
	_cleanup_free_ char *head = xasprintf("%s/HEAD", repo);
	make_buildpack(nodejs);
	make_buildpack(mine);
	assert_int_equal(mkdir(repo, 0755), 0);
	FILE *f = fopen(head, "w");
	fclose(f);

	struct buildpack_ref ref;
	struct error err = { 0 };
	const char *names[] = { "nodejs", "cove/nodejs", "heroku/nodejs" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(buildpack_ref_parse(names[i], shipped, &ref, &err), 0);
		assert_int_equal(ref.kind, BUILDPACK_SHIPPED);
		assert_string_equal(ref.name, "cove/nodejs");
		assert_string_equal(ref.path, nodejs);
	}
	assert_int_equal(buildpack_ref_parse(mine, shipped, &ref, &err), 0);
	assert_int_equal(ref.kind, BUILDPACK_DIRECTORY);
	assert_string_equal(ref.path, mine);

	_cleanup_free_ char *with_ref = xasprintf("%s#v2", repo);
	assert_int_equal(buildpack_ref_parse(with_ref, shipped, &ref, &err), 0);
	assert_int_equal(ref.kind, BUILDPACK_GIT);
	assert_string_equal(ref.path, repo);
	assert_string_equal(ref.ref, "v2");
	_cleanup_free_ char *url = xasprintf("file://%s", repo);
	assert_int_equal(buildpack_ref_parse(url, shipped, &ref, &err), 0);
	assert_int_equal(ref.kind, BUILDPACK_GIT);
	assert_string_equal(ref.ref, "");
	assert_string_equal(ref.name, url);

	assert_refused(buildpack_ref_parse("https://github.com/heroku/heroku-buildpack-ruby", shipped, &ref, &err), err,
		       "is not on this host");
	assert_refused(buildpack_ref_parse("git@github.com:x/y.git", shipped, &ref, &err), err, "is not on this host");
	assert_refused(buildpack_ref_parse("heroku/ruby", shipped, &ref, &err), err, "is not one cove ships");
	assert_refused(buildpack_ref_parse("acme/nodejs", shipped, &ref, &err), err, "is unknown");
	assert_refused(buildpack_ref_parse("../nodejs", shipped, &ref, &err), err, "is unknown");
	assert_refused(buildpack_ref_parse("/nonexistent/bp", shipped, &ref, &err), err, "no directory");
	assert_refused(buildpack_ref_parse("nodejs; rm -rf /", shipped, &ref, &err), err, "a space");
	assert_refused(buildpack_ref_parse("$(id)", shipped, &ref, &err), err, "is unknown");
	assert_refused(buildpack_ref_parse(shipped, shipped, &ref, &err), err, "neither a buildpack");
	assert_refused(buildpack_ref_parse("", shipped, &ref, &err), err, "1 to");

	_cleanup_free_ char *cleanup = xasprintf("rm -rf '%s'", shipped);
	assert_int_equal(system(cleanup), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procfile_good),
		cmocka_unit_test(test_procfile_bad),
		cmocka_unit_test(test_release_yaml),
		cmocka_unit_test(test_app_manifest),
		cmocka_unit_test(test_buildpack_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
