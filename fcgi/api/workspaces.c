/* Workspaces: create with an owner and the General team, list, read, rename, runtime settings.
 *
 * A workspace document (DM-2) has its slug as _id and in `slug` (TEN-1), a `name`, an
 * optional `companyContext`, `appRuntimeSettings` (three booleans, each true when absent),
 * `defaultTeamId` naming its General team, `createdByUserId` and ISO dates. Creating one
 * writes four documents that the store cannot write in one transaction: the workspace, the
 * General team, the owner's membership and their General team membership; a failure undoes
 * the earlier ones in reverse order. This file also holds the request-side helpers of
 * fcgi/api/tenancy.h that the members, teams and invitations handlers share. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/api/api.h"
#include "fcgi/api/tenancy.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/log.h"
#include "lib/session.h"
#include "lib/timeutil.h"

/* Creates a workspace named `name` (2..80 characters after trimming, else ERR_INVALID) owned
 * by the calling user, with its General team; *workspace_out gets a new reference to it as
 * the API shows it ({id, name, slug, defaultTeamId, ...}). onboarding.c declares this
 * prototype locally (api.h is the lead's): keep the two equal. */
int api_workspace_create(struct http_req *req, const char *name, json_t **workspace_out,
			 struct err *e);

static const char *const runtime_keys[] = {
	"allowIframeScripts",
	"allowIframeClipboard",
	"allowIframeExternalLinks",
};

#define NRUNTIME_KEYS (sizeof(runtime_keys) / sizeof(runtime_keys[0]))

static void must(int rc)
{
	/* jansson only fails these on allocation failure, and out of memory aborts (STYLE 5). */
	if (rc != 0)
		abort();
}

/* Sets a non-empty UTF-8 string; anything else is left out. */
static void set_str(json_t *obj, const char *key, const char *value)
{
	json_t *v = value != NULL && value[0] != '\0' ? json_string(value) : NULL;

	if (v != NULL)
		must(json_object_set_new(obj, key, v));
}

/* Request-side helpers of tenancy.h */

static const struct tenancy_field *field_named(const struct tenancy_field *fields, const char *key)
{
	for (const struct tenancy_field *f = fields; f->name != NULL; f++)
		if (strcmp(f->name, key) == 0)
			return f;
	return NULL;
}

static int reply_body_error(struct http_req *req, const struct err *e)
{
	if (e->code == ERR_INVALID || e->code == ERR_TOO_DEEP)
		return http_reply_error(req, 400, "invalid_body", "the body is not valid JSON");
	return http_reply_err(req, e);
}

int tenancy_body(struct http_req *req, const struct tenancy_field *fields, json_t **out)
{
	const struct tenancy_field *f;
	json_t *body, *clean = NULL, *v;
	struct err e = {0};
	const char *key;

	*out = NULL;
	body = http_json(req, &e);
	if (body == NULL) {
		reply_body_error(req, &e);
		return -1;
	}
	if (!json_is_object(body)) {
		http_reply_error(req, 400, "invalid_body", "the body must be a JSON object");
		return -1;
	}
	json_object_foreach (body, key, v)
		if (field_named(fields, key) == NULL) {
			http_reply_error(req, 400, "invalid_body", "unknown field '%.64s'", key);
			return -1;
		}
	clean = json_object();
	for (f = fields; f->name != NULL; f++) {
		json_t *nv;

		v = json_object_get(body, f->name);
		if (v == NULL && !f->required)
			continue;
		nv = v != NULL ? f->check(v) : NULL;
		if (nv == NULL) {
			json_decref(clean);
			http_reply_error(req, 400, f->code, "%s", f->message);
			return -1;
		}
		must(json_object_set_new(clean, f->name, nv));
	}
	*out = clean;
	return 0;
}

static bool ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

json_t *tenancy_text(const json_t *v, size_t min, size_t max)
{
	size_t len, chars = 0;
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return NULL; /* an embedded NUL */
	while (len > 0 && ascii_space((unsigned char)*s))
		s++, len--;
	while (len > 0 && ascii_space((unsigned char)s[len - 1]))
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Names are one line of text: a control byte can only be a mistake or a trick. */
		if (c < 0x20 || c == 0x7f)
			return NULL;
		if ((c & 0xc0) != 0x80)
			chars++;
	}
	if (chars < min || chars > max)
		return NULL;
	return json_stringn(s, len);
}

size_t tenancy_slugify(const char *name, char *out, size_t max)
{
	bool gap = false;
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && n < max; p++) {
		unsigned char c = (unsigned char)tolower(*p);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			gap = true;
			continue;
		}
		if (gap && n > 0 && n + 1 < max)
			out[n++] = '-';
		gap = false;
		out[n++] = (char)c;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return n;
}

bool tenancy_object_id(const char *raw, char out[ID_HEX_LEN + 1])
{
	size_t len;

	if (raw == NULL)
		return false;
	while (ascii_space((unsigned char)*raw))
		raw++;
	len = strnlen(raw, ID_HEX_LEN + 1);
	while (len > ID_HEX_LEN && ascii_space((unsigned char)raw[len - 1]))
		len--;
	if (len != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)raw[i]))
			return false;
		out[i] = (char)tolower((unsigned char)raw[i]);
	}
	out[len] = '\0';
	/* Trailing white space past the id is allowed, anything else is not. */
	for (const char *p = raw + len; *p != '\0'; p++)
		if (!ascii_space((unsigned char)*p))
			return false;
	return true;
}

void tenancy_set_workspace_cookie(struct http_req *req, const char *workspace_id)
{
	http_set_cookie(req, WORKSPACE_COOKIE, workspace_id, api_of(req)->session_ttl_s);
}

/* Workspace documents */

static json_t *runtime_settings(const json_t *ws)
{
	json_t *stored = json_object_get(ws, "appRuntimeSettings"), *out = json_object();

	if (out == NULL)
		abort();
	for (size_t i = 0; i < NRUNTIME_KEYS; i++) {
		json_t *v = json_object_get(stored, runtime_keys[i]);

		must(json_object_set_new(out, runtime_keys[i],
					 json_boolean(json_is_boolean(v) ? json_is_true(v) : 1)));
	}
	return out;
}

static json_t *workspace_json(const json_t *ws)
{
	json_t *out = json_pack(
		"{s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:O?, s:O?, s:O?}", "id",
		json_object_get(ws, "_id"), "name", json_object_get(ws, "name"), "slug",
		json_object_get(ws, "slug"), "defaultTeamId", json_object_get(ws, "defaultTeamId"),
		"companyContext", json_object_get(ws, "companyContext"), "appRuntimeSettings",
		runtime_settings(ws), "createdByUserId", json_object_get(ws, "createdByUserId"),
		"createdAt", json_object_get(ws, "createdAt"), "updatedAt",
		json_object_get(ws, "updatedAt"));

	if (out == NULL)
		abort();
	return out;
}

static json_t *check_workspace_name(const json_t *v)
{
	return tenancy_text(v, NAME_MIN_CHARS, NAME_MAX_CHARS);
}

/* API-9 normalisation: CRLF -> LF, four or more newlines -> three, trimmed, cut to
 * ONBOARDING_CONTEXT_MAX_CHARS characters, empty -> null. */
static json_t *check_company_context(const json_t *v)
{
	const char *s;
	size_t len, n = 0, chars = 0, nl = 0;
	char *buf;
	json_t *out;

	if (json_is_null(v))
		return json_null();
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	s = json_string_value(v);
	len = json_string_length(v);
	buf = malloc(len + 1);
	if (buf == NULL)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n')
			continue;
		nl = s[i] == '\n' ? nl + 1 : 0;
		if (nl <= 3)
			buf[n++] = s[i];
	}
	while (n > 0 && ascii_space((unsigned char)buf[n - 1]))
		n--;
	len = 0;
	while (len < n && ascii_space((unsigned char)buf[len]))
		len++;
	/* Cut at a character boundary after the trim, as the reference does. */
	for (size_t i = len; i < n; i++)
		if (((unsigned char)buf[i] & 0xc0) != 0x80 &&
		    ++chars > ONBOARDING_CONTEXT_MAX_CHARS) {
			n = i;
			break;
		}
	out = n > len ? json_stringn(buf + len, n - len) : json_null();
	free(buf);
	return out;
}

static json_t *check_bool(const json_t *v)
{
	return json_is_boolean(v) ? json_boolean(json_is_true(v)) : NULL;
}

static const struct tenancy_field create_fields[] = {
	{"name", check_workspace_name, true, "invalid_workspace_name",
	 "name must be 2 to 80 characters"},
	{NULL, NULL, false, NULL, NULL},
};

static const struct tenancy_field patch_fields[] = {
	{"name", check_workspace_name, false, "invalid_workspace_name",
	 "name must be 2 to 80 characters"},
	{"companyContext", check_company_context, false, "invalid_company_context",
	 "companyContext must be a string or null"},
	{NULL, NULL, false, NULL, NULL},
};

static const struct tenancy_field runtime_fields[] = {
	{"allowIframeScripts", check_bool, false, "invalid_app_runtime_settings",
	 "allowIframeScripts must be a boolean"},
	{"allowIframeClipboard", check_bool, false, "invalid_app_runtime_settings",
	 "allowIframeClipboard must be a boolean"},
	{"allowIframeExternalLinks", check_bool, false, "invalid_app_runtime_settings",
	 "allowIframeExternalLinks must be a boolean"},
	{NULL, NULL, false, NULL, NULL},
};

/* Creation (TEN-1) */

/* The slug tried at `attempt` (1-based): the base, then base-2, base-3, ..., and past
 * WORKSPACE_SLUG_SEQUENTIAL a random suffix, so a popular name cannot exhaust the range. */
static void slug_candidate(const char *base, int attempt, char out[WORKSPACE_SLUG_MAX + 1])
{
	char suffix[2 + ID_HEX_LEN];
	size_t keep;

	if (attempt == 1) {
		snprintf(out, WORKSPACE_SLUG_MAX + 1, "%s", base);
		return;
	}
	if (attempt <= WORKSPACE_SLUG_SEQUENTIAL) {
		snprintf(suffix, sizeof(suffix), "-%d", attempt);
	} else {
		char rnd[ID_HEX_LEN + 1];

		id_new(rnd);
		snprintf(suffix, sizeof(suffix), "-%.8s", rnd);
	}
	keep = strlen(base);
	if (keep + strlen(suffix) > WORKSPACE_SLUG_MAX)
		keep = WORKSPACE_SLUG_MAX - strlen(suffix);
	while (keep > 0 && base[keep - 1] == '-')
		keep--;
	snprintf(out, WORKSPACE_SLUG_MAX + 1, "%.*s%s", (int)keep, base, suffix);
}

/* Inserts doc under the first free slug. Both unique keys a workspace has (_id and
 * workspaces_slug_unique) hold the slug, so any duplicate means "taken, try the next". */
static int insert_workspace(struct store *s, json_t *doc, const char *name, struct err *e)
{
	char base[WORKSPACE_SLUG_MAX + 1], slug[WORKSPACE_SLUG_MAX + 1];

	if (tenancy_slugify(name, base, WORKSPACE_SLUG_MAX) == 0)
		snprintf(base, sizeof(base), "workspace");
	for (int attempt = 1; attempt <= WORKSPACE_SLUG_SEQUENTIAL + WORKSPACE_SLUG_RANDOM;
	     attempt++) {
		slug_candidate(base, attempt, slug);
		must(json_object_set_new(doc, "_id", json_string(slug)));
		must(json_object_set_new(doc, "slug", json_string(slug)));
		if (store_insert(s, "workspaces", doc, e) == 0)
			return 0;
		if (e->code != ERR_DUPLICATE)
			return -1;
	}
	return err_set(e, ERR_CONFLICT, "no free slug for this workspace name");
}

/* Undoes the first `steps` writes of api_workspace_create, newest first. */
static void create_rollback(struct store *s, const char *ws_id, const char *team_id, int steps)
{
	json_t *f = NULL;
	struct err e = {0};

	if (steps >= 2) {
		f = json_pack("{s:s, s:s}", "_id", team_id, "workspaceId", ws_id);
		if (store_delete_one(s, "workspace_teams", f, NULL, &e) != 0)
			log_error("workspace %s: undo General team: %s", ws_id, e.msg);
		json_decref(f);
	}
	if (steps >= 1) {
		f = json_pack("{s:s}", "_id", ws_id);
		if (store_delete_one(s, "workspaces", f, NULL, &e) != 0)
			log_error("workspace %s: undo workspace: %s", ws_id, e.msg);
		json_decref(f);
	}
}

static json_t *general_team(const char *team_id, const char *ws_id, const char *user_id,
			    const char *now)
{
	json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "_id", team_id,
			      "workspaceId", ws_id, "name", "General", "slug", "general",
			      "isDefault", 1, "createdByUserId", user_id, "createdAt", now,
			      "updatedAt", now);

	if (t == NULL)
		abort();
	return t;
}

/* A name as the client sent it, trimmed, as a new JSON string; NULL when it breaks TEN-1. */
static json_t *workspace_name_of(const char *name)
{
	json_t *raw = json_string(name != NULL ? name : ""), *clean;

	clean = raw != NULL ? check_workspace_name(raw) : NULL;
	json_decref(raw);
	return clean;
}

static json_t *workspace_doc_new(json_t *name, const char *team_id, const char *user_id,
				 const char *now)
{
	json_t *ws = json_pack("{s:O, s:n, s:s, s:s, s:s, s:s, s:o}", "name", name,
			       "companyContext", "defaultTeamId", team_id, "createdByUserId",
			       user_id, "createdAt", now, "updatedAt", now, "appRuntimeSettings",
			       runtime_settings(NULL));

	if (ws == NULL)
		abort();
	return ws;
}

int api_workspace_create(struct http_req *req, const char *name, json_t **workspace_out,
			 struct err *e)
{
	struct store *s = api_of(req)->store;
	struct guard_ctx *ctx = api_ctx(req);
	json_t *jname = NULL, *ws = NULL, *team = NULL, *teams = NULL;
	char team_id[ID_HEX_LEN + 1], now[TIME_ISO_LEN + 1], ws_id[WORKSPACE_SLUG_MAX + 1];
	int steps = 0, rc = -1;

	*workspace_out = NULL;
	if (ctx == NULL || ctx->user_id == NULL)
		return err_set(e, ERR_INVALID, "workspace create: no calling user");
	jname = workspace_name_of(name);
	if (jname == NULL)
		return err_set(e, ERR_INVALID, "workspace name must be 2 to 80 characters");
	id_new(team_id);
	time_now_iso8601(now);
	ws = workspace_doc_new(jname, team_id, ctx->user_id, now);
	if (insert_workspace(s, ws, json_string_value(jname), e) != 0)
		goto out;
	steps = 1;
	snprintf(ws_id, sizeof(ws_id), "%s", jsonx_str(ws, "_id"));
	team = general_team(team_id, ws_id, ctx->user_id, now);
	if (store_insert(s, "workspace_teams", team, e) != 0)
		goto out;
	steps = 2;
	teams = json_pack("[s]", team_id);
	if (teams == NULL)
		abort();
	/* tenancy_join undoes its own writes when it fails. */
	if (tenancy_join(s, ws_id, ctx->user_id, "owner", NULL, teams, NULL, e) != 0)
		goto out;
	api_audit_in(req, ws_id, "owner", "workspace.created", "system", "notice", "workspace",
		     ws_id, json_string_value(jname), "Created the workspace",
		     json_pack("{s:s, s:s}", "slug", ws_id, "defaultTeamId", team_id));
	*workspace_out = workspace_json(ws);
	rc = 0;
out:
	if (rc != 0 && steps > 0)
		create_rollback(s, ws_id, team_id, steps);
	json_decref(jname);
	json_decref(ws);
	json_decref(team);
	json_decref(teams);
	return rc;
}

/* Handlers */

static int reply_store_error(struct http_req *req, const char *what, const struct err *e)
{
	log_warning("%s: %s", what, e->msg);
	return http_reply_err(req, e);
}

/* GET /api/workspaces: the caller's workspaces, oldest membership first. */
static int list_workspaces(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	json_t *ids = json_array(), *by_id = NULL, *list = json_array(), *m;
	struct err e = {0};
	size_t i;

	if (ids == NULL || list == NULL)
		abort();
	json_array_foreach (ctx->memberships, i, m) {
		json_t *ws_id = json_object_get(m, "workspaceId");

		if (json_is_string(ws_id))
			must(json_array_append(ids, ws_id));
	}
	if (tenancy_by_id(api_of(req)->store, "workspaces", ids, NULL, &by_id, &e) != 0) {
		json_decref(ids);
		json_decref(list);
		return reply_store_error(req, "workspaces list", &e);
	}
	json_array_foreach (ctx->memberships, i, m) {
		const char *ws_id = jsonx_str(m, "workspaceId");
		json_t *ws = ws_id != NULL ? json_object_get(by_id, ws_id) : NULL;

		if (ws == NULL)
			continue; /* a membership whose workspace is gone grants nothing */
		must(json_array_append_new(list,
					   json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "id",
						     json_object_get(ws, "_id"), "name",
						     json_object_get(ws, "name"), "slug",
						     json_object_get(ws, "slug"), "role",
						     json_object_get(m, "role"), "createdAt",
						     json_object_get(ws, "createdAt"), "joinedAt",
						     json_object_get(m, "createdAt"))));
	}
	json_decref(ids);
	json_decref(by_id);
	return http_reply_json(req, 200, json_pack("{s:o}", "workspaces", list));
}

static int redirect_to(struct http_req *req, const char *path)
{
	const char *base = api_of(req)->public_url ? api_of(req)->public_url : "";
	char url[CONFIG_VALUE_MAX + HTTP_MAX_PATH_BYTES];
	size_t blen = strlen(base);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path);
	return http_reply_redirect(req, url);
}

/* API-12: the page's form posts workspaceName and follows redirects. */
static int create_from_form(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	const char *name = http_form(req, "workspaceName");
	json_t *ws = NULL, *first = json_array_get(ctx->memberships, 0);
	char path[HTTP_MAX_PATH_BYTES];
	struct err e = {0};
	int rc;

	if (api_workspace_create(req, name, &ws, &e) != 0) {
		if (e.code != ERR_INVALID)
			return reply_store_error(req, "workspace create", &e);
		if (first != NULL)
			snprintf(path, sizeof(path), "/w/%s?error=invalid_workspace",
				 jsonx_str(first, "workspaceId"));
		else
			snprintf(path, sizeof(path),
				 "/onboarding/workspace?error=invalid_workspace");
		return redirect_to(req, path);
	}
	tenancy_set_workspace_cookie(req, jsonx_str(ws, "id"));
	snprintf(path, sizeof(path), "/w/%s", jsonx_str(ws, "id"));
	rc = redirect_to(req, path);
	json_decref(ws);
	return rc;
}

/* POST /api/workspaces */
static int create_workspace(struct http_req *req)
{
	json_t *body = NULL, *ws = NULL;
	struct err e = {0};
	int rc;

	if (!http_is_json(req))
		return create_from_form(req);
	if (tenancy_body(req, create_fields, &body) != 0)
		return 0;
	rc = api_workspace_create(req, jsonx_str(body, "name"), &ws, &e);
	json_decref(body);
	if (rc != 0)
		return reply_store_error(req, "workspace create", &e);
	tenancy_set_workspace_cookie(req, jsonx_str(ws, "id"));
	return http_reply_json(req, 201, json_pack("{s:o}", "workspace", ws));
}

/* The guard proved the workspace exists a moment ago; it can still vanish, hence the 404. */
static int load_workspace(struct http_req *req, json_t **ws)
{
	struct err e = {0};

	if (store_get(api_of(req)->store, "workspaces", api_ctx(req)->workspace_id, ws, &e) != 0) {
		reply_store_error(req, "workspace", &e);
		return -1;
	}
	if (*ws == NULL) {
		http_reply_error(req, 404, "not_found", "not found");
		return -1;
	}
	return 0;
}

/* Applies `update` to the caller's workspace; *after gets the new document. -1 after a reply. */
static int update_workspace(struct http_req *req, const json_t *update, json_t **after)
{
	json_t *filter = json_pack("{s:s}", "_id", api_ctx(req)->workspace_id);
	struct err e = {0};
	int rc;

	if (filter == NULL)
		abort();
	rc = store_find_one_and_update(api_of(req)->store, "workspaces", filter, update, NULL, 0, 0,
				       after, &e);
	json_decref(filter);
	if (rc != 0) {
		reply_store_error(req, "workspace update", &e);
		return -1;
	}
	if (*after == NULL) {
		http_reply_error(req, 404, "not_found", "not found");
		return -1;
	}
	return 0;
}

/* GET /api/workspaces/:ws */
static int get_workspace(struct http_req *req)
{
	json_t *ws = NULL;
	int rc;

	if (load_workspace(req, &ws) != 0)
		return 0;
	rc = http_reply_json(req, 200,
			     json_pack("{s:o, s:s}", "workspace", workspace_json(ws), "role",
				       guard_role_name(api_ctx(req)->role)));
	json_decref(ws);
	return rc;
}

/* The $set of a workspace PATCH: only the fields whose value differs. */
static json_t *workspace_changes(const json_t *ws, const json_t *patch, json_t *fields)
{
	json_t *set = json_object(), *v;
	const char *key;

	if (set == NULL)
		abort();
	json_object_foreach ((json_t *)patch, key, v) {
		json_t *cur = json_object_get(ws, key);

		if (cur != NULL ? json_equal(cur, v) : json_is_null(v))
			continue;
		must(json_object_set(set, key, v));
		must(json_array_append_new(fields, json_string(key)));
	}
	return set;
}

static json_t *workspace_update_meta(const json_t *before, const json_t *after, json_t *fields)
{
	json_t *meta = json_pack("{s:o}", "changedFields", fields);
	const char *ctx_text = jsonx_str(after, "companyContext");

	if (meta == NULL)
		abort();
	if (!json_equal(json_object_get(before, "name"), json_object_get(after, "name"))) {
		set_str(meta, "previousName", jsonx_str(before, "name"));
		set_str(meta, "name", jsonx_str(after, "name"));
	}
	/* The context itself is the customer's text: its length is enough for the log. */
	must(json_object_set_new(meta, "companyContextLength",
				 json_integer(ctx_text ? (json_int_t)strlen(ctx_text) : 0)));
	return meta;
}

/* PATCH /api/workspaces/:ws {name?, companyContext?}; the id and slug never change. */
static int patch_workspace(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	json_t *patch = NULL, *ws = NULL, *set = NULL, *update = NULL, *after = NULL;
	json_t *fields = json_array();
	char now[TIME_ISO_LEN + 1];

	if (fields == NULL)
		abort();
	if (tenancy_body(req, patch_fields, &patch) != 0 || load_workspace(req, &ws) != 0)
		goto out;
	if (json_object_size(patch) == 0) {
		http_reply_error(req, 400, "invalid_body", "send name or companyContext");
		goto out;
	}
	set = workspace_changes(ws, patch, fields);
	if (json_object_size(set) == 0) {
		http_reply_json(req, 200, json_pack("{s:o}", "workspace", workspace_json(ws)));
		goto out;
	}
	time_now_iso8601(now);
	must(json_object_set_new(set, "updatedAt", json_string(now)));
	update = json_pack("{s:O}", "$set", set);
	if (update_workspace(req, update, &after) != 0)
		goto out;
	api_audit(req, "workspace.updated", "system", "notice", "workspace", ctx->workspace_id,
		  jsonx_str(after, "name"), "Updated the workspace settings",
		  workspace_update_meta(ws, after, json_incref(fields)));
	http_reply_json(req, 200, json_pack("{s:o}", "workspace", workspace_json(after)));
out:
	json_decref(patch);
	json_decref(ws);
	json_decref(set);
	json_decref(update);
	json_decref(after);
	json_decref(fields);
	return 0;
}

/* GET /api/workspaces/:ws/runtime-settings (API-20) */
static int get_runtime(struct http_req *req)
{
	json_t *ws = NULL;
	int rc;

	if (load_workspace(req, &ws) != 0)
		return 0;
	rc = http_reply_json(req, 200,
			     json_pack("{s:b, s:o}", "canManage",
				       guard_role_has(api_ctx(req)->role, PERM_WORKSPACE_MANAGE),
				       "settings", runtime_settings(ws)));
	json_decref(ws);
	return rc;
}

/* The update of a runtime settings PATCH, or NULL when it changes nothing. Dotted paths keep
 * two admins who change different keys at once from undoing each other; a legacy document
 * without the object gets it whole. */
static json_t *runtime_update(const json_t *ws, const json_t *current, const json_t *patch,
			      json_t *changed)
{
	json_t *set = json_object(), *merged = json_deep_copy(current), *v;
	bool dotted = json_is_object(json_object_get(ws, "appRuntimeSettings"));
	char path[64], now[TIME_ISO_LEN + 1];
	const char *key;

	if (set == NULL || merged == NULL)
		abort();
	json_object_foreach ((json_t *)patch, key, v) {
		if (json_equal(json_object_get(current, key), v))
			continue;
		must(json_array_append_new(changed, json_string(key)));
		must(json_object_set(merged, key, v));
		snprintf(path, sizeof(path), "appRuntimeSettings.%s", key);
		if (dotted)
			must(json_object_set(set, path, v));
	}
	if (json_array_size(changed) == 0) {
		json_decref(set);
		json_decref(merged);
		return NULL;
	}
	if (!dotted)
		must(json_object_set(set, "appRuntimeSettings", merged));
	json_decref(merged);
	time_now_iso8601(now);
	must(json_object_set_new(set, "updatedAt", json_string(now)));
	return json_pack("{s:o}", "$set", set);
}

/* PATCH /api/workspaces/:ws/runtime-settings (API-21). A 403 here is audited as
 * access.denied by the guard (the route's GUARD_AUDIT_DENIED flag). */
static int patch_runtime(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	json_t *patch = NULL, *ws = NULL, *current = NULL, *update = NULL;
	json_t *after = NULL, *changed = json_array();

	if (changed == NULL)
		abort();
	if (tenancy_body(req, runtime_fields, &patch) != 0)
		goto out;
	if (json_object_size(patch) == 0) {
		http_reply_error(req, 400, "invalid_app_runtime_settings",
				 "send at least one runtime setting");
		goto out;
	}
	if (load_workspace(req, &ws) != 0)
		goto out;
	current = runtime_settings(ws);
	update = runtime_update(ws, current, patch, changed);
	if (update == NULL) {
		http_reply_json(req, 200,
				json_pack("{s:b, s:O}", "canManage", 1, "settings", current));
		goto out;
	}
	if (update_workspace(req, update, &after) != 0)
		goto out;
	api_audit(req, "workspace.app_runtime_settings_updated", "system", "notice", "workspace",
		  ctx->workspace_id, jsonx_str(after, "name"), "Changed the app runtime settings",
		  json_pack("{s:O, s:O, s:o}", "changedFields", changed, "previous", current,
			    "settings", runtime_settings(after)));
	http_reply_json(
		req, 200,
		json_pack("{s:b, s:o}", "canManage", 1, "settings", runtime_settings(after)));
out:
	json_decref(patch);
	json_decref(ws);
	json_decref(current);
	json_decref(update);
	json_decref(after);
	json_decref(changed);
	return 0;
}

const struct http_route api_routes_workspaces[] = {
	{"GET", "/api/workspaces", list_workspaces, ACCESS_PROFILE, PERM_NONE, NULL, 0},
	{"POST", "/api/workspaces", create_workspace, ACCESS_PROFILE, PERM_NONE, NULL, 0},
	{"GET", "/api/workspaces/:ws/runtime-settings", get_runtime, ACCESS_WORKSPACE, PERM_NONE,
	 NULL, 0},
	{"PATCH", "/api/workspaces/:ws/runtime-settings", patch_runtime, ACCESS_WORKSPACE,
	 PERM_WORKSPACE_MANAGE, NULL, GUARD_AUDIT_DENIED},
	{"GET", "/api/workspaces/:ws", get_workspace, ACCESS_WORKSPACE, PERM_WORKSPACE_VIEW, NULL,
	 0},
	{"PATCH", "/api/workspaces/:ws", patch_workspace, ACCESS_WORKSPACE, PERM_WORKSPACE_MANAGE,
	 NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
