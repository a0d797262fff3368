/* SPDX-License-Identifier: MIT */
#include "build/build-procfile.h"

#include <ctype.h>
#include <string.h>

#include "base/alloc.h"
#include "base/strbuf.h"

#define FORMATION_QUANTITY_MAX 100

int process_type_check(const char *type, struct error *err)
{
	size_t len = strlen(type);
	bool ok = len > 0 && len <= PROCESS_TYPE_NAME_MAX && islower((unsigned char)type[0]);
	for (size_t i = 0; ok && i < len; i++)
		ok = islower((unsigned char)type[i]) || isdigit((unsigned char)type[i]) || type[i] == '_' || type[i] == '-';
	if (!ok)
		return error_set(err, -EINVAL,
				 "process type '%.40s' is invalid: lower-case letters, digits, '_' and '-', starting with "
				 "a letter, at most %d characters",
				 type, PROCESS_TYPE_NAME_MAX);
	return 0;
}

/* Trims spaces and tabs at both ends of [*start, *end). */
static void trim(const char **start, const char **end)
{
	while (*start < *end && (**start == ' ' || **start == '\t'))
		(*start)++;
	while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
}

/* Adds type -> command to types, after the checks every source of process types shares. */
static int types_add(json_t *types, const char *what, unsigned line, const char *type, const char *command,
		     size_t command_len, struct error *err)
{
	struct error why = { 0 };
	if (process_type_check(type, &why) < 0)
		return error_set(err, -EINVAL, "%s line %u: %s", what, line, why.message);
	if (json_object_get(types, type))
		return error_set(err, -EINVAL, "%s line %u: process type '%s' is given twice", what, line, type);
	if (command_len == 0)
		return error_set(err, -EINVAL, "%s line %u: process type '%s' has no command", what, line, type);
	if (command_len > PROCESS_COMMAND_MAX)
		return error_set(err, -EINVAL, "%s line %u: the command of '%s' is longer than %d bytes", what, line, type,
				 PROCESS_COMMAND_MAX);
	if (memchr(command, '\0', command_len))
		return error_set(err, -EINVAL, "%s line %u: the command of '%s' holds a NUL byte", what, line, type);
	if (json_object_size(types) >= PROCESS_TYPES_MAX)
		return error_set(err, -EINVAL, "%s line %u: more than %d process types", what, line, PROCESS_TYPES_MAX);
	json_object_set_new(types, type, json_stringn(command, command_len));
	return 0;
}

int procfile_parse(const char *text, size_t len, json_t **ret, struct error *err)
{
	*ret = NULL;
	if (len > PROCFILE_MAX)
		return error_set(err, -EINVAL, "Procfile is larger than %d bytes", PROCFILE_MAX);
	json_t *types = json_object();
	unsigned line = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		line++;
		const char *s = p, *e = eol;
		p = eol < end ? eol + 1 : end;
		trim(&s, &e);
		if (s == e || *s == '#')
			continue;
		const char *colon = memchr(s, ':', (size_t)(e - s));
		if (!colon || colon == s) {
			json_decref(types);
			return error_set(err, -EINVAL, "Procfile line %u: expected 'type: command', got '%.*s'", line,
					 (int)(e - s > 60 ? 60 : e - s), s);
		}
		char type[PROCESS_TYPE_NAME_MAX + 2];
		size_t tl = (size_t)(colon - s);
		const char *ts = s, *te = colon;
		trim(&ts, &te);
		tl = (size_t)(te - ts);
		if (tl >= sizeof(type))
			tl = sizeof(type) - 1; /* too long: the check below says so */
		memcpy(type, ts, tl);
		type[tl] = '\0';
		const char *cs = colon + 1, *ce = e;
		trim(&cs, &ce);
		int r = types_add(types, "Procfile", line, type, cs, (size_t)(ce - cs), err);
		if (r < 0) {
			json_decref(types);
			return r;
		}
	}
	*ret = types;
	return 0;
}

/* A YAML scalar as buildpacks print them: plain, or in single or double quotes. */
static int yaml_scalar(const char *s, const char *e, char **ret)
{
	if (e - s >= 2 && ((*s == '"' && e[-1] == '"') || (*s == '\'' && e[-1] == '\''))) {
		char quote = *s;
		struct strbuf sb = STRBUF_INIT;
		for (const char *p = s + 1; p < e - 1; p++) {
			if (quote == '\'' && *p == '\'' && p + 1 < e - 1 && p[1] == '\'') {
				strbuf_addch(&sb, '\'');
				p++;
			} else if (quote == '"' && *p == '\\' && p + 1 < e - 1) {
				p++;
				strbuf_addch(&sb, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
			} else {
				strbuf_addch(&sb, *p);
			}
		}
		*ret = strbuf_detach(&sb);
		return 0;
	}
	*ret = xstrndup(s, (size_t)(e - s));
	return 0;
}

int release_yaml_parse(const char *text, size_t len, json_t **ret, struct error *err)
{
	*ret = NULL;
	if (len > PROCFILE_MAX)
		return error_set(err, -EINVAL, "bin/release printed more than %d bytes", PROCFILE_MAX);
	json_t *types = json_object();
	bool inside = false;
	unsigned line = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		line++;
		const char *s = p, *e = eol;
		p = eol < end ? eol + 1 : end;
		bool indented = s < e && (*s == ' ' || *s == '\t');
		trim(&s, &e);
		if (s == e || *s == '#' || (!inside && e - s == 3 && strncmp(s, "---", 3) == 0))
			continue;
		if (!indented) {
			static const char key[] = "default_process_types:";
			inside = (size_t)(e - s) >= sizeof(key) - 1 && strncmp(s, key, sizeof(key) - 1) == 0;
			if (inside) {
				const char *v = s + sizeof(key) - 1, *ve = e;
				trim(&v, &ve);
				if (v != ve && !(ve - v == 2 && v[0] == '{' && v[1] == '}')) {
					json_decref(types);
					return error_set(err, -EINVAL,
							 "bin/release line %u: default_process_types must be a block of "
							 "'type: command' lines",
							 line);
				}
			}
			continue;
		}
		if (!inside)
			continue;
		const char *colon = memchr(s, ':', (size_t)(e - s));
		if (!colon || colon == s) {
			json_decref(types);
			return error_set(err, -EINVAL, "bin/release line %u: expected 'type: command'", line);
		}
		_cleanup_free_ char *type = NULL, *command = NULL;
		const char *ts = s, *te = colon, *cs = colon + 1, *ce = e;
		trim(&ts, &te);
		trim(&cs, &ce);
		yaml_scalar(ts, te, &type);
		yaml_scalar(cs, ce, &command);
		int r = types_add(types, "bin/release", line, type, command, strlen(command), err);
		if (r < 0) {
			json_decref(types);
			return r;
		}
	}
	*ret = types;
	return 0;
}

void app_manifest_release(struct app_manifest *m)
{
	json_decref(m->formation);
	json_decref(m->buildpacks);
	free(m->postdeploy);
	*m = (struct app_manifest){ 0 };
}

static int manifest_formation(json_t *formation, json_t *out, struct error *err)
{
	/* Heroku's form is an object of type -> {quantity, size}; an array of {type, ...} is accepted too. */
	const char *type;
	json_t *v;
	size_t i;
	json_t *items = json_array();
	if (json_is_object(formation)) {
		json_object_foreach(formation, type, v)
		{
			json_t *item = json_is_object(v) ? json_deep_copy(v) : json_object();
			json_object_set_new(item, "type", json_string(type));
			json_array_append_new(items, item);
			if (!json_is_object(v)) {
				json_decref(items);
				return error_set(err, -EINVAL, "app.json: formation of '%.40s' must be an object", type);
			}
		}
	} else if (json_is_array(formation)) {
		json_array_foreach(formation, i, v) json_array_append(items, v);
	} else {
		json_decref(items);
		return error_set(err, -EINVAL, "app.json: 'formation' must be an object of type -> {quantity, size}");
	}
	json_array_foreach(items, i, v)
	{
		json_t *t = json_object_get(v, "type"), *q = json_object_get(v, "quantity"), *s = json_object_get(v, "size");
		struct error why = { 0 };
		int r = 0;
		if (!json_is_object(v) || !json_is_string(t))
			r = error_set(err, -EINVAL, "app.json: each formation entry needs a 'type'");
		else if (process_type_check(json_string_value(t), &why) < 0)
			r = error_set(err, -EINVAL, "app.json: formation: %s", why.message);
		else if (q && (!json_is_integer(q) || json_integer_value(q) < 0 ||
			       json_integer_value(q) > FORMATION_QUANTITY_MAX))
			r = error_set(err, -EINVAL, "app.json: quantity of '%s' must be a number from 0 to %d",
				      json_string_value(t), FORMATION_QUANTITY_MAX);
		else if (s && !json_is_string(s))
			r = error_set(err, -EINVAL, "app.json: size of '%s' must be a string", json_string_value(t));
		if (r < 0) {
			json_decref(items);
			return r;
		}
		json_t *entry = json_pack("{s:O}", "type", t);
		if (q)
			json_object_set(entry, "quantity", q);
		if (s)
			json_object_set(entry, "size", s);
		json_array_append_new(out, entry);
	}
	json_decref(items);
	return 0;
}

int app_manifest_parse(const char *text, size_t len, struct app_manifest *ret, struct error *err)
{
	*ret = (struct app_manifest){ .formation = json_array(), .buildpacks = json_array() };
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		app_manifest_release(ret);
		return error_set(err, -EINVAL, "app.json is not valid JSON: %s at line %d", jerr.text, jerr.line);
	}
	int r = 0;
	json_t *formation = json_object_get(root, "formation");
	json_t *buildpacks = json_object_get(root, "buildpacks");
	json_t *scripts = json_object_get(root, "scripts");
	if (!json_is_object(root))
		r = error_set(err, -EINVAL, "app.json must hold an object");
	if (r >= 0 && formation && !json_is_null(formation))
		r = manifest_formation(formation, ret->formation, err);
	if (r >= 0 && buildpacks && !json_is_null(buildpacks)) {
		size_t i;
		json_t *b;
		if (!json_is_array(buildpacks))
			r = error_set(err, -EINVAL, "app.json: 'buildpacks' must be a list of {\"url\": ...}");
		else
			json_array_foreach(buildpacks, i, b)
			{
				json_t *url = json_object_get(b, "url");
				if (!json_is_string(url)) {
					r = error_set(err, -EINVAL, "app.json: buildpack %zu has no 'url'", i + 1);
					break;
				}
				json_array_append(ret->buildpacks, url);
			}
	}
	if (r >= 0 && scripts && !json_is_null(scripts)) {
		json_t *postdeploy = json_object_get(scripts, "postdeploy");
		if (!json_is_object(scripts))
			r = error_set(err, -EINVAL, "app.json: 'scripts' must be an object");
		else if (postdeploy && !json_is_string(postdeploy))
			r = error_set(err, -EINVAL, "app.json: 'scripts.postdeploy' must be a string");
		else if (postdeploy && json_string_length(postdeploy) > 0)
			ret->postdeploy = xstrdup(json_string_value(postdeploy));
	}
	json_decref(root);
	if (r < 0)
		app_manifest_release(ret);
	return r;
}
