/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The spec on its way from sandbox_start() to the shim, which is a new program (exec) and so
 * gets it as bytes: a sequence of NUL-terminated strings, alternately a key and its value
 * ("id\0<id>\0state_dir\0...\0env\0K=V\0env\0K=V\0..."). "env" repeats once per variable,
 * "bind" once per bind mount ("rw:/source:/target" or "ro:..."), keys whose value is NULL are
 * left out, numbers are decimal. The bytes travel in a sealed memfd, never on a command line
 * (the environment holds the app's secrets).
 */

#include <stddef.h>

#include "base/strbuf.h"
#include "sandbox/sandbox.h"

#define SANDBOX_SPEC_WIRE_MAX (SANDBOX_ENV_MAX + SANDBOX_COMMAND_MAX + 64 * 1024)

/* A spec parsed from the wire; its strings point into data. */
struct sandbox_spec_wire {
	char *data;
	char **env;
	struct sandbox_bind *binds;
	struct sandbox_spec spec;
};

/* Appends spec to out in the wire format. The spec is not validated here. */
int sandbox_spec_serialize(const struct sandbox_spec *spec, struct strbuf *out);

/*
 * Parses len bytes of wire format, taking ownership of data (allocated with malloc) even on
 * failure, into ret, then validates the spec. Release ret with sandbox_spec_wire_release().
 */
int sandbox_spec_parse(char *data, size_t len, struct sandbox_spec_wire *ret, struct error *err);

void sandbox_spec_wire_release(struct sandbox_spec_wire *w);
