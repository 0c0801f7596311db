/* The app preview (/preview/...), the app files route (P-8) and the agents.json routes (read,
 * API-51 approval) of second-api, through lighttpd.
 *
 * Each test starts a fresh environment (redis-server, second-api, lighttpd; no workerd) and a
 * small world: workspace "acme" with its owner, a plain member, and a member who collaborates
 * on the app; a stranger with a workspace of their own. The app is created through the API;
 * its snapshots (a draft, and in some tests a published version) are written straight into the
 * store, since no route publishes yet. Preview tokens are also made here from the key the
 * server keeps in Redis, to prove the documented format and to make expired ones. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "lib/codec.h"
#include "lib/crypto.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/redis.h"
#include "lib/store.h"
#include "tests/api-client.h"

#define TEST_TIMEOUT_S 120
#define CSP_WANT                                                                                  \
	"sandbox allow-scripts allow-forms allow-modals; default-src 'none'; script-src 'self'; " \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "   \
	"media-src 'self' data: blob:; connect-src 'none'; form-action 'none'; base-uri 'none'; " \
	"frame-ancestors 'self'"
#define DRAFT_INDEX                                                              \
	"<!doctype html><html><head><script type=\"module\" crossorigin "        \
	"src=\"./assets/app.js\"></script><link rel=\"stylesheet\" crossorigin " \
	"href=\"./assets/app.css\"></head><body><div id=\"root\">draft</div></body></html>\n"
#define DRAFT_JS "document.getElementById('root').textContent = 'draft app';\n"
#define DRAFT_CSS "#root { color: teal; }\n"
#define PUBLISHED_INDEX                                                   \
	"<!doctype html><html><head><script type=\"module\" crossorigin " \
	"src=\"./assets/app.js\"></script></head><body>published</body></html>\n"
#define TOKEN_LEN 32

enum who { OWNER, MEMBER, COLLAB, STRANGER, ANON, NWHO };

static const char *const who_names[NWHO] = {"owner", "member", "collaborator", "stranger",
					    "anonymous"};

static struct tc_env env;
static struct {
	char *cookie[NWHO];
	char uid[NWHO][ID_HEX_LEN + 1];
	char *ws, *ws_other;
	char *app;
} w;

static void uid_of(const char *email, char out[ID_HEX_LEN + 1])
{
	json_t *filter = json_pack("{s:s}", "emailNormalized", email), *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_find_one(env.store, "users", filter, NULL, 0, &doc, &e), 0, "%s", e.msg);
	cr_assert_not_null(doc, "no user %s", email);
	snprintf(out, ID_HEX_LEN + 1, "%s", jsonx_str(doc, "_id"));
	json_decref(filter);
	json_decref(doc);
}

static void app_update(const char *id, json_t *update_stolen)
{
	json_t *filter = json_pack("{s:s}", "_id", id);
	struct err e = {0};
	size_t matched = 0;

	cr_assert_eq(store_update_one(env.store, "apps", filter, update_stolen, &matched, &e), 0,
		     "%s", e.msg);
	cr_assert_eq(matched, 1);
	json_decref(filter);
	json_decref(update_stolen);
}

/* Writes the app's snapshot of `kind` from path/content pairs (NULL-terminated) and points the
 * app at it, as second-sse's save_snapshot and a publish would. */
static void snapshot_put(const char *app, const char *kind, const char *hash,
			 const char *const *pairs)
{
	json_t *files = json_array(), *doc;
	char field[64];
	struct err e = {0};
	size_t bytes = 0;

	for (size_t i = 0; pairs[i] != NULL; i += 2) {
		json_array_append_new(
			files, json_pack("{s:s, s:s}", "path", pairs[i], "content", pairs[i + 1]));
		bytes += strlen(pairs[i + 1]);
	}
	doc = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:b, s:s, s:s}", "workspaceId", w.ws,
			"appId", app, "kind", kind, "files", files, "sizeBytes", (json_int_t)bytes,
			"fileCount", (json_int_t)json_array_size(files), "hash", hash,
			"hasPreviewArtifact", 1, "updatedAt", "2025-01-01T00:00:00.000Z",
			"createdAt", "2025-01-01T00:00:00.000Z");
	cr_assert_eq(store_insert(env.store, "app_source_snapshots", doc, &e), 0, "%s", e.msg);
	snprintf(field, sizeof(field), "%sSnapshotId", kind);
	json_t *set = json_pack("{s:O}", field, json_object_get(doc, "_id"));
	snprintf(field, sizeof(field), "%sSourceHash", kind);
	json_object_set_new(set, field, json_string(hash));
	if (strcmp(kind, "published") == 0) {
		json_object_set_new(set, "publishStatus", json_string("published"));
		json_object_set_new(set, "visibility", json_string("workspace"));
	}
	app_update(app, json_pack("{s:o}", "$set", set));
	json_decref(doc);
}

static void draft_put(const char *app)
{
	static const char *const pairs[] = {
		"dist/index.html", DRAFT_INDEX,           "dist/assets/app.js",
		DRAFT_JS,          "dist/assets/app.css", DRAFT_CSS,
		"src/App.tsx",     "export default 1;\n", NULL};

	snapshot_put(app, "draft", "d1d1d1d1", pairs);
}

static void published_put(const char *app)
{
	static const char *const pairs[] = {"dist/index.html",
					    PUBLISHED_INDEX,
					    "dist/assets/app.js",
					    "console.log('published');\n",
					    "src/App.tsx",
					    "export default 0;\n",
					    NULL};

	snapshot_put(app, "published", "p0p0p0p0", pairs);
}

static void setup(void)
{
	char body[128];
	struct tc_resp r = {0};

	cr_assert_eq(tc_env_start(&env), 0);
	memset(&w, 0, sizeof(w));
	w.cookie[OWNER] = tc_login(&env, "Olive Owner", "owner@acme.test");
	w.ws = tc_workspace_new(&env, w.cookie[OWNER], "Acme");
	w.cookie[MEMBER] = tc_member_add(&env, w.cookie[OWNER], w.ws, "member@acme.test", "member");
	w.cookie[COLLAB] = tc_member_add(&env, w.cookie[OWNER], w.ws, "collab@acme.test", "member");
	w.cookie[STRANGER] = tc_login(&env, "Sam Stranger", "stranger@else.test");
	w.ws_other = tc_workspace_new(&env, w.cookie[STRANGER], "Elsewhere");
	uid_of("collab@acme.test", w.uid[COLLAB]);
	snprintf(body, sizeof(body), "/api/workspaces/%s/apps", w.ws);
	cr_assert_eq(tc_json(&env, w.cookie[OWNER], "POST", body, "{\"appName\":\"Payroll\"}", &r),
		     0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	w.app = strdup(jsonx_str(r.json, "id"));
	tc_resp_free(&r);
	app_update(w.app, json_pack("{s:{s:[s]}}", "$set", "collaboratorUserIds", w.uid[COLLAB]));
	draft_put(w.app);
}

static void teardown(void)
{
	for (int i = 0; i < NWHO; i++)
		free(w.cookie[i]);
	free(w.ws);
	free(w.ws_other);
	free(w.app);
	tc_env_stop(&env);
}

TestSuite(preview, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* GET path as `who` with optional extra headers (NULL-terminated); asserts the status. */
static void get(enum who who, const char *path, const char *const *headers, long want,
		struct tc_resp *r)
{
	cr_assert_eq(tc_call(&env, w.cookie[who], "GET", path, NULL, NULL, 0, headers, r), 0,
		     "GET %s", path);
	cr_assert_eq(r->status, want, "GET %s as %s: %ld, want %ld: %s", path, who_names[who],
		     r->status, want, r->body);
}

static void get_err(enum who who, const char *path, long want, const char *code)
{
	struct tc_resp r = {0};
	json_t *j;

	get(who, path, NULL, want, &r);
	j = json_loadb(r.body, r.len, 0, NULL);
	cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
	if (code != NULL)
		cr_expect_str_eq(jsonx_str(j, "error"), code, "GET %s as %s", path, who_names[who]);
	json_decref(j);
	tc_resp_free(&r);
}

static void expect_header(const struct tc_resp *r, const char *name, const char *want)
{
	char buf[1024];
	const char *got = tc_header(r, name, buf, sizeof(buf));

	cr_assert_not_null(got, "no %s header in\n%s", name, r->headers);
	cr_expect_str_eq(got, want, "%s", name);
}

static const char *preview_path(const char *ws, const char *app, const char *version,
				const char *rest)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "/preview/%s/%s/%s%s", ws, app, version, rest);
	return buf;
}

/* The token URL the server redirects `who` to for a document of version (malloc'd, ends '/'
 * when rest is empty). */
static char *token_url(enum who who, const char *version, const char *rest)
{
	struct tc_resp r = {0};
	char loc[1024], prefix[256];

	get(who, preview_path(w.ws, w.app, version, rest), NULL, 302, &r);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)), "%s", r.headers);
	expect_header(&r, "Cache-Control", "no-store");
	snprintf(prefix, sizeof(prefix), "/preview/%s/%s/%s/~", w.ws, w.app, version);
	cr_assert(strncmp(loc, prefix, strlen(prefix)) == 0, "Location %s", loc);
	for (size_t i = 0; i < TOKEN_LEN; i++) {
		char c = loc[strlen(prefix) + i];

		cr_assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '-' || c == '_',
			  "Location %s", loc);
	}
	cr_assert_eq(loc[strlen(prefix) + TOKEN_LEN], '/', "Location %s", loc);
	tc_resp_free(&r);
	return strdup(loc);
}

static char *url_join(const char *base, const char *rest)
{
	char *out = NULL;

	cr_assert(asprintf(&out, "%s%s", base, rest) > 0);
	return out;
}

Test(preview, collaborator_document_redirects_to_token_url)
{
	char *u = token_url(COLLAB, "draft", "");
	char *owner = token_url(OWNER, "draft", "/");
	char *deep = token_url(OWNER, "draft", "/users/42");

	cr_expect(strlen(u) > 0 && u[strlen(u) - 1] == '/', "%s", u);
	cr_expect(strstr(deep, "/users/42") != NULL && strstr(deep, "/~") < strstr(deep, "/users"),
		  "%s", deep);
	free(u);
	free(owner);
	free(deep);
}

Test(preview, token_url_serves_document_with_headers)
{
	char *u = token_url(COLLAB, "draft", "");
	struct tc_resp r = {0};

	get(ANON, u, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	expect_header(&r, "Content-Type", "text/html; charset=utf-8");
	expect_header(&r, "Content-Security-Policy", CSP_WANT);
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	expect_header(&r, "Referrer-Policy", "no-referrer");
	expect_header(&r, "Cache-Control", "private, no-cache");
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	cr_expect_null(strcasestr(r.headers, "Access-Control-Allow-Credentials"));
	cr_expect_null(strcasestr(r.headers, "Set-Cookie"));
	tc_resp_free(&r);
	/* The same document with the cookie a top-level iframe navigation carries. */
	get(COLLAB, u, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	free(u);
}

Test(preview, assets_through_token_without_cookie)
{
	static const char *const origin_null[] = {"Origin: null", NULL};
	char *u = token_url(COLLAB, "draft", ""), *js = url_join(u, "assets/app.js");
	char *css = url_join(u, "assets/app.css"), *idx = url_join(u, "index.html");
	struct tc_resp r = {0};

	get(ANON, js, origin_null, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_JS);
	expect_header(&r, "Content-Type", "text/javascript; charset=utf-8");
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	expect_header(&r, "Content-Security-Policy", CSP_WANT);
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	tc_resp_free(&r);
	get(ANON, css, origin_null, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_CSS);
	expect_header(&r, "Content-Type", "text/css; charset=utf-8");
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	tc_resp_free(&r);
	get(ANON, idx, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	free(u);
	free(js);
	free(css);
	free(idx);
}

Test(preview, spa_fallback_directories_nested_assets_and_missing_files)
{
	char *u = token_url(OWNER, "draft", "");
	char *route = url_join(u, "users/42"), *dir = url_join(u, "assets/");
	char *dir2 = url_join(u, "assets"), *missing = url_join(u, "assets/missing.js");
	struct tc_resp r = {0};

	get(ANON, route, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	get(ANON, dir, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	get(ANON, dir2, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	get_err(ANON, missing, 404, "not_found");
	/* index.html served at users/42 asks for its relative assets under users/. */
	char *nested_js = url_join(u, "users/assets/app.js");
	char *nested_css = url_join(u, "users/42/assets/app.css");
	char *nested_missing = url_join(u, "users/assets/missing.js");
	get(ANON, nested_js, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_JS);
	expect_header(&r, "Content-Type", "text/javascript; charset=utf-8");
	tc_resp_free(&r);
	get(ANON, nested_css, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_CSS);
	tc_resp_free(&r);
	get_err(ANON, nested_missing, 404, "not_found");
	free(nested_js);
	free(nested_css);
	free(nested_missing);
	/* Outside dist/ nothing is served, whatever the snapshot holds. */
	free(missing);
	missing = url_join(u, "..%2Fsrc%2FApp.tsx");
	get(ANON, missing, NULL, 400, &r);
	tc_resp_free(&r);
	free(u);
	free(route);
	free(dir);
	free(dir2);
	free(missing);
}

Test(preview, session_serves_assets_and_redirects_documents)
{
	struct tc_resp r = {0};
	char loc[1024];

	get(COLLAB, preview_path(w.ws, w.app, "draft", "/assets/app.js"), NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_JS);
	expect_header(&r, "Content-Type", "text/javascript; charset=utf-8");
	expect_header(&r, "Content-Security-Policy", CSP_WANT);
	cr_expect_null(tc_header(&r, "Access-Control-Allow-Origin", loc, sizeof(loc)));
	tc_resp_free(&r);
	get(COLLAB, preview_path(w.ws, w.app, "draft", "/index.html"), NULL, 302, &r);
	cr_assert_not_null(tc_header(&r, "Location", loc, sizeof(loc)));
	cr_expect(strstr(loc, "/index.html") != NULL, "%s", loc);
	tc_resp_free(&r);
	/* Path ids are normalised the way the app routes do it. */
	char upper[ID_HEX_LEN + 1];
	for (size_t i = 0; i <= ID_HEX_LEN; i++)
		upper[i] = (char)toupper((unsigned char)w.app[i]);
	get(OWNER, preview_path(w.ws, upper, "draft", "/"), NULL, 302, &r);
	tc_resp_free(&r);
	get(OWNER, preview_path(w.ws, w.app, "draft", "/nope.js"), NULL, 404, &r);
	tc_resp_free(&r);
	get_err(OWNER, preview_path(w.ws, w.app, "latest", "/"), 404, "preview_not_found");
}

Test(preview, if_none_match_gives_304)
{
	char *u = token_url(COLLAB, "draft", ""), *js = url_join(u, "assets/app.js");
	struct tc_resp r = {0}, r2 = {0};
	char etag[128], etag_js[128], h[256], weak[256];

	get(ANON, u, NULL, 200, &r);
	cr_assert_not_null(tc_header(&r, "ETag", etag, sizeof(etag)), "%s", r.headers);
	cr_expect(etag[0] == '"' && etag[strlen(etag) - 1] == '"', "%s", etag);
	tc_resp_free(&r);
	get(ANON, js, NULL, 200, &r);
	cr_assert_not_null(tc_header(&r, "ETag", etag_js, sizeof(etag_js)));
	cr_expect_str_neq(etag, etag_js, "each file has its own tag");
	tc_resp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s", etag);
	const char *const inm[] = {h, NULL};
	get(ANON, u, inm, 304, &r);
	cr_expect_eq(r.len, 0);
	expect_header(&r, "ETag", etag);
	tc_resp_free(&r);
	snprintf(weak, sizeof(weak), "If-None-Match: \"zzz\", W/%s", etag);
	const char *const inm_weak[] = {weak, NULL};
	get(ANON, u, inm_weak, 304, &r);
	tc_resp_free(&r);
	const char *const other[] = {"If-None-Match: \"0000\"", NULL};
	get(ANON, u, other, 200, &r);
	tc_resp_free(&r);
	/* A new build is a new tag. */
	app_update(w.app, json_pack("{s:{s:s}}", "$set", "draftSourceHash", "d2d2"));
	json_t *f = json_pack("{s:s, s:s}", "appId", w.app, "kind", "draft");
	json_t *up = json_pack("{s:{s:s}}", "$set", "hash", "d2d2");
	struct err e = {0};
	cr_assert_eq(store_update_one(env.store, "app_source_snapshots", f, up, NULL, &e), 0);
	json_decref(f);
	json_decref(up);
	get(ANON, u, inm, 200, &r2);
	tc_resp_free(&r2);
	free(u);
	free(js);
}

Test(preview, new_build_is_served_at_once)
{
	char *u = token_url(COLLAB, "draft", ""), *js = url_join(u, "assets/app.js");
	json_t *f = json_pack("{s:s, s:s}", "appId", w.app, "kind", "draft");
	json_t *up = json_pack("{s:{s:[{s:s, s:s}, {s:s, s:s}], s:s}}", "$set", "files", "path",
			       "dist/index.html", "content", DRAFT_INDEX, "path",
			       "dist/assets/app.js", "content", "/* build 2 */\n", "hash", "d3d3");
	struct tc_resp r = {0};
	struct err e = {0};

	get(ANON, js, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_JS);
	tc_resp_free(&r);
	/* as second-sse saves a build: the snapshot, then the app's record of it */
	cr_assert_eq(store_update_one(env.store, "app_source_snapshots", f, up, NULL, &e), 0, "%s",
		     e.msg);
	app_update(w.app, json_pack("{s:{s:s}}", "$set", "draftSourceHash", "d3d3"));
	get(ANON, js, NULL, 200, &r);
	cr_expect_str_eq(r.body, "/* build 2 */\n");
	tc_resp_free(&r);
	json_decref(f);
	json_decref(up);
	free(u);
	free(js);
}

/* The server's key, from Redis (it exists once the server made a token). */
static void server_key(uint8_t key[PREVIEW_KEY_BYTES])
{
	struct rds_opts o = {
		.url = env.redis.url, .connect_timeout_ms = 2000, .command_timeout_ms = 2000};
	struct rds *r = NULL;
	struct err e = {0};
	redisReply *rep;

	cr_assert_eq(rds_open(&o, &r, &e), 0, "%s", e.msg);
	rep = rds_command(r, &e, "GET second:preview:key");
	cr_assert_not_null(rep, "%s", e.msg);
	cr_assert_eq(rep->type, REDIS_REPLY_STRING);
	cr_assert_eq(rep->len, PREVIEW_KEY_BYTES);
	memcpy(key, rep->str, PREVIEW_KEY_BYTES);
	freeReplyObject(rep);
	rds_close(r);
}

/* A token as the README describes it, made here. */
static void token_for(const uint8_t key[PREVIEW_KEY_BYTES], const char *ws, const char *app,
		      const char *version, int64_t expiry, char out[TOKEN_LEN + 1])
{
	uint8_t raw[24], mac[CRYPTO_SHA256_BYTES];
	char msg[256];
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)((uint64_t)expiry >> (56 - 8 * i));
	n += (size_t)sprintf(msg + n, "preview") + 1;
	n += (size_t)sprintf(msg + n, "%s", ws) + 1;
	n += (size_t)sprintf(msg + n, "%s", app) + 1;
	n += (size_t)sprintf(msg + n, "%s", version) + 1;
	memcpy(msg + n, raw, 8);
	crypto_hmac_sha256(key, PREVIEW_KEY_BYTES, msg, n + 8, mac);
	memcpy(raw + 8, mac, 16);
	codec_b64url_encode(raw, sizeof(raw), out);
}

Test(preview, token_format_expiry_and_forgery)
{
	char *u = token_url(COLLAB, "draft", "");
	uint8_t key[PREVIEW_KEY_BYTES];
	char tok[TOKEN_LEN + 1], rest[128];
	struct tc_resp r = {0};
	int64_t now = (int64_t)time(NULL);

	server_key(key);
	token_for(key, w.ws, w.app, "draft", now + 600, tok);
	snprintf(rest, sizeof(rest), "/~%s/assets/app.js", tok);
	get(ANON, preview_path(w.ws, w.app, "draft", rest), NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_JS);
	tc_resp_free(&r);
	/* expired */
	token_for(key, w.ws, w.app, "draft", now - 1, tok);
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "draft", rest), 404, "preview_not_found");
	/* too far in the future for the lifetime */
	token_for(key, w.ws, w.app, "draft", now + 86400, tok);
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "draft", rest), 404, "preview_not_found");
	/* forged: one MAC character changed */
	token_for(key, w.ws, w.app, "draft", now + 600, tok);
	tok[TOKEN_LEN - 2] = tok[TOKEN_LEN - 2] == 'A' ? 'B' : 'A';
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "draft", rest), 404, "preview_not_found");
	/* the expiry changed under the MAC */
	token_for(key, w.ws, w.app, "draft", now + 600, tok);
	tok[9] = tok[9] == 'A' ? 'B' : 'A';
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "draft", rest), 404, "preview_not_found");
	/* signed with another key */
	uint8_t other[PREVIEW_KEY_BYTES];
	memset(other, 7, sizeof(other));
	token_for(other, w.ws, w.app, "draft", now + 600, tok);
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "draft", rest), 404, "preview_not_found");
	/* malformed */
	get_err(ANON, preview_path(w.ws, w.app, "draft", "/~abc/"), 404, "preview_not_found");
	get_err(ANON, preview_path(w.ws, w.app, "draft", "/~/"), 404, "preview_not_found");
	/* a token is bound to its version, app and workspace */
	token_for(key, w.ws, w.app, "draft", now + 600, tok);
	snprintf(rest, sizeof(rest), "/~%s/", tok);
	get_err(ANON, preview_path(w.ws, w.app, "published", rest), 404, "preview_not_found");
	get_err(ANON, preview_path(w.ws_other, w.app, "draft", rest), 404, "preview_not_found");
	get_err(ANON, preview_path(w.ws, "aaaaaaaaaaaaaaaaaaaaaaaa", "draft", rest), 404,
		"preview_not_found");
	free(u);
}

/* The draft goes away the way the app would record it: its snapshot and the app's pointer. */
Test(preview, token_needs_the_draft_to_exist)
{
	char *u = token_url(COLLAB, "draft", "");
	json_t *f = json_pack("{s:s, s:s}", "appId", w.app, "kind", "draft");
	struct err e = {0};
	struct tc_resp r = {0};

	get(ANON, u, NULL, 200, &r);
	tc_resp_free(&r);
	cr_assert_eq(store_delete_many(env.store, "app_source_snapshots", f, NULL, &e), 0);
	json_decref(f);
	app_update(w.app,
		   json_pack("{s:{s:n, s:n}}", "$set", "draftSnapshotId", "draftSourceHash"));
	get_err(ANON, u, 404, "preview_not_found");
	get_err(COLLAB, preview_path(w.ws, w.app, "draft", "/"), 404, "preview_not_found");
	free(u);
}

Test(preview, redis_key_loss_is_survived)
{
	char *u = token_url(COLLAB, "draft", "");
	struct rds_opts o = {
		.url = env.redis.url, .connect_timeout_ms = 2000, .command_timeout_ms = 2000};
	struct rds *r = NULL;
	struct err e = {0};
	struct tc_resp resp = {0};
	redisReply *rep;

	cr_assert_eq(rds_open(&o, &r, &e), 0, "%s", e.msg);
	rep = rds_command(r, &e, "DEL second:preview:key");
	cr_assert_not_null(rep);
	freeReplyObject(rep);
	rds_close(r);
	/* Tokens already handed out still work in this process (it keeps its key) ... */
	get(ANON, u, NULL, 200, &resp);
	tc_resp_free(&resp);
	free(u);
	/* ... and new ones work too. */
	u = token_url(COLLAB, "draft", "");
	get(ANON, u, NULL, 200, &resp);
	tc_resp_free(&resp);
	free(u);
}

Test(preview, path_traversal_and_bad_paths)
{
	static const char *const bad[] = {
		"/../../api/health",
		"/%2e%2e/%2e%2e/api/health",
		"/assets/..%2F..%2Fx.js",
		"/assets%2Fapp.js",
		"/a%5Cb.js",
		"/a%00b.js",
		"/a%0ab.js",
		"/./index.html",
	};
	char *u = token_url(OWNER, "draft", ""), *p;
	char seg[191], rest[1024];
	struct tc_resp r = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *paths[2] = {preview_path(w.ws, w.app, "draft", bad[i]), NULL};

		p = url_join(u, bad[i] + 1);
		paths[1] = p;
		for (int k = 0; k < 2; k++) {
			cr_assert_eq(tc_call(&env, w.cookie[OWNER], "GET", paths[k], NULL, NULL, 0,
					     NULL, &r),
				     0);
			cr_expect(r.status == 400 || r.status == 404, "%s: %ld", paths[k],
				  r.status);
			tc_resp_free(&r);
		}
		free(p);
	}
	/* a decoded path over PREVIEW_PATH_MAX */
	memset(seg, 'a', sizeof(seg) - 1);
	seg[sizeof(seg) - 1] = '\0';
	snprintf(rest, sizeof(rest), "/%s/%s/%s.js", seg, seg, seg);
	get_err(OWNER, preview_path(w.ws, w.app, "draft", rest), 400, "invalid_path");
	free(u);
}

Test(preview, access_rules)
{
	struct tc_resp r = {0};
	char *u;

	/* Outside the workspace, or not signed in. */
	get_err(STRANGER, preview_path(w.ws, w.app, "draft", "/"), 404, NULL);
	get_err(STRANGER, preview_path(w.ws, w.app, "published", "/"), 404, NULL);
	get_err(ANON, preview_path(w.ws, w.app, "draft", "/"), 401, "identity_required");
	/* A member who does not collaborate cannot see an unpublished app at all. */
	get_err(MEMBER, preview_path(w.ws, w.app, "draft", "/"), 404, "app_not_found");
	get_err(MEMBER, preview_path(w.ws, w.app, "published", "/"), 404, "app_not_found");
	get_err(MEMBER, preview_path(w.ws, w.app, "draft", "/assets/app.js"), 404, "app_not_found");
	/* Collaborators see an app that has no published version yet: the draft only. */
	get_err(COLLAB, preview_path(w.ws, w.app, "published", "/"), 404, "preview_not_found");
	published_put(w.app);
	get_err(MEMBER, preview_path(w.ws, w.app, "draft", "/"), 403, "forbidden");
	get_err(MEMBER, preview_path(w.ws, w.app, "draft", "/assets/app.js"), 403, "forbidden");
	u = token_url(MEMBER, "published", "");
	get(ANON, u, NULL, 200, &r);
	cr_expect_str_eq(r.body, PUBLISHED_INDEX);
	tc_resp_free(&r);
	free(u);
	/* The owner sees both versions. */
	u = token_url(OWNER, "published", "");
	free(u);
	u = token_url(OWNER, "draft", "");
	get(ANON, u, NULL, 200, &r);
	cr_expect_str_eq(r.body, DRAFT_INDEX);
	tc_resp_free(&r);
	free(u);
}

Test(preview, head_is_get_without_body)
{
	char *u = token_url(OWNER, "draft", "");
	struct tc_resp r = {0};
	char len[32];

	cr_assert_eq(tc_call(&env, NULL, "HEAD", u, NULL, NULL, 0, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 0);
	cr_assert_not_null(tc_header(&r, "Content-Length", len, sizeof(len)));
	cr_expect_eq(strtol(len, NULL, 10), (long)strlen(DRAFT_INDEX));
	tc_resp_free(&r);
	free(u);
}

static const char *files_path(const char *ws, const char *query)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "/api/workspaces/%s/apps/%s/files%s", ws, w.app, query);
	return buf;
}

/* GET the files route; returns the reply (new reference). */
static json_t *files_get(enum who who, const char *query, long want)
{
	struct tc_resp r = {0};
	json_t *j;

	cr_assert_eq(tc_json(&env, w.cookie[who], "GET", files_path(w.ws, query), NULL, &r), 0);
	cr_assert_eq(r.status, want, "files%s as %s: %ld: %s", query, who_names[who], r.status,
		     r.body);
	if (want == 200)
		expect_header(&r, "Cache-Control", "no-store");
	j = json_incref(r.json);
	tc_resp_free(&r);
	return j;
}

static bool log_has(const char *needle)
{
	char path[HARNESS_PATH_MAX + 16], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/api.log", env.dir);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

Test(preview, files_draft_for_collaborators_falls_back_without_worker)
{
	json_t *j = files_get(COLLAB, "?version=draft", 200);
	json_t *files = json_object_get(j, "files");

	/* No workerd runs here: the live side fails and the persisted draft is served. */
	cr_expect_str_eq(jsonx_str(j, "version"), "draft");
	cr_expect_eq(json_object_size(files), 4);
	cr_expect_str_eq(jsonx_str(files, "dist/index.html"), DRAFT_INDEX);
	cr_expect_str_eq(jsonx_str(files, "src/App.tsx"), "export default 1;\n");
	cr_expect(json_is_false(json_object_get(j, "hasPublishedVersion")));
	cr_expect(json_is_true(json_object_get(j, "hasDraftChanges")));
	json_decref(j);
	cr_expect(log_has("live files not read"), "the fallback is logged");
	/* The default for a collaborator is the draft. */
	j = files_get(OWNER, "", 200);
	cr_expect_str_eq(jsonx_str(j, "version"), "draft");
	json_decref(j);
}

Test(preview, files_published_for_everyone_else)
{
	json_t *j;

	json_decref(files_get(MEMBER, "?version=draft", 404));
	published_put(w.app);
	j = files_get(MEMBER, "?version=draft", 200);
	cr_expect_str_eq(jsonx_str(j, "version"), "published");
	cr_expect_str_eq(jsonx_str(json_object_get(j, "files"), "dist/index.html"),
			 PUBLISHED_INDEX);
	cr_expect(json_is_true(json_object_get(j, "hasPublishedVersion")));
	cr_expect(json_is_false(json_object_get(j, "hasDraftChanges")));
	json_decref(j);
	j = files_get(COLLAB, "?version=published", 200);
	cr_expect_str_eq(jsonx_str(j, "version"), "published");
	cr_expect(json_is_true(json_object_get(j, "hasDraftChanges")));
	json_decref(j);
	/* A draft equal to the published version has no changes. */
	app_update(w.app, json_pack("{s:{s:s}}", "$set", "draftSourceHash", "p0p0p0p0"));
	j = files_get(COLLAB, "", 200);
	cr_expect(json_is_false(json_object_get(j, "hasDraftChanges")));
	json_decref(j);
}

Test(preview, files_bad_input_and_strangers)
{
	struct tc_resp r = {0};
	json_t *j;

	j = files_get(COLLAB, "?version=latest", 400);
	cr_expect_str_eq(jsonx_str(j, "error"), "invalid_version");
	json_decref(j);
	j = files_get(COLLAB, "?version=", 400);
	json_decref(j);
	json_decref(files_get(STRANGER, "", 404));
	json_decref(files_get(ANON, "", 401));
	cr_assert_eq(tc_json(&env, w.cookie[OWNER], "GET", "/api/workspaces/acme/apps/nothex/files",
			     NULL, &r),
		     0);
	cr_expect_eq(r.status, 404);
	tc_resp_free(&r);
	/* no snapshot yet: empty files */
	json_t *f = json_pack("{s:s}", "appId", w.app);
	struct err e = {0};
	cr_assert_eq(store_delete_many(env.store, "app_source_snapshots", f, NULL, &e), 0);
	json_decref(f);
	app_update(w.app,
		   json_pack("{s:{s:n, s:n}}", "$set", "draftSnapshotId", "draftSourceHash"));
	j = files_get(COLLAB, "", 200);
	cr_expect_eq(json_object_size(json_object_get(j, "files")), 0);
	json_decref(j);
}

/* API-13 without a workerd: 200, every runtime unavailable, workerReachable false. */
Test(preview, detect_provider_without_workerd)
{
	struct tc_resp r = {0};
	get(MEMBER, "/api/setup/detect-provider", NULL, 200, &r);
	cr_expect(json_is_false(json_object_get(r.json, "workerReachable")), "%s", r.body);
	json_t *claude = json_object_get(json_object_get(r.json, "runtimes"), "claude-code");
	cr_expect(json_is_false(json_object_get(claude, "available")), "%s", r.body);
	tc_resp_free(&r);
}

/* agents.json: read (GET .../agents) and approved (API-51). */

#define AGENTS_JSON                                                                            \
	"{\n  \"agents\": [\n    {\"id\": \"triage\", \"name\": \"Triage\", \"description\": " \
	"\"Sorts new tickets\", \"dataCollections\": [\"tickets\"], \"tools\": []}\n  ]\n}\n"

static void agents_draft_put(const char *agents_json)
{
	const char *pairs[] = {"dist/index.html", DRAFT_INDEX,
			       agents_json != NULL ? "agents.json" : NULL, agents_json, NULL};

	json_t *filter = json_pack("{s:s, s:s}", "appId", w.app, "kind", "draft");
	static int version;
	char hash[32];
	struct err e = {0};

	cr_assert_eq(store_delete_many(env.store, "app_source_snapshots", filter, NULL, &e), 0,
		     "%s", e.msg);
	json_decref(filter);
	snprintf(hash, sizeof(hash), "d2d2%04d", ++version);
	snapshot_put(w.app, "draft", hash, pairs);
}

static json_t *app_doc(void)
{
	json_t *filter = json_pack("{s:s}", "_id", w.app), *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_find_one(env.store, "apps", filter, NULL, 0, &doc, &e), 0, "%s", e.msg);
	json_decref(filter);
	cr_assert_not_null(doc);
	return doc;
}

/* The audit events of the workspace named `name`. */
static size_t events_named(const char *name)
{
	json_t *filter = json_pack("{s:s, s:s}", "workspaceId", w.ws, "eventName", name);
	struct err e = {0};
	size_t n = 0;

	cr_assert_eq(store_count(env.store, "audit_events", filter, &n, &e), 0, "%s", e.msg);
	json_decref(filter);
	return n;
}

static size_t approved_events(void)
{
	return events_named("app.agents_config.approved");
}

/* POST .../agents/approval as `who` with a JSON body (NULL: none); asserts the status. */
static void approve(enum who who, const char *body, long want, struct tc_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/workspaces/%s/apps/%s/agents/approval", w.ws, w.app);
	cr_assert_eq(tc_call(&env, w.cookie[who], "POST", path, body ? "application/json" : NULL,
			     body, body ? strlen(body) : 0, NULL, r),
		     0);
	cr_assert_eq(r->status, want, "approval as %s: %ld, want %ld: %s", who_names[who],
		     r->status, want, r->body);
}

Test(preview, agents_json_is_read_by_who_may_see_it)
{
	char path[256];
	struct tc_resp r = {0};
	json_t *j;

	snprintf(path, sizeof(path), "/api/workspaces/%s/apps/%s/agents", w.ws, w.app);
	/* No agents.json yet: an empty list. */
	get(COLLAB, path, NULL, 200, &r);
	j = json_loadb(r.body, r.len, 0, NULL);
	cr_expect_eq(json_array_size(json_object_get(j, "agents")), 0, "%s", r.body);
	json_decref(j);
	tc_resp_free(&r);
	agents_draft_put(AGENTS_JSON);
	get(COLLAB, path, NULL, 200, &r);
	j = json_loadb(r.body, r.len, 0, NULL);
	cr_expect_str_eq(jsonx_str(json_array_get(json_object_get(j, "agents"), 0), "name"),
			 "Triage", "%s", r.body);
	json_decref(j);
	tc_resp_free(&r);
	/* The draft is not for others: a member sees the app once it is published, and its
	 * published agents.json (none). */
	get_err(MEMBER, path, 404, "app_not_found");
	get_err(STRANGER, path, 404, NULL);
	published_put(w.app);
	get(MEMBER, path, NULL, 200, &r);
	cr_expect(strstr(r.body, "Triage") == NULL, "%s", r.body);
	tc_resp_free(&r);
	/* A draft agents.json that does not parse reads as an empty list. */
	agents_draft_put("{not json");
	get(OWNER, path, NULL, 200, &r);
	j = json_loadb(r.body, r.len, 0, NULL);
	cr_expect(json_is_array(json_object_get(j, "agents")), "%s", r.body);
	cr_expect_eq(json_array_size(json_object_get(j, "agents")), 0);
	json_decref(j);
	tc_resp_free(&r);
}

Test(preview, agents_approval_records_the_draft_hash_and_who_approved)
{
	struct tc_resp r = {0};
	json_t *app;
	char hash[80];

	agents_draft_put(AGENTS_JSON);
	/* An owner's approval is live (build_chat). */
	approve(OWNER, NULL, 200, &r);
	cr_expect(json_is_true(json_object_get(r.json, "ok")));
	cr_expect(json_is_false(json_object_get(r.json, "mockOnly")));
	cr_expect(json_is_true(json_object_get(r.json, "hasAgentsJson")));
	cr_assert_not_null(jsonx_str(r.json, "hash"), "%s", r.body);
	snprintf(hash, sizeof(hash), "%s", jsonx_str(r.json, "hash"));
	cr_expect_eq(strncmp(hash, "v1:", 3), 0);
	cr_expect_eq(strlen(hash), 67);
	tc_resp_free(&r);
	app = app_doc();
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovalHash"), hash);
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovalSource"), "build_chat");
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovedByUserName"), "Olive Owner");
	cr_expect_not_null(jsonx_str(app, "agentsJsonApprovedAt"));
	cr_expect_str_eq(
		jsonx_str(json_array_get(
				  json_object_get(json_object_get(app, "agentsJsonApprovedPayload"),
						  "agents"),
				  0),
			  "id"),
		"triage");
	json_decref(app);
	cr_expect_eq(approved_events(), 1);

	/* A collaborator's approval of the same file is mock-only, with the same hash. */
	approve(COLLAB, "{}", 200, &r);
	cr_expect(json_is_true(json_object_get(r.json, "mockOnly")));
	cr_expect_str_eq(jsonx_str(r.json, "hash"), hash);
	tc_resp_free(&r);
	app = app_doc();
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovalSource"), "build_chat_mock");
	cr_expect_str_eq(jsonx_str(app, "agentsJsonApprovedByUserId"), w.uid[COLLAB]);
	json_decref(app);
	cr_expect_eq(approved_events(), 2);

	/* A payload given in the body is what gets hashed. */
	approve(OWNER, "{\"agentsJson\":{\"agents\":[{\"id\":\"other\",\"name\":\"Other\"}]}}", 200,
		&r);
	cr_expect_str_neq(jsonx_str(r.json, "hash"), hash);
	tc_resp_free(&r);

	/* Without an agents.json the approval is cleared. */
	agents_draft_put(NULL);
	approve(OWNER, NULL, 200, &r);
	cr_expect(json_is_false(json_object_get(r.json, "hasAgentsJson")));
	cr_expect(json_is_null(json_object_get(r.json, "hash")), "%s", r.body);
	tc_resp_free(&r);
	app = app_doc();
	cr_expect(json_is_null(json_object_get(app, "agentsJsonApprovalHash")));
	cr_expect(json_is_null(json_object_get(app, "agentsJsonApprovedPayload")));
	json_decref(app);
	cr_expect_eq(approved_events(), 3);
}

Test(preview, agents_approval_refuses_bad_input_and_other_callers)
{
	struct tc_resp r = {0};
	json_t *app;

	agents_draft_put("{\"agents\": []}");
	approve(OWNER, NULL, 400, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "invalid_agents_json");
	cr_expect_not_null(jsonx_str(r.json, "message"));
	tc_resp_free(&r);
	agents_draft_put("{not json");
	approve(OWNER, NULL, 400, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "invalid_agents_json");
	tc_resp_free(&r);
	agents_draft_put(AGENTS_JSON);
	approve(OWNER, "{\"agentsJson\":\"agents\"}", 400, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "invalid_agents_json");
	tc_resp_free(&r);
	approve(OWNER, "[1]", 400, &r);
	cr_expect_not_null(jsonx_str(r.json, "error"), "%s", r.body);
	tc_resp_free(&r);
	approve(OWNER, "{\"agentsJson\":", 400, &r);
	tc_resp_free(&r);
	/* Who may not: a stranger and a member who cannot see the draft app get 404; a member
	 * who sees the published app but does not collaborate gets 403. */
	approve(STRANGER, NULL, 404, &r);
	tc_resp_free(&r);
	approve(MEMBER, NULL, 404, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "app_not_found");
	tc_resp_free(&r);
	published_put(w.app);
	approve(MEMBER, NULL, 403, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "forbidden");
	tc_resp_free(&r);
	approve(ANON, NULL, 401, &r);
	tc_resp_free(&r);
	/* Nothing was recorded by any of them. */
	app = app_doc();
	cr_expect(json_object_get(app, "agentsJsonApprovalHash") == NULL ||
		  json_is_null(json_object_get(app, "agentsJsonApprovalHash")));
	json_decref(app);
	cr_expect_eq(approved_events(), 0);
}

/* PATCH .../agents (API-50) as `who`; asserts the status. */
static void patch_agents(enum who who, const char *body, long want, struct tc_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/workspaces/%s/apps/%s/agents", w.ws, w.app);
	cr_assert_eq(tc_call(&env, w.cookie[who], "PATCH", path, "application/json", body,
			     strlen(body), NULL, r),
		     0);
	cr_assert_eq(r->status, want, "PATCH as %s: %ld, want %ld: %s", who_names[who], r->status,
		     want, r->body);
}

/* The name of the first agent `who` reads from GET .../agents, or "" for none. */
static char *first_agent(enum who who, char out[64])
{
	char path[256];
	struct tc_resp r = {0};
	json_t *j;

	snprintf(path, sizeof(path), "/api/workspaces/%s/apps/%s/agents", w.ws, w.app);
	get(who, path, NULL, 200, &r);
	j = json_loadb(r.body, r.len, 0, NULL);
	snprintf(out, 64, "%s",
		 jsonx_str(json_array_get(json_object_get(j, "agents"), 0), "name") ?: "");
	json_decref(j);
	tc_resp_free(&r);
	return out;
}

static json_t *snapshot_doc(const char *kind)
{
	json_t *filter = json_pack("{s:s, s:s}", "appId", w.app, "kind", kind), *doc = NULL;
	struct err e = {0};

	cr_assert_eq(store_find_one(env.store, "app_source_snapshots", filter, NULL, 0, &doc, &e),
		     0, "%s", e.msg);
	json_decref(filter);
	return doc;
}

/* The content of `path` in a stored snapshot document, or NULL. */
static const char *snapshot_file(const json_t *doc, const char *path)
{
	size_t i;
	json_t *f;

	json_array_foreach (json_object_get(doc, "files"), i, f) {
		if (strcmp(jsonx_str(f, "path"), path) == 0)
			return jsonx_str(f, "content");
	}
	return NULL;
}

#define SORTER_JSON "{\"agents\":[{\"id\":\"sorter\",\"name\":\"Sorter\",\"tools\":[]}]}"

Test(preview, agents_patch_saves_the_draft_and_clears_a_stale_approval)
{
	struct tc_resp r = {0};
	char name[64], before[80];
	json_t *app, *snap;

	agents_draft_put(AGENTS_JSON);
	approve(OWNER, NULL, 200, &r);
	snprintf(before, sizeof(before), "%s", jsonx_str(r.json, "hash"));
	tc_resp_free(&r);

	patch_agents(OWNER, SORTER_JSON, 200, &r);
	cr_expect(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "reviewInvalidated")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "draftCreatedFromPublished")), "%s",
		  r.body);
	tc_resp_free(&r);
	cr_expect_str_eq(first_agent(COLLAB, name), "Sorter");
	/* Saved pretty-printed beside the draft's other files, and the app points at it. */
	snap = snapshot_doc("draft");
	cr_assert_not_null(snap);
	cr_expect_str_eq(snapshot_file(snap, "agents.json"),
			 "{\n  \"agents\": [\n    {\n      \"id\": \"sorter\",\n      \"name\": "
			 "\"Sorter\",\n      \"tools\": []\n    }\n  ]\n}");
	cr_expect_str_eq(snapshot_file(snap, "dist/index.html"), DRAFT_INDEX);
	app = app_doc();
	cr_expect_str_eq(jsonx_str(app, "draftSnapshotId"), jsonx_str(snap, "_id"));
	cr_expect_str_eq(jsonx_str(app, "draftSourceHash"), jsonx_str(snap, "hash"));
	cr_expect_str_eq(jsonx_str(app, "publishStatus"), "draft");
	/* The approval was of the old file: cleared, and audited with both hashes. */
	cr_expect(json_is_null(json_object_get(app, "agentsJsonApprovalHash")));
	cr_expect(json_is_null(json_object_get(app, "agentsJsonApprovedPayload")));
	json_decref(app);
	json_decref(snap);
	cr_expect_eq(events_named("app.agents_config.stale"), 1);
	{
		json_t *filter = json_pack("{s:s, s:s}", "workspaceId", w.ws, "eventName",
					   "app.agents_config.stale"),
		       *ev = NULL;
		struct err e = {0};

		cr_assert_eq(store_find_one(env.store, "audit_events", filter, NULL, 0, &ev, &e),
			     0);
		cr_assert_not_null(ev);
		char *text = json_dumps(ev, 0);
		cr_expect_str_eq(jsonx_str(json_object_get(ev, "metadata"), "reason"),
				 "agents_json_updated", "%s", text);
		cr_expect(strstr(text, before) != NULL, "no before hash: %s", text);
		free(text);
		json_decref(ev);
		json_decref(filter);
	}

	/* An approval of the new file survives a PATCH with the same agents.json. */
	approve(OWNER, NULL, 200, &r);
	tc_resp_free(&r);
	patch_agents(OWNER, SORTER_JSON, 200, &r);
	tc_resp_free(&r);
	app = app_doc();
	cr_expect_not_null(jsonx_str(app, "agentsJsonApprovalHash"));
	json_decref(app);
	cr_expect_eq(events_named("app.agents_config.stale"), 1);
	cr_expect_eq(events_named("app.source_snapshot.updated"), 2);
}

Test(preview, agents_patch_refuses_bad_input_and_other_callers)
{
	/* Not an object: refused by the body parser, as on every route; an object that is not
	 * a valid agents.json: refused by the route. */
	static const struct {
		const char *body, *code;
	} bad[] = {
		{"[1]", "invalid_json"},
		{"not json", "invalid_json"},
		{"\"x\"", "invalid_json"},
		{"{}", "invalid_agents_json"},
		{"{\"agents\":[]}", "invalid_agents_json"},
		{"{\"agents\":[],\"appTools\":[]}", "invalid_agents_json"},
		{"{\"agents\":{\"id\":\"x\"}}", "invalid_agents_json"},
	};
	struct tc_resp r = {0};
	json_t *snap;

	agents_draft_put(NULL);
	patch_agents(COLLAB, SORTER_JSON, 403, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "forbidden");
	tc_resp_free(&r);
	patch_agents(MEMBER, SORTER_JSON, 404, &r);
	cr_expect_str_eq(jsonx_str(r.json, "error"), "app_not_found");
	tc_resp_free(&r);
	patch_agents(STRANGER, SORTER_JSON, 404, &r);
	tc_resp_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		patch_agents(OWNER, bad[i].body, 400, &r);
		cr_expect_str_eq(jsonx_str(r.json, "error"), bad[i].code, "%s: %s", bad[i].body,
				 r.body);
		cr_expect_not_null(jsonx_str(r.json, "message"), "%s", r.body);
		tc_resp_free(&r);
	}
	/* Nothing was written. */
	snap = snapshot_doc("draft");
	cr_expect_null(snapshot_file(snap, "agents.json"));
	json_decref(snap);
	cr_expect_eq(events_named("app.source_snapshot.updated"), 0);
}

Test(preview, agents_patch_on_a_published_app_keeps_what_viewers_see)
{
	struct tc_resp r = {0};
	char name[64];
	json_t *app, *filter, *review = NULL;
	struct err e = {0};

	/* An older app whose published version is its draft (no publishStatus, no published
	 * snapshot): the edit first saves that version as the published snapshot. */
	agents_draft_put(AGENTS_JSON);
	app_update(w.app, json_pack("{s:{s:s}, s:{s:s}}", "$set", "visibility", "workspace",
				    "$unset", "publishStatus", ""));
	cr_expect_str_eq(first_agent(MEMBER, name), "Triage");
	patch_agents(OWNER, SORTER_JSON, 200, &r);
	cr_expect(json_is_true(json_object_get(r.json, "draftCreatedFromPublished")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "reviewInvalidated")), "%s", r.body);
	tc_resp_free(&r);
	cr_expect_str_eq(first_agent(MEMBER, name), "Triage");
	cr_expect_str_eq(first_agent(OWNER, name), "Sorter");
	app = app_doc();
	cr_expect_str_eq(jsonx_str(app, "publishStatus"), "draft");
	cr_expect_not_null(jsonx_str(app, "publishedSnapshotId"));
	json_decref(app);

	/* In review: back to draft, and the pending review is superseded and audited. */
	app_update(w.app, json_pack("{s:{s:s, s:s}}", "$set", "publishStatus", "review_requested",
				    "reviewRequestedByUserId", w.uid[COLLAB]));
	review = json_pack("{s:s, s:s, s:s, s:s, s:[], s:s}", "workspaceId", w.ws, "resourceType",
			   "app", "resourceId", w.app, "status", "pending", "targetTeamIds",
			   "requestedAt", "2025-01-01T00:00:00.000Z");
	cr_assert_eq(store_insert(env.store, "review_requests", review, &e), 0, "%s", e.msg);
	json_decref(review);
	patch_agents(OWNER, "{\"appTools\":[{\"name\":\"refund\",\"type\":\"custom\"}]}", 200, &r);
	cr_expect(json_is_true(json_object_get(r.json, "reviewInvalidated")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "draftCreatedFromPublished")), "%s",
		  r.body);
	tc_resp_free(&r);
	app = app_doc();
	cr_expect_str_eq(jsonx_str(app, "publishStatus"), "draft");
	cr_expect(json_is_null(json_object_get(app, "reviewRequestedByUserId")));
	json_decref(app);
	filter = json_pack("{s:s}", "resourceId", w.app);
	review = NULL;
	cr_assert_eq(store_find_one(env.store, "review_requests", filter, NULL, 0, &review, &e), 0);
	json_decref(filter);
	cr_assert_not_null(review);
	cr_expect_str_eq(jsonx_str(review, "status"), "superseded");
	cr_expect(strstr(jsonx_str(review, "reviewMessage"), "closed automatically") != NULL);
	json_decref(review);
	cr_expect_eq(events_named("review.superseded"), 1);
	cr_expect_str_eq(first_agent(MEMBER, name), "Triage");
}
