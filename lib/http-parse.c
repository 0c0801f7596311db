/* The FastCGI framework's pure parsers and formatters: bytes in, decoded values or a refusal
 * out; and the reverse for the response head.
 *
 * Nothing here touches a socket, a lock or the logger, so unit tests and fuzzers drive every
 * function from memory. Decoded key/value lists (`struct http_kvs`) and response header lines
 * (`struct http_headers`) own their strings and are freed with their _free(); a failed parse
 * leaves its list empty. Route matching decodes the request path once into segments held on
 * the stack (never more than HTTP_MAX_PATH_BYTES in all), compares them with each pattern of
 * the table in order, and copies the ":name" values of the first row whose pattern and method
 * both match. A parameter's name in `struct http_params` points into its pattern just after
 * the ':' and ends at the next '/' or at the pattern's end (patterns are static strings, so the
 * pointer stays valid). */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "lib/codec.h"
#include "lib/http-parse.h"
#include "lib/http.h"
#include "lib/jsonx.h"

/* A request path split and decoded: segment i is seg[i], NUL-terminated inside buf. */
struct path_segs {
	char buf[HTTP_MAX_PATH_BYTES + 1];
	const char *seg[HTTP_MAX_PATH_SEGMENTS];
	size_t n;
};

/* Decodes %XX (and '+' as a space when plus_space) from s[0..len) into out. A bad escape or a
 * NUL, raw or decoded, is ERR_INVALID; more than outsz - 1 bytes is ERR_TOO_LARGE. With
 * no_slash, an encoded '/' is ERR_INVALID too. */
static int percent_decode(const char *s, size_t len, bool plus_space, bool no_slash, char *out,
			  size_t outsz, struct err *e)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len)
				return err_set(e, ERR_INVALID, "truncated percent escape");
			if (codec_hex_digit(s[i + 1]) < 0 || codec_hex_digit(s[i + 2]) < 0)
				return err_set(e, ERR_INVALID, "bad percent escape");
			c = codec_hex_digit(s[i + 1]) * 16 + codec_hex_digit(s[i + 2]);
			i += 2;
			if (c == '/' && no_slash)
				return err_set(e, ERR_INVALID, "encoded slash");
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == 0)
			return err_set(e, ERR_INVALID, "NUL byte");
		if (o + 1 >= outsz)
			return err_set(e, ERR_TOO_LARGE, "decoded value over %zu bytes", outsz - 1);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

void http_kvs_free(struct http_kvs *kvs)
{
	if (kvs == NULL)
		return;
	for (size_t i = 0; i < kvs->n; i++) {
		free(kvs->items[i].key);
		free(kvs->items[i].value);
	}
	free(kvs->items);
	kvs->items = NULL;
	kvs->n = 0;
}

const char *http_kvs_get(const struct http_kvs *kvs, const char *key)
{
	if (kvs == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < kvs->n; i++)
		if (strcmp(kvs->items[i].key, key) == 0)
			return kvs->items[i].value;
	return NULL;
}

/* Appends a pair of owned strings; the caller has checked the count against its limit. */
static void kvs_push(struct http_kvs *kvs, char *key, char *value)
{
	struct http_kv *items = realloc(kvs->items, (kvs->n + 1) * sizeof(*items));

	if (items == NULL)
		abort();
	kvs->items = items;
	items[kvs->n].key = key;
	items[kvs->n].value = value;
	kvs->n++;
}

/* A decoded copy of s[0..len), malloc'd; decoding never makes a value longer. */
static char *decode_dup(const char *s, size_t len, struct err *e)
{
	char *out = malloc(len + 1);

	if (out == NULL)
		abort();
	if (percent_decode(s, len, true, false, out, len + 1, e) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int parse_pair(const char *s, size_t len, struct http_kvs *out, struct err *e)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len;
	char *key = NULL, *value = NULL;

	if (out->n >= HTTP_MAX_QUERY_PARAMS)
		return err_set(e, ERR_TOO_LARGE, "more than %d parameters", HTTP_MAX_QUERY_PARAMS);
	key = decode_dup(s, klen, e);
	if (key == NULL)
		return -1;
	value = eq != NULL ? decode_dup(eq + 1, len - klen - 1, e) : strdup("");
	if (value == NULL) {
		free(key);
		return -1;
	}
	kvs_push(out, key, value);
	return 0;
}

int http_parse_urlencoded(const char *s, size_t len, struct http_kvs *out, struct err *e)
{
	size_t start = 0;

	out->items = NULL;
	out->n = 0;
	if (len > HTTP_MAX_QUERY_BYTES)
		return err_set(e, ERR_TOO_LARGE, "over %d bytes of parameters",
			       HTTP_MAX_QUERY_BYTES);
	if (len > 0 && memchr(s, '\0', len) != NULL)
		return err_set(e, ERR_INVALID, "NUL byte in parameters");
	while (start < len) {
		const char *amp = memchr(s + start, '&', len - start);
		size_t end = amp != NULL ? (size_t)(amp - s) : len;

		/* "a=1&&b=2" and a trailing '&' are common in hand-built URLs: empty pairs carry
		 * nothing, so they are skipped rather than refused. */
		if (end > start && parse_pair(s + start, end - start, out, e) != 0) {
			http_kvs_free(out);
			return -1;
		}
		start = end + 1;
	}
	return 0;
}

/* RFC 6265 cookie-name is an RFC 7230 token. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool token_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* cookie-octet of RFC 6265: printable ASCII but space, '"', ',', ';' and '\\'. */
static bool cookie_value_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
			return false;
	}
	return true;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* One "name=value" of a Cookie header. Malformed pairs are skipped, not refused: on a shared
 * host (127.0.0.1 in development) the browser sends other sites' cookies too, and one odd
 * cookie of theirs must not break our requests. */
static int parse_cookie(const char *s, size_t len, struct http_kvs *out, struct err *e)
{
	const char *eq;
	const char *name, *value;
	char *key, *val;
	size_t nlen, vlen;

	trim(&s, &len);
	eq = memchr(s, '=', len);
	if (eq == NULL)
		return 0;
	name = s;
	nlen = (size_t)(eq - s);
	value = eq + 1;
	vlen = len - nlen - 1;
	trim(&name, &nlen);
	trim(&value, &vlen);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value++;
		vlen -= 2;
	}
	if (!token_valid(name, nlen) || !cookie_value_valid(value, vlen))
		return 0;
	if (out->n >= HTTP_MAX_COOKIES)
		return err_set(e, ERR_TOO_LARGE, "more than %d cookies", HTTP_MAX_COOKIES);
	key = strndup(name, nlen);
	val = strndup(value, vlen);
	if (key == NULL || val == NULL)
		abort();
	kvs_push(out, key, val);
	return 0;
}

int http_parse_cookies(const char *s, struct http_kvs *out, struct err *e)
{
	size_t len;

	out->items = NULL;
	out->n = 0;
	if (s == NULL)
		return 0;
	len = strnlen(s, HTTP_MAX_HEADER_BYTES + 1);
	if (len > HTTP_MAX_HEADER_BYTES)
		return err_set(e, ERR_TOO_LARGE, "Cookie header over %d bytes",
			       HTTP_MAX_HEADER_BYTES);
	for (size_t start = 0; start < len;) {
		const char *semi = memchr(s + start, ';', len - start);
		size_t end = semi != NULL ? (size_t)(semi - s) : len;

		if (parse_cookie(s + start, end - start, out, e) != 0) {
			http_kvs_free(out);
			return -1;
		}
		start = end + 1;
	}
	return 0;
}

bool http_header_var(const char *name, char *buf, size_t bufsz)
{
	size_t len, off = 0;

	if (name == NULL || buf == NULL)
		return false;
	len = strlen(name);
	if (!token_valid(name, len))
		return false;
	/* CGI passes these two without the HTTP_ prefix (RFC 3875 4.1.2, 4.1.3). */
	if (strcasecmp(name, "Content-Type") == 0 || strcasecmp(name, "Content-Length") == 0)
		off = 0;
	else
		off = strlen("HTTP_");
	if (off + len + 1 > bufsz)
		return false;
	memcpy(buf, "HTTP_", off);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		buf[off + i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	buf[off + len] = '\0';
	return true;
}

int http_decode_segment(const char *s, size_t len, char *out, size_t outsz, struct err *e)
{
	if (outsz == 0)
		return err_set(e, ERR_TOO_LARGE, "no room for the segment");
	if (memchr(s, '/', len) != NULL)
		return err_set(e, ERR_INVALID, "slash in a segment");
	return percent_decode(s, len, false, true, out, outsz, e);
}

/* Splits and decodes an absolute path. Refuses (false) what must never match a route: no
 * leading '/', over HTTP_MAX_PATH_BYTES, "..", "//", a bad escape, an encoded '/' or NUL, a
 * segment that decodes to "." or "..", a segment over HTTP_MAX_SEGMENT_BYTES, or more than
 * HTTP_MAX_PATH_SEGMENTS segments. */
static bool path_split(const char *path, struct path_segs *ps)
{
	size_t len, o = 0;
	const char *p;

	if (path == NULL || path[0] != '/')
		return false;
	len = strnlen(path, HTTP_MAX_PATH_BYTES + 1);
	if (len > HTTP_MAX_PATH_BYTES || strstr(path, "..") != NULL || strstr(path, "//") != NULL)
		return false;
	ps->n = 0;
	for (p = path + 1;; p++) {
		size_t slen = strcspn(p, "/");
		size_t room = sizeof(ps->buf) - o;

		if (ps->n >= HTTP_MAX_PATH_SEGMENTS)
			return false;
		if (room > HTTP_MAX_SEGMENT_BYTES + 1)
			room = HTTP_MAX_SEGMENT_BYTES + 1;
		if (http_decode_segment(p, slen, ps->buf + o, room, NULL) != 0)
			return false;
		if (strcmp(ps->buf + o, ".") == 0 || strcmp(ps->buf + o, "..") == 0)
			return false;
		ps->seg[ps->n++] = ps->buf + o;
		o += strlen(ps->buf + o) + 1;
		p += slen;
		if (*p == '\0')
			return true;
	}
}

/* Whether the decoded path fits a pattern; fills params (when not NULL) as it goes. A pattern
 * with more than HTTP_MAX_PATH_PARAMS parameters never matches. A final "*" takes the rest of
 * the path, zero or more segments, every one of them already checked by path_split(). */
static bool pattern_match(const char *pattern, const struct path_segs *ps,
			  struct http_params *params)
{
	const char *p = pattern;
	size_t nparams = 0;

	if (params != NULL)
		params->n = 0;
	if (p == NULL || *p != '/')
		return false;
	p++;
	for (size_t i = 0; i < ps->n; i++) {
		size_t plen = strcspn(p, "/");

		if (strcmp(p, "*") == 0)
			return true;
		if (plen > 1 && p[0] == ':') {
			if (ps->seg[i][0] == '\0' || nparams >= HTTP_MAX_PATH_PARAMS)
				return false;
			if (params != NULL) {
				params->names[nparams] = p + 1;
				snprintf(params->values[nparams], sizeof(params->values[0]), "%s",
					 ps->seg[i]);
				params->n = nparams + 1;
			}
			nparams++;
		} else if (strlen(ps->seg[i]) != plen || memcmp(ps->seg[i], p, plen) != 0) {
			return false;
		}
		p += plen;
		if (*p == '\0')
			return i + 1 == ps->n;
		p++;
	}
	return strcmp(p, "*") == 0;
}

/* Adds method to the "GET, POST" list unless it is already there; cuts at a method boundary. */
static void allow_add(char *allow, size_t allowsz, const char *method)
{
	size_t used = strlen(allow), mlen = strlen(method);

	for (const char *a = allow; *a != '\0';) {
		size_t n = strcspn(a, ",");

		if (n == mlen && memcmp(a, method, mlen) == 0)
			return;
		a += n;
		a += strspn(a, ", ");
	}
	if (used + (used > 0 ? 2 : 0) + mlen + 1 > allowsz)
		return;
	snprintf(allow + used, allowsz - used, "%s%s", used > 0 ? ", " : "", method);
}

int http_route_match(const struct http_route *routes, size_t n, const char *method,
		     const char *path, const struct http_route **route, struct http_params *params,
		     char *allow, size_t allowsz)
{
	struct path_segs ps;
	bool path_seen = false;

	*route = NULL;
	if (params != NULL)
		params->n = 0;
	if (allow != NULL && allowsz > 0)
		allow[0] = '\0';
	if (method == NULL || !path_split(path, &ps))
		return 404;
	for (size_t i = 0; i < n; i++) {
		if (routes[i].method == NULL || !pattern_match(routes[i].pattern, &ps, NULL))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			/* Cannot fail: the same pattern matched without params just above. */
			(void)pattern_match(routes[i].pattern, &ps, params);
			*route = &routes[i];
			return 0;
		}
		path_seen = true;
		if (allow != NULL && allowsz > 0)
			allow_add(allow, allowsz, routes[i].method);
	}
	return path_seen ? 405 : 404;
}

bool http_request_id_valid(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, LOG_REQUEST_ID_MAX);
	if (len == 0 || len >= LOG_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

const char *http_status_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {{200, "OK"},
		       {201, "Created"},
		       {202, "Accepted"},
		       {204, "No Content"},
		       {301, "Moved Permanently"},
		       {302, "Found"},
		       {303, "See Other"},
		       {304, "Not Modified"},
		       {307, "Temporary Redirect"},
		       {308, "Permanent Redirect"},
		       {400, "Bad Request"},
		       {401, "Unauthorized"},
		       {403, "Forbidden"},
		       {404, "Not Found"},
		       {405, "Method Not Allowed"},
		       {409, "Conflict"},
		       {410, "Gone"},
		       {412, "Precondition Failed"},
		       {413, "Content Too Large"},
		       {415, "Unsupported Media Type"},
		       {422, "Unprocessable Content"},
		       {429, "Too Many Requests"},
		       {500, "Internal Server Error"},
		       {502, "Bad Gateway"},
		       {503, "Service Unavailable"},
		       {504, "Gateway Timeout"}};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
}

/* 5xx codes are generic on purpose: their messages stay in the log. */
int http_err_status(enum err_code code, const char **name)
{
	static const struct {
		enum err_code code;
		int status;
		const char *name;
	} map[] = {{ERR_INVALID, 400, "invalid_request"},
		   {ERR_TOO_DEEP, 400, "invalid_request"},
		   {ERR_NOT_FOUND, 404, "not_found"},
		   {ERR_DUPLICATE, 409, "duplicate"},
		   {ERR_CONFLICT, 409, "conflict"},
		   {ERR_TOO_LARGE, 413, "payload_too_large"},
		   {ERR_UNSUPPORTED, 415, "unsupported_media_type"},
		   {ERR_UNAVAILABLE, 503, "unavailable"},
		   {ERR_TIMEOUT, 503, "unavailable"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].code == code) {
			*name = map[i].name;
			return map[i].status;
		}
	}
	*name = "internal_error";
	return 500;
}

bool http_media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || strchr("; \t", ct[n]) != NULL);
}

bool http_header_name_valid(const char *name)
{
	char var[128];

	/* The CGI-name mapping accepts exactly letters, digits and '-'. */
	return http_header_var(name, var, sizeof(var));
}

bool http_header_value_valid(const char *v)
{
	size_t len;

	if (v == NULL)
		return false;
	len = strnlen(v, HTTP_MAX_HEADER_BYTES + 1);
	if (len > HTTP_MAX_HEADER_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

bool http_cookie_valid(const char *name, const char *value)
{
	return name != NULL && value != NULL && token_valid(name, strlen(name)) &&
	       strlen(value) <= HTTP_MAX_HEADER_BYTES && cookie_value_valid(value, strlen(value));
}

int http_content_length(const char *s, size_t max, size_t *len, struct err *e)
{
	unsigned long long n;
	char *end = NULL;

	*len = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	/* strtoull alone would take a sign or leading spaces. */
	if (s[0] < '0' || s[0] > '9')
		return err_set(e, ERR_INVALID, "bad Content-Length");
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return err_set(e, errno == ERANGE ? ERR_TOO_LARGE : ERR_INVALID,
			       "bad Content-Length");
	if (n > max)
		return err_set(e, ERR_TOO_LARGE, "the body is over %zu bytes", max);
	*len = (size_t)n;
	return 0;
}

bool http_https(const char *https_var, const char *proto)
{
	if (https_var != NULL && strcasecmp(https_var, "on") == 0)
		return true;
	if (proto == NULL)
		return false;
	proto += strspn(proto, " \t");
	return strncasecmp(proto, "https", 5) == 0 && strchr(", \t", proto[5]) != NULL;
}

const char *http_params_get(const struct http_params *params, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < params->n; i++) {
		const char *n = params->names[i];

		if (strncmp(n, name, len) == 0 && (n[len] == '/' || n[len] == '\0'))
			return params->values[i];
	}
	return NULL;
}

void http_request_path(const char *uri, const char *script, const char *info, char *out,
		       size_t outsz)
{
	if (outsz == 0)
		return;
	if (uri != NULL)
		snprintf(out, outsz, "%.*s", (int)strcspn(uri, "?#"), uri);
	else
		snprintf(out, outsz, "%s%s", script != NULL ? script : "",
			 info != NULL ? info : "");
}

static ssize_t headers_find(const struct http_headers *h, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < h->n; i++)
		if (strncasecmp(h->lines[i], name, len) == 0 && h->lines[i][len] == ':')
			return (ssize_t)i;
	return -1;
}

/* Takes a malloc'd line; replaces the line at `at` when at >= 0. */
static int headers_put(struct http_headers *h, char *line, ssize_t at)
{
	if (at >= 0) {
		free(h->lines[at]);
		h->lines[at] = line;
		return 0;
	}
	if (h->n >= HTTP_MAX_RESPONSE_HEADERS) {
		free(line);
		return -1;
	}
	h->lines[h->n++] = line;
	return 0;
}

int http_headers_set(struct http_headers *h, const char *name, const char *value)
{
	char *line = NULL;

	if (!http_header_name_valid(name) || !http_header_value_valid(value) ||
	    strcasecmp(name, "Status") == 0 || strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Set-Cookie") == 0)
		return -1;
	if (asprintf(&line, "%s: %s", name, value) < 0)
		abort();
	return headers_put(h, line, headers_find(h, name));
}

int http_headers_cookie(struct http_headers *h, const char *name, const char *value, long max_age,
			bool secure)
{
	char *line = NULL;
	char age[32] = "";

	if (!http_cookie_valid(name, value))
		return -1;
	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
	if (asprintf(&line, "Set-Cookie: %s=%s; Path=/%s; HttpOnly; SameSite=Lax%s", name, value,
		     age, secure ? "; Secure" : "") < 0)
		abort();
	return headers_put(h, line, -1);
}

const char *http_headers_get(const struct http_headers *h, const char *name)
{
	ssize_t i = headers_find(h, name);

	if (i < 0)
		return NULL;
	return h->lines[i] + strlen(name) + 1 + strspn(h->lines[i] + strlen(name) + 1, " ");
}

void http_headers_free(struct http_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->lines[i]);
	h->n = 0;
}

/* A growing string for the response head: every request builds one, so no stdio stream. */
struct head_buf {
	char *s;
	size_t len, cap;
};

static void head_add(struct head_buf *b, const char *a, const char *c, const char *d)
{
	const char *parts[3] = {a, c, d};

	for (size_t i = 0; i < 3; i++) {
		size_t n = parts[i] != NULL ? strlen(parts[i]) : 0;

		if (b->len + n + 1 > b->cap) {
			while (b->len + n + 1 > b->cap)
				b->cap = b->cap ? b->cap * 2 : 256;
			b->s = realloc(b->s, b->cap);
			if (b->s == NULL)
				abort();
		}
		memcpy(b->s + b->len, parts[i] != NULL ? parts[i] : "", n + 1);
		b->len += n;
	}
}

char *http_response_head(int status, const char *request_id, const char *content_type,
			 const struct http_headers *h, size_t body_len)
{
	struct head_buf b = {0};
	char num[32];

	snprintf(num, sizeof(num), "%d ", status);
	head_add(&b, "Status: ", num, http_status_reason(status));
	head_add(&b, "\r\nX-Request-Id: ", request_id, "\r\n");
	if (content_type != NULL && http_headers_get(h, "Content-Type") == NULL)
		head_add(&b, "Content-Type: ", content_type, "\r\n");
	if (http_headers_get(h, "Cache-Control") == NULL)
		head_add(&b, "Cache-Control: no-store\r\n", NULL, NULL);
	head_add(&b, "X-Content-Type-Options: nosniff\r\n", NULL, NULL);
	for (size_t i = 0; i < h->n; i++)
		head_add(&b, h->lines[i], "\r\n", NULL);
	if (status != 204 && status != 304 && body_len != HTTP_NO_LENGTH) {
		snprintf(num, sizeof(num), "%zu", body_len);
		head_add(&b, "Content-Length: ", num, "\r\n");
	}
	head_add(&b, "\r\n", NULL, NULL);
	return b.s;
}

int http_parse_body(const char *ct, const char *body, size_t len, json_t **json,
		    struct http_kvs *form, struct err *e)
{
	*json = NULL;
	form->items = NULL;
	form->n = 0;
	if (http_media_is(ct, "application/x-www-form-urlencoded"))
		return http_parse_urlencoded(body, len, form, e);
	if (!http_media_is(ct, "application/json"))
		return err_set(e, ERR_UNSUPPORTED,
			       "send application/json or application/x-www-form-urlencoded");
	*json = jsonx_loadb(body, len, HTTP_MAX_BODY_BYTES, JSON_MAX_DEPTH, e);
	if (*json == NULL)
		return -1;
	if (!json_is_object(*json)) {
		json_decref(*json);
		*json = NULL;
		return err_set(e, ERR_INVALID, "the body must be a JSON object");
	}
	return 0;
}
