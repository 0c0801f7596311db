/* second-api's app routes (API-35..API-46): list, create, status, read, rename, delete,
 * runtime settings and collaborators of the apps of one workspace.
 *
 * An app is one `apps` document (DM-7) keyed by a 24-hex `_id` and always read through
 * {_id, workspaceId}. Who may do what is decided here, by a small access module over that
 * document and the guard's context: visibility (TEN-6a: admin, creator, collaborator, or a
 * published version shown to the workspace or to one of the caller's teams) and the two
 * capabilities canManage (admin or creator) and canCollaborate (plus collaborators). An app the
 * caller cannot see answers 404 app_not_found, exactly like one that does not exist or belongs
 * to another workspace; a visible app with a missing capability answers 403 forbidden.
 * Deleting an app also deletes everything stored under it (snapshots, builder and agent runs,
 * draft and published data, integration grants, attachments), each scoped by workspaceId.
 *
 * The list reply is kept per (workspace, caller, role, caller's teams), the only inputs
 * besides the workspace's apps, and reused only by a request whose guard got the same
 * store_revision(): that number moves on every write any process commits to the store, so a
 * kept reply is exactly what computing it again would give. The guard still checks the
 * session in Redis on every request. */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi/api/api.h"
#include "lib/appaccess.h"
#include "lib/ids.h"
#include "lib/jsonx.h"
#include "lib/limits.h"
#include "lib/session.h"
#include "lib/timeutil.h"

/* Room for NAME_MAX_CHARS characters of up to 4 UTF-8 bytes each. */
#define NAME_BUF (NAME_MAX_CHARS * 4 + 1)
#define NAME_BATCH 100 /* "Name (n)" candidates asked for in one query */
#define FIELD_ITEM_MAX STORE_MAX_ID_BYTES

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7F)
			return true;
	return false;
}

/* A malloc'd copy of s without leading and trailing ASCII white space. */
static char *trim_dup(const char *s)
{
	size_t len;
	char *out;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	out = strndup(s, len);
	if (out == NULL)
		abort();
	return out;
}

/* Replies with an error and returns -1, for functions that refuse on the handler's behalf. */
static int refuse(struct http_req *req, int status, const char *code, const char *msg)
{
	http_reply_error(req, status, code, "%s", msg);
	return -1;
}

/* C-0.2 normalizeObjectId: trimmed, case-insensitive 24-hex, lowercased into out. */
static bool app_id_normalize(const char *raw, char out[ID_HEX_LEN + 1])
{
	char *t = trim_dup(raw != NULL ? raw : "");
	bool ok = strlen(t) == ID_HEX_LEN;

	for (size_t i = 0; ok && i < ID_HEX_LEN; i++)
		out[i] = (char)tolower((unsigned char)t[i]);
	out[ID_HEX_LEN] = '\0';
	free(t);
	return ok && id_valid(out);
}

enum field_kind {
	FIELD_NAME, /* string: trimmed, no control characters, min..max characters */
	FIELD_TEXT, /* string kept as sent, min..max characters */
	FIELD_BOOL,
	FIELD_OBJECT,  /* depth, size and key count are checked by the route */
	FIELD_STRINGS, /* array of at most max strings */
};

struct field {
	const char *name;
	enum field_kind kind;
	bool required;
	size_t min, max;
	const char *code; /* the 400 error code when this field is wrong */
};

struct field_err {
	const char *code;
	char msg[128];
};

/* Message "<name> <problem>", e.g. "appName has the wrong length". */
static int field_fail(struct field_err *fe, const char *code, const char *name, const char *problem)
{
	fe->code = code;
	snprintf(fe->msg, sizeof(fe->msg), "%s %s", name, problem);
	return -1;
}

static const struct field *field_find(const struct field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

static int field_string(const struct field *f, const json_t *v, json_t *out, struct field_err *fe)
{
	char *s;
	size_t n;
	int rc = -1;

	if (!json_is_string(v))
		return field_fail(fe, f->code, f->name, "must be a string");
	s = f->kind == FIELD_NAME ? trim_dup(json_string_value(v)) : strdup(json_string_value(v));
	if (s == NULL)
		abort();
	n = utf8_chars(s);
	if (n < f->min || n > f->max)
		field_fail(fe, f->code, f->name, "has the wrong length");
	else if (f->kind == FIELD_NAME && has_control(s))
		field_fail(fe, f->code, f->name, "holds control characters");
	else
		rc = json_object_set_new(out, f->name, json_string(s)) == 0 ? 0 : -1;
	free(s);
	return rc;
}

static int field_strings(const struct field *f, const json_t *v, json_t *out, struct field_err *fe)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return field_fail(fe, f->code, f->name, "must be an array of strings");
	if (json_array_size(v) > f->max)
		return field_fail(fe, f->code, f->name, "has too many items");
	json_array_foreach (v, i, item) {
		if (!json_is_string(item) || json_string_length(item) > FIELD_ITEM_MAX)
			return field_fail(fe, f->code, f->name, "must be an array of strings");
	}
	return json_object_set(out, f->name, (json_t *)v) == 0 ? 0 : -1;
}

static int field_take(const struct field *f, const json_t *v, json_t *out, struct field_err *fe)
{
	switch (f->kind) {
	case FIELD_NAME:
	case FIELD_TEXT:
		return field_string(f, v, out, fe);
	case FIELD_BOOL:
		if (!json_is_boolean(v))
			return field_fail(fe, f->code, f->name, "must be a boolean");
		break;
	case FIELD_OBJECT:
		if (!json_is_object(v))
			return field_fail(fe, f->code, f->name, "must be an object");
		break;
	case FIELD_STRINGS:
		return field_strings(f, v, out, fe);
	}
	return json_object_set(out, f->name, (json_t *)v) == 0 ? 0 : -1;
}

/* Checks body against a route's table. Unknown members are invalid_body; null counts as
 * absent. out receives the accepted values (names trimmed). */
static int fields_check(const json_t *body, const struct field *f, size_t n, json_t *out,
			struct field_err *fe)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)body, key, v) {
		if (field_find(f, n, key) == NULL)
			return field_fail(fe, "invalid_body", "the body", "has an unknown field");
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(body, f[i].name);
		if (v == NULL || json_is_null(v)) {
			if (f[i].required)
				return field_fail(fe, f[i].code, f[i].name, "is required");
			continue;
		}
		if (field_take(&f[i], v, out, fe) != 0)
			return -1;
	}
	return 0;
}

/* The request body as a JSON object, borrowed; replies and returns NULL when there is none. */
static json_t *body_object(struct http_req *req)
{
	struct err e = {0};
	json_t *body = http_json(req, &e);

	if (json_is_object(body))
		return body;
	if (body != NULL)
		http_reply_error(req, 400, "invalid_body", "the body must be a JSON object");
	else if (e.code == ERR_INVALID || e.code == ERR_TOO_DEEP)
		http_reply_error(req, 400, "invalid_body", "%s", e.msg);
	else
		http_reply_err(req, &e);
	return NULL;
}

/* Parses the body through a table; *out is a new object. Replies 400 and returns -1 on
 * refusal. */
static int body_fields(struct http_req *req, const struct field *f, size_t n, json_t **out)
{
	struct field_err fe = {0};
	json_t *body = body_object(req);

	*out = NULL;
	if (body == NULL)
		return -1;
	*out = json_object();
	if (fields_check(body, f, n, *out, &fe) == 0)
		return 0;
	json_decref(*out);
	*out = NULL;
	http_reply_error(req, 400, fe.code != NULL ? fe.code : "invalid_body", "%s", fe.msg);
	return -1;
}

/* Defaults from agent-worker-streaming.md (runtime table, R-0); the builder normalises models
 * and params further when it starts a turn (U-2). */
static const struct runtime_def {
	const char *id;
	const char *model;
	const char *params[2][2];
} runtimes[] = {
	{"claude-code", "claude-opus-4-8", {{"effort", "xhigh"}, {"thinking", "adaptive"}}},
	{"codex-cli", "gpt-5.5", {{"reasoningEffort", "high"}, {"sandbox", "workspace-write"}}},
	{"opencode", "openai/gpt-5.5", {{"variant", "auto"}, {NULL, NULL}}},
};

static const struct runtime_def *runtime_find(const char *id)
{
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (strcmp(runtimes[i].id, id) == 0)
			return &runtimes[i];
	return NULL;
}

/* Only string params are kept (U-2 parseRuntimeSettings); the caps bound what is read. */
static json_t *runtime_params(const json_t *sent, const struct runtime_def *rt)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;
	size_t len = 0;
	char *text;

	if (sent == NULL) {
		for (size_t i = 0; i < 2 && rt->params[i][0] != NULL; i++)
			json_object_set_new(out, rt->params[i][0], json_string(rt->params[i][1]));
		return out;
	}
	if (jsonx_depth(sent, APP_RUNTIME_PARAMS_DEPTH) <= APP_RUNTIME_PARAMS_DEPTH &&
	    json_object_size(sent) <= APP_RUNTIME_PARAMS_KEYS) {
		text = jsonx_dumps_compact(sent, &len);
		free(text);
	}
	if (len == 0 || len > APP_RUNTIME_PARAMS_BYTES) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach ((json_t *)sent, key, v) {
		if (json_is_string(v))
			json_object_set(out, key, v);
	}
	return out;
}

/* Fills settings {runtimeId, runtimeModel, runtimeParams} from accepted fields, with the
 * runtime's defaults for what is absent. -1: invalid_runtime_settings. */
static int runtime_settings(const json_t *fields, json_t *settings)
{
	const char *id = jsonx_str(fields, "runtimeId");
	const char *model = jsonx_str(fields, "runtimeModel");
	const struct runtime_def *rt = runtime_find(id != NULL ? id : "claude-code");
	json_t *params;

	if (rt == NULL)
		return -1;
	params = runtime_params(json_object_get(fields, "runtimeParams"), rt);
	if (params == NULL)
		return -1;
	json_object_set_new(settings, "runtimeId", json_string(rt->id));
	json_object_set_new(settings, "runtimeModel",
			    json_string(model != NULL ? model : rt->model));
	json_object_set_new(settings, "runtimeParams", params);
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		if (str_eq(json_string_value(v), s))
			return true;
	}
	return false;
}

/* TEN-6c: what the sidebar (and the status route) shows, without the admin bypass. */
static bool sidebar_visible(const struct app_access *a)
{
	return a->creator || a->collaborator || a->published_viewer;
}

static bool access_allows(const struct app_access *a, enum api_app_need need)
{
	switch (need) {
	case NEED_VIEW:
		return true;
	case NEED_COLLAB:
		return app_can_collaborate(a);
	case NEED_MANAGE:
		return app_can_manage(a);
	}
	return false;
}

int api_app_open(struct http_req *req, enum api_app_need need, json_t **app, struct app_access *a)
{
	struct guard_ctx *ctx = api_ctx(req);
	char id[ID_HEX_LEN + 1];
	struct err e = {0};
	json_t *filter;
	int rc;

	*app = NULL;
	if (!app_id_normalize(http_param(req, "appId"), id))
		return refuse(req, 404, "app_not_found", "no such app");
	filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ctx->workspace_id);
	rc = store_find_one(api_of(req)->store, "apps", filter, NULL, 0, app, &e);
	json_decref(filter);
	if (rc != 0) {
		http_reply_err(req, &e);
		return -1;
	}
	if (*app != NULL)
		app_access_of(ctx, *app, a);
	if (*app == NULL || !app_can_view(a)) {
		json_decref(*app);
		*app = NULL;
		return refuse(req, 404, "app_not_found", "no such app");
	}
	if (!access_allows(a, need)) {
		json_decref(*app);
		*app = NULL;
		return refuse(req, 403, "forbidden", "not allowed on this app");
	}
	return 0;
}

static json_t *field_or_null(const json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	return v != NULL ? json_incref(v) : json_null();
}

static json_t *array_or_empty(const json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

/* API-35/API-38. masked: the caller is a published-only viewer, who sees no draft state. */
static json_t *app_view(const json_t *app, bool masked)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "id",
		field_or_null(app, "_id"), "workspaceId", field_or_null(app, "workspaceId"), "name",
		field_or_null(app, "name"), "description", field_or_null(app, "description"),
		"createdByUserId", masked ? json_null() : field_or_null(app, "createdByUserId"),
		"createdAt", field_or_null(app, "createdAt"), "updatedAt",
		field_or_null(app, "updatedAt"), "publishStatus",
		masked ? "published" : app_publish_status(app), "teamIds",
		masked ? json_array() : array_or_empty(app, "teamIds"), "collaboratorUserIds",
		masked ? json_array() : array_or_empty(app, "collaboratorUserIds"));
}

/* A superset of what a non-admin can see, so the store skips the rest; app_access_of() decides.
 * New reference. */
static json_t *scan_filter(const struct guard_ctx *ctx, bool narrow)
{
	if (!narrow)
		return json_pack("{s:s}", "workspaceId", ctx->workspace_id);
	return json_pack("{s:s, s:[{s:s}, {s:s}, {s:{s:n}}, {s:{s:n}}, {s:{s:b}}]}", "workspaceId",
			 ctx->workspace_id, "$or", "createdByUserId", ctx->user_id,
			 "collaboratorUserIds", ctx->user_id, "publishedSnapshotId", "$ne",
			 "draftSnapshotId", "$ne", "publishedSourceFiles", "$exists", 1);
}

typedef bool (*scan_keep_fn)(const struct app_access *a);
typedef int (*scan_emit_fn)(struct http_req *req, const struct app_access *a, void *arg,
			    struct err *e);

struct scan {
	bool narrow; /* use scan_filter's superset */
	scan_keep_fn keep;
	scan_emit_fn emit;
	void *arg;
};

/* What app_access_of() and app_view() read: a list parses these, not whole app documents
 * (most of an app's fields are approval and snapshot state no list shows). */
static const char *const scan_fields[] = {
	"workspaceId",
	"name",
	"description",
	"createdByUserId",
	"createdAt",
	"updatedAt",
	"publishStatus",
	"teamIds",
	"collaboratorUserIds",
	"visibility",
	"draftSnapshotId",
	"publishedSnapshotId",
	"publishedSourceFiles",
	NULL,
};

/* Emits the kept apps newest first, at most APPS_LIST_MAX, paging through the store. */
static int apps_scan(struct http_req *req, const struct scan *sc, struct err *e)
{
	static const struct store_sort newest[] = {{"createdAt", -1}, {"_id", -1}};
	struct guard_ctx *ctx = api_ctx(req);
	struct store_find_opts opts = {
		.sort = newest, .nsort = 2, .limit = APPS_PAGE, .fields = scan_fields};
	json_t *filter = scan_filter(ctx, sc->narrow), *docs = NULL, *doc;
	char *cursor = NULL, *next = NULL;
	size_t emitted = 0, i;
	int rc = -1;

	do {
		opts.cursor = cursor;
		if (store_find(api_of(req)->store, "apps", filter, &opts, &docs, &next, e) != 0)
			goto out;
		json_array_foreach (docs, i, doc) {
			struct app_access a;

			app_access_of(ctx, doc, &a);
			if (emitted >= APPS_LIST_MAX || !sc->keep(&a))
				continue;
			if (sc->emit(req, &a, sc->arg, e) != 0)
				goto out;
			emitted++;
		}
		json_decref(docs);
		docs = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor != NULL && emitted < APPS_LIST_MAX);
	rc = 0;
out:
	json_decref(docs);
	json_decref(filter);
	free(cursor);
	free(next);
	return rc;
}

/* "base" for n == 1, else "base (n)", with base cut (on a character boundary) so the whole
 * stays within NAME_MAX_CHARS. */
static void name_candidate(const char *base, unsigned n, char out[NAME_BUF])
{
	char suffix[24] = "";
	size_t room, len = 0, chars = 0;

	if (n > 1)
		snprintf(suffix, sizeof(suffix), " (%u)", n);
	room = NAME_MAX_CHARS - strlen(suffix);
	while (base[len] != '\0') {
		size_t step = 1;

		while (((unsigned char)base[len + step] & 0xC0) == 0x80)
			step++;
		if (chars + 1 > room)
			break;
		len += step;
		chars++;
	}
	while (n > 1 && len > 0 && base[len - 1] == ' ')
		len--;
	snprintf(out, NAME_BUF, "%.*s%s", (int)len, base, suffix);
}

/* The names among `cands` already used by another app (not self_id) of the workspace. */
static int names_taken(struct store *s, const char *ws, json_t *cands, const char *self_id,
		       json_t *taken, struct err *e)
{
	json_t *filter = json_pack("{s:s, s:{s:O}}", "workspaceId", ws, "name", "$in", cands);
	struct store_find_opts opts = {.limit = STORE_MAX_PAGE};
	json_t *docs = NULL, *doc;
	char *cursor = NULL, *next = NULL;
	size_t i;
	int rc = -1;

	if (self_id != NULL)
		json_object_set_new(filter, "_id", json_pack("{s:s}", "$ne", self_id));
	do {
		opts.cursor = cursor;
		if (store_find(s, "apps", filter, &opts, &docs, &next, e) != 0)
			goto out;
		json_array_foreach (docs, i, doc) {
			if (jsonx_str(doc, "name") != NULL)
				json_object_set_new(taken, jsonx_str(doc, "name"), json_true());
		}
		json_decref(docs);
		docs = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor != NULL);
	rc = 0;
out:
	json_decref(docs);
	json_decref(filter);
	free(cursor);
	free(next);
	return rc;
}

/* Names are unique per workspace by suffix: "Name", "Name (2)", "Name (3)"... Candidates
 * are asked for in batches, so a common name costs one query per NAME_BATCH of them. Two
 * creations racing for one name can both get it: names are labels, not keys. */
static int name_unique(struct store *s, const char *ws, const char *base, const char *self_id,
		       char out[NAME_BUF], struct err *e)
{
	char cand[NAME_BUF];

	for (unsigned first = 1; first <= APP_NAME_SUFFIX_MAX; first += NAME_BATCH) {
		json_t *cands = json_array(), *taken = json_object();
		int rc = 0;

		for (unsigned n = first; n < first + NAME_BATCH && n <= APP_NAME_SUFFIX_MAX; n++) {
			name_candidate(base, n, cand);
			json_array_append_new(cands, json_string(cand));
		}
		rc = names_taken(s, ws, cands, self_id, taken, e);
		for (unsigned n = first; rc == 0 && n < first + NAME_BATCH; n++) {
			name_candidate(base, n, cand);
			if (n <= APP_NAME_SUFFIX_MAX && json_object_get(taken, cand) == NULL) {
				memcpy(out, cand, strlen(cand) + 1);
				rc = 1;
			}
		}
		json_decref(cands);
		json_decref(taken);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	return err_set(e, ERR_CONFLICT, "no free name for this app");
}

static int reply_name_err(struct http_req *req, const struct err *e)
{
	if (e->code == ERR_CONFLICT)
		return http_reply_error(req, 409, "app_name_unavailable", "%s", e->msg);
	return http_reply_err(req, e);
}

static bool keep_visible(const struct app_access *a)
{
	return app_can_view(a);
}

static int emit_list_item(struct http_req *req, const struct app_access *a, void *arg,
			  struct err *e)
{
	json_t *item = app_view(a->app, false);

	(void)req; /* the list needs nothing more from the request */
	if (item == NULL || json_object_set_new(item, "initialRun", json_null()) != 0 ||
	    json_array_append_new(arg, item) != 0)
		return err_set(e, ERR_INTERNAL, "cannot build the app list");
	return 0;
}

/* A kept list reply; refs counts the cache's hold and each reply being written. */
struct list_text {
	size_t refs, len;
	char body[];
};

struct list_entry {
	char *key; /* list_key(), or NULL for a free slot */
	uint64_t rev, used;
	struct list_text *text;
};

static struct {
	pthread_mutex_t mu;
	uint64_t tick;
	struct list_entry slot[APPS_LIST_CACHE_ENTRIES];
} list_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void list_text_put(struct list_text *t)
{
	bool last;

	if (t == NULL)
		return;
	pthread_mutex_lock(&list_cache.mu);
	last = --t->refs == 0;
	pthread_mutex_unlock(&list_cache.mu);
	if (last)
		free(t);
}

/* Appends "<length>:<bytes>|"; the lengths keep any two different inputs apart. */
static char *key_part(char *p, const char *s, size_t len)
{
	p += sprintf(p, "%zu:", len);
	memcpy(p, s, len);
	p[len] = '|';
	return p + len + 1;
}

/* Everything besides the apps that the reply depends on (malloc'd). */
static char *list_key(const struct guard_ctx *ctx)
{
	const char *fixed[3] = {ctx->workspace_id, ctx->user_id, guard_role_name(ctx->role)};
	size_t size = 1, i;
	char *key, *p;
	json_t *t;

	for (i = 0; i < 3; i++)
		size += strlen(fixed[i]) + 22;
	json_array_foreach (ctx->team_ids, i, t)
		size += json_string_length(t) + 22;
	key = malloc(size);
	if (key == NULL)
		abort();
	p = key;
	for (i = 0; i < 3; i++)
		p = key_part(p, fixed[i], strlen(fixed[i]));
	json_array_foreach (ctx->team_ids, i, t)
		p = key_part(p, json_string_value(t), json_string_length(t));
	*p = '\0';
	return key;
}

/* The slot holding key, or NULL; called with the lock held. */
static struct list_entry *list_slot(const char *key)
{
	for (size_t i = 0; i < APPS_LIST_CACHE_ENTRIES; i++)
		if (list_cache.slot[i].key != NULL && strcmp(list_cache.slot[i].key, key) == 0)
			return &list_cache.slot[i];
	return NULL;
}

static void list_slot_clear(struct list_entry *s)
{
	free(s->key);
	s->key = NULL;
	if (s->text != NULL && --s->text->refs == 0)
		free(s->text);
	s->text = NULL;
}

/* The reply kept for key at exactly rev (a new hold for list_text_put), or NULL. */
static struct list_text *list_cache_get(const char *key, uint64_t rev)
{
	struct list_text *t = NULL;
	struct list_entry *s;

	pthread_mutex_lock(&list_cache.mu);
	s = list_slot(key);
	if (s != NULL && s->rev == rev) {
		s->used = ++list_cache.tick;
		t = s->text;
		t->refs++;
	} else if (s != NULL && s->rev < rev) {
		list_slot_clear(s);
	}
	pthread_mutex_unlock(&list_cache.mu);
	return t;
}

/* Keeps a copy of the reply computed from reads made after store_revision() gave rev; a
 * reply of a later revision already kept for key stays. */
static void list_cache_put(char *key_stolen, uint64_t rev, const char *body, size_t len)
{
	struct list_text *t;
	struct list_entry *s, *lru;

	if (len > APPS_LIST_CACHE_MAX_BYTES) {
		free(key_stolen);
		return;
	}
	t = malloc(sizeof(*t) + len);
	if (t == NULL)
		abort();
	t->refs = 1;
	t->len = len;
	memcpy(t->body, body, len);
	pthread_mutex_lock(&list_cache.mu);
	s = list_slot(key_stolen);
	if (s != NULL && s->rev > rev) {
		pthread_mutex_unlock(&list_cache.mu);
		free(key_stolen);
		free(t);
		return;
	}
	if (s == NULL) {
		lru = &list_cache.slot[0];
		for (size_t i = 0; i < APPS_LIST_CACHE_ENTRIES && lru->key != NULL; i++)
			if (list_cache.slot[i].key == NULL || list_cache.slot[i].used < lru->used)
				lru = &list_cache.slot[i];
		s = lru;
	}
	list_slot_clear(s);
	s->key = key_stolen;
	s->rev = rev;
	s->used = ++list_cache.tick;
	s->text = t;
	pthread_mutex_unlock(&list_cache.mu);
}

static int apps_list(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	json_t *items = json_array();
	struct scan sc = {.narrow = ctx->role != ROLE_ADMIN && ctx->role != ROLE_OWNER,
			  .keep = keep_visible,
			  .emit = emit_list_item,
			  .arg = items};
	struct list_text *kept = NULL;
	struct err e = {0};
	uint64_t rev = ctx->store_rev;
	json_t *body;
	char *key = NULL, *text;
	size_t len = 0;
	int rc;

	/* The guard took the revision before any read of this request; without one (MongoDB)
	 * nothing is kept. */
	if (rev != 0) {
		key = list_key(ctx);
		kept = list_cache_get(key, rev);
	}
	if (kept != NULL) {
		json_decref(items);
		free(key);
		rc = http_reply_json_text(req, 200, kept->body, kept->len);
		list_text_put(kept);
		return rc;
	}
	if (apps_scan(req, &sc, &e) != 0) {
		json_decref(items);
		free(key);
		return http_reply_err(req, &e);
	}
	body = json_pack("{s:o}", "items", items);
	if (body == NULL)
		abort();
	text = jsonx_dumps_compact(body, &len);
	json_decref(body);
	rc = http_reply_json_text(req, 200, text, len);
	if (key != NULL)
		list_cache_put(key, rev, text, len);
	free(text);
	return rc;
}

static const struct field create_fields[] = {
	{"appName", FIELD_NAME, true, 2, NAME_MAX_CHARS, "invalid_app_name"},
	{"prompt", FIELD_TEXT, false, 0, APP_PROMPT_MAX_CHARS, "invalid_prompt"},
	{"runtimeId", FIELD_NAME, false, 1, APP_RUNTIME_MODEL_MAX, "invalid_runtime_settings"},
	{"runtimeModel", FIELD_NAME, false, 1, APP_RUNTIME_MODEL_MAX, "invalid_runtime_settings"},
	{"runtimeParams", FIELD_OBJECT, false, 0, 0, "invalid_runtime_settings"},
	{"createInitialRun", FIELD_BOOL, false, 0, 0, "invalid_body"},
};

/* GOV-2 and DM-7: a new app is a draft nobody but admins, its creator and collaborators
 * see; every approval, review and snapshot field starts null. */
static const char *const new_app_nulls[] = {
	"description",
	"reviewRequestedByUserId",
	"reviewRequestedByUserName",
	"reviewRequestedAt",
	"publishedByUserId",
	"publishedAt",
	"changeRequestMessage",
	"changeRequestByUserId",
	"changeRequestAt",
	"draftSnapshotId",
	"draftSourceUpdatedAt",
	"draftSourceSizeBytes",
	"draftSourceHash",
	"draftHasPreviewArtifact",
	"publishedSnapshotId",
	"publishedSourceFilesUpdatedAt",
	"publishedSourceSizeBytes",
	"publishedSourceHash",
	"publishedHasPreviewArtifact",
	"agentsJsonApprovalHash",
	"agentsJsonApprovedPayload",
	"agentsJsonApprovedByUserId",
	"agentsJsonApprovedByUserName",
	"agentsJsonApprovedAt",
	"agentsJsonApprovalSource",
	"publishedAgentsJsonApprovalHash",
	"publishedAgentsJsonApprovedPayload",
	"publishedAgentsJsonApprovedByUserId",
	"publishedAgentsJsonApprovedByUserName",
	"publishedAgentsJsonApprovedAt",
	"publishedAgentsJsonApprovalSource",
	"sourceControl",
};

/* A new apps document (new reference); settings are merged in. */
static json_t *app_new_doc(const struct guard_ctx *ctx, const char *name, const json_t *fields,
			   json_t *settings)
{
	char id[ID_HEX_LEN + 1], now[TIME_ISO_LEN + 1];
	json_t *doc;

	id_new(id);
	time_now_iso8601(now);
	doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:[], s:[], s:s}", "_id", id,
		"workspaceId", ctx->workspace_id, "name", name, "createdByUserId", ctx->user_id,
		"createdAt", now, "updatedAt", now, "prompt",
		json_object_get(fields, "prompt") != NULL ? json_object_get(fields, "prompt")
							  : json_null(),
		"publishStatus", "draft", "teamIds", "collaboratorUserIds", "visibility", "teams");
	for (size_t i = 0; i < sizeof(new_app_nulls) / sizeof(new_app_nulls[0]); i++)
		json_object_set_new(doc, new_app_nulls[i], json_null());
	json_object_update(doc, settings);
	return doc;
}

static bool is_multipart(struct http_req *req)
{
	const char *ct = http_header(req, "Content-Type");

	return ct != NULL && strncasecmp(ct, "multipart/", 10) == 0;
}

/* Checks the create body; *fields and *settings are new objects. Replies on refusal. */
static int create_input(struct http_req *req, json_t **fields, json_t **settings)
{
	*settings = NULL;
	/* Multipart (files[] and attachmentIds) arrives with the builder's attachments; until
	 * then it is refused here even if the framework learns to parse it for other routes. */
	if (is_multipart(req)) {
		*fields = NULL;
		return refuse(req, 415, "unsupported_media_type",
			      "multipart bodies (attachments) are not supported yet: send "
			      "application/json");
	}
	if (body_fields(req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]),
			fields) != 0)
		return -1;
	if (json_is_true(json_object_get(*fields, "createInitialRun")))
		return refuse(req, 400, "unsupported", "initial runs arrive with the builder");
	*settings = json_object();
	if (runtime_settings(*fields, *settings) != 0)
		return refuse(req, 400, "invalid_runtime_settings",
			      "runtimeId, runtimeModel or runtimeParams is invalid");
	return 0;
}

static int apps_create(struct http_req *req)
{
	struct guard_ctx *ctx = api_ctx(req);
	struct store *s = api_of(req)->store;
	json_t *fields = NULL, *settings = NULL, *doc = NULL, *view;
	char name[NAME_BUF];
	struct err e = {0};
	int rc = 0;

	if (create_input(req, &fields, &settings) != 0)
		goto out;
	if (name_unique(s, ctx->workspace_id, jsonx_str(fields, "appName"), NULL, name, &e) != 0) {
		rc = reply_name_err(req, &e);
		goto out;
	}
	doc = app_new_doc(ctx, name, fields, settings);
	if (store_insert(s, "apps", doc, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	/* AUD-8: nothing about the prompt goes into the audit log. */
	api_audit(req, "app.created", "apps", "notice", "app", jsonx_str(doc, "_id"), name,
		  "App created",
		  json_pack("{s:s, s:b}", "runtimeId", jsonx_str(settings, "runtimeId"),
			    "initialRun", 0));
	http_set_cookie(req, WORKSPACE_COOKIE, ctx->workspace_id, api_of(req)->session_ttl_s);
	view = app_view(doc, false);
	json_object_set_new(view, "initialRun", json_null());
	rc = http_reply_json(req, 201, view);
out:
	json_decref(fields);
	json_decref(settings);
	json_decref(doc);
	return rc;
}

static bool keep_status(const struct app_access *a)
{
	return sidebar_visible(a) && app_can_collaborate(a);
}

/* statuses[appId] = the status of the app's latest builder run, when it has one. */
static int emit_status(struct http_req *req, const struct app_access *a, void *arg, struct err *e)
{
	static const struct store_sort latest[] = {{"createdAt", -1}};
	const char *id = jsonx_str(a->app, "_id");
	json_t *filter = json_pack("{s:s, s:s}", "workspaceId", api_ctx(req)->workspace_id, "appId",
				   id);
	json_t *run = NULL;
	int rc = store_find_one(api_of(req)->store, "agent_runs", filter, latest, 1, &run, e);

	if (rc == 0 && jsonx_str(run, "status") != NULL)
		json_object_set(arg, id, json_object_get(run, "status"));
	json_decref(run);
	json_decref(filter);
	return rc;
}

static int apps_status(struct http_req *req)
{
	json_t *statuses = json_object();
	struct scan sc = {
		.narrow = true, .keep = keep_status, .emit = emit_status, .arg = statuses};
	struct err e = {0};

	if (apps_scan(req, &sc, &e) != 0) {
		json_decref(statuses);
		return http_reply_err(req, &e);
	}
	/* Tool recovery statuses come with the agent runtime; the key is there for clients. */
	return http_reply_json(
		req, 200, json_pack("{s:o, s:{}}", "statuses", statuses, "toolRecoveryStatuses"));
}

static int app_get(struct http_req *req)
{
	struct app_access a;
	json_t *app = NULL;
	int rc;

	if (api_app_open(req, NEED_VIEW, &app, &a) != 0)
		return 0;
	rc = http_reply_json(req, 200, app_view(app, !app_can_collaborate(&a)));
	json_decref(app);
	return rc;
}

static const struct field rename_fields[] = {
	{"name", FIELD_NAME, true, 1, NAME_MAX_CHARS, "invalid_name"},
};

static int app_rename(struct http_req *req)
{
	struct store *s = api_of(req)->store;
	json_t *fields = NULL, *app = NULL, *filter = NULL, *update = NULL;
	char name[NAME_BUF], now[TIME_ISO_LEN + 1];
	struct app_access a;
	struct err e = {0};
	const char *id;
	int rc = 0;

	/* API-39: the name is checked before the app, so a bad name is 400 even on an app the
	 * caller cannot see. */
	if (body_fields(req, rename_fields, 1, &fields) != 0 ||
	    api_app_open(req, NEED_MANAGE, &app, &a) != 0)
		goto out;
	id = jsonx_str(app, "_id");
	if (name_unique(s, api_ctx(req)->workspace_id, jsonx_str(fields, "name"), id, name, &e) !=
	    0) {
		rc = reply_name_err(req, &e);
		goto out;
	}
	time_now_iso8601(now);
	filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", api_ctx(req)->workspace_id);
	update = json_pack("{s:{s:s, s:s}}", "$set", "name", name, "updatedAt", now);
	if (store_update_one(s, "apps", filter, update, NULL, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	api_audit(req, "app.renamed", "apps", "info", "app", id, name, "App renamed",
		  json_pack("{s:b}", "nameChanged", !str_eq(jsonx_str(app, "name"), name)));
	rc = http_reply_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "name", name));
out:
	json_decref(fields);
	json_decref(app);
	json_decref(filter);
	json_decref(update);
	return rc;
}

/* Everything stored under an app, deleted before the app itself so that a failure part-way
 * leaves an app whose deletion can simply be retried. Every filter carries workspaceId. */
static const struct cascade {
	const char *coll;
	const char *ws_path;  /* the field holding the workspace id */
	const char *app_path; /* the field holding the app id */
	bool draft_scope;     /* also "<appId>__draft" (DM-12) */
	const char *count_key;
} cascade[] = {
	{"app_source_snapshots", "workspaceId", "appId", false, "snapshots"},
	{"agent_runs", "workspaceId", "appId", false, "builderRuns"},
	{"app_agent_runs", "workspaceId", "appId", false, "agentRuns"},
	{"app_data", "workspaceId", "appId", true, "dataDocuments"},
	{"integrations", "workspaceId", "appId", false, "grants"},
	{"builder_attachments", "metadata.workspaceId", "metadata.appId", false, "attachments"},
};

static json_t *cascade_filter(const struct cascade *c, const char *ws, const char *id)
{
	char draft[ID_HEX_LEN + sizeof("__draft")];

	if (!c->draft_scope)
		return json_pack("{s:s, s:s}", c->ws_path, ws, c->app_path, id);
	snprintf(draft, sizeof(draft), "%s__draft", id);
	return json_pack("{s:s, s:{s:[s, s]}}", c->ws_path, ws, c->app_path, "$in", id, draft);
}

static int app_delete_all(struct store *s, const char *ws, const char *id, json_t *counts,
			  struct err *e)
{
	json_t *filter;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < sizeof(cascade) / sizeof(cascade[0]); i++) {
		filter = cascade_filter(&cascade[i], ws, id);
		rc = store_delete_many(s, cascade[i].coll, filter, &n, e);
		json_decref(filter);
		if (rc != 0)
			return -1;
		json_object_set_new(counts, cascade[i].count_key, json_integer((json_int_t)n));
	}
	filter = json_pack("{s:s, s:s}", "_id", id, "workspaceId", ws);
	rc = store_delete_one(s, "apps", filter, NULL, e);
	json_decref(filter);
	return rc;
}

static int app_delete(struct http_req *req)
{
	json_t *app = NULL, *counts = json_object();
	struct app_access a;
	struct err e = {0};
	int rc = 0;

	if (api_app_open(req, NEED_MANAGE, &app, &a) != 0)
		goto out;
	if (app_delete_all(api_of(req)->store, api_ctx(req)->workspace_id, jsonx_str(app, "_id"),
			   counts, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	api_audit(req, "app.deleted", "apps", "warning", "app", jsonx_str(app, "_id"),
		  jsonx_str(app, "name"), "App deleted", json_incref(counts));
	rc = http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(app);
	json_decref(counts);
	return rc;
}

static const struct field settings_fields[] = {
	{"runtimeId", FIELD_NAME, true, 1, APP_RUNTIME_MODEL_MAX, "invalid_runtime_settings"},
	{"runtimeModel", FIELD_NAME, false, 1, APP_RUNTIME_MODEL_MAX, "invalid_runtime_settings"},
	{"runtimeParams", FIELD_OBJECT, false, 0, 0, "invalid_runtime_settings"},
};

static int app_settings(struct http_req *req)
{
	json_t *fields = NULL, *app = NULL, *settings = json_object(), *filter = NULL,
	       *update = NULL;
	char now[TIME_ISO_LEN + 1];
	struct app_access a;
	struct err e = {0};
	int rc = 0;

	if (api_app_open(req, NEED_COLLAB, &app, &a) != 0 ||
	    body_fields(req, settings_fields, sizeof(settings_fields) / sizeof(settings_fields[0]),
			&fields) != 0)
		goto out;
	if (runtime_settings(fields, settings) != 0) {
		rc = http_reply_error(req, 400, "invalid_runtime_settings",
				      "runtimeId, runtimeModel or runtimeParams is invalid");
		goto out;
	}
	time_now_iso8601(now);
	json_object_set_new(settings, "updatedAt", json_string(now));
	filter = json_pack("{s:O, s:s}", "_id", json_object_get(app, "_id"), "workspaceId",
			   api_ctx(req)->workspace_id);
	update = json_pack("{s:O}", "$set", settings);
	if (store_update_one(api_of(req)->store, "apps", filter, update, NULL, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	rc = http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
out:
	json_decref(fields);
	json_decref(app);
	json_decref(settings);
	json_decref(filter);
	json_decref(update);
	return rc;
}

/* The users named by the memberships of one page, as an object keyed by id (new). */
static int members_users(struct store *s, const json_t *memberships, json_t **byid, struct err *e)
{
	json_t *ids = json_array(), *filter, *users = NULL, *m, *u;
	size_t i;
	int rc = 0;

	*byid = json_object();
	json_array_foreach (memberships, i, m) {
		if (jsonx_str(m, "userId") != NULL)
			json_array_append(ids, json_object_get(m, "userId"));
	}
	if (json_array_size(ids) == 0) {
		json_decref(ids);
		return 0;
	}
	filter = json_pack("{s:{s:o}}", "_id", "$in", ids);
	rc = store_find(s, "users", filter, NULL, &users, NULL, e);
	json_decref(filter);
	json_array_foreach (users, i, u) {
		json_object_set(*byid, jsonx_str(u, "_id"), u);
	}
	json_decref(users);
	return rc;
}

/* Adds {userId, displayName, email, role} for each membership of one page. */
static int members_page(struct store *s, const json_t *memberships, json_t *members, struct err *e)
{
	json_t *byid = NULL, *m, *u;
	size_t i;

	if (members_users(s, memberships, &byid, e) != 0) {
		json_decref(byid);
		return -1;
	}
	json_array_foreach (memberships, i, m) {
		const char *uid = jsonx_str(m, "userId");

		u = uid != NULL ? json_object_get(byid, uid) : NULL;
		if (u == NULL || json_array_size(members) >= APP_MEMBERS_MAX)
			continue;
		json_array_append_new(members,
				      json_pack("{s:s, s:o, s:o, s:o}", "userId", uid,
						"displayName", field_or_null(u, "displayName"),
						"email", field_or_null(u, "email"), "role",
						field_or_null(m, "role")));
	}
	json_decref(byid);
	return 0;
}

/* Every member of the workspace, oldest membership first. */
static int members_list(struct store *s, const char *ws, json_t *members, struct err *e)
{
	static const struct store_sort oldest[] = {{"createdAt", 1}};
	struct store_find_opts opts = {.sort = oldest, .nsort = 1, .limit = STORE_MAX_IN_VALUES};
	json_t *filter = json_pack("{s:s}", "workspaceId", ws), *docs = NULL;
	char *cursor = NULL, *next = NULL;
	int rc = -1;

	do {
		opts.cursor = cursor;
		if (store_find(s, "workspace_memberships", filter, &opts, &docs, &next, e) != 0 ||
		    members_page(s, docs, members, e) != 0)
			goto out;
		json_decref(docs);
		docs = NULL;
		free(cursor);
		cursor = next;
		next = NULL;
	} while (cursor != NULL && json_array_size(members) < APP_MEMBERS_MAX);
	rc = 0;
out:
	json_decref(docs);
	json_decref(filter);
	free(cursor);
	free(next);
	return rc;
}

static int app_collaborators_get(struct http_req *req)
{
	json_t *app = NULL, *members = json_array();
	struct app_access a;
	struct err e = {0};
	int rc = 0;

	if (api_app_open(req, NEED_MANAGE, &app, &a) != 0)
		goto out;
	if (members_list(api_of(req)->store, api_ctx(req)->workspace_id, members, &e) != 0) {
		rc = http_reply_err(req, &e);
		goto out;
	}
	http_set_header(req, "Cache-Control", "no-store");
	rc = http_reply_json(req, 200, json_pack("{s:O}", "members", members));
out:
	json_decref(app);
	json_decref(members);
	return rc;
}

static const struct field collaborators_fields[] = {
	{"collaboratorUserIds", FIELD_STRINGS, true, 0, APP_MAX_COLLABORATORS, "invalid_body"},
};

/* The requested ids, normalised, de-duplicated, without the creator. New array. */
static json_t *collaborators_wanted(const json_t *sent, const char *creator)
{
	json_t *ids = json_array(), *v;
	char id[ID_HEX_LEN + 1];
	size_t i;

	json_array_foreach (sent, i, v) {
		if (app_id_normalize(json_string_value(v), id) && !str_eq(id, creator) &&
		    !array_has(ids, id))
			json_array_append_new(ids, json_string(id));
	}
	return ids;
}

/* TEN-9 and API-46: of the requested ids, only current members of the workspace, never the
 * creator; others are dropped. *out is a new array in request order. */
static int collaborators_accept(struct store *s, const char *ws, const json_t *sent,
				const char *creator, json_t **out, struct err *e)
{
	json_t *ids = collaborators_wanted(sent, creator), *filter, *members = NULL, *m, *v;
	size_t i, j;
	int rc = 0;

	*out = json_array();
	if (json_array_size(ids) > 0) {
		filter = json_pack("{s:s, s:{s:O}}", "workspaceId", ws, "userId", "$in", ids);
		rc = store_find(s, "workspace_memberships", filter, NULL, &members, NULL, e);
		json_decref(filter);
	}
	json_array_foreach (ids, i, v) {
		json_array_foreach (members, j, m) {
			if (str_eq(jsonx_str(m, "userId"), json_string_value(v))) {
				json_array_append(*out, v);
				break;
			}
		}
	}
	json_decref(ids);
	json_decref(members);
	return rc;
}

/* The ids of `a` that are not in `b`, as a new array. */
static json_t *ids_minus(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach (a, i, v) {
		if (json_is_string(v) && !array_has(b, json_string_value(v)))
			json_array_append(out, v);
	}
	return out;
}

/* API-46: one event naming what changed; nothing when the set did not change. */
static void collaborators_audit(struct http_req *req, const json_t *old_app, const json_t *now)
{
	json_t *before = json_object_get(old_app, "collaboratorUserIds");
	json_t *added = ids_minus(now, before), *removed = ids_minus(before, now);
	const char *event = json_array_size(removed) == 0 ? "app.collaborator_added"
			    : json_array_size(added) == 0 ? "app.collaborator_removed"
							  : "app.collaborators_changed";

	if (json_array_size(added) == 0 && json_array_size(removed) == 0) {
		json_decref(added);
		json_decref(removed);
		return;
	}
	api_audit(req, event, "apps", "notice", "app", jsonx_str(old_app, "_id"),
		  jsonx_str(old_app, "name"), "App collaborators changed",
		  json_pack("{s:o, s:o, s:I}", "addedUserIds", added, "removedUserIds", removed,
			    "collaboratorCount", (json_int_t)json_array_size(now)));
}

static int app_collaborators_set(struct http_req *req)
{
	struct store *s = api_of(req)->store;
	const char *ws = api_ctx(req)->workspace_id;
	json_t *fields = NULL, *app = NULL, *ids = NULL, *filter = NULL, *update = NULL,
	       *old = NULL;
	char now[TIME_ISO_LEN + 1];
	struct app_access a;
	struct err e = {0};
	int rc = 0;

	if (api_app_open(req, NEED_MANAGE, &app, &a) != 0 ||
	    body_fields(req, collaborators_fields, 1, &fields) != 0)
		goto out;
	if (collaborators_accept(s, ws, json_object_get(fields, "collaboratorUserIds"),
				 jsonx_str(app, "createdByUserId"), &ids, &e) != 0)
		goto fail;
	time_now_iso8601(now);
	filter = json_pack("{s:O, s:s}", "_id", json_object_get(app, "_id"), "workspaceId", ws);
	update = json_pack("{s:{s:O, s:s}}", "$set", "collaboratorUserIds", ids, "updatedAt", now);
	/* The old document tells what changed even when two managers edit at once. */
	if (store_find_one_and_update(s, "apps", filter, update, NULL, 0, STORE_RETURN_OLD, &old,
				      &e) != 0)
		goto fail;
	if (old == NULL) {
		rc = http_reply_error(req, 404, "app_not_found", "no such app");
		goto out;
	}
	collaborators_audit(req, old, ids);
	rc = http_reply_json(req, 200, json_pack("{s:O}", "collaboratorUserIds", ids));
	goto out;
fail:
	rc = http_reply_err(req, &e);
out:
	json_decref(fields);
	json_decref(app);
	json_decref(ids);
	json_decref(filter);
	json_decref(update);
	json_decref(old);
	return rc;
}

/* Literal paths come before ":appId" ones: the first matching row wins. */
const struct http_route api_routes_apps[] = {
	{"GET", "/api/workspaces/:ws/apps", apps_list, ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{"POST", "/api/workspaces/:ws/apps", apps_create, ACCESS_WORKSPACE, PERM_APPS_CREATE, NULL,
	 0},
	{"GET", "/api/workspaces/:ws/apps/status", apps_status, ACCESS_WORKSPACE, PERM_NONE, NULL,
	 0},
	{"GET", "/api/workspaces/:ws/apps/:appId", app_get, ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{"PATCH", "/api/workspaces/:ws/apps/:appId", app_rename, ACCESS_WORKSPACE, PERM_APPS_UPDATE,
	 NULL, 0},
	{"DELETE", "/api/workspaces/:ws/apps/:appId", app_delete, ACCESS_WORKSPACE,
	 PERM_APPS_DELETE, NULL, 0},
	{"PATCH", "/api/workspaces/:ws/apps/:appId/settings", app_settings, ACCESS_WORKSPACE,
	 PERM_APPS_UPDATE, NULL, 0},
	{"GET", "/api/workspaces/:ws/apps/:appId/collaborators", app_collaborators_get,
	 ACCESS_WORKSPACE, PERM_NONE, NULL, 0},
	{"PATCH", "/api/workspaces/:ws/apps/:appId/collaborators", app_collaborators_set,
	 ACCESS_WORKSPACE, PERM_APPS_UPDATE, NULL, 0},
	{NULL, NULL, NULL, 0, 0, NULL, 0},
};
