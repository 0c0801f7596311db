/* Fuzz target: the FastCGI framework's parsers, fed one request target ("PATH[?QUERY]").
 *
 * The path is routed against a table shaped like second-api's and the query parsed; an input
 * is accepted when both succeed (a route, or a 405, and a valid query). The same bytes also go
 * through the cookie, header-name and segment parsers, for crashes only. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http-parse.h"
#include "lib/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read by the corpus replayer: whether the last input was accepted. */
int fuzz_accepted;

static int h_none(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct http_route routes[] = {
	{"GET", "/api/health", h_none, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws", h_none, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/status", h_none, 0, 0, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId", h_none, 0, 0, NULL, 0},
	{"POST", "/api/invitations/:id/accept", h_none, 0, 0, NULL, 0},
};

/* The other parsers, on the same bytes. */
static void side_parsers(const char *s, size_t len)
{
	struct http_kvs kvs = {0};
	struct http_headers h = {0};
	char buf[HTTP_MAX_SEGMENT_BYTES + 1];
	size_t dummy;

	if (http_parse_cookies(s, &kvs, NULL) == 0)
		http_kvs_free(&kvs);
	/* Results are irrelevant: only crashes and leaks count here. */
	(void)http_header_var(s, buf, sizeof(buf));
	if (http_decode_segment(s, len, buf, sizeof(buf), NULL) == 0)
		buf[0] = '\0';
	if (http_content_length(s, HTTP_MAX_BODY_BYTES, &dummy, NULL) == 0)
		dummy = 0;
	if (http_headers_set(&h, "X-Fuzz", s) == 0)
		free(http_response_head(200, "fuzz", NULL, &h, 0));
	(void)http_headers_cookie(&h, "c", s, 1, true);
	http_headers_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct http_params params;
	struct http_kvs query = {0};
	const struct http_route *route;
	char path[HTTP_MAX_PATH_BYTES + 2], allow[64];
	const char *q;
	int rc;

	fuzz_accepted = 0;
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	http_request_path(s, NULL, NULL, path, sizeof(path));
	rc = http_route_match(routes, sizeof(routes) / sizeof(routes[0]), "GET", path, &route,
			      &params, allow, sizeof(allow));
	q = strchr(s, '?');
	if ((rc == 0 || rc == 405) &&
	    (q == NULL || http_parse_urlencoded(q + 1, strlen(q + 1), &query, NULL) == 0))
		fuzz_accepted = 1;
	http_kvs_free(&query);
	side_parsers(s, strlen(s));
	free(s);
	return 0;
}
