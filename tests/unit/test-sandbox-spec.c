/* SPDX-License-Identifier: MIT */
/* Unit tests of the sandbox's spec (validation, the wire format to the shim) and of its state
 * files and /proc/PID/stat parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/alloc.h"
#include "base/strbuf.h"
#include "sandbox/sandbox-spec.h"
#include "sandbox/sandbox-state.h"
#include "sandbox/sandbox.h"

static char *const test_env[] = { "PATH=/usr/bin:/bin", "DATABASE_URL=postgres://u:p@10.0.0.5/db?a=b", "EMPTY=",
				   NULL };

static struct sandbox_spec good_spec(void)
{
	return (struct sandbox_spec){
		.id = "2c5b9c5e-1d7e-4f43-9a4f-3a8d2b1e0c77",
		.state_dir = "/var/lib/cove/dynos/2c5b9c5e",
		.hostname = "web.1",
		.netns_path = NULL,
		.app_dir = "/var/lib/cove/slugs/abc/app",
		.uid = 10001,
		.gid = 10001,
		.env = test_env,
		.command = "bundle exec puma -p $PORT",
		.memory_bytes = 512ULL << 20,
		.pids_max = 256,
		.cpu_weight = 50,
		.resolv_conf = NULL,
		.output_fd = -1,
	};
}

static void assert_invalid(const struct sandbox_spec *spec, const char *needle)
{
	struct error err = { 0 };
	assert_int_equal(sandbox_spec_validate(spec, &err), -EINVAL);
	if (!strstr(err.message, needle))
		fail_msg("message '%s' does not mention '%s'", err.message, needle);
}

static void test_validate_good(void **state)
{
	struct sandbox_spec spec = good_spec();
	struct error err = { 0 };
	assert_int_equal(sandbox_spec_validate(&spec, &err), 0);
	spec.netns_path = "/run/netns/cove-d-2c5b9c5e";
	spec.env = NULL;
	spec.memory_bytes = 0;
	spec.pids_max = 0;
	spec.cpu_weight = 0;
	spec.resolv_conf = "nameserver 10.0.0.2\n";
	spec.output_fd = 7;
	spec.hostname = "worker_a.12";
	assert_int_equal(sandbox_spec_validate(&spec, &err), 0);
}

static void test_validate_names(void **state)
{
	struct sandbox_spec spec = good_spec();
	spec.id = "";
	assert_invalid(&spec, "id is missing");
	spec.id = "../../etc";
	assert_invalid(&spec, "may hold only");
	spec.id = "a/b";
	assert_invalid(&spec, "may hold only");
	char long_id[SANDBOX_ID_MAX + 2];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	spec.id = long_id;
	assert_invalid(&spec, "longer than");

	spec = good_spec();
	spec.hostname = NULL;
	assert_invalid(&spec, "hostname is missing");
	spec.hostname = "-web";
	assert_invalid(&spec, "must start with");
	spec.hostname = "web 1";
	assert_invalid(&spec, "may hold only");
	spec.hostname = "0123456789012345678901234567890123456789012345678901234567890123";
	assert_invalid(&spec, "longer than");
}

static void test_validate_paths(void **state)
{
	struct sandbox_spec spec = good_spec();
	spec.state_dir = NULL;
	assert_invalid(&spec, "state directory is missing");
	spec.state_dir = "relative/dir";
	assert_invalid(&spec, "absolute");
	spec.state_dir = "/";
	assert_invalid(&spec, "must not be '/'");
	spec.state_dir = "/a,upperdir=/etc";
	assert_invalid(&spec, "must not contain ','");
	spec.state_dir = "/a:b";
	assert_invalid(&spec, "must not contain ','");
	spec.state_dir = "/a/../etc";
	assert_invalid(&spec, "'..'");
	spec.state_dir = "/a/./b";
	assert_invalid(&spec, "'..'");

	spec = good_spec();
	spec.app_dir = "/slug\\dir";
	assert_invalid(&spec, "app directory");
	spec = good_spec();
	spec.netns_path = "netns";
	assert_invalid(&spec, "network namespace");
}

static void test_validate_identity_and_limits(void **state)
{
	struct sandbox_spec spec = good_spec();
	spec.uid = 0;
	assert_invalid(&spec, "root");
	spec = good_spec();
	spec.gid = 0;
	assert_invalid(&spec, "root");
	spec = good_spec();
	spec.uid = (uid_t)-1;
	assert_invalid(&spec, "-1");

	spec = good_spec();
	spec.command = "";
	assert_invalid(&spec, "command is missing");

	spec = good_spec();
	char *bad_env[] = { "PATH=/bin", "NOEQUALS", NULL };
	spec.env = bad_env;
	assert_invalid(&spec, "KEY=value");
	char *empty_key[] = { "=x", NULL };
	spec.env = empty_key;
	assert_invalid(&spec, "KEY=value");

	spec = good_spec();
	spec.memory_bytes = SANDBOX_MEMORY_MIN - 1;
	assert_invalid(&spec, "memory limit");
	spec.memory_bytes = SANDBOX_MEMORY_MIN;
	assert_int_equal(sandbox_spec_validate(&spec, NULL), 0);
	spec.pids_max = SANDBOX_PIDS_MIN - 1;
	assert_invalid(&spec, "process limit");
	spec.pids_max = SANDBOX_PIDS_MIN;
	spec.cpu_weight = SANDBOX_CPU_WEIGHT_MAX + 1;
	assert_invalid(&spec, "cpu weight");
	spec.cpu_weight = SANDBOX_CPU_WEIGHT_MAX;
	spec.output_fd = -2;
	assert_invalid(&spec, "output fd");

	/* A one-off dyno's socket or terminal needs the socket. */
	spec = good_spec();
	spec.io = SANDBOX_IO_TTY;
	assert_invalid(&spec, "needs an output socket");
	spec.output_fd = 4;
	assert_int_equal(sandbox_spec_validate(&spec, NULL), 0);
	spec.io = (enum sandbox_io)7;
	assert_invalid(&spec, "io mode");
}

static void test_wire_round_trip(void **state)
{
	struct sandbox_spec spec = good_spec();
	spec.netns_path = "/run/netns/cove-d-1";
	spec.resolv_conf = "nameserver 10.0.0.2\nsearch app.localspace\n";
	spec.output_fd = 5;
	spec.io = SANDBOX_IO_TTY;
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(sandbox_spec_serialize(&spec, &sb), 0);
	/* The environment's values never show as one string with the rest: NUL-separated. */
	assert_null(memmem(sb.buf, sb.len, "DATABASE_URL=postgres://u:p@10.0.0.5/db?a=b\ncommand", 50));

	struct sandbox_spec_wire w;
	struct error err = { 0 };
	size_t len = sb.len;
	assert_int_equal(sandbox_spec_parse(strbuf_detach(&sb), len, &w, &err), 0);
	const struct sandbox_spec *got = &w.spec;
	assert_string_equal(got->id, spec.id);
	assert_string_equal(got->state_dir, spec.state_dir);
	assert_string_equal(got->hostname, spec.hostname);
	assert_string_equal(got->netns_path, spec.netns_path);
	assert_string_equal(got->app_dir, spec.app_dir);
	assert_int_equal(got->uid, spec.uid);
	assert_int_equal(got->gid, spec.gid);
	assert_string_equal(got->command, spec.command);
	assert_true(got->memory_bytes == spec.memory_bytes);
	assert_int_equal(got->pids_max, spec.pids_max);
	assert_int_equal(got->cpu_weight, spec.cpu_weight);
	assert_string_equal(got->resolv_conf, spec.resolv_conf);
	assert_int_equal(got->output_fd, 5);
	assert_int_equal(got->io, SANDBOX_IO_TTY);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(got->env[i], test_env[i]);
	assert_null(got->env[3]);
	sandbox_spec_wire_release(&w);

	/* Optional fields left out stay NULL; an empty environment is an empty list. */
	spec = good_spec();
	spec.env = NULL;
	sb = (struct strbuf)STRBUF_INIT;
	assert_int_equal(sandbox_spec_serialize(&spec, &sb), 0);
	len = sb.len;
	assert_int_equal(sandbox_spec_parse(strbuf_detach(&sb), len, &w, &err), 0);
	assert_null(w.spec.netns_path);
	assert_null(w.spec.resolv_conf);
	assert_int_equal(w.spec.output_fd, -1);
	assert_int_equal(w.spec.io, SANDBOX_IO_OUTPUT);
	assert_non_null(w.spec.env);
	assert_null(w.spec.env[0]);
	sandbox_spec_wire_release(&w);
}

static void parse_fails(const char *bytes, size_t len, const char *needle)
{
	struct sandbox_spec_wire w;
	struct error err = { 0 };
	char *data = xmalloc(len + 1);
	memcpy(data, bytes, len);
	assert_int_equal(sandbox_spec_parse(data, len, &w, &err), -EINVAL);
	if (!strstr(err.message, needle))
		fail_msg("message '%s' does not mention '%s'", err.message, needle);
	sandbox_spec_wire_release(&w);
}

static void test_wire_rejects(void **state)
{
	parse_fails("id\0abc", 6, "truncated");
	parse_fails("id\0", 3, "truncated");
	parse_fails("bogus\0x\0", 8, "unknown key");
	parse_fails("uid\0twelve\0", 11, "not a valid number");
	parse_fails("uid\0-5\0", 7, "not a valid number");
	parse_fails("cpu_weight\0" "10001\0", 17, "not a valid number");
	parse_fails("io\0" "3\0", 5, "not a valid number");
	/* Well-formed but incomplete: validation speaks. */
	parse_fails("id\0abc\0", 7, "state directory is missing");
}

static void test_parse_stat(void **state)
{
	char st;
	uint64_t start = 0;
	const char *stat = "4242 (sh) S 1 4242 4242 0 -1 4194560 120 0 0 0 0 0 0 0 20 0 1 0 987654 2170880 131 "
			   "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	assert_int_equal(sandbox_parse_stat(stat, &st, &start), 0);
	assert_int_equal(st, 'S');
	assert_int_equal(start, 987654);
	/* A comm with spaces and parentheses does not shift the fields. */
	const char *odd = "7 (a) b (c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0\n";
	assert_int_equal(sandbox_parse_stat(odd, &st, &start), 0);
	assert_int_equal(st, 'Z');
	assert_int_equal(start, 555);
	assert_int_equal(sandbox_parse_stat("7 (x) S 1 2 3\n", &st, &start), -EINVAL);
	assert_int_equal(sandbox_parse_stat("garbage", &st, &start), -EINVAL);

	/* And the real thing: this process runs, with a start time. */
	assert_int_equal(sandbox_proc_starttime(getpid(), &start), 0);
	assert_true(start > 0);
}

static void test_state_files(void **state)
{
	char dir[] = "/tmp/test-sandbox-state.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct error err = { 0 };
	struct sandbox sb = { .shim_pid = 100, .shim_start = 12345, .init_pid = 101, .init_start = 12346 };
	assert_int_equal(sandbox_state_write_pid(dir, "dyno-1", &sb, &err), 0);
	struct sandbox got;
	char *id = NULL;
	assert_int_equal(sandbox_state_read_pid(dir, &got, &id, &err), 0);
	assert_string_equal(id, "dyno-1");
	free(id);
	assert_int_equal(got.shim_pid, 100);
	assert_true(got.shim_start == 12345);
	assert_int_equal(got.init_pid, 101);
	assert_true(got.init_start == 12346);

	int status = 0;
	bool oom = false;
	assert_int_equal(sandbox_state_read_exit(dir, &status, &oom, &err), -ENOENT);
	assert_int_equal(sandbox_state_write_exit(dir, SIGKILL, true, &err), 0);
	assert_int_equal(sandbox_state_read_exit(dir, &status, &oom, &err), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(oom);
	assert_int_equal(sandbox_state_write_exit(dir, 3 << 8, false, &err), 0);
	assert_int_equal(sandbox_state_read_exit(dir, &status, &oom, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_false(oom);

	/* A dyno whose pid file is gone is no dyno; sandbox_adopt() says so. */
	char path[sizeof(dir) + 8];
	snprintf(path, sizeof(path), "%s/pid", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sandbox_adopt(dir, &got, &err), -ENOENT);
	snprintf(path, sizeof(path), "%s/exit", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Bind mounts (builds): checked like the other paths, and carried over the wire in order. */
static void test_binds(void **state)
{
	static const struct sandbox_bind binds[] = {
		{ .source = "/var/lib/cove/builds/b1/app", .target = "/app", .writable = true },
		{ .source = "/usr/share/cove/buildpacks/nodejs", .target = "/cove/buildpacks/0" },
	};
	struct sandbox_spec spec = good_spec();
	spec.binds = binds;
	spec.n_binds = ARRAY_SIZE(binds);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(sandbox_spec_serialize(&spec, &sb), 0);
	struct sandbox_spec_wire w;
	struct error err = { 0 };
	size_t len = sb.len;
	assert_int_equal(sandbox_spec_parse(strbuf_detach(&sb), len, &w, &err), 0);
	assert_int_equal(w.spec.n_binds, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(w.spec.binds[i].source, binds[i].source);
		assert_string_equal(w.spec.binds[i].target, binds[i].target);
		assert_int_equal(w.spec.binds[i].writable, binds[i].writable);
	}
	sandbox_spec_wire_release(&w);

	struct sandbox_bind bad = { .source = "/srv/x", .target = "relative" };
	spec.binds = &bad;
	spec.n_binds = 1;
	assert_invalid(&spec, "bind target 'relative' must be an absolute path");
	bad = (struct sandbox_bind){ .source = "/srv/a:b", .target = "/x" };
	assert_invalid(&spec, "must not contain");
	bad = (struct sandbox_bind){ .source = "/srv/../etc", .target = "/x" };
	assert_invalid(&spec, "'.' or '..'");
	spec.n_binds = SANDBOX_BINDS_MAX + 1;
	assert_invalid(&spec, "bind mounts");

	/* A bind on the wire that is not rw|ro:SOURCE:TARGET is refused. */
	static const char wire[] = "id\0x1\0state_dir\0/s\0hostname\0h\0app_dir\0/a\0uid\0001\0gid\0001\0"
				   "command\0true\0bind\0xx:/a:/b";
	char *data = xmalloc(sizeof(wire));
	memcpy(data, wire, sizeof(wire));
	assert_int_equal(sandbox_spec_parse(data, sizeof(wire), &w, &err), -EINVAL);
	if (!strstr(err.message, "bind"))
		fail_msg("message '%s' does not mention the bind", err.message);
	sandbox_spec_wire_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_good),
		cmocka_unit_test(test_validate_names),
		cmocka_unit_test(test_validate_paths),
		cmocka_unit_test(test_validate_identity_and_limits),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_wire_rejects),
		cmocka_unit_test(test_binds),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_state_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
