/* SPDX-License-Identifier: MIT */
/* Unit tests of base/fileio: bounded reads, atomic writes and mkdir -p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fileio.h"

static int setup(void **state)
{
	char *dir = xstrdup("/tmp/cove-test-fileio.XXXXXX");
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

/* Files in dir, not counting . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_write_then_read(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/token", dir);
	struct error err = { 0 };
	assert_int_equal(file_write_atomic(path, "secret\n", 7, 0600, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	char *data = NULL;
	size_t len = 0;
	assert_int_equal(file_read(path, 100, &data, &len, &err), 0);
	assert_int_equal(len, 7);
	assert_string_equal(data, "secret\n");
	free(data);

	/* Replacing leaves the new content, the new mode, and no temporary file behind. */
	assert_int_equal(file_write_atomic(path, "new", 3, 0644, &err), 0);
	assert_int_equal(file_read(path, 100, &data, NULL, &err), 0);
	assert_string_equal(data, "new");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(entries(dir), 1);
}

static void test_write_empty_and_binary(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/empty", dir);
	char *data = NULL;
	size_t len = 99;
	assert_int_equal(file_write_atomic(path, "", 0, 0600, NULL), 0);
	assert_int_equal(file_read(path, 10, &data, &len, NULL), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);

	/* Larger than one read chunk, with NUL bytes. */
	size_t big = 100000;
	_cleanup_free_ char *buf = xmalloc(big);
	for (size_t i = 0; i < big; i++)
		buf[i] = (char)(i % 251);
	assert_int_equal(file_write_atomic(path, buf, big, 0600, NULL), 0);
	assert_int_equal(file_read(path, big, &data, &len, NULL), 0);
	assert_int_equal(len, big);
	assert_memory_equal(data, buf, big);
	assert_int_equal(data[big], '\0');
	free(data);
}

static void test_read_limit(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/f", dir);
	assert_int_equal(file_write_atomic(path, "0123456789", 10, 0600, NULL), 0);
	char *data = NULL;
	struct error err = { 0 };
	assert_int_equal(file_read(path, 10, &data, NULL, &err), 0);
	free(data);
	data = NULL;
	assert_int_equal(file_read(path, 9, &data, NULL, &err), -EFBIG);
	assert_null(data);
	assert_non_null(strstr(err.message, "larger than 9 bytes"));
}

static void test_read_missing(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/none", dir);
	char *data = NULL;
	struct error err = { 0 };
	assert_int_equal(file_read(path, 10, &data, NULL, &err), -ENOENT);
	assert_null(data);
	assert_non_null(strstr(err.message, "none"));
}

static void test_write_into_missing_directory(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *path = xasprintf("%s/no/such/f", dir);
	struct error err = { 0 };
	assert_int_equal(file_write_atomic(path, "x", 1, 0600, &err), -ENOENT);
	assert_true(error_is_set(&err));
	assert_int_equal(entries(dir), 0);
}

static void test_write_relative_path(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(file_write_atomic("here", "x", 1, 0600, NULL), 0);
	assert_int_equal(chdir(cwd), 0);
	_cleanup_free_ char *path = xasprintf("%s/here", dir);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_mkdir_p(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *deep = xasprintf("%s/a/b/c", dir);
	struct error err = { 0 };
	assert_int_equal(mkdir_p(deep, 0700, &err), 0);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Again: nothing to do. With a trailing slash too. */
	assert_int_equal(mkdir_p(deep, 0700, &err), 0);
	_cleanup_free_ char *slash = xasprintf("%s/a/b/c/", dir);
	assert_int_equal(mkdir_p(slash, 0700, &err), 0);
	assert_int_equal(mkdir_p("/", 0700, &err), 0);
}

static void test_mkdir_p_refuses(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *file = xasprintf("%s/file", dir);
	assert_int_equal(file_write_atomic(file, "x", 1, 0600, NULL), 0);
	struct error err = { 0 };
	/* A file where the directory should be. */
	assert_int_equal(mkdir_p(file, 0700, &err), -ENOTDIR);
	assert_non_null(strstr(err.message, "not a directory"));
	/* A file on the way. */
	_cleanup_free_ char *below = xasprintf("%s/file/sub", dir);
	error_clear(&err);
	assert_int_equal(mkdir_p(below, 0700, &err), -ENOTDIR);
	error_clear(&err);
	assert_int_equal(mkdir_p("", 0700, &err), -EINVAL);
	assert_int_equal(mkdir_p(NULL, 0700, &err), -EINVAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_write_then_read),
		T(test_write_empty_and_binary),
		T(test_read_limit),
		T(test_read_missing),
		T(test_write_into_missing_directory),
		T(test_write_relative_path),
		T(test_mkdir_p),
		T(test_mkdir_p_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
