/* The framework's pure parsers, kept apart from I/O so tests and fuzzers drive them from
 * memory: URL decoding, query and form fields, cookies, header names, route patterns. */
#ifndef SECOND_HTTP_PARSE_H
#define SECOND_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/limits.h"

struct http_kv {
	char *key;   /* decoded, owned */
	char *value; /* decoded, owned */
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
const char *http_kvs_get(const struct http_kvs *kvs, const char *key); /* first match */
void http_kvs_free(struct http_kvs *kvs);

/* "X-Request-Id" -> "HTTP_X_REQUEST_ID" (the CGI variable); false when it does not fit. */
bool http_header_var(const char *name, char *buf, size_t bufsz);

/* Percent-decodes a path segment; ERR_INVALID for bad escapes, NUL, or "/" encoded. */
int http_decode_segment(const char *s, size_t len, char *out, size_t outsz, struct err *e)
	__attribute__((warn_unused_result));

/* Route matching. Params are ":name" segments; their values are decoded. A pattern may end in
 * a "*" segment, which matches the rest of the path (zero or more segments); the handler
 * reads that rest from the request path. */
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

/* The decoded value of ":name" after a match, or NULL. */
const char *http_params_get(const struct http_params *params, const char *name);

/* The request path, undecoded and without the query: REQUEST_URI up to '?' or '#', else
 * SCRIPT_NAME + PATH_INFO (either may be NULL). A path longer than outsz - 1 is cut. */
void http_request_path(const char *request_uri, const char *script_name, const char *path_info,
		       char *out, size_t outsz);

/* A request id is 1..LOG_REQUEST_ID_MAX-1 of [A-Za-z0-9._-]. */
bool http_request_id_valid(const char *s);

/* Response-side and CGI-variable helpers, pure so the tests cover them too. */

/* The header lines of a response being built: "Name: value", owned, at most
 * HTTP_MAX_RESPONSE_HEADERS. */
struct http_headers {
	char *lines[HTTP_MAX_RESPONSE_HEADERS];
	size_t n;
};

/* Sets a header, replacing one of the same name. -1 for an invalid name or value, a name the
 * framework writes itself (Status, Content-Length, Set-Cookie), or one header too many. */
int http_headers_set(struct http_headers *h, const char *name, const char *value);
/* Adds "Set-Cookie: name=value; Path=/; Max-Age=N; HttpOnly; SameSite=Lax[; Secure]" (no
 * Max-Age when max_age < 0). -1 for an invalid name or value or one header too many. */
int http_headers_cookie(struct http_headers *h, const char *name, const char *value, long max_age,
			bool secure);
/* The value of a header set so far, or NULL. */
const char *http_headers_get(const struct http_headers *h, const char *name);
void http_headers_free(struct http_headers *h);

/* The CGI response head: Status, X-Request-Id, Content-Type (when content_type is not NULL
 * and h has none), Cache-Control: no-store (unless h has one), X-Content-Type-Options:
 * nosniff, h's lines, Content-Length (not for 204 and 304, nor for body_len HTTP_NO_LENGTH,
 * a streamed reply) and the blank line. malloc'd. */
#define HTTP_NO_LENGTH ((size_t)-1)
char *http_response_head(int status, const char *request_id, const char *content_type,
			 const struct http_headers *h, size_t body_len);

/* Parses a non-empty request body by its Content-Type: a JSON object (*json, new reference;
 * ERR_INVALID / ERR_TOO_DEEP for bad JSON or another JSON type) or a urlencoded form (*form);
 * ERR_UNSUPPORTED for any other type. */
int http_parse_body(const char *content_type, const char *body, size_t len, json_t **json,
		    struct http_kvs *form, struct err *e) __attribute__((warn_unused_result));

/* The reason phrase of a status ("Not Found"); a generic one for unlisted codes. */
const char *http_status_reason(int status);
/* The status and client-facing error code http_reply_err uses for an error code. */
int http_err_status(enum err_code code, const char **name);
/* Whether a Content-Type names `type` ("application/json"), ignoring case and parameters. */
bool http_media_is(const char *content_type, const char *type);
/* A response header name (letters, digits, '-') and value (no CR, LF, NUL or other control
 * byte but TAB; at most HTTP_MAX_HEADER_BYTES). */
bool http_header_name_valid(const char *name);
bool http_header_value_valid(const char *value);
/* A cookie we may send: token name, RFC 6265 cookie-octet value (may be empty). */
bool http_cookie_valid(const char *name, const char *value);
/* CONTENT_LENGTH: NULL or "" is 0; digits only; ERR_INVALID when malformed, ERR_TOO_LARGE over
 * max. */
int http_content_length(const char *s, size_t max, size_t *len, struct err *e)
	__attribute__((warn_unused_result));
/* Whether the client reached the web server over TLS: HTTPS=on, or the first entry of
 * X-Forwarded-Proto is "https". Either may be NULL. */
bool http_https(const char *https_var, const char *forwarded_proto);

#endif
