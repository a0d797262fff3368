/* SPDX-License-Identifier: MIT */
#include "build/build-buildpack.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

#ifndef COVE_SOURCE_ROOT
#define COVE_SOURCE_ROOT "."
#endif

static const char accepted[] = "use a buildpack cove ships (nodejs, python, static, procfile), or a directory or a "
			       "git repository on the API's host (a path, or file://PATH, with #ref for a branch)";

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_buildpack_dir(const char *path)
{
	_cleanup_free_ char *compile = xasprintf("%s/bin/compile", path);
	return access(compile, X_OK) == 0;
}

int buildpack_ref_parse(const char *url, const char *shipped_dir, struct buildpack_ref *ret, struct error *err)
{
	*ret = (struct buildpack_ref){ 0 };
	size_t len = strlen(url);
	if (len == 0 || len > BUILDPACK_URL_MAX)
		return error_set(err, -EINVAL, "buildpack must be 1 to %d characters", BUILDPACK_URL_MAX);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '\'' || *p == '"' || *p == '\\')
			return error_set(err, -EINVAL, "buildpack '%.64s' holds a space, a quote or a control character", url);
	snprintf(ret->name, sizeof(ret->name), "%s", url);

	const char *path = url;
	bool git_url = false;
	if (strncmp(url, "file://", 7) == 0) {
		path = url + 7;
		git_url = true;
	} else if (strstr(url, "://") || strncmp(url, "git@", 4) == 0) {
		return error_set(err, -EINVAL, "buildpack '%s' is not on this host: %s", url, accepted);
	}

	if (path[0] == '/') {
		const char *hash = strchr(path, '#');
		size_t pl = hash ? (size_t)(hash - path) : strlen(path);
		if (pl >= sizeof(ret->path))
			return error_set(err, -EINVAL, "buildpack path '%.64s...' is too long", path);
		memcpy(ret->path, path, pl);
		ret->path[pl] = '\0';
		if (hash) {
			if (strlen(hash + 1) == 0 || strlen(hash + 1) >= sizeof(ret->ref) || hash[1] == '-')
				return error_set(err, -EINVAL, "buildpack '%s': '#%s' is not a branch or tag", url, hash + 1);
			snprintf(ret->ref, sizeof(ret->ref), "%s", hash + 1);
		}
		if (strstr(ret->path, "/../") || strstr(ret->path, "/./"))
			return error_set(err, -EINVAL, "buildpack path '%s' must not hold '.' or '..'", ret->path);
		if (!is_dir(ret->path))
			return error_set(err, -EINVAL, "buildpack '%s': no directory '%s' on this host", url, ret->path);
		if (!git_url && !hash && is_buildpack_dir(ret->path)) {
			ret->kind = BUILDPACK_DIRECTORY;
			return 0;
		}
		_cleanup_free_ char *head = xasprintf("%s/HEAD", ret->path);
		_cleanup_free_ char *dotgit = xasprintf("%s/.git", ret->path);
		if (access(head, F_OK) != 0 && !is_dir(dotgit))
			return error_set(err, -EINVAL, "buildpack '%s' is neither a buildpack (no executable bin/compile) nor a git repository", url);
		ret->kind = BUILDPACK_GIT;
		return 0;
	}

	/* A name: "nodejs", or with a namespace, "heroku/nodejs" as Heroku's CLI writes it. */
	const char *slash = strchr(url, '/');
	const char *name = slash ? slash + 1 : url;
	bool plain = *name && strlen(name) <= 64;
	for (const char *p = name; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
	if (!plain)
		return error_set(err, -EINVAL, "buildpack '%s' is unknown: %s", url, accepted);
	if (slash && strncmp(url, "heroku/", 7) != 0 && strncmp(url, "cove/", 5) != 0)
		return error_set(err, -EINVAL, "buildpack '%s' is unknown: %s", url, accepted);
	if (!shipped_dir)
		return error_set(err, -EINVAL, "buildpack '%s': this coved ships no buildpacks", url);
	snprintf(ret->path, sizeof(ret->path), "%s/%s", shipped_dir, name);
	if (!is_buildpack_dir(ret->path))
		return error_set(err, -EINVAL, "buildpack '%s' is not one cove ships: %s", url, accepted);
	snprintf(ret->name, sizeof(ret->name), "cove/%s", name);
	ret->kind = BUILDPACK_SHIPPED;
	return 0;
}

char *buildpack_shipped_dir_default(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *installed = xasprintf("%s/../share/cove/buildpacks", exe);
			char real[PATH_MAX];
			if (is_dir(installed) && realpath(installed, real))
				return xstrdup(real);
		}
	}
	return xstrdup(COVE_SOURCE_ROOT "/buildpacks");
}
