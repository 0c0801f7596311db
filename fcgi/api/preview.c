/* second-api's app preview: GET /preview/:ws/:appId/:version/<path> serves the built app (the
 * dist/ files of the draft or published snapshot) to the sandboxed iframe of the app page.
 *
 * Every reply carries `Content-Security-Policy: sandbox ...` without allow-same-origin, so the
 * document runs in an opaque origin and its own requests (the module script with crossorigin,
 * the stylesheet) go out as CORS requests with `Origin: null` and no cookies. The session
 * cookie therefore only opens the door: a request without a token is checked by the guard and
 * the app's access rules (TEN-6), and when it asks for an HTML document it is redirected (302)
 * to the same path behind a `~<token>` segment, a capability for one (workspace, app, version)
 * that expires after PREVIEW_TOKEN_TTL_S. Requests under a token need nothing else, so the
 * document and everything its relative ./assets/ URLs name load from there, with
 * `Access-Control-Allow-Origin: *` and no credentials.
 *
 * A token is base64url(expiry as 8 bytes big-endian || the first 16 bytes of HMAC-SHA256 over
 * "preview\0" ws "\0" app "\0" version "\0" expiry-bytes). The key is 32 random bytes that every
 * second-api process shares through Redis (second:preview:key, made once with SET NX), kept
 * per process, re-read every PREVIEW_KEY_REFRESH_S and, at most once a second, when a MAC does
 * not match (Redis may have lost the key and another process made a new one). A bad or expired
 * token is a plain 404: the reply does not say which. A draft token still needs the draft to
 * exist when it is used; only the per-user check is skipped. */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fcgi/api/api.h"
#include "lib/appaccess.h"
#include "lib/codec.h"
#include "lib/crypto.h"
#include "lib/http-parse.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/log.h"

#define KEY_NAME "second:preview:key"
#define EXPIRY_BYTES 8
#define TOKEN_RAW_BYTES (EXPIRY_BYTES + PREVIEW_TOKEN_MAC_BYTES)
#define ETAG_HEX 32 /* hex digits of SHA-256 an ETag keeps */
#define CSP                                                                                       \
	"sandbox allow-scripts allow-forms allow-modals; default-src 'none'; script-src 'self'; " \
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "   \
	"media-src 'self' data: blob:; connect-src 'none'; form-action 'none'; base-uri 'none'; " \
	"frame-ancestors 'self'"

_Static_assert(TOKEN_RAW_BYTES % 3 == 0 && TOKEN_RAW_BYTES / 3 * 4 == PREVIEW_TOKEN_CHARS,
	       "a token is unpadded base64url of expiry and MAC");

/* One preview URL, taken apart. */
struct target {
	const char *ws, *app; /* the path's, as sent (checked by each mode) */
	enum api_version v;
	const char *token; /* in the raw path, after '~'; NULL without one */
	size_t token_len;
	const char *tail;                /* raw path after the version and token: "" or "/..." */
	char path[PREVIEW_PATH_MAX + 1]; /* decoded path under dist/, no leading '/' */
	bool dir;                        /* empty, or ends in '/' */
};

static const struct {
	const char *ext, *type;
} types[] = {
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"json", "application/json; charset=utf-8"},
	{"map", "application/json; charset=utf-8"},
	{"svg", "image/svg+xml"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},
	{"gif", "image/gif"},
	{"webp", "image/webp"},
	{"ico", "image/x-icon"},
	{"woff", "font/woff"},
	{"woff2", "font/woff2"},
	{"txt", "text/plain; charset=utf-8"},
	{"wasm", "application/wasm"},
};

/* The extension of the last segment of path, or NULL. */
static const char *extension(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot = strrchr(base != NULL ? base + 1 : path, '.');

	return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

static const char *content_type(const char *path)
{
	const char *ext = extension(path);

	for (size_t i = 0; ext != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].ext, ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static bool is_html(const char *path)
{
	return strncmp(content_type(path), "text/html", 9) == 0;
}

/* RFC 3986 pchar, as sent: what a segment may hold before decoding, so a tail copied into a
 * Location header is safe as it is. */
static bool raw_ok(const char *s, size_t n)
{
	static const char extra[] = "-._~!$&'()*+,;=:@%";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c != '\0' && strchr(extra, c) != NULL)))
			return false;
	}
	return true;
}

/* A decoded file name: no dot segment, no control byte, no backslash ('/' and NUL are refused
 * by the decoder). */
static bool name_ok(const char *s)
{
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F || *s == '\\')
			return false;
	return true;
}

/* The raw path after its first n segments ("" or "/..."), or NULL. */
static const char *after_segments(const char *p, int n)
{
	for (int i = 0; i < n; i++) {
		if (*p != '/')
			return NULL;
		p += 1 + strcspn(p + 1, "/");
	}
	return p;
}

/* Splits the raw tail after the version into the token and the decoded file path. -1: a
 * segment that is not a safe file name, or a path over PREVIEW_PATH_MAX. */
static int tail_parse(const char *tail, struct target *t)
{
	const char *p = tail;
	char dec[HTTP_MAX_SEGMENT_BYTES + 1];
	size_t used = 0, n, dl;

	if (p[0] == '/' && p[1] == '~') {
		t->token = p + 2;
		t->token_len = strcspn(t->token, "/");
		p = t->token + t->token_len;
	}
	t->tail = p;
	while (*p == '/' && p[1] != '\0') {
		n = strcspn(p + 1, "/");
		if (n == 0 || !raw_ok(p + 1, n) ||
		    http_decode_segment(p + 1, n, dec, sizeof(dec), NULL) != 0 || !name_ok(dec))
			return -1;
		dl = strlen(dec);
		if (used + (used > 0) + dl > PREVIEW_PATH_MAX)
			return -1;
		if (used > 0)
			t->path[used++] = '/';
		memcpy(t->path + used, dec, dl + 1);
		used += dl;
		p += 1 + n;
	}
	t->dir = used == 0 || *p == '/';
	return 0;
}

/* 0, or -1 after a reply. */
static int target_parse(struct http_req *req, struct target *t)
{
	const char *tail = after_segments(http_path(req), 4);

	memset(t, 0, sizeof(*t));
	t->ws = http_param(req, "ws");
	t->app = http_param(req, "appId");
	if (!api_version_parse(http_param(req, "version"), &t->v)) {
		http_reply_error(req, 404, "preview_not_found", "no such preview");
		return -1;
	}
	if (tail == NULL || tail_parse(tail, t) != 0) {
		http_reply_error(req, 400, "invalid_path", "the preview path is not a file path");
		return -1;
	}
	return 0;
}

static struct {
	pthread_mutex_t lock;
	uint8_t key[PREVIEW_KEY_BYTES];
	bool have;
	long long read_ms; /* monotonic time of the last read, successful or not */
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SET NX, then GET: the first process to ask makes the key and every process reads that one. */
static int key_fetch(uint8_t key[PREVIEW_KEY_BYTES], struct err *e)
{
	uint8_t fresh[PREVIEW_KEY_BYTES];
	const char *set[] = {"SET", KEY_NAME, (const char *)fresh, "NX"};
	const size_t setlen[] = {3, sizeof(KEY_NAME) - 1, sizeof(fresh), 2};
	const char *get[] = {"GET", KEY_NAME};
	const size_t getlen[] = {3, sizeof(KEY_NAME) - 1};
	struct rds *r = api_redis(e);
	redisReply *rep;
	int rc = -1;

	if (r == NULL)
		return -1;
	crypto_random(fresh, sizeof(fresh));
	/* Safe to repeat: a SET that already took effect only answers nil the second time. */
	rep = rds_commandv(r, true, 4, set, setlen, e);
	explicit_bzero(fresh, sizeof(fresh));
	if (rep == NULL)
		return -1;
	freeReplyObject(rep);
	rep = rds_commandv(r, true, 2, get, getlen, e);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STRING && rep->len == PREVIEW_KEY_BYTES) {
		memcpy(key, rep->str, PREVIEW_KEY_BYTES);
		rc = 0;
	} else {
		err_set(e, ERR_INTERNAL, "%s does not hold a %d-byte key", KEY_NAME,
			PREVIEW_KEY_BYTES);
	}
	freeReplyObject(rep);
	return rc;
}

/* The shared key into key: the process's copy while it is fresh, else Redis's. after_mismatch
 * asks for Redis's unless it was read within PREVIEW_KEY_REREAD_MIN_MS. A Redis failure keeps
 * the copy when there is one. -1 with e only when there is no key at all. */
static int key_get(bool after_mismatch, uint8_t key[PREVIEW_KEY_BYTES], struct err *e)
{
	long long now = mono_ms(), age;
	uint8_t fresh[PREVIEW_KEY_BYTES];
	bool have;
	int rc;

	pthread_mutex_lock(&shared.lock);
	have = shared.have;
	age = now - shared.read_ms;
	memcpy(key, shared.key, PREVIEW_KEY_BYTES);
	pthread_mutex_unlock(&shared.lock);
	if (have &&
	    age < (after_mismatch ? PREVIEW_KEY_REREAD_MIN_MS : PREVIEW_KEY_REFRESH_S * 1000LL))
		return 0;
	rc = key_fetch(fresh, e);
	if (rc != 0 && !have)
		return -1;
	if (rc != 0)
		log_warning("preview key not re-read from Redis, the kept one is used: %s", e->msg);
	pthread_mutex_lock(&shared.lock);
	if (rc == 0) {
		memcpy(shared.key, fresh, PREVIEW_KEY_BYTES);
		shared.have = true;
	}
	shared.read_ms = now;
	memcpy(key, shared.key, PREVIEW_KEY_BYTES);
	pthread_mutex_unlock(&shared.lock);
	explicit_bzero(fresh, sizeof(fresh));
	return 0;
}

static void token_mac(const uint8_t key[PREVIEW_KEY_BYTES], const char *ws, const char *app,
		      enum api_version v, const uint8_t expiry[EXPIRY_BYTES],
		      uint8_t mac[CRYPTO_SHA256_BYTES])
{
	const char *parts[] = {"preview", ws, app, api_version_name(v)};
	char msg[sizeof("preview") + WORKSPACE_SLUG_MAX + ID_HEX_LEN + sizeof("published") + 2 +
		 EXPIRY_BYTES];
	size_t n = 0, len;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		len = strnlen(parts[i], WORKSPACE_SLUG_MAX);
		memcpy(msg + n, parts[i], len);
		n += len;
		msg[n++] = '\0';
	}
	memcpy(msg + n, expiry, EXPIRY_BYTES);
	crypto_hmac_sha256(key, PREVIEW_KEY_BYTES, msg, n + EXPIRY_BYTES, mac);
}

/* A token for (ws, app, v) that expires PREVIEW_TOKEN_TTL_S from now. */
static void token_make(const uint8_t key[PREVIEW_KEY_BYTES], const char *ws, const char *app,
		       enum api_version v, char out[PREVIEW_TOKEN_CHARS + 1])
{
	uint64_t expiry = (uint64_t)time(NULL) + PREVIEW_TOKEN_TTL_S;
	uint8_t raw[TOKEN_RAW_BYTES], mac[CRYPTO_SHA256_BYTES];

	for (int i = 0; i < EXPIRY_BYTES; i++)
		raw[i] = (uint8_t)(expiry >> (8 * (EXPIRY_BYTES - 1 - i)));
	token_mac(key, ws, app, v, raw, mac);
	memcpy(raw + EXPIRY_BYTES, mac, PREVIEW_TOKEN_MAC_BYTES);
	codec_b64url_encode(raw, sizeof(raw), out);
}

/* Whether the token's form and expiry are right; raw gets its bytes. */
static bool token_live(const struct target *t, uint8_t raw[TOKEN_RAW_BYTES])
{
	uint64_t expiry = 0, now = (uint64_t)time(NULL);
	size_t n = 0;

	if (t->token_len != PREVIEW_TOKEN_CHARS ||
	    codec_b64url_decode(t->token, t->token_len, raw, TOKEN_RAW_BYTES, &n) != 0 ||
	    n != TOKEN_RAW_BYTES)
		return false;
	for (int i = 0; i < EXPIRY_BYTES; i++)
		expiry = expiry << 8 | raw[i];
	return expiry > now && expiry <= now + PREVIEW_TOKEN_TTL_S + PREVIEW_TOKEN_SKEW_S;
}

static bool token_signed(const uint8_t key[PREVIEW_KEY_BYTES], const struct target *t,
			 const uint8_t raw[TOKEN_RAW_BYTES])
{
	uint8_t mac[CRYPTO_SHA256_BYTES];

	token_mac(key, t->ws, t->app, t->v, raw, mac);
	return crypto_ct_equal(mac, PREVIEW_TOKEN_MAC_BYTES, raw + EXPIRY_BYTES,
			       PREVIEW_TOKEN_MAC_BYTES);
}

/* Whether t carries a valid token for its own (ws, app, version). -1 with e: no key. */
static int token_check(const struct target *t, bool *ok, struct err *e)
{
	uint8_t raw[TOKEN_RAW_BYTES], key[PREVIEW_KEY_BYTES], again[PREVIEW_KEY_BYTES];

	*ok = false;
	if (!token_live(t, raw))
		return 0;
	if (key_get(false, key, e) != 0)
		return -1;
	*ok = token_signed(key, t, raw);
	if (!*ok && key_get(true, again, e) == 0 && memcmp(key, again, sizeof(key)) != 0)
		*ok = token_signed(again, t, raw);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(again, sizeof(again));
	return 0;
}

/* The dist/ file a request names, into key: the file itself; index.html for the root, a
 * directory, or a missing path without an extension (an SPA route). A missing file with an
 * extension is looked up without its leading directories, one at a time: index.html built
 * with relative asset URLs (Vite's base "./") and served at an SPA route such as users/42
 * asks for users/assets/app.js, which is assets/app.js. NULL when none. */
static const char *resolve(const json_t *files, const struct target *t, char *key, size_t keysz)
{
	const char *name, *slash;
	json_t *v;
	size_t n;

	if (!t->dir) {
		snprintf(key, keysz, "dist/%s", t->path);
		if (json_is_string(json_object_get(files, key)))
			return key;
	}
	snprintf(key, keysz, "dist/%s/", t->path);
	n = strlen(key);
	if (!t->dir && extension(t->path) != NULL) {
		json_object_foreach ((json_t *)files, name, v) {
			if (strncmp(name, key, n) == 0)
				break;
		}
		if (name != NULL) {
			snprintf(key, keysz, "dist/index.html");
			return key;
		}
		for (slash = strchr(t->path, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
			snprintf(key, keysz, "dist/%s", slash + 1);
			if (json_is_string(json_object_get(files, key)))
				return key;
		}
		return NULL;
	}
	snprintf(key, keysz, "dist/index.html");
	return key;
}

/* A quoted tag per snapshot version and file. */
static void etag_of(const char *hash, const char *key, const json_t *content,
		    char out[ETAG_HEX + 3])
{
	char *src = NULL, hex[CRYPTO_SHA256_BYTES * 2 + 1];
	int len;

	/* Without a stored hash the content itself tells versions apart. */
	len = hash != NULL ? asprintf(&src, "%s%c%s", hash, '\0', key)
			   : asprintf(&src, "%s%c%s", key, '\0', json_string_value(content));
	if (len < 0)
		abort();
	crypto_sha256_hex(src, (size_t)len, hex);
	free(src);
	snprintf(out, ETAG_HEX + 3, "\"%.*s\"", ETAG_HEX, hex);
}

/* If-None-Match holds etag (weak comparison, RFC 9110 13.1.2) or "*". */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag), n, m;
	const char *tag;

	for (const char *p = inm; p != NULL && *p != '\0'; p += n) {
		p += strspn(p, " \t,");
		n = strcspn(p, ",");
		for (m = n; m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'); m--)
			;
		tag = p;
		if (m == 1 && *tag == '*')
			return true;
		if (m > 2 && strncmp(tag, "W/", 2) == 0) {
			tag += 2;
			m -= 2;
		}
		if (m == elen && memcmp(tag, etag, elen) == 0)
			return true;
	}
	return false;
}

static void common_headers(struct http_req *req)
{
	/* Header values are our own constants: they cannot be refused. */
	(void)http_set_header(req, "Content-Security-Policy", CSP);
	(void)http_set_header(req, "Referrer-Policy", "no-referrer");
}

static int serve_file(struct http_req *req, const struct api_snapshot *snap, const char *key,
		      bool by_token)
{
	const json_t *content = json_object_get(snap->files, key);
	char etag[ETAG_HEX + 3];

	etag_of(snap->hash, key, content, etag);
	common_headers(req);
	/* Our own valid values, well under HTTP_MAX_RESPONSE_HEADERS: none can be refused. */
	(void)http_set_header(req, "Cache-Control", "private, no-cache");
	(void)http_set_header(req, "ETag", etag);
	if (by_token)
		(void)http_set_header(req, "Access-Control-Allow-Origin", "*");
	if (etag_matches(http_header(req, "If-None-Match"), etag))
		return http_reply_status(req, 304);
	return http_reply_body(req, 200, content_type(key), json_string_value(content),
			       json_string_length(content));
}

/* 302 to the same path behind a new token, for a document whose requests carry no cookie. */
static int redirect_tokened(struct http_req *req, const struct target *t, const char *ws,
			    const char *app)
{
	char token[PREVIEW_TOKEN_CHARS + 1], *loc = NULL;
	uint8_t key[PREVIEW_KEY_BYTES];
	struct err e = {0};
	int rc;

	if (key_get(false, key, &e) != 0)
		return http_reply_err(req, &e);
	token_make(key, ws, app, t->v, token);
	explicit_bzero(key, sizeof(key));
	if (asprintf(&loc, "/preview/%s/%s/%s/~%s%s", ws, app, api_version_name(t->v), token,
		     t->tail[0] != '\0' ? t->tail : "/") < 0)
		abort();
	common_headers(req);
	(void)http_set_header(req, "Cache-Control", "no-store"); /* a constant: cannot fail */
	if (http_set_header(req, "Location", loc) != 0)
		rc = http_reply_error(req, 500, "internal_error", "internal error");
	else
		rc = http_reply_status(req, 302);
	free(loc);
	return rc;
}

/* The app's snapshot of t->v, then the file: served, or a redirect for a document asked
 * without a token. */
static int serve(struct http_req *req, const struct target *t, const json_t *app, bool by_token)
{
	struct api_snapshot snap = {0};
	char keybuf[PREVIEW_PATH_MAX + sizeof("dist//index.html")];
	const char *key;
	struct err e = {0};
	int rc;

	if (api_snapshot_load(api_of(req)->store, app, t->v, &snap, &e) != 0)
		return http_reply_err(req, &e);
	if (snap.files == NULL || !json_is_string(json_object_get(snap.files, "dist/index.html")))
		rc = http_reply_error(req, 404, "preview_not_found", "this version has no build");
	else if ((key = resolve(snap.files, t, keybuf, sizeof(keybuf))) == NULL)
		rc = http_reply_error(req, 404, "not_found", "no such file in the preview");
	else if (!by_token && is_html(key))
		rc = redirect_tokened(req, t, jsonx_str(app, "workspaceId"), jsonx_str(app, "_id"));
	else
		rc = serve_file(req, &snap, key, by_token);
	api_snapshot_free(&snap);
	return rc;
}

/* Under a token: the token is the whole authorization. */
static int serve_by_token(struct http_req *req, const struct target *t)
{
	json_t *app = NULL;
	struct err e = {0};
	bool ok = false;
	int rc;

	/* Tokens are made for the canonical ids only. */
	if (!guard_workspace_id_valid(t->ws) || !id_valid(t->app))
		return http_reply_error(req, 404, "preview_not_found", "no such preview");
	if (token_check(t, &ok, &e) != 0)
		return http_reply_err(req, &e);
	if (!ok)
		return http_reply_error(req, 404, "preview_not_found", "no such preview");
	if (api_app_find(api_of(req)->store, t->ws, t->app, &app, &e) != 0)
		return http_reply_err(req, &e);
	if (app == NULL || (t->v == API_PUBLISHED && !app_has_published_version(app)))
		rc = http_reply_error(req, 404, "preview_not_found", "no such preview");
	else
		rc = serve(req, t, app, true);
	json_decref(app);
	return rc;
}

/* Without a token: the caller's session, as on the app's other routes. */
static int serve_by_session(struct http_req *req, const struct target *t)
{
	static const struct http_route member = {
		"GET", "/preview/:ws/:appId/:version/*", NULL, ACCESS_WORKSPACE, PERM_NONE, NULL,
		0};
	const struct guard_deps deps = {.store = api_of(req)->store, .redis = api_redis};
	char id[ID_HEX_LEN + 1];
	struct guard_ctx *ctx;
	struct app_access a;
	json_t *app = NULL;
	struct err e = {0};
	int rc;

	/* The route is public so that tokens work without a cookie; this is the member check
	 * every workspace route gets. It replies itself on refusal. */
	if (guard_check(&deps, req, &member) != 0)
		return 0;
	ctx = api_ctx(req);
	if (!api_app_id_normalize(t->app, id))
		return http_reply_error(req, 404, "app_not_found", "no such app");
	if (api_app_find(api_of(req)->store, ctx->workspace_id, id, &app, &e) != 0)
		return http_reply_err(req, &e);
	if (app != NULL)
		app_access_of(ctx, app, &a);
	if (app == NULL || !app_can_view(&a))
		rc = http_reply_error(req, 404, "app_not_found", "no such app");
	else if (t->v == API_DRAFT && !app_can_collaborate(&a))
		rc = http_reply_error(req, 403, "forbidden", "the draft is for collaborators");
	else if (t->v == API_PUBLISHED && !app_has_published_version(app))
		rc = http_reply_error(req, 404, "preview_not_found", "the app is not published");
	else
		rc = serve(req, t, app, false);
	json_decref(app);
	return rc;
}

static int preview_get(struct http_req *req)
{
	struct target t;

	if (target_parse(req, &t) != 0)
		return 0;
	return t.token != NULL ? serve_by_token(req, &t) : serve_by_session(req, &t);
}

const struct http_route api_routes_preview[] = {
	{"GET", "/preview/:ws/:appId/:version/*", preview_get, ACCESS_PUBLIC, PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
