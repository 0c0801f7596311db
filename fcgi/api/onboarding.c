/* Sign-in (auth mode none), onboarding, the caller's own profile and preferences, logout.
 *
 * Data model: a `users` document per normalised email (DM-1); signing in without an email
 * means the one default local user. Signing in upserts that user and starts a new Redis
 * session (lib/session.h) whose id goes out in the HttpOnly session cookie; the workspace
 * cookie names the user's oldest workspace. Onboarding progress is users.onboardingStep
 * (identity|workspace|loader|provider|start) plus onboardingCompletedAt; the next page a
 * signed-in user should see is derived from them by ONB-2. Preferences live in
 * users.preferences and are validated through one table of fields, each with its choices or
 * checker and its own error code (API-11). Every form route answers JSON clients with JSON
 * and page forms with a 303 redirect (C-0.1). */
#include <config.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi/api/api.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/session.h"
#include "lib/timeutil.h"

/* defined in workspaces.c: creates a workspace named `name` (already validated) owned by the
 * caller, with its General team; *workspace_out is a new reference to its public JSON. */
int api_workspace_create(struct http_req *req, const char *name, json_t **workspace_out,
			 struct err *e);

#define LOCAL_USER_EMAIL "local-user@second.localhost"
#define TEXT_BUF(chars) ((chars)*4 + 1) /* UTF-8: at most 4 bytes a character */
#define PATH_BUF (WORKSPACE_SLUG_MAX + 64)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static json_t *must(json_t *v)
{
	if (v == NULL)
		abort();
	return v;
}

/* Input text. */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_blank(const char *s)
{
	while (s != NULL && is_space(*s))
		s++;
	return s == NULL || *s == '\0';
}

/* Valid UTF-8 (jansson's check), no control bytes, and the number of characters. */
static bool utf8_text(const char *s, size_t len, bool multiline, size_t *chars)
{
	json_t *probe = json_stringn(s, len);

	if (probe == NULL)
		return false;
	json_decref(probe);
	*chars = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t')))
			return false;
		if ((c & 0xc0) != 0x80)
			(*chars)++;
	}
	return true;
}

/* Copies `in` without surrounding whitespace into out when it is clean text of min..max
 * characters. */
static bool text_clean(const char *in, size_t min, size_t max, char *out, size_t outsz)
{
	size_t len, chars;

	if (in == NULL)
		return false;
	while (is_space(*in))
		in++;
	len = strlen(in);
	while (len > 0 && is_space(in[len - 1]))
		len--;
	if (len >= outsz || !utf8_text(in, len, false, &chars) || chars < min || chars > max)
		return false;
	memcpy(out, in, len);
	out[len] = '\0';
	return true;
}

/* ^[^\s@]+@[^\s@]+\.[^\s@]+$ : one @ with text before it, and a dot in the domain with
 * text on both sides. */
static bool email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *domain;
	size_t len;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (is_space(*p))
			return false;
	domain = at + 1;
	len = strlen(domain);
	for (size_t i = 1; i + 1 < len; i++)
		if (domain[i] == '.')
			return true;
	return false;
}

/* One text field of a form: where it goes, its bounds, and an extra check. */
struct text_rule {
	const char *field;
	size_t offset, size;
	size_t min, max;
	bool required;
	bool (*check)(const char *s);
	const char *message;
};

/* Reads every rule's field into base; 0, or -1 with *message naming the first bad field.
 * An optional field left empty is absent (""). */
static int read_fields(struct http_req *req, const struct text_rule *rules, size_t n, void *base,
		       const char **message)
{
	for (size_t i = 0; i < n; i++) {
		const char *raw = http_field(req, rules[i].field);
		char *out = (char *)base + rules[i].offset;

		out[0] = '\0';
		if (!rules[i].required && is_blank(raw))
			continue;
		if (!text_clean(raw, rules[i].min, rules[i].max, out, rules[i].size) ||
		    (rules[i].check != NULL && !rules[i].check(out))) {
			*message = rules[i].message;
			return -1;
		}
	}
	return 0;
}

/* A JSON body is parsed up front so that a malformed or oversized one gets its own 4xx
 * instead of reading as missing fields. -1 after replying. */
static int body_check(struct http_req *req)
{
	const char *ct = http_header(req, "Content-Type");
	struct err e = {0};

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	if (http_json(req, &e) != NULL)
		return 0;
	http_reply_err(req, &e);
	return -1;
}

/* The body as a JSON object, or NULL after replying `bad_code` (or the framework's 413/415). */
static json_t *json_body(struct http_req *req, const char *bad_code)
{
	struct err e = {0};
	json_t *body = http_json(req, &e);

	if (body != NULL && json_is_object(body))
		return body;
	if (body != NULL || e.code == ERR_INVALID)
		http_reply_error(req, 400, bad_code, "the body must be a JSON object");
	else
		http_reply_err(req, &e);
	return NULL;
}

/* Replies. */

static int redirect(struct http_req *req, const char *path)
{
	const char *base = api_of(req)->public_url;
	char loc[CONFIG_VALUE_MAX + PATH_BUF];
	size_t blen = base != NULL ? strlen(base) : 0;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(loc, sizeof(loc), "%.*s%s", (int)blen, blen > 0 ? base : "", path);
	return http_reply_redirect(req, loc);
}

/* A refused form: JSON clients get 400 {error, message}; pages go back to the form. */
static int refuse(struct http_req *req, const char *code, const char *page, const char *message)
{
	char path[PATH_BUF];

	if (http_is_json(req))
		return http_reply_error(req, 400, code, "%s", message);
	snprintf(path, sizeof(path), "%s?error=%s", page, code);
	return redirect(req, path);
}

/* JSON clients get `body` with `status`; pages are sent to `next`. */
static int reply_or_redirect(struct http_req *req, int status, json_t *body, const char *next)
{
	if (http_is_json(req))
		return http_reply_json(req, status, body);
	json_decref(body);
	return redirect(req, next);
}

static json_t *user_view(const json_t *u)
{
	return must(json_pack(
		"{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id", jsonx_str(u, "_id"), "email",
		jsonx_str(u, "email"), "displayName", jsonx_str(u, "displayName"), "profileRole",
		jsonx_str(u, "profileRole"), "onboardingStep", jsonx_str(u, "onboardingStep"),
		"onboardingCompletedAt", jsonx_str(u, "onboardingCompletedAt")));
}

/* Onboarding steps (ONB-1) and the page a ready user is sent to (ONB-2, none mode). A ready
 * user is past identity and workspace whatever the stored step says, which keeps the
 * workspace form from sending them back to itself. */
static const struct {
	const char *step;
	const char *page;
} steps[] = {
	{"identity", "/onboarding/loader"}, {"workspace", "/onboarding/loader"},
	{"loader", "/onboarding/loader"},   {"provider", "/onboarding/provider"},
	{"start", "/onboarding/provider"},
};

static int step_index(const char *step)
{
	for (size_t i = 0; step != NULL && i < ARRAY_LEN(steps); i++)
		if (strcmp(step, steps[i].step) == 0)
			return (int)i;
	return -1;
}

/* Where `user` goes next; first_ws is their oldest workspace or NULL. */
static void next_path(const json_t *user, const char *first_ws, char out[PATH_BUF])
{
	int i = step_index(jsonx_str(user, "onboardingStep"));

	if (first_ws == NULL)
		snprintf(out, PATH_BUF, "/onboarding/workspace");
	else if (jsonx_str(user, "onboardingCompletedAt") != NULL)
		snprintf(out, PATH_BUF, "/w/%s", first_ws);
	else
		snprintf(out, PATH_BUF, "%s", steps[i >= 0 ? i : step_index("start")].page);
}

/* Store writes on the caller's own user document. */

/* $set `set` (stolen) plus updatedAt on user `id`; *doc_out (may be NULL) gets the result. */
static int user_update(struct api *api, const char *id, json_t *set, json_t *unset,
		       json_t **doc_out, struct err *e)
{
	char now[TIME_ISO_LEN + 1];
	json_t *filter = must(json_pack("{s:s}", "_id", id));
	json_t *update = must(json_object()), *doc = NULL;
	int rc;

	time_now_iso8601(now);
	if (json_object_set_new(set, "updatedAt", json_string(now)) != 0 ||
	    json_object_set_new(update, "$set", set) != 0 ||
	    (unset != NULL && json_object_set_new(update, "$unset", unset) != 0))
		abort();
	rc = store_find_one_and_update(api->store, "users", filter, update, NULL, 0, 0, &doc, e);
	json_decref(filter);
	json_decref(update);
	if (rc == 0 && doc == NULL)
		rc = err_set(e, ERR_NOT_FOUND, "user %s is gone", id);
	if (rc == 0 && doc_out != NULL)
		*doc_out = doc;
	else
		json_decref(doc);
	return rc;
}

/* The oldest membership's workspace id into ws (empty when there is none). */
static int first_workspace(struct api *api, const char *user_id, char ws[WORKSPACE_SLUG_MAX + 1],
			   struct err *e)
{
	static const struct store_sort oldest_first[] = {{"createdAt", 1}};
	json_t *filter = must(json_pack("{s:s}", "userId", user_id)), *m = NULL;
	const char *id;
	int rc;

	ws[0] = '\0';
	rc = store_find_one(api->store, "workspace_memberships", filter, oldest_first, 1, &m, e);
	json_decref(filter);
	id = m != NULL ? jsonx_str(m, "workspaceId") : NULL;
	if (id != NULL && strlen(id) <= WORKSPACE_SLUG_MAX)
		memcpy(ws, id, strlen(id) + 1);
	json_decref(m);
	return rc;
}

/* POST /api/onboarding/identity */

struct identity {
	char display_name[TEXT_BUF(NAME_MAX_CHARS)];
	char profile_role[TEXT_BUF(NAME_MAX_CHARS)];
	char email[TEXT_BUF(EMAIL_MAX_CHARS)];
	char email_normalized[TEXT_BUF(EMAIL_MAX_CHARS)];
};

#define IDENTITY_FIELD(f) offsetof(struct identity, f), sizeof(((struct identity *)NULL)->f)

static const struct text_rule identity_rules[] = {
	{"displayName", IDENTITY_FIELD(display_name), NAME_MIN_CHARS, NAME_MAX_CHARS, true, NULL,
	 "displayName must be 2 to 80 characters"},
	{"profileRole", IDENTITY_FIELD(profile_role), NAME_MIN_CHARS, NAME_MAX_CHARS, true, NULL,
	 "profileRole must be 2 to 80 characters"},
	{"email", IDENTITY_FIELD(email), EMAIL_MIN_CHARS, EMAIL_MAX_CHARS, false, email_valid,
	 "email must be a valid address of at most 254 characters"},
};

static int identity_read(struct http_req *req, struct identity *in, const char **message)
{
	if (read_fields(req, identity_rules, ARRAY_LEN(identity_rules), in, message) != 0)
		return -1;
	if (in->email[0] == '\0')
		snprintf(in->email, sizeof(in->email), "%s", LOCAL_USER_EMAIL);
	for (size_t i = 0; in->email[i] != '\0'; i++)
		in->email_normalized[i] = (char)tolower((unsigned char)in->email[i]);
	in->email_normalized[strlen(in->email)] = '\0';
	return 0;
}

static json_t *identity_fields(const struct identity *in)
{
	return must(json_pack("{s:s, s:s, s:s}", "email", in->email, "displayName",
			      in->display_name, "profileRole", in->profile_role));
}

static int user_insert(struct api *api, const struct identity *in, json_t **doc, struct err *e)
{
	char now[TIME_ISO_LEN + 1];
	json_t *u = identity_fields(in);

	time_now_iso8601(now);
	if (json_object_set_new(u, "emailNormalized", json_string(in->email_normalized)) != 0 ||
	    json_object_set_new(u, "onboardingStep", json_string("workspace")) != 0 ||
	    json_object_set_new(u, "createdAt", json_string(now)) != 0 ||
	    json_object_set_new(u, "updatedAt", json_string(now)) != 0)
		abort();
	if (store_insert(api->store, "users", u, e) != 0) {
		json_decref(u);
		return -1;
	}
	*doc = u;
	return 0;
}

/* Each email is its own user: update the one with this emailNormalized, or create it. The
 * store has no $setOnInsert, so this is find, then update or insert; losing an insert race
 * to the unique index means the user now exists, and the second pass updates it. */
static int user_upsert(struct api *api, const struct identity *in, json_t **doc, struct err *e)
{
	json_t *filter = must(json_pack("{s:s}", "emailNormalized", in->email_normalized));
	int rc = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		json_t *found = NULL;

		if (store_find_one(api->store, "users", filter, NULL, 0, &found, e) != 0)
			break;
		if (found != NULL) {
			rc = user_update(api, jsonx_str(found, "_id"), identity_fields(in), NULL,
					 doc, e);
			json_decref(found);
			break;
		}
		rc = user_insert(api, in, doc, e);
		if (rc == 0 || e->code != ERR_DUPLICATE)
			break;
	}
	json_decref(filter);
	return rc;
}

/* Users without a workspace always continue at the workspace step (ONB-3). */
static int user_step_workspace(struct api *api, json_t **user, struct err *e)
{
	const char *step = jsonx_str(*user, "onboardingStep");
	json_t *doc = NULL;

	if (step != NULL && strcmp(step, "workspace") == 0)
		return 0;
	if (user_update(api, jsonx_str(*user, "_id"),
			must(json_pack("{s:s}", "onboardingStep", "workspace")), NULL, &doc,
			e) != 0)
		return -1;
	json_decref(*user);
	*user = doc;
	return 0;
}

/* A new session for user, the cookies, and the old session (if any) ended: a sign-in never
 * keeps a session id that existed before it. */
static int session_start(struct http_req *req, const char *user_id, const char *first_ws,
			 struct err *e)
{
	struct api *api = api_of(req);
	const char *old = http_cookie(req, SESSION_COOKIE);
	char cookie[TOKEN_MAX_BYTES];
	struct err olde = {0};
	struct rds *r = api_redis(e);

	if (r == NULL ||
	    session_create(r, user_id, "none", api->session_ttl_s, cookie, sizeof(cookie), e) != 0)
		return -1;
	if (old != NULL && session_revoke(r, old, &olde) != 0)
		log_warning("sign-in: the previous session was not revoked: %s", olde.msg);
	http_set_cookie(req, SESSION_COOKIE, cookie, api->session_ttl_s);
	explicit_bzero(cookie, sizeof(cookie));
	if (first_ws[0] != '\0')
		http_set_cookie(req, WORKSPACE_COOKIE, first_ws, api->session_ttl_s);
	else
		http_set_cookie(req, WORKSPACE_COOKIE, "", 0);
	return 0;
}

static int reply_backend(struct http_req *req, const struct err *e)
{
	if (e->code == ERR_UNAVAILABLE || e->code == ERR_TIMEOUT || e->code == ERR_IO)
		return http_reply_error(req, 503, "unavailable", "a backend is unavailable");
	return http_reply_err(req, e);
}

static int identity_post(struct http_req *req)
{
	struct api *api = api_of(req);
	char ws[WORKSPACE_SLUG_MAX + 1], next[PATH_BUF];
	const char *message = NULL;
	struct identity in;
	json_t *user = NULL;
	struct err e = {0};
	int rc;

	if (strcmp(config_str(api->cfg, "auth.mode"), "none") != 0)
		return http_reply_error(req, 400, "unsupported_auth_mode",
					"the identity form is only for auth mode none");
	if (body_check(req) != 0)
		return 0;
	if (identity_read(req, &in, &message) != 0)
		return refuse(req, "invalid_identity", "/onboarding/identity", message);
	if (user_upsert(api, &in, &user, &e) != 0 ||
	    first_workspace(api, jsonx_str(user, "_id"), ws, &e) != 0 ||
	    (ws[0] == '\0' && user_step_workspace(api, &user, &e) != 0) ||
	    session_start(req, jsonx_str(user, "_id"), ws, &e) != 0) {
		json_decref(user);
		return reply_backend(req, &e);
	}
	next_path(user, ws[0] != '\0' ? ws : NULL, next);
	rc = reply_or_redirect(req, 200,
			       must(json_pack("{s:o, s:s}", "user", user_view(user), "next", next)),
			       next);
	json_decref(user);
	return rc;
}

/* POST /api/onboarding/workspace */

struct workspace_form {
	char name[TEXT_BUF(NAME_MAX_CHARS)];
};

static const struct text_rule workspace_rules[] = {
	{"workspaceName", offsetof(struct workspace_form, name),
	 sizeof(((struct workspace_form *)NULL)->name), NAME_MIN_CHARS, NAME_MAX_CHARS, true, NULL,
	 "workspaceName must be 2 to 80 characters"},
};

static const char *first_ws_of(const struct guard_ctx *ctx)
{
	return jsonx_str(json_array_get(ctx->memberships, 0), "workspaceId");
}

/* API-6: a user who is already onboarded is sent on, nothing is created. */
static int workspace_already_ready(struct http_req *req, const struct guard_ctx *ctx)
{
	char next[PATH_BUF];

	next_path(ctx->user, first_ws_of(ctx), next);
	return reply_or_redirect(req, 200, must(json_pack("{s:s}", "next", next)), next);
}

static int onboarding_workspace_post(struct http_req *req)
{
	struct api *api = api_of(req);
	struct guard_ctx *ctx = api_ctx(req);
	const char *message = NULL, *ws_id;
	struct workspace_form in;
	json_t *ws = NULL;
	struct err e = {0};

	if (ctx->state == ONBOARDING_READY)
		return workspace_already_ready(req, ctx);
	if (body_check(req) != 0)
		return 0;
	if (read_fields(req, workspace_rules, ARRAY_LEN(workspace_rules), &in, &message) != 0)
		return refuse(req, "invalid_workspace", "/onboarding/workspace", message);
	if (api_workspace_create(req, in.name, &ws, &e) != 0)
		return reply_backend(req, &e);
	/* The workspace exists whatever happens next; a lost step write only means the user
	 * is shown the loader by ONB-2's rules instead, so it is logged, not returned. */
	if (user_update(api, ctx->user_id, must(json_pack("{s:s}", "onboardingStep", "loader")),
			NULL, NULL, &e) != 0)
		log_warning("onboarding: step not saved: %s", e.msg);
	ws_id = jsonx_str(ws, "id") != NULL ? jsonx_str(ws, "id") : jsonx_str(ws, "_id");
	if (ws_id != NULL)
		http_set_cookie(req, WORKSPACE_COOKIE, ws_id, api->session_ttl_s);
	return reply_or_redirect(
		req, 201,
		must(json_pack("{s:o, s:s}", "workspace", ws, "next", "/onboarding/loader")),
		"/onboarding/loader");
}

/* POST /api/onboarding/step and /complete */

static int reply_ok(struct http_req *req)
{
	return http_reply_json(req, 200, must(json_pack("{s:b}", "ok", 1)));
}

static int step_post(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	const char *step;
	struct err e = {0};

	if (body_check(req) != 0)
		return 0;
	step = http_field(req, "step");
	if (step_index(step) < 0)
		return http_reply_error(req, 400, "invalid_step",
					"step must be identity, workspace, loader, provider or "
					"start");
	if (user_update(api_of(req), ctx->user_id, must(json_pack("{s:s}", "onboardingStep", step)),
			NULL, NULL, &e) != 0)
		return reply_backend(req, &e);
	return reply_ok(req);
}

static int complete_post(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	char now[TIME_ISO_LEN + 1];
	struct err e = {0};

	time_now_iso8601(now);
	if (user_update(api_of(req), ctx->user_id,
			must(json_pack("{s:s, s:s}", "onboardingStep", "start",
				       "onboardingCompletedAt", now)),
			NULL, NULL, &e) != 0)
		return reply_backend(req, &e);
	return reply_ok(req);
}

/* POST /api/onboarding/context (API-9) */

/* CRLF -> LF, runs of 4+ newlines -> 3, trim, cut to the limit; NULL when nothing is left.
 * malloc'd. */
static char *context_normalize(const char *in)
{
	size_t n = strlen(in), o = 0, newlines = 0, start = 0, chars = 0, end;
	char *out = malloc(n + 1);

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && in[i + 1] == '\n')
			continue;
		newlines = in[i] == '\n' ? newlines + 1 : 0;
		if (newlines <= 3)
			out[o++] = in[i];
	}
	while (o > 0 && is_space(out[o - 1]))
		o--;
	while (start < o && is_space(out[start]))
		start++;
	for (end = start; end < o; end++)
		if (((unsigned char)out[end] & 0xc0) != 0x80 &&
		    ++chars > ONBOARDING_CONTEXT_MAX_CHARS)
			break;
	memmove(out, out + start, end - start);
	out[end - start] = '\0';
	if (out[0] == '\0') {
		free(out);
		return NULL;
	}
	return out;
}

/* The normalised value of body[key] into *value (new reference: string or null), or NULL
 * when the key is absent. -1 when it is neither a string nor null. */
static int context_field(const json_t *body, const char *key, json_t **value)
{
	json_t *v = json_object_get(body, key);
	char *text;

	*value = NULL;
	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		*value = json_null();
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	text = context_normalize(json_string_value(v));
	*value = text != NULL ? must(json_string(text)) : json_null();
	free(text);
	return 0;
}

/* Writes `value` (stolen; NULL leaves the field alone) as coll[id].field and returns the
 * stored value (new reference, null when unset); ERR_NOT_FOUND when the document is gone. */
static int context_write(struct api *api, const char *coll, const char *id, const char *field,
			 json_t *value, json_t **stored, struct err *e)
{
	char now[TIME_ISO_LEN + 1];
	json_t *filter = must(json_pack("{s:s}", "_id", id)), *doc = NULL, *update;
	int rc;

	time_now_iso8601(now);
	if (value != NULL) {
		update = must(json_pack("{s:{s:o, s:s}}", "$set", field, value, "updatedAt", now));
		rc = store_find_one_and_update(api->store, coll, filter, update, NULL, 0, 0, &doc,
					       e);
		json_decref(update);
	} else {
		rc = store_get(api->store, coll, id, &doc, e);
	}
	json_decref(filter);
	if (rc == 0 && doc == NULL)
		rc = err_set(e, ERR_NOT_FOUND, "%s %s is gone", coll, id);
	if (rc == 0) {
		*stored = json_object_get(doc, field);
		*stored = *stored != NULL ? json_incref(*stored) : json_null();
	}
	json_decref(doc);
	return rc;
}

static int context_post(struct http_req *req)
{
	struct api *api = api_of(req);
	struct guard_ctx *ctx = api_ctx(req);
	json_t *body = json_body(req, "invalid_context"), *company = NULL, *mine = NULL;
	json_t *company_out = NULL, *mine_out = NULL;
	const char *ws = first_ws_of(ctx);
	struct err e = {0};

	if (body == NULL)
		return 0;
	if (context_field(body, "companyContext", &company) != 0 ||
	    context_field(body, "userContext", &mine) != 0) {
		json_decref(company);
		return http_reply_error(req, 400, "invalid_context",
					"companyContext and userContext must be strings or null");
	}
	if (ws == NULL) {
		json_decref(company);
		err_set(&e, ERR_NOT_FOUND, "no workspace");
	}
	if (ws == NULL || context_write(api, "workspaces", ws, "companyContext", company,
					&company_out, &e) != 0) {
		json_decref(mine);
		if (e.code == ERR_NOT_FOUND)
			return http_reply_error(req, 403, "workspace_required",
						"create or join a workspace first");
		return reply_backend(req, &e);
	}
	if (context_write(api, "users", ctx->user_id, "userContext", mine, &mine_out, &e) != 0) {
		json_decref(company_out);
		return reply_backend(req, &e);
	}
	return http_reply_json(req, 200,
			       must(json_pack("{s:b, s:o, s:o}", "ok", 1, "companyContext",
					      company_out, "userContext", mine_out)));
}

/* GET/PATCH /api/me/preferences (API-11) */

static bool hex_color_valid(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (size_t i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const char *const loader_colors[] = {"violet", "blue",  "green",  "amber",
					    "rose",   "slate", "custom", NULL};
static const char *const loader_styles[] = {"orbit", "pulse", "bars", NULL};
static const char *const theme_modes[] = {"light", "dark", "system", NULL};

/* Each preference: its choices or its checker, its error code, whether null clears it, and
 * the value a user who never chose gets. */
static const struct pref_rule {
	const char *field;
	const char *const *choices;
	bool (*check)(const char *s);
	const char *error;
	bool nullable;
	const char *def;
} pref_rules[] = {
	{"loaderColor", loader_colors, NULL, "invalid_loader_color", false, "violet"},
	{"loaderStyle", loader_styles, NULL, "invalid_loader_style", false, "orbit"},
	{"loaderCustomColor", NULL, hex_color_valid, "invalid_loader_custom_color", true, NULL},
	{"themeMode", theme_modes, NULL, "invalid_theme_mode", false, "system"},
};

static bool pref_valid(const struct pref_rule *rule, const char *s)
{
	if (s == NULL)
		return false;
	if (rule->check != NULL)
		return rule->check(s);
	for (size_t i = 0; rule->choices[i] != NULL; i++)
		if (strcmp(s, rule->choices[i]) == 0)
			return true;
	return false;
}

static const struct pref_rule *pref_rule(const char *field)
{
	for (size_t i = 0; i < ARRAY_LEN(pref_rules); i++)
		if (strcmp(field, pref_rules[i].field) == 0)
			return &pref_rules[i];
	return NULL;
}

/* Every preference, stored values that are still valid over the defaults. */
static json_t *prefs_view(const json_t *user)
{
	const json_t *stored = json_object_get(user, "preferences");
	json_t *out = must(json_object());

	for (size_t i = 0; i < ARRAY_LEN(pref_rules); i++) {
		const char *v = jsonx_str(stored, pref_rules[i].field);

		if (!pref_valid(&pref_rules[i], v))
			v = pref_rules[i].def;
		if (json_object_set_new(out, pref_rules[i].field,
					v != NULL ? json_string(v) : json_null()) != 0)
			abort();
	}
	return out;
}

static int prefs_get(struct http_req *req)
{
	return http_reply_json(
		req, 200, must(json_pack("{s:o}", "preferences", prefs_view(api_ctx(req)->user))));
}

static int pref_refused(struct http_req *req, const char *code, const char *message)
{
	http_reply_error(req, 400, code, "%s", message);
	return -1;
}

/* The value to store: colours in one case, so that equal colours compare equal. */
static json_t *pref_value(const struct pref_rule *rule, const char *s)
{
	char lower[sizeof("#rrggbb")];

	if (rule->check == NULL)
		return must(json_string(s));
	snprintf(lower, sizeof(lower), "%.7s", s);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return must(json_string(lower));
}

/* Checks a PATCH body against the table into $set / $unset objects; -1 after replying. */
static int prefs_parse(struct http_req *req, const json_t *body, json_t *set, json_t *unset)
{
	const char *key;
	char path[64];
	json_t *v;

	if (json_object_size(body) == 0)
		return pref_refused(req, "empty_preferences", "no preference given");
	json_object_foreach ((json_t *)body, key, v) {
		const struct pref_rule *rule = pref_rule(key);

		if (rule == NULL)
			return pref_refused(req, "invalid_preferences", "unknown preference");
		snprintf(path, sizeof(path), "preferences.%s", rule->field);
		if (rule->nullable && json_is_null(v)) {
			if (json_object_set_new(unset, path, json_string("")) != 0)
				abort();
			continue;
		}
		if (!pref_valid(rule, json_string_value(v)))
			return pref_refused(req, rule->error, "a preference has no valid value");
		if (json_object_set_new(set, path, pref_value(rule, json_string_value(v))) != 0)
			abort();
	}
	return 0;
}

/* "custom" names no colour by itself: it needs a custom colour, given now or before. */
static bool prefs_consistent(const json_t *user, const json_t *set, const json_t *unset)
{
	const json_t *stored = json_object_get(user, "preferences");
	const char *color = jsonx_str(set, "preferences.loaderColor");
	bool has_custom = json_object_get(set, "preferences.loaderCustomColor") != NULL ||
			  (json_object_get(unset, "preferences.loaderCustomColor") == NULL &&
			   jsonx_str(stored, "loaderCustomColor") != NULL);

	if (color == NULL)
		color = jsonx_str(stored, "loaderColor");
	return color == NULL || strcmp(color, "custom") != 0 || has_custom;
}

static int prefs_patch(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	json_t *body = json_body(req, "invalid_preferences"), *doc = NULL, *view;
	json_t *set = must(json_object()), *unset = must(json_object());
	struct err e = {0};

	if (body == NULL || prefs_parse(req, body, set, unset) != 0)
		goto refused;
	if (!prefs_consistent(ctx->user, set, unset)) {
		http_reply_error(req, 400, "invalid_loader_custom_color",
				 "loaderColor custom needs a loaderCustomColor");
		goto refused;
	}
	if (json_object_size(unset) == 0) {
		json_decref(unset);
		unset = NULL;
	}
	if (user_update(api_of(req), ctx->user_id, set, unset, &doc, &e) != 0)
		return reply_backend(req, &e);
	view = prefs_view(doc);
	json_decref(doc);
	return http_reply_json(req, 200, must(json_pack("{s:o}", "preferences", view)));
refused:
	json_decref(set);
	json_decref(unset);
	return 0;
}

/* GET /api/me */

/* workspaceId -> name for the caller's memberships, STORE_MAX_IN_VALUES ids a query. */
static int workspace_names(struct api *api, const json_t *memberships, json_t *names, struct err *e)
{
	static const char *const name_only[] = {"name", NULL};
	const struct store_find_opts opts = {.fields = name_only};
	size_t n = json_array_size(memberships);

	for (size_t from = 0; from < n; from += STORE_MAX_IN_VALUES) {
		json_t *ids = must(json_array()), *filter, *docs = NULL, *d;
		size_t i;
		int rc;

		for (i = from; i < n && i < from + STORE_MAX_IN_VALUES; i++) {
			const char *ws = jsonx_str(json_array_get(memberships, i), "workspaceId");

			if (ws != NULL && json_array_append_new(ids, json_string(ws)) != 0)
				abort();
		}
		filter = must(json_pack("{s:{s:o}}", "_id", "$in", ids));
		rc = store_find(api->store, "workspaces", filter, &opts, &docs, NULL, e);
		json_decref(filter);
		if (rc != 0)
			return -1;
		json_array_foreach (docs, i, d)
			if (json_object_set_new(names, jsonx_str(d, "_id"),
						json_string(jsonx_str(d, "name"))) != 0)
				abort();
		json_decref(docs);
	}
	return 0;
}

static json_t *memberships_view(const json_t *memberships, const json_t *names)
{
	json_t *out = must(json_array()), *m;
	size_t i;

	json_array_foreach (memberships, i, m) {
		const char *ws = jsonx_str(m, "workspaceId");

		if (json_array_append_new(
			    out, must(json_pack("{s:s?, s:s?, s:s?}", "workspaceId", ws, "role",
						jsonx_str(m, "role"), "workspaceName",
						ws != NULL ? jsonx_str(names, ws) : NULL))) != 0)
			abort();
	}
	return out;
}

/* The caller as GET /api/me shows them; ctx->state is at least ONBOARDING_NEEDS_WORKSPACE. */
static json_t *me_body(struct http_req *req, const struct guard_ctx *ctx, struct err *e)
{
	json_t *names = must(json_object()), *body;
	char next[PATH_BUF];
	bool ready = ctx->state == ONBOARDING_READY;

	if (workspace_names(api_of(req), ctx->memberships, names, e) != 0) {
		json_decref(names);
		return NULL;
	}
	next_path(ctx->user, ready ? first_ws_of(ctx) : NULL, next);
	body = must(json_pack("{s:o, s:o, s:{s:s, s:b, s:s}}", "user", user_view(ctx->user),
			      "memberships", memberships_view(ctx->memberships, names),
			      "onboarding", "state", ready ? "ready" : "needs-workspace",
			      "completed", jsonx_str(ctx->user, "onboardingCompletedAt") != NULL,
			      "next", next));
	json_decref(names);
	return body;
}

static int me_get(struct http_req *req)
{
	struct err e = {0};
	json_t *body = me_body(req, api_ctx(req), &e);

	return body != NULL ? http_reply_json(req, 200, body) : reply_backend(req, &e);
}

/* GET /api/auth/session: where the caller stands, 200 signed in or not, so a page can choose
 * between onboarding and the workspace without an error status. Signed in, the body is
 * GET /api/me's with signedIn true. */
static int session_get(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	const char *mode = config_str(api_of(req)->cfg, "auth.mode");
	struct err e = {0};
	json_t *body;

	if (ctx->state < ONBOARDING_NEEDS_WORKSPACE)
		return http_reply_json(
			req, 200,
			must(json_pack("{s:b, s:s, s:{s:s, s:b, s:s}}", "signedIn", 0, "authMode",
				       mode, "onboarding", "state",
				       ctx->state == ONBOARDING_NEEDS_PROFILE ? "needs-profile"
									      : "missing-identity",
				       "completed", 0, "next", "/onboarding/identity")));
	body = me_body(req, ctx, &e);
	if (body == NULL)
		return reply_backend(req, &e);
	if (json_object_set_new(body, "signedIn", json_true()) != 0 ||
	    json_object_set_new(body, "authMode", json_string(mode)) != 0)
		abort();
	return http_reply_json(req, 200, body);
}

/* POST /api/auth/logout: the session is deleted in Redis, so a copied cookie dies too. */
static int logout_post(struct http_req *req)
{
	const char *cookie = http_cookie(req, SESSION_COOKIE);
	struct err e = {0};
	struct rds *r;

	if (cookie != NULL && cookie[0] != '\0') {
		r = api_redis(&e);
		if (r == NULL || session_revoke(r, cookie, &e) != 0)
			return reply_backend(req, &e);
	}
	http_set_cookie(req, SESSION_COOKIE, "", 0);
	http_set_cookie(req, WORKSPACE_COOKIE, "", 0);
	return reply_or_redirect(req, 200, must(json_pack("{s:b}", "ok", 1)),
				 "/onboarding/identity");
}

/* Literal paths only, so the order inside this table does not matter. */
const struct http_route api_routes_onboarding[] = {
	{"POST", "/api/onboarding/identity", identity_post, ACCESS_IDENTITY, PERM_NONE, NULL, 0},
	{"POST", "/api/onboarding/workspace", onboarding_workspace_post, ACCESS_PROFILE, PERM_NONE,
	 NULL, 0},
	{"POST", "/api/onboarding/step", step_post, ACCESS_READY, PERM_NONE, NULL, 0},
	{"POST", "/api/onboarding/complete", complete_post, ACCESS_READY, PERM_NONE, NULL, 0},
	{"POST", "/api/onboarding/context", context_post, ACCESS_READY, PERM_NONE, NULL, 0},
	{"GET", "/api/me/preferences", prefs_get, ACCESS_READY, PERM_NONE, NULL, 0},
	{"PATCH", "/api/me/preferences", prefs_patch, ACCESS_READY, PERM_NONE, NULL, 0},
	{"GET", "/api/me", me_get, ACCESS_PROFILE, PERM_NONE, NULL, 0},
	{"GET", "/api/auth/session", session_get, ACCESS_IDENTITY, PERM_NONE, NULL, 0},
	{"POST", "/api/auth/logout", logout_post, ACCESS_IDENTITY, PERM_NONE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
