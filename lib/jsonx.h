/* JSON helpers over jansson: bounded parsing, dotted paths, stable serialisation. */
#ifndef SECOND_JSONX_H
#define SECOND_JSONX_H

#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"

/* Parses exactly one JSON value from buf[0..len). New reference, or NULL with ERR_TOO_LARGE
 * (len > max_bytes), ERR_TOO_DEEP (nesting > max_depth) or ERR_INVALID (syntax, duplicate
 * keys, NUL in strings, trailing data). */
json_t *jsonx_loadb(const char *buf, size_t len, size_t max_bytes, int max_depth, struct err *e);
/* Nesting depth: scalars 0, [] and {} 1; stops counting past `cap` and returns cap + 1. */
int jsonx_depth(const json_t *v, int cap);
/* Compact text in insertion order; malloc'd, *len (may be NULL) gets its length. */
char *jsonx_dumps_compact(const json_t *v, size_t *len);
/* Compact text with keys sorted, for hashing: equal values give equal bytes. malloc'd. */
char *jsonx_dumps_stable(const json_t *v);

/* The string value of obj[key], or NULL when missing or not a string. Borrowed. */
const char *jsonx_str(const json_t *obj, const char *key);
/* Walks a dotted path through objects only. Borrowed reference or NULL. */
json_t *jsonx_path_get(const json_t *obj, const char *path);
/* Sets obj at a dotted path, creating missing objects; steals `value` even on failure.
 * ERR_INVALID when a segment on the way is not an object. */
int jsonx_path_set_new(json_t *obj, const char *path, json_t *value, struct err *e);
/* Removes the value at a dotted path; 0 whether or not it existed. */
int jsonx_path_del(json_t *obj, const char *path);

#endif
