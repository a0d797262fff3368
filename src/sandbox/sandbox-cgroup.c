/* SPDX-License-Identifier: MIT */
#include "sandbox/sandbox-cgroup.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "base/alloc.h"
#include "base/fileio.h"
#include "sandbox/sandbox.h"

const char *const sandbox_cgroup_v1_controllers[] = { "memory", "pids", "cpu" };
const size_t sandbox_cgroup_v1_controllers_count = ARRAY_SIZE(sandbox_cgroup_v1_controllers);

/* Controllers a v2 dyno cgroup needs enabled in the subtree_control of its ancestors. */
static const char *const v2_controllers[] = { "memory", "pids", "cpu" };

#define COUNTER_FILE_MAX 8192

unsigned sandbox_cpu_shares_from_weight(unsigned weight)
{
	if (weight == 0)
		weight = SANDBOX_CPU_WEIGHT_DEFAULT;
	uint64_t shares = (uint64_t)weight * 1024 / 100;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return (unsigned)shares;
}

unsigned sandbox_cpu_weight_from_shares(unsigned shares)
{
	uint64_t weight = (uint64_t)shares * 100 / 1024;
	if (weight < 1)
		weight = 1;
	if (weight > SANDBOX_CPU_WEIGHT_MAX)
		weight = SANDBOX_CPU_WEIGHT_MAX;
	return (unsigned)weight;
}

int sandbox_cgroup_detect(enum sandbox_cgroup_version *ret, struct error *err)
{
	struct statfs fs;
	if (statfs(SANDBOX_CGROUP_ROOT, &fs) < 0)
		return error_set(err, -errno, "cgroup file system '%s': %m", SANDBOX_CGROUP_ROOT);
	if (fs.f_type == CGROUP2_SUPER_MAGIC) {
		*ret = SANDBOX_CGROUP_V2;
		return 0;
	}
	if (fs.f_type == TMPFS_MAGIC) {
		*ret = SANDBOX_CGROUP_V1;
		return 0;
	}
	return error_set(err, -EOPNOTSUPP, "cgroup file system '%s': neither cgroup2 nor a tmpfs of v1 hierarchies",
			 SANDBOX_CGROUP_ROOT);
}

char *sandbox_cgroup_path(const char *root, enum sandbox_cgroup_version version, const char *controller,
			  const char *id)
{
	if (version == SANDBOX_CGROUP_V2)
		return id ? xasprintf("%s/%s/%s", root, SANDBOX_CGROUP_PARENT, id)
			  : xasprintf("%s/%s", root, SANDBOX_CGROUP_PARENT);
	return id ? xasprintf("%s/%s/%s/%s", root, controller, SANDBOX_CGROUP_PARENT, id)
		  : xasprintf("%s/%s/%s", root, controller, SANDBOX_CGROUP_PARENT);
}

static void setting(struct sandbox_cgroup_setting *s, const char *controller, const char *file, bool optional,
		    const char *value)
{
	s->controller = controller;
	s->file = file;
	s->optional = optional;
	snprintf(s->value, sizeof(s->value), "%s", value);
}

static void setting_u64(struct sandbox_cgroup_setting *s, const char *controller, const char *file, bool optional,
			uint64_t value)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	setting(s, controller, file, optional, buf);
}

size_t sandbox_cgroup_settings(enum sandbox_cgroup_version version, uint64_t memory_bytes, unsigned pids_max,
			       unsigned cpu_weight, struct sandbox_cgroup_setting ret[static SANDBOX_CGROUP_SETTINGS_MAX])
{
	size_t n = 0;
	if (cpu_weight == 0)
		cpu_weight = SANDBOX_CPU_WEIGHT_DEFAULT;

	if (version == SANDBOX_CGROUP_V1) {
		/* The memory limit first: memsw may never be below it. */
		if (memory_bytes > 0) {
			setting_u64(&ret[n++], "memory", "memory.limit_in_bytes", false, memory_bytes);
			setting_u64(&ret[n++], "memory", "memory.memsw.limit_in_bytes", true, memory_bytes);
		} else {
			setting(&ret[n++], "memory", "memory.limit_in_bytes", false, "-1");
		}
		if (pids_max > 0)
			setting_u64(&ret[n++], "pids", "pids.max", false, pids_max);
		else
			setting(&ret[n++], "pids", "pids.max", false, "max");
		setting_u64(&ret[n++], "cpu", "cpu.shares", false, sandbox_cpu_shares_from_weight(cpu_weight));
		return n;
	}

	if (memory_bytes > 0) {
		setting_u64(&ret[n++], NULL, "memory.max", false, memory_bytes);
		/* Without swap accounting compiled in the file is missing, and swap cannot be used. */
		setting(&ret[n++], NULL, "memory.swap.max", true, "0");
	} else {
		setting(&ret[n++], NULL, "memory.max", false, "max");
	}
	if (pids_max > 0)
		setting_u64(&ret[n++], NULL, "pids.max", false, pids_max);
	else
		setting(&ret[n++], NULL, "pids.max", false, "max");
	setting_u64(&ret[n++], NULL, "cpu.weight", false, cpu_weight);
	return n;
}

int sandbox_parse_key_u64(const char *text, const char *key, char sep, uint64_t *ret)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n');
		if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == sep) {
			const char *v = line + klen + 1;
			if (v == end || *v < '0' || *v > '9')
				return -EINVAL;
			uint64_t value = 0;
			for (; v < end; v++) {
				if (*v < '0' || *v > '9')
					return -EINVAL;
				unsigned digit = (unsigned)(*v - '0');
				if (value > (UINT64_MAX - digit) / 10)
					return -EINVAL;
				value = value * 10 + digit;
			}
			*ret = value;
			return 0;
		}
		line = *end ? end + 1 : end;
	}
	return -ENOENT;
}

/* Writes value to an existing kernel file (no create, no truncate: cgroup files want neither). */
static int write_value(const char *path, const char *value, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "open '%s': %m", path);
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return error_set(err, -errno, "write '%s' to '%s': %m", value, path);
	if ((size_t)n != len)
		return error_set(err, -EIO, "write '%s' to '%s': short write", value, path);
	return 0;
}

/* rmdir() of a cgroup, retried for a while: a cgroup whose last task just exited may be busy. */
static int remove_dir(const char *path, struct error *err)
{
	for (int attempt = 0;; attempt++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || attempt >= 50)
			return error_set(err, -errno, "remove cgroup '%s': %m", path);
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

/* Makes dir a fresh, empty cgroup: removes a leftover of the same name first. */
static int make_fresh(const char *dir, struct error *err)
{
	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return error_set(err, -errno, "create cgroup '%s': %m", dir);
	if (rmdir(dir) < 0)
		return error_set(err, errno == EBUSY ? -EBUSY : -errno, "remove leftover cgroup '%s': %m", dir);
	if (mkdir(dir, 0755) < 0)
		return error_set(err, -errno, "create cgroup '%s': %m", dir);
	return 0;
}

/* Enables the dyno controllers for the children of dir (v2). */
static int enable_controllers(const char *dir, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.subtree_control", dir);
	for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++) {
		_cleanup_free_ char *value = xasprintf("+%s", v2_controllers[i]);
		int r = write_value(path, value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sandbox_cgroup_create(enum sandbox_cgroup_version version, const char *id, uint64_t memory_bytes,
			  unsigned pids_max, unsigned cpu_weight, struct error *err)
{
	int r;
	if (version == SANDBOX_CGROUP_V2) {
		_cleanup_free_ char *parent = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, NULL, NULL);
		/* The root has its controllers enabled on any systemd host; asking again is harmless. */
		r = enable_controllers(SANDBOX_CGROUP_ROOT, err);
		if (r < 0)
			return r;
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return error_set(err, -errno, "create cgroup '%s': %m", parent);
		r = enable_controllers(parent, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, NULL, id);
		r = make_fresh(dir, err);
		if (r < 0)
			return r;
	} else {
		for (size_t i = 0; i < sandbox_cgroup_v1_controllers_count; i++) {
			const char *c = sandbox_cgroup_v1_controllers[i];
			_cleanup_free_ char *parent = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, c, NULL);
			_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, c, id);
			if (mkdir(parent, 0755) < 0 && errno != EEXIST)
				return error_set(err, -errno, "create cgroup '%s': %m", parent);
			r = make_fresh(dir, err);
			if (r < 0)
				return r;
		}
	}

	struct sandbox_cgroup_setting settings[SANDBOX_CGROUP_SETTINGS_MAX];
	size_t n = sandbox_cgroup_settings(version, memory_bytes, pids_max, cpu_weight, settings);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, settings[i].controller, id);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, settings[i].file);
		if (settings[i].optional && access(path, F_OK) < 0 && errno == ENOENT)
			continue;
		r = write_value(path, settings[i].value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sandbox_cgroup_attach(enum sandbox_cgroup_version version, const char *id, pid_t pid, struct error *err)
{
	char value[24];
	snprintf(value, sizeof(value), "%d", (int)pid);
	size_t n = version == SANDBOX_CGROUP_V2 ? 1 : sandbox_cgroup_v1_controllers_count;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version,
							       sandbox_cgroup_v1_controllers[i], id);
		_cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
		int r = write_value(path, value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int sandbox_cgroup_remove(enum sandbox_cgroup_version version, const char *id, struct error *err)
{
	size_t n = version == SANDBOX_CGROUP_V2 ? 1 : sandbox_cgroup_v1_controllers_count;
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version,
							       sandbox_cgroup_v1_controllers[i], id);
		int r = remove_dir(dir, err);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* Reads a file holding one number, or "max" (v2) which reads as UINT64_MAX. */
static int read_number(const char *path, uint64_t *ret, struct error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, COUNTER_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return r;
	if (strncmp(text, "max", 3) == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		return error_set(err, -EINVAL, "read '%s': not a number", path);
	*ret = v;
	return 0;
}

/* Reads "key value" out of a keyed counter file. */
static int read_keyed(const char *path, const char *key, uint64_t *ret, struct error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = file_read(path, COUNTER_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return r;
	r = sandbox_parse_key_u64(text, key, ' ', ret);
	if (r < 0)
		return error_set(err, r, "read '%s': no valid '%s' counter", path, key);
	return 0;
}

int sandbox_cgroup_memory(enum sandbox_cgroup_version version, const char *id, uint64_t *ret_usage,
			  uint64_t *ret_limit, uint64_t *ret_oom_kills, struct error *err)
{
	bool v2 = version == SANDBOX_CGROUP_V2;
	_cleanup_free_ char *dir = sandbox_cgroup_path(SANDBOX_CGROUP_ROOT, version, "memory", id);
	struct stat st;
	if (stat(dir, &st) < 0)
		return error_set(err, -errno, "cgroup of dyno '%s': %m", id);
	int r;
	if (ret_usage) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
		r = read_number(path, ret_usage, err);
		if (r < 0)
			return r;
	}
	if (ret_limit) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
		r = read_number(path, ret_limit, err);
		if (r < 0)
			return r;
		/* v1 shows "no limit" as the largest page-aligned long, 2^63 - 4096. */
		if (!v2 && *ret_limit >= (UINT64_C(1) << 62))
			*ret_limit = UINT64_MAX;
	}
	if (ret_oom_kills) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, v2 ? "memory.events" : "memory.oom_control");
		r = read_keyed(path, "oom_kill", ret_oom_kills, err);
		if (r < 0)
			return r;
	}
	return 0;
}
