/* Unit tests of lib/http-parse.c: every parser and every refusal, from tables.
 *
 * Decoded lists are compared as "k=v|k=v" strings built by kvs_str(), so a table row is one
 * line: input, expected error code (ERR_OK to accept) and expected pairs. Route matching runs
 * against one small table shaped like second-api's, with literal segments before parameters,
 * and checks the matched row, the decoded parameters and the Allow text of 405s. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/http-parse.h"
#include "lib/http.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* "k=v|k=v" of a list, in order, into buf. */
static const char *kvs_str(const struct http_kvs *kvs, char *buf, size_t bufsz)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < kvs->n && used < bufsz; i++)
		used += (size_t)snprintf(buf + used, bufsz - used, "%s%s=%s", i ? "|" : "",
					 kvs->items[i].key, kvs->items[i].value);
	return buf;
}

/* A string of n copies of c, malloc'd. */
static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(len * n + 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

Test(http_parse, urlencoded_table)
{
	static const struct {
		const char *in;
		enum err_code code;
		const char *pairs;
	} cases[] = {
		{"", ERR_OK, ""},
		{"a=1", ERR_OK, "a=1"},
		{"a=1&b=x%20y", ERR_OK, "a=1|b=x y"},
		{"q=a+b%2Bc", ERR_OK, "q=a b+c"},
		{"a=1&&b=2&", ERR_OK, "a=1|b=2"},
		{"flag", ERR_OK, "flag="},
		{"a=", ERR_OK, "a="},
		{"=v", ERR_OK, "=v"},
		{"a=1&a=2", ERR_OK, "a=1|a=2"},
		{"k%3D=v%26w", ERR_OK, "k==v&w"},
		{"e=%C3%A9", ERR_OK, "e=\xc3\xa9"},
		{"a=%2F", ERR_OK, "a=/"},
		{"a=%zz", ERR_INVALID, ""},
		{"a=%2", ERR_INVALID, ""},
		{"a=%", ERR_INVALID, ""},
		{"%4=1", ERR_INVALID, ""},
		{"a=%00", ERR_INVALID, ""},
		{"ok=1&bad=%g0", ERR_INVALID, ""},
	};
	char buf[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_kvs kvs = {0};
		struct err e = {0};
		int rc = http_parse_urlencoded(cases[i].in, strlen(cases[i].in), &kvs, &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, cases[i].code, "%s: got %s (%s)",
			     cases[i].in, err_code_name(e.code), e.msg);
		cr_expect_str_eq(kvs_str(&kvs, buf, sizeof(buf)), cases[i].pairs, "%s",
				 cases[i].in);
		http_kvs_free(&kvs);
	}
}

Test(http_parse, urlencoded_limits)
{
	char *many = repeat("a=1&", HTTP_MAX_QUERY_PARAMS);
	char *over = repeat("a=1&", HTTP_MAX_QUERY_PARAMS + 1);
	char *big = repeat("x", HTTP_MAX_QUERY_BYTES + 1);
	struct http_kvs kvs = {0};
	struct err e = {0};

	cr_expect_eq(http_parse_urlencoded(many, strlen(many), &kvs, &e), 0, "%s", e.msg);
	cr_expect_eq(kvs.n, HTTP_MAX_QUERY_PARAMS);
	http_kvs_free(&kvs);
	cr_expect_eq(http_parse_urlencoded(over, strlen(over), &kvs, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(kvs.n, 0);
	cr_expect_eq(http_parse_urlencoded(big, strlen(big), &kvs, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	/* A NUL inside the given length is refused, not taken as the end. */
	cr_expect_eq(http_parse_urlencoded("a=1\0b=2", 7, &kvs, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	/* Only len bytes are read. */
	cr_expect_eq(http_parse_urlencoded("a=1&b=2", 3, &kvs, &e), 0);
	cr_expect_str_eq(http_kvs_get(&kvs, "a"), "1");
	cr_expect_null(http_kvs_get(&kvs, "b"));
	http_kvs_free(&kvs);
	http_kvs_free(&kvs);
	free(many);
	free(over);
	free(big);
}

Test(http_parse, cookies_table)
{
	static const struct {
		const char *in;
		enum err_code code;
		const char *pairs;
	} cases[] = {
		{"", ERR_OK, ""},
		{"a=1", ERR_OK, "a=1"},
		{"a=1; b=2", ERR_OK, "a=1|b=2"},
		{"  a = 1 ;b=2;  ", ERR_OK, "a=1|b=2"},
		{"second_session=abc-_DEF123", ERR_OK, "second_session=abc-_DEF123"},
		{"q=\"quoted\"", ERR_OK, "q=quoted"},
		{"v=a%20b", ERR_OK, "v=a%20b"},
		{"empty=", ERR_OK, "empty="},
		{"a=b=c", ERR_OK, "a=b=c"},
		/* other sites' malformed cookies are skipped, ours still read */
		{"noequals; a=1", ERR_OK, "a=1"},
		{"bad name=1; a=1", ERR_OK, "a=1"},
		{"x=sp ace; a=1", ERR_OK, "a=1"},
		{"x=com,ma; a=1", ERR_OK, "a=1"},
		{"x=\"unbalanced; a=1", ERR_OK, "a=1"},
		{"=novalue; a=1", ERR_OK, "a=1"},
		{"x=\x01; a=1", ERR_OK, "a=1"},
		{"x=\xc3\xa9; a=1", ERR_OK, "a=1"},
	};
	char buf[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_kvs kvs = {0};
		struct err e = {0};
		int rc = http_parse_cookies(cases[i].in, &kvs, &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, cases[i].code, "%s", cases[i].in);
		cr_expect_str_eq(kvs_str(&kvs, buf, sizeof(buf)), cases[i].pairs, "%s",
				 cases[i].in);
		http_kvs_free(&kvs);
	}
}

Test(http_parse, cookies_limits)
{
	char *many = repeat("c=1; ", HTTP_MAX_COOKIES);
	char *over = repeat("c=1; ", HTTP_MAX_COOKIES + 1);
	char *big = repeat("x", HTTP_MAX_HEADER_BYTES + 1);
	struct http_kvs kvs = {0};
	struct err e = {0};

	cr_expect_eq(http_parse_cookies(NULL, &kvs, &e), 0);
	cr_expect_eq(kvs.n, 0);
	cr_expect_eq(http_parse_cookies(many, &kvs, &e), 0);
	cr_expect_eq(kvs.n, HTTP_MAX_COOKIES);
	http_kvs_free(&kvs);
	cr_expect_eq(http_parse_cookies(over, &kvs, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(kvs.n, 0);
	cr_expect_eq(http_parse_cookies(big, &kvs, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(http_parse_cookies("a=1; a=2", &kvs, &e), 0);
	cr_expect_str_eq(http_kvs_get(&kvs, "a"), "1", "first match wins");
	cr_expect_null(http_kvs_get(&kvs, "A"), "names are case-sensitive");
	http_kvs_free(&kvs);
	free(many);
	free(over);
	free(big);
}

Test(http_parse, header_var_table)
{
	static const struct {
		const char *name;
		const char *var; /* NULL: refused */
	} cases[] = {
		{"X-Request-Id", "HTTP_X_REQUEST_ID"},
		{"x-request-id", "HTTP_X_REQUEST_ID"},
		{"Cookie", "HTTP_COOKIE"},
		{"Accept", "HTTP_ACCEPT"},
		{"X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO"},
		{"Content-Type", "CONTENT_TYPE"},
		{"content-length", "CONTENT_LENGTH"},
		{"A1", "HTTP_A1"},
		{"", NULL},
		{"X_Underscore", NULL},
		{"Bad Name", NULL},
		{"Bad:Name", NULL},
		{"Bad\r\nName", NULL},
		{"Caf\xc3\xa9", NULL},
	};
	char buf[64];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		bool ok = http_header_var(cases[i].name, buf, sizeof(buf));

		cr_expect_eq(ok, cases[i].var != NULL, "%s", cases[i].name);
		if (ok && cases[i].var != NULL)
			cr_expect_str_eq(buf, cases[i].var);
	}
	cr_expect(http_header_var("X-Id", buf, strlen("HTTP_X_ID") + 1));
	cr_expect_not(http_header_var("X-Id", buf, strlen("HTTP_X_ID")), "no room for the NUL");
	cr_expect_not(http_header_var(NULL, buf, sizeof(buf)));
}

Test(http_parse, decode_segment_table)
{
	static const struct {
		const char *in;
		enum err_code code;
		const char *out;
	} cases[] = {
		{"abc", ERR_OK, "abc"},       {"", ERR_OK, ""},
		{"a%20b", ERR_OK, "a b"},     {"a+b", ERR_OK, "a+b"},
		{"%41%62", ERR_OK, "Ab"},     {"%e2%82%ac", ERR_OK, "\xe2\x82\xac"},
		{"%2e%2e", ERR_OK, ".."}, /* the router refuses it; the decoder only decodes */
		{"a%2Fb", ERR_INVALID, NULL}, {"a%2fb", ERR_INVALID, NULL},
		{"a/b", ERR_INVALID, NULL},   {"a%00b", ERR_INVALID, NULL},
		{"a%zz", ERR_INVALID, NULL},  {"a%4", ERR_INVALID, NULL},
		{"a%", ERR_INVALID, NULL},    {"%%41", ERR_INVALID, NULL},
	};
	char out[16];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct err e = {0};
		int rc = http_decode_segment(cases[i].in, strlen(cases[i].in), out, sizeof(out),
					     &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, cases[i].code, "%s", cases[i].in);
		if (rc == 0 && cases[i].out != NULL)
			cr_expect_str_eq(out, cases[i].out, "%s", cases[i].in);
	}
}

Test(http_parse, decode_segment_limits)
{
	char out[4];
	struct err e = {0};

	cr_expect_eq(http_decode_segment("abc", 3, out, sizeof(out), &e), 0);
	cr_expect_eq(http_decode_segment("abcd", 4, out, sizeof(out), &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(http_decode_segment("%41%42%43", 9, out, sizeof(out), &e), 0,
		     "the limit is on decoded bytes");
	cr_expect_str_eq(out, "ABC");
	cr_expect_eq(http_decode_segment("a\0b", 3, out, sizeof(out), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

static int h_dummy(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct http_route routes[] = {
	{"GET", "/api/health", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/workspaces", h_dummy, 0, 0, NULL, 0},
	{"POST", "/api/workspaces", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws", h_dummy, 0, 0, NULL, 0},
	{"PATCH", "/api/workspaces/:ws", h_dummy, 0, 0, NULL, 0},
	{"DELETE", "/api/workspaces/:ws", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/status", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId", h_dummy, 0, 0, NULL, 0},
	{"PUT", "/api/workspaces/:ws/teams/:teamId", h_dummy, 0, 0, NULL, 0},
	{"POST", "/api/invitations/:id/accept", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/seven/:a/:b/:c/:d/:e/:f/:g", h_dummy, 0, 0, NULL, 0},
	{"GET", "/api/six/:a/:b/:c/:d/:e/:f", h_dummy, 0, 0, NULL, 0},
	{"GET", "/", h_dummy, 0, 0, NULL, 0},
};

Test(http_parse, route_table)
{
	static const struct {
		const char *method, *path;
		int rc;
		int row;            /* matched row when rc is 0 */
		const char *params; /* "name=value|..." when rc is 0; Allow text when 405 */
	} cases[] = {
		{"GET", "/api/health", 0, 0, ""},
		{"GET", "/api/workspaces", 0, 1, ""},
		{"POST", "/api/workspaces", 0, 2, ""},
		{"GET", "/api/workspaces/acme", 0, 3, "ws=acme"},
		{"DELETE", "/api/workspaces/acme", 0, 5, "ws=acme"},
		{"GET", "/api/workspaces/acme/apps/status", 0, 6, "ws=acme"},
		{"GET", "/api/workspaces/acme/apps/0123abcd", 0, 7, "ws=acme|appId=0123abcd"},
		{"PUT", "/api/workspaces/a%20b/teams/t%2B1", 0, 8, "ws=a b|teamId=t+1"},
		{"POST", "/api/invitations/abc/accept", 0, 9, "id=abc"},
		{"GET", "/api/%68ealth", 0, 0, ""},
		{"GET", "/api/six/1/2/3/4/5/6", 0, 11, "a=1|b=2|c=3|d=4|e=5|f=6"},
		{"GET", "/", 0, 12, ""},
		/* 405 with every method of the path, once each, in table order */
		{"POST", "/api/health", 405, -1, "GET"},
		{"PUT", "/api/workspaces", 405, -1, "GET, POST"},
		{"POST", "/api/workspaces/acme", 405, -1, "GET, PATCH, DELETE"},
		{"get", "/api/health", 405, -1, "GET"},
		{"OPTIONS", "/api/invitations/x/accept", 405, -1, "POST"},
		/* 404 */
		{"GET", "/api/nope", 404, -1, ""},
		{"GET", "/api/health/", 404, -1, ""},
		{"GET", "/api/workspaces/", 404, -1, ""},
		{"GET", "/api/workspaces/acme/apps", 404, -1, ""},
		{"GET", "/api/workspaces/acme/extra/deep", 404, -1, ""},
		{"GET", "api/health", 404, -1, ""},
		{"GET", "", 404, -1, ""},
		{"GET", "/API/health", 404, -1, ""},
		/* traversal and encodings that must never match */
		{"GET", "/api/../api/health", 404, -1, ""},
		{"GET", "/api/workspaces/..", 404, -1, ""},
		{"GET", "/api/workspaces/a..b", 404, -1, ""},
		{"GET", "/api/workspaces/%2e%2e", 404, -1, ""},
		{"GET", "/api/workspaces/%2E", 404, -1, ""},
		{"GET", "/api/workspaces/.", 404, -1, ""},
		{"GET", "/api//health", 404, -1, ""},
		{"GET", "//api/health", 404, -1, ""},
		{"GET", "/api/workspaces/a%2Fb", 404, -1, ""},
		{"GET", "/api/workspaces/a%2fb", 404, -1, ""},
		{"GET", "/api/workspaces/a%00b", 404, -1, ""},
		{"GET", "/api/workspaces/a%zzb", 404, -1, ""},
		{"GET", "/api/workspaces/a%", 404, -1, ""},
		/* a pattern with more than HTTP_MAX_PATH_PARAMS parameters never matches */
		{"GET", "/api/seven/1/2/3/4/5/6/7", 404, -1, ""},
	};
	char allow[64], got[512];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct http_route *route = (const void *)1;
		struct http_params params;
		int rc = http_route_match(routes, ARRAY_LEN(routes), cases[i].method, cases[i].path,
					  &route, &params, allow, sizeof(allow));

		cr_expect_eq(rc, cases[i].rc, "%s %s: %d", cases[i].method, cases[i].path, rc);
		if (rc != cases[i].rc)
			continue;
		if (rc == 405)
			cr_expect_str_eq(allow, cases[i].params, "%s", cases[i].path);
		if (rc != 0) {
			cr_expect_null(route, "%s", cases[i].path);
			continue;
		}
		cr_expect_eq(route, &routes[cases[i].row], "%s %s", cases[i].method, cases[i].path);
		got[0] = '\0';
		for (size_t p = 0; p < params.n; p++) {
			size_t nlen = strcspn(params.names[p], "/");

			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s=%s",
				 p ? "|" : "", (int)nlen, params.names[p], params.values[p]);
		}
		cr_expect_str_eq(got, cases[i].params, "%s", cases[i].path);
	}
}

Test(http_parse, route_limits)
{
	const struct http_route *route = NULL;
	struct http_params params;
	char allow[64];
	char *seg = repeat("a", HTTP_MAX_SEGMENT_BYTES);
	char *longseg = repeat("a", HTTP_MAX_SEGMENT_BYTES + 1);
	char *encseg = repeat("%61", HTTP_MAX_SEGMENT_BYTES);
	char *deep = repeat("/x", HTTP_MAX_PATH_SEGMENTS + 1);
	char *longpath = malloc(HTTP_MAX_PATH_BYTES + 2);
	char path[4096];

	snprintf(path, sizeof(path), "/api/workspaces/%s", seg);
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", path, &route, &params,
				      allow, sizeof(allow)),
		     0);
	cr_expect_str_eq(http_params_get(&params, "ws"), seg);
	snprintf(path, sizeof(path), "/api/workspaces/%s", encseg);
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", path, &route, &params,
				      allow, sizeof(allow)),
		     0, "the segment limit is on decoded bytes");
	snprintf(path, sizeof(path), "/api/workspaces/%s", longseg);
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", path, &route, &params,
				      allow, sizeof(allow)),
		     404);
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", deep, &route, &params,
				      allow, sizeof(allow)),
		     404);
	cr_assert_not_null(longpath);
	memcpy(longpath, "/api/workspaces/", 16);
	memset(longpath + 16, 'w', HTTP_MAX_PATH_BYTES + 1 - 16);
	longpath[HTTP_MAX_PATH_BYTES + 1] = '\0';
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", longpath, &route, &params,
				      allow, sizeof(allow)),
		     404, "over HTTP_MAX_PATH_BYTES");
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), NULL, "/api/health", &route,
				      &params, allow, sizeof(allow)),
		     404);
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "GET", NULL, &route, &params,
				      allow, sizeof(allow)),
		     404);
	/* NULL params and allow are accepted */
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "PUT", "/api/workspaces/x", &route,
				      NULL, NULL, 0),
		     405);
	/* An Allow buffer too small keeps whole method names only. */
	cr_expect_eq(http_route_match(routes, ARRAY_LEN(routes), "PUT", "/api/workspaces/x", &route,
				      NULL, allow, 11),
		     405);
	cr_expect_str_eq(allow, "GET, PATCH");
	free(seg);
	free(longseg);
	free(encseg);
	free(deep);
	free(longpath);
}

Test(http_parse, route_rest)
{
	static const struct http_route rest[] = {
		{"GET", "/preview/:ws/:appId/:version/*", NULL, 0, 0, NULL, 0},
	};
	static const struct {
		const char *path;
		int rc;
	} cases[] = {
		{"/preview/acme/a1/draft", 0},
		{"/preview/acme/a1/draft/", 0},
		{"/preview/acme/a1/draft/index.html", 0},
		{"/preview/acme/a1/draft/~tok/assets/app.js", 0},
		{"/preview/acme/a1", 404},
		{"/preview/acme/a1/draft/../x", 404},
		{"/preview/acme/a1/draft/a%2Fb", 404},
		{"/preview/acme/a1/draft/%2e%2e/x", 404},
		{"/preview/acme/a1/draft/a//b", 404},
	};
	const struct http_route *route = NULL;
	struct http_params params;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int rc = http_route_match(rest, ARRAY_LEN(rest), "GET", cases[i].path, &route,
					  &params, NULL, 0);

		cr_expect_eq(rc, cases[i].rc, "%s: %d", cases[i].path, rc);
		if (rc == 0)
			cr_expect_str_eq(http_params_get(&params, "version"), "draft", "%s",
					 cases[i].path);
	}
}

Test(http_parse, params_get)
{
	const struct http_route *route = NULL;
	struct http_params params;

	cr_assert_eq(http_route_match(routes, ARRAY_LEN(routes), "GET",
				      "/api/workspaces/acme/apps/a1", &route, &params, NULL, 0),
		     0);
	cr_expect_str_eq(http_params_get(&params, "ws"), "acme");
	cr_expect_str_eq(http_params_get(&params, "appId"), "a1");
	cr_expect_null(http_params_get(&params, "w"), "no prefix matches");
	cr_expect_null(http_params_get(&params, "wsx"));
	cr_expect_null(http_params_get(&params, "app"));
}

Test(http_parse, request_id_table)
{
	static const struct {
		const char *id;
		bool ok;
	} cases[] = {
		{"abc", true},  {"A-b_c.9", true}, {"0123456789abcdef01234567", true},
		{"", false},    {"a b", false},    {"a\r\nX-Evil: 1", false},
		{"a/b", false}, {"a:b", false},    {"caf\xc3\xa9", false},
	};
	char *max = repeat("a", LOG_REQUEST_ID_MAX - 1);
	char *over = repeat("a", LOG_REQUEST_ID_MAX);

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_eq(http_request_id_valid(cases[i].id), cases[i].ok, "%s", cases[i].id);
	cr_expect(http_request_id_valid(max));
	cr_expect_not(http_request_id_valid(over));
	cr_expect_not(http_request_id_valid(NULL));
	free(max);
	free(over);
}

Test(http_parse, request_path)
{
	static const struct {
		const char *uri, *script, *info, *path;
	} cases[] = {
		{"/api/health", NULL, NULL, "/api/health"},
		{"/api/health?x=1&y=%2F", NULL, NULL, "/api/health"},
		{"/api/a%2Fb?q", "/api", "/a/b", "/api/a%2Fb"},
		{"/api/x#frag", NULL, NULL, "/api/x"},
		{NULL, "/api", "/health", "/api/health"},
		{NULL, NULL, "/health", "/health"},
		{NULL, NULL, NULL, ""},
	};
	char out[64], tiny[5];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		http_request_path(cases[i].uri, cases[i].script, cases[i].info, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].path);
	}
	http_request_path("/api/health", NULL, NULL, tiny, sizeof(tiny));
	cr_expect_str_eq(tiny, "/api");
}

Test(http_parse, content_length_table)
{
	static const struct {
		const char *in;
		enum err_code code;
		size_t len;
	} cases[] = {
		{NULL, ERR_OK, 0},
		{"", ERR_OK, 0},
		{"0", ERR_OK, 0},
		{"17", ERR_OK, 17},
		{"1048576", ERR_OK, 1048576},
		{"1048577", ERR_TOO_LARGE, 0},
		{"99999999999999999999999", ERR_TOO_LARGE, 0},
		{"-1", ERR_INVALID, 0},
		{"+1", ERR_INVALID, 0},
		{" 1", ERR_INVALID, 0},
		{"1 ", ERR_INVALID, 0},
		{"1x", ERR_INVALID, 0},
		{"0x10", ERR_INVALID, 0},
		{"abc", ERR_INVALID, 0},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct err e = {0};
		size_t len = 99;
		int rc = http_content_length(cases[i].in, HTTP_MAX_BODY_BYTES, &len, &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, cases[i].code, "%s",
			     cases[i].in ? cases[i].in : "(null)");
		cr_expect_eq(len, cases[i].len, "%s", cases[i].in ? cases[i].in : "(null)");
	}
}

Test(http_parse, media_and_https)
{
	cr_expect(http_media_is("application/json", "application/json"));
	cr_expect(http_media_is("Application/JSON; charset=utf-8", "application/json"));
	cr_expect(http_media_is(" application/json", "application/json"));
	cr_expect_not(http_media_is("application/jsonx", "application/json"));
	cr_expect_not(http_media_is("application/json-patch+json", "application/json"));
	cr_expect_not(http_media_is("text/plain", "application/json"));
	cr_expect_not(http_media_is(NULL, "application/json"));
	cr_expect(http_https("on", NULL));
	cr_expect(http_https("ON", NULL));
	cr_expect(http_https(NULL, "https"));
	cr_expect(http_https(NULL, "HTTPS, http"));
	cr_expect(http_https(NULL, " https"));
	cr_expect_not(http_https(NULL, "http, https"), "only the first proxy's view counts");
	cr_expect_not(http_https(NULL, "httpsx"));
	cr_expect_not(http_https("off", "http"));
	cr_expect_not(http_https(NULL, NULL));
}

Test(http_parse, status_and_errors)
{
	static const struct {
		enum err_code code;
		int status;
		const char *name;
	} cases[] = {
		{ERR_INVALID, 400, "invalid_request"},
		{ERR_TOO_DEEP, 400, "invalid_request"},
		{ERR_NOT_FOUND, 404, "not_found"},
		{ERR_DUPLICATE, 409, "duplicate"},
		{ERR_CONFLICT, 409, "conflict"},
		{ERR_TOO_LARGE, 413, "payload_too_large"},
		{ERR_UNSUPPORTED, 415, "unsupported_media_type"},
		{ERR_UNAVAILABLE, 503, "unavailable"},
		{ERR_TIMEOUT, 503, "unavailable"},
		{ERR_IO, 500, "internal_error"},
		{ERR_CRYPTO, 500, "internal_error"},
		{ERR_INTERNAL, 500, "internal_error"},
		{ERR_OK, 500, "internal_error"},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *name = NULL;

		cr_expect_eq(http_err_status(cases[i].code, &name), cases[i].status, "%s",
			     err_code_name(cases[i].code));
		cr_expect_str_eq(name, cases[i].name);
	}
	cr_expect_str_eq(http_status_reason(200), "OK");
	cr_expect_str_eq(http_status_reason(303), "See Other");
	cr_expect_str_eq(http_status_reason(404), "Not Found");
	cr_expect_str_eq(http_status_reason(405), "Method Not Allowed");
	cr_expect_str_eq(http_status_reason(413), "Content Too Large");
	cr_expect_str_eq(http_status_reason(503), "Service Unavailable");
	cr_expect_str_eq(http_status_reason(418), "Bad Request");
	cr_expect_str_eq(http_status_reason(599), "Internal Server Error");
}

Test(http_parse, response_headers)
{
	struct http_headers h = {0};
	char *big = repeat("v", HTTP_MAX_HEADER_BYTES + 1);
	char name[16];

	cr_expect_eq(http_headers_set(&h, "Location", "/x"), 0);
	cr_expect_eq(http_headers_set(&h, "location", "/y"), 0, "same name replaces");
	cr_expect_eq(h.n, 1);
	cr_expect_str_eq(http_headers_get(&h, "LOCATION"), "/y");
	cr_expect_eq(http_headers_set(&h, "X-Tab", "a\tb"), 0);
	/* refused: injection, bad names, names the framework owns, oversize */
	cr_expect_eq(http_headers_set(&h, "X-Evil", "a\r\nSet-Cookie: x=1"), -1);
	cr_expect_eq(http_headers_set(&h, "X-Evil", "a\nb"), -1);
	cr_expect_eq(http_headers_set(&h, "X-Evil", "a\x7f"), -1);
	cr_expect_eq(http_headers_set(&h, "X Evil", "a"), -1);
	cr_expect_eq(http_headers_set(&h, "X-Evil:", "a"), -1);
	cr_expect_eq(http_headers_set(&h, "", "a"), -1);
	cr_expect_eq(http_headers_set(&h, "Status", "200 OK"), -1);
	cr_expect_eq(http_headers_set(&h, "Content-Length", "1"), -1);
	cr_expect_eq(http_headers_set(&h, "Set-Cookie", "a=1"), -1);
	cr_expect_eq(http_headers_set(&h, "X-Big", big), -1);
	cr_expect_null(http_headers_get(&h, "X-Evil"));
	while (h.n < HTTP_MAX_RESPONSE_HEADERS) {
		snprintf(name, sizeof(name), "X-H%zu", h.n);
		cr_assert_eq(http_headers_set(&h, name, "1"), 0);
	}
	cr_expect_eq(http_headers_set(&h, "X-One-Too-Many", "1"), -1);
	cr_expect_eq(http_headers_set(&h, "Location", "/z"), 0, "replacing still works when full");
	cr_expect_eq(http_headers_cookie(&h, "c", "1", 10, false), -1);
	http_headers_free(&h);
	cr_expect_eq(h.n, 0);
	free(big);
}

Test(http_parse, cookies_out)
{
	static const struct {
		const char *name, *value;
		long max_age;
		bool secure;
		const char *line; /* NULL: refused */
	} cases[] = {
		{"second_session", "abc-_123", 3600, false,
		 "Set-Cookie: second_session=abc-_123; Path=/; Max-Age=3600; HttpOnly; "
		 "SameSite=Lax"},
		{"second_session", "abc", 3600, true,
		 "Set-Cookie: second_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; "
		 "Secure"},
		{"s", "", 0, false, "Set-Cookie: s=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"},
		{"s", "v", -1, false, "Set-Cookie: s=v; Path=/; HttpOnly; SameSite=Lax"},
		{"s", "a;b", 1, false, NULL},
		{"s", "a b", 1, false, NULL},
		{"s", "a\r\nX: y", 1, false, NULL},
		{"s", "\"q\"", 1, false, NULL},
		{"s", "a,b", 1, false, NULL},
		{"bad name", "v", 1, false, NULL},
		{"", "v", 1, false, NULL},
		{"n=v", "v", 1, false, NULL},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_headers h = {0};
		int rc = http_headers_cookie(&h, cases[i].name, cases[i].value, cases[i].max_age,
					     cases[i].secure);

		cr_expect_eq(rc, cases[i].line ? 0 : -1, "%s=%s", cases[i].name, cases[i].value);
		if (rc == 0 && cases[i].line != NULL)
			cr_expect_str_eq(h.lines[0], cases[i].line);
		http_headers_free(&h);
	}
}

Test(http_parse, response_head)
{
	struct http_headers h = {0};
	char *head;

	head = http_response_head(200, "rid1", "application/json; charset=utf-8", &h, 15);
	cr_expect_str_eq(head, "Status: 200 OK\r\nX-Request-Id: rid1\r\n"
			       "Content-Type: application/json; charset=utf-8\r\n"
			       "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			       "Content-Length: 15\r\n\r\n");
	free(head);
	cr_assert_eq(http_headers_set(&h, "Location", "/home"), 0);
	head = http_response_head(303, "rid2", NULL, &h, 0);
	cr_expect_str_eq(head, "Status: 303 See Other\r\nX-Request-Id: rid2\r\n"
			       "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			       "Location: /home\r\nContent-Length: 0\r\n\r\n");
	free(head);
	cr_assert_eq(http_headers_set(&h, "Cache-Control", "max-age=60"), 0);
	cr_assert_eq(http_headers_set(&h, "Content-Type", "text/plain"), 0);
	head = http_response_head(204, "rid3", "application/json", &h, 0);
	cr_expect_str_eq(head, "Status: 204 No Content\r\nX-Request-Id: rid3\r\n"
			       "X-Content-Type-Options: nosniff\r\nLocation: /home\r\n"
			       "Cache-Control: max-age=60\r\nContent-Type: text/plain\r\n\r\n");
	free(head);
	http_headers_free(&h);
}

Test(http_parse, body_table)
{
	static const struct {
		const char *type, *body;
		enum err_code code;
		bool json; /* else a form */
	} cases[] = {
		{"application/json", "{\"a\":1}", ERR_OK, true},
		{"application/json; charset=utf-8", "{}", ERR_OK, true},
		{"application/x-www-form-urlencoded", "a=1&b=2", ERR_OK, false},
		{"application/json", "[1]", ERR_INVALID, true},
		{"application/json", "\"s\"", ERR_INVALID, true},
		{"application/json", "{bad", ERR_INVALID, true},
		{"application/json", "{\"a\":1}x", ERR_INVALID, true},
		{"application/json", "{\"a\":1,\"a\":2}", ERR_INVALID, true},
		{"application/x-www-form-urlencoded", "a=%zz", ERR_INVALID, false},
		{"text/plain", "x", ERR_UNSUPPORTED, false},
		{"multipart/form-data; boundary=x", "x", ERR_UNSUPPORTED, false},
		{NULL, "{}", ERR_UNSUPPORTED, false},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_kvs form = {0};
		json_t *json = NULL;
		struct err e = {0};
		int rc = http_parse_body(cases[i].type, cases[i].body, strlen(cases[i].body), &json,
					 &form, &e);

		cr_expect_eq(rc == 0 ? ERR_OK : e.code, cases[i].code, "%s: %s (%s)", cases[i].body,
			     err_code_name(e.code), e.msg);
		if (rc == 0 && cases[i].json)
			cr_expect(json_is_object(json), "%s", cases[i].body);
		if (rc == 0 && !cases[i].json)
			cr_expect_eq(form.n, 2);
		if (rc != 0)
			cr_expect_null(json);
		json_decref(json);
		http_kvs_free(&form);
	}
}

Test(http_parse, body_depth)
{
	char *open = repeat("[", JSON_MAX_DEPTH + 1), *close = repeat("]", JSON_MAX_DEPTH + 1);
	char body[4 * JSON_MAX_DEPTH + 16];
	struct http_kvs form = {0};
	json_t *json = NULL;
	struct err e = {0};

	snprintf(body, sizeof(body), "{\"a\":%.*s1%.*s}", JSON_MAX_DEPTH - 1, open,
		 JSON_MAX_DEPTH - 1, close);
	cr_expect_eq(http_parse_body("application/json", body, strlen(body), &json, &form, &e), 0,
		     "%s", e.msg);
	json_decref(json);
	snprintf(body, sizeof(body), "{\"a\":%s1%s}", open, close);
	cr_expect_eq(http_parse_body("application/json", body, strlen(body), &json, &form, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_DEEP);
	cr_expect_null(json);
	free(open);
	free(close);
}
