/* JSON helpers over jansson: bounded parsing, dotted paths, compact and stable dumps.
 *
 * Everything that reads client JSON goes through jsonx_loadb, which enforces a byte limit
 * before parsing and a depth limit after (jansson itself stops at 2048 levels, so parsing
 * cannot exhaust the stack first). Dotted paths ("source.appId") walk objects only. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "lib/jsonx.h"
#include "lib/limits.h"

json_t *jsonx_loadb(const char *buf, size_t len, size_t max_bytes, int max_depth, struct err *e)
{
	json_error_t jerr;
	json_t *v = NULL;

	if (len > max_bytes) {
		err_set(e, ERR_TOO_LARGE, "JSON is %zu bytes, over the limit of %zu", len,
			max_bytes);
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL) {
		/* Past jansson's own depth limit the input is too deep, not malformed. */
		if (json_error_code(&jerr) == json_error_stack_overflow)
			err_set(e, ERR_TOO_DEEP, "JSON nesting is deeper than %d", max_depth);
		else
			err_set(e, ERR_INVALID, "invalid JSON at line %d column %d: %s", jerr.line,
				jerr.column, jerr.text);
		return NULL;
	}
	if (jsonx_depth(v, max_depth) > max_depth) {
		json_decref(v);
		err_set(e, ERR_TOO_DEEP, "JSON nesting is deeper than %d", max_depth);
		return NULL;
	}
	return v;
}

int jsonx_depth(const json_t *v, int cap)
{
	const char *key;
	json_t *child;
	size_t i;
	int max = 0, d;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (cap < 0)
		return cap + 1;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, child) {
			d = jsonx_depth(child, cap - 1);
			if (d > max)
				max = d;
			if (max > cap - 1)
				break;
		}
	} else {
		json_array_foreach (v, i, child) {
			d = jsonx_depth(child, cap - 1);
			if (d > max)
				max = d;
			if (max > cap - 1)
				break;
		}
	}
	return max + 1 > cap + 1 ? cap + 1 : max + 1;
}

static char *dumps_or_abort(const json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags | JSON_ENCODE_ANY);

	/* json_dumps fails only on allocation failure for valid values. */
	if (s == NULL)
		abort();
	return s;
}

char *jsonx_dumps_compact(const json_t *v, size_t *len)
{
	char *s = dumps_or_abort(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (len != NULL)
		*len = strlen(s);
	return s;
}

char *jsonx_dumps_stable(const json_t *v)
{
	return dumps_or_abort(v, JSON_COMPACT | JSON_SORT_KEYS);
}

const char *jsonx_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Copies segment `n` of path into buf; returns its length, or -1 when too long. */
static int segment(const char *path, char *buf, size_t bufsz, const char **next)
{
	const char *dot = strchr(path, '.');
	size_t len = dot ? (size_t)(dot - path) : strlen(path);

	if (len >= bufsz)
		return -1;
	memcpy(buf, path, len);
	buf[len] = '\0';
	*next = dot ? dot + 1 : NULL;
	return (int)len;
}

json_t *jsonx_path_get(const json_t *obj, const char *path)
{
	char seg[STORE_MAX_PATH_LEN + 1];
	const json_t *cur = obj;
	const char *p = path;

	while (p != NULL) {
		if (!json_is_object(cur) || segment(p, seg, sizeof(seg), &p) < 0)
			return NULL;
		cur = json_object_get(cur, seg);
		if (cur == NULL)
			return NULL;
	}
	return (json_t *)cur;
}

int jsonx_path_set_new(json_t *obj, const char *path, json_t *value, struct err *e)
{
	char seg[STORE_MAX_PATH_LEN + 1];
	json_t *cur = obj, *child;
	const char *p = path;

	for (;;) {
		if (!json_is_object(cur) || segment(p, seg, sizeof(seg), &p) < 0) {
			json_decref(value);
			return err_set(e, ERR_INVALID, "cannot set '%s': not an object on the way",
				       path);
		}
		if (p == NULL)
			break;
		child = json_object_get(cur, seg);
		if (child == NULL) {
			child = json_object();
			/* Fails on a key that is not UTF-8, and then frees child. */
			if (json_object_set_new(cur, seg, child) != 0) {
				json_decref(value);
				return err_set(e, ERR_INVALID, "cannot set '%s'", path);
			}
		}
		cur = child;
	}
	if (json_object_set_new(cur, seg, value) != 0)
		return err_set(e, ERR_INVALID, "cannot set '%s'", path);
	return 0;
}

int jsonx_path_del(json_t *obj, const char *path)
{
	const char *dot = strrchr(path, '.');
	json_t *parent = obj;
	char head[STORE_MAX_PATH_LEN + 1];

	if (dot != NULL) {
		size_t len = (size_t)(dot - path);

		if (len >= sizeof(head))
			return 0;
		memcpy(head, path, len);
		head[len] = '\0';
		parent = jsonx_path_get(obj, head);
	}
	if (json_is_object(parent))
		/* A missing key is not an error: $unset of an absent field is a no-op. */
		(void)json_object_del(parent, dot ? dot + 1 : path);
	return 0;
}
