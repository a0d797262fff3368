/* SPDX-License-Identifier: MIT */
#include "sandbox/sandbox-spec.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"

static bool is_name_char(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(extra, c);
}

/*
 * An absolute path the sandbox can put into mount options: overlayfs splits its options at
 * ',' and its lower layers at ':', and takes '\' as an escape. No "." or ".." components:
 * the path names one place, whatever the current directory.
 */
static int check_path(const char *what, const char *path, struct error *err)
{
	if (isempty(path))
		return error_set(err, -EINVAL, "%s is missing", what);
	if (path[0] != '/')
		return error_set(err, -EINVAL, "%s '%s' must be an absolute path", what, path);
	if (strlen(path) > SANDBOX_PATH_MAX)
		return error_set(err, -EINVAL, "%s is longer than %d characters", what, SANDBOX_PATH_MAX);
	for (const char *p = path; *p; p++)
		if (*p == ',' || *p == ':' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return error_set(err, -EINVAL, "%s '%s' must not contain ',', ':', '\\' or control characters",
					 what, path);
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(err, -EINVAL, "%s '%s' must not contain '.' or '..'", what, path);
		p += n;
	}
	if (path[strspn(path, "/")] == '\0')
		return error_set(err, -EINVAL, "%s must not be '/'", what);
	return 0;
}

static int check_env(char *const *env, struct error *err)
{
	size_t count = 0, bytes = 0;
	for (char *const *e = env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			return error_set(err, -EINVAL, "environment entry '%.64s' must be KEY=value", *e);
		if (++count > SANDBOX_ENV_COUNT_MAX)
			return error_set(err, -EINVAL, "environment has more than %d variables", SANDBOX_ENV_COUNT_MAX);
		bytes += strlen(*e) + 1;
		if (bytes > SANDBOX_ENV_MAX)
			return error_set(err, -EINVAL, "environment is larger than %d bytes", SANDBOX_ENV_MAX);
	}
	return 0;
}

int sandbox_spec_validate(const struct sandbox_spec *spec, struct error *err)
{
	int r;
	if (isempty(spec->id))
		return error_set(err, -EINVAL, "dyno id is missing");
	if (strlen(spec->id) > SANDBOX_ID_MAX)
		return error_set(err, -EINVAL, "dyno id is longer than %d characters", SANDBOX_ID_MAX);
	for (const char *p = spec->id; *p; p++)
		if (!is_name_char(*p, "-_"))
			return error_set(err, -EINVAL, "dyno id '%s' may hold only letters, digits, '-' and '_'", spec->id);

	r = check_path("state directory", spec->state_dir, err);
	if (r < 0)
		return r;
	r = check_path("app directory", spec->app_dir, err);
	if (r < 0)
		return r;
	if (spec->netns_path) {
		r = check_path("network namespace", spec->netns_path, err);
		if (r < 0)
			return r;
	}

	if (isempty(spec->hostname))
		return error_set(err, -EINVAL, "hostname is missing");
	if (strlen(spec->hostname) > SANDBOX_HOSTNAME_MAX)
		return error_set(err, -EINVAL, "hostname is longer than %d characters", SANDBOX_HOSTNAME_MAX);
	if (spec->hostname[0] == '-' || spec->hostname[0] == '.')
		return error_set(err, -EINVAL, "hostname '%s' must start with a letter or digit", spec->hostname);
	for (const char *p = spec->hostname; *p; p++)
		if (!is_name_char(*p, "-_."))
			return error_set(err, -EINVAL, "hostname '%s' may hold only letters, digits, '-', '_' and '.'",
					 spec->hostname);

	if (spec->uid == 0 || spec->gid == 0)
		return error_set(err, -EINVAL, "dyno of '%s' must not run as root (uid and gid 0)", spec->hostname);
	if (spec->uid == (uid_t)-1 || spec->gid == (gid_t)-1)
		return error_set(err, -EINVAL, "uid and gid must be valid ids, not -1");

	r = check_env(spec->env, err);
	if (r < 0)
		return r;

	if (isempty(spec->command))
		return error_set(err, -EINVAL, "command is missing");
	if (strlen(spec->command) > SANDBOX_COMMAND_MAX)
		return error_set(err, -EINVAL, "command is longer than %d bytes", SANDBOX_COMMAND_MAX);

	if (spec->memory_bytes != 0 && spec->memory_bytes < SANDBOX_MEMORY_MIN)
		return error_set(err, -EINVAL, "memory limit %" PRIu64 " is below the minimum of %llu bytes",
				 spec->memory_bytes, SANDBOX_MEMORY_MIN);
	if (spec->pids_max != 0 && spec->pids_max < SANDBOX_PIDS_MIN)
		return error_set(err, -EINVAL, "process limit %u is below the minimum of %d", spec->pids_max,
				 SANDBOX_PIDS_MIN);
	if (spec->cpu_weight > SANDBOX_CPU_WEIGHT_MAX)
		return error_set(err, -EINVAL, "cpu weight %u is out of range 1..%d", spec->cpu_weight,
				 SANDBOX_CPU_WEIGHT_MAX);
	if (spec->resolv_conf && strlen(spec->resolv_conf) > SANDBOX_RESOLV_CONF_MAX)
		return error_set(err, -EINVAL, "resolv.conf is longer than %d bytes", SANDBOX_RESOLV_CONF_MAX);
	if (spec->output_fd < -1)
		return error_set(err, -EINVAL, "output fd %d is invalid", spec->output_fd);
	if (spec->io > SANDBOX_IO_TTY)
		return error_set(err, -EINVAL, "io mode %d is invalid", (int)spec->io);
	if (spec->io != SANDBOX_IO_OUTPUT && spec->output_fd < 0)
		return error_set(err, -EINVAL, "io mode %d needs an output socket", (int)spec->io);
	if (spec->n_binds > SANDBOX_BINDS_MAX)
		return error_set(err, -EINVAL, "more than %d bind mounts", SANDBOX_BINDS_MAX);
	for (size_t i = 0; i < spec->n_binds; i++) {
		r = check_path("bind source", spec->binds[i].source, err);
		if (r < 0)
			return r;
		r = check_path("bind target", spec->binds[i].target, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_pair(struct strbuf *out, const char *key, const char *value)
{
	if (!value)
		return 0;
	int r = strbuf_add(out, key, strlen(key) + 1);
	if (r < 0)
		return r;
	return strbuf_add(out, value, strlen(value) + 1);
}

static int add_number(struct strbuf *out, const char *key, long long value)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", value);
	return add_pair(out, key, buf);
}

int sandbox_spec_serialize(const struct sandbox_spec *spec, struct strbuf *out)
{
	int r = 0;
	r = r < 0 ? r : add_pair(out, "id", spec->id);
	r = r < 0 ? r : add_pair(out, "state_dir", spec->state_dir);
	r = r < 0 ? r : add_pair(out, "hostname", spec->hostname);
	r = r < 0 ? r : add_pair(out, "netns_path", spec->netns_path);
	r = r < 0 ? r : add_pair(out, "app_dir", spec->app_dir);
	r = r < 0 ? r : add_number(out, "uid", spec->uid);
	r = r < 0 ? r : add_number(out, "gid", spec->gid);
	for (char *const *e = spec->env; r >= 0 && e && *e; e++)
		r = add_pair(out, "env", *e);
	r = r < 0 ? r : add_pair(out, "command", spec->command);
	r = r < 0 ? r : add_number(out, "memory_bytes", (long long)spec->memory_bytes);
	r = r < 0 ? r : add_number(out, "pids_max", spec->pids_max);
	r = r < 0 ? r : add_number(out, "cpu_weight", spec->cpu_weight);
	r = r < 0 ? r : add_pair(out, "resolv_conf", spec->resolv_conf);
	r = r < 0 ? r : add_number(out, "output_fd", spec->output_fd);
	r = r < 0 ? r : add_number(out, "io", spec->io);
	for (size_t i = 0; r >= 0 && i < spec->n_binds; i++) {
		/* "rw:/source:/target": paths hold no ':' (check_path), so the split is unambiguous. */
		_cleanup_free_ char *v = xasprintf("%s:%s:%s", spec->binds[i].writable ? "rw" : "ro",
						   spec->binds[i].source, spec->binds[i].target);
		r = add_pair(out, "bind", v);
	}
	return r;
}

/* Parses a decimal in min..max. */
static int parse_number(const char *key, const char *s, long long min, long long max, long long *ret,
			struct error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return error_set(err, -EINVAL, "spec: '%s' is not a valid number: '%.32s'", key, s);
	*ret = v;
	return 0;
}

void sandbox_spec_wire_release(struct sandbox_spec_wire *w)
{
	free(w->data);
	free(w->env);
	free(w->binds);
	*w = (struct sandbox_spec_wire){ 0 };
}

int sandbox_spec_parse(char *data, size_t len, struct sandbox_spec_wire *ret, struct error *err)
{
	*ret = (struct sandbox_spec_wire){ .data = data, .spec = { .output_fd = -1 } };
	struct sandbox_spec *spec = &ret->spec;
	if (len > 0 && data[len - 1] != '\0')
		goto bad;

	size_t n_env = 0, n_binds = 0;
	for (size_t i = 0; i < len; i += strlen(data + i) + 1) {
		if (streq(data + i, "env"))
			n_env++;
		else if (streq(data + i, "bind"))
			n_binds++;
	}
	ret->env = xcalloc(n_env + 1, sizeof(char *));
	ret->binds = xcalloc(n_binds + 1, sizeof(struct sandbox_bind));
	size_t e = 0;

	for (size_t i = 0; i < len;) {
		const char *key = data + i;
		i += strlen(key) + 1;
		if (i >= len)
			goto bad;
		char *value = data + i;
		i += strlen(value) + 1;

		long long v = 0;
		int r = 0;
		if (streq(key, "id"))
			spec->id = value;
		else if (streq(key, "state_dir"))
			spec->state_dir = value;
		else if (streq(key, "hostname"))
			spec->hostname = value;
		else if (streq(key, "netns_path"))
			spec->netns_path = value;
		else if (streq(key, "app_dir"))
			spec->app_dir = value;
		else if (streq(key, "env"))
			ret->env[e++] = value;
		else if (streq(key, "bind")) {
			char *source = strchr(value, ':');
			char *target = source ? strchr(source + 1, ':') : NULL;
			if (!target || (strncmp(value, "rw:", 3) != 0 && strncmp(value, "ro:", 3) != 0))
				return error_set(err, -EINVAL, "spec: bind '%.64s' is not rw|ro:SOURCE:TARGET", value);
			*target++ = '\0';
			ret->binds[spec->n_binds++] = (struct sandbox_bind){
				.source = source + 1, .target = target, .writable = value[1] == 'w' };
		}
		else if (streq(key, "command"))
			spec->command = value;
		else if (streq(key, "resolv_conf"))
			spec->resolv_conf = value;
		else if (streq(key, "uid")) {
			r = parse_number(key, value, 0, UINT32_MAX - 1, &v, err);
			spec->uid = (uid_t)v;
		} else if (streq(key, "gid")) {
			r = parse_number(key, value, 0, UINT32_MAX - 1, &v, err);
			spec->gid = (gid_t)v;
		} else if (streq(key, "memory_bytes")) {
			r = parse_number(key, value, 0, INT64_MAX, &v, err);
			spec->memory_bytes = (uint64_t)v;
		} else if (streq(key, "pids_max")) {
			r = parse_number(key, value, 0, UINT32_MAX, &v, err);
			spec->pids_max = (unsigned)v;
		} else if (streq(key, "cpu_weight")) {
			r = parse_number(key, value, 0, SANDBOX_CPU_WEIGHT_MAX, &v, err);
			spec->cpu_weight = (unsigned)v;
		} else if (streq(key, "output_fd")) {
			r = parse_number(key, value, -1, INT32_MAX, &v, err);
			spec->output_fd = (int)v;
		} else if (streq(key, "io")) {
			r = parse_number(key, value, 0, SANDBOX_IO_TTY, &v, err);
			spec->io = (enum sandbox_io)v;
		} else
			return error_set(err, -EINVAL, "spec: unknown key '%.32s'", key);
		if (r < 0)
			return r;
	}
	spec->env = ret->env;
	spec->binds = ret->binds;
	return sandbox_spec_validate(spec, err);
bad:
	return error_set(err, -EINVAL, "spec: truncated");
}
