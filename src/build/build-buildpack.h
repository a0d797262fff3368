/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Buildpack references, as `cove buildpacks:set` takes them and builds resolve them. A build
 * runs on the API's host, so every buildpack must be there:
 *
 *   nodejs, cove/nodejs, heroku/nodejs   a buildpack shipped with cove (buildpacks/ of the
 *                                        source, installed as share/cove/buildpacks)
 *   /srv/buildpacks/mine                 a directory holding bin/detect, bin/compile, bin/release
 *   /srv/buildpacks/mine.git[#ref]       a git repository on this host, cloned for each build
 *   file:///srv/buildpacks/mine.git[#ref]
 *
 * Network URLs (https://github.com/...) are refused: builds fetch nothing but the packages of
 * the app itself (docs/deploy.md).
 */

#include <limits.h>

#include "base/error.h"

#define BUILDPACK_URL_MAX 1024
#define BUILDPACK_SHIPPED_DEFAULT "nodejs python static procfile" /* the detection order */

enum buildpack_kind {
	BUILDPACK_SHIPPED,   /* path is its directory under the shipped buildpacks */
	BUILDPACK_DIRECTORY, /* path is the directory */
	BUILDPACK_GIT,       /* path is the repository, ref the branch or tag ("" for its HEAD) */
};

struct buildpack_ref {
	enum buildpack_kind kind;
	char name[BUILDPACK_URL_MAX + 8]; /* as builds and the API show it: "cove/nodejs", or the URL */
	char path[PATH_MAX];
	char ref[256];
};

/*
 * Parses and checks a reference against the buildpacks shipped in shipped_dir (and the file
 * system: a path must exist). -EINVAL with a message that says what is accepted.
 */
int buildpack_ref_parse(const char *url, const char *shipped_dir, struct buildpack_ref *ret, struct error *err);

/*
 * The directory of the shipped buildpacks when coved is not told (--buildpacks-dir):
 * share/cove/buildpacks next to an installed coved, else the source tree's buildpacks/.
 * The caller frees it.
 */
char *buildpack_shipped_dir_default(void);
