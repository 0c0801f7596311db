/* The framework's pure parsers, kept apart from I/O so tests and fuzzers drive them from
 * memory: URL decoding, query and form fields, cookies, header names, route patterns. */
#ifndef SECOND_HTTP_PARSE_H
#define SECOND_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/limits.h"

struct http_kv {
	char *key;                               /* decoded, owned */
	char *value;                             /* decoded, owned */
};

struct http_kvs {
	struct http_kv *items;
	size_t n;
};

/* Parses "a=1&b=x%20y" (query strings and urlencoded forms: '+' is a space). At most
 * HTTP_MAX_QUERY_PARAMS pairs and HTTP_MAX_QUERY_BYTES of input; bad escapes or a NUL are
 * ERR_INVALID. */
int http_parse_urlencoded(const char *s, size_t len, struct http_kvs *out, struct err *e)
	__attribute__((warn_unused_result));
/* Parses a Cookie header "a=1; b=2" (values not decoded), at most HTTP_MAX_COOKIES. */
int http_parse_cookies(const char *s, struct http_kvs *out, struct err *e)
	__attribute__((warn_unused_result));
const char *http_kvs_get(const struct http_kvs *kvs, const char *key);   /* first match */
void http_kvs_free(struct http_kvs *kvs);

/* "X-Request-Id" -> "HTTP_X_REQUEST_ID" (the CGI variable); false when it does not fit. */
bool http_header_var(const char *name, char *buf, size_t bufsz);

/* Percent-decodes a path segment; ERR_INVALID for bad escapes, NUL, or "/" encoded. */
int http_decode_segment(const char *s, size_t len, char *out, size_t outsz, struct err *e)
	__attribute__((warn_unused_result));

/* Route matching. Params are ":name" segments; their values are decoded. */
struct http_params {
	const char *names[HTTP_MAX_PATH_PARAMS];
	char values[HTTP_MAX_PATH_PARAMS][HTTP_MAX_SEGMENT_BYTES + 1];
	size_t n;
};

/* 0 with *route set when method and path match; 404 when no pattern matches the path; 405
 * when one does but not with this method (allow, if not NULL, gets "GET, POST" style text).
 * Paths with "..", "//", a NUL, or over HTTP_MAX_PATH_BYTES never match (404). */
struct http_route;
int http_route_match(const struct http_route *routes, size_t n, const char *method,
		     const char *path, const struct http_route **route, struct http_params *params,
		     char *allow, size_t allowsz);

/* A request id is 1..LOG_REQUEST_ID_MAX-1 of [A-Za-z0-9._-]. */
bool http_request_id_valid(const char *s);

#endif
